"""Partner-data templates and validating loaders (sa_lib.data.partner)."""

from __future__ import annotations

import csv
import gzip
import io
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sa_lib.data.partner import (
    PSEUDONYM_KEY_ENV,
    pseudonymise,
    read_partner,
    validate_partner,
)
from sa_lib.data.partner_schema import PARTNER_KINDS
from sa_lib.data.partner_templates import TEMPLATES_DIR, write_templates
from sa_lib.errors import DataValidationError, OptionError, Problem

FIXTURES = Path(__file__).parent / "fixtures" / "partner"
KEY = "test-key-not-secret-0123456789"
KINDS = list(PARTNER_KINDS)


@pytest.fixture(autouse=True)
def _no_env_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PSEUDONYM_KEY_ENV, raising=False)


def good(kind: str) -> Path:
    return FIXTURES / f"good_{kind}.csv"


def rows_of(kind: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(good(kind).read_text(encoding="utf-8"), newline="")))


def write(tmp_path: Path, rows: list[list[str]], name: str = "data.csv",
          encoding: str = "utf-8", newline: str = "\n") -> Path:
    buf = io.StringIO()
    csv.writer(buf, lineterminator=newline).writerows(rows)
    path = tmp_path / name
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def load(path: Path, kind: str) -> pd.DataFrame:
    return read_partner(path, kind, pseudonymise_key=KEY)


def problems(path: Path, kind: str) -> list[Problem]:
    found = validate_partner(path, kind)
    with pytest.raises(DataValidationError) as info:
        load(path, kind)
    assert info.value.problems == found  # the loader raises exactly what validation lists
    return found


def only(found: list[Problem], path: Path, row: int | None, column: str | None,
         fragment: str) -> Problem:
    """The one problem at (row, column); it names the file, row and column in its text."""
    hits = [p for p in found if p.row == row and p.column == column]
    assert len(hits) == 1, found
    p = hits[0]
    assert p.file == str(path)
    assert fragment in p.message, p
    text = str(p)
    assert path.name in text
    if row is not None:
        assert f"row {row}" in text
    if column is not None:
        assert f"column '{column}'" in text
    return p


def set_cell(rows: list[list[str]], row: int, column: str, value: str) -> list[list[str]]:
    """Copy of ``rows`` with the cell at spreadsheet ``row`` (header = 1) replaced."""
    out = [list(r) for r in rows]
    out[row - 1][out[0].index(column)] = value
    return out


# Per kind: (column, bad value, message fragment) for each kind of bad value; None = n/a.
WRONG_TYPE = {
    "domestic_abuse": ("risk_level", "severe", "not an allowed value"),
    "asb_council": ("category", "noise", "not an allowed value"),
    "one_stop_shop": ("from_district", "maybe", "not yes or no"),
    "needle_finds": ("finds", "lots", "not a number"),
    "substance_admissions": ("admissions", "many", "not a number"),
    "section_136": ("detentions", "six", "not a number"),
    "ksi": ("year", "twenty", "not a year"),
    "reoffending": ("cohort_size", "n/a", "not a number"),
    "resident_survey": ("count", "12%", "not a number"),
    "action_plan": ("value", "high", "not a number"),
    "morile_sheet": ("theme", "", "is blank"),
}
NEGATIVE = {
    "needle_finds": "finds", "substance_admissions": "admissions", "section_136": "detentions",
    "ksi": "killed", "reoffending": "reoffences", "resident_survey": "count",
}
IMPOSSIBLE = {
    "domestic_abuse": ("date", "2025-02-30", "not a real date"),
    "asb_council": ("date", "30/02/2025", "not a real date"),
    "one_stop_shop": ("date", "2025-04-31", "not a real date"),
    "needle_finds": ("month", "2025-13", "not a month"),
    "substance_admissions": ("period_start", "2014-09-31", "not a real date"),
    "section_136": ("month", "2025-00", "not a month"),
    "reoffending": ("cohort_period", "Jan 24 - Feb 23", "ends before it starts"),
    "action_plan": ("period", "2025-13", "not a period"),
}
FUTURE = {
    "domestic_abuse": ("date", "2099-01-01", "in the future"),
    "asb_council": ("date", "01/01/2099", "in the future"),
    "one_stop_shop": ("date", "73051", "in the future"),  # Excel day number of 2099-12-31
    "needle_finds": ("month", "2099-01", "in the future"),
    "substance_admissions": ("period_end", "2099-12-31", "in the future"),
    "section_136": ("month", "Jan-99", "in the future"),
    "ksi": ("year", "2099", "in the future"),
    "reoffending": ("cohort_period", "Jan 99 - Mar 99", "in the future"),
    "resident_survey": ("year", "2099", "in the future"),
    "action_plan": ("period", "2099", "has not started"),
}
MISNAMED = {
    "domestic_abuse": ("victim_id", "victm_id"), "asb_council": ("category", "categroy"),
    "one_stop_shop": ("visitor_id", "visitor_ld"), "needle_finds": ("finds", "fnds"),
    "substance_admissions": ("admissions", "admisions"),
    "section_136": ("detentions", "detentons"), "ksi": ("killed", "kiled"),
    "reoffending": ("reoffenders", "reofenders"), "resident_survey": ("response", "respons"),
    "action_plan": ("direction", "directon"), "morile_sheet": ("field", "feild"),
}
TEXT_COLUMN = {
    "domestic_abuse": "area", "asb_council": "ward", "substance_admissions": "measure",
    "resident_survey": "question", "action_plan": "indicator", "morile_sheet": "rationale",
}


