"""Tests for the priority matrix, the volume and trend scores and the final recommendation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sa_lib.data.morile_scales import load_morile_scales
from sa_lib.errors import OptionError
from sa_lib.stats.change import change_table
from sa_lib.stats.morile import aggregate_morile, score_morile
from sa_lib.stats.priorities import (
    PRIORITY_FACTORS,
    priority_matrix,
    recommend_priorities,
    trend_score,
    volume_score,
)

SIG, NOT_SIG = "statistically significant", "within normal variation"


def matrix_input() -> pd.DataFrame:
    return pd.DataFrame({
        "theme": ["ASB", "Domestic abuse", "Drugs", "Robbery"],
        "volume": [5, 3, 2, 1],
        "trend": [2, 4, 4, 3],
        "perception": [4, 3, 5, 2],
        "influence": [3, 4, 2, 1],
    })


# --------------------------------------------------------------------------- priority matrix


def test_equal_weights_sum_the_four_scores_and_rank_ties_min() -> None:
    out = priority_matrix(matrix_input())
    # ASB 5+2+4+3 = 14, DA 3+4+3+4 = 14, Drugs 2+4+5+2 = 13, Robbery 1+3+2+1 = 7.
    assert out["theme"].tolist() == ["ASB", "Domestic abuse", "Drugs", "Robbery"]
    assert out["weighted_score"].tolist() == [14, 14, 13, 7]
    assert out["rank"].tolist() == [1, 1, 3, 4]
    assert out["volume"].dtype == np.int64


def test_weights_multiply_each_factor_and_unnamed_factors_keep_one() -> None:
    out = priority_matrix(matrix_input(), weights={"volume": 0, "trend": 2.5})
    # ASB 0+5+4+3 = 12, DA 0+10+3+4 = 17, Drugs 0+10+5+2 = 17, Robbery 0+7.5+2+1 = 10.5.
    assert out["theme"].tolist() == ["Domestic abuse", "Drugs", "ASB", "Robbery"]
    assert out["weighted_score"].tolist() == [17, 17, 12, 10.5]
    assert out["rank"].tolist() == [1, 1, 3, 4]


def test_priority_matrix_keeps_extra_columns_and_does_not_mutate() -> None:
    df = matrix_input().assign(notes="x")
    before = df.copy()
    out = priority_matrix(df)
    pd.testing.assert_frame_equal(df, before)
    assert (out["notes"] == "x").all()


def test_every_bad_score_is_named_by_theme_and_column() -> None:
    df = matrix_input().astype({"trend": object, "influence": float})
    df.loc[0, "volume"] = 6
    df.loc[1, "trend"] = "high"
    df.loc[2, "influence"] = 2.5
    df.loc[3, "influence"] = np.nan
    with pytest.raises(OptionError) as info:
        priority_matrix(df)
    msg = str(info.value)
    assert "theme 'ASB', column 'volume': 6 is not a whole number from 1 to 5" in msg
    assert "theme 'Domestic abuse', column 'trend': 'high'" in msg
    assert "theme 'Drugs', column 'influence': 2.5" in msg
    assert "theme 'Robbery', column 'influence': nan" in msg


def test_scores_as_text_whole_numbers_are_accepted() -> None:
    df = matrix_input().astype(str)
    assert priority_matrix(df)["weighted_score"].tolist() == [14, 14, 13, 7]


@pytest.mark.parametrize(
    ("weights", "expected"),
    [
        ({"volumes": 1}, "unknown factor(s) ['volumes']"),
        ({"trend": -1}, "weights['trend'] must be a non-negative number"),
        ({"trend": True}, "weights['trend']"),
        (dict.fromkeys(PRIORITY_FACTORS, 0), "at least one factor"),
        ([1, 1, 1, 1], "mapping"),
    ],
)
def test_bad_weights(weights, expected) -> None:
    with pytest.raises(OptionError) as info:
        priority_matrix(matrix_input(), weights=weights)
    assert expected in str(info.value)


def test_missing_columns_and_duplicate_themes() -> None:
    with pytest.raises(OptionError, match="missing column\\(s\\) \\['perception'\\]"):
        priority_matrix(matrix_input().drop(columns="perception"))
    df = matrix_input()
    df.loc[3, "theme"] = "ASB"
    with pytest.raises(OptionError, match="\\['ASB'\\] appear more than once"):
        priority_matrix(df)


# --------------------------------------------------------------------------- volume


def test_volume_quintiles_by_rank() -> None:
    counts = pd.Series(range(10, 110, 10), index=[f"T{i}" for i in range(10)])
    out = volume_score(counts)
    assert out["volume"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert out["theme"].tolist() == counts.index.tolist()
    assert out["count"].tolist() == counts.tolist()


def test_volume_ties_share_the_higher_score_and_few_themes() -> None:
    # Ranks (max) 1, 3, 3, 4, 5 of 5 -> ceil(5r/5).
    assert volume_score({"a": 1, "b": 7, "c": 7, "d": 9, "e": 20})["volume"].tolist() == [
        1, 3, 3, 4, 5]
    # 3 themes: ceil(5/3) = 2, ceil(10/3) = 4, 5.
    assert volume_score({"a": 5, "b": 50, "c": 500})["volume"].tolist() == [2, 4, 5]
    # 6 themes: ceil(5/6, 10/6, 15/6, 20/6, 25/6, 30/6).
    assert volume_score(dict(zip("abcdef", range(6), strict=True)))["volume"].tolist() == [
        1, 2, 3, 4, 5, 5]


def test_volume_fixed_thresholds() -> None:
    counts = {"a": 0, "b": 49, "c": 50, "d": 99, "e": 100, "f": 500, "g": 999, "h": 1000}
    out = volume_score(counts, bins=[50, 100, 500, 1000])
    assert out["volume"].tolist() == [1, 1, 2, 2, 3, 4, 4, 5]


@pytest.mark.parametrize(
    ("counts", "bins", "expected"),
    [
        ({"a": -1}, None, "non-negative"),
        ({"a": float("nan")}, None, "non-negative"),
        ({}, None, "empty"),
        ({"a": 1}, [1, 2, 3], "four strictly increasing"),
        ({"a": 1}, [1, 2, 2, 3], "four strictly increasing"),
        ({"a": 1}, ["1", 2, 3, 4], "four strictly increasing"),
    ],
)
def test_volume_bad_input(counts, bins, expected) -> None:
    with pytest.raises(OptionError, match=expected):
        volume_score(counts, bins=bins)


# --------------------------------------------------------------------------- trend


def change(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["category", "direction", "significance"])


def test_trend_rule_from_the_change_table() -> None:
    t = change([
        ("Up sig", "increase", SIG), ("Down sig", "decrease", SIG),
        ("Up ns", "increase", NOT_SIG), ("Flat", "no change", NOT_SIG),
    ])
    out = trend_score(t)
    assert out["trend"].tolist() == [4, 2, 3, 3]
    assert out["trend_basis"].tolist() == [
        "statistically significant increase (an increase is worse)",
        "statistically significant decrease (an increase is worse)",
        "change within normal variation",
        "no change",
    ]


def test_increase_is_worse_false_flips_the_change_rule() -> None:
    t = change([("DA", "increase", SIG), ("Robbery", "increase", SIG), ("DA2", "decrease", SIG)])
    out = trend_score(t, increase_is_worse={"DA": False, "DA2": False})
    assert out["trend"].tolist() == [2, 4, 4]
    assert out["trend_basis"][0] == "statistically significant increase (an increase is better)"
    assert trend_score(t, increase_is_worse=False)["trend"].tolist() == [2, 2, 4]


def test_spc_signals_take_precedence() -> None:
    t = change([("A", "decrease", SIG), ("B", "increase", SIG), ("C", "increase", SIG),
                ("D", "increase", NOT_SIG), ("E", "decrease", NOT_SIG)])
    spc = pd.DataFrame({
        "crime_type": ["A", "B", "C", "D", "Other"],
        "variation_type": ["special_cause_concern", "special_cause_improvement", "common_cause",
                           "special_cause_neutral_high", "special_cause_concern"],
    })
    out = trend_score(t, spc)
    assert out["theme"].tolist() == ["A", "B", "C", "D", "E"]
    # A: SPC concern beats a significant decrease; B: improvement beats a significant
    # increase; C: common cause falls back to the change (4); D: neutral high with an
    # increase worse is a concern; E: no SPC row, change within normal variation.
    assert out["trend"].tolist() == [5, 1, 4, 5, 3]
    assert out["trend_basis"].tolist()[:2] == ["SPC special-cause concern",
                                               "SPC special-cause improvement"]
    assert out["trend_basis"][3] == "SPC special cause, unusually high (an increase is worse)"


def test_neutral_spc_signals_read_through_increase_is_worse() -> None:
    t = change([("A", "no change", NOT_SIG), ("B", "no change", NOT_SIG)])
    spc = pd.DataFrame({"theme": ["A", "B"], "variation_type": [
        "special_cause_neutral_high", "special_cause_neutral_low"]})
    assert trend_score(t, spc)["trend"].tolist() == [5, 1]
    assert trend_score(t, spc, increase_is_worse=False)["trend"].tolist() == [1, 5]


def test_only_the_last_rebase_segment_counts() -> None:
    t = change([("A", "no change", NOT_SIG)])
    spc = pd.DataFrame({"crime_type": ["A", "A"], "rebase_group": [0, 1],
                        "variation_type": ["special_cause_concern", "common_cause"]})
    assert trend_score(t, spc)["trend"].tolist() == [3]


def test_trend_with_real_change_table_and_spc_summary() -> None:
    from sa_lib.stats.spc import spc_summary, xmr

    table = change_table(pd.DataFrame({"category": ["Drugs", "ASB"], "previous": [282, 3588],
                                       "current": [345, 3697]}))
    months = pd.date_range("2023-01-01", periods=24, freq="MS")
    flat = [20, 22, 21, 23, 22, 21, 20, 22, 21, 23, 22, 21] * 2
    jump = flat[:-1] + [60]  # last point far above the upper limit
    series = pd.DataFrame({"month": list(months) * 2, "crime_type": ["Drugs"] * 24 + ["ASB"] * 24,
                           "count": flat + jump})
    summary = spc_summary(xmr(series, "count", "month", by="crime_type", improvement="decrease"))
    out = trend_score(table, summary).set_index("theme")
    assert out.loc["Drugs", "trend"] == 4  # 282 -> 345 significant, common-cause chart
    assert out.loc["ASB", "trend"] == 5  # special-cause concern on its chart


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"increase_is_worse": {"Robery": False}}, "['Robery'] that are not in the change"),
        ({"increase_is_worse": {"A": "yes"}}, "must be True or False"),
        ({"increase_is_worse": "yes"}, "True/False or a mapping"),
    ],
)
def test_trend_option_errors(kwargs, expected) -> None:
    with pytest.raises(OptionError) as info:
        trend_score(change([("A", "increase", SIG)]), **kwargs)
    assert expected in str(info.value)


def test_trend_input_errors() -> None:
    with pytest.raises(OptionError, match="'direction' has unexpected value"):
        trend_score(change([("A", "up", SIG)]))
    with pytest.raises(OptionError, match="missing column"):
        trend_score(change([("A", "up", SIG)]).drop(columns="significance"))
    t = change([("A", "increase", SIG)])
    two_groups = pd.DataFrame({"area": ["x"], "crime_type": ["A"],
                               "variation_type": ["common_cause"]})
    with pytest.raises(OptionError, match="pass spc_group"):
        trend_score(t, two_groups)
    assert trend_score(t, two_groups, spc_group="crime_type")["trend"].tolist() == [4]
    dup = pd.DataFrame({"crime_type": ["A", "A"], "variation_type": ["common_cause"] * 2})
    with pytest.raises(OptionError, match="more than one row"):
        trend_score(t, dup)
    bad = pd.DataFrame({"crime_type": ["A"], "variation_type": ["special"]})
    with pytest.raises(OptionError, match="variation_type"):
        trend_score(t, bad)


# --------------------------------------------------------------------------- recommendation


def ranking(themes: list[str], ranks: list[int] | None = None) -> pd.DataFrame:
    return pd.DataFrame({"theme": themes, "rank": ranks or list(range(1, len(themes) + 1))})


def test_combined_rank_is_the_mean_rank_with_morile_breaking_ties() -> None:
    morile = ranking(["X", "Y", "Z", "W"], [1, 3, 2, 4])
    matrix = ranking(["X", "Y", "Z", "W"], [3, 1, 4, 2])
    out = recommend_priorities(morile, matrix, n_priorities=1)
    # Means: X 2, Y 2, Z 3, W 3.  X beats Y and Z beats W on MoRiLE rank.
    assert out["theme"].tolist() == ["X", "Y", "Z", "W"]
    assert out["mean_rank"].tolist() == [2, 2, 3, 3]
    assert out["combined_rank"].tolist() == [1, 2, 3, 4]
    assert out["recommendation"].tolist() == ["priority", "monitor", "monitor", "monitor"]


def test_themes_equal_on_both_keys_share_a_rank_and_ties_at_the_cut_off_all_count() -> None:
    morile = ranking(["A", "B", "C"], [1, 2, 2])
    matrix = ranking(["A", "B", "C"], [1, 2, 2])
    out = recommend_priorities(morile, matrix, n_priorities=2)
    assert out["combined_rank"].tolist() == [1, 2, 2]
    assert out["recommendation"].tolist() == ["priority"] * 3


def test_cross_cutting_themes_take_no_priority_place() -> None:
    themes = ["OCG", "Gangs", "ASB", "Substance misuse", "DA", "Prevent", "Reoffending", "KSI"]
    out = recommend_priorities(ranking(themes), ranking(themes), n_priorities=3,
                               cross_cutting=["ASB", "Prevent"])
    rec = dict(zip(out["theme"], out["recommendation"], strict=True))
    assert rec == {"OCG": "priority", "Gangs": "priority", "ASB": "cross-cutting theme",
                   "Substance misuse": "priority", "DA": "monitor",
                   "Prevent": "cross-cutting theme", "Reoffending": "monitor", "KSI": "monitor"}
    assert out["combined_rank"].tolist() == list(range(1, 9))


def test_themes_in_only_one_ranking_are_named() -> None:
    with pytest.raises(OptionError) as info:
        recommend_priorities(ranking(["A", "B", "C"]), ranking(["A", "B", "D"]))
    msg = str(info.value)
    assert "only in morile_ranked: ['C']" in msg and "only in matrix_ranked: ['D']" in msg


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"n_priorities": 0}, "n_priorities"),
        ({"n_priorities": 2.0}, "n_priorities"),
        ({"cross_cutting": ["Prevnet"]}, "['Prevnet']"),
        ({"cross_cutting": "A"}, "not one string"),
    ],
)
def test_recommend_option_errors(kwargs, expected) -> None:
    with pytest.raises(OptionError) as info:
        recommend_priorities(ranking(["A", "B"]), ranking(["A", "B"]), **kwargs)
    assert expected in str(info.value)


def test_recommend_rejects_bad_rankings() -> None:
    with pytest.raises(OptionError, match="appear more than once"):
        recommend_priorities(ranking(["A", "A"]), ranking(["A", "B"]))
    with pytest.raises(OptionError, match="theme and rank"):
        recommend_priorities(ranking(["A"]).drop(columns="rank"), ranking(["A"]))
    with pytest.raises(OptionError, match="rank must be a number >= 1"):
        recommend_priorities(ranking(["A"], [0]), ranking(["A"]))


def test_end_to_end_morile_and_matrix() -> None:
    scales = load_morile_scales()
    harm = {"DA": "Substantial", "ASB": "Low", "Drugs": "Moderate", "Robbery": "None"}
    rows = [("analyst", theme, f, h if f in scales.harm_dimensions else v)
            for theme, h in harm.items()
            for f, v in zip(scales.fields, [None] * 5 + ["Frequent", "Low", "Full", "High"],
                            strict=True)]
    scores = pd.DataFrame(rows, columns=["scorer", "theme", "field", "value"])
    morile = aggregate_morile(score_morile(scores, scales))
    matrix = priority_matrix(matrix_input().replace({"Domestic abuse": "DA"}))
    out = recommend_priorities(morile, matrix, n_priorities=2)
    # MoRiLE: DA 1, Drugs 2, ASB 3, Robbery 4; matrix: ASB 1, DA 1, Drugs 3, Robbery 4.
    assert out["theme"].tolist() == ["DA", "ASB", "Drugs", "Robbery"]
    assert out["mean_rank"].tolist() == [1, 2, 2.5, 4]
    assert out["recommendation"].tolist() == ["priority", "priority", "monitor", "monitor"]
