"""End-to-end: the runner builds both reports, and a failure leaves the last good one intact."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest

import sa_lib.run.execute as execute
import sa_lib.run.runner as runner
from sa_lib.paths import PROJECT_ROOT
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
    assert "Data and sources" in page and "Annex A. Data quality" in page
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
    nb.cells = [nbformat.v4.new_markdown_cell(f"# 6. Key findings\n\n## {theme}\n\n## Themes"),
                nbformat.v4.new_markdown_cell("# 7. Next\n\n## 7.1 Part")]
    path = tmp_path / "06.ipynb"
    nbformat.write(nb, path)
    page = combined_report([path], "T", "public")
    toc = page[page.index('class="sa-toc"'):page.index("</nav>")]
    assert ">Road safety (KSI) &lt;b&gt;x&lt;/b&gt; *y*</a>" in toc  # no "\(" or "&amp;lt;"
    assert "<b>x</b>" not in toc
    depths = re.findall(r'margin-left:([\d.]+)rem"><a href="#sec-\d+">([^<]+)<', toc)
    assert [d for d, _ in depths] == ["0.0", "1.2", "1.2", "0.0", "1.2"]


# What-if runs: a report built from one parameters file is never replaced by another's ----------
def _published(outputs: Path) -> Path:
    """A report folder as the 2025 build leaves it (manifest naming parameters/2025.yaml)."""
    report = outputs / "maidstone" / "2025-01_2025-12"
    for audience in ("official", "public"):
        (report / audience / "tables").mkdir(parents=True)
        (report / audience / "report.html").write_text(f"<html>{audience} report</html>")
        (report / audience / "tables" / "recommended_priorities.csv").write_text(
            "theme,recommendation\nDomestic abuse,priority\n")
    (report / "manifest.json").write_text(json.dumps({"parameters_file": "parameters/2025.yaml"}))
    return report


def _digest(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def _what_if(tmp_path: Path) -> Path:
    text = (PROJECT_ROOT / "parameters" / "2025.yaml").read_text(encoding="utf-8")
    path = tmp_path / "what_if.yaml"
    path.write_text(text.replace("n_priorities: 5", "n_priorities: 3"), encoding="utf-8")
    return path


def _no_notebooks(*args: object, **kwargs: object) -> None:
    raise AssertionError("a notebook ran although the run should have been refused")


def test_what_if_run_is_refused_and_leaves_the_report_byte_identical(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "outputs"
    report = _published(out)
    before = _digest(out)
    monkeypatch.setattr(runner, "OUTPUTS_DIR", out)
    monkeypatch.setattr(runner, "_execute_all", _no_notebooks)
    what_if = _what_if(tmp_path)
    assert main(["run", str(what_if), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    assert "parameters/2025.yaml" in err and str(what_if) in err and str(report) in err
    assert "--replace" in err and "different area or period" in err
    assert _digest(out) == before  # nothing written: no journal, no staging folder


def test_same_file_and_replace_go_ahead(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "outputs"
    _published(out)
    monkeypatch.setattr(runner, "OUTPUTS_DIR", out)

    def stop(*args: object, **kwargs: object) -> None:
        raise NotebookFailed("planted stop after the check")

    monkeypatch.setattr(runner, "_execute_all", stop)
    # The same file (spelt absolute) is not a what-if run; --replace lets another file in.
    for parameters, replace in ((PROJECT_ROOT / "parameters" / "2025.yaml", False),
                                (_what_if(tmp_path), True)):
        with pytest.raises(NotebookFailed, match="planted stop"):
            run_assessment(parameters, progress=False, replace=replace)


# Every failing notebook is named ----------------------------------------------------------
def test_every_failed_notebook_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime

    from papermill.exceptions import PapermillExecutionError

    from tests.test_recovery import _NoKernels as NoKernels

    def run(job: execute.NotebookJob, out_nb: Path, parameters: dict[str, str],
            km: object) -> None:
        nb = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell(f"fail_{job.name[:2]}()")
        if job.name[:2] in ("02", "05"):
            cell.outputs = [nbformat.v4.new_output("error", ename="OptionError",
                                                   evalue=f"bad {job.name[:2]}", traceback=[])]
        nb.cells = [cell]
        nbformat.write(nb, out_nb)
        if cell.outputs:
            raise PapermillExecutionError(0, 1, cell.source, "OptionError", "bad", [])

    monkeypatch.setattr(execute, "KernelPool", NoKernels)
    monkeypatch.setattr(execute, "_run_notebook", run)
    final = tmp_path / "outputs" / "area" / "2025-01_2025-12"
    jobs = []
    for audience in ("public", "official"):
        build = tmp_path / "outputs" / "area" / ".staging" / audience
        (build / "notebooks").mkdir(parents=True)
        for name in ("01_a.ipynb", "02_b.ipynb", "05_e.ipynb"):
            job = execute.NotebookJob(tmp_path / name, name)
            jobs.append((job, build / "notebooks" / name, audience, build))
    failed_dir = final.parent / "failed" / final.name
    with pytest.raises(NotebookFailed) as err:
        execute._execute_all(jobs, tmp_path / "p.yaml", final, datetime.now(UTC), 2, False,
                             failed_dir)
    message = str(err.value)
    assert message.startswith("4 notebooks failed: ")
    order = [message.index(f"{n} ({a} build) failed at cell 1 ('fail_{n[:2]}()'): "
                           f"OptionError: bad {n[:2]}")
             for a in ("official", "public") for n in ("02_b.ipynb", "05_e.ipynb")]
    assert order == sorted(order)  # official build first, then in report order
    assert "01_a.ipynb" not in message
    assert err.value.notebook == "official/02_b.ipynb"
    assert err.value.notebooks == ("official/02_b.ipynb", "official/05_e.ipynb",
                                   "public/02_b.ipynb", "public/05_e.ipynb")
    assert len(list(failed_dir.rglob("*.ipynb"))) == 4
