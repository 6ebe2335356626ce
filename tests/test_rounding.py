"""One rounding rule, half-up on the number as written, everywhere (issue #13 item 7)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sa_lib.errors import OptionError
from sa_lib.rounding import format_number, round_half_up
from sa_lib.stats.change import format_count, format_pct

# (value, decimals, half-up result) worked by hand; Python's round gives the second column.
TIES = [
    (57.25, 1, 57.3, 57.2),   # the example
    (0.125, 2, 0.13, 0.12),
    (2.675, 2, 2.68, 2.67),   # binary 2.67499999... but written 2.675
    (0.5, 0, 1.0, 0.0),
    (2.5, 0, 3.0, 2.0),
    (-57.25, 1, -57.3, -57.2),  # away from zero
    (1.005, 2, 1.01, 1.0),
]


@pytest.mark.parametrize("value, decimals, expected, python", TIES)
def test_ties_round_up_not_to_even(value, decimals, expected, python) -> None:
    assert round(value, decimals) == python  # the behaviour being replaced
    assert round_half_up(value, decimals) == expected
    assert round_half_up(pd.Series([value]), decimals).iloc[0] == expected
    assert round_half_up(np.array([value]), decimals)[0] == expected


@settings(max_examples=200, deadline=None)
@given(st.integers(-10**7, 10**7), st.integers(0, 3))
def test_matches_integer_arithmetic_on_written_decimals(n, decimals) -> None:
    # n / 10**(decimals+1) written exactly; half-up by integer arithmetic on the last digit.
    x = float(f"{n}e-{decimals + 1}")
    q, r = divmod(abs(n), 10)
    expected = (q + (r >= 5)) * (1 if n >= 0 else -1) / 10 ** decimals
    assert round_half_up(x, decimals) == pytest.approx(expected, abs=0, rel=1e-15)


def test_missing_and_non_numeric_values_are_kept() -> None:
    s = round_half_up(pd.Series([1.25, np.nan, None], dtype=float), 1)
    assert s.iloc[0] == 1.3 and s.iloc[1:].isna().all()
    df = round_half_up(pd.DataFrame({"a": [0.05], "b": ["x"], "c": [3]}), 1)
    assert df.to_dict("list") == {"a": [0.1], "b": ["x"], "c": [3]}
    assert round_half_up(float("nan"), 1) != round_half_up(float("nan"), 1)  # NaN stays NaN


def test_text_uses_the_same_rule() -> None:
    assert format_number(57.25) == "57.3"
    assert format_number(1234.5, 0) == "1,235"
    assert format_number(-0.04) == "0.0"  # no negative zero
    assert format_count(12.25) == "12.3"
    assert format_pct(18.75) == "18.8%"
    assert format_number(None) == "" and format_number(float("nan")) == ""


@pytest.mark.parametrize("bad", [-1, 1.5, "1", True])
def test_decimals_are_validated(bad) -> None:
    with pytest.raises(OptionError, match="decimals must be a whole number"):
        round_half_up(1.0, bad)
    with pytest.raises(OptionError, match="decimals must be a whole number"):
        format_number(1.0, bad)
