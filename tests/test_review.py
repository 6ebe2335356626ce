"""Tests for sa_lib.stats.review: action-plan indicators against targets, with SPC assurance."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
import pytest

from sa_lib.data.partner import read_partner
from sa_lib.errors import OptionError
from sa_lib.paths import DATA_DIR
from sa_lib.stats.assurance import ASSURANCE_RESULTS, target_assurance
from sa_lib.stats.review import review_priorities, review_sentence, review_summary
from sa_lib.stats.targets import TARGET_STATUSES, target_status

ACTION_PLAN_CSV = DATA_DIR / "synthetic" / "synthetic_action_plan.csv"

# Twelve months of common-cause variation around 11.5: moving ranges 2,1,2,1,1,1,2,1,2,1,1.
STEADY = [10, 12, 11, 13, 12, 11, 10, 12, 11, 13, 12, 11]


def plan_frame(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["priority", "indicator", "period", "value", "target",
                                       "direction"])


def one(value: float | None, target: float | None, direction: str, period: str = "2025",
        indicator: str = "Indicator") -> pd.Series:
    plan = plan_frame([("Priority", indicator, period, value, target, direction)])
    return target_status(plan, period).iloc[0]


def monthly(indicator: str, values: list[float], start: str = "2024-01") -> pd.DataFrame:
    return pd.DataFrame({
        "indicator": indicator,
        "month": pd.period_range(start, periods=len(values), freq="M").astype(str),
        "value": values,
    })


def expected_limits(values: list[float]) -> tuple[float, float, float]:
    """mean ± 2.66 × mean moving range, computed by hand (no moving range is screened out)."""
    mean = sum(values) / len(values)
    ranges = [abs(b - a) for a, b in zip(values, values[1:], strict=False)]
    mr = sum(ranges) / len(ranges)
    assert max(ranges) < 3.267 * mr  # so NHSRplotthedots' screening drops nothing
    return mean, mean - 2.66 * mr, mean + 2.66 * mr


# --------------------------------------------------------------------- status branches


@pytest.mark.parametrize(
    ("value", "target", "direction", "status"),
    [
        (50, 55, "decrease", "met"),
        (55, 55, "decrease", "met"),  # exactly on target is met
        (56, 55, "decrease", "not met"),
        (260, 250, "increase", "met"),
        (250, 250, "increase", "met"),
        (249, 250, "increase", "not met"),
        (25.3, 25, "decrease", "not met"),
        (24.9, 25, "decrease", "met"),
        (None, 55, "decrease", "no data"),
        (None, 4, "increase", "no data"),
        (66, None, "decrease", "no target"),
        (None, None, "increase", "no target"),  # no target wins over no data
    ],
)
def test_status_branches(value, target, direction, status) -> None:
    assert one(value, target, direction)["status"] == status


def test_every_status_is_in_the_vocabulary() -> None:
    assert TARGET_STATUSES == ("met", "not met", "no data", "no target")


@pytest.mark.parametrize(
    ("value", "target", "direction", "sentence"),
    [
        (66, 55, "decrease",
         "Section 136 detentions: 66 in 2025 against a target of no more than 55: not met."),
        (55, 55, "decrease",
         "Section 136 detentions: 55 in 2025 against a target of no more than 55: met."),
        (511, 250, "increase",
         "Section 136 detentions: 511 in 2025 against a target of at least 250: met."),
        (3741, 3650, "decrease",
         "Section 136 detentions: 3,741 in 2025 against a target of no more than 3,650: not met."),
        (25.25, 24.5, "decrease",
         "Section 136 detentions: 25.3 in 2025 against a target of no more than 24.5: not met."),
        (None, 4, "increase", "Section 136 detentions: no data were returned for 2025: no data."),
        (66, None, "decrease",
         "Section 136 detentions: 66 in 2025 and no target was set: no target."),
        (None, None, "decrease",
         "Section 136 detentions: no data were returned for 2025 and no target was set: "
         "no target."),
    ],
)
def test_sentences(value, target, direction, sentence) -> None:
    assert one(value, target, direction, indicator="Section 136 detentions")["sentence"] == sentence


def test_month_sentence_names_the_month() -> None:
    row = one(5, 5, "decrease", period="2025-12", indicator="Detentions")
    assert row["sentence"] == "Detentions: 5 in December 2025 against a target of no more than 5: met."


def test_numbers_stay_numeric_and_input_is_not_mutated() -> None:
    plan = plan_frame([("P", "A", "2024", 10, 12, "decrease"), ("P", "A", "2025", 25.3, 25, "decrease")])
    before = plan.copy()
    out = target_status(plan, "2025")
    pd.testing.assert_frame_equal(plan, before)
    assert list(out.columns) == ["priority", "indicator", "period", "value", "target", "direction",
                                 "status", "previous_value", "sentence"]
    for col in ("value", "target", "previous_value"):
        assert out[col].dtype == np.float64
    assert out.loc[0, "value"] == 25.3 and out.loc[0, "previous_value"] == 10.0


def test_previous_value_is_the_previous_period_only() -> None:
    plan = plan_frame([
        ("P", "A", "2023", 1, 5, "decrease"), ("P", "A", "2025", 2, 5, "decrease"),  # 2024 missing
        ("P", "B", "2024", 7, 5, "decrease"), ("P", "B", "2025", 3, 5, "decrease"),
        ("P", "C", "2024-12", 9, 5, "decrease"), ("P", "C", "2025-01", 4, 5, "decrease"),
    ])
    out = target_status(plan, "2025").set_index("indicator")
    assert np.isnan(out.loc["A", "previous_value"])
    assert out.loc["B", "previous_value"] == 7
    assert out.loc["C", "previous_value"] == 9  # January's previous month is last December
    assert out.loc["C", "period"] == "2025-01"


def test_period_selection_rules() -> None:
    plan = plan_frame([
        ("P", "yearly", "2025", 10, 12, "decrease"),
        ("P", "yearly", "2025-06", 99, 12, "decrease"),  # the year's own row wins over a month
        ("P", "monthly", "2025-10", 6, 5, "decrease"),
        ("P", "monthly", "2025-12", 4, 5, "decrease"),
        ("P", "monthly", "2025-11", 5, 5, "decrease"),
        ("P", "monthly", "2026-01", 1, 5, "decrease"),  # after the period: never used
        ("P", "old", "2023", 1, 5, "decrease"),  # no row within 2025: left out
    ])
    out = target_status(plan, "2025")
    assert out["indicator"].tolist() == ["yearly", "monthly"]
    assert out["period"].tolist() == ["2025", "2025-12"]
    assert out["value"].tolist() == [10, 4]
    assert out["previous_value"].tolist()[1] == 5
    by_month = target_status(plan, "2025-11")
    assert by_month["indicator"].tolist() == ["monthly"]
    assert by_month["value"].tolist() == [5]


def test_period_may_be_int_or_period_and_plan_period_may_be_int() -> None:
    plan = plan_frame([("P", "A", 2025, 3, 5, "Decrease "), ("P", "A", 2024, 4, 5, "decrease")])
    a = target_status(plan, 2025)
    b = target_status(plan, pd.Period("2025", freq="Y"))
    pd.testing.assert_frame_equal(a, b)
    assert a.loc[0, "status"] == "met" and a.loc[0, "previous_value"] == 4
    assert a.loc[0, "direction"] == "decrease"


def test_plan_order_is_kept() -> None:
    plan = plan_frame([("Z", "z", "2025", 1, 2, "decrease"), ("A", "a", "2025", 1, 2, "decrease"),
                       ("M", "m", "2025", 1, 2, "decrease")])
    assert target_status(plan, "2025")["priority"].tolist() == ["Z", "A", "M"]


# --------------------------------------------------------------------- status validation


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        ([("P", "A", "2025", 1, 2, "up")], r"column 'direction' has 'up' in plan row 0"),
        ([("P", "A", "2025", 1, 2, None)], r"column 'direction' has None"),
        ([("P", "A", "2025", "n/a", 2, "decrease")],
         r"column 'value' has the non-numeric value 'n/a' in plan row 0"),
        ([("P", "A", "2025", 1, "ten", "decrease")], r"column 'target' has the non-numeric value 'ten'"),
        ([("P", "A", "2025", True, 2, "decrease")], r"column 'value'"),
        ([("P", "A", "2025", 1, 2, "decrease"), ("P", "A", "2025", 3, 2, "decrease")],
         r"2 rows \(rows \[0, 1\]\) for priority 'P', indicator 'A', period '2025'"),
        ([("P", "A", "25", 1, 2, "decrease")], r"column 'period' has '25' in plan row 0"),
        ([("P", "A", "2025-13", 1, 2, "decrease")], r"column 'period' has '2025-13'"),
        ([("P", "A", None, 1, 2, "decrease")], r"column 'period' has None"),
        ([("P", None, "2025", 1, 2, "decrease")], r"column 'indicator' is blank in plan row 0"),
        ([("P", "A", "2024", 1, 2, "decrease")], r"period='2025': no indicator .* \['2024'\]"),
    ],
)
def test_plan_validation(rows, match) -> None:
    with pytest.raises(OptionError, match=match):
        target_status(plan_frame(rows), "2025")


def test_missing_column_and_bad_period() -> None:
    plan = plan_frame([("P", "A", "2025", 1, 2, "decrease")])
    with pytest.raises(OptionError, match=r"missing column\(s\) \['target'\]"):
        target_status(plan.drop(columns="target"), "2025")
    with pytest.raises(OptionError, match="period must be a year"):
        target_status(plan, "FY2025")
    with pytest.raises(OptionError, match="plan must be a pandas DataFrame"):
        target_status([1, 2], "2025")
    with pytest.raises(OptionError, match="plan has no rows"):
        target_status(plan.iloc[0:0], "2025")


# --------------------------------------------------------------------- assurance


def test_assurance_limits_match_hand_calculation_and_each_assurance_type() -> None:
    series = pd.concat([monthly(k, STEADY) for k in ("below", "above", "straddle", "up_pass",
                                                     "up_fail")])
    targets = {"below": 20, "above": 5, "straddle": 12, "up_pass": 5, "up_fail": 20}
    directions = {"below": "decrease", "above": "decrease", "straddle": "decrease",
                  "up_pass": "increase", "up_fail": "increase"}
    out = target_assurance(series, targets, directions).set_index("indicator")
    mean, lpl, upl = expected_limits(STEADY)
    assert (mean, round(lpl, 3), round(upl, 3)) == (11.5, 7.873, 15.127)
    for ind in targets:
        assert out.loc[ind, "mean"] == pytest.approx(mean)
        assert out.loc[ind, "lpl"] == pytest.approx(lpl)
        assert out.loc[ind, "upl"] == pytest.approx(upl)
        assert out.loc[ind, "n_points"] == 12
        assert out.loc[ind, "target"] == targets[ind]
        assert out.loc[ind, "variation_type"] == "common_cause"
        assert out.loc[ind, "assurance_reason"] is None
    # Decrease is better: a target above the upper limit is consistently met (all values
    # are below it), one below the lower limit consistently failed; between them, hit and miss.
    assert out["assurance_type"].to_dict() == {
        "below": "consistent_pass", "above": "consistent_fail", "straddle": "inconsistent",
        "up_pass": "consistent_pass", "up_fail": "consistent_fail",
    }
    assert out["assurance"].to_dict() == {
        "below": "pass", "above": "fail", "straddle": "inconsistent", "up_pass": "pass",
        "up_fail": "fail",
    }
    assert out.index.tolist() == list(targets)  # order of first appearance
    assert out.loc["below", "sentence"] == (
        "below: consistently meeting the monthly target of no more than 20 "
        "(process limits 7.9 to 15.1 over 12 months).")
    assert out.loc["above", "sentence"] == (
        "above: consistently failing the monthly target of no more than 5; it will not be met "
        "without a change to the process (process limits 7.9 to 15.1 over 12 months).")
    assert out.loc["straddle", "sentence"] == (
        "straddle: hit and miss against the monthly target of no more than 12, which lies within "
        "the process limits 7.9 to 15.1 over 12 months, so it will be met in some months and "
        "missed in others.")
    assert out.loc["up_pass", "sentence"].startswith(
        "up_pass: consistently meeting the monthly target of at least 5 ")


@pytest.mark.parametrize(("target", "assurance"), [(20, "pass"), (30, "inconsistent"),
                                                  (45, "fail")])
def test_assurance_on_a_second_hand_worked_series(target, assurance) -> None:
    values = [30, 34, 31, 29, 35, 33, 30, 28, 32, 36, 31, 30, 33, 29]
    mean, lpl, upl = expected_limits(values)
    assert 20 < lpl < 30 < upl < 45
    out = target_assurance(monthly("x", values), target=target, direction="increase").iloc[0]
    assert (out["mean"], out["lpl"], out["upl"]) == pytest.approx((mean, lpl, upl))
    assert out["assurance"] == assurance


def test_too_few_points_is_a_result_not_an_exception() -> None:
    series = pd.concat([monthly("short", [5, 6, 4, 5, 7]), monthly("gappy", [5.0] + [np.nan] * 12),
                        monthly("long", STEADY)])
    out = target_assurance(series, {"short": 5, "gappy": 5, "long": 20}, "decrease")
    out = out.set_index("indicator")
    assert out.loc["short", "assurance"] == "not assessed"
    assert out.loc["short", "assurance_type"] is None
    assert out.loc["short", "assurance_reason"] == (
        "too few points for SPC assurance (5 months with data; at least 12 needed)")
    assert out.loc["short", "sentence"] == (
        "short: too few points for SPC assurance (5 months with data; at least 12 needed).")
    assert np.isnan(out.loc["short", ["mean", "lpl", "upl"]].astype(float)).all()
    assert out.loc["gappy", "n_points"] == 1  # blanks are not points
    assert out.loc["gappy", "sentence"].endswith("(1 month with data; at least 12 needed).")
    assert out.loc["long", "assurance"] == "pass"
    fewer = target_assurance(monthly("short", [5, 6, 4, 5, 7]), 10, "decrease", min_points=5)
    assert fewer.loc[0, "assurance"] == "pass"


def test_no_target_still_gives_limits() -> None:
    out = target_assurance(monthly("x", STEADY), None, "decrease").iloc[0]
    assert out["assurance"] == "not assessed" and out["assurance_reason"] == "no monthly target"
    assert out["upl"] == pytest.approx(expected_limits(STEADY)[2])
    assert out["sentence"] == ("x: no monthly target, so no SPC assurance "
                               "(process limits 7.9 to 15.1 over 12 months).")
    assert set(ASSURANCE_RESULTS) == {"pass", "fail", "inconsistent", "not assessed"}


def test_special_cause_shows_in_variation_type() -> None:
    out = target_assurance(monthly("x", [*STEADY, 40]), 20, "decrease").iloc[0]
    assert out["variation_type"] == "special_cause_concern"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"direction": "sideways"}, r"direction must be one of \('increase', 'decrease'\)"),
        ({"direction": "neutral"}, "direction must be one of"),
        ({"direction": {"other": "decrease"}}, "direction for indicator 'x'"),
        ({"target": {"y": 3}}, r"target names indicator\(s\) \['y'\]"),
        ({"target": "ten"}, "target for indicator 'x' must be a number, got 'ten'"),
        ({"min_points": 1}, "min_points must be a whole number of at least 2"),
    ],
)
def test_assurance_option_validation(kwargs, match) -> None:
    args = {"target": 10, "direction": "decrease", **kwargs}
    with pytest.raises(OptionError, match=match):
        target_assurance(monthly("x", STEADY), **args)


def test_assurance_data_validation() -> None:
    good = monthly("x", STEADY)
    with pytest.raises(OptionError, match=r"missing column\(s\) \['month'\]"):
        target_assurance(good.drop(columns="month"), 10, "decrease")
    bad = good.astype({"value": object})
    bad.loc[3, "value"] = "n/a"
    with pytest.raises(OptionError, match="column 'value' has the non-numeric value 'n/a' in series row 3"):
        target_assurance(bad, 10, "decrease")
    with pytest.raises(OptionError, match="appears more than once"):
        target_assurance(pd.concat([good, good.iloc[[0]]]), 10, "decrease")
    nodate = good.copy()
    nodate.loc[2, "month"] = "March"
    with pytest.raises(OptionError, match="column 'month' of the series could not be read"):
        target_assurance(nodate, 10, "decrease")


# --------------------------------------------------------------------- review


def test_review_joins_status_and_assurance() -> None:
    plan = plan_frame([
        ("Mental health", "Detentions", "2025", 66, 55, "decrease"),
        ("ASB", "ASB incidents", "2025", 3741, 3650, "decrease"),
        ("Mental health", "Detentions (month)", "2025-11", 5, 5, "decrease"),
        ("Mental health", "Detentions (month)", "2025-12", 5, 5, "decrease"),
        ("Drugs", "Needle finds", "2025", 646, None, "decrease"),
    ])
    # 12 months of 2025 plus one month of 2026 that must be ignored (after the period).
    series = monthly("Detentions", [*STEADY, 99], start="2025-01")
    out = review_priorities(plan, "2025", series, {"Detentions": 20})
    out = out.set_index("indicator")
    assert out["status"].to_dict() == {"Detentions": "not met", "ASB incidents": "not met",
                                       "Detentions (month)": "met", "Needle finds": "no target"}
    assert out.loc["Detentions", "n_points"] == 12
    assert out.loc["Detentions", "upl"] == pytest.approx(expected_limits(STEADY)[2])
    assert out.loc["Detentions", "monthly_target"] == 20
    assert out.loc["Detentions", "assurance"] == "pass"
    assert out.loc["Detentions", "target"] == 55  # the annual target is kept apart
    # The plan's own monthly rows are a (too short) series with the plan's monthly target.
    assert out.loc["Detentions (month)", "n_points"] == 2
    assert out.loc["Detentions (month)", "monthly_target"] == 5
    assert out.loc["Detentions (month)", "assurance_reason"].startswith("too few points")
    for ind in ("ASB incidents", "Needle finds"):
        assert out.loc[ind, "assurance"] == "not assessed"
        assert out.loc[ind, "assurance_reason"] == "no monthly series"
        assert out.loc[ind, "n_points"] == 0
        assert np.isnan(out.loc[ind, "upl"])
    assert out.loc["ASB incidents", "assurance_sentence"] == (
        "ASB incidents: no monthly series, so no SPC assurance.")
    assert set(out["assurance"]) <= set(ASSURANCE_RESULTS)


def test_review_series_replaces_plan_months_and_targets_default_from_plan() -> None:
    plan = plan_frame([("P", "m", f"2025-{i:02d}", v, 15, "decrease")
                       for i, v in enumerate(STEADY, start=1)])
    from_plan = review_priorities(plan, "2025").iloc[0]
    assert from_plan["n_points"] == 12 and from_plan["monthly_target"] == 15
    assert from_plan["assurance"] == "inconsistent"  # 15 lies between 7.9 and 15.1
    replaced = review_priorities(plan, "2025", monthly("m", [1, 2] * 8, start="2024-09"),
                                 {"m": 20}).iloc[0]
    assert replaced["n_points"] == 16 and replaced["assurance"] == "pass"
    no_target = review_priorities(plan, "2025", monthly_targets={"m": None}).iloc[0]
    assert no_target["assurance_reason"] == "no monthly target"


def test_review_without_any_series() -> None:
    plan = plan_frame([("P", "A", "2025", 1, 2, "decrease")])
    out = review_priorities(plan, "2025")
    assert out.loc[0, "assurance"] == "not assessed"
    assert out.loc[0, "assurance_reason"] == "no monthly series"


def test_review_validation() -> None:
    plan = plan_frame([("P", "A", "2025", 1, 2, "decrease"), ("Q", "A", "2025", 1, 2, "increase")])
    with pytest.raises(OptionError, match="indicator 'A' has both directions"):
        review_priorities(plan, "2025")
    plan = plan_frame([("P", "A", "2025", 1, 2, "decrease")])
    with pytest.raises(OptionError, match=r"monthly_targets names indicator\(s\) \['B'\]"):
        review_priorities(plan, "2025", monthly_targets={"B": 3})
    with pytest.raises(OptionError, match="target for indicator 'A' must be a number"):
        review_priorities(plan, "2025", monthly_targets={"A": "3"})


# --------------------------------------------------------------------- summary


@pytest.mark.parametrize(
    ("statuses", "sentence"),
    [
        (["met", "met", "not met", "not met", "not met", "no data"],
         "Of 6 indicators, 2 met their target, 3 did not and 1 had no data."),
        (["met", "not met", "no target"],
         "Of 3 indicators, 1 met its target, 1 did not and 1 had no target."),
        (["not met", "not met", "no data"], "Of 3 indicators, 2 did not meet their target and 1 had no data."),
        (["met", "met"], "All 2 indicators met their target."),
        (["not met", "not met"], "None of the 2 indicators met their target."),
        (["no data"], "The only indicator had no data."),
        (["met"], "The only indicator met its target."),
        ([], "There were no indicators to review."),
    ],
)
def test_summary_sentences(statuses, sentence) -> None:
    review = pd.DataFrame({"status": pd.Series(statuses, dtype=object)})
    assert review_sentence(review) == sentence


def test_summary_counts_overall_and_by_priority() -> None:
    review = pd.DataFrame({"priority": ["B", "A", "B", "A"],
                           "status": ["met", "no data", "not met", "no target"]})
    overall = review_summary(review)
    assert overall.drop(columns="sentence").to_dict("records") == [
        {"indicators": 4, "met": 1, "not_met": 1, "no_data": 1, "no_target": 1}]
    by = review_summary(review, by="priority")
    assert by["priority"].tolist() == ["B", "A"]
    assert by["met"].tolist() == [1, 0] and by["indicators"].tolist() == [2, 2]
    assert by["sentence"].tolist() == ["Of 2 indicators, 1 met its target and 1 did not.",
                                       "Of 2 indicators, 1 had no data and 1 had no target."]
    with pytest.raises(OptionError, match="column 'status' has unknown value 'done'"):
        review_summary(pd.DataFrame({"status": ["done"]}))
    with pytest.raises(OptionError, match=r"missing column\(s\) \['theme'\]"):
        review_summary(review, by="theme")


# --------------------------------------------------------------------- bundled data


def expected_from_csv(period: str) -> dict[str, tuple[str, str]]:
    """Indicator -> (period used, status), worked out from the raw CSV without sa_lib."""
    with ACTION_PLAN_CSV.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    chosen: dict[str, dict] = {}
    for r in rows:
        if r["period"] != period and not r["period"].startswith(period + "-"):
            continue
        best = chosen.get(r["indicator"])
        if best is None or (best["period"] != period and r["period"] > best["period"]):
            chosen[r["indicator"]] = r
    out = {}
    for ind, r in chosen.items():
        if r["target"] == "":
            status = "no target"
        elif r["value"] == "":
            status = "no data"
        else:
            v, t = float(r["value"]), float(r["target"])
            status = "met" if (v <= t if r["direction"] == "decrease" else v >= t) else "not met"
        out[ind] = (r["period"], status)
    return out


def test_bundled_action_plan_2025() -> None:
    plan = read_partner(ACTION_PLAN_CSV, "action_plan")
    out = target_status(plan, "2025")
    expected = expected_from_csv("2025")
    assert dict(zip(out["indicator"], zip(out["period"], out["status"], strict=True),
                    strict=True)) == expected
    assert expected["Section 136 detentions"] == ("2025", "not met")
    assert expected["OCGs subject to partnership disruption"] == ("2025", "no data")
    assert expected["Section 136 detentions (month)"] == ("2025-12", "met")
    sentences = dict(zip(out["indicator"], out["sentence"], strict=True))
    assert sentences["Section 136 detentions"] == (
        "Section 136 detentions: 66 in 2025 against a target of no more than 55: not met.")
    assert sentences["One-stop-shop visits"] == (
        "One-stop-shop visits: 511 in 2025 against a target of at least 250: met.")
    review = review_priorities(plan, "2025")
    counts = pd.Series([s for _, s in expected.values()]).value_counts()
    summary = review_summary(review).iloc[0]
    assert summary["indicators"] == len(expected)
    assert summary["met"] == counts.get("met", 0)
    assert summary["not_met"] == counts.get("not met", 0)
    assert summary["no_data"] == counts.get("no data", 0)
    assert review.set_index("indicator").loc["Section 136 detentions (month)", "n_points"] == 3


def test_assurance_lower_limits_of_counts_are_raised_to_zero() -> None:
    """#13: a count's process limit below 0 (needle finds -21.0) is shown as 0, not negative."""
    from sa_lib.stats.assurance import target_assurance

    months = pd.period_range("2024-01", periods=24, freq="M")
    values = [1, 9, 0, 8, 1, 10, 0, 9, 2, 8, 0, 9] * 2  # mean 4.8, wide moving ranges
    series = pd.DataFrame({"indicator": "finds", "month": months, "value": values})
    raw = target_assurance(series, target=5, direction="decrease")
    assert raw["lpl"].iloc[0] < 0  # the plain XmR limit
    floored = target_assurance(series, target=5, direction="decrease", limit_floor={"finds": 0})
    assert floored["lpl"].iloc[0] == 0.0
    assert floored["upl"].iloc[0] == raw["upl"].iloc[0]
    assert "process limits 0 to" in floored["sentence"].iloc[0]
    with pytest.raises(OptionError, match="limit_floor names indicator"):
        target_assurance(series, target=5, direction="decrease", limit_floor={"other": 0})


def test_review_chapter_floors_count_indicators_only() -> None:
    from sa_lib.report.assessment import open_assessment

    a = open_assessment("parameters/2025.yaml", "official", "")
    r = a.review.review.set_index("indicator")
    # Needle finds and Section 136 (counts) had lower limits -21.0 and -3.0 before #13.
    assert r.loc["Needle finds collected by street scene", "lpl"] == 0.0
    assert r.loc["Section 136 detentions", "lpl"] == 0.0
    assert "process limits 0 to 126.8" in r.loc["Needle finds collected by street scene",
                                                  "assurance_sentence"]
    # A rate keeps its own limits (the repeat rate's are well above 0 anyway).
    assert r.loc["Repeat victims (% of domestic abuse incidents)", "lpl"] > 0
    assert "a count cannot be negative" in a.review.review_tables()[0].note
