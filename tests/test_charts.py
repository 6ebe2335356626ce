"""Tests for chart functions: they draw, describe themselves and are deterministic."""

from __future__ import annotations

import pandas as pd
import pytest

from sa_lib.charts import spc_chart
from sa_lib.errors import OptionError
from sa_lib.spc import xmr


def monthly(values: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"month": pd.date_range("2024-01-01", periods=len(values), freq="MS"),
                         "n": values})


def test_spc_chart_alt_text_states_the_numbers() -> None:
    out = xmr(monthly([5, 6, 5, 7, 6, 5, 6, 7, 5, 6, 5, 20]), "n", "month")
    chart = spc_chart(out, "Robbery")
    alt = chart.alt_text
    assert "12 monthly values from Jan 2024 to Dec 2024" in alt
    assert f"mean is {round(out['mean'].iloc[0], 1)}" in alt
    assert "1 showing special-cause variation (concern)" in alt
    assert alt.endswith("The latest value, 20 in Dec 2024, shows special-cause variation (concern).")


def test_spc_chart_segments_described_and_png_deterministic() -> None:
    df = monthly([5, 6, 5, 7, 6, 5, 16, 15, 17, 16, 15, 17])
    out = xmr(df, "n", "month", rebase=["2024-07-01"])
    chart = spc_chart(out, "Shoplifting", caption="Synthetic data")
    assert "From Jul 2024, the mean is 16" in chart.alt_text
    png = chart.to_png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert spc_chart(out, "Shoplifting", caption="Synthetic data").to_png() == png


def test_spc_chart_refuses_several_series() -> None:
    a = monthly([1, 2, 3]).assign(area="A")
    b = monthly([1, 2, 3]).assign(area="B")
    out = xmr(pd.concat([a, b]), "n", "month", by="area")
    with pytest.raises(OptionError, match="one series"):
        spc_chart(out, "x")
    spc_chart(out[out.area == "A"], "x")  # one group is fine


def test_spc_chart_empty_and_constant_series() -> None:
    assert "no data" in spc_chart(xmr(monthly([]), "n", "month"), "Empty").alt_text
    c = spc_chart(xmr(monthly([3] * 12), "n", "month"), "Flat")
    assert "upper process limit of not defined" in c.alt_text
