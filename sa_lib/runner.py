"""Run the notebook series for a parameters file and write the reports.

``sa run parameters/2025.yaml`` (or :func:`run_assessment`):

1. validates the parameters file (before any kernel starts);
2. executes every numbered notebook with papermill, once for the ``official``
   and once for the ``public`` build, in parallel (kernel ``python3``, working
   directory ``notebooks/``, timeouts, a progress bar);
3. converts each executed notebook to HTML with code hidden, and all of them
   into one stakeholder ``report.html`` with a table of contents, readable offline;
4. writes every table as CSV and all of them in ``tables.xlsx``, charts as PNG,
   and ``manifest.json`` (parameters, input files with sha256, versions, timings);
5. builds into a staging folder and swaps it in only when everything
   succeeded, so a failed run never replaces or corrupts the last good report.
   A failure keeps the failed executed notebook under ``outputs/.../failed/``.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TypeVar

import nbformat
import pandas as pd

from sa_lib.assessment import check_inputs
from sa_lib.errors import SAError
from sa_lib.html_report import combined_report, notebook_html
from sa_lib.parameters import Parameters, load_parameters
from sa_lib.paths import NOTEBOOKS_DIR, OUTPUTS_DIR, PROJECT_ROOT

__all__ = ["RunResult", "NotebookFailed", "NotebookJob", "BatchResult", "run_assessment",
           "run_batch", "area_parameters", "report_notebooks", "notebook_jobs"]

T = TypeVar("T")
AUDIENCES = ("official", "public")
KERNEL = "python3"
CELL_TIMEOUT = 600


class NotebookFailed(SAError):
    """A notebook raised an error; the message names the notebook and the cell."""


@dataclass
class RunResult:
    """What a run produced."""

    output_dir: Path
    reports: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


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
    notebook failed is replaced, never reused.
    """

    def __init__(self, size: int) -> None:
        import queue

        self._idle: queue.Queue = queue.Queue()
        self._all: list = []
        for _ in range(size):
            self._idle.put(self._start())

    def _start(self) -> object:
        from jupyter_client.manager import KernelManager

        km = KernelManager(kernel_name=KERNEL)
        _in_fresh_thread(lambda: km.start_kernel(cwd=str(NOTEBOOKS_DIR)))
        self._all.append(km)
        return km

    def acquire(self) -> object:
        """A kernel manager for one notebook (blocks until one is free)."""
        return self._idle.get()

    def release(self, km: object, healthy: bool) -> None:
        """Give a kernel back; a failed or dead one is shut down and replaced."""
        if not healthy or not _in_fresh_thread(km.is_alive):  # type: ignore[attr-defined]
            self._stop(km)
            km = self._start()
        self._idle.put(km)

    def _stop(self, km: object) -> None:
        try:
            _in_fresh_thread(lambda: km.shutdown_kernel(now=True))  # type: ignore[attr-defined]
        except Exception:  # a kernel that is already gone needs no shutdown
            pass
        if km in self._all:
            self._all.remove(km)

    def close(self) -> None:
        """Shut every kernel down."""
        for km in list(self._all):
            self._stop(km)


def _in_fresh_thread(fn: Callable[[], T]) -> T:
    """Run a blocking jupyter_client call on a new thread.

    jupyter_client's synchronous calls drive an asyncio loop on the calling thread,
    which fails inside a thread that already runs one (a Dask worker, JupyterLab).
    """
    with ThreadPoolExecutor(max_workers=1) as one:
        return one.submit(fn).result()


def _execute(job: NotebookJob, out_nb: Path, params_file: Path, audience: str,
             build_dir: Path, kernels: KernelPool | None = None) -> float:
    """Execute one notebook with papermill, then write its HTML page beside the others."""
    import papermill as pm

    start = time.perf_counter()
    nb = job.source
    km = kernels.acquire() if kernels is not None else None
    healthy = False
    try:
        pm.execute_notebook(
            str(nb), str(out_nb),
            parameters={"parameters_file": str(params_file), "audience": audience,
                        "output_dir": str(build_dir), **dict(job.parameters)},
            kernel_name=KERNEL, cwd=str(NOTEBOOKS_DIR), progress_bar=False,
            execution_timeout=CELL_TIMEOUT, start_timeout=120, log_output=False,
            **({"km": km} if km is not None else {}),
        )
        healthy = True
    except pm.PapermillExecutionError:
        raise NotebookFailed(f"{job.name} ({audience} build) failed at {_failed_cell(out_nb)}") \
            from None
    finally:
        if kernels is not None:
            kernels.release(km, healthy)
    # Converting here overlaps with the other workers' kernels, which do the heavy lifting.
    (build_dir / f"{out_nb.stem}.html").write_text(notebook_html(out_nb), encoding="utf-8")
    return time.perf_counter() - start


