"""End-to-end: the runner builds both reports, and a failure leaves the last good one intact."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

import sa_lib.run.execute as execute
import sa_lib.run.runner as runner
from sa_lib.run.cli import main
from sa_lib.run.execute import NotebookFailed
from sa_lib.run.runner import run_assessment


def test_both_builds_written(built: Path) -> None:
    for audience in ("official", "public"):
        b = built / audience
        assert (b / "report.html").stat().st_size > 10_000
        assert (b / "tables.xlsx").exists()
        assert (b / "tables" / "data_quality.csv").exists()
        assert list((b / "notebooks").glob("*.ipynb"))
    manifest = json.loads((built / "manifest.json").read_text())
    assert manifest["area"] == "Maidstone"
    assert any(i["path"].endswith("2025-01-kent-street.csv.gz") for i in manifest["inputs"])
    assert all(len(i["sha256"]) == 64 for i in manifest["inputs"])


def test_report_is_offline_and_has_working_contents(built: Path) -> None:
    page = (built / "official" / "report.html").read_text()
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<link[^>]+href=[\"']https?:", page)
    anchors = set(re.findall(r'<a id="(sec-\d+)"', page))
    links = set(re.findall(r'href="#(sec-\d+)"', page))
    assert links and links <= anchors
    assert "Data quality and sources" in page
    assert "parameters_file" not in page  # code and parameter cells hidden


def test_failure_keeps_previous_report(built: Path, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    # Copy a good report into a fresh outputs folder, then make a notebook fail.
    import shutil

    out = tmp_path / "outputs"
    shutil.copytree(built.parent.parent, out)
    good = out / built.parent.name / built.name / "official" / "report.html"
    before = good.read_bytes()
    # Only the first notebook, with a failing cell appended, keeps this test quick.
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    first = runner.report_notebooks()[0]
    broken = nbformat.read(first, as_version=4)
    broken.cells.append(nbformat.v4.new_code_cell("raise RuntimeError('planted failure')"))
    nbformat.write(broken, nb_dir / first.name)
    monkeypatch.setattr(runner, "OUTPUTS_DIR", out)
    monkeypatch.setattr(runner, "NOTEBOOKS_DIR", nb_dir)
    monkeypatch.setattr(execute, "NOTEBOOKS_DIR", nb_dir)
    with pytest.raises(NotebookFailed, match="planted failure") as err:
        run_assessment("parameters/2025.yaml", progress=False)
    # The cell number is the source notebook's (papermill's inserted cells are not counted).
    assert f"{first.name} (" in str(err.value)
    assert f"cell {len(broken.cells)} (" in str(err.value)
    assert good.read_bytes() == before
    assert list((out / "maidstone" / "failed").rglob("*.ipynb"))
    assert not list((out / "maidstone").glob(".staging-*"))


def test_cli_bad_parameters_exit_nonzero_without_traceback(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    p = tmp_path / "bad.yaml"
    p.write_text("year: 2025\nwindw: {}\n")
    assert main(["run", str(p)]) == 2
    err = capsys.readouterr().err
    assert "windw: unknown key" in err and "Traceback" not in err


def test_contents_list_shows_headings_as_written_and_indents_one_step(tmp_path: Path) -> None:
    from sa_lib.report.html import combined_report
    from sa_lib.report.publish import markdown_escape

    nb = nbformat.v4.new_notebook()
    theme = markdown_escape("Road safety (KSI) <b>x</b> *y*")
    nb.cells = [nbformat.v4.new_markdown_cell(f"# 6. Key findings\n\n### {theme}\n\n### Themes"),
                nbformat.v4.new_markdown_cell("# 7. Next\n\n## 7.1 Part")]
    path = tmp_path / "06.ipynb"
    nbformat.write(nb, path)
    page = combined_report([path], "T", "public")
    toc = page[page.index('class="sa-toc"'):page.index("</nav>")]
    assert ">Road safety (KSI) &lt;b&gt;x&lt;/b&gt; *y*</a>" in toc  # no "\(" or "&amp;lt;"
    assert "<b>x</b>" not in toc
    depths = re.findall(r'margin-left:([\d.]+)rem"><a href="#sec-\d+">([^<]+)<', toc)
    assert [d for d, _ in depths] == ["0.0", "1.2", "1.2", "0.0", "1.2"]
