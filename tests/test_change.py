"""Tests for percentage change, its wording and its significance."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from statsmodels.stats import rates as sm_rates

from sa_lib.errors import OptionError
from sa_lib.periods import month_window, rolling_window
from sa_lib.stats.change import (
    NOT_SIGNIFICANT,
    SIGNIFICANT,
    change_sentence,
    change_significance,
    change_table,
    compare_windows,
    format_count,
    format_pct,
    pct_change,
)


@pytest.mark.parametrize(
    ("previous", "current", "difference", "pct_text", "direction"),
    [
        (282, 345, 63, "22.3%", "increase"),  # seed: drug offences
        (3588, 3697, 109, "3.0%", "increase"),  # seed: ASB
        (2258, 2683, 425, "18.8%", "increase"),  # seed says 34%: wrong
        (538, 422, -116, "21.6%", "decrease"),  # seed: needle exchanges
    ],
)
def test_seed_figures(previous, current, difference, pct_text, direction) -> None:
    c = pct_change(previous, current)
    assert c.difference == difference
    assert format_pct(c.pct_change) == pct_text
    assert c.direction == direction


def test_full_precision_is_kept_until_text() -> None:
    c = pct_change(282, 345)
    assert c.pct_change == pytest.approx(22.340425531914892)
    assert format_pct(c.pct_change) == "22.3%"


def test_zero_previous_has_no_percentage() -> None:
    c = pct_change(0, 5)
    assert c.pct_change is None and c.direction == "increase"


def test_equal_is_no_change() -> None:
    assert pct_change(7, 7).direction == "no change"
    assert pct_change(7, 7).pct_change == 0


def test_bad_values_rejected() -> None:
    for prev, cur in [(-1, 5), (float("nan"), 3), ("a", 3), (True, 3)]:
        with pytest.raises(OptionError):
            pct_change(prev, cur)


def test_rounding_is_half_up_on_the_written_number() -> None:
    assert format_pct(22.35) == "22.4%"
    assert format_pct(22.25) == "22.3%"
    assert format_pct(-21.56) == "21.6%"
    assert format_count(3588) == "3,588"


def test_sentence_matches_the_seed_phrasing() -> None:
    s = change_sentence("Drug offences", 282, 345, "Nov 2015 – Oct 2016")
    assert s == (
        "Drug offences increased by 22.3% (from 282 to 345 offences, 63 more) in "
        "Nov 2015 – Oct 2016 compared with the previous 12 months."
    )


def test_sentence_for_a_fall_says_fewer() -> None:
    s = change_sentence("Needle exchanges", 538, 422, "2016", "2015", unit="exchanges")
    assert "decreased by 21.6%" in s and "116 fewer" in s


def test_sentence_small_base_uses_counts_only() -> None:
    s = change_sentence("Robbery", 6, 9, "2025", "2024")
    assert "%" not in s
    assert s == "Robbery increased from 6 to 9 offences (3 more) in 2025 compared with 2024."
    s = change_sentence("Robbery", 6, 9, "2025", "2024", min_base=5)
    assert "50.0%" in s


def test_sentence_zero_previous_and_no_change() -> None:
    assert "up from 0 to 5" in change_sentence("Arson offences", 0, 5)
    s = change_sentence("Drug offences", 282, 282, "2025", "2024")
    assert s == "Drug offences showed no change (282 offences in both periods) in 2025 compared with 2024."


def test_sentence_significance_clause() -> None:
    assert change_sentence("Drugs", 282, 345, significance=True).endswith(
        "This change is statistically significant.")
    assert change_sentence("ASB", 3588, 3697, unit="incidents", significance=True).endswith(
        "This change is within normal variation.")


def test_sentence_thousands_separators() -> None:
    s = change_sentence("Domestic abuse incidents", 2258, 2683, unit="incidents")
    assert "18.8% (from 2,258 to 2,683 incidents, 425 more)" in s


@pytest.mark.parametrize(("a", "b"), [(282, 345), (3588, 3697), (0, 5), (10, 10), (3, 40), (0, 0)])
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_significance_equals_statsmodels_exact_conditional(a: int, b: int) -> None:
    p, _ = change_significance(a, b)
    expected = 1.0 if a + b == 0 else sm_rates.test_poisson_2indep(b, 1, a, 1, method="exact-cond").pvalue
    assert p[0] == pytest.approx(expected, rel=1e-9)


def test_significance_labels() -> None:
    _, labels = change_significance([282, 3588], [345, 3697])
    assert list(labels) == [SIGNIFICANT, NOT_SIGNIFICANT]


def test_change_table_many_categories_sorted_by_movers() -> None:
    df = pd.DataFrame({
        "crime_type": ["Drugs", "Robbery", "Violence", "Arson"],
        "prev": [282, 6, 538, 0],
        "cur": [345, 4, 422, 3],
    })
    t = change_table(df, "crime_type", "prev", "cur", sort_by="abs_difference")
    assert t["category"].tolist() == ["Violence", "Drugs", "Arson", "Robbery"]
    assert t.loc[t.category == "Arson", "pct_change"].isna().all()
    assert t.loc[t.category == "Robbery", "small_base"].item()
    assert t.loc[t.category == "Drugs", "pct_change"].item() == pytest.approx(22.3404255)
    assert "22.3%" in t.loc[t.category == "Drugs", "sentence"].item()


def test_change_table_rejects_missing_counts() -> None:
    df = pd.DataFrame({"category": ["A"], "previous": [None], "current": [3]})
    with pytest.raises(OptionError, match="category='A'"):
        change_table(df)


def test_compare_windows_reports_incomplete_windows() -> None:
    months = pd.period_range("2024-01", "2025-12", freq="M").astype(str)
    c = pd.DataFrame({"month": months, "crime_type": "Drugs", "count": 10})
    c = c[c.month != "2025-03"]
    cur = rolling_window("2025-12")
    t = compare_windows(c, cur, month_window("2024-01", "2024-12"))
    assert t["current"].item() == 110
    assert t["previous"].item() == 120
    assert not t["current_complete"].item()
    assert t["current_missing_months"].item() == "2025-03"
    assert t["previous_complete"].item()


@given(st.integers(0, 10_000), st.integers(0, 10_000))
def test_sentence_numbers_agree_with_pct_change(a: int, b: int) -> None:
    s = change_sentence("Crimes", a, b, min_base=10)
    c = pct_change(a, b)
    assert format_count(a) in s and format_count(b) in s
    if c.pct_change is not None and a >= 10 and a != b:
        assert format_pct(c.pct_change) in s
    if c.direction == "decrease":
        assert "fewer" in s