def test_every_kind_has_a_complete_test_table() -> None:
    assert set(WRONG_TYPE) == set(MISNAMED) == set(KINDS)
    for kind, schema in PARTNER_KINDS.items():
        assert schema.kind == kind and schema.description and schema.columns
        has_count = any(c.type == "count" for c in schema.columns)
        assert has_count == (kind in NEGATIVE), kind
        assert good(kind).is_file(), kind


# --------------------------------------------------------------------------- good files


@pytest.mark.parametrize("kind", KINDS)
def test_good_file_loads_with_every_template_column(kind: str) -> None:
    assert validate_partner(good(kind), kind) == []
    df = load(good(kind), kind)
    assert len(df) == len(rows_of(kind)) - 1
    assert set(PARTNER_KINDS[kind].column_names) <= set(df.columns)
    assert all(c == c.lower() and " " not in c for c in df.columns)
    assert df.attrs["kind"] == kind


def test_domestic_abuse_formats_and_dtypes() -> None:
    df = load(good("domestic_abuse"), "domestic_abuse")
    # ISO, dd/mm/yyyy, Excel day number, and ISO with a time of day
    assert df["date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2025-01-03", "2025-01-05", "2025-01-06", "2025-02-01"]
    assert pd.api.types.is_datetime64_dtype(df["date"])
    assert df["risk_level"].tolist() == ["standard", "medium", "high", "standard"]
    assert df["risk_level"].cat.ordered and df["risk_level"].max() == "high"
    assert df["repeat_flag"].dtype == "boolean"
    assert df["repeat_flag"].tolist()[:3] == [False, True, True]
    assert pd.isna(df["repeat_flag"][3]) and pd.isna(df["area"][3])


def test_month_count_and_range_formats() -> None:
    needles = load(good("needle_finds"), "needle_finds")
    assert needles["month"].dtype == "period[M]"
    assert needles["month"].astype(str).tolist() == ["2025-01", "2025-02", "2025-03"]
    assert needles["finds"].dtype == "Int64" and needles["finds"].tolist() == [61, 1002, 0]
    assert pd.isna(needles["needle_exchanges"][1])
    reoff = load(good("reoffending"), "reoffending")
    assert reoff["cohort_period"].tolist() == ["Jan 24 - Mar 24", "Apr 24 - Jun 24",
                                               "Jul 24 - Sep 24"]
    assert reoff["cohort_start"].astype(str).tolist() == ["2024-01", "2024-04", "2024-07"]
    assert reoff["cohort_end"].astype(str).tolist() == ["2024-03", "2024-06", "2024-09"]
    plan = load(good("action_plan"), "action_plan")
    assert plan["period"].tolist() == ["2025", "2025-03", "2025"]
    assert plan["period_end"].dt.strftime("%Y-%m-%d").tolist() == [
        "2025-12-31", "2025-03-31", "2025-12-31"]
    assert plan["direction"].tolist() == ["decrease", "decrease", "increase"]
    assert np.isnan(plan["value"][2]) and plan["value"][1] == pytest.approx(26.4)


