"""The notebook series is thin, parameterised and committed without outputs."""

from __future__ import annotations

import ast

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
            assert not cell.outputs and cell.execution_count is None, f"{path.name} cell {i + 1}"


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
