"""SPC over the history (issue #13, items 4 and 5): baseline, gaps, floor at 0, sentences.

Expected limits are worked by hand here (mean of the baseline points, mean moving range
of consecutive baseline months, screening at 3.267 × that mean), never by calling xmr.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sa_lib.errors import OptionError, ParameterError
from sa_lib.periods import month_window
from sa_lib.report.charts import spc_chart
from sa_lib.report.spc_text import (
    NO_SIGNALS,
    latest_point_words,
    spc_sentences,
    window_signals,
)
from sa_lib.stats.spc import xmr
from sa_lib.stats.spc_history import history_summary, history_xmr

WINDOW = month_window("2025-01", "2025-12")


def monthly(values: list[float], end: str = "2025-12") -> pd.DataFrame:
    months = pd.period_range(end=end, periods=len(values), freq="M")
    return pd.DataFrame({"month": months, "n": np.asarray(values, dtype=float)})


def hand_limits(blocks: list[list[float]]) -> tuple[float, float, float]:
    """mean ± 2.66 × mean moving range over runs of consecutive baseline months."""
    x = np.concatenate([np.asarray(b, float) for b in blocks])
    mr = np.concatenate([np.abs(np.diff(np.asarray(b, float))) for b in blocks])
    kept = mr[mr < 3.267 * mr.mean()]
    amr = kept.mean()
    return float(x.mean()), float(x.mean() - 2.66 * amr), float(x.mean() + 2.66 * amr)


def wiggle(n: int, base: float = 100.0, seed: int = 1) -> list[float]:
    rng = np.random.default_rng(seed)
    return list(np.round(base + rng.normal(0, 5, n)))


# --------------------------------------------------------------------------- baseline rule
def test_auto_baseline_is_the_months_before_the_window_when_there_are_20() -> None:
    before = wiggle(20)
    values = before + [100.0] * 6 + [200.0] + [100.0] * 5  # a big July 2025
    out = history_xmr(monthly(values), "n", WINDOW)
    mean, lo, hi = hand_limits([before])
    assert len(out) == 32 and int(out["in_baseline"].sum()) == 20
    assert out["in_baseline"].to_numpy()[:20].all() and not out["in_baseline"].iloc[20:].any()
    assert out["mean"].iloc[-1] == pytest.approx(mean)
    assert out["upl"].iloc[-1] == pytest.approx(hi) and out["lpl"].iloc[0] == pytest.approx(lo)
    s = history_summary(out).iloc[0]
    assert (s["points"], s["baseline_points"], bool(s["baseline_all"])) == (32, 20, False)
    assert (str(s["baseline_start"]), str(s["baseline_end"])) == ("2023-05", "2024-12")


def test_auto_baseline_is_every_point_with_19_before_the_window() -> None:
    values = wiggle(19) + wiggle(12, seed=2)
    out = history_xmr(monthly(values), "n", WINDOW)
    mean, lo, hi = hand_limits([values])
    assert out["in_baseline"].all()
    assert out["mean"].iloc[0] == pytest.approx(mean) and out["upl"].iloc[0] == pytest.approx(hi)
    assert bool(history_summary(out)["baseline_all"].iloc[0])


def test_baseline_counts_only_months_with_a_value() -> None:
    # 21 months before the window, 2 of them without a figure: 19 points, so all points.
    values = wiggle(21) + wiggle(12, seed=3)
    values[5] = values[6] = np.nan
    out = history_xmr(monthly(values), "n", WINDOW)
    assert out["in_baseline"].sum() == 31 and not out.loc[out["n"].isna(), "in_baseline"].any()
    one_more = history_xmr(monthly(wiggle(21) + wiggle(12, seed=3)).assign(
        n=lambda d: d["n"].where(d.index != 5)), "n", WINDOW)
    assert int(one_more["in_baseline"].sum()) == 20  # 21 before, one missing: 20 points


def test_other_baseline_rules() -> None:
    values = wiggle(24) + wiggle(12, seed=4)
    df = monthly(values)
    assert history_xmr(df, "n", WINDOW, baseline="all")["in_baseline"].all()
    short = history_xmr(monthly(wiggle(4) + wiggle(12, seed=4)), "n", WINDOW,
                        baseline="before_window")
    assert int(short["in_baseline"].sum()) == 4
    mean, _, hi = hand_limits([wiggle(4)])
    assert short["mean"].iloc[0] == pytest.approx(mean) and short["upl"].iloc[0] == \
        pytest.approx(hi)
    ranged = history_xmr(df, "n", WINDOW, baseline=("2024-01", "2024-12"))
    assert list(ranged.loc[ranged["in_baseline"], "month"].dt.strftime("%Y-%m")) == \
        [f"2024-{m:02d}" for m in range(1, 13)]
    mean, lo, hi = hand_limits([values[12:24]])
    assert ranged["lpl"].iloc[0] == pytest.approx(lo) and ranged["upl"].iloc[0] == \
        pytest.approx(hi)


def test_rebase_keeps_working_over_the_history() -> None:
    before = wiggle(24)
    after = wiggle(6, base=150.0, seed=5)
    values = before + wiggle(6, seed=6) + after
    out = history_xmr(monthly(values), "n", WINDOW, rebase=["2025-07"])
    first, second = out[out["rebase_group"] == 0], out[out["rebase_group"] == 1]
    assert first["in_baseline"].sum() == 24 and second["in_baseline"].all()
    assert second["mean"].iloc[0] == pytest.approx(np.mean(after))
    assert first["mean"].iloc[0] == pytest.approx(np.mean(before))
    s = history_summary(out)
    assert list(s["points"]) == [30, 6] and list(s["baseline_all"]) == [False, True]


def test_options_are_validated() -> None:
    df = monthly(wiggle(24))
    with pytest.raises(OptionError, match="history_months"):
        history_xmr(df, "n", WINDOW, history_months=6)
    with pytest.raises(OptionError, match="baseline must be one of"):
        history_xmr(df, "n", WINDOW, baseline="first_year")
    with pytest.raises(OptionError, match="starts after it ends"):
        history_xmr(df, "n", WINDOW, baseline=("2025-01", "2024-01"))
    with pytest.raises(OptionError, match="not both"):
        xmr(df.assign(b=True), "n", "month", baseline="b", fix_after_n_points=12)
    with pytest.raises(OptionError, match="boolean column"):
        xmr(df, "n", "month", baseline="n")
    with pytest.raises(OptionError, match="limit_floor"):
        xmr(df, "n", "month", limit_floor="0")


def test_xmr_baseline_of_the_first_n_points_equals_fix_after_n_points() -> None:
    values = wiggle(30, seed=7)
    df = monthly(values)
    fixed = xmr(df, "n", "month", fix_after_n_points=15)
    marked = xmr(df.assign(b=np.arange(30) < 15), "n", "month", baseline="b")
    for c in ("mean", "lpl", "upl", "near_lpl", "near_upl", "special_cause"):
        np.testing.assert_array_equal(fixed[c].to_numpy(), marked[c].to_numpy())


# --------------------------------------------------------------------------- history, gaps
def test_history_is_capped_at_history_months() -> None:
    out = history_xmr(monthly(wiggle(48)), "n", WINDOW)
    assert len(out) == 36 and out["month"].min() == pd.Timestamp("2023-01-01")
    out = history_xmr(monthly(wiggle(48)), "n", WINDOW, history_months=24)
    assert len(out) == 24


def test_missing_months_are_gaps_not_points() -> None:
    # Jan-Apr 2024 and Jan-Dec 2025, as police.uk holds for Maidstone.
    a, b = wiggle(4, seed=8), wiggle(12, seed=9)
    df = pd.concat([monthly(a, end="2024-04"), monthly(b)], ignore_index=True)
    out = history_xmr(df, "n", WINDOW)
    assert len(out) == 24 and int(out["n"].isna().sum()) == 8
    mean, lo, hi = hand_limits([a, b])  # no moving range across the gap
    assert out["mean"].iloc[0] == pytest.approx(mean) and out["upl"].iloc[0] == pytest.approx(hi)
    s = history_summary(out).iloc[0]
    assert (s["points"], s["missing"]) == (16, 8)
    alt = spc_chart(out, "Robbery").alt_text
    assert "16 monthly values from Jan 2024 to Dec 2025" in alt
    assert "No figures for May 2024 – Dec 2024 (8 months): the line breaks there." in alt
    assert "the limits come from all 16 months" in alt
    # The line is broken: the gap's points are NaN in the drawn line.
    chart = spc_chart(out, "Robbery")
    line = chart.figure.axes[0].lines[0]
    assert int(np.isnan(np.asarray(line.get_ydata(), dtype=float)).sum()) == 8


def test_a_run_does_not_reach_across_a_gap() -> None:
    # 4 high months, a missing month, 4 more high months: no run of 7.
    base = [104.0, 98.0, 102.0, 100.0] * 5  # mean 101, ending below it
    values = base + [103.0] * 4 + [np.nan] + [103.0] * 4 + [100.0, 98.0, 101.0]
    out = history_xmr(monthly(values), "n", WINDOW, baseline="before_window")
    assert not out["special_cause"].any() and window_signals(out, WINDOW) == []
    joined = history_xmr(monthly(base + [103.0] * 8 + [100.0, 98.0, 101.0, 99.0]), "n",
                         WINDOW, baseline="before_window")
    assert (joined["rule"] == "run").sum() == 8
    assert window_signals(joined, WINDOW) == [
        "a run of 8 points above the mean (concern) from Jan 2025 to Aug 2025"]


# --------------------------------------------------------------------------- floor at 0
def test_lower_limits_are_raised_to_zero_for_counts_only() -> None:
    values = [0.0, 9.0, 1.0, 8.0, 0.0, 10.0] * 4 + [3.0] * 12
    raw = history_xmr(monthly(values), "n", WINDOW)
    counted = history_xmr(monthly(values), "n", WINDOW, limit_floor=0.0)
    mean, lo, _ = hand_limits([values[:24]])
    assert lo < 0 and raw["lpl"].iloc[0] == pytest.approx(lo)
    assert (counted["lpl"] == 0).all() and (counted["near_lpl"] >= 0).all()
    # No count can fall below a lower limit of 0 (0 itself is not below it).
    assert not (counted["n"] < counted["lpl"]).any()
    assert not counted.loc[counted["n"] == 0, "outside_limits"].any()
    chart = spc_chart(counted, "Needle finds")
    assert "Lower limits below 0 are shown as 0" in chart.alt_text
    assert any("Lower limits below 0" in t.get_text() for t in chart.figure.texts)
    assert "Lower limits below 0" not in spc_chart(raw, "Rate").alt_text


def test_chapters_floor_counts_but_not_rates(monkeypatch) -> None:
    import sa_lib as sa

    ctx = sa.open_assessment("parameters/2025.yaml")
    assert ctx.crime.monthly_spc().attrs["spc_options"]["limit_floor"] == 0.0
    rate = ctx.partners.partner_spc(["Domestic abuse repeat rate"])
    count = ctx.partners.partner_spc(["Needle finds"])
    assert rate.attrs["spc_options"]["limit_floor"] is None
    assert count.attrs["spc_options"]["limit_floor"] == 0.0 and (count["lpl"] >= 0).all()


# --------------------------------------------------------------------------- sentences
def test_latest_common_cause_but_the_window_has_a_point_outside() -> None:
    values = wiggle(24) + [100.0] * 6 + [200.0] + [101.0, 99.0, 100.0, 98.0, 100.0]
    out = history_xmr(monthly(values), "n", WINDOW)
    text = spc_sentences(out, "robbery", WINDOW)
    assert text == ("In December 2025, robbery was within the limits (common cause). Over "
                    "Jan 2025 – Dec 2025: one point above the upper limit (concern): July 2025.")
    assert "only common-cause" not in text


def test_a_run_is_named_with_its_months() -> None:
    # mean 101; a month on the mean (Feb, Oct) ends a run.
    values = [100.0, 104.0, 98.0, 102.0] * 6 + [100.0, 101.0, 97.0, 98.0, 97.0, 96.0, 98.0, 97.0,
                                                 96.0, 101.0, 104.0, 102.0]
    out = history_xmr(monthly(values), "n", WINDOW)
    assert window_signals(out, WINDOW) == [
        "a run of 7 points below the mean (improvement) from Mar 2025 to Sep 2025"]
    when, words = latest_point_words(out)
    assert when == pd.Timestamp("2025-12-01") and words == "within the limits (common cause)"


def test_latest_point_in_a_run_and_increase_is_improvement() -> None:
    values = [100.0, 104.0, 98.0, 102.0] * 6 + [100.0] * 4 + [103.0, 104.0, 103.0, 104.0,
                                                               103.0, 104.0, 103.0, 104.0]
    out = history_xmr(monthly(values), "n", WINDOW, improvement="increase")
    _, words = latest_point_words(out)
    assert words == ("part of a run of 8 points above the mean (special cause: improvement)")


def test_no_signals() -> None:
    values = [100.0, 104.0, 98.0, 102.0] * 9
    out = history_xmr(monthly(values), "n", WINDOW)
    assert spc_sentences(out, "drugs", WINDOW).endswith(f"Over Jan 2025 – Dec 2025: {NO_SIGNALS}.")


def test_a_point_marked_seasonal_is_called_seasonal() -> None:
    values = wiggle(24) + [100.0] * 6 + [200.0] + [100.0] * 5
    out = history_xmr(monthly(values), "n", WINDOW)
    out["seasonal"] = out["special_cause"] & (out["month"] == pd.Timestamp("2025-07-01"))
    assert window_signals(out, WINDOW) == [
        "one point above the upper limit (concern): July 2025 (seasonal: the same month was "
        "high in another year)"]
    assert "seasonal" not in window_signals(out.drop(columns="seasonal"), WINDOW)[0]


def test_seasonal_is_said_once_for_a_list_of_points() -> None:
    values = wiggle(24) + [100.0] * 3 + [200.0] + [100.0] * 2 + [200.0] + [100.0] * 5
    out = history_xmr(monthly(values), "n", WINDOW)
    assert out["outside_limits"].sum() == 2  # April and July 2025
    out["seasonal"] = out["special_cause"] & (out["month"] == pd.Timestamp("2025-07-01"))
    assert window_signals(out, WINDOW) == [
        "two points above the upper limit (concern): April 2025 and July 2025 (seasonal, the "
        "same month also high in another year: July 2025)"]
    out["seasonal"] = out["outside_limits"]
    assert window_signals(out, WINDOW)[0].endswith(
        "April 2025 and July 2025 (seasonal: each was also high in the same month of another "
        "year)")


def test_chapter_spc_marks_a_recurring_peak_seasonal() -> None:
    # The same month far above the rest in two years: both points outside the limits and,
    # through history_spc, called seasonal (mark_seasonal wired in).
    from sa_lib.data.parameters import load_parameters
    from sa_lib.report.chapters.common import history_spc

    values = wiggle(36)
    values[18] = values[30] = 140.0  # July 2024 and July 2025, far above the rest
    frame = monthly(values).rename(columns={"n": "count"})
    spc = history_spc(frame, load_parameters("parameters/2025.yaml"))
    assert spc.loc[spc["seasonal"], "month"].dt.strftime("%Y-%m").tolist() == ["2024-07", "2025-07"]
    assert "July 2025 (seasonal: the same month was high in another year)" in \
        " ".join(window_signals(spc, WINDOW))


def test_partner_series_with_many_signals_is_not_common_cause() -> None:
    """Council ASB: the window-only chart had 7 special-cause points; the sentence must not
    say "only common-cause variation" and names what the window shows."""
    import sa_lib as sa

    ctx = sa.open_assessment("parameters/2025.yaml")
    text = ctx.partners.partner_spc_text("Council ASB incidents")
    assert "only common-cause" not in text
    spc = ctx.partners.partner_spc(["Council ASB incidents"])
    in_window = spc[(spc["month"] >= "2025-01-01") & spc["special_cause"]]
    assert len(in_window) > 0 and "no special-cause points" not in text
    assert text.startswith("In December 2025, the monthly figure for Council ASB incidents was ")
    s = ctx.partners.partner_spc_summary(["Council ASB incidents"]).iloc[0]
    assert s["months charted"] == 36 and s["baseline"] == "Jan 2023 – Dec 2024, 24 months"
    assert s["review window"] in text and s["latest month"].startswith("Dec 2025: ")


def test_theme_spc_summary_and_sentence() -> None:
    import sa_lib as sa

    ctx = sa.open_assessment("parameters/2025.yaml")
    s = ctx.themes.theme_spc_summary("Anti-social behaviour").iloc[0]
    assert (s["months charted"], s["baseline"]) == (16, "all 16 months")
    assert s["review window"] == "one point above the upper limit (concern): July 2025"
    text = ctx.themes.theme_crime_text("Anti-social behaviour").data.replace("\\", "")
    assert ("In December 2025, Anti-social behaviour was within the limits (common cause). Over "
            "Jan 2025 – Dec 2025: one point above the upper limit (concern): July 2025.") in text


# --------------------------------------------------------------------------- chart, parameters
def test_chart_shades_the_window_and_is_deterministic() -> None:
    out = history_xmr(monthly(wiggle(36)), "n", WINDOW)
    chart = spc_chart(out, "Drugs")
    patches = chart.figure.axes[0].patches
    assert len(patches) == 1  # the shaded review window
    labels = [t.get_text() for t in chart.figure.axes[0].get_legend().get_texts()]
    assert "Review window (Jan 2025 – Dec 2025)" in labels
    assert "The shaded review window, Jan 2025 – Dec 2025, shows" in chart.alt_text
    assert "the limits come from Jan 2023 – Dec 2024, 24 months" in chart.alt_text
    assert spc_chart(out, "Drugs").to_png() == chart.to_png()


def test_parameters_spc_section(tmp_path) -> None:
    import yaml

    from sa_lib.data.parameters import load_parameters
    from sa_lib.paths import PARAMETERS_DIR

    raw = yaml.safe_load((PARAMETERS_DIR / "2025.yaml").read_text(encoding="utf-8"))
    p = load_parameters(PARAMETERS_DIR / "2025.yaml")
    assert (p.spc.history_months, p.spc.baseline_rule) == (36, "auto")
    for spc, message in [({"history_months": 6}, "spc.history_months 6 is shorter"),
                         ({"baseline": "first"}, "baseline"),
                         ({"baseline": {"start": "2024-12", "end": "2024-01"}},
                          "starts after it ends"),
                         ({"window": 3}, "window")]:
        f = tmp_path / "bad.yaml"
        f.write_text(yaml.safe_dump({**raw, "spc": spc}), encoding="utf-8")
        with pytest.raises(ParameterError, match=message):
            load_parameters(f)
    f = tmp_path / "ok.yaml"
    f.write_text(yaml.safe_dump({**raw, "spc": {"history_months": 24, "baseline": {
        "start": "2024-01", "end": "2024-12"}}}), encoding="utf-8")
    p = load_parameters(f)
    assert (p.spc.history_months, p.spc.baseline_rule) == (24, ("2024-01", "2024-12"))
    # The default history grows with a review window longer than 36 months (not refused).
    long = {**raw, "window": {**raw["window"], "months": 48}}
    long.pop("spc", None)
    long.pop("comparison", None)
    f.write_text(yaml.safe_dump(long), encoding="utf-8")
    assert load_parameters(f).spc.history_months == 48


def test_every_major_type_sentence_names_the_points_its_chart_flags() -> None:
    """Done when #13: every SPC sentence agrees with its chart (same frame, same months)."""
    import re

    from sa_lib.report.assessment import open_assessment

    a = open_assessment("parameters/2025.yaml", "official", "")
    spc = a.crime.type_spc()
    table = a.crime.type_spc_table().set_index("crime type")
    w = a.params.review_window
    for t in a.crime.major_crime_types():
        s = spc[spc["crime_type"] == t]
        inside = (s["month"] >= w.start.start_time) & (s["month"] <= w.end.start_time)
        for side, words in ((1, "above the upper limit"), (-1, "below the lower limit")):
            flagged = s[inside & s["outside_limits"] & (s["relative_to_mean"] == side)]
            said = re.search(rf"{words} \([a-z ]+\): ([^;]+)", table.loc[t, "review window"])
            named = re.findall(r"[A-Z][a-z]+ \d{4}", said.group(1)) if said else []
            assert named == [f"{m:%B %Y}" for m in flagged["month"]], (t, words)
        last = s[s["count"].notna()].iloc[-1]
        assert table.loc[t, "latest month"].startswith(f"{last['month']:%b %Y}: ")
        assert ("common cause" in table.loc[t, "latest month"]) == (not last["special_cause"])
