"""Tests for the quasi-Poisson test of a change and its exact Poisson fallback.

Expected values come from statsmodels' GLM fitted on a design matrix built here
(``fit(scale="X2")``, R's quasipoisson), from R's documented formula
(se = sqrt(phi) x Poisson se, t on the residual df), or by hand.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from sa_lib.errors import OptionError
from sa_lib.periods import month_window
from sa_lib.stats.change import (
    NOT_COMPARED,
    SIGNIFICANT,
    change_significance,
    change_table,
    compare_windows,
)
from sa_lib.stats.significance import (
    exact_poisson_test,
    quasi_poisson_test,
    window_change_test,
)


def _glm(prev: list[float], cur: list[float], exposure: list[float] | None = None,
         scale: str | float = "X2"):
    """statsmodels' quasi-Poisson fit of the window indicator, from a hand-built design."""
    y = np.array(prev + cur, dtype=float)
    x = np.column_stack([np.ones(len(y)), np.r_[np.zeros(len(prev)), np.ones(len(cur))]])
    offset = None if exposure is None else np.log(np.asarray(exposure, dtype=float))
    return sm.GLM(y, x, family=sm.families.Poisson(), offset=offset).fit(scale=scale)


def _frame(prev: list[float], cur: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"count": prev + cur, "current": [False] * len(prev) + [True] * len(cur)})


# Over-dispersed monthly series (variance several times the mean), 4 v 4, 12 v 12, 4 v 12.
SERIES = [
    ([1288, 1181, 1259, 1220], [1152, 996, 1201, 1150]),
    ([30, 52, 25, 44], [22, 35, 17, 27]),
    ([40, 61, 35, 52, 47, 70, 38, 44, 59, 33, 48, 66],
     [55, 72, 41, 80, 63, 49, 90, 58, 61, 77, 52, 70]),
    ([12, 30, 9, 25], [14, 22, 31, 8, 19, 27, 11, 24, 35, 16, 20, 29]),
]


@pytest.mark.parametrize(("prev", "cur"), SERIES)
def test_quasi_poisson_equals_statsmodels_glm(prev: list[float], cur: list[float]) -> None:
    fit = _glm(prev, cur)
    r = quasi_poisson_test(prev, cur)
    assert fit.scale > 1  # the cases are over-dispersed
    assert r["method"] == "quasi-Poisson"
    assert r["dispersion"] == pytest.approx(fit.scale, rel=1e-10)
    assert r["df"] == fit.df_resid == len(prev) + len(cur) - 2
    assert r["t"] == pytest.approx(fit.tvalues[1], rel=1e-9)
    assert r["p_value"] == pytest.approx(2 * stats.t.sf(abs(fit.tvalues[1]), fit.df_resid),
                                         rel=1e-9)
    assert r["rate_ratio"] == pytest.approx(math.exp(fit.params[1]), rel=1e-12)
    # R's documented formula: the quasi-Poisson se is sqrt(phi) times the Poisson se
    poisson = _glm(prev, cur, scale=1.0)
    assert fit.bse[1] == pytest.approx(math.sqrt(fit.scale) * poisson.bse[1], rel=1e-6)


def test_dispersion_is_pearson_chi2_over_df_by_hand() -> None:
    # previous 10, 20, 30 (mean 20): Pearson (100 + 0 + 100) / 20 = 10; current 5 x 4: 0.
    r = quasi_poisson_test([10, 20, 30], [5, 5, 5, 5])
    assert r["dispersion"] == pytest.approx(10 / 5)
    assert r["df"] == 5
    assert r["rate_ratio"] == pytest.approx(5 / 20)
    t = math.log(0.25) / (math.sqrt(2) * math.sqrt(1 / 20 + 1 / 60))
    assert r["t"] == pytest.approx(t)
    assert r["p_value"] == pytest.approx(2 * stats.t.sf(abs(t), 5))
    assert r["test"] == "quasi-Poisson (dispersion 2.0)"


def test_unequal_windows_compare_rates_per_month() -> None:
    # 4 months at 10 a month against 12 months at 10 a month: no change in the rate.
    r = quasi_poisson_test([9, 11, 10, 10], [10, 12, 8, 10, 11, 9, 10, 10, 12, 8, 9, 11])
    assert r["rate_ratio"] == pytest.approx(1.0)
    assert r["p_value"] == pytest.approx(1.0)


