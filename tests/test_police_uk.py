"""Tests for the police.uk loader, area selection and monthly counts."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pandas as pd
import pytest

from sa_lib.data.geography import resolve_area
from sa_lib.data.police_uk import POLICE_UK_COLUMNS, load_report, monthly_counts, read_police_uk
from sa_lib.errors import DataValidationError, OptionError
from sa_lib.paths import DATA_DIR

MAIDSTONE = DATA_DIR / "police_uk" / "maidstone"
KENT_SAMPLE = DATA_DIR / "police_uk" / "kent_sample"
HEADER = ",".join(POLICE_UK_COLUMNS)

# Maidstone rows per month, from ../shared/data/police_uk/SOURCE.md section 6
EXPECTED_ROWS = {"2018-10": 1756, "2018-11": 1127, "2018-12": 786, "2019-01": 1588,
                 "2019-09": 1652, "2024-04": 1529, "2025-01": 1337, "2025-12": 1325}


@pytest.fixture(scope="module")
def maidstone() -> pd.DataFrame:
    return read_police_uk(MAIDSTONE, area="E07000110", cache=False)


def test_bundled_maidstone_matches_published_counts(maidstone: pd.DataFrame) -> None:
    per_month = maidstone.groupby("month").size()
    for m, n in EXPECTED_ROWS.items():
        assert per_month[pd.Period(m, "M")] == n
    assert maidstone["month"].nunique() == 22


def test_asb_counted_by_type_not_crime_id(maidstone: pd.DataFrame) -> None:
    mc = monthly_counts(maidstone)
    asb = mc[(mc.crime_type == "Anti-social behaviour") & (mc.month == pd.Period("2025-07", "M"))]
    assert asb["count"].item() == 357
    assert (maidstone.loc[maidstone.crime_type == "Anti-social behaviour", "crime_id"] == "").all()


def test_monthly_counts_explicit_zeros_and_no_invented_months(maidstone: pd.DataFrame) -> None:
    mc = monthly_counts(maidstone)
    assert list(mc.columns) == ["month", "area", "crime_type", "count"]
    assert len(mc) == 22 * 14  # every loaded month x every crime type
    assert not (mc.month == pd.Period("2020-01", "M")).any()  # never loaded: absent, not zero
    v = mc[(mc.crime_type == "Violence and sexual offences") & (mc.month == pd.Period("2018-12", "M"))]
    assert v["count"].item() == 221


def test_area_selection_by_name_code_and_csp_agree(maidstone: pd.DataFrame) -> None:
    by_name = read_police_uk(MAIDSTONE, area="Maidstone", cache=False)
    by_csp = read_police_uk(MAIDSTONE, area="E22000142", cache=False)
    assert len(by_name) == len(by_csp) == len(maidstone)


def test_both_lsoa_vintages_and_renamed_district() -> None:
    folk = read_police_uk(KENT_SAMPLE, area="E07000112", cache=False)
    names = set(folk["lsoa_name"].str.rsplit(n=1).str[0])
    assert names == {"Shepway", "Folkestone and Hythe"}  # 2011 name in 2018, 2021 name in 2025
    dg = read_police_uk(KENT_SAMPLE, area="E22000352", cache=False)
    assert set(dg["lsoa_name"].str.split().str[0]) == {"Dartford", "Gravesham"}
    assert dg["area"].iloc[0] == "Dartford and Gravesham"


def test_area_by_lsoa_codes_and_outside_force_rows() -> None:
    everything = read_police_uk(KENT_SAMPLE, cache=False)
    assert everything["lsoa_name"].str.startswith("Bexley").any()  # snapped outside Kent
    codes = ["E01024333", "E01024335"]
    sel = read_police_uk(KENT_SAMPLE, area=codes, cache=False)
    assert set(sel["lsoa_code"]) <= set(codes)


def test_no_location_rows_reported_not_counted(maidstone: pd.DataFrame) -> None:
    rep = load_report(maidstone)
    oct18 = rep[rep.month == pd.Period("2018-10", "M")].iloc[0]
    assert oct18["rows_no_location"] == 434
    assert (maidstone["lsoa_code"] != "").all()


def test_vintage_detected_in_report(maidstone: pd.DataFrame) -> None:
    rep = load_report(maidstone).set_index("month")
    assert rep.loc[pd.Period("2019-09", "M"), "lsoa_codes_not_in_2011_lookup"] == 0
    assert rep.loc[pd.Period("2025-01", "M"), "lsoa_codes_not_in_2011_lookup"] == 10


def test_cache_is_reused_and_gives_identical_frames(tmp_path: Path) -> None:
    files = sorted(MAIDSTONE.glob("2025-0[1-3]*"))
    cold = read_police_uk(files, area="Maidstone", cache=False)
    filled = read_police_uk(files, area="Maidstone", cache_dir=tmp_path)
    assert len(list(tmp_path.glob("*.parquet"))) == 3
    assert len(list((tmp_path / "results").glob("*.arrow"))) == 1
    warm = read_police_uk(files, area="Maidstone", cache_dir=tmp_path)
    for frame in (filled, warm):
        pd.testing.assert_frame_equal(cold, frame)
        pd.testing.assert_frame_equal(load_report(cold), load_report(frame))
        assert frame.attrs["area"] == cold.attrs["area"]
    # a damaged whole-read result is rebuilt from the per-file cache, never trusted
    next((tmp_path / "results").glob("*.arrow")).write_bytes(b"not arrow")
    pd.testing.assert_frame_equal(cold, read_police_uk(files, area="Maidstone", cache_dir=tmp_path))
    # and so is a damaged per-file cache entry
    next(tmp_path.glob("*.parquet")).write_bytes(b"not parquet")
    shutil.rmtree(tmp_path / "results")
    pd.testing.assert_frame_equal(cold, read_police_uk(files, area="Maidstone", cache_dir=tmp_path))
    # another area or column choice is another result
    read_police_uk(files, area="Maidstone", columns=["lsoa_code"], cache_dir=tmp_path)
    assert len(list((tmp_path / "results").glob("*.arrow"))) == 2


def test_changed_file_is_read_again_not_taken_from_the_cache(tmp_path: Path) -> None:
    src = tmp_path / "2025-01-kent-street.csv"
    src.write_text(f"{HEADER}\n{GOOD_ROW}\n")
    cache = tmp_path / "cache"
    assert len(read_police_uk(src, cache_dir=cache)) == 1
    assert len(read_police_uk(src, cache_dir=cache)) == 1
    with src.open("a") as f:
        f.write(GOOD_ROW.replace("abc", "abd") + "\n")
    assert len(read_police_uk(src, cache_dir=cache)) == 2


def test_text_columns_are_sorted_categoricals_of_the_values_present(
        maidstone: pd.DataFrame) -> None:
    for c in ["reported_by", "falls_within", "location", "lsoa_code", "lsoa_name", "crime_type",
              "last_outcome_category", "context", "source_file", "area"]:
        col = maidstone[c]
        assert isinstance(col.dtype, pd.CategoricalDtype), c
        cats = list(col.cat.categories)
        assert cats == sorted(set(col.astype(str))), c
    assert maidstone["crime_id"].dtype == "str"
    mc = monthly_counts(maidstone)
    assert mc["crime_type"].dtype == "str" and mc["area"].dtype == "str"


def test_columns_option(maidstone: pd.DataFrame) -> None:
    slim = read_police_uk(MAIDSTONE, area="Maidstone", columns=["lsoa_code"], cache=False)
    assert list(slim.columns) == ["month", "crime_type", "area", "lsoa_code"]
    with pytest.raises(OptionError, match="unknown column"):
        read_police_uk(MAIDSTONE, columns=["nope"], cache=False)


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


GOOD_ROW = "abc,2025-01,Kent Police,Kent Police,0.5,51.2,On or near X,E01024333,Maidstone 001A,Drugs,Under investigation,"


def test_plain_and_crlf_files_read(tmp_path: Path) -> None:
    p = _write(tmp_path, "2025-01-kent-street.csv", f"{HEADER}\r\n{GOOD_ROW}\r\n")
    rec = read_police_uk(p, cache=False)
    assert rec["crime_type"].tolist() == ["Drugs"]
    gz = tmp_path / "gz" / "2025-01-kent-street.csv.gz"
    gz.parent.mkdir()
    with gzip.open(gz, "wt") as fh:
        fh.write(f"{HEADER}\n{GOOD_ROW}\n")
    assert len(read_police_uk(gz.parent, cache=False)) == 1


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty"),
        (f"{HEADER}\n", "no rows"),
        (HEADER.replace("Crime type", "Crime typ") + f"\n{GOOD_ROW}\n", "missing column"),
        (f"{HEADER}\n{GOOD_ROW.replace('2025-01', '2025-13')}\n", "row 2, column 'Month'"),
        (f"{HEADER}\n{GOOD_ROW.replace('2025-01', '2024-12')}\n", "does not match the file's month"),
        (f"{HEADER}\n{GOOD_ROW.replace('Drugs', 'Bank robbery')}\n", "unknown crime type"),
        (f"{HEADER}\n{GOOD_ROW}\nabc,2025-01,Kent\n", "malformed CSV"),
    ],
)
def test_bad_files_name_the_problem(tmp_path: Path, text: str, match: str) -> None:
    p = _write(tmp_path, "2025-01-kent-street.csv", text)
    with pytest.raises(DataValidationError, match=match) as err:
        read_police_uk(p, cache=False)
    assert str(p) in str(err.value)


def test_missing_path_and_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="not found"):
        read_police_uk(tmp_path / "nope", cache=False)
    with pytest.raises(DataValidationError, match="no YYYY-MM"):
        read_police_uk(tmp_path, cache=False)


def test_resolve_area_errors() -> None:
    with pytest.raises(OptionError, match="E22999999"):
        resolve_area("E22999999")
    with pytest.raises(OptionError, match="not LSOA codes"):
        resolve_area(["Maidstone 001A"])


def test_read_from_a_copy_outside_the_project(tmp_path: Path) -> None:
    shutil.copy(MAIDSTONE / "2025-01-kent-street.csv.gz", tmp_path)
    rec = read_police_uk(tmp_path, area="Maidstone", cache=False)
    assert load_report(rec)["file"].iloc[0].endswith("2025-01-kent-street.csv.gz")


def test_files_recognised_by_content_whatever_their_name(tmp_path: Path) -> None:
    text = f"{HEADER}\n{GOOD_ROW}\n"
    cases = {
        "gz": (gzip.compress(text.encode()), "this file is gzip-compressed, not CSV text; "
               "rename it to 2025-01-kent-street.csv.gz"),
        "utf16": (text.encode("utf-16"), "this file is UTF-16 text"),
        "xlsx": (b"PK\x03\x04" + bytes(26) + b"[Content_Types].xml xl/workbook.xml",
                 "this file is an Excel workbook (.xlsx)"),
        "pdf": (b"%PDF-1.4\n", "this file is a PDF document"),
    }
    for folder, (data, message) in cases.items():
        p = tmp_path / folder / "2025-01-kent-street.csv"
        p.parent.mkdir()
        p.write_bytes(data)
        for cache in (False, True):
            with pytest.raises(DataValidationError, match=message.replace("(", r"\(")
                               .replace(")", r"\)")) as err:
                read_police_uk(p, cache=cache, cache_dir=tmp_path / "cache")
            assert len(err.value.problems) == 1 and str(p) in str(err.value)
    inside = tmp_path / "inside" / "2025-01-kent-street.csv.gz"
    inside.parent.mkdir()
    inside.write_bytes(gzip.compress(text.encode("utf-16")))
    with pytest.raises(DataValidationError, match="once decompressed, this file is UTF-16 text"):
        read_police_uk(inside, cache=False)


def test_a_gzip_file_renamed_to_csv_is_refused_even_when_cached(tmp_path: Path) -> None:
    """The cache is keyed by content: the same bytes under a .csv name are still refused."""
    gz = tmp_path / "a" / "2025-01-kent-street.csv.gz"
    gz.parent.mkdir()
    gz.write_bytes(gzip.compress(f"{HEADER}\n{GOOD_ROW}\n".encode()))
    assert len(read_police_uk(gz, cache_dir=tmp_path / "cache")) == 1  # now cached
    renamed = tmp_path / "b" / "2025-01-kent-street.csv"
    renamed.parent.mkdir()
    shutil.copy(gz, renamed)
    with pytest.raises(DataValidationError, match="rename it to 2025-01-kent-street.csv.gz"):
        read_police_uk(renamed, cache_dir=tmp_path / "cache")


@pytest.mark.parametrize(
    ("longitude", "latitude", "column", "shown"),
    [("1e999", "51.2", "Longitude", "'inf'"), ("-inf", "51.2", "Longitude", "'-inf'"),
     ("0.5", "91", "Latitude", "'91'"), ("181", "51.2", "Longitude", "'181'")],
)
def test_coordinates_off_the_globe_are_refused(tmp_path: Path, longitude: str, latitude: str,
                                               column: str, shown: str) -> None:
    row = GOOD_ROW.replace(",0.5,51.2,", f",{longitude},{latitude},")
    p = _write(tmp_path, "2025-01-kent-street.csv", f"{HEADER}\n{GOOD_ROW}\n{row}\n")
    with pytest.raises(DataValidationError) as err:
        read_police_uk(p, cache=False)
    [problem] = err.value.problems
    assert (problem.row, problem.column) == (3, column)
    assert problem.message.startswith(f"{shown} is not a {column.lower()}")