def test_absent_optional_columns_come_back_empty(tmp_path: Path) -> None:
    path = write(tmp_path, [["Month", "FINDS"], ["2025-01", "3"]])
    df = read_partner(path, "needle_finds")
    assert list(df.columns) == ["month", "finds", "needle_exchanges"]
    assert df["needle_exchanges"].dtype == "Int64" and df["needle_exchanges"].isna().all()


def test_unknown_columns_are_dropped_and_listed(tmp_path: Path) -> None:
    rows = [r + [x] for r, x in zip(rows_of("section_136"), ["victim name", "A", "B", "C"],
                                    strict=True)]
    df = read_partner(write(tmp_path, rows), "section_136")
    assert list(df.columns) == ["month", "detentions"]
    assert df.attrs["ignored_columns"] == ["victim name"]


def test_excel_month_written_as_a_date_on_the_first(tmp_path: Path) -> None:
    path = write(tmp_path, [["month", "detentions"], ["01/02/2025", "1"], ["45717", "2"],
                            ["March 2025", "3"]])  # 45717 = 2025-03-01
    found = validate_partner(path, "section_136")
    only(found, path, 4, "month", "already appears on row 3")
    path = write(tmp_path, [["month", "detentions"], ["01/02/2025", "1"], ["2025-03-02", "2"]])
    only(validate_partner(path, "section_136"), path, 3, "month", "not a month")


# --------------------------------------------------------------------------- bad files


@pytest.mark.parametrize("kind", KINDS)
def test_missing_column(kind: str, tmp_path: Path) -> None:
    rows = rows_of(kind)
    first = PARTNER_KINDS[kind].required_columns[0]
    j = rows[0].index(first)
    path = write(tmp_path, [r[:j] + r[j + 1:] for r in rows])
    p = only(problems(path, kind), path, 1, first, "required column")
    assert ", ".join(PARTNER_KINDS[kind].column_names) in p.message  # the expected list


@pytest.mark.parametrize("kind", KINDS)
def test_misnamed_column_suggests_the_close_match(kind: str, tmp_path: Path) -> None:
    right, wrong = MISNAMED[kind]
    rows = rows_of(kind)
    rows[0][rows[0].index(right)] = wrong
    path = write(tmp_path, rows)
    found = problems(path, kind)
    assert len(found) == 1
    only(found, path, 1, wrong, f"did you mean '{right}'?")


@pytest.mark.parametrize("kind", KINDS)
def test_wrong_type(kind: str, tmp_path: Path) -> None:
    column, value, fragment = WRONG_TYPE[kind]
    path = write(tmp_path, set_cell(rows_of(kind), 2, column, value))
    p = only(problems(path, kind), path, 2, column, fragment)
    assert "expected" in p.message or "required" in p.message


@pytest.mark.parametrize("kind", sorted(NEGATIVE))
def test_negative_and_fractional_counts(kind: str, tmp_path: Path) -> None:
    column = NEGATIVE[kind]
    rows = set_cell(set_cell(rows_of(kind), 2, column, "-3"), 3, column, "2.5")
    path = write(tmp_path, rows)
    found = problems(path, kind)
    only(found, path, 2, column, "is negative")
    only(found, path, 3, column, "not a whole number")


@pytest.mark.parametrize("kind", sorted(IMPOSSIBLE))
def test_impossible_date(kind: str, tmp_path: Path) -> None:
    column, value, fragment = IMPOSSIBLE[kind]
    path = write(tmp_path, set_cell(rows_of(kind), 2, column, value))
    only(problems(path, kind), path, 2, column, fragment)


