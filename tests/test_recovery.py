"""Recovery: a run that fails or is stopped at any point leaves the last good report intact
and a clear record of what happened (issue #6, "Determinism and recovery").

Three kinds of test:

* a full disk, simulated by fault injection (as root, which CI is, ``chmod`` does not stop
  writes): one write at a time raises ``OSError(ENOSPC)``.  To keep these quick the series is
  cut to its first notebook and nothing is executed: ``_run_notebook`` copies the executed
  notebook, tables and charts of the session build instead, and no kernel is started.  Everything after execution (settling
  the notebook, the HTML pages, the report, the workbook, the manifest, the swap, the
  journal) is the real runner code;
* folders left by runs killed outright, planted by hand, cleaned up by the next run;
* the real command line in a subprocess, killed with SIGKILL or stopped with SIGTERM while
  notebook 3 runs (both processes run side by side to keep the test short).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import sa_lib.run.execute as execute
import sa_lib.run.journal as run_journal
import sa_lib.run.runner as runner
from sa_lib.errors import OutputError, SAError
from sa_lib.output_gate import BUILD_MARKER, BUILD_MARKER_TEXT, OutputGate
from sa_lib.paths import PROJECT_ROOT
from sa_lib.run.cli import main
from sa_lib.run.journal import journal_path, read_journal, recover_stale_runs
from sa_lib.run.runner import run_assessment

PARAMETERS = str(PROJECT_ROOT / "parameters" / "2025.yaml")
ENOSPC = OSError(errno.ENOSPC, "No space left on device")


def digest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (relative path) with the sha256 of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(area: Path) -> list[str]:
    """Staging or moved-aside folders a run left in an area folder."""
    return sorted(p.name for p in area.iterdir() if p.name.startswith((".staging-", ".previous-")))


def dead_pid() -> int:
    """The pid of a process that has finished (and been reaped)."""
    probe = subprocess.Popen([sys.executable, "-c", "pass"])
    probe.wait()
    return probe.pid


@pytest.fixture
def previous(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh outputs folder holding a copy of the session build as the last good report;
    ``runner.OUTPUTS_DIR`` points at it.  Returns the report's period folder."""
    out = tmp_path / "outputs"
    report = out / built.parent.name / built.name
    shutil.copytree(built, report)
    monkeypatch.setattr(runner, "OUTPUTS_DIR", out)
    return report


class _NoKernels:
    """Stands in for KernelPool when ``_run_notebook`` does not need a kernel."""

    def __init__(self, size: int) -> None:
        pass

    def acquire(self) -> None:
        return None

    def release(self, km: object, healthy: bool) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.fixture
