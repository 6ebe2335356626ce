"""The run journal, and recovery from runs that did not finish.

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
reported (a logged warning, and :attr:`sa_lib.run.runner.RunResult.notes`).
A run of the same period whose process is still running is never disturbed:
the new run is refused.  The outputs folder is assumed to be used from one
machine.

Whether the process that wrote a journal still runs (and is the same process,
not a reused pid) is read from ``/proc`` on Linux; without ``/proc`` a pid that
exists is taken to be running, and on Windows any pid is.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sa_lib.errors import SAError
from sa_lib.output_gate import BUILD_MARKER, OutputGate

__all__ = ["journal_path", "read_journal", "recover_stale_runs"]

log = logging.getLogger(__name__)
_MAX_JOURNAL_BYTES = 1 << 20


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
        if path.stat().st_size > _MAX_JOURNAL_BYTES:  # a journal is a few kB; this is not one
            return None
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):  # unreadable, not JSON, absurdly nested
        return None
    return record if isinstance(record, dict) else None


def _write_journal(path: Path, record: dict[str, Any]) -> None:
    """Write a journal atomically, so a kill never leaves half a record."""
    import threading

    gate = OutputGate(path.parent.parent)  # the area folder
    gate.mkdir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        gate.write_text(tmp, json.dumps(record, indent=2, sort_keys=True) + "\n")
        gate.replace(tmp, path)
    except BaseException:
        try:
            gate.unlink(tmp)
        except (OSError, SAError):
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
    processes that still run are left alone.
    :func:`sa_lib.run.runner.run_assessment` calls it first.

    A journal is a record, not an instruction: a recorded staging folder is
    removed only when it is a plain name inside ``area_dir`` and a folder this
    program made (it holds :data:`~sa_lib.output_gate.BUILD_MARKER`).  A journal
    naming anything else (an absolute path, one that leaves the area folder, a
    link, a folder without the marker), or one that cannot be read, is reported,
    what it names is left alone, and the journal is set aside
    (``runs/<period>.json.set-aside-<time>``).  Every delete and rename goes
    through the area folder's :class:`~sa_lib.output_gate.OutputGate`.

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
    if not area_dir.is_dir() or area_dir.is_symlink():
        return notes
    gate = OutputGate(area_dir)
    runs = area_dir / "runs"
    journals = sorted(runs.glob("*.json")) if runs.is_dir() and not runs.is_symlink() else []
    for path in journals:
        if path.is_symlink():
            continue
        record = read_journal(path)
        if record is None:
            if path.stat().st_size:  # an empty file is a write that never happened
                notes.append(_set_aside(gate, path, "it could not be read as a run journal"))
            continue
        pid = record.get("pid")
        if record.get("status") != "running" or record.get("host") not in (None, platform.node()):
            continue
        if not _plausible_pid(pid):
            notes.append(_set_aside(gate, path, f"its pid {str(pid)[:40]!r} is not a process id"))
            continue
        if pid == os.getpid():
            continue
        if _process_running(pid, record.get("process_start")):
            if path.stem == period:
                raise SAError(f"another run (pid {pid}, started {record.get('started')}) is "
                              f"building {record.get('report')} now; wait for it to finish "
                              "(or stop it), then run again")
            continue
        note = f"the run started at {record.get('started')} by pid {pid} did not finish"
        named = record.get("staging")
        staging = _own_folder(area_dir, named)
        if named and staging is None:
            notes.append(_set_aside(gate, path, f"{note}; it names {str(named)[:300]!r} as its "
                                    "staging folder, which is not a folder this program made in "
                                    f"{area_dir}, so it was left alone"))
            continue
        if staging is not None and gate.is_marked_build(staging):
            gate.rmtree(staging, ignore_errors=True)
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
        if pid is None or not _plausible_pid(pid) or pid == os.getpid() \
                or _process_running(pid) or not folder.exists():
            continue
        if folder.is_symlink() or not folder.is_dir():
            notes.append(f"left {folder} alone: it is a link or a file, not a folder this "
                         "program made")
            continue
        if folder.name.startswith(".previous-"):
            # ".previous-<period>[.<n>]-<pid>" (see sa_lib.run.runner._swap_in)
            target = area_dir / re.sub(r"\.\d+$", "", folder.name[len(".previous-"):]
                                        .rsplit("-", 1)[0])
            if not os.path.lexists(target):
                gate.rename(folder, target)
                notes.append(f"a run (pid {pid}) was stopped while swapping its report in; the "
                             f"previous report was put back in {target}")
                continue
        if not gate.is_marked_build(folder):
            notes.append(f"left {folder} alone: it has no {BUILD_MARKER} marker, so this program "
                         "did not make it")
            continue
        gate.rmtree(folder, ignore_errors=True)
        if not any(str(folder) in n for n in notes):
            notes.append(f"removed {folder}, left by a run (pid {pid}) that did not finish")
    for note in notes:
        log.warning("note: %s", note)
    return notes


def _plausible_pid(pid: object) -> bool:
    """A process id the system could have given (Linux caps them at 2**22)."""
    return isinstance(pid, int) and not isinstance(pid, bool) and 0 < pid < 2 ** 31


def _own_folder(area_dir: Path, named: object) -> Path | None:
    """The staging folder a journal names, if it is a plain ``.staging-*`` name in ``area_dir``."""
    if not isinstance(named, str) or not named.startswith(".staging-") or "/" in named \
            or "\\" in named or named in (".", "..") or ".." in named:
        return None
    folder = area_dir / named
    if folder.is_symlink():
        return None
    return folder if not folder.exists() or OutputGate(area_dir).is_marked_build(folder) else None


def _set_aside(gate: OutputGate, path: Path, why: str) -> str:
    """Move a journal that is not a trustworthy record out of the way; say so."""
    aside = path.with_name(f"{path.name}.set-aside-{datetime.now(UTC):%Y%m%dT%H%M%S%f}")
    try:
        gate.rename(path, aside)
        where = f"set aside as {aside}"
    except (OSError, SAError) as exc:
        where = f"could not be set aside ({exc})"
    return f"the run journal {path} was not trusted ({why}); it was {where}"


def _reason(exc: OSError) -> str:
    """An OSError in words, with the file it concerns when known."""
    text = exc.strerror or str(exc) or type(exc).__name__
    return f"{text} ({exc.filename})" if exc.filename else text
