"""Tests pinning every SPC rule to NHSRplotthedots 0.2.2 behaviour."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sa_lib.errors import OptionError
from sa_lib.stats.spc import spc_summary, xmr
from tests.spc_reference import reference_xmr

# rnorm(20) with set.seed(123) in R: the data of NHSRplotthedots' own snapshot test.
RNORM_123 = [
    -0.56047565, -0.23017749, 1.55870831, 0.07050839, 0.12928774, 1.71506499, 0.46091621,
    -1.26506123, -0.68685285, -0.44566197, 1.22408180, 0.35981383, 0.40077145, 0.11068272,
    -0.55584113, 1.78691314, 0.49785048, -1.96661716, 0.70135590, -0.47279141,
]


def series(values: list[float], start: str = "2020-01-01") -> pd.DataFrame:
    return pd.DataFrame(
        {"month": pd.date_range(start, periods=len(values), freq="MS"), "y": values}
    )


def run(values: list[float], **kw: object) -> pd.DataFrame:
    kw.setdefault("improvement", "increase")
    return xmr(series(values), value="y", date="month", **kw)


# --------------------------------------------------------------------- limits


def test_limits_match_ptd_snapshot_values() -> None:
    out = run(RNORM_123)
    assert out["mean"].iloc[0] == pytest.approx(0.1416238, abs=1e-7)
    assert out["lpl"].iloc[0] == pytest.approx(-3.01138, abs=1e-5)
    assert out["upl"].iloc[0] == pytest.approx(3.294627, abs=1e-6)


def test_outlier_screening_matches_ptd_snapshot() -> None:
    y = list(RNORM_123)
    y[14] = 10  # R's y[15]
    screened = run(y)
    assert screened["mean"].iloc[0] == pytest.approx(0.6694159, abs=1e-7)
    assert screened["lpl"].iloc[0] == pytest.approx(-2.383666, abs=1e-6)
    assert screened["upl"].iloc[0] == pytest.approx(3.722497, abs=1e-6)
    unscreened = run(y, screen_outliers=False)
    assert unscreened["mean"].iloc[0] == pytest.approx(0.6694159, abs=1e-7)
    assert unscreened["lpl"].iloc[0] == pytest.approx(-4.596625, abs=1e-6)
    assert unscreened["upl"].iloc[0] == pytest.approx(5.935457, abs=1e-6)


def test_deviations_vignette_example() -> None:
    y = [1, 2, 1, 2, 10] + [1, 2] * 6 + [1]
    assert round(run(y)["upl"].iloc[0], 2) == 4.6
    assert round(run(y)["lpl"].iloc[0], 2) == -0.72
    assert round(run(y, screen_outliers=False)["upl"].iloc[0], 2) == 6.95
    assert round(run(y, screen_outliers=False)["lpl"].iloc[0], 2) == -3.06


def test_hand_worked_limits_and_near_lines() -> None:
    # mean 3, moving ranges 2,2,2 -> mean MR 2
    out = run([2, 4, 2, 4], screen_outliers=False)
    assert out["mean"].iloc[0] == pytest.approx(3.0)
    assert out["upl"].iloc[0] == pytest.approx(3 + 2.66 * 2)
    assert out["lpl"].iloc[0] == pytest.approx(3 - 2.66 * 2)
    assert out["near_upl"].iloc[0] == pytest.approx(3 + 2 * 2.66 / 3 * 2)
    assert out["near_lpl"].iloc[0] == pytest.approx(3 - 2 * 2.66 / 3 * 2)


def test_screening_uses_strict_less_than_and_keeps_mean() -> None:
    # MRs: 0,0,0,7 -> mean 1.75; 3.267*1.75 = 5.717 -> 7 dropped -> mean MR 0
    out = run([1, 1, 1, 1, 8])
    assert out["mean"].iloc[0] == pytest.approx(12 / 5)
    assert out["upl"].iloc[0] == pytest.approx(12 / 5)  # zero-width limits
    # An MR exactly equal to 3.267 x mean MR is dropped too (keep only '<').
    y = [0.0, 0.0, 0.0, 3.267 * 0.0]
    assert not run(y)["special_cause"].any()


def test_limits_are_not_clamped_at_zero() -> None:
    out = run([0, 1, 0, 4, 0, 1, 0, 0, 1, 0, 2, 0])
    assert out["lpl"].iloc[0] < 0


def test_fix_after_n_points_uses_first_n_points_only() -> None:
    base = [10, 11, 9, 10, 12, 10, 9, 11, 10, 10, 11, 9]
    out = run(base + [30, 31, 32], fix_after_n_points=12)
    ref = run(base)
    assert out["mean"].iloc[-1] == pytest.approx(ref["mean"].iloc[0])
    assert out["upl"].iloc[-1] == pytest.approx(ref["upl"].iloc[0])
    assert out["special_cause"].iloc[-3:].all()


@pytest.mark.parametrize("n", [0, 11, 5.5, True])
def test_fix_after_n_points_validated(n: object) -> None:
    with pytest.raises(OptionError, match="fix_after_n_points"):
        run(list(range(20)), fix_after_n_points=n)


# --------------------------------------------------------------------- rules


def test_single_point_outside_limits_strict() -> None:
    out = run([5, 5, 5, 5, 6, 5, 5, 5, 5, 5, 5, 40])
    assert out["rule"].iloc[-1] == "outside_limits"
    assert out["special_cause_type"].iloc[-1] == "Above UCL"
    # a point exactly on a limit is inside
    out = run([2, 4, 2, 4], screen_outliers=False)
    assert not out["outside_limits"].any()


def test_point_exactly_on_upl_is_not_outside() -> None:
    # mean 0, mean MR 1 after one pass: make y equal to UPL exactly via fix_after_n_points
    base = [0.0, 1.0] * 6  # mean .5, MR 1 -> UPL .5 + 2.66
    out = run(base + [0.5 + 2.66], fix_after_n_points=12)
    assert not out["outside_limits"].iloc[-1]
    assert out["close_to_limits"].iloc[-1]


def test_run_of_seven_above_mean() -> None:
    # mean 11.18: the 12 at index 7 and the seven 11.5s make a run of 8 above the mean
    y = [10, 12] * 4 + [11.5] * 7 + [10, 12] * 2
    out = run(y, screen_outliers=False)
    flagged = out["special_cause_type"].tolist()
    assert flagged[7:15] == ["7 Points Above CL"] * 8
    assert out["rule"].iloc[7:15].eq("run").all()
    assert not out["special_cause"].iloc[:7].any()
    assert not out["special_cause"].iloc[15:].any()


def test_six_above_is_not_a_run() -> None:
    y = [1, 2, 1, 2, 1, 2, 1, 5, 6, 5, 6, 5, 6, 1, 2, 1]
    assert "7 Points Above CL" not in run(y)["special_cause_type"].tolist()


def test_point_on_mean_breaks_run() -> None:
    # mean is exactly 3: 3 above, one on the mean, 3 above -> no run
    y = [5, 4, 5, 3, 5, 4, 5, 1, 2, 1, 2, 1, 1]
    out = run(y, screen_outliers=False)
    assert out["mean"].iloc[0] == 3.0
    assert out["relative_to_mean"].iloc[3] == 0
    assert not out["special_cause"].any()
    # the same series with the 3 moved just above the mean is a run of 7
    y2 = [5, 4, 5, 3.2, 5, 4, 5, 1, 2, 1, 2, 1, 0.8]
    assert run(y2, screen_outliers=False)["rule"].iloc[:7].eq("run").all()


def test_trend_of_seven_increasing_flags_all_seven() -> None:
    y = [5, 4, 5, 1, 2, 3, 4, 5, 6, 7, 4, 5]
    out = run(y, screen_outliers=False)
    assert out["special_cause_type"].iloc[3:10].eq("7 Point Trend (Increasing)").all()
    assert out["point_type"].iloc[3:10].eq("special_cause_improvement").all()
    down = run(y, improvement="decrease", screen_outliers=False)
    assert down["point_type"].iloc[3:10].eq("special_cause_concern").all()


def test_tie_breaks_trend() -> None:
    y = [5, 4, 5, 1, 2, 3, 3, 4, 5, 6, 4, 5]
    assert (run(y)["rule"] != "trend").all()


def test_trend_peak_labelled_by_outgoing_leg() -> None:
    y = [10, 2, 10, 2, 3, 4, 5, 6, 7, 8, 9, 8, 7, 6, 5, 4, 3, 10, 2]
    labels = run(y, screen_outliers=False)["special_cause_type"].tolist()
    assert labels[:3] == ["Common Cause"] * 3
    assert labels[3:10] == ["7 Point Trend (Increasing)"] * 7
    assert labels[10] == "7 Point Trend (Decreasing)"  # the shared peak takes the falling leg
    assert labels[11:17] == ["7 Point Trend (Decreasing)"] * 6
    assert labels[17:] == ["Common Cause"] * 2


def test_two_in_three_flags_only_near_points() -> None:
    # steady series with two points beyond the near line on the same side
    # limits fixed on the first 12 points: mean 10.5, near line 12.27, UPL 13.16
    base = [10, 11] * 6
    out = run(base + [12.8, 11, 12.8, 10], fix_after_n_points=12)
    lab = out["special_cause_type"].tolist()
    assert out["close_to_limits"].iloc[12] and out["close_to_limits"].iloc[14]
    assert not out["outside_limits"].iloc[12:15].any()
    assert lab[12] == "2 in 3 Above CL" and lab[14] == "2 in 3 Above CL"
    assert lab[13] == "Common Cause"  # the third point is on the same side but not near


def test_two_in_three_needs_all_three_on_one_side() -> None:
    # PTD's own test (issue #143): near points on opposite sides are common cause
    y = [1.0, -1.0] * 8
    y[14], y[15] = 5.5, -5.5
    out = xmr(series(y), "y", "month", improvement="increase")
    assert out["point_type"].iloc[-2:].tolist() == ["common_cause", "common_cause"]


def test_points_outside_limits_are_not_near() -> None:
    base = [10, 11] * 6
    out = run(base + [20, 11, 12.8], fix_after_n_points=12)
    # 20 is outside (not near), so 12.6 alone is not a 2-of-3
    assert out["rule"].iloc[-3] == "outside_limits"
    assert out["special_cause_type"].iloc[-1] == "Common Cause"


def test_precedence_outside_over_trend_over_run() -> None:
    y = [1, 1, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 7, 60]
    out = run(y, screen_outliers=False)
    assert out["rule"].iloc[-1] == "outside_limits"
    assert out["rule"].iloc[7:13].eq("trend").all()


def test_neutral_direction_labels_high_and_low() -> None:
    out = run([5, 5, 5, 5, 6, 5, 5, 5, 5, 5, 5, 40], improvement="neutral")
    assert out["point_type"].iloc[-1] == "special_cause_neutral_high"


def test_ptd_unit_vectors_two_in_three() -> None:
    # ptd_two_in_three(c(0,0,1,0,1,0,0), all above) flags points 3 and 5 (close ones)
    from sa_lib.stats.spc import _special_cause

    close = np.array([0, 0, 1, 0, 1, 0, 0], bool)
    rtm = np.ones(7)
    seg = np.zeros(7, bool)
    seg[0] = True
    y = np.array([0, 1, 0, 1, 0, 1, 0], float)
    rule, _, _ = _special_cause(y, rtm, close, np.zeros(7, bool), seg)
    assert (rule == 3).tolist() == [False, False, True, False, True, False, False]
    close = np.array([1, 0, 0, 1, 1], bool)
    seg5 = np.array([True, False, False, False, False])
    rule, _, _ = _special_cause(np.zeros(5), np.ones(5), close, np.zeros(5, bool), seg5)
    assert (rule == 3).tolist() == [False, False, False, True, True]


# --------------------------------------------------------------------- groups, rebase


def test_groups_are_independent_and_input_index_kept() -> None:
    a = series([1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2]).assign(area="A")
    b = series([100, 120, 80, 110, 90, 100, 120, 80, 110, 90, 100, 400]).assign(area="B")
    df = pd.concat([b, a], ignore_index=True).sample(frac=1, random_state=1)
    out = xmr(df, "y", "month", by="area", improvement="decrease")
    ra = run(a["y"].tolist())
    assert out.loc[out.area == "A", "upl"].iloc[0] == pytest.approx(ra["upl"].iloc[0])
    assert out.loc[out.area == "B"].iloc[-1]["point_type"] == "special_cause_concern"
    assert sorted(out.index) == sorted(df.index)
    assert out.groupby("area")["month"].apply(lambda s: s.is_monotonic_increasing).all()


def test_rebase_starts_new_segment_on_the_rebase_date() -> None:
    y = [10, 11, 10, 11, 10, 11, 20, 21, 20, 21, 20, 21]
    df = series(y)
    out = xmr(df, "y", "month", rebase=["2020-07-01"], improvement="increase")
    assert out["rebase_group"].tolist() == [0] * 6 + [1] * 6
    assert out["mean"].iloc[0] == pytest.approx(10.5)
    assert out["mean"].iloc[-1] == pytest.approx(20.5)
    # the moving range across the break (11 -> 20) is not used
    assert out["upl"].iloc[-1] == pytest.approx(20.5 + 2.66 * 1)
    # rebase date not in the data does nothing; rebase on first date gives group 1 only
    assert (xmr(df, "y", "month", rebase=["1999-01-01"])["rebase_group"] == 0).all()
    assert (xmr(df, "y", "month", rebase=["2020-01-01"])["rebase_group"] == 1).all()


def test_rebase_per_group_dict() -> None:
    a = series([1, 2] * 6).assign(area="A")
    b = series([1, 2] * 6).assign(area="B")
    out = xmr(pd.concat([a, b]), "y", "month", by="area", rebase={"B": ["2020-07-01"]})
    assert out.loc[out.area == "A", "rebase_group"].max() == 0
    assert out.loc[out.area == "B", "rebase_group"].max() == 1
    with pytest.raises(OptionError, match="'C'"):
        xmr(pd.concat([a, b]), "y", "month", by="area", rebase={"C": ["2020-07-01"]})


def test_trend_restarts_at_rebase() -> None:
    y = [1, 2, 3, 4, 5, 6, 7, 8]
    out = xmr(series(y), "y", "month", rebase=["2020-05-01"], improvement="increase")
    assert (out["rule"] != "trend").all()


# --------------------------------------------------------------------- edge cases


def test_constant_series_with_screening_gives_nan_limits_and_no_signal() -> None:
    out = run([5] * 15)
    assert out["upl"].isna().all() and out["lpl"].isna().all()
    assert (out["point_type"] == "common_cause").all()


def test_constant_series_without_screening_gives_zero_width_limits() -> None:
    out = run([5] * 15, screen_outliers=False)
    assert (out["upl"] == 5).all() and (out["lpl"] == 5).all()
    assert not out["special_cause"].any()


def test_missing_values_are_common_cause_and_excluded_from_mean() -> None:
    y = [1.0, 2.0, np.nan, 2.0, 1.0, 2.0, 1.0]
    out = run(y)
    assert out["mean"].iloc[0] == pytest.approx(9 / 6)
    assert out["point_type"].iloc[2] == "common_cause"


def test_zeros_and_short_series_do_not_crash() -> None:
    for y in ([], [0], [0, 0], [3, 0, 0, 1], [0] * 30):
        out = run(y)
        assert len(out) == len(y)
    assert run([1, 2])["short_group_warning"].all()
    assert not run(list(range(12)))["short_group_warning"].any()
    assert run(list(range(11)))["short_group_warning"].all()


def test_validation_messages_name_the_problem() -> None:
    df = series([1, 2, 3])
    with pytest.raises(OptionError, match="'nope'"):
        xmr(df, "nope", "month")
    with pytest.raises(OptionError, match="improvement"):
        xmr(df, "y", "month", improvement="up")
    with pytest.raises(OptionError, match="numeric"):
        xmr(df.assign(y=["a", "b", "c"]), "y", "month")
    with pytest.raises(OptionError, match="more than once"):
        xmr(pd.concat([df, df]), "y", "month")
    with pytest.raises(OptionError, match="could not be read as dates"):
        xmr(df.assign(month=["x", "y", "z"]), "y", "month")


def test_period_and_text_dates_accepted() -> None:
    df = series([1, 2, 3, 4])
    p = xmr(df.assign(month=df["month"].dt.to_period("M")), "y", "month")
    t = xmr(df.assign(month=df["month"].dt.strftime("%Y-%m")), "y", "month")
    assert p["upl"].iloc[0] == pytest.approx(t["upl"].iloc[0])


def test_c_chart_limits() -> None:
    out = run([4, 9, 4, 9, 4, 9, 4, 9], chart="c")
    cbar = 6.5
    assert out["upl"].iloc[0] == pytest.approx(cbar + 3 * np.sqrt(cbar))
    assert out["lpl"].iloc[0] == pytest.approx(max(0, cbar - 3 * np.sqrt(cbar)))
    low = run([0, 1, 0, 0, 2, 0], chart="c")
    assert low["lpl"].iloc[0] == 0.0


# --------------------------------------------------------------------- summary


def test_summary_counts_variation_and_assurance() -> None:
    # mean 6.92, limits 4.26-9.58: every 4 is below the LCL, the 30 above the UCL,
    # and the rest are 2-of-3 or run signals below the mean (see the labels)
    y = [4, 6, 5, 5, 4, 6, 5, 5, 4, 6, 5, 5, 30]
    out = xmr(series(y), "y", "month", improvement="decrease", target=30)
    s = spc_summary(out)
    row = s.iloc[0]
    assert row["n"] == 13
    assert row["special_cause_concern"] == 1
    assert row["special_cause_improvement"] == 12
    assert row["common_cause"] == 0
    assert row["variation_type"] == "special_cause_concern"
    # decrease is better and the target (30) is above the UPL: consistently passing
    assert row["assurance_type"] == "consistent_pass"
    assert row["assurance"] == "pass"


@pytest.mark.parametrize(
    ("improvement", "target", "expected"),
    [
        ("increase", 100, "fail"),
        ("increase", -100, "pass"),
        ("increase", 5, "inconsistent"),
        ("decrease", 100, "pass"),
        ("decrease", -100, "fail"),
        ("neutral", 100, None),
    ],
)
def test_assurance_rules(improvement: str, target: float, expected: str | None) -> None:
    y = [4, 6, 5, 5, 4, 6, 5, 5, 4, 6, 5, 5]
    s = spc_summary(xmr(series(y), "y", "month", improvement=improvement, target=target))
    assert s["assurance"].iloc[0] == expected


def test_assurance_only_on_last_segment() -> None:
    y = [4, 6, 5, 5, 4, 6, 15, 14, 16, 15, 14, 16]
    s = spc_summary(xmr(series(y), "y", "month", rebase=["2020-07-01"], target=100,
                        improvement="increase"))
    assert s["assurance"].tolist() == [None, "fail"]


def test_summary_per_group() -> None:
    a = series([1, 2] * 6).assign(area="A")
    b = series([5, 6] * 6 + [30]).assign(area="B")
    s = spc_summary(xmr(pd.concat([a, b]), "y", "month", by="area"))
    assert s["area"].tolist() == ["A", "B"]
    assert s.set_index("area").loc["B", "variation_type"] == "special_cause_concern"


# --------------------------------------------------------------------- properties

values = st.lists(
    st.one_of(st.integers(min_value=0, max_value=40).map(float), st.just(float("nan"))),
    min_size=0, max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(values, st.sampled_from(["increase", "decrease", "neutral"]), st.booleans())
def test_matches_literal_port_of_ptd(y: list[float], improvement: str, screen: bool) -> None:
    out = run(y, improvement=improvement, screen_outliers=screen)
    ref = reference_xmr(np.array(y), improvement=improvement, screen_outliers=screen)
    if not y:
        return
    np.testing.assert_allclose(out["mean"], ref["mean"])
    np.testing.assert_allclose(out["upl"], ref["upl"], equal_nan=True)
    np.testing.assert_allclose(out["lpl"], ref["lpl"], equal_nan=True)
    assert out["special_cause_type"].tolist() == ref["special_cause_type"]
    assert out["point_type"].tolist() == ref["point_type"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 30).map(float), min_size=13, max_size=40),
       st.integers(1, 12))
def test_rebase_matches_reference_per_segment(y: list[float], cut: int) -> None:
    df = series(y)
    out = xmr(df, "y", "month", rebase=[df["month"].iloc[cut]], improvement="increase")
    ref = reference_xmr(np.array(y), rebase_at=[cut], improvement="increase")
    assert out["special_cause_type"].tolist() == ref["special_cause_type"]
    np.testing.assert_allclose(out["upl"], ref["upl"], equal_nan=True)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 50).map(float), min_size=2, max_size=40))
def test_limits_symmetric_about_mean(y: list[float]) -> None:
    out = run(y, screen_outliers=False)
    np.testing.assert_allclose(out["upl"] - out["mean"], out["mean"] - out["lpl"], atol=1e-9)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 50).map(float), min_size=1, max_size=40),
       st.integers(-1000, 1000))
def test_shifting_by_constant_shifts_limits_keeps_flags(y: list[float], c: int) -> None:
    a = run(y)
    b = run([v + c for v in y])
    np.testing.assert_allclose(b["upl"], a["upl"] + c, equal_nan=True, atol=1e-6)
    np.testing.assert_allclose(b["lpl"], a["lpl"] + c, equal_nan=True, atol=1e-6)
    assert a["special_cause_type"].tolist() == b["special_cause_type"].tolist()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 50).map(float), min_size=1, max_size=40))
def test_reversing_improvement_swaps_improvement_and_concern(y: list[float]) -> None:
    inc = run(y, improvement="increase")["point_type"]
    dec = run(y, improvement="decrease")["point_type"]
    swap = {"special_cause_improvement": "special_cause_concern",
            "special_cause_concern": "special_cause_improvement", "common_cause": "common_cause"}
    assert inc.map(swap).tolist() == dec.tolist()


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(st.integers(0, 30).map(float), min_size=1, max_size=25),
                min_size=1, max_size=6))
def test_many_series_in_one_call_equal_one_call_each(groups: list[list[float]]) -> None:
    frames = [series(g).assign(g=i) for i, g in enumerate(groups)]
    together = xmr(pd.concat(frames, ignore_index=True), "y", "month", by="g")
    for i, g in enumerate(groups):
        alone = run(g, improvement="decrease")
        part = together[together["g"] == i]
        assert part["point_type"].tolist() == alone["point_type"].tolist()
        np.testing.assert_allclose(part["upl"], alone["upl"], equal_nan=True)