@pytest.mark.parametrize("kind", sorted(FUTURE))
def test_future_date(kind: str, tmp_path: Path) -> None:
    column, value, fragment = FUTURE[kind]
    rows = set_cell(rows_of(kind), 2, column, value)
    path = write(tmp_path, rows)
    where = "value" if kind == "action_plan" else column  # a value for a period not started
    only(problems(path, kind), path, 2, where, fragment)


def test_future_check_uses_as_of(tmp_path: Path) -> None:
    path = write(tmp_path, [["month", "detentions"], ["2025-06", "1"]])
    assert validate_partner(path, "section_136", as_of="2025-06-15") == []
    only(validate_partner(path, "section_136", as_of=date(2025, 5, 31)), path, 2, "month",
         "in the future (after this month, 2025-05)")


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "morile_sheet"])
def test_duplicate_id(kind: str, tmp_path: Path) -> None:
    schema = PARTNER_KINDS[kind]
    keys = [c.name for c in schema.columns if c.unique] or list(schema.unique_together)
    rows = rows_of(kind)
    for k in keys:
        rows = set_cell(rows, 3, k, rows[1][rows[0].index(k)])
    path = write(tmp_path, rows)
    found = problems(path, kind)
    column = keys[0] if len(keys) == 1 else " + ".join(keys)
    only(found, path, 3, column, "already appears on row 2")
    assert not any("duplicate row" in p.message for p in found)


@pytest.mark.parametrize("kind", KINDS)
def test_duplicate_row(kind: str, tmp_path: Path) -> None:
    rows = rows_of(kind)
    path = write(tmp_path, [*rows, rows[1]])
    found = problems(path, kind)
    row = len(rows) + 1
    only(found, path, row, None, "identical to row 2")
    assert all(p.row == row for p in found)  # not also reported as a repeated id


