"""Backtests: a fresh build's tables equal the committed expected tables, cell by cell.

The expected tables in ``tests/expected/<audience>/`` were written by
``make refresh-golden`` from the bundled data; a difference fails naming the
table, the row and the column that changed.  Also checks that the HTML pages are a
function of the executed notebooks and that the golden notebooks are the current
notebooks.  Two builds of the same inputs are compared file by file in
``tests/test_determinism.py``.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import nbformat
import pytest

import sa_lib.run.runner as runner
from sa_lib.paths import PROJECT_ROOT

EXPECTED = PROJECT_ROOT / "tests" / "expected"
GOLDEN = PROJECT_ROOT / "tests" / "golden"
AUDIENCES = ("official", "public")


def _read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def table_differences(expected: Path, actual: Path, limit: int = 10) -> list[str]:
    """Cell-level differences between two CSV tables, worded for a failure message."""
    exp, act = _read(expected), _read(actual)
    name = expected.stem
    if not exp or not act:
        return [f"{name}: one of the tables is empty"]
    if exp[0] != act[0]:
        return [f"{name}: columns changed from {exp[0]} to {act[0]}"]
    out = []
    if len(exp) != len(act):
        out.append(f"{name}: {len(exp) - 1} rows expected, {len(act) - 1} found")
    header = exp[0]
    for i, (e_row, a_row) in enumerate(zip(exp[1:], act[1:], strict=False), start=1):
        for col, e, a in zip(header, e_row, a_row, strict=False):
            if e != a:
                out.append(f"{name}, row {i} ({e_row[0]}), column {col!r}: expected {e!r}, got {a!r}")
    return out[:limit]


@pytest.fixture(scope="module")
def builds(report_builds: tuple[Path, Path]) -> tuple[Path, Path]:
    """The bundled report built twice (session fixture in conftest.py)."""
    return report_builds


@pytest.mark.parametrize("audience", AUDIENCES)
def test_tables_match_expected(builds: tuple[Path, Path], audience: str) -> None:
    got = builds[0] / audience / "tables"
    exp = EXPECTED / audience
    expected_names = sorted(p.name for p in exp.glob("*.csv"))
    got_names = sorted(p.name for p in got.glob("*.csv"))
    assert expected_names, f"no expected tables in {exp}; run `make refresh-golden`"
    assert got_names == expected_names, (
        f"{audience} tables differ: missing {sorted(set(expected_names) - set(got_names))}, "
        f"new {sorted(set(got_names) - set(expected_names))}")
    problems = [d for n in expected_names for d in table_differences(exp / n, got / n)]
    assert not problems, f"{audience} build differs from tests/expected:\n" + "\n".join(problems)


def test_build_is_reproducible(builds: tuple[Path, Path]) -> None:
    """Tables are byte-identical to the expected ones, and the HTML is a pure function of
    the executed notebooks (no time, id or path that changes between runs) plus the one
    documented built line."""
    from sa_lib.report.html import BUILT_LINE, notebook_html, without_built_line

    for audience in AUDIENCES:
        got = builds[0] / audience
        for csv_file in (EXPECTED / audience).glob("*.csv"):
            assert (got / "tables" / csv_file.name).read_bytes() == csv_file.read_bytes(), \
                f"{audience}/{csv_file.name} is not byte-identical to tests/expected"
        for nb in sorted((got / "notebooks").glob("*.ipynb")):
            page = (got / f"{nb.stem}.html").read_text(encoding="utf-8")
            assert len(BUILT_LINE.findall(page)) == 1
            assert notebook_html(nb) == without_built_line(page)
        page = (got / "report.html").read_text(encoding="utf-8")
        assert len(BUILT_LINE.findall(page)) == 1
        page = without_built_line(page)
        assert not re.search(r"20\d\d-\d\d-\d\d[T ]\d\d:\d\d", page), "a timestamp in the report"
        assert str(builds[0].parent.parent) not in page, "an absolute output path in the report"


def test_changing_the_year_builds_that_years_report(builds: tuple[Path, Path]) -> None:
    """The 2025 parameters with the year moved back give the 2024 report, in its own folder,
    and withhold every comparison the data cannot support instead of reading gaps as falls."""
    y2024 = builds[1]
    assert y2024.name == "2024-01_2024-12" and y2024.parent.name == "maidstone"
    page = (y2024 / "official" / "report.html").read_text(encoding="utf-8")
    assert "Strategic Assessment 2024" in page and "Jan 2024 – Dec 2024" in page
    assert "not compared, because Jan 2023 – Dec 2023 has no data for 12 months" in page
    change = _read(y2024 / "official" / "tables" / "crime_change.csv")
    header = change[0]
    sig = header.index("significance")
    assert {row[sig] for row in change[1:]} == {"not compared"}
    assert (y2024 / "public" / "report.html").exists()


def test_public_build_withholds_confidential_and_small_counts(builds: tuple[Path, Path]) -> None:
    official, public = builds[0] / "official" / "tables", builds[0] / "public" / "tables"
    assert (official / "domestic_abuse_repeat_victims.csv").exists()
    assert not (public / "domestic_abuse_repeat_victims.csv").exists()
    page = (builds[0] / "public" / "report.html").read_text(encoding="utf-8")
    assert "partner-confidential, shown in the official report only" in page
    assert "PUBLIC (disclosure control applied)" in page


def test_golden_notebooks_are_the_current_notebooks() -> None:
    """The nbval baselines must run the same cells as notebooks/ (refresh them if not)."""
    for nb in runner.report_notebooks():
        golden = GOLDEN / nb.name
        assert golden.exists(), f"{golden} missing: run `make refresh-golden`"
        src = [c.source for c in nbformat.read(nb, as_version=4).cells]
        gold = [c.source for c in nbformat.read(golden, as_version=4).cells
                if "injected-parameters" not in c.metadata.get("tags", [])]
        assert gold == src, f"{golden.name} is out of date with {nb}: run `make refresh-golden`"
    names = {p.name for p in GOLDEN.glob("*.ipynb")}
    assert names == {p.name for p in runner.report_notebooks()}


@pytest.mark.parametrize("audience", AUDIENCES)
def test_workbook_holds_every_table_once(builds: tuple[Path, Path], audience: str) -> None:
    import pandas as pd

    build = builds[0] / audience
    from sa_lib.run.xlsx import read_tables_xlsx

    book = read_tables_xlsx(build / "tables.xlsx")  # without the marking rows
    contents = book.pop("contents")
    csvs = sorted(p.name for p in (build / "tables").glob("*.csv"))
    assert sorted(contents["table (tables/*.csv)"]) == csvs
    assert len(set(contents["sheet"])) == len(contents) == len(book)
    for sheet, name in zip(contents["sheet"], contents["table (tables/*.csv)"], strict=True):
        csv_frame = pd.read_csv(build / "tables" / name)
        pd.testing.assert_frame_equal(book[sheet], csv_frame, check_dtype=False,
                                      obj=f"{audience} tables.xlsx sheet {sheet} ({name})")
