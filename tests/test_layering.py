"""The shape of sa_lib: layers, no import cycles, no file IO in stats, small modules, no mixins.

The layers, lowest first (a module may import its own layer or a lower one):

====  =====================================================  ==========================
rank  modules                                                what they hold
====  =====================================================  ==========================
0     ``errors``, ``paths``, ``periods``, ``output_gate``      shared vocabulary
1     ``sa_lib.data``                                        loaders and validation
2     ``sa_lib.stats``                                       pure analysis, no file IO
3     ``sa_lib.report``                                      chapters, charts, publishing
4     ``sa_lib.run``                                         runner and command line
====  =====================================================  ==========================

Every import counts, at module level or inside a function, because a deferred
import is still a dependency.  Run just these checks with ``make check-layers``.
"""

from __future__ import annotations

import ast
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from sa_lib.paths import PROJECT_ROOT

PACKAGE = "sa_lib"
FOUNDATION = {"sa_lib.errors", "sa_lib.paths", "sa_lib.periods", "sa_lib.output_gate",
              "sa_lib.rounding"}
LAYERS = {"data": 1, "stats": 2, "report": 3, "run": 4}
MAX_LINES = 700
#: Calls that read or write files; none may appear in the stats layer.
FILE_IO = {"open", "read_csv", "read_parquet", "read_excel", "read_json", "read_text",
           "read_bytes", "write_text", "write_bytes", "to_csv", "to_parquet", "to_excel",
           "glob", "rglob", "iterdir", "mkdir", "unlink", "rmtree", "savefig"}
#: Standard modules whose use in stats means file or process IO.
IO_MODULES = {"os", "shutil", "glob", "io", "pathlib", "tempfile", "subprocess"}


@dataclass(frozen=True)
class Import:
    """One import of a project module: who imports what, and where."""

    importer: str
    imported: str
    line: int


def module_name(path: Path, root: Path) -> str:
    """``sa_lib/stats/spc.py`` -> ``sa_lib.stats.spc``; a package's ``__init__`` is the package."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules(root: Path, package: str = PACKAGE) -> dict[str, Path]:
    """Every module of the package under ``root``, by dotted name."""
    return {module_name(p, root): p for p in sorted((root / package).rglob("*.py"))}


def imports_of(name: str, path: Path, modules: dict[str, Path], package: str = PACKAGE
               ) -> list[Import]:
    """Every project module ``name`` imports (``from a.b import c`` counts ``a.b.c`` if it is a module)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_package = path.name == "__init__.py"
    out = []
    for node in ast.walk(tree):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                       for a in node.names]
        for t in targets:
            if t == package or t.startswith(package + "."):
                out.append(Import(name, t, node.lineno))
    return out


def import_graph(root: Path, package: str = PACKAGE) -> list[Import]:
    modules = project_modules(root, package)
    return [i for name, path in modules.items() for i in imports_of(name, path, modules, package)]


def layer_of(module: str) -> int | None:
    """The rank of a module's layer; None for the package's lazy front door."""
    if module == PACKAGE:
        return None
    if module in FOUNDATION:
        return 0
    sub = module.split(".")[1]
    if sub not in LAYERS:
        raise AssertionError(f"{module} is in no layer: put it in one of "
                             f"{sorted(LAYERS)} or add it to FOUNDATION on purpose")
    return LAYERS[sub]


def layering_problems(graph: Iterable[Import]) -> list[str]:
    """Upward imports, and imports of the lazy ``sa_lib`` front door from inside the package."""
    problems = []
    for i in graph:
        if i.importer == PACKAGE:
            continue
        if i.imported == PACKAGE:
            problems.append(f"{i.importer}:{i.line} imports the '{PACKAGE}' front door; import "
                            "the defining module instead")
            continue
        low, high = layer_of(i.imported), layer_of(i.importer)
        if low is not None and high is not None and low > high:
            problems.append(f"{i.importer}:{i.line} imports {i.imported}, a higher layer "
                            f"({low} > {high})")
    return problems