def test_exposure_offset_equals_statsmodels_offset() -> None:
    prev, cur = [40, 95, 30], [60, 150, 45, 70]
    exposure = [1, 3, 1, 2, 3, 1, 2]  # e.g. rows covering several months
    m = _frame(prev, cur).assign(months=exposure)
    r = window_change_test(m, exposure="months").iloc[0]
    fit = _glm(prev, cur, exposure)
    assert r["dispersion"] == pytest.approx(fit.scale, rel=1e-10)
    assert r["t"] == pytest.approx(fit.tvalues[1], rel=1e-9)
    assert r["rate_ratio"] == pytest.approx(math.exp(fit.params[1]), rel=1e-12)


def test_under_dispersion_is_taken_as_one() -> None:
    prev, cur = [100, 101, 99, 100], [90, 91, 89, 90]
    fit = _glm(prev, cur)
    assert fit.scale < 1
    r = quasi_poisson_test(prev, cur)
    assert r["dispersion"] == pytest.approx(fit.scale)  # reported as estimated
    assert r["test"].endswith(", taken as 1)")
    poisson = _glm(prev, cur, scale=1.0)  # se is the Poisson se, t still on the residual df
    t = poisson.params[1] / poisson.bse[1]
    assert r["p_value"] == pytest.approx(2 * stats.t.sf(abs(t), 6), rel=1e-7)  # IRLS tolerance


def test_several_series_at_once_match_one_at_a_time() -> None:
    frames = [_frame(p, c).assign(series=f"s{i}") for i, (p, c) in enumerate(SERIES)]
    both = pd.concat(frames[::-1], ignore_index=True)
    out = window_change_test(both, group="series")
    assert list(out["series"]) == ["s3", "s2", "s1", "s0"]
    for i, (p, c) in enumerate(SERIES):
        row = out.set_index("series").loc[f"s{i}"]
        assert row["p_value"] == pytest.approx(quasi_poisson_test(p, c)["p_value"], rel=1e-12)


# --------------------------------------------------------------------------- fallback
def test_too_few_months_falls_back_to_the_exact_test() -> None:
    r = quasi_poisson_test([30, 52], [22, 35, 17, 27])
    assert r["method"] == "exact Poisson" and r["test"] == "exact Poisson (too few months)"
    assert math.isnan(r["dispersion"]) and math.isnan(r["t"])
    # exposures 2 and 4 months: current ~ Binomial(183, 4/6), smaller tail doubled
    n, share = 183, 4 / 6
    by_hand = min(1, 2 * min(stats.binom.cdf(101, n, share), stats.binom.sf(100, n, share)))
    assert r["p_value"] == pytest.approx(by_hand, rel=1e-12)
    # the minimum is a setting
    assert quasi_poisson_test([30, 52], [22, 35], min_months=2)["method"] == "quasi-Poisson"


def test_a_window_of_zeros_falls_back_to_the_exact_test() -> None:
    r = quasi_poisson_test([0, 0, 0, 0], [1, 0, 2, 0])
    assert r["test"] == "exact Poisson (no records in a window)"
    assert r["p_value"] == pytest.approx(change_significance(0, 3)[0][0])
    assert quasi_poisson_test([0] * 4, [0] * 4)["p_value"] == 1.0


def test_exact_test_with_exposures_by_hand() -> None:
    # 0 then 3, exposures 1 and 2: P(X >= 3 | n = 3, p = 2/3) = 8/27, doubled.
    assert exact_poisson_test(0, 3, 1, 2)[0] == pytest.approx(16 / 27)
    # equal exposures: the existing exact test
    for a, b in [(282, 345), (3588, 3697), (3, 40)]:
        assert exact_poisson_test(a, b, 12, 12)[0] == pytest.approx(change_significance(a, b)[0][0])
    with pytest.raises(OptionError, match="exposures"):
        exact_poisson_test(1, 2, 0, 1)


def test_bad_input_is_refused() -> None:
    with pytest.raises(OptionError, match="whole, non-negative"):
        window_change_test(_frame([1.5, 2, 3], [1, 2, 3]))
    with pytest.raises(OptionError, match="'current'"):
        window_change_test(pd.DataFrame({"count": [1, 2], "current": [0, 1]}))
    with pytest.raises(OptionError, match="min_months"):
        window_change_test(_frame([1, 2, 3], [1, 2, 3]), min_months=1)
    with pytest.raises(OptionError, match="'nope'"):
        window_change_test(_frame([1, 2, 3], [1, 2, 3]), group="nope")


