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
The run's record and what it does about earlier runs that did not finish are
described in :mod:`sa_lib.run.journal`: every run first calls
:func:`~sa_lib.run.journal.recover_stale_runs`, and writes its journal before the
first notebook starts.

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
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from sa_lib.data.commentary_files import commentary_file
from sa_lib.data.inputs import check_inputs
from sa_lib.data.parameters import Parameters, load_parameters
from sa_lib.errors import OutputError, SAError
from sa_lib.output_gate import OutputGate
from sa_lib.paths import NOTEBOOKS_DIR, OUTPUTS_DIR, PROJECT_ROOT
from sa_lib.report.commentary import commentary_warnings, load_commentary
from sa_lib.report.docx_report import report_docx
from sa_lib.report.html import Cover, combined_report
from sa_lib.report.pdf import report_pdf
from sa_lib.run.execute import NotebookFailed, NotebookJob, _execute_all
from sa_lib.run.journal import (
    _Journal,
    _process_start,
    _reason,
    _utc_now,
    journal_path,
    recover_stale_runs,
)
from sa_lib.run.xlsx import _write_xlsx

__all__ = ["RunResult", "RunInterrupted", "run_assessment", "report_notebooks", "notebook_jobs"]

AUDIENCES = ("official", "public")
log = logging.getLogger(__name__)


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
        for p in params.input_paths(key):  # an optional input not given names none
            paths += sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    commentary = commentary_file(params.source, params.commentary)  # the analyst's words
    paths += [commentary] if commentary.is_file() else []
    seen = dict.fromkeys(paths)
    return [{"path": _project_path(p), "sha256": _sha256(p)} for p in seen]


