"""Tests for chart functions: they draw, describe themselves and are deterministic."""

from __future__ import annotations

import pandas as pd
import pytest

from sa_lib.data.morile_scales import load_morile_scales
from sa_lib.errors import OptionError
from sa_lib.report.charts import (
    bar_chart,
    line_chart,
    morile_heatmap,
    priority_matrix_chart,
    spc_chart,
)
from sa_lib.stats.change import format_count
from sa_lib.stats.morile import aggregate_morile, morile_matrix, score_morile
from sa_lib.stats.priorities import priority_matrix
from sa_lib.stats.spc import xmr


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


# --------------------------------------------------------------------------- new chart helpers

LONG_THEME = "Gangs and child sexual exploitation"
MORILE_ROWS = {
    # theme: physical, psychological, financial, community, environmental,
    #        frequency, vulnerability, organisational position, confidence
    "Domestic abuse": ["Substantial", "Critical", "Low", "Moderate", "None",
                       "Very frequent", "Medium", "Partial", "Medium"],
    LONG_THEME: ["Substantial", "Critical", "Low", "Substantial", "None",
                 "Occasional", "High", "Limited", "Low"],
    "Road safety (KSI)": ["Critical", "Moderate", "Moderate", "Low", "Low",
                          "Occasional", "Low", "Partial", "High"],
}


def morile_frames(rows: dict[str, list[str]] = MORILE_ROWS) -> tuple[pd.DataFrame, pd.DataFrame]:
    scales = load_morile_scales()
    sheet = pd.DataFrame([("police", t, f, v) for t, vals in rows.items()
                          for f, v in zip(scales.fields, vals, strict=True)],
                         columns=["scorer", "theme", "field", "value"])
    agg = aggregate_morile(score_morile(sheet, scales))
    return morile_matrix(agg), agg


def test_morile_heatmap_alt_text_states_ranks_scores_and_scales() -> None:
    m, agg = morile_frames()
    chart = morile_heatmap(m, "MoRiLE matrix", caption="Synthetic data", aggregated=agg)
    alt = chart.alt_text
    first, second, third = agg.itertuples()
    assert "MoRiLE scores for 3 themes in rank order" in alt
    assert "illustrative scales, not NPCC values" in alt
    assert (f"{first.theme} ranks 1st with priority score {format_count(first.priority_score)}, "
            f"{second.theme} 2nd ({format_count(second.priority_score)}) and "
            f"{third.theme} 3rd ({format_count(third.priority_score)}).") in alt
    top_harm = agg.loc[agg["harm"].idxmax()]
    assert f"Highest total harm: {top_harm.theme} ({top_harm.harm:g} points)" in alt
    assert "physical 8 (Road safety (KSI))" in alt
    assert "no data" not in alt
    png = chart.to_png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert morile_heatmap(m, "MoRiLE matrix", caption="Synthetic data",
                          aggregated=agg).to_png() == png


def test_morile_heatmap_without_scales_or_scores_and_with_a_gap() -> None:
    m, _ = morile_frames()
    bare = m.drop(columns=["scales_label", "scales_version"])
    bare.attrs = {}
    long_name = "A very long theme name " * 6
    bare["theme"] = bare["theme"].replace({LONG_THEME: long_name})
    gap = (bare["theme"] == "Domestic abuse") & (bare["dimension"] == "community")
    bare.loc[gap, "value"] = float("nan")
    chart = morile_heatmap(bare, "Matrix")
    assert "priority score" not in chart.alt_text
    assert "ranks 1st" in chart.alt_text
    assert "1 cell has no data: community for Domestic abuse." in chart.alt_text
    assert chart.to_png() == morile_heatmap(bare, "Matrix").to_png()


def test_morile_heatmap_ties_are_joint() -> None:
    same = MORILE_ROWS["Domestic abuse"]
    m, agg = morile_frames({"Theme A": same, "Theme B": same})
    alt = morile_heatmap(m, "Tie", aggregated=agg).alt_text
    assert "Theme A ranks joint 1st" in alt and "Theme B joint 1st" in alt


def test_morile_heatmap_validates_its_inputs() -> None:
    m, agg = morile_frames()
    with pytest.raises(OptionError, match=r"missing column\(s\) \['block'\]"):
        morile_heatmap(m.drop(columns="block"), "x")
    with pytest.raises(OptionError, match="no rows"):
        morile_heatmap(m.iloc[0:0], "x")
    with pytest.raises(OptionError, match="must be a DataFrame"):
        morile_heatmap([1, 2], "x")  # type: ignore[arg-type]
    with pytest.raises(OptionError, match=r"only in aggregated: \['Road safety \(KSI\)'\]"):
        morile_heatmap(m[m["theme"] != "Road safety (KSI)"], "x", aggregated=agg)
    with pytest.raises(OptionError, match="every theme needs every dimension"):
        morile_heatmap(m.drop(index=0), "x")
    with pytest.raises(OptionError, match="more than once"):
        morile_heatmap(pd.concat([m, m.iloc[[0]]]), "x")
    with pytest.raises(OptionError, match=r"unknown value\(s\) \['risk'\]"):
        morile_heatmap(m.assign(block="risk"), "x")
    with pytest.raises(OptionError, match="'value' must hold numbers"):
        morile_heatmap(m.assign(value="high"), "x")


