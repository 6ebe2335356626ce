"""The national benchmark's populations: every partnership its own population, each piece once.

Expected values are worked by hand from the published figures (ONS Table C2, the ONS
mid-year estimates, 2011 Census usual residents summed by LSOA), not by re-running the
code under test.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from sa_lib.data.csp_population import csp_populations, load_former_districts
from sa_lib.data.home_office import CSP_TABLE, TOTAL_RECORDED_CRIME, csp_rates, read_population
from sa_lib.errors import DataValidationError

# 2011 Census usual residents, summed by hand from the LSOA table for the former districts.
BUCKS_2011 = {"Aylesbury Vale": 174137, "Chiltern": 92635, "South Bucks": 66867,
              "Wycombe": 171644}
BUCKS_2024 = 578772  # ONS mid-2024 estimate, Buckinghamshire (E06000060)
EW_2024 = 61806682  # ONS mid-2024 estimate, England and Wales (K04000001)


@pytest.fixture(scope="module")
def rates() -> pd.DataFrame:
    return csp_rates()


def _table_total() -> int:
    """Table C2's partnership total, read with the csv module: every row with a CSP code."""
    with CSP_TABLE.open(encoding="utf-8-sig", newline="") as fh:
        rows = [[" ".join(c.split()) for c in r] for r in csv.reader(fh)]
    head = next(i for i, r in enumerate(rows) if r and r[0] == "Police Force Area code")
    col = next(i for i, c in enumerate(rows[head]) if c.startswith(TOTAL_RECORDED_CRIME))
    csp = rows[head].index("Community Safety Partnership code")
    return sum(int(r[col].replace(",", "")) for r in rows[head + 1:]
               if len(r) > col and r[csp])


def test_overall_rate_is_the_partnership_total_over_england_and_wales(rates) -> None:
    total = _table_total()
    assert total == 5102703
    assert rates.attrs["partnership_total"] == total
    assert rates.attrs["england_wales_population"] == EW_2024
    assert rates.attrs["overall_rate"] == pytest.approx(total / EW_2024 * 1000, rel=1e-12)
    # the "about 82.6" (Done when: within 1%); the old join gave 77.8
    assert rates.attrs["overall_rate"] == pytest.approx(82.6, rel=0.01)
    assert round(rates.attrs["overall_rate"], 2) == 82.56


def test_no_population_used_twice_and_none_missing_unnamed(rates) -> None:
    used = rates["population"].sum()
    left = sum(u["population"] for u in rates.attrs["unassigned"])
    assert used <= EW_2024
    # Every district's population is either in exactly one partnership or named as left out.
    assert used + left == pytest.approx(EW_2024, abs=1e-3)
    assert rates["population"].notna().all() and rates.attrs["no_population"] == ()
    assert [u["name"] for u in rates.attrs["unassigned"]] == ["Christchurch"]
    bcp = read_population().query("area_code == 'E06000058' and year == 2024")["population"]
    # Christchurch's 2011 share of Bournemouth, Christchurch and Poole: 47,752 of 378,888
    assert left == pytest.approx(47752 / (183491 + 47752 + 147645) * bcp.item())
    assert rates["csp_code"].is_unique


def test_maidstone_unchanged(rates) -> None:
    m = rates[rates.csp_code == "E22000142"].iloc[0]
    assert m["population"] == 187767
    assert round(m["rate_per_1000"], 2) == 78.14
    assert m["population_basis"] == "mid-2024 estimate for Maidstone"


def test_buckinghamshire_split_by_2011_census_shares(rates) -> None:
    bucks = rates[rates.csp_name.isin(BUCKS_2011)].set_index("csp_name")
    assert len(bucks) == 4
    assert bucks["population"].sum() == pytest.approx(BUCKS_2024)
    total_2011 = sum(BUCKS_2011.values())
    for name, census in BUCKS_2011.items():
        assert bucks.loc[name, "population"] == pytest.approx(BUCKS_2024 * census / total_2011)
        assert "2011 Census" in bucks.loc[name, "population_basis"]
    # Aylesbury Vale: 11,654 offences over 34.46% of 578,772 residents
    assert bucks.loc["Aylesbury Vale", "rate_per_1000"] == pytest.approx(
        11654 / (BUCKS_2024 * 174137 / 505283) * 1000)


