"""A run never writes or deletes anything outside its outputs folder (issue #20).

Planted links at every level of ``outputs/``, links into a data folder and out
of the project, journals naming folders elsewhere, corrupt journals, and runs
that succeed, fail and recover.  After each, every byte outside the outputs
root (a stand-in data folder and a colleague's folder, both real folders in
the test's temporary directory, never the project's own ``data/``) is
unchanged, and so is the last good report.  Notebook execution is replaced by
copying the session build's results, as in ``tests/test_recovery.py``.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest

import sa_lib.run.runner as runner
from sa_lib.errors import OutputError
from sa_lib.output_gate import BUILD_MARKER, BUILD_MARKER_TEXT, OutputGate
from sa_lib.paths import PROJECT_ROOT
from sa_lib.run.cli import main
from sa_lib.run.journal import journal_path, read_journal, recover_stale_runs
from tests.test_recovery import PARAMETERS, copied_execution, dead_pid, previous  # noqa: F401

PERIOD = "2025-01_2025-12"


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry under ``folder``, links not followed: file digests, link targets, folders."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            key = str(p.relative_to(folder))
            if p.is_symlink():
                out[key] = "link -> " + os.readlink(p)
            elif p.is_dir():
                out[key] = "folder"
            else:
                out[key] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


@pytest.fixture
def elsewhere(tmp_path: Path) -> dict[str, Path]:
    """Folders outside the outputs root: a data folder and a colleague's files."""
    data = tmp_path / "project_data"
    (data / "police_uk").mkdir(parents=True)
    (data / "police_uk" / "2025-01-kent-street.csv").write_text("Crime ID,Month\n1,2025-01\n")
    (data / "README.md").write_text("raw data, read-only\n")
    colleague = tmp_path / "colleague"
    (colleague / "official").mkdir(parents=True)
    (colleague / "official" / "report.html").write_text("<p>their report</p>")
    (colleague / "notes.txt").write_text("do not delete")
    (colleague / BUILD_MARKER).write_text(BUILD_MARKER_TEXT)  # even a marker does not invite
    return {"data": data, "colleague": colleague}


def run_cli(capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["run", PARAMETERS, "--no-progress", "--workers", "1"])
    return code, capsys.readouterr().err


def _plant(previous: Path, level: str, target: Path) -> Path:  # noqa: F811
    """Put a link at ``level`` of the outputs folder; returns the link's path."""
    area = previous.parent
    if level == "area":
        moved = target / "area_copy"
        shutil.move(str(area), moved)
        link = area
    elif level == "period":
        shutil.rmtree(previous)
        link = previous
    elif level in ("official", "public"):
        shutil.rmtree(previous / level)
        link = previous / level
    elif level == "tables":
        shutil.rmtree(previous / "official" / "tables")
        link = previous / "official" / "tables"
    elif level in ("runs", "failed"):
        link = area / level
    elif level == "journal":
        (area / "runs").mkdir()
        link = journal_path(area, PERIOD)
        target = target / "notes.txt"
    elif level == "failed period":
        (area / "failed").mkdir()
        link = area / "failed" / PERIOD
    elif level in ("staging", "previous"):
        link = area / f".{level}-{PERIOD}-{dead_pid()}"
    else:  # pragma: no cover - the parametrisation names every level
        raise AssertionError(level)
    link.symlink_to(target, target_is_directory=target.is_dir())
    return link


LEVELS = ["area", "period", "official", "public", "tables", "runs", "journal", "failed",
          "failed period", "staging", "previous"]


