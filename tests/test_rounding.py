"""One rounding rule, half-up on the number as written, everywhere (issue #13 item 7)."""

from __future__ import annotations

import re
from pathlib import Path

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


# ----------------------------------------------------------------- one rule, everywhere
ROOT = Path(__file__).resolve().parents[1]
#: Display rounding other than sa_lib.rounding: Python's round, numpy/pandas .round and
#: f-string precision (":.1f", ":,.0f", ":.1%", ":.3g").
ROUNDING = re.compile(r"(?<![\w.])round\(|\.round\(|np\.round\(|:[,_]?\.\d+[fg%]")
#: Uses that are not a published figure, each with its reason.
ALLOWED = {
    ("sa_lib/stats/morile.py", "_RANK_DECIMALS"): "ties in ranking, not display",
    ("sa_lib/stats/priorities.py", "_RANK_DECIMALS"): "ties in ranking, not display",
    ("sa_lib/report/publish.py", "np.allclose(v, np.round(v, 1))"): "chooses 1 or 2 decimals",
    ("sa_lib/report/publish.py", "np.array_equal(v, np.round(v))"): "tests for whole numbers",
    ("sa_lib/report/charts/spc.py", "(y == np.round(y))"): "tests for whole numbers",
    ("sa_lib/report/chapters/themes.py", "v.round().astype(\"Int64\") if np.allclose"):
        "turns whole-number floats into integers",
    ("sa_lib/data/quality.py", "np.round(n)"): "a binomial test's trial count",
    ("sa_lib/stats/funnel_plot.py", "round()"): "R's round, ported to match FunnelPlotR",
    ("sa_lib/stats/funnel_plot.py", "``round(x, digits)``"): "R's round, ported",
    ("StrMethodFormatter", ""): "axis tick labels (round numbers chosen by matplotlib)",
}
#: Not report figures: the seeded generator's own arithmetic and files, run timings.
EXEMPT = ("sa_lib/data/synthetic.py", "sa_lib/run/", "sa_lib/rounding.py")


def test_no_published_number_is_rounded_outside_sa_lib_rounding() -> None:
    found = []
    for path in sorted((ROOT / "sa_lib").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(EXEMPT):
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            code = line.strip()
            if code.startswith((">>>", "...", "#")) or not ROUNDING.search(code):
                continue
            if any((rel == f or f == "StrMethodFormatter") and s in code and
                   (f != "StrMethodFormatter" or "StrMethodFormatter" in code)
                   for f, s in ALLOWED):
                continue
            found.append(f"{rel}:{n}: {code}")
    assert not found, ("round published numbers with sa_lib.rounding (round_half_up, "
                       "format_number), not:\n" + "\n".join(found))


def test_the_check_finds_each_kind_of_rounding() -> None:
    for code in ('x.round(1)', 'round(x, 1)', 'np.round(x)', 'f"{x:.1f}"', 'f"{x:,.0f}"',
                 'f"{x:.0%}"', 'f"{x:.3g}"'):
        assert ROUNDING.search(code), code
    for code in ("round_half_up(x, 1)", "format_number(x)", "ground(x)", "self.rounds(x)"):
        assert not ROUNDING.search(code), code
