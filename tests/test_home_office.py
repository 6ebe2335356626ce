"""Tests for the CSP recorded-crime and population loaders."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from sa_lib.data.home_office import (
    CSP_TABLE,
    TOTAL_RECORDED_CRIME,
    area_population,
    csp_rates,
    population_year,
    read_csp_recorded_crime,
    read_population,
)
from sa_lib.errors import DataValidationError
from sa_lib.periods import rolling_window


def test_table_c2_parsed_with_quirks() -> None:
    t = read_csp_recorded_crime()
    assert t["offence_group"].nunique() == 23
    assert (t["period"] == "year ending June 2025").all()
    kent = t[(t.pfa_name == "Kent") & (t.offence_group == TOTAL_RECORDED_CRIME)]
    force = kent[kent.row_type == "force_total"]["offences"].item()
    assert force == 160259
    assert kent[kent.row_type != "force_total"]["offences"].sum() == force  # CSPs + unassigned
    assert kent[kent.row_type == "unassigned"]["offences"].item() == 2037
    surrey = t[(t.csp_name == "Unassigned Surrey")]
    assert surrey["offences"].isna().all()  # [x]
    assert not t["pfa_name"].str.contains(r"\[note").any()


def test_population() -> None:
    p = read_population()
    maid = p[p.area_code == "E07000110"].set_index("year")["population"]
    assert maid[2021] == 176712 and maid[2011] == 155764


def test_population_year_and_fallback() -> None:
    assert population_year(rolling_window("2025-06")) == 2024
    assert population_year(rolling_window("2025-12")) == 2025
    assert area_population(["E07000110"], 2025) == (187767, 2024)


def test_csp_rates_rank_every_partnership() -> None:
    r = csp_rates()
    m = r[r.csp_code == "E22000142"].iloc[0]
    assert m["rate_per_1000"] == pytest.approx(14672 / 187767 * 1000)
    assert 1 <= m["rank"] <= m["n_ranked"]
    dg = r[r.csp_name == "Dartford and Gravesham"].iloc[0]
    assert dg["population"] == area_population(["E07000107", "E07000109"], 2024)[0]
    assert r["rank"].min() == 1
    assert r.loc[r["rank"] == 1, "rate_per_1000"].item() == r["rate_per_1000"].max()


def test_bad_table_named(tmp_path: Path) -> None:
    p = tmp_path / "c2.csv"
    p.write_text("nothing,useful\n1,2\n")
    with pytest.raises(DataValidationError, match="Police Force Area code"):
        read_csp_recorded_crime(p)


def test_files_recognised_by_content(tmp_path: Path) -> None:
    good = tmp_path / "pop.csv"
    good.write_text("area_code,area_name,year,population\nE07000110,Maidstone,2024,187767\n")
    gz_named_csv = tmp_path / "gz.csv"
    gz_named_csv.write_bytes(gzip.compress(good.read_bytes()))
    with pytest.raises(DataValidationError, match="this file is gzip-compressed, not CSV text; "
                       "rename it to gz.csv.gz"):
        read_population(gz_named_csv)
    gz = tmp_path / "pop.csv.gz"  # a gzipped file named so is read, as the bundled one is
    gz.write_bytes(gzip.compress(good.read_bytes()))
    assert read_population(gz)["population"].tolist() == [187767]
    workbook = tmp_path / "pop_xlsx.csv.gz"
    workbook.write_bytes(gzip.compress(b"PK\x03\x04" + bytes(26) + b"[Content_Types].xml xl/"))
    with pytest.raises(DataValidationError, match=r"once decompressed, this file is an Excel "
                       r"workbook \(\.xlsx\)"):
        read_population(workbook)
    utf16 = tmp_path / "c2.csv"
    utf16.write_bytes("Police Force Area code,x\n".encode("utf-16"))
    with pytest.raises(DataValidationError, match="this file is UTF-16 text"):
        read_csp_recorded_crime(utf16)


def test_counts_too_large_are_refused(tmp_path: Path) -> None:
    pop = tmp_path / "pop.csv"
    pop.write_text("area_code,area_name,year,population\nE07000110,Maidstone,2024,187767\n"
                   "E07000111,Sevenoaks,2024,99999999999999999999999\n"
                   "E07000112,Folkestone,2024,999999999999999\n")
    with pytest.raises(DataValidationError) as err:
        read_population(pop)
    [p] = err.value.problems
    assert (p.row, p.column) == (3, "population")
    assert p.message.startswith("'99999999999999999999999' is too large for a population")
    lines = CSP_TABLE.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    row = next(i for i, line in enumerate(lines) if ",E22000142," in line)
    lines[row] = lines[row].replace('"14,672 "', "9" * 5000, 1)
    table = tmp_path / "c2.csv"
    table.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(DataValidationError) as err:
        read_csp_recorded_crime(table)
    [p] = err.value.problems
    assert p.column == TOTAL_RECORDED_CRIME
    assert "(5,000 characters) is too large for a count" in p.message


def test_a_gzip_bomb_is_not_unpacked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sa_lib.data.home_office as home_office

    monkeypatch.setattr(home_office, "_MAX_TABLE_BYTES", 1 << 20)
    bomb = tmp_path / "pop.csv.gz"
    bomb.write_bytes(gzip.compress(b"area_code," + b"0" * (8 << 20)))
    with pytest.raises(DataValidationError, match="decompresses to more than 1 MB"):
        read_population(bomb)