# Longest first, so the last worker is not left alone with the slowest notebook.
_ORDER = ("03", "02", "05", "06", "04", "01")


def _job_order(job: NotebookJob) -> int:
    prefix = job.name[:2]
    return _ORDER.index(prefix) if prefix in _ORDER else len(_ORDER)


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
        The output folder, the two ``report.html`` paths and timings.

    Raises
    ------
    ParameterError
        The parameters file is invalid (nothing is run).
    NotebookFailed
        A notebook failed; the previous report is left untouched and the failed
        executed notebook is kept under ``failed/`` for inspection.
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
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = final.parent / f".staging-{params.period_slug}-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    jobs = []
    for audience in AUDIENCES:
        build = staging / audience
        (build / "notebooks").mkdir(parents=True)
        for job in notebooks:
            jobs.append((job, build / "notebooks" / job.name, audience, build))
    timings: dict[str, float] = {}
    n_workers = workers or os.cpu_count() or 1
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), desc="notebooks", unit="nb", file=sys.stderr)
    failure: NotebookFailed | None = None
    try:
        jobs.sort(key=lambda j: _job_order(j[0]))
        kernels = KernelPool(min(n_workers, len(jobs)))
        with ThreadPoolExecutor(max_workers=n_workers) as pool:
            futures = {pool.submit(_execute, nb, out, params_file, aud, build, kernels):
                       (nb, out, aud) for nb, out, aud, build in jobs}
            for fut in as_completed(futures):
                nb, out, aud = futures[fut]
                try:
                    timings[f"{aud}/{nb.name}"] = round(fut.result(), 2)
                except NotebookFailed as exc:
                    failure = failure or exc
                    failed_dir = final.parent / "failed" / params.period_slug / aud
                    failed_dir.mkdir(parents=True, exist_ok=True)
                    if out.exists():
                        shutil.copy2(out, failed_dir / out.name)
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
        if "kernels" in locals():
            kernels.close()
    if failure is not None:
        shutil.rmtree(staging, ignore_errors=True)
        raise NotebookFailed(f"{failure} The previous report (if any) is unchanged; the failed "
                             f"notebook is kept in {final.parent / 'failed' / params.period_slug}")
    try:
        reports = []
        for audience in AUDIENCES:
            build = staging / audience
            executed = [build / "notebooks" / job.name for job in notebooks]
            title = f"{params.title}: {params.area.name}, {params.review_window.label}"
            (build / "report.html").write_text(
                combined_report(executed, title=title, audience=audience), encoding="utf-8")
            _write_xlsx(build)
            reports.append(final / audience / "report.html")
        timings["total_seconds"] = round(time.perf_counter() - t0, 2)
        manifest = {
            "parameters_file": _project_path(params_file),
            "parameters": params.model_dump(mode="json"),
            "area": params.area.name,
            "review_window": params.review_window.label,
            "inputs": _input_files(params),
            "versions": _versions(),
            "timings_seconds": timings,
            "notebooks": [job.name for job in notebooks],
        }
        (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True),
                                               encoding="utf-8")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _swap_in(staging, final)
    # A good run supersedes the record of an earlier failure for the same period.
    shutil.rmtree(final.parent / "failed" / params.period_slug, ignore_errors=True)
    return RunResult(final, reports, timings)


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
    """Replace the previous report with the new one in two renames."""
    old = final.parent / f".previous-{final.name}-{os.getpid()}"
    if final.exists():
        final.rename(old)
    try:
        staging.rename(final)
    except OSError:
        if old.exists():
            old.rename(final)  # put the last good report back
        raise
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


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

    from sa_lib.geography import load_csp_lookup

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
    from sa_lib.report import file_slug

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