def test_cumbria_and_western_suffolk_get_a_rate(rates) -> None:
    pop = read_population()
    est = pop.set_index(["area_code", "year"])["population"]
    cumberland = ["E07000026", "E07000028", "E07000029"]  # Allerdale, Carlisle, Copeland
    share = est[("E07000028", 2021)] / sum(est[(c, 2021)] for c in cumberland)
    carlisle = rates[rates.csp_name == "Carlisle"].iloc[0]
    assert carlisle["population"] == pytest.approx(est[("E06000063", 2024)] * share)
    assert "mid-2021 estimates" in carlisle["population_basis"]
    cumbria = rates[rates.pfa_name == "Cumbria"]
    assert len(cumbria) == 6 and cumbria["rate_per_1000"].notna().all()
    assert cumbria["population"].sum() == pytest.approx(
        est[("E06000063", 2024)] + est[("E06000064", 2024)])
    # Western Suffolk = Babergh + Mid Suffolk + West Suffolk (Forest Heath, St Edmundsbury)
    ws = rates[rates.csp_name == "Western Suffolk"].iloc[0]
    assert ws["population"] == sum(est[(c, 2024)] for c in ("E07000200", "E07000203",
                                                            "E07000245"))
    assert ws["rate_per_1000"] == pytest.approx(18236 / ws["population"] * 1000)


def test_whole_councils_keep_their_estimate(rates) -> None:
    est = read_population().query("year == 2024").set_index("area_code")["population"]
    by = rates.set_index("csp_name")["population"]
    # Somerset: Mendip, Sedgemoor, South Somerset, Taunton Deane and West Somerset (via
    # Somerset West and Taunton, 2019) are all one partnership: the whole estimate.
    assert by["Somerset"] == est["E06000066"]
    assert by["North Yorkshire"] == est["E06000065"]
    # Dorset's 2017 CSP listed Christchurch, now in BCP: Dorset keeps Dorset Council only.
    assert by["Dorset"] == est["E06000059"]
    assert by["Dartford and Gravesham"] == est["E07000107"] + est["E07000109"]
    east = by["Suffolk Coastal"] + by["Waveney"]
    assert east == pytest.approx(est["E07000244"])
    assert by["Suffolk Coastal"] / east == pytest.approx(124298 / (124298 + 115254))


def test_former_districts_table() -> None:
    f = load_former_districts()
    assert f["code"].is_unique
    assert dict(zip(f.name, f.census_2011_residents, strict=True))["Aylesbury Vale"] == 174137
    swt = f[f.code == "E07000246"].iloc[0]  # formed 2019: its predecessors' 2011 residents
    assert swt["census_2011_residents"] == 110187 + 34675
    assert swt["successor_code"] == "E06000066"


def test_former_districts_file_problems(tmp_path: Path) -> None:
    bad = tmp_path / "f.csv"
    bad.write_text("code,name,successor_code,successor_name,abolished,census_2011_residents\n"
                   "E1,A,E1,A,2019-04-01,12x\n")
    with pytest.raises(DataValidationError) as err:
        load_former_districts(bad)
    assert {p.column for p in err.value.problems} == {"census_2011_residents", "successor_code"}


# ---------------------------------------------------------------- small hand-made cases