def test_bar_chart_lists_values_and_says_which_have_no_data() -> None:
    ksi = pd.DataFrame({"year": pd.array([2021, 2022, 2023, 2024], dtype="Int64"),
                        "casualties": pd.array([61, 65, None, 66], dtype="Int64")})
    chart = bar_chart(ksi, "year", "casualties", "KSI casualties", highlight=2024,
                      caption="Synthetic data")
    assert chart.alt_text == (
        "Bar chart of KSI casualties: Count by year, 4 bars. 2021: 61; 2022: 65; "
        "2023: no data; 2024: 66. Highest: 2024, 66; lowest: 2021, 61. Highlighted: 2024. "
        "1 bar has no data (2023).")
    assert chart.to_png() == bar_chart(ksi, "year", "casualties", "KSI casualties",
                                       highlight=2024, caption="Synthetic data").to_png()


def test_bar_chart_decimals_long_names_and_many_bars() -> None:
    df = pd.DataFrame({"theme": [f"{LONG_THEME} number {i}" for i in range(15)],
                       "score": [1.25 * i for i in range(15)]})
    for horizontal in (False, True):
        chart = bar_chart(df, "theme", "score", "Scores", value_label="Score",
                          horizontal=horizontal)
        alt = chart.alt_text
        assert "Score by theme, 15 bars." in alt
        assert f"Highest: {LONG_THEME} number 14, 17.5; {LONG_THEME} number 13, 16.3;" in alt
        assert f"Lowest: {LONG_THEME} number 0, 0.0." in alt
        assert "number 7:" not in alt  # more than 12 bars: summarised, not listed
        chart.to_png()
    short = bar_chart(df.head(3), "theme", "score", "S").alt_text
    assert f"{LONG_THEME} number 1: 1.3;" in short  # one decimal, half-up


def test_bar_chart_validates_its_inputs() -> None:
    df = pd.DataFrame({"year": [2021, 2022], "n": [3, 4]})
    with pytest.raises(OptionError, match=r"missing column\(s\) \['count'\]"):
        bar_chart(df, "year", "count", "x")
    with pytest.raises(OptionError, match="no rows"):
        bar_chart(df.iloc[0:0], "year", "n", "x")
    with pytest.raises(OptionError, match=r"must hold numbers; found \['lots'\]"):
        bar_chart(df.assign(n=["lots", 4]), "year", "n", "x")
    with pytest.raises(OptionError, match=r"repeats \['2021'\]"):
        bar_chart(df.assign(year=[2021, 2021]), "year", "n", "x")
    with pytest.raises(OptionError, match=r"highlight \['2030'\] is not among the bars"):
        bar_chart(df, "year", "n", "x", highlight="2030")
    all_missing = bar_chart(df.assign(n=[float("nan")] * 2), "year", "n", "x")
    assert "No bar has data." in all_missing.alt_text


def pm_input() -> pd.DataFrame:
    return pd.DataFrame({
        "theme": ["ASB", "Domestic abuse", LONG_THEME, "Robbery"],
        "volume": [5, 3, 2, 1],
        "trend": [2, 4, 4, 3],
        "perception": [4, 3, 5, 2],
        "influence": [3, 4, 2, 1],
    })


def test_priority_matrix_chart_names_the_top_themes_and_scores() -> None:
    pm = priority_matrix(pm_input())
    chart = priority_matrix_chart(pm, "Priority matrix")
    alt = chart.alt_text
    # ASB 5+2+4+3 = 14, DA 3+4+3+4 = 14, gangs 2+4+5+2 = 13, Robbery 1+3+2+1 = 7.
    assert "priority matrix scores for 4 themes in rank order" in alt
    assert ("joint 1st: ASB, score 14 (volume 5, trend 2, perception 4, influence 3); "
            "joint 1st: Domestic abuse, 14 (volume 3, trend 4, perception 3, influence 4); "
            f"3rd: {LONG_THEME}, 13 (volume 2, trend 4, perception 5, influence 2); "
            "4th: Robbery, 7.") in alt
    assert chart.to_png() == priority_matrix_chart(pm, "Priority matrix").to_png()


def test_priority_matrix_chart_uses_the_weights_of_the_ranking() -> None:
    pm = priority_matrix(pm_input(), weights={"volume": 2})
    alt = priority_matrix_chart(pm, "Weighted").alt_text  # weights from pm.attrs
    assert "weights: volume 2, trend 1, perception 1, influence 1" in alt
    assert "1st: ASB, weighted score 19" in alt
    same = pm.copy()
    same.attrs = {}
    assert priority_matrix_chart(same, "Weighted", weights={"volume": 2}).alt_text == alt
    with pytest.raises(OptionError, match="not the weighted sum"):
        priority_matrix_chart(same, "Weighted")  # weights lost: 1s do not add up
    with pytest.raises(OptionError, match="unknown factor"):
        priority_matrix_chart(pm, "x", weights={"size": 2})