# --------------------------------------------------------------------------- change tables
def _counts() -> pd.DataFrame:
    months = [f"2024-{m:02d}" for m in range(1, 5)] + [f"2025-{m:02d}" for m in range(1, 5)]
    a = [30, 52, 25, 44, 22, 35, 17, 27]
    b = [5, 0, 3, 4, 9, 8, 12, 10]
    rows = [(m, "A", x) for m, x in zip(months, a, strict=True)]
    rows += [(m, "B", x) for m, x in zip(months, b, strict=True) if x]  # no row when none
    return pd.DataFrame(rows, columns=["month", "crime_type", "count"])


PREV, CUR = month_window("2024-01", "2024-04"), month_window("2025-01", "2025-04")


def test_compare_windows_uses_the_monthly_test() -> None:
    t = compare_windows(_counts(), CUR, PREV).set_index("category")
    a = quasi_poisson_test([30, 52, 25, 44], [22, 35, 17, 27])
    b = quasi_poisson_test([5, 0, 3, 4], [9, 8, 12, 10])  # the month with no row is a 0
    for cat, r in (("A", a), ("B", b)):
        assert t.loc[cat, "p_value"] == pytest.approx(r["p_value"], rel=1e-12)
        assert t.loc[cat, "dispersion"] == pytest.approx(r["dispersion"], rel=1e-12)
        assert t.loc[cat, "test"] == r["test"]
    # A: 151 -> 101 is significant by the exact test on the totals, not on the months
    assert change_significance(151, 101)[0][0] < 0.01
    assert t.loc["A", "significance"] == "within normal variation"
    assert t.loc["A", "test"] == "quasi-Poisson (dispersion 3.2)"


def test_compare_windows_unequal_lengths() -> None:
    prev = [40, 61, 35, 52, 47, 70, 38, 44, 59, 33, 48, 66]
    cur = [55, 72, 41, 80]
    months = [f"2024-{m:02d}" for m in range(1, 13)] + [f"2025-{m:02d}" for m in range(1, 5)]
    c = pd.DataFrame({"month": months, "crime_type": "A", "count": prev + cur})
    t = compare_windows(c, CUR, month_window("2024-01", "2024-12")).iloc[0]
    fit = _glm(prev, cur)
    assert t["p_value"] == pytest.approx(2 * stats.t.sf(abs(fit.tvalues[1]), 14), rel=1e-9)
    assert t["dispersion"] == pytest.approx(fit.scale, rel=1e-10)


def test_compare_windows_falls_back_on_short_windows_and_withholds_gaps() -> None:
    c = _counts()
    short = compare_windows(c, month_window("2025-01", "2025-02"),
                            month_window("2024-01", "2024-02")).set_index("category")
    assert short.loc["A", "test"] == "exact Poisson (too few months)"
    assert short.loc["A", "p_value"] == pytest.approx(change_significance(82, 57)[0][0])
    gap = compare_windows(c[c["month"] != "2025-02"], CUR, PREV, withhold_incomplete=True)
    assert set(gap["test"]) == {NOT_COMPARED} and gap["dispersion"].isna().all()


def test_change_table_alone_uses_the_exact_test_and_says_so() -> None:
    df = pd.DataFrame({"category": ["Drugs"], "previous": [282], "current": [345]})
    t = change_table(df).iloc[0]
    assert t["test"] == "exact Poisson (window totals only)" and math.isnan(t["dispersion"])
    assert t["p_value"] == pytest.approx(change_significance(282, 345)[0][0])
    tests = pd.DataFrame({"p_value": [0.2], "test": ["quasi-Poisson (dispersion 2.0)"],
                          "dispersion": [2.0]})
    t = change_table(df, tests=tests).iloc[0]
    assert (t["p_value"], t["dispersion"]) == (0.2, 2.0)
    assert t["test"] == "quasi-Poisson (dispersion 2.0)"
    assert t["significance"] != SIGNIFICANT
    with pytest.raises(OptionError, match="one row per row"):
        change_table(df, tests=tests.drop(columns="dispersion"))


def test_table_note_names_the_tests_used_and_why() -> None:
    from sa_lib.report.chapters.common import significance_note

    quasi = significance_note(pd.Series(["quasi-Poisson (dispersion 4.4)"]), 0.05)
    assert quasi.startswith("Significance at the 5% level: quasi-Poisson test of the monthly")
    assert "exact" not in quasi
    mixed = significance_note(pd.Series(["quasi-Poisson (dispersion 1.2)",
                                         "exact Poisson (too few months)",
                                         "exact Poisson (annual returns)", "not tested"]), 0.01)
    assert "1% level" in mixed
    assert "(annual returns and fewer than 3 months with data in a window)" in mixed
    assert significance_note(pd.Series(["not compared"]), 0.05) == ""
