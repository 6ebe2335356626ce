"""Batch runs: the report for many areas from one parameters file.

Each area gets a copy of the parameters with its own code and name and is
built exactly as a single run (:func:`sa_lib.run.runner.run_assessment`), on
local threads or a ``dask.distributed`` cluster.  The area codes are checked
before any area runs (:func:`check_batch_areas`): an unknown code, a local
authority code or two areas that would share an output folder refuse the whole
batch with one message naming the codes, so one bad code never fails the others.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from sa_lib.data.parameters import load_parameters
from sa_lib.data.safe_yaml import read_yaml
from sa_lib.data.slugs import folder_slug
from sa_lib.errors import SAError
from sa_lib.paths import PROJECT_ROOT
from sa_lib.run.runner import RunResult, built_from_name, run_assessment

__all__ = ["BatchResult", "run_batch", "area_parameters", "check_batch_areas"]


@dataclass
class BatchResult:
    """What a batch run produced: one result per area that succeeded, and the failures."""

    results: dict[str, RunResult] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


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


def run_batch(
    parameters: str | Path,
    areas: list[str],
    workers: int | None = None,
    scheduler: str = "threads",
    dask_address: str | None = None,
    progress: bool = True,
    replace: bool = False,
) -> BatchResult:
    """Build the report for many areas from one parameters file.

    Each area gets a copy of the parameters with its own code and name, and its
    own ``outputs/<area>/<period>/`` (built and swapped in exactly as a single
    run). Areas run side by side, one notebook at a time each, so ``workers``
    areas use ``workers`` cores; one area failing does not stop the others.

    Parameters
    ----------
    parameters : path
        The template parameters file (e.g. ``parameters/2025.yaml``).
    areas : list of str
        CSP codes; all are checked before any area runs (:func:`check_batch_areas`).
    workers : int, optional
        Areas built at once (default: the number of cores).
    scheduler : {"threads", "dask"}
        ``"dask"`` hands the areas to a ``dask.distributed`` cluster (optional
        dependency: ``pip install 'sa-workbook[dask]'``), so a national run can
        spread over many machines without code changes.
    dask_address : str, optional
        Scheduler address of an existing cluster; default: a local cluster with
        ``workers`` single-threaded worker processes.
    progress : bool, default True
        A progress bar over areas.
    replace : bool, default False
        Replace an area's report that another parameters file built (see
        :func:`~sa_lib.run.runner.run_assessment`); without it that area is refused.
        Each area's manifest names the template file.

    Returns
    -------
    BatchResult
        Results by area code, failures by area code (the message), total seconds.

    Raises
    ------
    SAError
        Before any area runs: a bad scheduler, no area, an unknown or local
        authority code, or two areas sharing an output folder (one message).
    ParameterError
        The template parameters file is invalid.
    """
    import tempfile

    if scheduler not in ("threads", "dask"):
        raise SAError(f"scheduler must be 'threads' or 'dask', got {scheduler!r}")
    if not areas:
        raise SAError("run_batch needs at least one area code")
    t0 = time.perf_counter()
    names = check_batch_areas(areas)
    load_parameters(_absolute(parameters))  # the template once, before any area runs
    template = built_from_name(_absolute(parameters))
    n = workers or os.cpu_count() or 1
    out = BatchResult()
    with tempfile.TemporaryDirectory(prefix="sa-batch-") as tmp:
        files = {a: str(area_parameters(parameters, a, Path(tmp), names[a])) for a in names}
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(files), desc="areas", unit="area", file=sys.stderr)
        try:
            if scheduler == "dask":
                _batch_dask(files, n, dask_address, out, bar, replace, template)
            else:
                with ThreadPoolExecutor(max_workers=n) as pool:
                    futures = {pool.submit(_run_area, f, 1, replace, template): a
                               for a, f in files.items()}
                    for fut in as_completed(futures):
                        _collect(futures[fut], fut.exception(), fut.result, out, bar)
        finally:
            if bar is not None:
                bar.close()
    out.seconds = round(time.perf_counter() - t0, 2)
    return out


def _collect(area: str, exc: BaseException | None, result: Callable[[], RunResult],
             out: BatchResult, bar: object) -> None:
    """Record one finished area: its result, or its error message when it is a user error."""
    if exc is None:
        out.results[area] = result()
    elif isinstance(exc, SAError):
        out.failures[area] = str(exc)
    else:
        raise exc
    if bar is not None:
        bar.update(1)  # type: ignore[attr-defined]


def _batch_dask(files: dict[str, str], n: int, address: str | None, out: BatchResult,
                bar: object, replace: bool = False, template: str | None = None) -> None:
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
            _collect(futures[fut], fut.exception(), fut.result, out, bar)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
