"""Run the notebook series for a parameters file and write the reports.

``sa run parameters/2025.yaml`` (or :func:`run_assessment`):

1. validates the parameters file (before any kernel starts);
2. executes every numbered notebook with papermill, once for the ``official``
   and once for the ``public`` build, in parallel (kernel ``python3``, working
   directory ``notebooks/``, timeouts, a progress bar);
3. converts each executed notebook to HTML with code hidden, and all of them
   into one stakeholder ``report.html`` with a table of contents, readable offline;
4. writes every table as CSV and all of them in ``tables.xlsx``, charts as PNG,
   and ``manifest.json`` (parameters, input files with sha256, versions);
5. builds into a staging folder and swaps it in only when everything
   succeeded, so a failed run never replaces or corrupts the last good report.
   A failure keeps the failed executed notebook under ``outputs/.../failed/``.

Determinism
-----------
Two runs on the same inputs into the same outputs folder write the same files
with the same bytes, except the one documented "built" line of each HTML page
(see :mod:`sa_lib.report.html`; ``SOURCE_DATE_EPOCH`` fixes even that).  The
XLSX zip gets fixed timestamps; ``manifest.json`` holds no timings (they are in
the run journal); the executed notebooks lose papermill's and nbclient's start
and end times and durations, and the random id of papermill's injected cell,
have their execution counts numbered from 1 (kernels are reused), and name the
report's final folder instead of the staging folder they were executed in.  Built into two different outputs folders, the executed notebooks
differ only in that folder's path (the ``output_dir`` parameter, in the
injected cell and in papermill's metadata).

Run journal and recovery
------------------------
``outputs/<area>/runs/<period>.json`` records the latest run of a period:
``status`` (``running`` while it works, then ``succeeded``, ``failed`` or
``interrupted``, or ``did not finish`` once a later run finds its process
gone), ``pid``, ``host``, ``started`` and ``finished`` (UTC), ``error``,
``failed_notebook``, ``timings_seconds`` and what it cleaned up
(``recovered``).  It is written before the first notebook starts, so a run
killed outright (SIGKILL, power cut) still leaves a record.  Every run first
calls :func:`recover_stale_runs`: runs of the same area whose process has gone
are marked ``did not finish``, their ``.staging-*`` folders removed, and a
previous report that a kill left moved aside mid-swap is put back; each is
reported (a logged warning, and :attr:`RunResult.notes`).  A run of the same
period whose process is still running is never disturbed: the new run is
refused.  The outputs folder is assumed to be used from one machine.

A write that fails (disk full, folder not writable) raises
:class:`~sa_lib.errors.OutputError`; Ctrl-C and SIGTERM (turned into an
interrupt by ``sa_lib.run.cli``) raise :class:`RunInterrupted`.  Both stop every
kernel, remove the staging folder, leave the previous report as it was and
record what happened in the journal.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

import nbformat
import pandas as pd

from sa_lib.data.inputs import check_inputs
from sa_lib.data.parameters import Parameters, load_parameters
from sa_lib.errors import OutputError, SAError
from sa_lib.paths import NOTEBOOKS_DIR, OUTPUTS_DIR, PROJECT_ROOT
from sa_lib.report.html import combined_report, notebook_html

__all__ = ["RunResult", "NotebookFailed", "RunInterrupted", "NotebookJob", "BatchResult",
           "run_assessment", "run_batch", "area_parameters", "report_notebooks", "notebook_jobs",
           "journal_path", "read_journal", "recover_stale_runs"]

T = TypeVar("T")
AUDIENCES = ("official", "public")
KERNEL = "python3"
CELL_TIMEOUT = 600
# How long a stopped run waits for its notebooks to notice their kernels are gone.
STOP_WAIT = 15.0
log = logging.getLogger(__name__)


class NotebookFailed(SAError):
    """A notebook raised an error; the message names the notebook and the cell.

    ``notebook`` is the failed notebook as ``"<audience>/<file name>"`` when known.
    """

    notebook: str | None = None


class RunInterrupted(KeyboardInterrupt):
    """A run was stopped by Ctrl-C (SIGINT) or SIGTERM before it finished.

    Still a :class:`KeyboardInterrupt`, so code that stops on Ctrl-C keeps
    stopping; the message says that the previous report is unchanged and where
    the interruption is recorded.
    """


@dataclass
class RunResult:
    """What a run produced.

    ``journal`` is the run's record (``outputs/<area>/runs/<period>.json``);
    ``notes`` says what was cleaned up after earlier runs that did not finish.
    """

    output_dir: Path
    reports: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    journal: Path | None = None
    notes: list[str] = field(default_factory=list)


def report_notebooks() -> list[Path]:
    """The numbered notebooks of the series (``notebooks/NN_*.ipynb``), in order."""
    return sorted(p for p in NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))


@dataclass(frozen=True)
class NotebookJob:
    """One execution of a notebook: its source and the executed file's name."""

    source: Path
    name: str
    parameters: tuple[tuple[str, str], ...] = ()


