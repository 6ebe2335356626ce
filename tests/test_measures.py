"""Tests for sa_lib.data.measures and sa_lib.stats.observations: partner returns -> tidy observations -> window values.

Every expected figure is computed here from the raw CSV files in data/synthetic
(read with the csv module or plain pandas.read_csv) or by hand, never by
calling the function under test.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sa_lib.data.measures import PARTNER_MEASURES, find_partner_files, load_partner_data
from sa_lib.errors import OptionError
from sa_lib.paths import DATA_DIR
from sa_lib.periods import calendar_year, month_window
from sa_lib.stats.observations import (
    measure_window_values,
    monthly_measure,
    partner_observations,
)

SYN = DATA_DIR / "synthetic"


# --------------------------------------------------------------------------- raw data
def _rows(name: str) -> list[dict[str, str]]:
    with open(SYN / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def obs() -> pd.DataFrame:
    return partner_observations(load_partner_data(SYN, pseudonymise_key="test-key-0123456789abcdef"))


@pytest.fixture(scope="module")
def raw_da() -> list[dict[str, str]]:
    return _rows("synthetic_domestic_abuse.csv")


def _series(obs: pd.DataFrame, measure: str) -> dict[str, float]:
    rows = obs[obs["measure"] == measure]
    assert len(rows), f"no rows for {measure}"
    return {str(s): float(v) for s, v in zip(rows["start"], rows["value"], strict=True)}


def _month_counts(months: list[str]) -> dict[str, int]:
    """Counts per yyyy-mm with explicit zeros from the first to the last month."""
    counts = pd.Series(months).value_counts()
    full = pd.period_range(min(months), max(months), freq="M").astype(str)
    return {m: int(counts.get(m, 0)) for m in full}


def brute_force_repeats(rows: list[dict[str, str]], lookback: int = 365) -> dict[str, bool]:
    """incident_id -> is a repeat: the same victim had an earlier incident (earlier date, or the
    same date and a smaller incident_id) at most ``lookback`` days before it.  Checks every
    earlier incident of the victim, not just the previous one."""
    by_victim: dict[str, list[tuple[dt.date, str]]] = defaultdict(list)
    for r in rows:
        by_victim[r["victim_id"]].append((dt.date.fromisoformat(r["date"]), r["incident_id"]))
    out = {}
    for incidents in by_victim.values():
        for d, i in incidents:
            out[i] = any((d2, i2) < (d, i) and (d - d2).days <= lookback for d2, i2 in incidents)
    return out


# --------------------------------------------------------------------------- find_partner_files
def test_find_partner_files_bundled_folder() -> None:
    found = find_partner_files(SYN)
    expected = {"action_plan", "asb_council", "domestic_abuse", "ksi", "needle_finds",
                "one_stop_shop", "reoffending", "resident_survey", "section_136",
                "substance_admissions"}
    assert set(found) == expected  # the MoRiLE sheets are not partner returns
    for kind, path in found.items():
        assert path.name == f"synthetic_{kind}.csv"


def test_find_partner_files_kind_matching(tmp_path: Path) -> None:
    for name in ("x_asb_council.csv", "ksi.csv", "asb_council_old.csv", "notes.csv",
                 "my_morile_sheet.csv", "section_136.txt"):
        (tmp_path / name).write_text("a\n")
    found = find_partner_files(tmp_path)
    assert found == {"asb_council": tmp_path / "x_asb_council.csv", "ksi": tmp_path / "ksi.csv"}


def test_find_partner_files_two_of_one_kind(tmp_path: Path) -> None:
    (tmp_path / "a_domestic_abuse.csv").write_text("a\n")
    (tmp_path / "b_domestic_abuse.csv").write_text("a\n")
    with pytest.raises(OptionError, match="domestic_abuse") as exc:
        find_partner_files(tmp_path)
    assert "a_domestic_abuse.csv" in str(exc.value) and "b_domestic_abuse.csv" in str(exc.value)


# --------------------------------------------------------------------------- partner_observations
def test_domestic_abuse_incidents_per_month(obs: pd.DataFrame, raw_da: list[dict]) -> None:
    expected = _month_counts([r["date"][:7] for r in raw_da])
    assert _series(obs, "Domestic abuse incidents") == expected
    assert len(expected) == 60


def test_high_risk_incidents_per_month(obs: pd.DataFrame, raw_da: list[dict]) -> None:
    months = [r["date"][:7] for r in raw_da]
    full = _month_counts(months)
    high = pd.Series([r["date"][:7] for r in raw_da if r["risk_level"].strip().lower() == "high"])
    expected = {m: int((high == m).sum()) for m in full}
    assert _series(obs, "High-risk domestic abuse incidents") == expected


def test_council_asb_incidents_per_month_day_first_dates(obs: pd.DataFrame) -> None:
    raw = pd.read_csv(SYN / "synthetic_asb_council.csv", dtype=str)
    # dd/mm/yyyy, as a UK Excel export writes it: 01/02/2021 is 1 February.
    month = pd.to_datetime(raw["date"], format="%d/%m/%Y").dt.strftime("%Y-%m")
    expected = month.value_counts().sort_index()
    got = _series(obs, "Council ASB incidents")
    assert set(got) == set(expected.index)  # every month 2021-01..2025-12 has incidents
    assert got == {m: float(n) for m, n in expected.items()}
    assert sum(got.values()) == len(raw)


def test_one_stop_shop_visits_per_month(obs: pd.DataFrame) -> None:
    expected = _month_counts([r["date"][:7] for r in _rows("synthetic_one_stop_shop.csv")])
    assert _series(obs, "One-stop-shop visits") == expected


def test_section_136_and_needles_straight_from_csv(obs: pd.DataFrame) -> None:
    s136 = {r["month"]: float(r["detentions"]) for r in _rows("synthetic_section_136.csv")}
    assert _series(obs, "Section 136 detentions") == s136
    needles = _rows("synthetic_needle_finds.csv")
    assert _series(obs, "Needle finds") == {r["month"]: float(r["finds"]) for r in needles}
    assert _series(obs, "Needle exchanges") == {r["month"]: float(r["needle_exchanges"])
                                                for r in needles}
    rows = obs[obs["measure"].isin(["Section 136 detentions", "Needle finds"])]
    assert (rows["start"] == rows["end"]).all() and rows["synthetic"].all()


def test_ksi_is_killed_plus_seriously_injured_per_year(obs: pd.DataFrame) -> None:
    rows = obs[obs["measure"] == "KSI casualties"]
    got = {(str(s), str(e)): v for s, e, v in zip(rows["start"], rows["end"], rows["value"],
                                                  strict=True)}
    expected = {(f"{r['year']}-01", f"{r['year']}-12"): float(int(r["killed"]) +
                                                             int(r["seriously_injured"]))
                for r in _rows("synthetic_ksi.csv")}
    assert got == expected
    assert got[("2025-01", "2025-12")] == 52.0  # 2 killed + 50 seriously injured, by hand


def test_substance_admissions_annual_rows(obs: pd.DataFrame) -> None:
    rows = obs[obs["measure"] == "Substance misuse admissions"]
    got = {(str(s), str(e)): v for s, e, v in zip(rows["start"], rows["end"], rows["value"],
                                                  strict=True)}
    expected = {(r["period_start"][:7], r["period_end"][:7]): float(r["admissions"])
                for r in _rows("synthetic_substance_admissions.csv")}
    assert got == expected


def test_reoffending_rate_is_reoffenders_over_cohort(obs: pd.DataFrame) -> None:
    rows = obs[obs["measure"] == "Proven reoffending rate"].reset_index(drop=True)
    raw = _rows("synthetic_reoffending.csv")
    assert len(rows) == len(raw)
    for i, r in enumerate(raw):
        first, last = (dt.datetime.strptime(x.strip(), "%b %y") for x in r["cohort_period"].split(" - "))
        assert str(rows.loc[i, "start"]) == f"{first:%Y-%m}"
        assert str(rows.loc[i, "end"]) == f"{last:%Y-%m}"
        assert rows.loc[i, "numerator"] == int(r["reoffenders"])
        assert rows.loc[i, "denominator"] == int(r["cohort_size"])
        assert rows.loc[i, "value"] == pytest.approx(100 * int(r["reoffenders"]) /
                                                     int(r["cohort_size"]), rel=1e-12)
    assert (rows["unit"] == "percent").all()


def test_repeat_rate_rows_start_one_year_after_first_incident(obs: pd.DataFrame,
                                                              raw_da: list[dict]) -> None:
    first = min(dt.date.fromisoformat(r["date"]) for r in raw_da)
    assert first == dt.date(2021, 1, 1)
    rows = obs[obs["measure"] == "Domestic abuse repeat rate"]
    assert str(rows["start"].min()) == "2022-01"  # first + 365 days = 2022-01-01
    assert str(rows["start"].max()) == "2025-12"
    assert len(rows) == 48


def test_repeat_rate_first_month_has_a_full_lookback() -> None:
    # First incident 2024-01-01 (2024 is a leap year): 2024-01-01 + 365 days = 2024-12-31, so an
    # incident on 2024-12-01 looks back to 2023-12-02, before the file starts.  The first month
    # with a complete look-back for every incident is 2025-01.
    dates = pd.date_range("2024-01-01", "2025-06-30", freq="5D")
    da = pd.DataFrame({"incident_id": [f"I{i:05d}" for i in range(len(dates))], "date": dates,
                       "victim_id": [f"V{i % 7}" for i in range(len(dates))],
                       "risk_level": "standard"})
    out = partner_observations({"domestic_abuse": da})
    first = out.loc[out["measure"] == "Domestic abuse repeat rate", "start"].min()
    assert str(first) == "2025-01"


@pytest.mark.parametrize("month", ["2022-01", "2025-06"])
def test_repeat_rate_one_month_brute_force(obs: pd.DataFrame, raw_da: list[dict],
                                           month: str) -> None:
    flags = brute_force_repeats(raw_da)
    in_month = [r["incident_id"] for r in raw_da if r["date"][:7] == month]
    repeats = sum(flags[i] for i in in_month)
    row = obs[(obs["measure"] == "Domestic abuse repeat rate") &
              (obs["start"] == pd.Period(month, "M"))].iloc[0]
    assert row["denominator"] == len(in_month)
    assert row["numerator"] == repeats
    assert row["value"] == pytest.approx(100 * repeats / len(in_month), rel=1e-12)


def test_synthetic_flag_comes_from_file_name(tmp_path: Path) -> None:
    text = (SYN / "synthetic_section_136.csv").read_text(encoding="utf-8")
    (tmp_path / "kent_section_136.csv").write_text(text, encoding="utf-8")
    real = partner_observations(load_partner_data(tmp_path))
    assert not real["synthetic"].any() and len(real) == 60


# --------------------------------------------------------------------------- measure_window_values
def _obs(measure: str, months: list[str], num: list[float], den: list[float] | None = None,
         ends: list[str] | None = None) -> pd.DataFrame:
    spec = PARTNER_MEASURES[measure]
    num_a = np.asarray(num, dtype=float)
    den_a = np.full(len(num), np.nan) if den is None else np.asarray(den, dtype=float)
    value = num_a if den is None else 100 * num_a / den_a
    return pd.DataFrame({
        "measure": measure, "kind": spec.kind,
        "start": pd.PeriodIndex(months, freq="M"),
        "end": pd.PeriodIndex(ends or months, freq="M"),
        "value": value, "numerator": num_a, "denominator": den_a, "unit": spec.unit,
        "synthetic": False,
    })


MONTHS_2025 = [f"2025-{m:02d}" for m in range(1, 13)]


def test_window_count_is_the_sum() -> None:
    o = _obs("Needle finds", ["2024-12", *MONTHS_2025, "2026-01"], [1000, *range(1, 13), 1000])
    v = measure_window_values(o, calendar_year(2025)).iloc[0]
    assert v["value"] == 78.0 and v["numerator"] == 78.0  # 1 + 2 + ... + 12, by hand
    assert v["months_covered"] == 12 and bool(v["complete"])


def test_window_rate_is_ratio_of_sums_not_mean_of_rates() -> None:
    # Jan: 1 of 2 (50%); Feb-Dec: 9 of 100 (9%).  Ratio of sums: 100 / 1102 = 9.074%;
    # mean of the monthly rates would be (50 + 11 * 9) / 12 = 12.42%.
    o = _obs("Domestic abuse repeat rate", MONTHS_2025, [1] + [9] * 11, [2] + [100] * 11)
    v = measure_window_values(o, calendar_year(2025)).iloc[0]
    assert v["numerator"] == 100 and v["denominator"] == 1102
    assert v["value"] == pytest.approx(100 * 100 / 1102, rel=1e-12)
    assert v["value"] != pytest.approx(o["value"].mean(), rel=1e-3)
    assert v["unit"] == "percent" and bool(v["complete"])


def test_window_incomplete_gives_nan_and_months_covered() -> None:
    o = _obs("Needle finds", MONTHS_2025[:11], [5] * 11)
    v = measure_window_values(o, calendar_year(2025)).iloc[0]
    assert np.isnan(v["value"]) and v["months_covered"] == 11 and not bool(v["complete"])


def test_window_annual_return_not_inside_a_short_window() -> None:
    o = _obs("KSI casualties", ["2025-01"], [52], ends=["2025-12"])
    short = measure_window_values(o, month_window("2025-01", "2025-04")).iloc[0]
    assert np.isnan(short["value"]) and short["months_covered"] == 0 and not short["complete"]
    year = measure_window_values(o, calendar_year(2025)).iloc[0]
    assert year["value"] == 52.0 and year["months_covered"] == 12 and bool(year["complete"])


def test_window_known_measure_without_rows_is_nan() -> None:
    o = _obs("Needle finds", MONTHS_2025, [1] * 12)
    v = measure_window_values(o, calendar_year(2025), ["Needle finds", "Section 136 detentions"])
    assert list(v["measure"]) == ["Needle finds", "Section 136 detentions"]
    assert v["value"].iloc[0] == 12.0
    assert np.isnan(v["value"].iloc[1]) and v["months_covered"].iloc[1] == 0


def test_window_unknown_measure_is_an_error() -> None:
    o = _obs("Needle finds", MONTHS_2025, [1] * 12)
    with pytest.raises(OptionError, match="Needle fines"):
        measure_window_values(o, calendar_year(2025), ["Needle fines"])


def test_window_blank_month_is_not_covered(tmp_path: Path) -> None:
    from sa_lib.data.partner import read_partner

    lines = ["month,finds,needle_exchanges"] + [
        f"2024-{m:02d},10,{'' if m == 5 else 7}" for m in range(1, 13)]
    (tmp_path / "x_needle_finds.csv").write_text("\n".join(lines) + "\n")
    o = partner_observations({"needle_finds": read_partner(tmp_path / "x_needle_finds.csv",
                                                           "needle_finds")})
    v = measure_window_values(o, calendar_year(2024), ["Needle exchanges"]).iloc[0]
    # 11 months of 7 are known; May is blank, so the year total is unknown.
    assert np.isnan(v["value"]) or not bool(v["complete"])


def test_window_values_on_bundled_data(obs: pd.DataFrame, raw_da: list[dict]) -> None:
    v = measure_window_values(obs, calendar_year(2025),
                              ["Domestic abuse incidents", "Proven reoffending rate",
                               "KSI casualties"]).set_index("measure")
    assert v.loc["Domestic abuse incidents", "value"] == sum(r["date"][:4] == "2025"
                                                             for r in raw_da)
    reo = [r for r in _rows("synthetic_reoffending.csv") if r["cohort_period"].endswith("25")]
    num = sum(int(r["reoffenders"]) for r in reo)
    den = sum(int(r["cohort_size"]) for r in reo)
    assert (num, den) == (229, 1061)
    assert v.loc["Proven reoffending rate", "value"] == pytest.approx(100 * num / den, rel=1e-12)
    assert v["complete"].all() and v["synthetic"].all()


# --------------------------------------------------------------------------- monthly_measure
@pytest.mark.parametrize("measure", ["KSI casualties", "Substance misuse admissions",
                                     "Proven reoffending rate"])
def test_monthly_measure_refuses_non_monthly(obs: pd.DataFrame, measure: str) -> None:
    with pytest.raises(OptionError, match="not monthly"):
        monthly_measure(obs, measure)


def test_monthly_measure_unknown(obs: pd.DataFrame) -> None:
    with pytest.raises(OptionError, match="unknown measure"):
        monthly_measure(obs, "Needle fines")


def test_monthly_measure_window(obs: pd.DataFrame) -> None:
    m = monthly_measure(obs, "Section 136 detentions", calendar_year(2025))
    raw = {r["month"]: float(r["detentions"]) for r in _rows("synthetic_section_136.csv")
           if r["month"].startswith("2025")}
    assert dict(zip(m["month"].astype(str), m["value"], strict=True)) == raw
    assert len(m) == 12