@pytest.mark.parametrize("kind", KINDS)
def test_empty_and_header_only_files(kind: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    p = only(problems(empty, kind), empty, None, None, "file is empty")
    assert PARTNER_KINDS[kind].column_names[0] in p.message
    blank = tmp_path / "blank.csv"
    blank.write_bytes(b"\r\n \r\n")
    only(problems(blank, kind), blank, None, None, "file is empty")
    header = write(tmp_path, rows_of(kind)[:1], "header.csv", newline="\r\n")
    only(problems(header, kind), header, None, None, "no data rows")


@pytest.mark.parametrize("kind", KINDS)
def test_cp1252_file(kind: str, tmp_path: Path) -> None:
    rows = rows_of(kind)
    text_column = TEXT_COLUMN.get(kind)
    if text_column:
        rows = set_cell(rows, 2, text_column, "Café £5")
    else:  # no free-text column: the accented text sits in an ignored column
        rows = [r + [x] for r, x in zip(rows, ["notes", *["Café £5"] * (len(rows) - 1)],
                                        strict=True)]
    path = write(tmp_path, rows, encoding="cp1252", newline="\r\n")
    assert validate_partner(path, kind) == []
    df = load(path, kind)
    assert df.attrs["encoding"] == "cp1252"
    if text_column:
        assert df[text_column][0] == "Café £5"
    else:
        assert df.attrs["ignored_columns"] == ["notes"]


@pytest.mark.parametrize("kind", KINDS)
def test_bom_and_crlf_files_load_like_the_plain_file(kind: str, tmp_path: Path) -> None:
    plain = load(good(kind), kind)
    text = good(kind).read_text(encoding="utf-8")
    for name, data in [("bom.csv", b"\xef\xbb\xbf" + text.encode("utf-8")),
                       ("crlf.csv", text.replace("\n", "\r\n").encode("utf-8")),
                       ("noeol.csv", text.rstrip("\n").encode("utf-8"))]:
        path = tmp_path / name
        path.write_bytes(data)
        df = load(path, kind)
        pd.testing.assert_frame_equal(df, plain)
        assert df.attrs["encoding"] == "utf-8"


def test_committed_encoding_fixtures() -> None:
    asb = read_partner(FIXTURES / "cp1252_crlf_asb_council.csv", "asb_council")
    assert asb["ward"][0] == "Café £5 street"
    assert asb["date"].dt.strftime("%Y-%m-%d").tolist() == ["2025-01-03", "2025-01-06"]
    assert asb["category"].tolist() == ["nuisance", "environmental"]
    needles = read_partner(FIXTURES / "bom_crlf_needle_finds.csv", "needle_finds")
    assert list(needles.columns)[0] == "month" and needles["finds"].tolist() == [61, 7]


@pytest.mark.parametrize("kind", KINDS)
def test_truncated_last_line_and_wrong_field_count(kind: str, tmp_path: Path) -> None:
    text = good(kind).read_text(encoding="utf-8").rstrip("\n")
    lines = text.split("\n")
    n = len(lines)
    cut = lines[-1][: lines[-1].index(",")]
    path = tmp_path / "truncated.csv"
    path.write_text("\n".join([*lines[:-1], cut]), encoding="utf-8")
    # The first column the short line lacks is named.
    second = lines[0].split(",")[1]
    only(problems(path, kind), path, n, second, "the last line looks truncated")
    lines[1] += ",extra"
    path = tmp_path / "extra.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    p = only(problems(path, kind), path, 2, None, "field(s) but the header has")
    assert "truncated" not in p.message


@pytest.mark.parametrize("kind", KINDS)
def test_unbalanced_quotes(kind: str, tmp_path: Path) -> None:
    lines = good(kind).read_text(encoding="utf-8").split("\n")
    lines[2] = '"' + lines[2]
    path = tmp_path / "quotes.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    found = problems(path, kind)
    assert len(found) == 1
    assert found[0].row == 3 and "malformed CSV" in found[0].message and "row 3" in str(found[0])


def test_many_problems_reported_at_once() -> None:
    path = FIXTURES / "bad_domestic_abuse_many.csv"
    found = problems(path, "domestic_abuse")
    where = [(p.row, p.column) for p in found]
    assert where == [
        (1, "victm_id"),        # misnamed, with the suggestion
        (2, "Date"),            # impossible date
        (3, "Risk Level"),      # not an allowed value (columns named as in the file)
        (3, "repeat_flag"),     # not a flag
        (4, "Incident ID"),     # duplicate id
        (4, "Date"),            # future date
        (5, "Date"),            # two-digit year
        (5, "Risk Level"),      # blank required value
        (6, None),              # exact duplicate of row 5
        (6, "Date"),
        (6, "Risk Level"),
        (7, "Risk Level"),      # too few fields: the first column the row lacks
    ]
    assert "did you mean 'victim_id'" in found[0].message
    assert "two-digit year" in found[6].message
    assert "is blank; risk_level is required" in found[7].message
    assert "identical to row 5" in found[8].message


def test_other_file_level_problems(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    only(validate_partner(missing, "ksi"), missing, None, None, "file not found")
    xlsx = tmp_path / "book.csv"
    xlsx.write_bytes(b"PK\x03\x04rest-of-a-zip")
    only(validate_partner(xlsx, "ksi"), xlsx, None, None, "Excel workbook")
    utf16 = tmp_path / "u16.csv"
    utf16.write_bytes("year,killed\n".encode("utf-16"))
    only(validate_partner(utf16, "ksi"), utf16, None, None, "UTF-16")
    dup = write(tmp_path, [["year", "killed", "Killed", "seriously_injured"],
                           ["2020", "1", "1", "2"]])
    only(validate_partner(dup, "ksi"), dup, 1, "Killed", "appears twice")


def test_cross_column_rules(tmp_path: Path) -> None:
    reoff = write(tmp_path, [["cohort_period", "cohort_size", "reoffenders", "reoffences"],
                             ["Jan 24 - Mar 24", "10", "11", "20"],
                             ["Apr 24 - Jun 24", "10", "5", "4"]])
    found = validate_partner(reoff, "reoffending")
    only(found, reoff, 2, "reoffenders", "more than cohort_size")
    only(found, reoff, 3, "reoffences", "inconsistent with reoffenders")
    survey = write(tmp_path, [["year", "question", "response", "count", "base"],
                              ["2025", "Q", "Yes", "60", "100"], ["2025", "Q", "No", "50", "100"],
                              ["2025", "R", "Yes", "1", "90"], ["2025", "R", "No", "1", "100"],
                              ["2025", "S", "Yes", "101", "100"]])
    found = validate_partner(survey, "resident_survey")
    only(found, survey, 2, "base", "sum to 110, more than its base")
    only(found, survey, 4, "base", "base differs")
    only(found, survey, 6, "count", "more than base")
    assert len(found) == 3
    ksi = write(tmp_path, [["year", "killed", "seriously_injured", "age_17_24"],
                           ["2020", "1", "2", "4"]])
    only(validate_partner(ksi, "ksi"), ksi, 2, "age_17_24", "more than killed + seriously_injured")
    adm = write(tmp_path, [["period_start", "period_end", "admissions", "measure"],
                           ["2020-12-01", "2020-01-31", "5", "m"]])
    only(validate_partner(adm, "substance_admissions"), adm, 2, "period_end", "before period_start")


def test_target_alone_for_a_future_period_is_fine(tmp_path: Path) -> None:
    path = write(tmp_path, [["priority", "indicator", "period", "value", "target", "direction"],
                            ["P", "I", "2099", "", "4", "increase"]])
    assert validate_partner(path, "action_plan") == []


def test_bad_kind_and_as_of() -> None:
    with pytest.raises(OptionError, match="did you mean 'ksi'"):
        validate_partner(good("ksi"), "kis")
    with pytest.raises(OptionError, match="as_of"):
        validate_partner(good("ksi"), "ksi", as_of="yesterday-ish")


# --------------------------------------------------------------------------- pseudonyms


@pytest.mark.parametrize(("kind", "column"), [("domestic_abuse", "victim_id"),
                                              ("one_stop_shop", "visitor_id")])
def test_raw_identifiers_never_reach_the_frame(kind: str, column: str) -> None:
    raw = [r[rows_of(kind)[0].index(column)] for r in rows_of(kind)[1:]]
    df = load(good(kind), kind)
    dump = df.to_csv() + repr(df.attrs)
    assert not any(r in dump for r in raw)
    assert df[column].str.fullmatch(r"[0-9a-f]{16}").all()
    assert df.attrs["pseudonymised"] == [column]
    # the same identifier gets the same pseudonym (rows 1 and 3 share one)
    assert df[column][0] == df[column][2] and df[column][0] != df[column][1]


def test_pseudonym_depends_on_the_key_and_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    a = load(good("domestic_abuse"), "domestic_abuse")["victim_id"]
    b = read_partner(good("domestic_abuse"), "domestic_abuse",
                     pseudonymise_key="another-key-9876543210")["victim_id"]
    assert not (a == b).any()
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, KEY)
    c = read_partner(good("domestic_abuse"), "domestic_abuse")["victim_id"]
    pd.testing.assert_series_equal(a, c)


def test_pseudonymise_is_hmac_sha256() -> None:
    import hashlib
    import hmac
    expected = hmac.new(KEY.encode(), b"V000001", hashlib.sha256).hexdigest()[:16]
    out = pseudonymise(pd.Series([" V000001 ", None]), KEY)
    assert out[0] == expected and pd.isna(out[1])


def test_missing_or_short_key_is_an_option_error() -> None:
    with pytest.raises(OptionError, match=PSEUDONYM_KEY_ENV):
        read_partner(good("domestic_abuse"), "domestic_abuse")
    with pytest.raises(OptionError, match="too short"):
        read_partner(good("one_stop_shop"), "one_stop_shop", pseudonymise_key="short")
    # kinds without personal identifiers need no key, and validation never does
    read_partner(good("ksi"), "ksi")
    assert validate_partner(good("domestic_abuse"), "domestic_abuse") == []


# --------------------------------------------------------------------------- templates


def test_committed_templates_equal_what_write_templates_writes(tmp_path: Path) -> None:
    written = write_templates(tmp_path)
    assert set(written) == set(KINDS)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted([*(f"{k}.csv" for k in KINDS), "README.md"])
    for name in names:
        assert (TEMPLATES_DIR / name).read_bytes() == (tmp_path / name).read_bytes(), name


@pytest.mark.parametrize("kind", KINDS)
def test_template_has_header_and_one_valid_example_row(kind: str) -> None:
    path = TEMPLATES_DIR / f"{kind}.csv"
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert rows[0] == list(PARTNER_KINDS[kind].column_names) and len(rows) == 2
    assert validate_partner(path, kind) == []
    readme = (TEMPLATES_DIR / "README.md").read_text(encoding="utf-8")
    assert f"## `{kind}`" in readme
    assert all(f"| `{c}` |" in readme for c in PARTNER_KINDS[kind].column_names)


def test_title_row_or_wrong_kind_gives_one_clear_problem(tmp_path: Path) -> None:
    path = write(tmp_path, [["Domestic abuse export, 2025"], *rows_of("domestic_abuse")])
    p = only(problems(path, "domestic_abuse"), path, 1, None, "not a domestic_abuse header")
    assert "Remove any title rows" in p.message
    only(validate_partner(good("ksi"), "section_136"), good("ksi"), 1, None, "check --kind")


def test_files_that_are_not_csv_text_are_named(tmp_path: Path) -> None:
    text = "year,killed,seriously_injured\n2020,1,2\n"
    cases = {
        "gz.csv": (gzip.compress(text.encode()), "this file is gzip-compressed, not CSV text; "
                   "decompress it"),
        "u16le.csv": (text.encode("utf-16-le"), "this file is UTF-16 text"),
        "old.csv": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),
                    "this file is an Excel 97-2003 workbook (.xls)"),
        "doc.csv": (b"%PDF-1.5\n", "this file is a PDF document"),
        "page.csv": (b"<html><body>Please sign in</body></html>", "this file is an HTML web page"),
    }
    for name, (data, fragment) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        only(problems(path, "ksi"), path, None, None, fragment)
    nul = tmp_path / "nul.csv"
    nul.write_bytes(text.replace("2020,1", "2020,\x001").encode())
    only(problems(nul, "ksi"), nul, 2, "killed", "byte 0x00 (NUL) is not text")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("99999999999999999999999", "'99999999999999999999999' is too large for a count"),
        ("9223372036854775808", "'9223372036854775808' is too large for a count"),  # 2**63
        ("1,000,000,000,000,000", "is too large for a count (expected a whole number below "
         "1,000,000,000,000,000)"),
        ("1e999", "'1e999' is too large for a count"),
        ("9" * 5000, "'999999999999999999999999999999...' (5,000 characters) is too large"),
        ("-99999999999999999999", "is negative"),
        ("inf", "'inf' is not a number"),
        ("nan", "'nan' is not a number"),
    ],
)
def test_counts_too_large_are_refused(tmp_path: Path, value: str, fragment: str) -> None:
    path = write(tmp_path, [["month", "detentions"], ["2021-01", "3"], ["2021-02", value]])
    only(problems(path, "section_136"), path, 3, "detentions", fragment)


def test_largest_count_is_kept_exactly(tmp_path: Path) -> None:
    path = write(tmp_path, [["month", "detentions"], ["2021-01", "999999999999999"]])
    assert load(path, "section_136")["detentions"].tolist() == [999_999_999_999_999]


@pytest.mark.parametrize("value", ["1e300", "-1e16", "1" + "0" * 400])
def test_numbers_too_large_are_refused(tmp_path: Path, value: str) -> None:
    rows = rows_of("action_plan")
    rows[1][rows[0].index("target")] = value
    path = write(tmp_path, rows)
    only(problems(path, "action_plan"), path, 2, "target", "is too large (expected a number "
         "between -1,000,000,000,000,000 and 1,000,000,000,000,000)")