def test_priority_matrix_chart_validates_its_inputs() -> None:
    pm = priority_matrix(pm_input())
    with pytest.raises(OptionError, match=r"missing column\(s\) \['weighted_score'\]"):
        priority_matrix_chart(pm.drop(columns="weighted_score"), "x")
    with pytest.raises(OptionError, match="no rows"):
        priority_matrix_chart(pm.iloc[0:0], "x")
    gap = pm.astype({"trend": float})
    gap.loc[1, "trend"] = float("nan")
    with pytest.raises(OptionError, match="missing score.*theme 'Domestic abuse', column 'trend'"):
        priority_matrix_chart(gap, "x")


def test_line_chart_annual_values_in_alt_text() -> None:
    df = pd.DataFrame({"year": pd.array([2021, 2022, 2023, 2024], dtype="Int64"),
                       "admissions": pd.array([795, 800, None, 734], dtype="Int64")})
    chart = line_chart(df, "year", "admissions", "Admissions", caption="Synthetic data")
    assert chart.alt_text == ("Line chart of Admissions: Count from 2021 to 2024. 795 in 2021, "
                              "800 in 2022, no data for 2023 and 734 in 2024.")
    assert chart.to_png() == line_chart(df, "year", "admissions", "Admissions",
                                        caption="Synthetic data").to_png()


def test_line_chart_series_by_quarter_and_long_series_summarised() -> None:
    q = pd.period_range("2021Q1", periods=16, freq="Q")
    rate = [20.0 + (i % 5) for i in range(16)]
    rate[5] = float("nan")
    df = pd.concat([
        pd.DataFrame({"quarter": q, "measure": "Reoffending rate (%)", "v": rate}),
        pd.DataFrame({"quarter": q[:4], "measure": LONG_THEME, "v": [3.5, 3.9, 4.1, 3.8]}),
    ])
    chart = line_chart(df, "quarter", "v", "Reoffending", by="measure", value_label="Rate")
    alt = chart.alt_text
    assert alt.startswith("Line chart of Reoffending: Rate from 2021 Q1 to 2024 Q4, 2 series by "
                          f"measure (Reoffending rate (%) and {LONG_THEME}).")
    assert ("Reoffending rate (%): 16 points; first 20.0 in 2021 Q1, latest 20.0 in 2024 Q4; "
            "highest 24.0 in 2022 Q1, lowest 20.0 in 2021 Q1; no data for 2022 Q2.") in alt
    assert f"{LONG_THEME}: 3.5 in 2021 Q1, 3.9 in 2021 Q2, 4.1 in 2021 Q3 and 3.8 in 2021 Q4." in alt
    assert chart.to_png() == line_chart(df, "quarter", "v", "Reoffending", by="measure",
                                        value_label="Rate").to_png()


def test_line_chart_dates_and_text_x() -> None:
    dates = pd.DataFrame({"start": pd.to_datetime(["2022-01-01", "2023-01-01"]), "n": [5, 7]})
    assert "from 2022 to 2023. 5 in 2022 and 7 in 2023." in line_chart(
        dates, "start", "n", "Annual").alt_text
    months = dates.assign(start=pd.to_datetime(["2024-01-01", "2024-02-01"]))
    assert "5 in Jan 2024 and 7 in Feb 2024" in line_chart(months, "start", "n", "M").alt_text
    text = pd.DataFrame({"fy": ["2022/23", "2021/22"], "n": [5, 7]})  # drawn in data order
    assert "from 2022/23 to 2021/22. 5 in 2022/23 and 7 in 2021/22." in line_chart(
        text, "fy", "n", "FY").alt_text


def test_line_chart_validates_its_inputs() -> None:
    df = pd.DataFrame({"year": [2021, 2022], "n": [3, 4], "area": ["A", "A"]})
    with pytest.raises(OptionError, match=r"missing column\(s\) \['count'\]"):
        line_chart(df, "year", "count", "x")
    with pytest.raises(OptionError, match="no rows"):
        line_chart(df.iloc[0:0], "year", "n", "x")
    with pytest.raises(OptionError, match=r"more than one row for \['2021'\]"):
        line_chart(df.assign(year=[2021, 2021]), "year", "n", "x")
    with pytest.raises(OptionError, match="'year' has missing values"):
        line_chart(df.assign(year=[2021, None]), "year", "n", "x")
    many = pd.DataFrame({"year": 2021, "n": 1, "area": [f"a{i}" for i in range(8)]})
    with pytest.raises(OptionError, match="8 series in 'area'; .* at most 7"):
        line_chart(many, "year", "n", "x", by="area")
    with pytest.raises(OptionError, match="must be different columns"):
        line_chart(df, "year", "year", "x")
    empty = line_chart(df.assign(n=[float("nan")] * 2), "year", "n", "x")
    assert empty.alt_text.endswith("No data.")
