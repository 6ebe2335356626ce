"""Batch runs: the report for many areas from one parameters file.

Each area gets a copy of the parameters with its own code and name and is
built exactly as a single run (:func:`sa_lib.run.runner.run_assessment`), on
local threads or a ``dask.distributed`` cluster.  The area codes are checked
before any area runs (:func:`check_batch_areas`): an unknown code, a local
authority code or two areas that would share an output folder refuse the whole
batch with one message naming the codes, so one bad code never fails the others.

``areas="all"`` (``sa run FILE --area all``) builds every partnership whose LSOAs the
police.uk files hold (the rule for rows in neighbouring forces' border LSOAs is in
:mod:`sa_lib.data.police_uk_force`).  The street files are read once for the whole batch:
each area's records are cut from that one read and kept as the saved result its input check
and its notebooks' kernels read (:func:`~sa_lib.data.police_uk_force.prepare_area_reads`).
After the batch, ``outputs/index.html`` links every report in the outputs folder with its
headline change, and lists the areas that failed (:mod:`sa_lib.run.index_page`).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sa_lib.data.parameters import load_parameters
from sa_lib.data.safe_yaml import read_yaml
from sa_lib.data.slugs import folder_slug
from sa_lib.errors import SAError
from sa_lib.paths import PROJECT_ROOT
from sa_lib.run.runner import RunResult, built_from_name, run_assessment

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["BatchResult", "run_batch", "area_parameters", "check_batch_areas", "ALL_AREAS"]

#: ``areas`` value (``sa run FILE --area all``): every partnership the police.uk files hold.
ALL_AREAS = "all"


@dataclass
class BatchResult:
    """What a batch run produced: one result per area that succeeded, and the failures.

    ``names`` and ``records`` give each area's name and police.uk rows; ``seconds_by_area``
    how long each area took (built or failed); ``unexpected`` the areas that failed with an
    error that is not a user error (a bug: the message names the exception);
    ``partnerships`` (``areas="all"``) every partnership the files hold, built or left out
    (:func:`~sa_lib.data.police_uk_force.partnerships_in_files`); ``index`` the index page.
    """

    results: dict[str, RunResult] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    names: dict[str, str] = field(default_factory=dict)
    records: dict[str, int] = field(default_factory=dict)
    seconds_by_area: dict[str, float] = field(default_factory=dict)
    unexpected: set[str] = field(default_factory=set)
    partnerships: pd.DataFrame | None = None
    index: Path | None = None
    workers: int = 1
    read_seconds: float = 0.0


def check_batch_areas(areas: list[str]) -> dict[str, str]:
    """Each batch area's name, or one error naming every code that cannot run.

    Refused: a code that is not a CSP in the bundled ONS lookup (a local authority
    code is refused with its CSP suggested, as a single run refuses it), and codes
    whose names give the same output folder (``outputs/<area>/``), which would make
    the areas overwrite each other.

    Raises
    ------
    SAError
        ``--area: N problem(s); no area was run`` with one line per problem.

    Examples
    --------
    >>> check_batch_areas(["E22000142", "E22000149"])
    {'E22000142': 'Maidstone', 'E22000149': 'Tunbridge Wells'}
    >>> check_batch_areas(["E07000110"])
    Traceback (most recent call last):
    ...
    sa_lib.errors.SAError: --area: 1 problem(s); no area was run:
      - E07000110 is the local authority code of Maidstone; a report is for a Community Safety Partnership: expected its CSP's code E22000142 (Maidstone)
    """
    from sa_lib.data.geography import load_csp_lookup

    lk = load_csp_lookup()
    csp_names = dict(zip(lk["csp_code"], lk["csp_name"], strict=True))
    problems, names, folders = [], {}, {}
    for code in dict.fromkeys(areas):
        la = lk[lk["lad_code"] == code]
        name = csp_names.get(code) or (str(la.iloc[0]["lad_name"]) if not la.empty else None)
        if name is None:
            shown = code if len(code) <= 20 else code[:17] + "..."
            problems.append(f"{shown!r} is not a CSP code in the bundled ONS lookup; expected "
                            "a code such as E22000142 (E22... or W22...)")
            continue
        slug = folder_slug(name)
        if slug in folders:
            problems.append(f"{folders[slug]} and {code} ({name}) would both write "
                            f"outputs/{slug}/ (one overwriting the other); expected areas with "
                            "distinct names")
        folders.setdefault(slug, f"{code} ({name})")
        if code in csp_names:
            names[code] = str(name)
        else:
            row = la.iloc[0]
            problems.append(f"{code} is the local authority code of {row['lad_name']}; a report "
                            "is for a Community Safety Partnership: expected its CSP's code "
                            f"{row['csp_code']} ({row['csp_name']})")
    if problems:
        raise SAError(f"--area: {len(problems)} problem(s); no area was run:\n"
                      + "\n".join(f"  - {p}" for p in problems))
    return names


def area_parameters(parameters: str | Path, area_code: str, folder: Path,
                    name: str | None = None) -> Path:
    """Write a copy of a parameters file for another area (name from the CSP lookup).

    Everything else (windows, themes, thresholds, data folders) is kept, so every
    area of a batch is assessed the same way.

    Raises
    ------
    SAError
        The code is not a CSP in the lookup (see :func:`check_batch_areas`).
    """
    params = load_parameters(_absolute(parameters))
    if name is None:
        name = check_batch_areas([area_code])[area_code]
    import yaml

    raw = read_yaml(Path(params.source))
    raw["area"] = {**raw["area"], "code": area_code, "name": name}
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{_slug(name)}.yaml"
    out.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return out


def _absolute(path: str | Path) -> Path:
    p = Path(path)
    return (p if p.is_absolute() else PROJECT_ROOT / p).resolve()


def _slug(text: str) -> str:
    from sa_lib.report.publish import file_slug

    return file_slug(text)


def _run_area(parameters: str, workers: int, replace: bool = False,
              built_from: str | None = None) -> RunResult:
    """One area of a batch (top level, so a Dask worker process can import and run it)."""
    return run_assessment(parameters, workers=workers, progress=False, replace=replace,
                          built_from=built_from)


def _timed_area(area: str, parameters: str, replace: bool, built_from: str | None,
                running: dict[str, float]) -> tuple[RunResult, float]:
    """:func:`_run_area` on a local thread, noting when the area started (for the progress)."""
    running[area] = time.perf_counter()
    try:
        return _run_area(parameters, 1, replace, built_from), time.perf_counter() - running[area]
    finally:
        running.pop(area, None)


def run_batch(
    parameters: str | Path,
    areas: list[str] | str,
    workers: int | None = None,
    scheduler: str = "threads",
    dask_address: str | None = None,
    progress: bool = True,
    replace: bool = False,
    echo: Callable[[str], None] | None = None,
) -> BatchResult:
    """Build the report for many areas from one parameters file.

    Each area gets a copy of the parameters with its own code and name, and its
    own ``outputs/<area>/<period>/`` (built and swapped in exactly as a single
    run). Areas run side by side, one notebook at a time each, so ``workers``
    areas use ``workers`` cores; one area failing does not stop the others.
    The police.uk files are read once for the whole batch, and ``outputs/index.html``
    is written at the end (module docstring).

    Parameters
    ----------
    parameters : path
        The template parameters file (e.g. ``parameters/2025.yaml``).
    areas : list of str, or "all"
        CSP codes; all are checked before any area runs (:func:`check_batch_areas`).
        ``"all"`` (:data:`ALL_AREAS`): every partnership whose LSOAs the template's
        police.uk files hold (:func:`~sa_lib.data.police_uk_force.partnerships_in_files`).
    workers : int, optional
        Areas built at once (default: the number of cores).
    scheduler : {"threads", "dask"}
        ``"dask"`` hands the areas to a ``dask.distributed`` cluster (optional
        dependency: ``pip install 'sa-workbook[dask]'``), so a national run can
        spread over many machines without code changes.  The areas' records are
        prepared in this machine's police.uk cache (``SA_CACHE_DIR``): workers on
        other machines read them there when it is shared, else from their own cache.
    dask_address : str, optional
        Scheduler address of an existing cluster; default: a local cluster with
        ``workers`` single-threaded worker processes.
    progress : bool, default True
        A progress bar over areas (which areas are running, on local threads).
    replace : bool, default False
        Replace an area's report that another parameters file built (see
        :func:`~sa_lib.run.runner.run_assessment`); without it that area is refused.
        Each area's manifest names the template file.
    echo : callable, optional
        Called with each line to show: the areas to build with their records before
        building, and one line per area as it is built or fails (the ``sa`` command
        prints them).

    Returns
    -------
    BatchResult
        Results by area code, failures by area code (the message), total seconds,
        the index page.

    Raises
    ------
    SAError
        Before any area runs: a bad scheduler, no area (or, for ``"all"``, no
        partnership in the files), an unknown or local authority code, or two areas
        sharing an output folder (one message).
    ParameterError
        The template parameters file is invalid.
    DataValidationError
        A police.uk file is invalid (every area would fail on it).
    """
    import tempfile

    from sa_lib.data.parameters import check_inside_data_roots
    from sa_lib.data.police_uk import find_street_files
    from sa_lib.data.police_uk_force import (
        partnerships_in_files,
        prepare_area_reads,
        read_force,
    )

    if scheduler not in ("threads", "dask"):
        raise SAError(f"scheduler must be 'threads' or 'dask', got {scheduler!r}")
    everything = areas == ALL_AREAS or (not isinstance(areas, str) and list(areas) == [ALL_AREAS])
    if isinstance(areas, str) and not everything:
        areas = [areas]
    if not everything and not areas:
        raise SAError("run_batch needs at least one area code, or 'all'")
    if not everything and ALL_AREAS in areas:
        raise SAError("--area all builds every partnership in the police.uk files: give it "
                      "alone, not with area codes")
    say = echo or (lambda line: None)
    t0 = time.perf_counter()
    params = load_parameters(_absolute(parameters))  # the template once, before any area runs
    template = built_from_name(_absolute(parameters))
    out = BatchResult(workers=workers or os.cpu_count() or 1)
    paths = params.police_uk_paths()
    for f in find_street_files(paths):
        check_inside_data_roots(f, "data.police_uk")
    force = read_force(paths)  # every street file read (and parsed at most) once
    if everything:
        found = partnerships_in_files(force)
        out.partnerships = found
        codes = found.loc[found["included"], "csp_code"].tolist()
        if not codes:
            raise SAError(f"--area all: the police.uk files ({', '.join(params.data.police_uk)}) "
                          "hold no row in any partnership of the bundled ONS lookup; expected "
                          "street files with LSOA codes or names")
    else:
        codes = list(dict.fromkeys(areas))
    out.names = check_batch_areas(codes)
    out.records = prepare_area_reads(force, list(out.names))
    out.read_seconds = round(time.perf_counter() - t0, 2)
    del force  # each area's records are kept in the cache; the files' tables are not needed
    for line in _plan_lines(out, params.data.police_uk):
        say(line)
    try:
        with tempfile.TemporaryDirectory(prefix="sa-batch-") as tmp:
            files = {a: str(area_parameters(parameters, a, Path(tmp), out.names[a]))
                     for a in out.names}
            bar = None
            if progress:
                from tqdm.auto import tqdm

                bar = tqdm(total=len(files), desc="areas", unit="area", file=sys.stderr,
                           dynamic_ncols=True)
            try:
                if scheduler == "dask":
                    _batch_dask(files, out.workers, dask_address, out, bar, replace, template,
                                say)
                else:
                    _batch_threads(files, out, bar, replace, template, say)
            finally:
                if bar is not None:
                    bar.close()
    finally:
        out.seconds = round(time.perf_counter() - t0, 2)
    out.index = _write_batch_index(out, params.period_slug)
    return out


def _plan_lines(out: BatchResult, sources: list[str]) -> list[str]:
    """What the batch will build: each area with its police.uk records, and what is left out."""
    lines = [f"{len(out.names)} partnership(s) to build from {', '.join(sources)} "
             "(police.uk records):"]
    width = max(len(n) for n in out.names.values())
    for code, name in sorted(out.names.items(), key=lambda kv: (-out.records.get(kv[0], 0),
                                                               kv[1])):
        lines.append(f"  {code}  {name:<{width}}  {out.records.get(code, 0):>9,}")
    found = out.partnerships
    if found is not None:
        left = found[~found["included"]]
        attrs = found.attrs
        if len(left):
            shown = ", ".join(f"{n} ({r:,})" for n, r in zip(left["csp_name"].head(5),
                                                             left["rows"].head(5), strict=True))
            more = f" and {len(left) - 5} more" if len(left) > 5 else ""
            lines.append(f"left out: {int(left['rows'].sum()):,} record(s) in {len(left)} "
                         "partnership(s) outside the files' force area (border locations, each "
                         f"under {_min_share_text()} of the records): {shown}{more}")
        if attrs.get("rows_no_location"):
            lines.append(f"left out: {attrs['rows_no_location']:,} record(s) with no location "
                         "(in no partnership)")
        if attrs.get("rows_unmatched"):
            lines.append(f"left out: {attrs['rows_unmatched']:,} record(s) whose LSOA is in no "
                         "partnership of the bundled ONS lookup")
    return lines


def _min_share_text() -> str:
    from sa_lib.data.police_uk_force import MIN_SHARE

    return f"{MIN_SHARE:.0%}"


def _area_line(out: BatchResult, area: str) -> str:
    name = f"{out.names.get(area, area)} ({area})"
    took = out.seconds_by_area.get(area)
    when = f" in {took:.1f} s" if took is not None else ""
    if area in out.results:
        return f"built  {name}{when}"
    first = out.failures.get(area, "").strip().splitlines()
    return f"FAILED {name}{when}: {first[0] if first else 'failed'}"


def _batch_threads(files: dict[str, str], out: BatchResult, bar: object, replace: bool,
                   template: str | None, say: Callable[[str], None]) -> None:
    running: dict[str, float] = {}
    with ThreadPoolExecutor(max_workers=out.workers) as pool:
        futures = {pool.submit(_timed_area, a, f, replace, template, running): a
                   for a, f in files.items()}
        pending, shown = set(futures), ""
        while pending:
            done, pending = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
            for fut in done:
                area = futures[fut]
                exc = fut.exception()
                if exc is None:
                    result, seconds = fut.result()
                    out.seconds_by_area[area] = round(seconds, 1)
                    _collect(area, None, lambda r=result: r, out, bar, say)
                else:
                    _collect(area, exc, fut.result, out, bar, say)
            busy = ", ".join(out.names.get(a, a)
                             for a, _ in sorted(running.items(), key=lambda kv: kv[1]))
            if bar is not None and busy != shown:  # the areas being built, when they change
                shown = busy
                bar.set_postfix_str(f"building: {busy}" if busy else "")  # type: ignore[attr-defined]


def _collect(area: str, exc: BaseException | None, result: Callable[[], RunResult],
             out: BatchResult, bar: object, say: Callable[[str], None] | None = None) -> None:
    """Record one finished area: its result, or its error message (one area never stops the rest).

    A user error (:class:`SAError`) keeps its message; any other error is recorded as
    unexpected, naming the exception.  An interruption (Ctrl-C) stops the batch.
    """
    if exc is None:
        out.results[area] = result()
        took = out.results[area].timings.get("total_seconds")
        if took is not None:
            out.seconds_by_area.setdefault(area, round(float(took), 1))
    elif isinstance(exc, SAError):
        out.failures[area] = str(exc)
    elif isinstance(exc, Exception):
        out.failures[area] = f"unexpected error: {type(exc).__name__}: {exc}"
        out.unexpected.add(area)
    else:
        raise exc
    if bar is not None:
        bar.update(1)  # type: ignore[attr-defined]
    if say is not None:
        line = _area_line(out, area)
        if bar is not None:
            bar.write(line, file=sys.stderr if area in out.failures else sys.stdout)  # type: ignore[attr-defined]
        else:
            say(line)


def _batch_dask(files: dict[str, str], n: int, address: str | None, out: BatchResult,
                bar: object, replace: bool = False, template: str | None = None,
                say: Callable[[str], None] | None = None) -> None:
    try:
        from dask.distributed import Client, LocalCluster
        from dask.distributed import as_completed as dask_completed
    except ImportError:
        raise SAError("scheduler='dask' needs dask.distributed: pip install 'sa-workbook[dask]'") \
            from None
    cluster = None if address else LocalCluster(n_workers=n, threads_per_worker=1,
                                                processes=True, dashboard_address=None)
    client = Client(address or cluster)
    try:
        futures = {client.submit(_run_area, f, 1, replace, template, pure=False, key=f"sa-{a}"): a
                   for a, f in files.items()}
        for fut in dask_completed(list(futures)):
            _collect(futures[fut], fut.exception(), fut.result, out, bar, say)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _write_batch_index(out: BatchResult, period: str) -> Path | None:
    """``outputs/index.html`` after a batch; a write that fails is a warning, not a failure."""
    import logging

    from sa_lib.run import runner
    from sa_lib.run.index_page import index_entries, write_index

    failures = {a: (out.names.get(a, a), period, m) for a, m in out.failures.items()}
    try:
        root = runner.outputs_gate().root
        return write_index(root, index_entries(root, failures), built=runner._built_time())
    except SAError as exc:
        logging.getLogger(__name__).warning("the index page was not written: %s", exc)
        return None