def _toy() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A council N formed in 2021 from districts a and b; c and d untouched."""
    pop = pd.DataFrame({
        "area_code": ["Ea", "Eb", "Ea", "Eb", "EN", "EN", "E07c", "E07d", "E07c", "E07d",
                      "K04000001", "K04000001"],
        "area_name": ["A", "B", "A", "B", "N", "N", "C", "D", "C", "D", "EW", "EW"],
        "year": [2019, 2019, 2020, 2020, 2022, 2023, 2022, 2022, 2023, 2023, 2022, 2023],
        "population": [100, 300, 150, 250, 1000, 1100, 500, 700, 510, 710, 2200, 2400],
    }).assign(geography="")
    pop["area_code"] = pop["area_code"].replace({"Ea": "E07000901", "Eb": "E07000902",
                                                 "EN": "E06000901", "E07c": "E07000903",
                                                 "E07d": "E07000904"})
    lookup = pd.DataFrame({"lad_code": ["E07000901", "E07000902", "E07000903", "E07000904"],
                           "lad_name": ["A", "B", "C", "D"],
                           "csp_code": ["E22000001", "E22000002", "E22000003", "E22000003"]})
    former = pd.DataFrame({"code": ["E07000901", "E07000902"], "name": ["A", "B"],
                           "successor_code": ["E06000901"] * 2, "successor_name": ["N"] * 2,
                           "abolished": ["2021-04-01"] * 2, "census_2011_residents": [1, 1]})
    return pop, lookup, former


def test_split_uses_latest_year_shown_separately_and_falls_back_a_year() -> None:
    pop, lookup, former = _toy()
    csps = pd.DataFrame({"csp_code": ["E22000001", "E22000002", "E22000003"],
                         "csp_name": ["A", "B", "C and D"],
                         "la_code": ["E06000901", "E06000901", "Combined Local Authorities"]})
    out = csp_populations(csps, pop, 2024, lookup, former)
    assert out.attrs["population_year"] == 2023  # 2024 not published: the latest before
    # 2020 is the latest year showing A and B apart: 150 and 250 of 400, of N's 1,100
    assert out["population"].tolist() == pytest.approx([1100 * 150 / 400, 1100 * 250 / 400,
                                                        510 + 710])
    assert "mid-2020 estimates" in out["population_basis"].iloc[0]
    assert out["population_basis"].iloc[2] == "sum of the mid-2023 estimates for C and D"
    assert out.attrs["england_wales_population"] == 2400
    assert out.attrs["unassigned"] == () and out.attrs["no_population"] == ()


def test_a_piece_in_no_row_is_named_and_a_twice_claimed_piece_is_given_to_none() -> None:
    pop, lookup, former = _toy()
    csps = pd.DataFrame({"csp_code": ["E22000001", "E22000009", "E22000008"],
                         "csp_name": ["A", "Also C", "Mystery"],
                         "la_code": ["E06000901", "E07000903", "Combined Local Authorities"]})
    lookup = pd.concat([lookup, pd.DataFrame({"lad_code": ["E07000903"], "lad_name": ["C"],
                                              "csp_code": ["E22000009"]})])
    out = csp_populations(csps, pop, 2023, lookup, former)
    assert out["population"].iloc[0] == pytest.approx(1100 * 150 / 400)
    # The table has no "C and D" row: C is claimed once (by "Also C"); B and D are in no
    # row and are named with their populations; "Mystery" is in no lookup and names no
    # district, so it has no population and is named.
    left = {u["name"]: u["population"] for u in out.attrs["unassigned"]}
    assert left == {"B": pytest.approx(1100 * 250 / 400), "D": 710}
    assert [n["csp_name"] for n in out.attrs["no_population"]] == ["Mystery"]
    assert out["population"].iloc[1] == 510
    twice = pd.DataFrame({"csp_code": ["E22000003", "E22000009"], "csp_name": ["C and D", "C"],
                          "la_code": ["Combined Local Authorities", "E07000903"]})
    out = csp_populations(twice, pop, 2023, lookup, former)
    assert out["population"].isna().all()
    assert {n["csp_name"] for n in out.attrs["no_population"]} == {"C and D", "C"}
    assert "claimed by 2 partnerships" in out.attrs["no_population"][0]["reason"]
    # nothing is lost: the twice-claimed C and D's own piece are listed as left out
    left = {u["name"] for u in out.attrs["unassigned"]}
    assert {"C", "D"} <= left


def test_a_council_not_yet_formed_in_the_estimate_year_is_its_predecessors() -> None:
    # Mid-2021: Somerset (E06000066, April 2023) does not exist yet; the table's Somerset
    # partnership is Mendip, Sedgemoor, South Somerset and Somerset West and Taunton.
    r = csp_rates(year=2021)
    est = read_population().query("year == 2021").set_index("area_code")["population"]
    by = r.set_index("csp_name")["population"]
    assert by["Somerset"] == sum(est[c] for c in ("E07000187", "E07000188", "E07000189",
                                                  "E07000246"))
    assert by["Carlisle"] == est["E07000028"]  # still a district in 2021
    assert r["population"].notna().all()
    assert r["population"].sum() + sum(u["population"] for u in r.attrs["unassigned"]) == \
        pytest.approx(est["K04000001"])
