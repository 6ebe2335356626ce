"""Executing the notebooks of a build: papermill on a pool of reused kernels.

Each notebook is executed with papermill on one of a few long-lived ``python3``
kernels (:class:`KernelPool`), its executed copy is settled (timings, random ids
and the staging folder's path removed, so the same inputs give the same file),
and its HTML page is written.  A notebook that fails raises
:class:`NotebookFailed`, naming the notebook and the cell; its executed copy is
kept for inspection.  :func:`sa_lib.run.runner.run_assessment` drives this for
both builds.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import nbformat

from sa_lib.errors import OutputError, SAError
from sa_lib.output_gate import OutputGate
from sa_lib.paths import NOTEBOOKS_DIR
from sa_lib.report.html import notebook_html
from sa_lib.run.journal import _reason

__all__ = ["NotebookFailed", "NotebookJob"]

T = TypeVar("T")
KERNEL = "python3"
CELL_TIMEOUT = 600
# How long a stopped run waits for its notebooks to notice their kernels are gone.
STOP_WAIT = 15.0
log = logging.getLogger(__name__)


class NotebookFailed(SAError):
    """A notebook raised an error; the message names the notebook and the cell.

    ``notebook`` is the failed notebook as ``"<audience>/<file name>"`` when known (the
    first in report order when several failed); ``notebooks`` lists every one.
    """

    notebook: str | None = None
    notebooks: tuple[str, ...] = ()


@dataclass(frozen=True)
class NotebookJob:
    """One execution of a notebook: its source and the executed file's name."""

    source: Path
    name: str
    parameters: tuple[tuple[str, str], ...] = ()


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
        # The kernel's own stderr is log noise for an analyst (ipykernel warns on every start
        # that its local TCP sockets are unencrypted); notebook errors come over its channels.
        _in_fresh_thread(lambda: km.start_kernel(cwd=str(NOTEBOOKS_DIR),
                                                 stderr=subprocess.DEVNULL))
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

    # papermill's ``cwd`` changes the whole process's working folder for the run, which
    # races between worker threads (a run could leave the caller in notebooks/): pooled
    # kernels already start in NOTEBOOKS_DIR, so it is passed only for a kernel of its own.
    pm.execute_notebook(
        str(job.source), str(out_nb), parameters=parameters,
        kernel_name=KERNEL, progress_bar=False,
        execution_timeout=CELL_TIMEOUT, start_timeout=120, log_output=False,
        **({"km": km} if km is not None else {"cwd": str(NOTEBOOKS_DIR)}),
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
    OutputGate(final_dir.parent.parent).check(out_nb)  # papermill writes it: no link on the way
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
    OutputGate(final_dir.parent.parent).write_text(build_dir / f"{out_nb.stem}.html",
                                                   notebook_html(out_nb, built=built))
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
    # The staging folder sits in the area folder beside the final report.
    with OutputGate(final_dir.parent.parent).open(path, "w", encoding="utf-8") as fh:
        nbformat.write(nb, fh)


# Longest first, so the last worker is not left alone with the slowest notebook.
_ORDER = ("03", "02", "05", "06", "04", "01")


def _job_order(job: NotebookJob) -> int:
    prefix = job.name[:2]
    return _ORDER.index(prefix) if prefix in _ORDER else len(_ORDER)


def _execute_all(jobs: list[tuple[NotebookJob, Path, str, Path]], params_file: Path,
                 final: Path, built: datetime, workers: int | None, progress: bool,
                 failed_dir: Path) -> dict[str, float]:
    """Execute every notebook of both builds; seconds per notebook.

    A notebook failure lets the other notebooks finish (so every failure is
    kept under ``failed_dir``) and then raises one :class:`NotebookFailed` naming every
    failed notebook and its cell (``exc.notebook`` is the first in report order).  Anything else (a
    write error, Ctrl-C, SIGTERM) stops at once: queued notebooks are dropped
    and the kernels shut down, which ends the running notebooks within seconds.
    """
    timings: dict[str, float] = {}
    n_workers = workers or os.cpu_count() or 1
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), desc="notebooks", unit="nb", file=sys.stderr)
    failures: list[NotebookFailed] = []
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
                exc.notebook = f"{aud}/{nb.name}"
                failures.append(exc)
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
    if failures:
        raise _all_failed(failures)
    return timings


def _all_failed(failures: list[NotebookFailed]) -> NotebookFailed:
    """One error naming every failed notebook, in report order (official build first).

    ``notebook`` is the first of them, as before, for callers that name one.
    """
    ordered = sorted(failures, key=lambda f: (str(f.notebook).split("/")[0] != "official",
                                              str(f.notebook).split("/")[-1]))
    if len(ordered) == 1:
        return ordered[0]
    message = (f"{len(ordered)} notebooks failed: "
               + "; ".join(f"({i}) {f}" for i, f in enumerate(ordered, 1)) + ".")
    combined = NotebookFailed(message)
    combined.notebook = ordered[0].notebook
    combined.notebooks = tuple(str(f.notebook) for f in ordered)
    return combined


def _join_workers(pool: ThreadPoolExecutor, seconds: float) -> bool:
    """Wait up to ``seconds`` for the pool's threads to end; True when they all have."""
    deadline = time.monotonic() + seconds
    for thread in list(getattr(pool, "_threads", ())):  # the executor keeps no public list
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    return not any(t.is_alive() for t in getattr(pool, "_threads", ()))


def _keep_failed(executed: Path, folder: Path) -> None:
    """Copy a failed executed notebook where the analyst can open it (best effort).

    ``folder`` is ``<area>/failed/<period>/<audience>``; the copy goes through the
    area folder's :class:`~sa_lib.output_gate.OutputGate`.
    """
    gate = OutputGate(folder.parent.parent.parent)
    try:
        gate.mkdir(folder)
        if executed.exists():
            gate.copy(executed, folder / executed.name)
    except OutputError as exc:  # a link planted in failed/: say so, keep the notebook's error
        log.warning("did not keep the failed notebook %s: %s", executed.name, exc)
    except OSError as exc:  # a full disk must not hide the notebook's own error
        log.warning("could not keep the failed notebook %s in %s: %s", executed.name, folder,
                    _reason(exc))
