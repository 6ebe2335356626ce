"""The notebook series is thin, parameterised and committed without outputs."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from sa_lib.paths import NOTEBOOKS_DIR
from sa_lib.run.runner import report_notebooks

ALL = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


def test_series_is_complete() -> None:
    names = [p.stem[:2] for p in report_notebooks()]
    assert names == ["01", "02", "03", "04", "05", "06"]
    assert (NOTEBOOKS_DIR / "explore.ipynb").exists()


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_committed_without_outputs_and_with_python3_kernel(path) -> None:
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, (
                f"{path.name} cell {i + 1} was committed with outputs: run `make strip-notebooks` "
                "and commit again (`make venv` installs the git filter and the JupyterLab "
                "pre-save hook that strip them for you)")
    assert "language_info" not in nb.metadata, f"{path.name}: run `make strip-notebooks`"


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
def test_one_parameters_cell_with_typed_literals(path) -> None:
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    for node in ast.parse(tagged[0].source).body:
        assert isinstance(node, ast.AnnAssign) and isinstance(node.value, ast.Constant), \
            f"{path.name}: parameters must be annotated literals"
    declared = pm.inspect_notebook(str(path))
    assert "parameters_file" in declared


@pytest.mark.parametrize("path", report_notebooks(), ids=lambda p: p.name)
def test_cells_hold_no_logic_and_read_no_files(path) -> None:
    """Notebooks hold narrative and sa_lib calls: no loop, branch, function or file access."""
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells, start=1):
        if cell.cell_type != "code":
            continue
        tree = ast.parse(cell.source)
        banned = (ast.For, ast.While, ast.If, ast.IfExp, ast.FunctionDef, ast.Lambda,
                  ast.ListComp, ast.DictComp, ast.GeneratorExp, ast.With, ast.Try)
        bad = [type(n).__name__ for n in ast.walk(tree) if isinstance(n, banned)]
        assert not bad, f"{path.name} cell {i}: {bad} belongs in sa_lib"
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        assert not names & {"open", "read_csv", "Path"}, f"{path.name} cell {i} reads files"
        imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
        assert all(a.name == "sa_lib" for n in imports if isinstance(n, ast.Import)
                   for a in n.names), f"{path.name} cell {i} imports something besides sa_lib"


def _executed(path) -> nbformat.NotebookNode:
    """The notebook as JupyterLab saves it after running every cell."""
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=600,
                   resources={"metadata": {"path": str(NOTEBOOKS_DIR)}}).execute()
    return nb


def test_a_lab_session_leaves_the_series_as_committed(tmp_path, monkeypatch) -> None:
    """JupyterLab's save (through the pre-save hook `make venv` registers) writes the committed
    bytes, and the git filter's strip gives them too: git status stays clean."""
    import json
    import subprocess
    import sys

    from jupyter_core.paths import jupyter_config_path
    from jupyter_server.services.contents.filemanager import FileContentsManager
    from traitlets.config import Config

    import sa_lib.run.lab as lab
    from sa_lib.paths import PROJECT_ROOT

    path = NOTEBOOKS_DIR / "01_data_quality_and_sources.ipynb"
    executed = _executed(path)
    assert any(c.get("outputs") for c in executed.cells) and "language_info" in executed.metadata

    # The hook, as the Jupyter server is configured by `make venv`.
    configs = [Path(d) / "jupyter_server_config.json" for d in jupyter_config_path()
               if (Path(d) / "jupyter_server_config.json").is_file()]
    assert configs, "make venv registers the pre-save hook (etc/jupyter/jupyter_server_config.json)"
    hook = json.loads(configs[0].read_text())["FileContentsManager"]["pre_save_hook"]
    assert hook == "sa_lib.run.lab.strip_outputs_on_save"
    root = tmp_path / "project"
    (root / "notebooks").mkdir(parents=True)
    monkeypatch.setattr(lab, "NOTEBOOKS_DIR", root / "notebooks")
    cm = FileContentsManager(root_dir=str(root),
                             config=Config({"FileContentsManager": {"pre_save_hook": hook}}))
    cm.save({"type": "notebook", "format": "json", "content": executed},
            "notebooks/" + path.name)
    assert (root / "notebooks" / path.name).read_bytes() == path.read_bytes()
    # A notebook elsewhere keeps its outputs.
    cm.save({"type": "notebook", "format": "json", "content": executed}, "mine.ipynb")
    assert nbformat.read(root / "mine.ipynb", as_version=4).cells[-1].get("outputs") is not None

    # The git filter: the same strip from the command line (NBSTRIPOUT_ARGS in the Makefile).
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    args = next(line.split(":=", 1)[1].split() for line in makefile.splitlines()
                if line.startswith("NBSTRIPOUT_ARGS"))
    saved = tmp_path / "executed.ipynb"
    nbformat.write(executed, saved)
    out = subprocess.run([sys.executable, "-m", "nbstripout", "-t", *args, str(saved)],
                         capture_output=True, text=True, check=True).stdout
    assert out == path.read_text(encoding="utf-8")
    attrs = subprocess.run(["git", "check-attr", "filter", str(path.relative_to(PROJECT_ROOT))],
                           cwd=PROJECT_ROOT, capture_output=True, text=True).stdout
    assert attrs.strip().endswith("filter: nbstripout") or not (PROJECT_ROOT / ".git").exists()


@pytest.mark.parametrize(("given", "expected"), [
    ({"audiense": "public"}, "unknown notebook parameter 'audiense' (did you mean 'audience'?)"),
    ({"audience": "publik"}, "audience 'publik': expected 'official' or 'public'"),
])
def test_papermill_with_a_misspelt_parameter_fails(given, expected, tmp_path) -> None:
    """papermill only warns about an unknown parameter; the notebook refuses to build."""
    with pytest.raises(pm.PapermillExecutionError) as err:
        pm.execute_notebook(str(NOTEBOOKS_DIR / "01_data_quality_and_sources.ipynb"),
                            str(tmp_path / "out.ipynb"), parameters=given,
                            cwd=str(NOTEBOOKS_DIR), progress_bar=False, kernel_name="python3")
    assert expected in str(err.value)
