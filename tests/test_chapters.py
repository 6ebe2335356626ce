"""Tests for the chapter methods of the assessment on the bundled 2025 parameters.

Expected figures are computed here from the raw files (police.uk gz CSVs filtered to
LSOA names starting "Maidstone ", the partner CSVs in data/synthetic, the ONS population
file) with the csv module or plain pandas.read_csv, or by hand -- never by calling the
method under test.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import math
import re
from collections import defaultdict
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import yaml
from scipy.stats import binomtest, norm
from scipy.stats import t as student_t

import sa_lib as sa
from sa_lib.data.parameters import load_parameters
from sa_lib.errors import ParameterError
from sa_lib.paths import DATA_DIR, PARAMETERS_DIR
from sa_lib.report.publish import Publisher
from sa_lib.rounding import round_half_up

SYN = DATA_DIR / "synthetic"
POLICE = DATA_DIR / "police_uk" / "maidstone"
ASB = "Anti-social behaviour"
TOTAL = "Total crime (excluding ASB)"
PREV_MONTHS = [f"2024-{m:02d}" for m in range(1, 5)]
CUR_MONTHS = [f"2025-{m:02d}" for m in range(1, 5)]
YEAR_2025 = [f"2025-{m:02d}" for m in range(1, 13)]
POPULATION_2024 = 187767  # ONS mid-2024 estimate for Maidstone (E07000110)


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def ctx() -> sa.Assessment:
    return sa.open_assessment("parameters/2025.yaml")


@pytest.fixture(scope="module")
def police() -> pd.DataFrame:
    """Records per (month, crime type) for LSOAs named 'Maidstone ...', from the gz CSVs."""
    frames = []
    for month in PREV_MONTHS + YEAR_2025:
        f = pd.read_csv(POLICE / f"{month}-kent-street.csv.gz",
                        usecols=["Month", "LSOA name", "Crime type"], dtype=str)
        frames.append(f[f["LSOA name"].fillna("").str.startswith("Maidstone ")])
    raw = pd.concat(frames, ignore_index=True)
    return raw.groupby(["Month", "Crime type"]).size().unstack(fill_value=0)


def _window_sum(police: pd.DataFrame, months: list[str]) -> pd.Series:
    s = police.loc[months].sum()
    s[TOTAL] = s.drop(ASB).sum()
    return s


def _rows(name: str) -> list[dict[str, str]]:
    with open(SYN / name, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def raw_da() -> list[dict[str, str]]:
    return _rows("synthetic_domestic_abuse.csv")


@pytest.fixture(scope="module")
def da_repeats(raw_da: list[dict[str, str]]) -> dict[str, bool]:
    """incident_id -> repeat (brute force: any earlier incident of the victim, ordered by date
    then incident_id, at most 365 days before)."""
    by_victim: dict[str, list[tuple[dt.date, str]]] = defaultdict(list)
    for r in raw_da:
        by_victim[r["victim_id"]].append((dt.date.fromisoformat(r["date"]), r["incident_id"]))
    out = {}
    for incidents in by_victim.values():
        for d, i in incidents:
            out[i] = any((d2, i2) < (d, i) and (d - d2).days <= 365 for d2, i2 in incidents)
    return out


def _xmr_limits(values: list[float]) -> tuple[float, float, float, int]:
    """mean, lower and upper limit by hand (mean ± 2.66 × mean moving range, moving ranges
    >= 3.267 × their mean dropped once) and how many moving ranges were screened."""
    x = np.asarray(values, dtype=float)
    mr = np.abs(np.diff(x))
    kept = mr[mr < 3.267 * mr.mean()]
    amr = kept.mean()
    return x.mean(), x.mean() - 2.66 * amr, x.mean() + 2.66 * amr, len(mr) - len(kept)


def _poisson_p(prev: float, cur: float) -> float:
    """Exact conditional test for two Poisson counts over equal exposures."""
    return binomtest(int(cur), int(prev + cur), 0.5).pvalue


def _quasi_p(prev: list[float], cur: list[float]) -> tuple[float, float]:
    """p-value and dispersion of the window indicator in statsmodels' quasi-Poisson GLM of the
    monthly counts (t on the residual df; a dispersion below 1 taken as 1)."""
    y = np.asarray(list(prev) + list(cur), dtype=float)
    x = sm.add_constant(np.r_[np.zeros(len(prev)), np.ones(len(cur))])
    fit = sm.GLM(y, x, family=sm.families.Poisson()).fit(scale="X2")
    t = fit.params[1] / (fit.bse[1] / np.sqrt(fit.scale) * np.sqrt(max(fit.scale, 1.0)))
    return 2 * student_t.sf(abs(t), fit.df_resid), fit.scale


# --------------------------------------------------------------------------- chapter 2
def test_crime_change_table_against_raw_police_uk(ctx, police: pd.DataFrame) -> None:
    t = ctx.crime.crime_change_table()
    prev, cur = _window_sum(police, PREV_MONTHS), _window_sum(police, CUR_MONTHS)
    assert list(t.columns[1:3]) == ["Jan 2024 – Apr 2024", "Jan 2025 – Apr 2025"]
    assert set(t["crime type"]) == set(prev.index)
    monthly = police.assign(**{TOTAL: police.drop(columns=ASB).sum(axis=1)})
    for row in t.itertuples(index=False):
        name, p, c, diff, pct, sig, test = row
        assert (p, c) == (prev[name], cur[name]), name
        assert diff == c - p
        assert pct == round(100 * (c - p) / p, 1)
        # quasi-Poisson on the 4 + 4 monthly counts (months with no record are zeros)
        p_value, phi = _quasi_p(monthly.loc[PREV_MONTHS, name], monthly.loc[CUR_MONTHS, name])
        expected = "statistically significant" if p_value < 0.05 else "within normal variation"
        assert sig == expected, name
        assert test.startswith(f"quasi-Poisson (dispersion {phi:.1f}"), name
    total = t.set_index("crime type").loc[TOTAL]
    assert (total.iloc[0], total.iloc[1]) == (4948, 4499)  # pinned once from the raw files


def test_population_from_ons_file() -> None:
    with gzip.open(DATA_DIR / "population" / "la_population_mye_2001_2024.csv.gz", "rt") as f:
        rows = [r for r in csv.DictReader(f) if r["area_code"] == "E07000110" and r["year"] == "2024"]
    assert len(rows) == 1 and int(rows[0]["population"]) == POPULATION_2024


def test_crime_rates_per_1000(ctx, police: pd.DataFrame) -> None:
    r = ctx.crime.crime_rates()
    assert r.attrs["population"] == POPULATION_2024 and r.attrs["population_year"] == 2024
    prev, cur = _window_sum(police, PREV_MONTHS), _window_sum(police, CUR_MONTHS)
    for name, p_rate, c_rate in r.itertuples(index=False):
        assert p_rate == pytest.approx(round_half_up(1000 * prev[name] / POPULATION_2024, 2), abs=1e-9)
        assert c_rate == pytest.approx(round_half_up(1000 * cur[name] / POPULATION_2024, 2), abs=1e-9)
    assert "187,767" in ctx.crime.crime_rates_note()


def _signals_by_hand(blocks: list[list[float]], mean: float, lo: float, hi: float
                     ) -> dict[str, list[int]]:
    """Indices (over the concatenated blocks) of points outside the limits, in a run of 7 on
    one side of the mean, in a trend of 7, and close to a limit 2 of 3 -- a missing month
    between blocks ends every run, by plain loops."""
    near_hi, near_lo = mean + 2 / 3 * (hi - mean), mean - 2 / 3 * (mean - lo)
    out: dict[str, list[int]] = {"outside": [], "run": [], "trend": [], "two_of_three": []}
    start = 0
    for b in blocks:
        idx = list(range(start, start + len(b)))
        start += len(b)
        out["outside"] += [i for i, v in zip(idx, b, strict=True) if v > hi or v < lo]
        side = [int(v > mean) - int(v < mean) for v in b]
        for i in range(len(b)):
            for j in range(i + 7, len(b) + 1):
                if side[i] and all(s == side[i] for s in side[i:j]):
                    out["run"] += idx[i:j]
                if all(b[k + 1] > b[k] for k in range(i, j - 1)) or \
                        all(b[k + 1] < b[k] for k in range(i, j - 1)):
                    out["trend"] += idx[i:j]
        for i in range(len(b) - 2):
            w = b[i:i + 3]
            close = [(v > near_hi and v <= hi) or (v < near_lo and v >= lo) for v in w]
            if sum(close) >= 2 and abs(sum(side[i:i + 3])) == 3:
                out["two_of_three"] += [idx[i + k] for k in range(3) if close[k]]
    return {k: sorted(set(v)) for k, v in out.items()}


def test_type_spc_table_limits_by_hand(ctx, police: pd.DataFrame) -> None:
    """16 months charted (Jan-Apr 2024 and 2025; none for May-Dec 2024), limits from all 16
    (fewer than 20 before the window), no moving range across the gap."""
    year = police.loc[YEAR_2025]
    totals = year.sum().sort_values(ascending=False, kind="stable")
    major = [t for t, n in totals.items() if n >= 0.05 * totals.sum()]
    t = ctx.crime.type_spc_table()
    assert list(t["crime type"]) == major
    assert list(t.columns) == ["crime type", "months charted", "baseline", "mean per month",
                               "lower limit", "upper limit", "latest month", "review window"]
    months = PREV_MONTHS + YEAR_2025
    for row in t.itertuples(index=False):
        blocks = [[float(v) for v in police.loc[PREV_MONTHS, row[0]]],
                  [float(v) for v in year[row[0]]]]
        x = np.array(blocks[0] + blocks[1], dtype=float)
        mr = np.r_[np.abs(np.diff(blocks[0])), np.abs(np.diff(blocks[1]))]
        kept = mr[mr < 3.267 * mr.mean()]
        mean, lo, hi = x.mean(), x.mean() - 2.66 * kept.mean(), x.mean() + 2.66 * kept.mean()
        assert row[1] == 16 and row[2] == "all 16 months"
        assert row[3] == pytest.approx(round_half_up(mean, 1), abs=1e-9)
        assert row[4] == pytest.approx(round_half_up(max(lo, 0), 1), abs=1e-9)
        assert row[5] == pytest.approx(round_half_up(hi, 1), abs=1e-9)
        signals = _signals_by_hand(blocks, mean, lo, hi)
        assert row[6] == "Dec 2025: " + ("within the limits (common cause)"
                                         if not any(15 in v for v in signals.values())
                                         else row[6].split(": ", 1)[1])
        in_window = {k: [months[i] for i in v if i >= 4] for k, v in signals.items()}
        if not any(in_window.values()):
            assert row[7] == "no special-cause points", row[0]
        for m in in_window["outside"]:
            when = pd.Period(m, "M").strftime("%B %Y")
            assert when in row[7] and ("above the upper limit" in row[7]
                                       or "below the lower limit" in row[7]), row[0]
    # Anti-social behaviour: July 2025 is above its upper limit, the other months within.
    asb = t.set_index("crime type").loc[ASB]
    assert asb["review window"] == "one point above the upper limit (concern): July 2025"


# --------------------------------------------------------------------------- chapter 3
def test_theme_partner_change_violence_and_domestic_abuse(ctx, raw_da, da_repeats) -> None:
    ch = ctx.themes.theme_partner_change("Violence and domestic abuse").set_index("measure")
    by_year = {y: [r for r in raw_da if r["date"][:4] == y] for y in ("2024", "2025")}
    oss = _rows("synthetic_one_stop_shop.csv")
    expected_counts = {
        "Domestic abuse incidents": {y: len(rs) for y, rs in by_year.items()},
        "High-risk domestic abuse incidents": {
            y: sum(r["risk_level"] == "high" for r in rs) for y, rs in by_year.items()},
        "One-stop-shop visits": {y: sum(r["date"][:4] == y for r in oss) for y in by_year},
    }
    months = {y: [f"{y}-{i:02d}" for i in range(1, 13)] for y in ("2024", "2025")}
    monthly = {
        "Domestic abuse incidents": [[sum(r["date"][:7] == mo for r in raw_da) for mo in months[y]]
                                     for y in ("2024", "2025")],
        "High-risk domestic abuse incidents": [
            [sum(r["date"][:7] == mo and r["risk_level"] == "high" for r in raw_da)
             for mo in months[y]] for y in ("2024", "2025")],
        "One-stop-shop visits": [[sum(r["date"][:7] == mo for r in oss) for mo in months[y]]
                                 for y in ("2024", "2025")],
    }
    for m, e in expected_counts.items():
        row = ch.loc[m]
        assert (row["previous"], row["current"]) == (e["2024"], e["2025"]), m
        assert row["difference"] == e["2025"] - e["2024"]
        assert row["pct_change"] == pytest.approx(100 * (e["2025"] - e["2024"]) / e["2024"])
        sig = row["p_value"] < 0.05
        assert (row["significance"] == "statistically significant") == sig, m
        assert row["p_value"] == pytest.approx(_quasi_p(*monthly[m])[0], rel=1e-7), m
        assert row["test"].startswith("quasi-Poisson (dispersion "), m
        assert "(SYNTHETIC)" in row["sentence"]
    assert expected_counts["Domestic abuse incidents"] == {"2024": 2566, "2025": 2696}

    rep = {y: sum(da_repeats[r["incident_id"]] for r in rs) for y, rs in by_year.items()}
    n = {y: len(rs) for y, rs in by_year.items()}
    rate = ch.loc["Domestic abuse repeat rate"]
    assert rate["previous"] == pytest.approx(100 * rep["2024"] / n["2024"], rel=1e-12)
    assert rate["current"] == pytest.approx(100 * rep["2025"] / n["2025"], rel=1e-12)
    assert rate["difference"] == pytest.approx(rate["current"] - rate["previous"])
    # pooled two-proportion z-test, by hand
    p1, p2 = rep["2024"] / n["2024"], rep["2025"] / n["2025"]
    pool = (rep["2024"] + rep["2025"]) / (n["2024"] + n["2025"])
    z = (p2 - p1) / math.sqrt(pool * (1 - pool) * (1 / n["2024"] + 1 / n["2025"]))
    assert rate["p_value"] == pytest.approx(2 * norm.sf(abs(z)), rel=1e-6)


def test_partner_rates_table_cases_and_base(ctx, raw_da, da_repeats) -> None:
    specs = {s.name: s for s in ctx.themes.theme_partner_tables("Violence and domestic abuse")}
    df = specs["theme_violence_and_domestic_abuse_partner_rates"].df
    df = df[df["measure"] == "Domestic abuse repeat rate"].set_index("window")
    for y, label in (("2024", "Jan 2024 – Dec 2024"), ("2025", "Jan 2025 – Dec 2025")):
        rs = [r for r in raw_da if r["date"][:4] == y]
        cases = sum(da_repeats[r["incident_id"]] for r in rs)
        assert df.loc[label, "base"] == len(rs)
        assert df.loc[label, "cases"] == cases
        assert df.loc[label, "%"] == round(100 * cases / len(rs), 1)


def test_repeat_victim_table_brute_force(ctx, raw_da, da_repeats) -> None:
    t = ctx.themes.repeat_victim_table().df.set_index("risk level")
    counted = [r for r in raw_da if r["date"][:4] == "2025"]
    groups = {"all": counted, **{lvl: [r for r in counted if r["risk_level"] == lvl]
                                 for lvl in ("standard", "medium", "high")}}
    assert set(t.index) == set(groups)
    for lvl, rs in groups.items():
        reps = [r for r in rs if da_repeats[r["incident_id"]]]
        row = t.loc[lvl]
        assert row["incidents"] == len(rs), lvl
        assert row["repeat incidents"] == len(reps), lvl
        assert row["victims"] == len({r["victim_id"] for r in rs}), lvl
        assert row["repeat victims"] == len({r["victim_id"] for r in reps}), lvl
        assert row["repeat rate (% of incidents)"] == round(100 * len(reps) / len(rs), 1)


# --------------------------------------------------------------------------- chapter 4
def _expected_review() -> pd.DataFrame:
    """target_status rules applied by hand to the action-plan CSV for 2025."""
    plan = _rows("synthetic_action_plan.csv")
    values = {(r["indicator"], r["period"]): r["value"] for r in plan}
    out = []
    seen = []
    for r in plan:
        if r["indicator"] not in seen:
            seen.append(r["indicator"])
    for ind in seen:
        rows = [r for r in plan if r["indicator"] == ind and r["period"].startswith("2025")]
        exact = [r for r in rows if r["period"] == "2025"]
        r = exact[0] if exact else max(rows, key=lambda x: x["period"])
        if r["period"] == "2025":
            prev_period = "2024"
        else:
            y, m = int(r["period"][:4]), int(r["period"][5:])
            prev_period = f"{y - (m == 1)}-{12 if m == 1 else m - 1:02d}"
        value = float(r["value"]) if r["value"] else np.nan
        target = float(r["target"]) if r["target"] else np.nan
        if np.isnan(target):
            status = "no target"
        elif np.isnan(value):
            status = "no data"
        elif r["direction"] == "decrease":
            status = "met" if value <= target else "not met"
        else:
            status = "met" if value >= target else "not met"
        prev = values.get((ind, prev_period), "")
        out.append({"indicator": ind, "period": r["period"], "value": value, "target": target,
                    "status": status, "previous": float(prev) if prev else np.nan,
                    "better if": {"decrease": "lower", "increase": "higher"}[r["direction"]]})
    return pd.DataFrame(out)


def test_review_table_statuses_from_action_plan(ctx) -> None:
    specs = ctx.review.review_tables()
    assert len(specs) == 1
    got = specs[0].df.reset_index(drop=True)
    exp = _expected_review()
    assert list(got["indicator"]) == list(exp["indicator"])
    assert list(got["status"]) == list(exp["status"])
    assert list(got["period"].astype(str)) == list(exp["period"])
    assert list(got["better if"]) == list(exp["better if"])
    np.testing.assert_array_equal(got["value"].astype(float), exp["value"])
    np.testing.assert_array_equal(got["target"].astype(float), exp["target"])
    np.testing.assert_array_equal(got["previous period value"].astype(float), exp["previous"])
    # by hand: 646<=1000 met, 25.3>25 not met, 511>=250 met, 66>55 not met, 3741>3650 not met,
    # OCG value blank -> no data, monthly S136 Dec 25 5<=5 met
    assert list(got["status"]) == ["met", "not met", "met", "not met", "not met", "no data", "met"]


def test_review_spc_assurance_by_hand(ctx, raw_da, da_repeats) -> None:
    months = [f"{y}-{m:02d}" for y in (2024, 2025) for m in range(1, 13)]
    needles = {r["month"]: float(r["finds"]) for r in _rows("synthetic_needle_finds.csv")}
    s136 = {r["month"]: float(r["detentions"]) for r in _rows("synthetic_section_136.csv")}
    oss = pd.Series([r["date"][:7] for r in _rows("synthetic_one_stop_shop.csv")]).value_counts()
    asb = pd.to_datetime(pd.read_csv(SYN / "synthetic_asb_council.csv", dtype=str)["date"],
                         format="%d/%m/%Y").dt.strftime("%Y-%m").value_counts()
    da_n = defaultdict(int)
    da_rep = defaultdict(int)
    for r in raw_da:
        da_n[r["date"][:7]] += 1
        da_rep[r["date"][:7]] += da_repeats[r["incident_id"]]
    series = {
        "Needle finds collected by street scene": [needles[m] for m in months],
        "Repeat victims (% of domestic abuse incidents)": [100 * da_rep[m] / da_n[m] for m in months],
        "One-stop-shop visits": [float(oss.get(m, 0)) for m in months],
        "Section 136 detentions": [s136[m] for m in months],
        "Council ASB incidents": [float(asb.get(m, 0)) for m in months],
    }
    plan_dir = {r["indicator"]: r["direction"] for r in _rows("synthetic_action_plan.csv")}
    targets = yaml.safe_load((PARAMETERS_DIR / "2025.yaml").read_text())["review"]["indicators"]
    got = ctx.review.review_tables()[0].df.set_index("indicator")["SPC assurance"]
    for ind, values in series.items():
        _, lo, hi, _ = _xmr_limits(values)
        target = targets[ind]["monthly_target"]
        good_high = plan_dir[ind] == "increase"
        if target > hi:
            exp = "fail" if good_high else "pass"
        elif target < lo:
            exp = "pass" if good_high else "fail"
        else:
            exp = "inconsistent"
        assert got[ind] == exp, ind
    assert got["OCGs subject to partnership disruption"] == "not assessed"
    assert got["Section 136 detentions (month)"] == "not assessed"


# --------------------------------------------------------------------------- chapter 5
def test_morile_table_rank_order(ctx) -> None:
    df = ctx.priorities.morile_table().df
    assert list(df["rank"]) == list(range(1, len(df) + 1))
    scores = list(df["priority score"])
    assert scores == sorted(scores, reverse=True)
    # The score of the median answers = harm × likelihood × organisational position of the
    # median answers (note of the table); the priority score lies within the scorers' range.
    np.testing.assert_allclose(df["score of the median answers"],
                               round_half_up(df["harm"] * df["likelihood"]
                                             * df["organisational position"], 1), atol=1e-9)
    assert (df["lowest scorer"] <= df["priority score"]).all()
    assert (df["priority score"] <= df["highest scorer"]).all()
    sheets = pd.concat([pd.read_csv(p) for p in sorted(SYN.glob("synthetic_morile_scorer_*.csv"))])
    scorers = sheets.groupby("theme")["scorer"].nunique()
    assert set(df["theme"]) == set(scorers.index)
    assert dict(zip(df["theme"], df["scorers"], strict=True)) == scorers.to_dict()


def test_priority_scores_volumes(ctx, raw_da, police: pd.DataFrame) -> None:
    s = ctx.priorities.priority_scores.set_index("theme")
    da_2025 = sum(r["date"][:4] == "2025" for r in raw_da)
    assert s.loc["Domestic abuse", "volume basis"] == f"{da_2025:,} in Jan 2025 – Dec 2025"
    # Volume = quintile of the measured themes' counts: ceil(5 * r / n), r = themes at or below.
    year = police.loc[YEAR_2025].sum()
    ksi = next(r for r in _rows("synthetic_ksi.csv") if r["year"] == "2025")
    counts = {
        "Domestic abuse": da_2025,
        "Substance misuse": int(year["Drugs"]),
        "Mental health": sum(int(r["detentions"]) for r in _rows("synthetic_section_136.csv")
                             if r["month"].startswith("2025")),
        "Anti-social behaviour": int(year[ASB]),
        "Road safety (KSI)": int(ksi["killed"]) + int(ksi["seriously_injured"]),
    }
    n = len(counts)
    for theme, c in counts.items():
        r = sum(other <= c for other in counts.values())
        assert s.loc[theme, "volume"] == math.ceil(5 * r / n), theme
        assert s.loc[theme, "volume basis"].startswith(f"{c:,} in "), theme
    # hand scores from the parameters file win
    raw = yaml.safe_load((PARAMETERS_DIR / "2025.yaml").read_text())["priorities"]
    for theme, v in raw["volume"].items():
        assert s.loc[theme, "volume"] == v and s.loc[theme, "volume basis"] == "hand score"
    for key in ("perception", "influence"):
        assert s[key].to_dict() == raw[key]


def test_recommendations(ctx) -> None:
    r = ctx.priorities.recommendations
    n = ctx.params.priorities.n_priorities
    morile = ctx.priorities.morile_table().df.set_index("theme")["rank"]
    matrix = ctx.priorities.priority_ranked.set_index("theme")["rank"]
    assert (r["morile_rank"].to_numpy() == morile[r["theme"]].to_numpy()).all()
    assert (r["matrix_rank"].to_numpy() == matrix[r["theme"]].to_numpy()).all()
    np.testing.assert_allclose(r["mean_rank"], (r["morile_rank"] + r["matrix_rank"]) / 2)
    cross = r[r["theme"].isin(ctx.params.priorities.cross_cutting)]
    assert list(cross["theme"]) == ["Reoffending"]
    assert (cross["recommendation"] == "cross-cutting theme").all()
    rest = r[~r["theme"].isin(ctx.params.priorities.cross_cutting)].sort_values(
        ["mean_rank", "morile_rank"], kind="stable")
    keys = list(zip(rest["mean_rank"], rest["morile_rank"], strict=True))
    cut = keys[n - 1]
    expected = {t for t, k in zip(rest["theme"], keys, strict=True) if k <= cut}
    assert set(r.loc[r["recommendation"] == "priority", "theme"]) == expected
    if len(keys) <= n or keys[n] != cut:  # no tie at the cut-off
        assert len(expected) == n
    assert set(r["recommendation"]) <= {"priority", "cross-cutting theme", "monitor"}
    last = set(ctx.params.last_year_priorities)
    assert ((r["last year"] == "priority") == r["theme"].isin(last)).all()


def test_key_findings_numbers_and_priorities(ctx, police: pd.DataFrame) -> None:
    text = ctx.summary.key_findings().data.replace("\\", "")
    prev, cur = _window_sum(police, PREV_MONTHS)[TOTAL], _window_sum(police, CUR_MONTHS)[TOTAL]
    pct = abs(100 * (cur - prev) / prev)
    sentence = (f"Total crime (excluding ASB) {'decreased' if cur < prev else 'increased'} by "
                f"{pct:.1f}% (from {prev:,} to {cur:,} offences, {abs(cur - prev):,} "
                f"{'fewer' if cur < prev else 'more'})")
    assert sentence in text
    r = ctx.priorities.recommendations
    for theme in r.loc[r["recommendation"] == "priority", "theme"]:
        assert f"**{theme}**" in text, theme
    for theme in r.loc[r["recommendation"] == "cross-cutting theme", "theme"]:
        assert theme in text
    assert "SYNTHETIC" in text


# --------------------------------------------------------------------------- labelling
def _synthetic_specs(ctx) -> list:
    specs = [s for t in ctx.params.themes for s in ctx.themes.theme_partner_tables(t.name)]
    return specs + ctx.review.review_tables() + [ctx.priorities.morile_table(), ctx.sources.partner_sources_table(),
                                          ctx.priorities.priority_matrix_table()]


def test_synthetic_tables_say_so(ctx) -> None:
    specs = _synthetic_specs(ctx)
    assert len(specs) >= 10
    for s in specs:
        assert "SYNTHETIC" in s.title, s.name
        assert "SYNTHETIC" in s.note, s.name


def test_synthetic_charts_say_so(ctx) -> None:
    charts = [c for t in ctx.params.themes for c in ctx.themes.theme_partner_charts(t.name)]
    charts += ctx.review.review_charts() + [("morile_heatmap", ctx.priorities.morile_heatmap_chart())]
    try:
        assert len(charts) >= 10
        for name, c in charts:
            titles = " ".join(a.get_title(loc="left") for a in c.figure.axes)
            assert "SYNTHETIC" in titles + c.alt_text, name
    finally:
        for _, c in charts:
            plt.close(c.figure)


@pytest.mark.parametrize("what", ["recommendations_table", "priority_matrix_chart"])
def test_other_synthetic_outputs_say_so(ctx, what: str) -> None:
    if what == "recommendations_table":
        s = ctx.priorities.recommendations_table()
        text = s.title + s.note
    else:
        c = ctx.priorities.priority_matrix_chart()
        text = " ".join(a.get_title(loc="left") for a in c.figure.axes) + c.alt_text + \
            " ".join(t.get_text() for t in c.figure.texts + c.figure.axes[0].texts)
        plt.close(c.figure)
    assert "SYNTHETIC" in text


def test_police_only_tables_are_not_labelled_synthetic(ctx) -> None:
    specs = [s for t in ctx.params.themes for s in ctx.themes.theme_crime_tables(t.name)]
    assert len(specs) == 5
    for s in specs:
        assert "SYNTHETIC" not in s.title and "SYNTHETIC" not in s.note, s.name
    c = ctx.crime.monthly_spc_chart()
    try:
        assert "SYNTHETIC" not in c.figure.axes[0].get_title(loc="left") + c.alt_text
    finally:
        plt.close(c.figure)


# --------------------------------------------------------------------------- public build
def _count_cells(df: pd.DataFrame, columns: list[str]) -> list[float]:
    out = []
    for col in columns:
        for v in df[col]:
            try:
                out.append(float(str(v).replace(",", "")))
            except ValueError:
                pass
    return out


def test_public_publisher_withholds_confidential_and_small_counts(ctx, tmp_path: Path) -> None:
    pub = Publisher(tmp_path, audience="public", threshold=ctx.params.thresholds.disclosure)
    specs = [s for t in ctx.params.themes
             for s in ctx.themes.theme_partner_tables(t.name) + ctx.themes.theme_crime_tables(t.name)]
    confidential = [s for s in specs if s.confidential]
    assert [s.name for s in confidential] == ["domestic_abuse_repeat_victims"]
    for s in specs:
        html = pub.table(s.df, s.name, s.title, note=s.note, sensitive=s.sensitive,
                         confidential=s.confidential).data
        path = tmp_path / "tables" / f"{s.name}.csv"
        if s.confidential:
            assert not path.exists() and "partner-confidential" in html
            assert str(int(s.df["incidents"].iloc[-1])) not in html
            continue
        shown = pd.read_csv(path, dtype=str)
        cells = _count_cells(shown, s.df.attrs.get("count_columns", []))
        assert cells and not [v for v in cells if 1 <= v <= 4], s.name


def test_public_publisher_suppresses_a_small_count(ctx, tmp_path: Path) -> None:
    spec = ctx.themes.theme_partner_tables("Violence and domestic abuse")[0]
    df = spec.df.copy()
    prev_col, cur_col = df.attrs["count_columns"]
    df[prev_col] = df[prev_col].astype("Int64")
    df.loc[df.index[0], prev_col] = 3
    df.loc[df.index[0], "difference"] = df.loc[df.index[0], cur_col] - 3
    df.attrs = spec.df.attrs
    official = Publisher(tmp_path / "official", audience="official")
    public = Publisher(tmp_path / "public", audience="public", threshold=5)
    for pub in (official, public):
        pub.table(df, "t", spec.title, sensitive=True)
    off = pd.read_csv(tmp_path / "official" / "tables" / "t.csv", dtype=str)
    pubd = pd.read_csv(tmp_path / "public" / "tables" / "t.csv", dtype=str)
    assert off.loc[0, prev_col] == "3"
    assert pubd.loc[0, prev_col] != "3" and "<5" in pubd.loc[0].to_string()
    hidden = str(int(df.loc[df.index[0], "difference"]))
    assert pubd.loc[0, "difference"] != hidden  # the difference would reveal the 3
    assert not [v for v in _count_cells(pubd, [prev_col, cur_col]) if 1 <= v <= 4]
    # the other rows' counts are untouched
    assert pubd.loc[1:, cur_col].tolist() == off.loc[1:, cur_col].tolist()


# --------------------------------------------------------------------------- parameters
BASE = yaml.safe_load((PARAMETERS_DIR / "2025.yaml").read_text(encoding="utf-8"))


def _bad(tmp_path: Path, change) -> str:
    data = yaml.safe_load(yaml.safe_dump(BASE))
    change(data)
    p = tmp_path / "bad.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    with pytest.raises(ParameterError) as exc:
        load_parameters(p)
    return str(exc.value)


def test_parameters_copy_is_valid(tmp_path: Path) -> None:
    p = tmp_path / "ok.yaml"
    p.write_text(yaml.safe_dump(BASE, sort_keys=False), encoding="utf-8")
    assert load_parameters(p).themes[0].name == "Violence and domestic abuse"


def test_unknown_crime_type_in_theme(tmp_path: Path) -> None:
    msg = _bad(tmp_path, lambda d: d["themes"][0]["crime_types"].append("Violent crimes"))
    assert re.search(r"themes\[1\] \('Violence and domestic abuse'\)\.crime_types", msg)
    assert "Violent crimes" in msg


def test_unknown_partner_measure_in_theme(tmp_path: Path) -> None:
    msg = _bad(tmp_path, lambda d: d["themes"][1].update(partner_measures=["Council ASB"]))
    assert re.search(r"themes\[2\] \('Anti-social behaviour'\)\.partner_measures", msg)
    assert "Council ASB" in msg


def test_priorities_theme_missing_influence(tmp_path: Path) -> None:
    msg = _bad(tmp_path, lambda d: d["priorities"]["influence"].pop("Mental health"))
    assert re.search(r"priorities", msg)
    assert re.search(r"'Mental health' has no influence", msg)


def test_review_indicator_unknown_measure(tmp_path: Path) -> None:
    def change(d: dict) -> None:
        d["review"]["indicators"]["Section 136 detentions"]["measure"] = "S136 detentions"

    msg = _bad(tmp_path, change)
    assert re.search(r"review\.indicators\.Section 136 detentions\.measure", msg)
    assert "S136 detentions" in msg


def test_public_prose_never_quotes_a_small_count(tmp_path: Path, police: pd.DataFrame) -> None:
    data = yaml.safe_load(yaml.safe_dump(BASE))
    data["thresholds"]["disclosure"] = 30  # Bicycle theft (35 -> 16) and others now "small"
    p = tmp_path / "public.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    pub = sa.open_assessment(p, audience="public")
    prev, cur = _window_sum(police, PREV_MONTHS), _window_sum(police, CUR_MONTHS)
    small = {t for t in prev.index if 0 < prev[t] < 30 or 0 < cur[t] < 30}
    assert "Bicycle theft" in small
    ch = pub.crime.crime_change().set_index("category")
    # With any type hidden, the total less the other types would give it back: withheld too.
    withheld = small | {TOTAL}
    for t in prev.index:
        quoted = f"from {prev[t]:,} to {cur[t]:,}" in ch.loc[t, "sentence"]
        assert quoted == (t not in withheld), t
        assert bool(ch.loc[t, "small_count"]) == (t in withheld), t
    assert "withheld in the public report" in ch.loc[TOTAL, "sentence"]
    text = pub.summary.key_findings().data.replace("\\", "")
    for t in small:
        assert f"{t} ({prev[t]:,} → {cur[t]:,})" not in text, t
