"""Determinism: two runs on the same inputs give the same files, byte for byte, except the one
documented "built" line of each HTML page (issue #6, "Determinism and recovery").

Run 1 is the session build (``built`` in conftest.py); run 2 builds the same parameters into
another outputs folder.  The executed notebooks name the folder they were built into (the
``output_dir`` parameter), so they are compared with each run's outputs folder replaced by
one placeholder; built into the same folder they are byte-identical.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nbformat
import pytest

import sa_lib.run.journal as journal_module
import sa_lib.run.runner as runner
from sa_lib.report.html import BUILT_LINE, built_line, without_built_line

IDENTICAL = {".csv", ".xlsx", ".png", ".json"}


def files(build: Path) -> list[str]:
    return sorted(str(p.relative_to(build)) for p in build.rglob("*") if p.is_file())


@pytest.fixture(scope="module")
def second(built: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, datetime,
                                                                             datetime]:
    """The bundled report built again into a fresh outputs folder, with the time around it."""
    out = tmp_path_factory.mktemp("outputs_again")
    mp = pytest.MonkeyPatch()
    mp.setattr(runner, "OUTPUTS_DIR", out)
    mp.delenv("SOURCE_DATE_EPOCH", raising=False)
    mp.setenv(runner.PRINT_COPIES_ENV, "1")  # the same files as the session build
    start = datetime.now(UTC)
    try:
        folder = runner.run_assessment("parameters/2025.yaml", progress=False).output_dir
    finally:
        mp.undo()
    return folder, start, datetime.now(UTC)


def test_same_files(built: Path, second: tuple[Path, datetime, datetime]) -> None:
    names = files(built)
    assert names == files(second[0])
    suffixes = {Path(n).suffix for n in names}
    # report.pdf and report.docx print report.html, whose only difference between runs is the
    # documented built line (checked below), so they are compared through it.
    assert suffixes == IDENTICAL | {".html", ".ipynb", ".pdf", ".docx"}, (
        f"a kind of file this test ignores: {suffixes}")


def test_tables_workbooks_charts_and_manifest_are_byte_identical(
        built: Path, second: tuple[Path, datetime, datetime]) -> None:
    compared = [n for n in files(built) if Path(n).suffix in IDENTICAL]
    assert {Path(n).suffix for n in compared} == IDENTICAL and len(compared) > 100
    differ = [n for n in compared if (built / n).read_bytes() != (second[0] / n).read_bytes()]
    assert not differ, f"not byte-identical between two runs: {differ}"


def test_html_differs_only_in_the_built_line(built: Path,
                                             second: tuple[Path, datetime, datetime]) -> None:
    folder, start, end = second
    pages = [n for n in files(built) if n.endswith(".html")]
    assert len(pages) == 14  # report.html and six notebook pages, per audience
    for name in pages:
        first, again = (built / name).read_text("utf-8"), (folder / name).read_text("utf-8")
        for page in (first, again):
            assert len(BUILT_LINE.findall(page)) == 1, f"{name}: one built line expected"
        assert without_built_line(first) == without_built_line(again), \
            f"{name} differs between two runs in more than its built line"
        when = datetime.strptime(BUILT_LINE.search(again).group(0),  # type: ignore[union-attr]
                                 '<p class="sa-built">Built %Y-%m-%d %H:%M UTC</p>\n')
        assert start - timedelta(minutes=1) <= when.replace(tzinfo=UTC) <= end, \
            f"{name}: the built line is not the time of the build"


def test_executed_notebooks_are_identical_but_for_the_outputs_folder(
        built: Path, second: tuple[Path, datetime, datetime]) -> None:
    folder = second[0]
    roots = (str(built.parent.parent), str(folder.parent.parent))
    notebooks = [n for n in files(built) if n.endswith(".ipynb")]
    assert len(notebooks) == 12
    for name in notebooks:
        first = (built / name).read_text("utf-8").replace(roots[0], "<outputs>")
        again = (folder / name).read_text("utf-8").replace(roots[1], "<outputs>")
        assert first == again, f"{name} differs between two runs"
        # Nothing volatile is left, and the notebook names where its tables now are.
        assert not re.search(r'"(start_time|end_time|duration|iopub\.[a-z_.]+)"', first), name
        assert ".staging-" not in first, name
        nb = nbformat.reads(first, as_version=4)
        audience = name.split("/")[0]
        assert nb.metadata.papermill.parameters.output_dir == f"<outputs>/maidstone/" \
            f"{built.name}/{audience}"
        injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
        assert len(injected) == 1 and injected[0].id == "injected-parameters"
        # Counted from 1 whichever reused kernel ran the notebook, and after what.
        counts = [c.execution_count for c in nb.cells
                  if c.cell_type == "code" and c.execution_count is not None]
        assert counts and counts == list(range(1, len(counts) + 1)), f"{name}: counts {counts}"


def test_timings_are_in_the_run_journal_not_the_manifest(built: Path) -> None:
    manifest = json.loads((built / "manifest.json").read_text("utf-8"))
    assert not any("timing" in key for key in manifest)
    journal = journal_module.read_journal(journal_module.journal_path(built.parent, built.name))
    assert journal is not None and journal["status"] == "succeeded"
    assert journal["timings_seconds"]["total_seconds"] > 0
    assert {f"{a}/{n}" for a in runner.AUDIENCES for n in manifest["notebooks"]} \
        <= set(journal["timings_seconds"])


def test_source_date_epoch_fixes_the_built_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764654000")
    assert built_line(runner._built_time()) == '<p class="sa-built">Built 2025-12-02 05:40 UTC</p>'
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(runner.SAError, match="SOURCE_DATE_EPOCH must be whole seconds"):
        runner._built_time()