def import_cycles(graph: Iterable[Import]) -> list[list[str]]:
    """Every import cycle, as the list of modules on it (Tarjan's strongly connected components)."""
    edges: dict[str, set[str]] = {}
    for i in graph:
        if i.importer != i.imported:
            edges.setdefault(i.importer, set()).add(i.imported)
            edges.setdefault(i.imported, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return cycles


def file_io_problems(root: Path, package: str = PACKAGE) -> list[str]:
    """Calls that read or write files, and IO modules imported, inside the stats layer."""
    problems = []
    for name, path in project_modules(root, package).items():
        if not name.startswith(f"{package}.stats"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                f = node.func
                called = f.id if isinstance(f, ast.Name) else f.attr if isinstance(
                    f, ast.Attribute) else None
                if called in FILE_IO:
                    problems.append(f"{name}:{node.lineno} calls {called}()")
            elif isinstance(node, ast.Import | ast.ImportFrom):
                mods = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""]
                for m in mods:
                    if m.split(".")[0] in IO_MODULES:
                        problems.append(f"{name}:{node.lineno} imports {m}")
    return problems


# --------------------------------------------------------------------------- the real package
def test_every_module_is_in_a_layer_and_imports_only_downwards() -> None:
    assert layering_problems(import_graph(PROJECT_ROOT)) == []


def test_no_import_cycle_in_sa_lib() -> None:
    assert import_cycles(import_graph(PROJECT_ROOT)) == []


def test_stats_reads_and_writes_no_files() -> None:
    assert file_io_problems(PROJECT_ROOT) == []


def test_no_module_is_over_700_lines() -> None:
    long = {name: n for name, p in project_modules(PROJECT_ROOT).items()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_no_class_mixes_in_project_classes() -> None:
    """A class may extend one project class (e.g. an error type), never combine several."""
    mixed = []
    for name, path in project_modules(PROJECT_ROOT).items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                own = [b for b in node.bases if isinstance(b, ast.Name) and b.id[:1] == "_"
                       or isinstance(b, ast.Name) and b.id.endswith(("Chapter", "Mixin"))]
                if len(node.bases) > 1 and own:
                    mixed.append(f"{name}.{node.name}")
    assert mixed == []


def test_assessment_is_composed_not_mixed() -> None:
    from sa_lib.report.assessment import Assessment

    assert Assessment.__bases__ == (object,)
    ctx = Assessment.__dataclass_fields__
    assert {"context", "sources", "crime", "themes", "review", "priorities",
            "summary"} <= set(ctx)


def test_every_public_name_resolves_from_the_lazy_front_door() -> None:
    import sa_lib

    missing = [n for n in sa_lib.__all__ if not hasattr(sa_lib, n)]
    assert missing == []
    assert len(set(sa_lib.__all__)) == len(sa_lib.__all__)
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        sa_lib.not_a_name  # noqa: B018


# --------------------------------------------------------------------------- the checks can fail
@pytest.fixture
def planted(tmp_path: Path) -> Path:
    """A copy of sa_lib to plant bad imports in."""
    shutil.copytree(PROJECT_ROOT / PACKAGE, tmp_path / PACKAGE,
                    ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def _append(root: Path, module: str, line: str) -> None:
    path = root / (module.replace(".", "/") + ".py")
    path.write_text(path.read_text(encoding="utf-8") + "\n\n" + line + "\n", encoding="utf-8")


def test_a_planted_cycle_is_found(planted: Path) -> None:
    _append(planted, "sa_lib.data.csv_text", "def _f():\n    from sa_lib.data import geography")
    _append(planted, "sa_lib.data.geography", "from sa_lib.data.csv_text import csv_records")
    cycles = import_cycles(import_graph(planted))
    assert ["sa_lib.data.csv_text", "sa_lib.data.geography"] in cycles


def test_a_planted_upward_import_is_found(planted: Path) -> None:
    _append(planted, "sa_lib.stats.spc", "def _f():\n    from sa_lib.report.charts import Chart")
    _append(planted, "sa_lib.data.quality", "import sa_lib.run.cli")
    problems = layering_problems(import_graph(planted))
    assert any(p.startswith("sa_lib.stats.spc:") and "sa_lib.report.charts" in p for p in problems)
    assert any(p.startswith("sa_lib.data.quality:") and "sa_lib.run.cli" in p for p in problems)


def test_a_relative_import_is_resolved(planted: Path) -> None:
    _append(planted, "sa_lib.stats.change", "from ..report import publish")
    problems = layering_problems(import_graph(planted))
    assert any("sa_lib.stats.change" in p and "sa_lib.report.publish" in p for p in problems)


def test_planted_file_io_in_stats_is_found(planted: Path) -> None:
    _append(planted, "sa_lib.stats.repeat",
            "import pathlib\n\ndef _f(p):\n    return pathlib.Path(p).read_text()")
    problems = file_io_problems(planted)
    assert "sa_lib.stats.repeat:" in " ".join(problems)
    assert any("read_text()" in p for p in problems) and any("imports pathlib" in p
                                                               for p in problems)


def test_a_module_outside_every_layer_is_refused(planted: Path) -> None:
    (planted / PACKAGE / "helpers.py").write_text("from sa_lib.errors import SAError\n")
    with pytest.raises(AssertionError, match="sa_lib.helpers is in no layer"):
        layering_problems(import_graph(planted))
