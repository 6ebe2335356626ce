"""Tests for the CSP recorded-crime and population loaders."""

from __future__ import annotations

from pathlib import Path

import pytest

from sa_lib.data.home_office import (
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