def notebook_jobs(notebooks: list[Path] | None = None) -> list[NotebookJob]:
    """What to execute for one build, in report order (every numbered notebook once)."""
    return [NotebookJob(nb, nb.name) for nb in (notebooks if notebooks is not None
                                               else report_notebooks())]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _input_files(params: Parameters) -> list[dict[str, str]]:
    paths: list[Path] = [Path(params.source)]
    for p in params.police_uk_paths():
        paths += sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    for key in ("partner", "morile_sheets", "morile_scales", "csp_table", "population"):
        p = params.path(key)
        paths += sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    seen = dict.fromkeys(paths)
    return [{"path": _project_path(p), "sha256": _sha256(p)} for p in seen]


def _project_path(p: Path) -> str:
    """A path as recorded in the manifest: relative to the project root when inside it."""
    p = Path(p).resolve()
    return str(p.relative_to(PROJECT_ROOT)) if p.is_relative_to(PROJECT_ROOT) else str(p)


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("sa-workbook", "pandas", "numpy", "scipy", "statsmodels", "matplotlib",
                "papermill", "nbconvert", "pyarrow"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _failed_cell(nb_path: Path) -> str:
    """Describe the cell that failed in a papermill output notebook.

    Cells are numbered from 1 as in the source notebook: papermill's inserted
    cells (the injected parameters and its error banner/anchor) are not counted.
    """
    try:
        nb = nbformat.read(nb_path, as_version=4)
    except (OSError, ValueError):
        return "unknown cell"
    inserted = {"injected-parameters", "papermill-error-cell-tag"}
    number = 0
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & inserted:
            continue
        number += 1
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
                return (f"cell {number} ({first[:60]!r}): {out.get('ename')}: "
                        f"{_strip_ansi(str(out.get('evalue')))[:500]}")
    return "unknown cell"


def _strip_ansi(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


class KernelPool:
    """One running ``python3`` kernel per worker, reused from notebook to notebook.

    Starting a kernel and importing the scientific stack costs about 3 s, more
    than most notebooks take to run, so each worker keeps its kernel: every
    notebook still starts with its own parameters cell and ``open_assessment``,
    so nothing a notebook computes is carried into the next one. A kernel whose
    notebook failed is replaced, never reused.  Once closed (end of run, or a
    run being stopped) no kernel is started again.
    """

    def __init__(self, size: int) -> None:
        import queue

        self._idle: queue.Queue = queue.Queue()
        self._all: list = []
        self._closed = False
        try:
            for _ in range(size):
                self._idle.put(self._start())
        except BaseException:  # Ctrl-C while starting: no kernel is left running
            self.close()
            raise

    def _start(self) -> object:
        from jupyter_client.manager import KernelManager

        km = KernelManager(kernel_name=KERNEL)
        self._all.append(km)  # listed first, so close() stops it even while it starts
        _in_fresh_thread(lambda: km.start_kernel(cwd=str(NOTEBOOKS_DIR)))
        return km

    def acquire(self) -> object:
        """A kernel manager for one notebook (blocks until one is free)."""
        import queue

        while not self._closed:
            try:
                return self._idle.get(timeout=1)
            except queue.Empty:
                continue
        raise SAError("the run is stopping: no kernel is started for another notebook")

    def release(self, km: object, healthy: bool) -> None:
        """Give a kernel back; a failed or dead one is shut down and replaced."""
        if self._closed:
            self._stop(km)
            return
        if not healthy or not _in_fresh_thread(km.is_alive):  # type: ignore[attr-defined]
            self._stop(km)
            km = self._start()
            if self._closed:  # closed while the replacement started
                self._stop(km)
                return
        self._idle.put(km)

    def _stop(self, km: object) -> None:
        try:
            _in_fresh_thread(lambda: km.shutdown_kernel(now=True))  # type: ignore[attr-defined]
        except Exception:  # a kernel that is already gone needs no shutdown
            pass
        if km in self._all:
            self._all.remove(km)

    def close(self) -> None:
        """Shut every kernel down; a notebook still running on one fails at once."""
        self._closed = True
        for km in list(self._all):
            self._stop(km)


def _in_fresh_thread(fn: Callable[[], T]) -> T:
    """Run a blocking jupyter_client call on a new thread.

    jupyter_client's synchronous calls drive an asyncio loop on the calling thread,
    which fails inside a thread that already runs one (a Dask worker, JupyterLab).
    """
    with ThreadPoolExecutor(max_workers=1) as one:
        return one.submit(fn).result()


def _run_notebook(job: NotebookJob, out_nb: Path, parameters: dict[str, str],
                  km: object | None) -> None:
    """Execute one notebook with papermill into ``out_nb`` (on ``km``'s kernel when given)."""
    import papermill as pm

    pm.execute_notebook(
        str(job.source), str(out_nb), parameters=parameters,
        kernel_name=KERNEL, cwd=str(NOTEBOOKS_DIR), progress_bar=False,
        execution_timeout=CELL_TIMEOUT, start_timeout=120, log_output=False,
        **({"km": km} if km is not None else {}),
    )


def _execute(job: NotebookJob, out_nb: Path, params_file: Path, audience: str,
             build_dir: Path, final_dir: Path, built: datetime,
             kernels: KernelPool | None = None) -> float:
    """Execute one notebook, settle it, then write its HTML page beside the others.

    ``build_dir`` is the staging folder of this audience, ``final_dir`` where it
    will be once swapped in.
    """
    from papermill.exceptions import PapermillExecutionError

    start = time.perf_counter()
    km = kernels.acquire() if kernels is not None else None
    healthy = False
    try:
        _run_notebook(job, out_nb, {"parameters_file": str(params_file), "audience": audience,
                                    "output_dir": str(build_dir), **dict(job.parameters)}, km)
        healthy = True
    except PapermillExecutionError:
        raise NotebookFailed(f"{job.name} ({audience} build) failed at {_failed_cell(out_nb)}") \
            from None
    finally:
        if kernels is not None:
            kernels.release(km, healthy)
    _settle_notebook(out_nb, build_dir, final_dir)
    # Converting here overlaps with the other workers' kernels, which do the heavy lifting.
    (build_dir / f"{out_nb.stem}.html").write_text(notebook_html(out_nb, built=built),
                                                    encoding="utf-8")
    return time.perf_counter() - start


_VOLATILE = ("start_time", "end_time", "duration")


def _settle_notebook(path: Path, staging_dir: Path, final_dir: Path) -> None:
    """Make an executed notebook the same for the same inputs, and true after the swap.

    Drops papermill's and nbclient's times and durations (notebook and cells),
    gives papermill's injected cell a fixed id instead of a random one, numbers
    the executed cells from 1 (a reused kernel counts on from the notebooks it
    ran before, which depends on scheduling), and names ``final_dir``, where
    the tables and charts will be, instead of the staging folder the notebook
    wrote them in.
    """
    nb = nbformat.read(path, as_version=4)
    old, new = str(staging_dir), str(final_dir)
    meta = nb.metadata.get("papermill", {})
    for key in _VOLATILE:
        meta.pop(key, None)
    for key in ("input_path", "output_path"):
        if isinstance(meta.get(key), str):
            meta[key] = meta[key].replace(old, new)
    for key, value in meta.get("parameters", {}).items():
        if isinstance(value, str):
            meta["parameters"][key] = value.replace(old, new)
    executed = 0
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        for key in _VOLATILE:
            cell.metadata.get("papermill", {}).pop(key, None)
        if cell.cell_type == "code" and cell.get("execution_count") is not None:
            executed += 1
            cell.execution_count = executed
            for out in cell.get("outputs", []):
                if out.get("output_type") == "execute_result":
                    out["execution_count"] = executed
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = "injected-parameters"
            cell.source = cell.source.replace(old, new)
    nbformat.write(nb, path)


# Longest first, so the last worker is not left alone with the slowest notebook.
_ORDER = ("03", "02", "05", "06", "04", "01")


def _job_order(job: NotebookJob) -> int:
    prefix = job.name[:2]
    return _ORDER.index(prefix) if prefix in _ORDER else len(_ORDER)


def _built_time() -> datetime:
    """When this build happened, for the HTML built line: now, or ``SOURCE_DATE_EPOCH``."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not epoch:
        return datetime.now(UTC)
    try:
        return datetime.fromtimestamp(int(epoch), tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise SAError(f"SOURCE_DATE_EPOCH must be whole seconds since 1970-01-01 UTC, "
                      f"got {epoch!r}") from None


def run_assessment(
    parameters: str | Path,
    areas: list[str] | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> RunResult:
    """Build the official and public reports for a parameters file.

    Parameters
    ----------
    parameters : path
        e.g. ``parameters/2025.yaml``.
    areas : list of str, optional
        Area codes to build; any other than the parameters file's own area makes
        this a batch run (see :func:`run_batch`).
    workers : int, optional
        Notebooks executed at once (default: the number of cores).
    progress : bool, default True
        Show a progress bar.

    Returns
    -------
    RunResult
        The output folder, the two ``report.html`` paths, timings, the run
        journal and notes on earlier runs that did not finish.

    Raises
    ------
    ParameterError
        The parameters file is invalid (nothing is run).
    NotebookFailed
        A notebook failed; the previous report is left untouched and the failed
        executed notebook is kept under ``failed/`` for inspection.
    OutputError
        The outputs folder cannot be created, or a write failed (disk full, not
        writable); the previous report is left untouched.
    RunInterrupted
        Ctrl-C or SIGTERM; the previous report is left untouched.
    SAError
        Another process is building the same report right now.

    Every outcome except a refused run is recorded in the run journal (module
    docstring).

    Examples
    --------
    >>> result = run_assessment("parameters/2025.yaml", progress=False)  # doctest: +SKIP
    >>> result.reports[0]  # doctest: +SKIP
    PosixPath('.../outputs/maidstone/2025-01_2025-12/official/report.html')
    """
    t0 = time.perf_counter()
    params_path = Path(parameters)
    params_file = (params_path if params_path.is_absolute() else PROJECT_ROOT / params_path).resolve()
    params = load_parameters(params_file)
    check_inputs(params)
    if areas and any(a != params.area.code for a in areas):
        raise SAError(f"this parameters file is for {params.area.code}; build other areas with "
                      "run_batch (sa run --area CODE --area CODE ...)")
    notebooks = notebook_jobs()
    if not notebooks:
        raise SAError(f"no numbered notebooks found in {NOTEBOOKS_DIR}")
    final = OUTPUTS_DIR / params.area_slug / params.period_slug
    area_dir = final.parent
    try:
        area_dir.mkdir(parents=True, exist_ok=True)
        notes = recover_stale_runs(area_dir, params.period_slug)
    except OSError as exc:
        raise OutputError(f"cannot create or use the outputs folder {area_dir}: {_reason(exc)}; "
                          "nothing was built and any previous report is unchanged "
                          "(SA_OUTPUTS_DIR chooses another folder)") from None
    staging = area_dir / f".staging-{params.period_slug}-{os.getpid()}"
    built = _built_time()
    journal = _Journal(journal_path(area_dir, params.period_slug), {
        "status": "running", "pid": os.getpid(), "process_start": _process_start(os.getpid()),
        "host": platform.node(), "started": _utc_now(), "finished": None,
        "parameters_file": _project_path(params_file), "report": str(final),
        "staging": str(staging), "error": None, "failed_notebook": None,
        "timings_seconds": {}, "recovered": notes,
    })
    try:
        journal.start()
    except OSError as exc:
        raise OutputError(f"cannot write in the outputs folder {area_dir}: {_reason(exc)}; "
                          f"nothing was built and the previous report in {final} (if any) is "
                          "unchanged") from None
    step = "creating the staging folder"
    try:
        if staging.exists():
            shutil.rmtree(staging)
        jobs = []
        for audience in AUDIENCES:
            build = staging / audience
            (build / "notebooks").mkdir(parents=True)
            for job in notebooks:
                jobs.append((job, build / "notebooks" / job.name, audience, build))
        step = "executing the notebooks"
        timings = _execute_all(jobs, params_file, final, built, workers, progress,
                               area_dir / "failed" / params.period_slug)
        title = f"{params.title}: {params.area.name}, {params.review_window.label}"
        for audience in AUDIENCES:
            build = staging / audience
            executed = [build / "notebooks" / job.name for job in notebooks]
            step = f"writing {audience}/report.html"
            (build / "report.html").write_text(
                combined_report(executed, title=title, audience=audience, built=built),
                encoding="utf-8")
            step = f"writing {audience}/tables.xlsx"
            _write_xlsx(build)
        step = "writing manifest.json"
        _write_manifest(staging / "manifest.json", params, params_file, notebooks)
        step = "swapping the new report in"
        _swap_in(staging, final)
    except NotebookFailed as exc:
        recorded = journal.finish("failed", error=str(exc), failed_notebook=exc.notebook)
        failed = NotebookFailed(
            f"{exc} The previous report (if any) is unchanged; the failed notebook is kept in "
            f"{area_dir / 'failed' / params.period_slug}. {recorded}")
        failed.notebook = exc.notebook
        raise failed from None
    except OSError as exc:
        message = (f"could not write the report in {area_dir} while {step}: {_reason(exc)}. "
                   f"Nothing was swapped in: the previous report in {final} (if any) is "
                   "unchanged.")
        raise OutputError(f"{message} {journal.finish('failed', error=message)}") from None
    except KeyboardInterrupt as exc:
        how = str(exc) or "Ctrl-C (SIGINT)"
        message = (f"the run was interrupted by {how} while {step}; nothing was swapped in: the "
                   f"previous report in {final} (if any) is unchanged.")
        raise RunInterrupted(f"{message} {journal.finish('interrupted', error=message)}") \
            from None
    except BaseException as exc:
        journal.finish("failed", error=f"{type(exc).__name__}: {exc}"[:2000])
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    # A good run supersedes the record of an earlier failure for the same period.
    shutil.rmtree(area_dir / "failed" / params.period_slug, ignore_errors=True)
    timings["total_seconds"] = round(time.perf_counter() - t0, 2)
    recorded = journal.finish("succeeded", timings_seconds=timings)
    if not recorded.startswith("Recorded"):
        log.warning("the report was built, but %s", recorded[0].lower() + recorded[1:])
    reports = [final / audience / "report.html" for audience in AUDIENCES]
    return RunResult(final, reports, timings, journal.path, notes)


def _execute_all(jobs: list[tuple[NotebookJob, Path, str, Path]], params_file: Path,
                 final: Path, built: datetime, workers: int | None, progress: bool,
                 failed_dir: Path) -> dict[str, float]:
    """Execute every notebook of both builds; seconds per notebook.

    A notebook failure lets the other notebooks finish (so every failure is
    kept under ``failed_dir``) and then raises the first.  Anything else (a
    write error, Ctrl-C, SIGTERM) stops at once: queued notebooks are dropped
    and the kernels shut down, which ends the running notebooks within seconds.
    """
    timings: dict[str, float] = {}
    n_workers = workers or os.cpu_count() or 1
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), desc="notebooks", unit="nb", file=sys.stderr)
    failure: NotebookFailed | None = None
    kernels: KernelPool | None = None
    pool = ThreadPoolExecutor(max_workers=n_workers)
    stopping = False
    try:
        jobs = sorted(jobs, key=lambda j: _job_order(j[0]))
        kernels = KernelPool(min(n_workers, len(jobs)))
        futures = {pool.submit(_execute, nb, out, params_file, aud, build, final / aud, built,
                               kernels): (nb, out, aud) for nb, out, aud, build in jobs}
        for fut in as_completed(futures):
            nb, out, aud = futures[fut]
            try:
                timings[f"{aud}/{nb.name}"] = round(fut.result(), 2)
            except NotebookFailed as exc:
                if failure is None:
                    failure = exc
                    failure.notebook = f"{aud}/{nb.name}"
                _keep_failed(out, failed_dir / aud)
            if bar is not None:
                bar.update(1)
    except BaseException:
        # Kernels shut down under running notebooks make papermill log "kernel died"
        # errors: expected while stopping, so kept off the one message the user gets.
        quiet = logging.getLogger("papermill")
        level, quiet.level = quiet.level, logging.CRITICAL
        stopping = True
        try:
            pool.shutdown(wait=False, cancel_futures=True)
            if kernels is not None:
                kernels.close()
            # A notebook whose kernel was shut down mid-cell can leave nbclient waiting for
            # output that never comes: wait a little, then stop without it (the caller
            # exits the process; see sa_lib.run.cli.entry).
            _join_workers(pool, seconds=STOP_WAIT)
        finally:
            quiet.setLevel(level)
        raise
    finally:
        pool.shutdown(wait=not stopping)
        if kernels is not None:
            kernels.close()
        if bar is not None:
            bar.close()
    if failure is not None:
        raise failure
    return timings


def _join_workers(pool: ThreadPoolExecutor, seconds: float) -> bool:
    """Wait up to ``seconds`` for the pool's threads to end; True when they all have."""
    deadline = time.monotonic() + seconds
    for thread in list(getattr(pool, "_threads", ())):  # the executor keeps no public list
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    return not any(t.is_alive() for t in getattr(pool, "_threads", ()))


def _keep_failed(executed: Path, folder: Path) -> None:
    """Copy a failed executed notebook where the analyst can open it (best effort)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if executed.exists():
            shutil.copy2(executed, folder / executed.name)
    except OSError as exc:  # a full disk must not hide the notebook's own error
        log.warning("could not keep the failed notebook %s in %s: %s", executed.name, folder,
                    _reason(exc))


def _write_manifest(path: Path, params: Parameters, params_file: Path,
                    notebooks: list[NotebookJob]) -> None:
    """What the report was built from; no times, so it is the same for the same inputs."""
    manifest = {
        "parameters_file": _project_path(params_file),
        "parameters": params.model_dump(mode="json"),
        "area": params.area.name,
        "review_window": params.review_window.label,
        "inputs": _input_files(params),
        "versions": _versions(),
        "notebooks": [job.name for job in notebooks],
    }
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")


def _reason(exc: OSError) -> str:
    """An OSError in words, with the file it concerns when known."""
    text = exc.strerror or str(exc) or type(exc).__name__
    return f"{text} ({exc.filename})" if exc.filename else text


def _write_xlsx(build: Path) -> None:
    """All tables in one workbook: a contents sheet, then one sheet per table.

    Excel sheet names are at most 31 characters, so long table names are cut and
    numbered to stay unique; the contents sheet maps each sheet to its CSV.
    """
    tables = sorted((build / "tables").glob("*.csv"))
    sheets = _sheet_names([t.stem for t in tables])
    with pd.ExcelWriter(build / "tables.xlsx", engine="openpyxl") as xl:
        pd.DataFrame({"sheet": sheets, "table (tables/*.csv)": [t.name for t in tables]}) \
            .to_excel(xl, sheet_name="contents", index=False)
        for t, sheet in zip(tables, sheets, strict=True):
            pd.read_csv(t).to_excel(xl, sheet_name=sheet, index=False)
    _normalise_xlsx(build / "tables.xlsx")


def _sheet_names(names: list[str], limit: int = 31) -> list[str]:
    """Unique Excel sheet names (<= 31 characters) for table names, in order."""
    out: list[str] = []
    for name in names:
        candidate, n = name[:limit], 1
        while candidate in out or candidate == "contents":
            n += 1
            suffix = f"_{n}"
            candidate = name[:limit - len(suffix)] + suffix
        out.append(candidate)
    return out


def _normalise_xlsx(path: Path) -> None:
    """Rewrite the XLSX zip with fixed timestamps so identical tables give identical bytes."""
    import zipfile

    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in sorted(src.infolist(), key=lambda i: i.filename):
            data = src.read(item.filename)
            if item.filename == "docProps/core.xml":
                import re

                data = re.sub(rb"<dcterms:(created|modified)[^>]*>[^<]*</dcterms:\1>", b"", data)
            info = zipfile.ZipInfo(item.filename, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, data)
    tmp.replace(path)


def _swap_in(staging: Path, final: Path) -> None:
    """Replace the previous report with the new one in two renames.

    A kill between the two renames leaves the previous report in
    ``.previous-<period>-<pid>``; :func:`recover_stale_runs` puts it back.
    """
    old = final.parent / f".previous-{final.name}-{os.getpid()}"
    if final.exists():
        final.rename(old)
    try:
        staging.rename(final)
    except OSError:
        if old.exists():
            try:
                old.rename(final)  # put the last good report back
            except OSError as exc:
                raise OutputError(
                    f"could not swap the new report into {final}, nor put the previous one "
                    f"back ({_reason(exc)}): the previous report is in {old}; move it back to "
                    f"{final} (the next run also tries)") from None
        raise
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


# Run journal and recovery -------------------------------------------------------------------


def journal_path(area_dir: Path, period: str) -> Path:
    """Where the latest run of a period is recorded: ``<area_dir>/runs/<period>.json``.

    Examples
    --------
    >>> journal_path(Path("outputs/maidstone"), "2025-01_2025-12").as_posix()
    'outputs/maidstone/runs/2025-01_2025-12.json'
    """
    return area_dir / "runs" / f"{period}.json"


def read_journal(path: Path) -> dict[str, Any] | None:
    """A run journal as a dict, or ``None`` when there is none (or it cannot be read).

    Examples
    --------
    >>> read_journal(Path("outputs/nowhere/runs/2025-01_2025-12.json")) is None
    True
    """
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _write_journal(path: Path, record: dict[str, Any]) -> None:
    """Write a journal atomically, so a kill never leaves half a record."""
    import threading

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        raise


class _Journal:
    """The record of the run in progress (see the module docstring)."""

    def __init__(self, path: Path, record: dict[str, Any]) -> None:
        self.path = path
        self.record = record

    def start(self) -> None:
        _write_journal(self.path, self.record)

    def finish(self, status: str, **fields: Any) -> str:
        """Record how the run ended; a sentence saying where (or why it could not be)."""
        self.record.update(status=status, finished=_utc_now(), **fields)
        try:
            _write_journal(self.path, self.record)
        except OSError as exc:
            return f"This could not be recorded in {self.path} ({_reason(exc)})."
        return f"Recorded in {self.path}."


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _proc_stat(pid: int) -> list[str] | None:
    """Fields 3 onwards of ``/proc/<pid>/stat`` (Linux), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return stat.rsplit(")", 1)[-1].split()


def _process_start(pid: int) -> str | None:
    """When a process started (clock ticks since boot, Linux), to tell a reused pid apart."""
    fields = _proc_stat(pid)
    return fields[19] if fields and len(fields) > 19 else None


def _process_running(pid: int, started: str | None = None) -> bool:
    """Whether ``pid`` is still running (and is the process that started at ``started``)."""
    if pid <= 0:
        return False
    if os.name == "nt":  # os.kill would terminate it; we cannot tell, so assume it runs
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        pass
    fields = _proc_stat(pid)
    if fields is None:  # no /proc: the pid exists, which is all we can tell
        return True
    if fields[0] in ("Z", "X"):  # finished; only waiting for its parent to reap it
        return False
    return started is None or len(fields) <= 19 or fields[19] == started


def _pid_suffix(name: str) -> int | None:
    tail = name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else None


def recover_stale_runs(area_dir: Path, period: str | None = None) -> list[str]:
    """Report and clean up what runs of an area left behind when they did not finish.

    A run killed outright (SIGKILL, power cut, OOM killer) leaves its journal
    saying ``running``, its ``.staging-<period>-<pid>`` folder and, when the
    kill came between the two renames of the swap, the previous report in
    ``.previous-<period>-<pid>``.  For every such run whose process is gone,
    this marks the journal ``did not finish``, removes the staging folder, and
    puts the previous report back where no new one replaced it.  Folders of
    processes that still run are left alone.  :func:`run_assessment` calls it
    first.

    Parameters
    ----------
    area_dir : Path
        An area's outputs folder, e.g. ``outputs/maidstone``.
    period : str, optional
        The period about to be built: if a live process is building it, refuse.

    Returns
    -------
    list of str
        One sentence per run cleaned up (also logged as warnings).

    Raises
    ------
    SAError
        ``period`` is being built right now by another process.

    Examples
    --------
    >>> recover_stale_runs(Path("outputs/nowhere"))
    []
    """
    notes: list[str] = []
    if not area_dir.is_dir():
        return notes
    runs = area_dir / "runs"
    for path in sorted(runs.glob("*.json")) if runs.is_dir() else []:
        record = read_journal(path)
        pid = record.get("pid") if record else None
        if not record or record.get("status") != "running" or not isinstance(pid, int) \
                or pid == os.getpid() or record.get("host") not in (None, platform.node()):
            continue
        if _process_running(pid, record.get("process_start")):
            if path.stem == period:
                raise SAError(f"another run (pid {pid}, started {record.get('started')}) is "
                              f"building {record.get('report')} now; wait for it to finish "
                              "(or stop it), then run again")
            continue
        staging = Path(record["staging"]) if record.get("staging") else None
        note = f"the run started at {record.get('started')} by pid {pid} did not finish"
        if staging is not None and staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
            note += f"; its staging folder {staging} was removed"
        record.update(status="did not finish", noticed=_utc_now(), error=note)
        try:
            _write_journal(path, record)
        except OSError as exc:
            note += f" (the journal {path} could not be updated: {_reason(exc)})"
        notes.append(note)
    # Folders of runs whose process is gone, journal or not (e.g. a run of an older version).
    left = sorted(area_dir.glob(".staging-*")) + sorted(area_dir.glob(".previous-*"))
    for folder in left:
        pid = _pid_suffix(folder.name)
        if pid is None or pid == os.getpid() or _process_running(pid) or not folder.exists():
            continue
        if folder.name.startswith(".previous-"):
            target = area_dir / folder.name[len(".previous-"):].rsplit("-", 1)[0]
            if not target.exists():
                folder.rename(target)
                notes.append(f"a run (pid {pid}) was stopped while swapping its report in; the "
                             f"previous report was put back in {target}")
                continue
        shutil.rmtree(folder, ignore_errors=True)
        if not any(str(folder) in n for n in notes):
            notes.append(f"removed {folder}, left by a run (pid {pid}) that did not finish")
    for note in notes:
        log.warning("note: %s", note)
    return notes


# Batch runs ---------------------------------------------------------------------------------


@dataclass
class BatchResult:
    """What a batch run produced: one result per area that succeeded, and the failures."""

    results: dict[str, RunResult] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def area_parameters(parameters: str | Path, area_code: str, folder: Path) -> Path:
    """Write a copy of a parameters file for another area (name from the CSP lookup).

    Everything else (windows, themes, thresholds, data folders) is kept, so every
    area of a batch is assessed the same way.
    """
    import yaml

    from sa_lib.data.geography import load_csp_lookup

    params = load_parameters(_absolute(parameters))
    lk = load_csp_lookup()
    hit = lk[(lk["csp_code"] == area_code) | (lk["lad_code"] == area_code)]
    if hit.empty:
        raise SAError(f"--area {area_code!r}: not a CSP or local authority code in the lookup")
    name = str(hit["csp_name"].iloc[0] if (hit["csp_code"] == area_code).any()
               else hit["lad_name"].iloc[0])
    raw = yaml.safe_load(Path(params.source).read_text(encoding="utf-8"))
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


def _run_area(parameters: str, workers: int) -> RunResult:
    """One area of a batch (top level, so a Dask worker process can import and run it)."""
    return run_assessment(parameters, workers=workers, progress=False)


def run_batch(
    parameters: str | Path,
    areas: list[str],
    workers: int | None = None,
    scheduler: str = "threads",
    dask_address: str | None = None,
    progress: bool = True,
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
        CSP (or local authority) codes.
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

    Returns
    -------
    BatchResult
        Results by area code, failures by area code (the message), total seconds.
    """
    import tempfile

    if scheduler not in ("threads", "dask"):
        raise SAError(f"scheduler must be 'threads' or 'dask', got {scheduler!r}")
    if not areas:
        raise SAError("run_batch needs at least one area code")
    t0 = time.perf_counter()
    n = workers or os.cpu_count() or 1
    out = BatchResult()
    with tempfile.TemporaryDirectory(prefix="sa-batch-") as tmp:
        files = {a: str(area_parameters(parameters, a, Path(tmp))) for a in dict.fromkeys(areas)}
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(files), desc="areas", unit="area", file=sys.stderr)
        try:
            if scheduler == "dask":
                _batch_dask(files, n, dask_address, out, bar)
            else:
                with ThreadPoolExecutor(max_workers=n) as pool:
                    futures = {pool.submit(_run_area, f, 1): a for a, f in files.items()}
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
                bar: object) -> None:
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
        futures = {client.submit(_run_area, f, 1, pure=False, key=f"sa-{a}"): a
                   for a, f in files.items()}
        for fut in dask_completed(list(futures)):
            _collect(futures[fut], fut.exception(), fut.result, out, bar)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