def _project_path(p: Path) -> str:
    """A path as recorded in the manifest: relative to the project root when inside it."""
    p = Path(p).resolve()
    return str(p.relative_to(PROJECT_ROOT)) if p.is_relative_to(PROJECT_ROOT) else str(p)


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("sa-workbook", "pandas", "numpy", "scipy", "statsmodels", "matplotlib",
                "papermill", "nbconvert", "pyarrow", "weasyprint", "python-docx"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


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
    replace: bool = False,
    built_from: str | Path | None = None,
) -> RunResult:
    """Build the official and public reports for a parameters file.

    Parameters
    ----------
    parameters : path
        e.g. ``parameters/2025.yaml``.
    areas : list of str, optional
        Area codes to build; any other than the parameters file's own area makes
        this a batch run (see :func:`sa_lib.run.batch.run_batch`).
    workers : int, optional
        Notebooks executed at once (default: the number of cores).
    progress : bool, default True
        Show a progress bar.
    replace : bool, default False
        Replace a report that a *different* parameters file built in the same
        ``outputs/<area>/<period>/`` folder (``sa run FILE --replace``).  Without it
        such a run (a what-if file) is refused before any notebook starts, so the
        published report is never overwritten by accident.
    built_from : path, optional
        The parameters file recorded in the manifest and compared with the previous
        build's (default: ``parameters``); a batch passes its template, since each
        area runs from a temporary copy.

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
        Another process is building the same report right now, or (without
        ``replace``) the report in the folder was built from another parameters file.

    Every outcome except a refused run is recorded in the run journal
    (:mod:`sa_lib.run.journal`).

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
    commentary = load_commentary(params.source, params.commentary)  # a bad file fails now
    if areas and any(a != params.area.code for a in areas):
        raise SAError(f"this parameters file is for {params.area.code}; build other areas with "
                      "run_batch (sa run --area CODE --area CODE ...)")
    notebooks = notebook_jobs()
    if not notebooks:
        raise SAError(f"no numbered notebooks found in {NOTEBOOKS_DIR}")
    final = OUTPUTS_DIR / params.area_slug / params.period_slug
    area_dir = final.parent
    try:
        root_gate = outputs_gate()
        root_gate.check(final)
        root_gate.mkdir(area_dir)
        # Links anywhere in the area folder are refused before anything is written.
        root_gate.refuse_links(area_dir)
        gate = OutputGate(area_dir)
        notes = recover_stale_runs(area_dir, params.period_slug)
    except OSError as exc:
        raise OutputError(f"cannot create or use the outputs folder {area_dir}: {_reason(exc)}; "
                          "nothing was built and any previous report is unchanged "
                          "(SA_OUTPUTS_DIR chooses another folder)") from None
    source = built_from_name(built_from if built_from is not None else params_file)
    if not replace:
        _refuse_other_parameters(final, source)
    staging = area_dir / f".staging-{params.period_slug}-{os.getpid()}"
    built = _built_time()
    journal = _Journal(journal_path(area_dir, params.period_slug), {
        "status": "running", "pid": os.getpid(), "process_start": _process_start(os.getpid()),
        "host": platform.node(), "started": _utc_now(), "finished": None,
        # Paths relative to the area folder: a journal is a record, never an instruction.
        "parameters_file": source, "report": final.name,
        "staging": staging.name, "error": None, "failed_notebook": None,
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
        if os.path.lexists(staging):
            gate.rmtree(staging)
        gate.mark_build(staging)
        jobs = []
        for audience in AUDIENCES:
            build = staging / audience
            gate.mkdir(build / "notebooks")
            for job in notebooks:
                jobs.append((job, build / "notebooks" / job.name, audience, build))
        step = "executing the notebooks"
        timings = _execute_all(jobs, params_file, final, built, workers, progress,
                               area_dir / "failed" / params.period_slug)
        title = f"{params.title}: {params.area.name}, {params.review_window.label}"
        executed_by: dict[str, list[Path]] = {}
        cover = Cover(f"{params.area.name} Community Safety Partnership", params.title,
                      params.review_window.label, params.run_date,
                      params.publication.version, params.publication.owner)
        for audience in AUDIENCES:
            build = staging / audience
            executed = [build / "notebooks" / job.name for job in notebooks]
            step = f"writing {audience}/report.html"
            page = combined_report(executed, title=title, audience=audience, built=built,
                                   cover=cover)
            gate.write_text(build / "report.html", page)
            executed_by[audience] = executed
            step = f"writing {audience}/report.pdf and report.docx"
            _write_print_copies(build, page, title, audience, gate)
            step = f"writing {audience}/tables.xlsx"
            _write_xlsx(build, gate)
        for line in commentary_warnings(commentary, executed_by):  # sa_lib/report/commentary.py
            log.warning("warning: %s", line)
        step = "writing manifest.json"
        _write_manifest(staging / "manifest.json", params, source, notebooks, gate)
        step = "swapping the new report in"
        gate.refuse_links(staging)  # nothing that appeared during the run is swapped in
        _swap_in(staging, final, gate)
    except NotebookFailed as exc:
        recorded = journal.finish("failed", error=str(exc), failed_notebook=exc.notebook)
        failed = NotebookFailed(
            f"{exc} The previous report (if any) is unchanged; the failed notebook is kept in "
            f"{area_dir / 'failed' / params.period_slug}. {recorded}")
        failed.notebook, failed.notebooks = exc.notebook, exc.notebooks or (exc.notebook,)
        raise failed from None
    except OutputError as exc:  # the gate refused a path (a link appeared during the run)
        message = (f"{exc} (while {step}). Nothing was swapped in: the previous report in "
                   f"{final} (if any) is unchanged.")
        raise OutputError(f"{message} {journal.finish('failed', error=message)}") from None
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
        try:
            gate.rmtree(staging, ignore_errors=True)
        except OutputError as exc:  # a link planted mid-run: never followed, only reported
            log.warning("the staging folder was not removed: %s", exc)
    # A good run supersedes the record of an earlier failure for the same period.
    try:
        gate.rmtree(area_dir / "failed" / params.period_slug, ignore_errors=True)
    except OutputError as exc:
        log.warning("the record of an earlier failure was not removed: %s", exc)
    timings["total_seconds"] = round(time.perf_counter() - t0, 2)
    recorded = journal.finish("succeeded", timings_seconds=timings)
    if not recorded.startswith("Recorded"):
        log.warning("the report was built, but %s", recorded[0].lower() + recorded[1:])
    reports = [final / audience / "report.html" for audience in AUDIENCES]
    return RunResult(final, reports, timings, journal.path, notes)


#: Set to "0" to skip report.pdf and report.docx (a quicker draft build; ``sa run --no-print``).
PRINT_COPIES_ENV = "SA_PRINT_COPIES"


def _write_print_copies(build: Path, page: str, title: str, audience: str,
                        gate: OutputGate) -> None:
    """``report.pdf`` (A4) and ``report.docx`` (Word) beside ``report.html``, with the marking.

    Skipped when ``$SA_PRINT_COPIES`` is "0" (a draft: printing takes a few seconds a build).
    """
    if os.environ.get(PRINT_COPIES_ENV, "1") == "0":
        return
    gate.write_bytes(build / "report.pdf", report_pdf(page, audience))
    gate.write_bytes(build / "report.docx", report_docx(page, title, audience))


def built_from_name(parameters: str | Path) -> str:
    """How a parameters file is named in the manifest: relative to the project when inside it.

    Examples
    --------
    >>> built_from_name(PROJECT_ROOT / "parameters" / "2025.yaml")
    'parameters/2025.yaml'
    """
    p = Path(parameters)
    return _project_path(p if p.is_absolute() else PROJECT_ROOT / p)


def _refuse_other_parameters(final: Path, source: str) -> None:
    """Refuse to replace a report another parameters file built (a what-if run).

    Reads the previous build's ``manifest.json`` through the outputs gate (no link
    followed); a folder with no readable manifest is not a published report of another
    file, so the run goes on.

    Raises
    ------
    SAError
        Naming both files, the folder and the ways out.
    """
    manifest = final / "manifest.json"
    try:
        path = outputs_gate().check(manifest)
        if not path.is_file():
            return
        previous = json.loads(path.read_text(encoding="utf-8")).get("parameters_file")
    except (OSError, ValueError, AttributeError):
        return
    if not isinstance(previous, str) or previous == source:
        return
    raise SAError(
        f"the report in {final} was built from {previous}, not from {source}; refused (nothing "
        f"was run and that report is unchanged). To replace it, run again with --replace "
        f"(sa run {source} --replace); to keep it, give this file a different area or period "
        "(area.name, window.end or window.months), or build it in a copy of the project or "
        "another outputs folder (SA_OUTPUTS_DIR)")


def _write_manifest(path: Path, params: Parameters, source: str,
                    notebooks: list[NotebookJob], gate: OutputGate) -> None:
    """What the report was built from; no times, so it is the same for the same inputs."""
    manifest = {
        "parameters_file": source,
        "parameters": params.model_dump(mode="json"),
        "area": params.area.name,
        "review_window": params.review_window.label,
        "inputs": _input_files(params),
        "versions": _versions(),
        "notebooks": [job.name for job in notebooks],
    }
    gate.write_text(path, json.dumps(manifest, indent=2, sort_keys=True))


def outputs_gate() -> OutputGate:
    """The gate for the outputs root (``outputs/``, or ``SA_OUTPUTS_DIR``).

    The project's own ``outputs/`` may not be a link: ``SA_OUTPUTS_DIR`` is the
    one way to put reports elsewhere.
    """
    if OUTPUTS_DIR == PROJECT_ROOT / "outputs" and OUTPUTS_DIR.is_symlink():
        raise OutputError(f"{OUTPUTS_DIR} is a symbolic link (to {os.readlink(OUTPUTS_DIR)}); "
                          "reports are never written through a link: remove it, and set "
                          "SA_OUTPUTS_DIR to put reports elsewhere (refused, nothing was touched)")
    return OutputGate(OUTPUTS_DIR)


def _swap_in(staging: Path, final: Path, gate: OutputGate) -> None:
    """Replace the previous report with the new one in two renames.

    A kill between the two renames leaves the previous report in
    ``.previous-<period>-<pid>``; :func:`~sa_lib.run.journal.recover_stale_runs` puts it back.
    """
    old = final.parent / f".previous-{final.name}-{os.getpid()}"
    n = 1
    while os.path.lexists(old):  # left by an earlier process with this pid: never overwritten
        n += 1
        old = final.parent / f".previous-{final.name}.{n}-{os.getpid()}"
    if os.path.lexists(final):
        gate.rename(final, old)
    try:
        gate.rename(staging, final)
    except OSError:
        if old.exists():
            try:
                gate.rename(old, final)  # put the last good report back
            except OSError as exc:
                raise OutputError(
                    f"could not swap the new report into {final}, nor put the previous one "
                    f"back ({_reason(exc)}): the previous report is in {old}; move it back to "
                    f"{final} (the next run also tries)") from None
        raise
    if old.exists():
        gate.rmtree(old, ignore_errors=True)