def copied_execution(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first notebook only, its execution replaced by copying the session build's results
    (see the module docstring)."""

    def copy_executed(job: execute.NotebookJob, out_nb: Path, parameters: dict[str, str],
                      km: object) -> None:
        source = built / parameters["audience"]
        build = Path(parameters["output_dir"])
        for folder in ("tables", "charts"):
            shutil.copytree(source / folder, build / folder, dirs_exist_ok=True)
        shutil.copyfile(source / "notebooks" / job.name, out_nb)

    first = runner.report_notebooks()[:1]
    monkeypatch.setattr(runner, "report_notebooks", lambda: first)
    monkeypatch.setattr(execute, "KernelPool", _NoKernels)
    monkeypatch.setattr(execute, "_run_notebook", copy_executed)


# Every write of a run goes through OutputGate (sa_lib/output_gate.py), so that is where
# the disk fills up.
def _fail_write_text(name: Callable[[str], bool]) -> Callable[..., Path]:
    original = OutputGate.write_text

    def write_text(self: OutputGate, path: Path, *args: object, **kwargs: object) -> Path:
        if name(Path(path).name):
            raise ENOSPC
        return original(self, path, *args, **kwargs)  # type: ignore[arg-type]

    return write_text


def _fail_xlsx(build: Path, gate: OutputGate) -> None:
    gate.write_bytes(build / "tables.xlsx", b"PK\x03\x04 half a workbook")  # disk filled mid-write
    raise ENOSPC


def _fail_staging_rename() -> Callable[..., Path]:
    original = OutputGate.rename

    def rename(self: OutputGate, source: Path, path: Path) -> Path:
        if Path(source).name.startswith(".staging-"):
            raise ENOSPC
        return original(self, source, path)

    return rename


# Where the disk fills up: (what is patched, the replacement, words the message must hold).
FAULTS = {
    "notebook page": (OutputGate, "write_text",
                      lambda: _fail_write_text(lambda n: n.endswith(".html") and n != "report.html"),
                      "executing the notebooks"),
    "report.html": (OutputGate, "write_text", lambda: _fail_write_text(lambda n: n == "report.html"),
                    "writing official/report.html"),
    "tables.xlsx": (runner, "_write_xlsx", lambda: _fail_xlsx, "writing official/tables.xlsx"),
    "manifest.json": (OutputGate, "write_text", lambda: _fail_write_text(lambda n: n == "manifest.json"),
                      "writing manifest.json"),
    "swap": (OutputGate, "rename", _fail_staging_rename, "swapping the new report in"),
}


@pytest.mark.parametrize("point", list(FAULTS))
def test_full_disk_keeps_previous_report_and_records_the_failure(
        point: str, previous: Path, copied_execution: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    target, attr, make, step = FAULTS[point]
    area = previous.parent
    before = digest(previous)
    monkeypatch.setattr(target, attr, make())

    with pytest.raises(OutputError) as err:
        run_assessment(PARAMETERS, workers=2, progress=False)
    message = str(err.value)
    assert f"in {area} while {step}: No space left on device" in message
    assert f"the previous report in {previous} (if any) is unchanged" in message
    assert digest(previous) == before
    assert leftovers(area) == []
    record = read_journal(journal_path(area, previous.name))
    assert record is not None and record["status"] == "failed"
    assert "No space left on device" in record["error"] and step in record["error"]
    assert record["pid"] == os.getpid() and record["finished"]


# A write in a worker thread, and one in the main thread.
@pytest.mark.parametrize("point", ["notebook page", "swap"])
def test_full_disk_from_the_command_line(point: str, previous: Path, copied_execution: None,
                                         monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture) -> None:
    """Exit code 2 and one message naming the folder, no traceback."""
    target, attr, make, _ = FAULTS[point]
    area = previous.parent
    before = digest(previous)
    monkeypatch.setattr(target, attr, make())
    assert main(["run", PARAMETERS, "--workers", "2", "--no-progress"]) == 2
    err_text = capsys.readouterr().err
    assert err_text.count("error:") == 1 and "Traceback" not in err_text
    assert "No space left on device" in err_text and str(area) in err_text
    assert digest(previous) == before and leftovers(area) == []


def test_a_run_that_could_not_record_its_failure_says_so(
        previous: Path, copied_execution: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """The journal is on the same full disk: the error still reaches the user, and says that
    it could not be recorded."""
    writes: list[str] = []
    original = run_journal._write_journal

    def journal_then_full(path: Path, record: dict) -> None:
        writes.append(record["status"])
        if record["status"] != "running":
            raise ENOSPC
        original(path, record)

    monkeypatch.setattr(run_journal, "_write_journal", journal_then_full)
    monkeypatch.setattr(runner, "_write_xlsx", _fail_xlsx)
    before = digest(previous)
    with pytest.raises(OutputError, match="could not be recorded in .*No space left"):
        run_assessment(PARAMETERS, workers=2, progress=False)
    assert writes == ["running", "failed"]
    assert digest(previous) == before and leftovers(previous.parent) == []


def test_success_after_failures_replaces_the_report_and_records_it(
        previous: Path, copied_execution: None) -> None:
    """The harness itself builds a good report (so the failures above are the faults')."""
    result = run_assessment(PARAMETERS, workers=2, progress=False)
    assert result.output_dir == previous
    record = read_journal(journal_path(previous.parent, previous.name))
    assert record is not None and record["status"] == "succeeded"
    assert record["timings_seconds"]["total_seconds"] > 0
    assert result.journal == journal_path(previous.parent, previous.name)
    assert leftovers(previous.parent) == []


@pytest.mark.parametrize("where", ["under a file", "under /proc"])
def test_outputs_folder_that_cannot_be_created(where: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture) -> None:
    if where == "under a file":
        blocker = tmp_path / "not-a-folder"
        blocker.write_text("a file where the outputs folder should be")
        outputs = blocker / "outputs"
    else:
        outputs = Path("/proc/sa-outputs-cannot-be-here")
    monkeypatch.setattr(runner, "OUTPUTS_DIR", outputs)
    with pytest.raises(OutputError, match="cannot create or use the outputs folder") as err:
        run_assessment(PARAMETERS, progress=False)
    assert str(outputs / "maidstone") in str(err.value)
    assert main(["run", PARAMETERS, "--no-progress"]) == 2
    err_text = capsys.readouterr().err
    assert err_text.count("error:") == 1 and "Traceback" not in err_text
    assert str(outputs / "maidstone") in err_text


@pytest.mark.skipif(os.geteuid() == 0, reason="as root, chmod does not stop writes; the "
                    "full-disk tests above inject the failure instead")
def test_read_only_outputs_folder(previous: Path, copied_execution: None) -> None:
    area = previous.parent
    before = digest(previous)
    area.chmod(0o555)
    try:
        with pytest.raises(OutputError, match=str(area)):
            run_assessment(PARAMETERS, workers=2, progress=False)
    finally:
        area.chmod(0o755)
    assert digest(previous) == before and leftovers(area) == []


# Runs killed outright: what the next run finds ----------------------------------------------


def test_next_run_reports_and_cleans_a_run_that_did_not_finish(
        previous: Path, copied_execution: None, caplog: pytest.LogCaptureFixture) -> None:
    area, pid = previous.parent, dead_pid()
    staging = area / f".staging-{previous.name}-{pid}"
    (staging / "official" / "notebooks").mkdir(parents=True)
    (staging / "official" / "notebooks" / "03_themes.ipynb").write_text("{}")
    (staging / BUILD_MARKER).write_text(BUILD_MARKER_TEXT)
    orphan = area / f".staging-2024-01_2024-12-{pid}"  # another period, no journal
    orphan.mkdir()
    (orphan / BUILD_MARKER).write_text(BUILD_MARKER_TEXT)
    journal = journal_path(area, previous.name)
    journal.parent.mkdir()
    journal.write_text(json.dumps({"status": "running", "pid": pid, "host": None,
                                   "started": "2026-12-01T09:00:00+00:00",
                                   "staging": staging.name, "report": previous.name}))

    result = run_assessment(PARAMETERS, workers=2, progress=False)

    assert result.notes == [
        f"the run started at 2026-12-01T09:00:00+00:00 by pid {pid} did not finish; its "
        f"staging folder {staging} was removed",
        f"removed {orphan}, left by a run (pid {pid}) that did not finish"]
    assert all(f"note: {n}" in caplog.text for n in result.notes)
    assert leftovers(area) == []
    record = read_journal(journal)
    assert record is not None and record["status"] == "succeeded"
    assert record["recovered"] == result.notes


def test_previous_report_moved_aside_by_a_killed_swap_is_put_back(previous: Path) -> None:
    """Killed between the two renames of the swap: the old report is in .previous-*."""
    area, pid = previous.parent, dead_pid()
    before = digest(previous)
    aside = area / f".previous-{previous.name}-{pid}"
    previous.rename(aside)
    (area / f".staging-{previous.name}-{pid}").mkdir()
    (area / f".staging-{previous.name}-{pid}" / BUILD_MARKER).write_text(BUILD_MARKER_TEXT)
    notes = recover_stale_runs(area, previous.name)
    assert notes[-1] == (f"a run (pid {pid}) was stopped while swapping its report in; the "
                         f"previous report was put back in {previous}")
    assert digest(previous) == before and leftovers(area) == []


def test_a_run_in_progress_is_not_disturbed(previous: Path) -> None:
    area = previous.parent
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        staging = area / f".staging-{previous.name}-{live.pid}"
        staging.mkdir()
        journal = journal_path(area, previous.name)
        journal.parent.mkdir()
        journal.write_text(json.dumps({
            "status": "running", "pid": live.pid,
            "process_start": run_journal._process_start(live.pid), "host": None, "started": "2026-12-02T09:00:00+00:00", "staging": str(staging),
            "report": str(previous)}))
        with pytest.raises(SAError, match=f"another run \\(pid {live.pid}, started "
                           "2026-12-02T09:00:00\\+00:00\\) is building"):
            recover_stale_runs(area, previous.name)
        assert recover_stale_runs(area, "2024-01_2024-12") == []  # another period may go ahead
        assert staging.exists() and read_journal(journal)["status"] == "running"  # type: ignore[index]
    finally:
        live.kill()
        live.wait()


# The real command line, killed while notebook 3 runs ----------------------------------------


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (the run's kernels), from /proc."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[1] == str(pid):
            out.append(int(stat.parent.name))
    return out


def _wait_until_gone(pids: list[int], seconds: float = 20) -> None:
    """Wait for processes to end (a killed run's kernels notice their parent is gone)."""
    deadline = time.monotonic() + seconds
    while any(run_journal._process_running(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)


@pytest.fixture(scope="module")
def interrupted_runs(built: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """``sa run`` twice side by side, each over a copy of the session build; once notebook 3
    runs, one is killed with SIGKILL (whole process group) and the other gets SIGTERM."""
    runs: dict[str, dict] = {}
    for how in ("SIGKILL", "SIGTERM"):
        out = tmp_path_factory.mktemp(f"outputs_{how}")
        report = out / built.parent.name / built.name
        shutil.copytree(built, report)
        log = out.parent / f"{how}.stderr"
        with log.open("w") as err:
            proc = subprocess.Popen(
                [sys.executable, "-m", "sa_lib.run.cli", "run", "parameters/2025.yaml",
                 "--workers", "1", "--no-progress"],
                cwd=PROJECT_ROOT, env={**os.environ, "SA_OUTPUTS_DIR": str(out)},
                stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        runs[how] = {"report": report, "before": digest(report), "proc": proc, "log": log}
    try:
        for how, run in runs.items():
            proc = run["proc"]
            deadline = time.monotonic() + 180
            while not list(run["report"].parent.glob(".staging-*/*/notebooks/03_*.ipynb")):
                assert proc.poll() is None, f"{how} run ended early: {run['log'].read_text()}"
                assert time.monotonic() < deadline, "notebook 3 never started"
                time.sleep(0.1)
            run["kernels"] = _children(proc.pid)
            if how == "SIGKILL":
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.send_signal(signal.SIGTERM)
            run["code"] = proc.wait(timeout=120)
            run["stderr"] = run["log"].read_text()
        for run in runs.values():
            _wait_until_gone(run["kernels"])
        yield runs
    finally:
        for run in runs.values():
            if run["proc"].poll() is None:
                os.killpg(run["proc"].pid, signal.SIGKILL)
                run["proc"].wait()


def test_sigkill_during_notebook_3_leaves_previous_report_and_a_record(
        interrupted_runs: dict) -> None:
    run = interrupted_runs["SIGKILL"]
    report, pid = run["report"], run["proc"].pid
    assert run["code"] == -signal.SIGKILL
    assert digest(report) == run["before"]
    record = read_journal(journal_path(report.parent, report.name))
    assert record is not None
    assert record["status"] == "running" and record["pid"] == pid and record["finished"] is None
    assert not run_journal._process_running(pid, record["process_start"])
    assert leftovers(report.parent) == [f".staging-{report.name}-{pid}"]

    # What the next run does first: report the run, remove its staging folder.
    notes = recover_stale_runs(report.parent, report.name)
    staging = report.parent / f".staging-{report.name}-{pid}"
    assert notes == [f"the run started at {record['started']} by pid {pid} did not finish; "
                     f"its staging folder {staging} was removed"]
    after = read_journal(journal_path(report.parent, report.name))
    assert after is not None and after["status"] == "did not finish" and after["error"] == notes[0]
    assert leftovers(report.parent) == []
    assert digest(report) == run["before"]


def test_sigterm_during_notebook_3_stops_cleanly_with_one_message(interrupted_runs: dict) -> None:
    run = interrupted_runs["SIGTERM"]
    report = run["report"]
    assert run["code"] == 128 + signal.SIGTERM
    errors = [line for line in run["stderr"].splitlines() if line.startswith("error:")]
    assert len(errors) == 1, run["stderr"]
    assert errors[0].startswith("error: the run was interrupted by SIGTERM while executing the "
                                "notebooks; nothing was swapped in")
    assert "Traceback" not in run["stderr"]
    assert digest(report) == run["before"]
    record = read_journal(journal_path(report.parent, report.name))
    assert record is not None and record["status"] == "interrupted" and record["finished"]
    assert record["error"] in errors[0]
    assert leftovers(report.parent) == []
    assert not any(run_journal._process_running(k) for k in run["kernels"]), \
        "a kernel was left running"
