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
    for path in Path(sa_lib.__file__).parent.glob("*.py"):
        text = path.read_text()
        assert "import notebooks" not in text and "from notebooks" not in text, path