@pytest.mark.parametrize("into", ["data", "colleague"])
@pytest.mark.parametrize("level", LEVELS)
def test_a_link_at_any_level_is_refused_and_nothing_outside_changes(
        level: str, into: str, previous: Path, copied_execution: None,  # noqa: F811
        elsewhere: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    link = _plant(previous, level, elsewhere[into])
    before = {k: snapshot(v) for k, v in elsewhere.items()}
    report_before = snapshot(previous) if level not in ("area", "period") else None

    code, err = run_cli(capsys)

    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err and "symbolic link" in err and str(link) in err, err
    assert {k: snapshot(v) for k, v in elsewhere.items()} == before
    assert link.is_symlink()  # reported, not removed, not followed
    if report_before is not None:
        assert snapshot(previous) == report_before


def test_the_projects_outputs_folder_may_not_be_a_link(
        tmp_path: Path, elsewhere: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "outputs").symlink_to(elsewhere["colleague"], target_is_directory=True)
    monkeypatch.setattr(runner, "PROJECT_ROOT", project)
    monkeypatch.setattr(runner, "OUTPUTS_DIR", project / "outputs")
    before = snapshot(elsewhere["colleague"])
    code, err = run_cli(capsys)
    assert code == 2 and "SA_OUTPUTS_DIR" in err and len(err.strip().splitlines()) == 1, err
    assert snapshot(elsewhere["colleague"]) == before


# Journals are records, not instructions -------------------------------------------------------


def _journal(previous: Path, **fields: object) -> Path:  # noqa: F811
    path = journal_path(previous.parent, PERIOD)
    path.parent.mkdir(exist_ok=True)
    record = {"status": "running", "pid": dead_pid(), "host": None,
              "started": "2026-12-01T09:00:00+00:00", "report": PERIOD} | fields
    path.write_text(json.dumps(record))
    return path


@pytest.mark.parametrize("named", [
    "absolute data", "absolute colleague", "relative escape", "unmarked in area", "not a string"])
def test_a_journal_naming_a_folder_it_did_not_make_is_set_aside_and_the_run_goes_on(
        named: str, previous: Path, copied_execution: None,  # noqa: F811
        elsewhere: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    area = previous.parent
    unmarked = area / f".staging-{PERIOD}-{dead_pid()}"
    staging: object = {
        "absolute data": str(elsewhere["data"]),
        "absolute colleague": str(elsewhere["colleague"]),
        "relative escape": f"../../{elsewhere['colleague'].name}",
        "unmarked in area": unmarked.name,
        "not a string": ["/", "etc"],
    }[named]
    if named == "unmarked in area":
        unmarked.mkdir()
        (unmarked / "precious.txt").write_text("someone's work")
    journal = _journal(previous, staging=staging)
    before = {k: snapshot(v) for k, v in elsewhere.items()}

    code, err = run_cli(capsys)

    assert code == 0, err
    assert {k: snapshot(v) for k, v in elsewhere.items()} == before
    aside = sorted(journal.parent.glob(f"{journal.name}.set-aside-*"))
    assert len(aside) == 1 and json.loads(aside[0].read_text())["staging"] == staging
    record = read_journal(journal)
    assert record is not None and record["status"] == "succeeded"
    assert any("not trusted" in n for n in record["recovered"])
    if named == "unmarked in area":
        assert (unmarked / "precious.txt").read_text() == "someone's work"


@pytest.mark.parametrize("content", ["{not json", '{"status": "running", "pid": 1e400}',
                                     '{"status": "running", "pid": 99999999999999999999999}',
                                     '{"status": "running", "pid": -5}', "[1, 2, 3]",
                                     "[" * 100_000 + "]" * 100_000,
                                     '{"status": "running", "pid": true, "staging": 7}'])
def test_a_corrupt_or_absurd_journal_is_set_aside_without_a_traceback(
        content: str, previous: Path, copied_execution: None,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    journal = journal_path(previous.parent, PERIOD)
    journal.parent.mkdir()
    journal.write_text(content)
    code, err = run_cli(capsys)
    assert code == 0 and "Traceback" not in err, err
    record = read_journal(journal)
    assert record is not None and record["status"] == "succeeded"


def test_the_journal_records_paths_relative_to_the_area_folder(
        previous: Path, copied_execution: None) -> None:  # noqa: F811
    runner.run_assessment(PARAMETERS, workers=1, progress=False)
    record = read_journal(journal_path(previous.parent, PERIOD))
    assert record is not None
    assert record["report"] == PERIOD and record["staging"].startswith(f".staging-{PERIOD}-")
    assert not Path(record["staging"]).is_absolute() and "/" not in record["staging"]


def test_recovery_removes_only_marked_folders_and_never_follows_links(
        previous: Path, elsewhere: dict[str, Path]) -> None:  # noqa: F811
    area = previous.parent
    pid = dead_pid()
    mine = area / f".staging-2024-01_2024-12-{pid}"
    (mine / "official").mkdir(parents=True)
    (mine / BUILD_MARKER).write_text(BUILD_MARKER_TEXT)
    (mine / "official" / "into_data").symlink_to(elsewhere["data"], target_is_directory=True)
    theirs = area / f".staging-2023-01_2023-12-{pid}"
    theirs.mkdir()
    before = {k: snapshot(v) for k, v in elsewhere.items()}
    notes = recover_stale_runs(area)
    assert not mine.exists() and theirs.exists()
    assert any("left" in n and str(theirs) in n for n in notes)
    assert {k: snapshot(v) for k, v in elsewhere.items()} == before


def test_a_link_that_appears_during_a_run_is_never_swapped_in(
        previous: Path, copied_execution: None, elsewhere: dict[str, Path],  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> None:
    import sa_lib.run.execute as execute

    copy = execute._run_notebook

    def copy_then_plant(job: object, out_nb: Path, parameters: dict[str, str], km: object) -> None:
        copy(job, out_nb, parameters, km)  # type: ignore[arg-type]
        (Path(parameters["output_dir"]) / "charts" / "extra").symlink_to(
            elsewhere["colleague"], target_is_directory=True)

    monkeypatch.setattr(execute, "_run_notebook", copy_then_plant)
    report_before = snapshot(previous)
    before = {k: snapshot(v) for k, v in elsewhere.items()}
    with pytest.raises(OutputError, match="symbolic link"):
        runner.run_assessment(PARAMETERS, workers=1, progress=False)
    assert snapshot(previous) == report_before
    assert {k: snapshot(v) for k, v in elsewhere.items()} == before
    assert not list(previous.parent.glob(".staging-*"))


# The gate itself ---------------------------------------------------------------------------


def test_the_gate_refuses_paths_outside_and_links_inside(tmp_path: Path) -> None:
    root = tmp_path / "outputs"
    gate = OutputGate(root)
    gate.mkdir(root / "area")
    (root / "area" / "link").symlink_to(tmp_path, target_is_directory=True)
    for bad in (tmp_path / "x.txt", root / ".." / "x.txt", root / "area" / "link" / "x.txt"):
        with pytest.raises(OutputError):
            gate.write_text(bad, "no")
        with pytest.raises(OutputError):
            gate.rmtree(bad)
    with pytest.raises(OutputError):
        gate.unlink(root / "area" / "link")
    with pytest.raises(OutputError):
        gate.rmtree(root)
    assert not (tmp_path / "x.txt").exists() and (root / "area" / "link").is_symlink()
    (root / "file").symlink_to(tmp_path / "target.txt")
    with pytest.raises(OutputError):  # the last part may not be a link either (O_NOFOLLOW)
        gate.write_text(root / "file", "no")
    assert not (tmp_path / "target.txt").exists()


def test_the_root_may_be_a_link_chosen_on_purpose(tmp_path: Path) -> None:
    real = tmp_path / "shared_drive"
    real.mkdir()
    (tmp_path / "outputs").symlink_to(real, target_is_directory=True)
    gate = OutputGate(tmp_path / "outputs")
    gate.write_text(tmp_path / "outputs" / "a" / "b.txt", "ok")
    assert (real / "a" / "b.txt").read_text() == "ok"


# Static: no writer under the outputs root bypasses the gate ------------------------------------

#: Modules that write, but never under the outputs root, and why.
WRITE_ELSEWHERE = {
    "sa_lib/output_gate.py": "the gate itself",
    "sa_lib/data/police_uk_cache.py": "the parsed-file cache in .cache/ (SA_CACHE_DIR)",
    "sa_lib/data/synthetic.py": "sa synth --out DIR",
    "sa_lib/data/partner_templates.py": "the partner templates in data/templates",
    "sa_lib/data/new_year.py": "sa new-year writes a parameters file",
    "sa_lib/data/police_uk_fetch.py": "sa fetch writes street files into data/police_uk/<force>",
    "sa_lib/data/police_uk_remote.py": "sa fetch: a whole archive's download in .cache/",
    "sa_lib/data/init_parameters.py": "sa init writes a parameters file",
    "sa_lib/data/commentary_files.py": "sa init / sa new-year: the commentary skeleton beside "
                                        "the parameters file",
    "sa_lib/run/batch.py": "per-area parameters files in a temporary folder",
    "sa_lib/report/charts/base.py": "Chart.save(path), for an analyst in JupyterLab",
}
#: Path methods that create, write, rename or delete.
PATH_WRITES = {"write_text", "write_bytes", "unlink", "rmdir", "mkdir", "touch", "symlink_to",
               "hardlink_to"}
#: shutil and os functions that do.
SHUTIL_WRITES = {"rmtree", "copy", "copy2", "copyfile", "copytree", "move", "copyfileobj"}
OS_WRITES = {"open", "replace", "rename", "unlink", "remove", "rmdir", "makedirs", "mkdir",
             "symlink", "link", "truncate"}
#: Calls that write to their first argument unless it is an open file from the gate.
WRITES_TO_FIRST = {"to_csv", "to_excel", "to_json", "to_parquet", "ExcelWriter", "savefig"}


def _bypasses(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        name = f.attr if isinstance(f, ast.Attribute) else f.id if isinstance(f, ast.Name) else ""
        owner = f.value.id if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) \
            else ""
        receiver = f.value if isinstance(f, ast.Attribute) else None
        if owner.endswith("gate") or (  # gate.x(), self._gate.x(), OutputGate(root).x()
                isinstance(receiver, ast.Attribute) and receiver.attr.endswith("gate")) or (
                isinstance(receiver, ast.Call) and isinstance(receiver.func, ast.Name)
                and receiver.func.id == "OutputGate"):
            continue
        mode = [a.value for a in node.args[1:2] if isinstance(a, ast.Constant)] + \
            [k.value.value for k in node.keywords if k.arg == "mode"
             and isinstance(k.value, ast.Constant)]
        first_is_handle = bool(node.args) and isinstance(node.args[0], ast.Name)
        where = f"{path}:{node.lineno}"
        if owner == "shutil" and name in SHUTIL_WRITES:
            found.append(f"{where} {name}()")
        elif owner == "os" and name in OS_WRITES:
            found.append(f"{where} os.{name}()")
        elif name in PATH_WRITES and owner not in ("os", "shutil"):
            found.append(f"{where} {name}()")
        elif name in ("replace", "rename") and len(node.args) == 1 and not node.keywords \
                and owner not in ("os",) and not (isinstance(node.args[0], ast.Constant)
                                                  and isinstance(node.args[0].value, str)):
            # Path.replace/rename(target), not str.replace(a, b) or Series.rename("name")
            found.append(f"{where} {name}()")
        elif name in WRITES_TO_FIRST and not first_is_handle:
            found.append(f"{where} {name}() to a path")
        elif name in ("open", "ZipFile") and any(set(str(m)) & set("wax+") for m in mode) \
                and not (name == "ZipFile" and first_is_handle):
            found.append(f"{where} {name}(mode={mode[0]!r})")
        elif owner == "nbformat" and name == "write" and not (
                len(node.args) > 1 and isinstance(node.args[1], ast.Name)):
            found.append(f"{where} nbformat.write() to a path")
    return found


def test_no_writer_under_the_outputs_root_bypasses_the_gate() -> None:
    modules = sorted((PROJECT_ROOT / "sa_lib").rglob("*.py"))
    found = [b for p in modules if str(p.relative_to(PROJECT_ROOT)) not in WRITE_ELSEWHERE
             for b in _bypasses(p)]
    assert found == []


def test_the_bypass_check_can_fail(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os, shutil\n"
                   "def f(p, df):\n"
                   "    p.write_text('x')\n"
                   "    shutil.rmtree(p)\n"
                   "    os.replace(p, p)\n"
                   "    p.replace(p)\n"
                   "    df.to_csv(p / 'x.csv')\n"
                   "    open(p, 'w')\n"
                   "    'a'.replace('a', 'b')\n"
                   "    gate.write_text(p, 'x')\n")
    assert [b.split(" ", 1)[1] for b in _bypasses(bad)] == [
        "write_text()", "rmtree()", "os.replace()", "replace()", "to_csv() to a path",
        "open(mode='w')"]


def test_a_hard_link_in_the_outputs_folder_is_replaced_not_written_through(
        tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    data.write_text("raw,data\n")
    root = tmp_path / "outputs"
    gate = OutputGate(root)
    gate.mkdir(root / "area" / "failed")
    os.link(data, root / "area" / "failed" / "03_themes.ipynb")
    gate.write_text(root / "area" / "failed" / "03_themes.ipynb", "{}")
    assert data.read_text() == "raw,data\n"
    assert (root / "area" / "failed" / "03_themes.ipynb").read_text() == "{}"


def test_a_failed_run_keeps_its_notebook_only_inside_the_outputs_folder(
        previous: Path, copied_execution: None, elsewhere: dict[str, Path],  # noqa: F811
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """A link that appears in failed/ while the notebooks run is never written through."""
    from papermill.exceptions import PapermillExecutionError

    import sa_lib.run.execute as execute

    copy = execute._run_notebook

    def copy_plant_and_fail(job: object, out_nb: Path, parameters: dict[str, str],
                            km: object) -> None:
        copy(job, out_nb, parameters, km)  # type: ignore[arg-type]
        failed = previous.parent / "failed"
        if not failed.exists():
            failed.symlink_to(elsewhere["colleague"], target_is_directory=True)
        raise PapermillExecutionError(0, 1, "1/0", "ZeroDivisionError", "division by zero", [])

    monkeypatch.setattr(execute, "_run_notebook", copy_plant_and_fail)
    report_before = snapshot(previous)
    before = {k: snapshot(v) for k, v in elsewhere.items()}
    code, err = run_cli(capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert snapshot(previous) == report_before
    assert {k: snapshot(v) for k, v in elsewhere.items()} == before
    assert not list(previous.parent.glob(".staging-*"))
