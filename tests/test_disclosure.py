"""Tests for small-number suppression of public tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sa_lib.errors import OptionError
from sa_lib.stats.disclosure import change_table_derived, render_table, safe_percentage
from sa_lib.stats.disclosure_audit import (
    check_disclosure,
    find_sum_columns,
    find_sum_rows,
    recoverable_cells,
)
from sa_lib.stats.suppression import apply_suppression, suppress, suppression_mask

BOTH = {"row_total": "Total", "column_total_row": "Total"}


def _with_totals(inner: list[list[int]], rows: bool = True, cols: bool = True) -> pd.DataFrame:
    """Wide table r1.., columns A.., plus a Total column and/or Total row."""
    names = [chr(ord("A") + j) for j in range(len(inner[0]))]
    t = pd.DataFrame(inner, columns=names, index=[f"r{i + 1}" for i in range(len(inner))])
    if cols:
        t.loc["Total"] = t.sum()
    if rows:
        t["Total"] = t[names].sum(axis=1)
    return t


def _hidden(mask: pd.DataFrame) -> set[tuple[str, str]]:
    return {(r, c) for r in mask.index for c in mask.columns if mask.loc[r, c]}


# --------------------------------------------------------------------------- hand-worked
def test_secondary_in_row_then_cascades_into_column() -> None:
    #         A   B   C  Total
    # r1      3  10  20    33   3 is small; row r1 then needs its smallest other cell (B=10)
    # r2     12  15  30    57
    # r3      8   9  40    57   column A needs a second cell (r3: 8), then row r3 needs B=9
    # Total  23  34  90   147
    t = _with_totals([[3, 10, 20], [12, 15, 30], [8, 9, 40]])
    mask = suppression_mask(t, **BOTH)
    assert _hidden(mask) == {("r1", "A"), ("r1", "B"), ("r3", "A"), ("r3", "B")}
    public = suppress(t, **BOTH)
    assert public.loc["r1", "A"] == "<5" and public.loc["r3", "B"] == "<5"
    assert public.loc["r2", "A"] == 12 and public.loc["Total", "Total"] == 147
    assert check_disclosure(public, **BOTH) == []


def test_primary_only_leaves_recoverable_cells() -> None:
    t = _with_totals([[3, 10, 20], [12, 15, 30], [8, 9, 40]])
    mask = suppression_mask(t, secondary=False, **BOTH)
    assert _hidden(mask) == {("r1", "A")}
    problems = check_disclosure(apply_suppression(t, mask, "<5"), **BOTH)
    assert len(problems) == 2  # row r1 and column A each leak the hidden 3
    assert any("row 'r1'" in p for p in problems) and any("column 'A'" in p for p in problems)


def test_row_totals_only() -> None:
    t = _with_totals([[3, 10, 20], [12, 15, 30]], cols=False)
    assert _hidden(suppression_mask(t, row_total="Total")) == {("r1", "A"), ("r1", "B")}


def test_column_totals_only() -> None:
    t = _with_totals([[3, 10], [12, 15], [8, 9]], rows=False)
    mask = suppression_mask(t, column_total_row="Total")
    assert _hidden(mask) == {("r1", "A"), ("r3", "A")}


def test_small_totals_are_suppressed_too() -> None:
    t = _with_totals([[1, 2], [10, 20]])
    mask = suppression_mask(t, **BOTH)
    assert mask.loc["r1"].all()  # 1, 2 and the row total 3
    assert check_disclosure(apply_suppression(t, mask, "<5"), **BOTH) == []


def test_line_with_a_single_cell_suppresses_its_total() -> None:
    #        A  Total
    # r1     3      3   both small
    # r2    10     10   column A needs a second cell (10); r2 then has one cell, so its total goes
    # Total 13     13
    t = _with_totals([[3], [10]])
    mask = suppression_mask(t, **BOTH)
    assert _hidden(mask) == {("r1", "A"), ("r1", "Total"), ("r2", "A"), ("r2", "Total")}
    assert check_disclosure(apply_suppression(t, mask, "<5"), **BOTH) == []


def test_line_whose_other_cells_are_zero_suppresses_its_total() -> None:
    t = _with_totals([[3, 0], [10, 0]])
    mask = suppression_mask(t, **BOTH)
    assert _hidden(mask) == {("r1", "A"), ("r1", "Total"), ("r2", "A"), ("r2", "Total")}
    assert not mask["B"].any()  # zeros are never used as complements


def test_table_without_small_cells_is_unchanged() -> None:
    t = _with_totals([[5, 10, 0], [12, 15, 30]])
    assert not suppression_mask(t, **BOTH).to_numpy().any()
    out = suppress(t, **BOTH)
    pd.testing.assert_frame_equal(out, t)  # same numbers, same dtypes


def test_zero_is_shown_unless_asked() -> None:
    t = pd.DataFrame({"ward": ["North", "South"], "n": [0, 12], "m": [7, 2]})
    out = suppress(t, label_column="ward")
    assert out["n"].tolist() == [0, 12]
    assert out["m"].tolist() == [7, "<5"]
    hidden = suppress(t, label_column="ward", suppress_zero=True)
    assert hidden["n"].tolist() == ["<5", 12]


def test_threshold_and_symbol() -> None:
    t = pd.DataFrame({"n": [7, 8, 100]})
    assert suppress(t, threshold=8)["n"].tolist() == ["<8", 8, 100]
    assert suppress(t, threshold=8, symbol="[c]")["n"].tolist() == ["[c]", 8, 100]


def test_missing_cells_are_never_suppressed() -> None:
    t = pd.DataFrame({"n": [np.nan, 3.0, 40.0]})
    assert suppress(t)["n"].tolist()[1:] == ["<5", 40.0]
    assert np.isnan(suppress(t)["n"].iloc[0])


def test_total_row_found_by_label_column() -> None:
    t = pd.DataFrame({"ward": ["North", "South", "All wards"],
                      "2024": [3, 20, 23], "2025": [9, 18, 27]})
    out = suppress(t, column_total_row="All wards", label_column="ward")
    assert out["2024"].tolist() == ["<5", "<5", 23]
    assert out["2025"].tolist() == [9, 18, 27]
    assert out["ward"].tolist() == t["ward"].tolist()
    assert check_disclosure(out, column_total_row="All wards", label_column="ward") == []


def test_caller_table_not_mutated() -> None:
    t = _with_totals([[3, 10, 20], [12, 15, 30]])
    before = t.copy()
    suppress(t, **BOTH)
    render_table(t, "public", **BOTH)
    check_disclosure(t, **BOTH)
    pd.testing.assert_frame_equal(t, before)


# --------------------------------------------------------------------------- percentages
def test_safe_percentage() -> None:
    num = pd.Series([3, 50, 0], index=["a", "b", "c"])
    plain = safe_percentage(num, [40, 200, 0])
    assert plain.dtype == np.float64 and list(plain.index) == ["a", "b", "c"]
    assert plain.iloc[0] == pytest.approx(7.5) and np.isnan(plain.iloc[2])
    masked = safe_percentage(num, [40, 200, 0], mask_numerator=[True, False, False],
                             mask_denominator=[False, False, True], symbol="[c]")
    assert masked.tolist()[0] == "[c]" and masked.tolist()[2] == "[c]"
    assert masked.iloc[1] == pytest.approx(25.0)
    with pytest.raises(OptionError, match="same length"):
        safe_percentage([1, 2], [3])


def _change_table() -> pd.DataFrame:
    t = pd.DataFrame({"category": ["Robbery", "Burglary", "Drug offences", "All"],
                      "previous": [6, 120, 282, 408], "current": [3, 98, 345, 446]})
    t["difference"] = t["current"] - t["previous"]
    t["pct_change"] = t["difference"] / t["previous"] * 100
    t["sentence"] = [f"{c} changed from {p} to {n}" for c, p, n in
                     zip(t["category"], t["previous"], t["current"], strict=True)]
    return t


def test_change_table_public_suppresses_difference_and_pct() -> None:
    t = _change_table()
    derived = change_table_derived(t)
    assert set(derived) == {"difference", "pct_change", "sentence"}
    out = render_table(t, "public", label_column="category", column_total_row="All",
                       derived=derived)
    robbery = out.iloc[0]
    assert robbery["current"] == "<5"
    assert robbery["difference"] == "<5" and robbery["pct_change"] == "<5"
    assert robbery["sentence"] == "<5"  # the sentence quotes the numbers
    # Column 'current' has a total, so the next-smallest current (Burglary, 98) goes as well,
    # and with it Burglary's change.
    assert out.iloc[1][["current", "difference", "pct_change"]].tolist() == ["<5"] * 3
    assert out.iloc[1]["previous"] == 120
    assert out.iloc[2]["pct_change"] == pytest.approx(63 / 282 * 100)
    assert check_disclosure(out, label_column="category", column_total_row="All",
                            derived=derived) == []


def test_share_of_row_total_is_suppressed_with_its_count() -> None:
    t = _with_totals([[3, 10, 20], [12, 15, 30], [8, 9, 40]])
    t["pct_A"] = t["A"] / t["Total"] * 100
    out = render_table(t, "public", derived={"pct_A": ["A", "Total"]}, **BOTH)
    assert out["pct_A"].tolist()[:3] == ["<5", t.loc["r2", "pct_A"], "<5"]


def test_check_disclosure_catches_derived_leak() -> None:
    t = _change_table()
    derived = change_table_derived(t)
    leaky = t.copy()
    leaky["current"] = leaky["current"].astype(object)
    leaky.loc[0, "current"] = "<5"
    problems = check_disclosure(leaky, label_column="category", derived=derived)
    assert len(problems) == 3  # difference, pct_change, sentence in the Robbery row
    assert all("Robbery" in p for p in problems)


# --------------------------------------------------------------------------- check_disclosure
def test_check_disclosure_fails_on_raw_and_passes_on_public() -> None:
    t = _with_totals([[3, 10, 20], [12, 15, 30], [8, 4, 40]])
    raw_problems = check_disclosure(t, **BOTH)
    assert len(raw_problems) == 2
    assert "count 3 is visible" in raw_problems[0] and "count 4 is visible" in raw_problems[1]
    assert check_disclosure(suppress(t, **BOTH), **BOTH) == []


def test_check_disclosure_catches_lone_suppressed_total() -> None:
    t = _with_totals([[30, 10], [12, 15]])
    mask = pd.DataFrame(False, index=t.index, columns=t.columns)
    mask.loc["r1", "Total"] = True  # recoverable as 30 + 10
    problems = check_disclosure(apply_suppression(t, mask, "<5"), **BOTH)
    assert any(p.startswith("row 'r1'") for p in problems)
    assert any(p.startswith("column 'Total'") for p in problems)


def test_check_disclosure_rejects_unknown_text_in_counts() -> None:
    t = pd.DataFrame({"n": [12, 13]}).astype(object)
    t.loc[0, "n"] = "n/a"
    with pytest.raises(OptionError, match="'n/a'"):
        check_disclosure(t, value_columns=["n"])


# --------------------------------------------------------------------------- render_table
def test_render_official_returns_numbers_unchanged() -> None:
    t = _with_totals([[3, 10, 20], [12, 15, 30]])
    out = render_table(t, "official", **BOTH)
    pd.testing.assert_frame_equal(out, t)
    assert out is not t


def test_render_public_is_object_dtype_with_symbols() -> None:
    t = _with_totals([[3, 10, 20], [12, 15, 30]])
    out = render_table(t, "public", **BOTH)
    assert out["A"].dtype == object and out.loc["r1", "A"] == "<5"


def test_render_validates_audience_and_options_for_both_audiences() -> None:
    t = _with_totals([[3, 10], [12, 15]])
    with pytest.raises(OptionError, match="audience"):
        render_table(t, "press")
    for audience in ("official", "public"):
        with pytest.raises(OptionError, match="row_total"):
            render_table(t, audience, row_total="Sum")


# --------------------------------------------------------------------------- validation
def test_bad_options_rejected() -> None:
    t = _with_totals([[3, 10], [12, 15]])
    with pytest.raises(OptionError, match="threshold"):
        suppress(t, threshold=0)
    with pytest.raises(OptionError, match="threshold"):
        suppress(t, threshold=True)
    with pytest.raises(OptionError, match="symbol"):
        suppress(t, symbol="")
    with pytest.raises(OptionError, match="column_total_row='All' not found"):
        suppress(t, column_total_row="All")
    with pytest.raises(OptionError, match="value_columns"):
        suppress(t, value_columns=["A", "Z"])
    with pytest.raises(OptionError, match="must not include 'Total'"):
        suppress(t, value_columns=["A", "Total"], row_total="Total")
    with pytest.raises(OptionError, match="must not include 'A'"):
        suppress(t, value_columns=["A", "B"], derived={"A": "B"})  # count or derived, not both
    with pytest.raises(OptionError, match="derived must map"):
        suppress(t, derived=["A"])
    with pytest.raises(OptionError, match="source 'Z'"):
        suppress(t.assign(p=1.5), derived={"p": ["A", "Z"]})
    with pytest.raises(OptionError, match="secondary"):
        suppress(t, secondary="yes")


def test_total_row_label_must_be_unique() -> None:
    t = pd.DataFrame({"ward": ["Total", "Total"], "n": [10, 10]})
    with pytest.raises(OptionError, match="found 2 times"):
        suppress(t, column_total_row="Total", label_column="ward")


def test_non_count_values_rejected() -> None:
    with pytest.raises(OptionError, match="'n' holds -1"):
        suppress(pd.DataFrame({"n": [5, -1]}))
    with pytest.raises(OptionError, match="whole numbers"):
        suppress(pd.DataFrame({"pct_change": [22.3, 5.0]}))
    with pytest.raises(OptionError, match="not numeric"):
        suppress(pd.DataFrame({"n": ["<5", "12"]}), value_columns=["n"])
    with pytest.raises(OptionError, match="no count columns"):
        suppress(pd.DataFrame({"ward": ["North"]}))


def test_apply_suppression_checks_mask() -> None:
    t = pd.DataFrame({"n": [3, 12]})
    with pytest.raises(OptionError, match="same index and columns"):
        apply_suppression(t, pd.DataFrame({"m": [True, False]}))
    with pytest.raises(OptionError, match="boolean"):
        apply_suppression(t, pd.DataFrame({"n": [1, 0]}))


# --------------------------------------------------------------------------- properties
@st.composite
def count_tables(draw: st.DrawFn) -> tuple[pd.DataFrame, dict, int]:
    n_rows = draw(st.integers(1, 5))
    n_cols = draw(st.integers(1, 5))
    cell = st.one_of(st.integers(0, 6), st.integers(0, 40))  # plenty of small counts
    inner = [[draw(cell) for _ in range(n_cols)] for _ in range(n_rows)]
    layout = draw(st.sampled_from(["both", "rows", "cols"]))
    t = _with_totals(inner, rows=layout != "cols", cols=layout != "rows")
    options = {
        "row_total": "Total" if layout != "cols" else None,
        "column_total_row": "Total" if layout != "rows" else None,
    }
    return t, options, draw(st.sampled_from([3, 5, 8]))


@settings(max_examples=300, deadline=None)
@given(count_tables())
def test_public_output_always_passes_check(case) -> None:
    t, options, threshold = case
    mask = suppression_mask(t, threshold, **options)
    public = apply_suppression(t, mask, f"<{threshold}")
    assert check_disclosure(public, threshold, **options) == []
    values = t.to_numpy(dtype=float)
    hidden = mask.to_numpy()
    small = (values >= 1) & (values < threshold)
    assert hidden[small].all()  # every small count is hidden
    assert not hidden[values == 0].any()  # zero is never hidden
    # The visible numbers are exactly the original ones.
    shown = public.to_numpy(dtype=object)[~hidden]
    assert (shown.astype(float) == values[~hidden]).all()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12)), min_size=1, max_size=6),
    st.booleans(),
)
def test_change_tables_never_leak(rows, with_total) -> None:
    t = pd.DataFrame(rows, columns=["previous", "current"])
    t.insert(0, "category", [f"c{i}" for i in range(len(t))])
    if with_total:
        t.loc[len(t)] = ["All", t["previous"].sum(), t["current"].sum()]
    t["difference"] = t["current"] - t["previous"]
    t["pct_change"] = (t["difference"] / t["previous"].where(t["previous"] > 0)) * 100
    options = {"label_column": "category", "derived": change_table_derived(t),
               "column_total_row": "All" if with_total else None}
    public = render_table(t, "public", **options)
    assert check_disclosure(public, **options) == []


# --------------------------------------------------------------------------- sum rows and audits
def _change_with_partial_total() -> pd.DataFrame:
    # "Total" adds up A, B and C but not ASB (like "Total crime (excluding ASB)").
    return pd.DataFrame({"type": ["Total", "ASB", "A", "B", "C"],
                         "prev": [63, 40, 3, 20, 40], "cur": [70, 44, 30, 18, 22]})


def test_sum_rows_get_secondary_suppression_total_first() -> None:
    t = _change_with_partial_total()
    sums = {"Total": ["A", "B", "C"]}
    mask = suppression_mask(t, label_column="type", sums=sums)
    # prev: A=3 is small, so the line (Total; A, B, C) hides its own total, not B=20
    # (B is shown in other tables of a report, where hiding it here would not protect A).
    assert mask["prev"].tolist() == [True, False, True, False, False]
    assert not mask["cur"].any()
    public = suppress(t, label_column="type", sums=sums)
    assert check_disclosure(public, label_column="type", sums=sums) == []
    assert recoverable_cells(public, t, ["prev", "cur"], label_column="type", sums=sums) == []


def test_primary_only_with_a_partial_total_is_caught_both_ways() -> None:
    t = _change_with_partial_total()
    leaky = suppress(t, label_column="type", value_columns=["prev", "cur"])  # no sums declared
    assert leaky.loc[2, "prev"] == "<5" and leaky.loc[0, "prev"] == 63
    # Declared: check_disclosure names the line.  Undeclared: the audit finds the total
    # from the full table (63 = 3 + 20 + 40, ASB left out) and recovers the 3.
    assert check_disclosure(leaky, label_column="type", sums={"Total": ["A", "B", "C"]})
    assert recoverable_cells(leaky, t, ["prev", "cur"], label_column="type") == [
        "row 'A', column 'prev': 3 = row 'Total' minus the other rows it adds up"]


def test_find_sum_rows_and_columns() -> None:
    t = _change_with_partial_total()
    assert find_sum_rows(t, ["prev", "cur"], "type") == {"Total": ["A", "B", "C"]}
    assert find_sum_rows(t.iloc[1:], ["prev", "cur"], "type") == {}
    wide = pd.DataFrame({"x": [3, 10], "y": [9, 12], "all": [12, 22]})
    assert find_sum_columns(wide, ["x", "y", "all"]) == {"all": ["x", "y"]}


def test_recoverable_cells_follows_chains_and_columns() -> None:
    full = pd.DataFrame({"g": ["All", "P", "Q", "P1", "P2"], "n": [50, 30, 20, 3, 27],
                         "m": [8, 6, 2, 4, 2], "n+m": [58, 36, 22, 7, 29]})
    pub = full.astype(object).copy()
    pub.loc[2, "n"] = "<5"   # Q.n = All - P
    pub.loc[1, "n"] = "<5"   # P.n: two unknowns in (All; P, Q) ...
    pub.loc[3, "n"] = "<5"   # ... but P = P1 + P2 with P1 hidden too; n+m = n + m gives P1.n
    found = recoverable_cells(pub, full, ["n", "m", "n+m"], label_column="g")
    assert any(f.startswith("row 'P1', column 'n': 3") for f in found)
    assert any(f.startswith("row 'Q', column 'n': 20") for f in found)
    safe = full.astype(object).copy()
    safe.loc[[0, 1], "n"] = "<5"
    safe.loc[[0, 1], "n+m"] = "<5"
    safe.loc[[3, 4], "n"] = "<5"
    safe.loc[[3, 4], "n+m"] = "<5"
    safe.loc[2, "n"] = "<5"
    safe.loc[2, "n+m"] = "<5"
    assert recoverable_cells(safe, full, ["n", "m", "n+m"], label_column="g") == []


def test_sums_option_is_validated() -> None:
    t = _change_with_partial_total()
    with pytest.raises(OptionError, match="'Nope' not found"):
        suppression_mask(t, label_column="type", sums={"Total": ["A", "Nope"]})
    with pytest.raises(OptionError, match="other than itself"):
        suppression_mask(t, label_column="type", sums={"Total": ["Total"]})
    with pytest.raises(OptionError, match="same rows and columns"):
        recoverable_cells(t.iloc[1:], t, ["prev"], label_column="type")
