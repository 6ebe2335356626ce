"""Project-level checks: dependencies mirrored, public API documented and typed."""

from __future__ import annotations

import inspect
import re
import tomllib
from pathlib import Path

import yaml

import sa_lib
from sa_lib.paths import PROJECT_ROOT


def _names(reqs: list[str]) -> dict[str, str]:
    out = {}
    for r in reqs:
        m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", r)
        assert m, r
        out[m.group(1).lower()] = m.group(2).replace(" ", "")
    return out


def test_environment_yml_mirrors_pyproject() -> None:
    py = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    wanted = _names(py["dependencies"] + py["optional-dependencies"]["dev"])
    env = yaml.safe_load((PROJECT_ROOT / "environment.yml").read_text())
    conda = _names([d for d in env["dependencies"] if isinstance(d, str)])
    conda.pop("python"), conda.pop("pip")
    assert conda == wanted


def test_public_api_has_docstrings_examples_and_type_hints() -> None:
    missing = []
    for name in sa_lib.__all__:
        obj = getattr(sa_lib, name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        doc = inspect.getdoc(obj) or ""
        if not doc:
            missing.append(f"{name}: no docstring")
        if inspect.isfunction(obj):
            if "Examples" not in doc:
                missing.append(f"{name}: no Examples section")
            sig = inspect.signature(obj)
            if sig.return_annotation is inspect.Signature.empty:
                missing.append(f"{name}: no return type")
            for p in sig.parameters.values():
                if p.annotation is inspect.Parameter.empty and p.kind not in (
                    p.VAR_KEYWORD, p.VAR_POSITIONAL
                ):
                    missing.append(f"{name}({p.name}): no type hint")
    assert not missing, "\n".join(missing)


def test_sa_lib_never_imports_notebooks_or_runner() -> None:
    for path in Path(sa_lib.__file__).parent.rglob("*.py"):
        text = path.read_text()
        assert "import notebooks" not in text and "from notebooks" not in text, path


#: Declared distributions that are used without being imported, and where that use is seen.
_USED_WITHOUT_IMPORT = {
    "ipykernel": ("sa_lib/run", "python3"),          # the kernel papermill runs the notebooks in
    "openpyxl": ("sa_lib/run", '"openpyxl"'),        # pandas' xlsx engine for tables.xlsx
    "jupyterlab": ("README.md", "JupyterLab"),       # the analyst's interactive environment
    "nbval": ("pyproject.toml", "--nbval"),          # pytest plugin for the golden notebooks
    "ruff": ("Makefile", "ruff check"),              # make lint / make test
    "pytest": ("Makefile", "pytest"),
}


def _imported_top_names(folders: list[str]) -> set[str]:
    import ast

    names: set[str] = set()
    for folder in folders:
        for path in (PROJECT_ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names |= {a.name.split(".")[0] for a in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.add(node.module.split(".")[0])
    return names


def test_every_dependency_is_used_and_every_import_is_declared() -> None:
    """No declared dependency left unused, none missing (pyproject.toml is the one list)."""
    import sys
    from importlib.metadata import packages_distributions

    py = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    runtime = set(_names(py["dependencies"]))
    extras = {d for deps in py["optional-dependencies"].values() for d in _names(deps)}
    dist_of = {mod: {d.lower() for d in dists} for mod, dists in packages_distributions().items()}

    def dists(names: set[str]) -> set[str]:
        third_party = {n for n in names if n not in sys.stdlib_module_names and n not in
                       {"sa_lib", "_common", "spc_reference", "tests", "conftest"}}
        return {d for n in third_party for d in dist_of.get(n, {n})}

    library = dists(_imported_top_names(["sa_lib"]))
    everything = library | dists(_imported_top_names(["tests", "tools", "benchmarks"]))
    normalise = {d: d.replace("_", "-") for d in everything}
    library = {normalise[d] for d in library}
    everything = {normalise[d] for d in everything}

    missing = library - runtime - extras
    assert missing == set(), f"sa_lib imports undeclared distributions: {missing}"
    assert (everything - runtime - extras) == set()
    for dist, (where, evidence) in _USED_WITHOUT_IMPORT.items():
        texts = [p.read_text(encoding="utf-8") for p in (
            (PROJECT_ROOT / where).rglob("*.py") if (PROJECT_ROOT / where).is_dir()
            else [PROJECT_ROOT / where])]
        assert any(evidence in t for t in texts), f"{dist}: no sign of use in {where}"
    unused = (runtime | extras) - everything - set(_USED_WITHOUT_IMPORT)
    # the dask extra is imported lazily by the batch runner as dask.distributed
    unused -= {"distributed"} if "dask" in everything else set()
    assert unused == set(), f"declared but never used: {unused}"
