"""Seasonality: the profile, the 24-month rule, recurring SPC signals, the chart and the chapter.

Expected values are worked by hand from the small frames built here; the
quasi-Poisson test is checked against a fit made a different way (a direct
maximum-likelihood fit with scipy, not statsmodels' IRLS).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

import sa_lib as sa
from sa_lib.errors import OptionError
from sa_lib.report.chapters.seasonal import SeasonalChapter, month_runs
from sa_lib.report.charts import seasonal_chart
from sa_lib.stats.seasonality import (
    has_seasonal_history,
    mark_seasonal,
    seasonal_months,
    seasonal_phrase,
    seasonal_profile,
    seasonality_test,
)
from sa_lib.stats.spc import xmr


def months(start: str, n: int) -> pd.PeriodIndex:
    return pd.period_range(start, periods=n, freq="M")


# --------------------------------------------------------------------------- seasonal_profile
def test_profile_one_row_per_series_year_and_calendar_month() -> None:
    a = pd.DataFrame({"month": months("2023-11", 26), "t": "A", "count": np.arange(26)})
    b = pd.DataFrame({"month": months("2024-03", 2), "t": "B", "count": [0, 4]})
    p = seasonal_profile(pd.concat([a, b]), by="t")
    # A spans 2023 (Nov-Dec), 2024 and 2025 (Jan-Dec): 3 years x 12; B only 2024.
    assert len(p) == 36 + 12
    assert list(p.columns) == ["t", "year", "calendar_month", "month", "count",
                               "months_with_data", "seasonal_history"]
    a23 = p[(p["t"] == "A") & (p["year"] == 2023)]
    assert a23["calendar_month"].tolist() == list(range(1, 13))
    assert a23["count"].isna().sum() == 10  # Jan-Oct 2023: not loaded, missing, never zero
    assert a23["count"].tolist()[-2:] == [0.0, 1.0]  # a real zero stays zero
    b24 = p[p["t"] == "B"].set_index("calendar_month")["count"]
    assert b24[3] == 0 and b24[4] == 4 and b24.drop([3, 4]).isna().all()
    assert str(p.loc[(p["t"] == "A") & (p["year"] == 2025), "month"].iloc[0]) == "2025-01"
    assert p.groupby("t")["seasonal_history"].first().to_dict() == {"A": True, "B": False}
    assert p.groupby("t")["months_with_data"].first().to_dict() == {"A": 26, "B": 2}


def test_profile_accepts_dates_and_text_and_keeps_missing_values_missing() -> None:
    df = pd.DataFrame({"month": ["2024-01-01", "2024-02-15", "2024-03-01"],
                       "count": [3.0, np.nan, 5.0]})
    p = seasonal_profile(df)
    assert p["count"].tolist()[:3][0] == 3 and np.isnan(p["count"].iloc[1])
    assert p["months_with_data"].iloc[0] == 2
    by_dt = seasonal_profile(df.assign(month=pd.to_datetime(df["month"])))
    pd.testing.assert_frame_equal(p, by_dt)


def test_the_24_month_rule_counts_months_with_data() -> None:
    m = months("2023-01", 30)
    full = pd.DataFrame({"month": m, "count": 10.0})
    assert has_seasonal_history(full[:23])["seasonal_history"].tolist() == [False]
    assert has_seasonal_history(full[:24])["seasonal_history"].tolist() == [True]
    gappy = full.copy()
    gappy.loc[3:9, "count"] = np.nan  # 30 rows, 7 without a value: 23 months with data
    h = has_seasonal_history(gappy)
    assert h["months_with_data"].tolist() == [23] and not h["seasonal_history"].iloc[0]
    assert str(h["first_month"].iloc[0]) == "2023-01" and str(h["last_month"].iloc[0]) == "2025-06"
    assert has_seasonal_history(gappy, min_months=23)["seasonal_history"].tolist() == [True]


def test_profile_refuses_bad_input() -> None:
    df = pd.DataFrame({"month": ["2024-01", "2024-01"], "count": [1, 2]})
    with pytest.raises(OptionError, match="more than once.*pass by="):
        seasonal_profile(df)
    with pytest.raises(OptionError, match="value='n' is not a column"):
        seasonal_profile(df, value="n")
    with pytest.raises(OptionError, match="must be numeric"):
        seasonal_profile(df.assign(count=["a", "b"]), by=None)
    with pytest.raises(OptionError, match="could not be read as months"):
        seasonal_profile(pd.DataFrame({"month": ["soon"], "count": [1]}))
    with pytest.raises(OptionError, match="min_months"):
        has_seasonal_history(df.iloc[:1], min_months=0)


# --------------------------------------------------------------------------- mark_seasonal
def spc_frame(signals: dict[str, int], n: int = 24, start: str = "2024-01",
              **extra: object) -> pd.DataFrame:
    """An xmr-like frame: ``signals`` maps 'YYYY-MM' to the side (+1/-1) of a special cause."""
    m = months(start, n)
    side = [signals.get(str(p), 0) for p in m]
    df = pd.DataFrame({"month": m.to_timestamp(), "special_cause": [s != 0 for s in side],
                       "relative_to_mean": np.array(side, dtype=float)})
    for k, v in extra.items():
        df[k] = v
    return df


def flagged(out: pd.DataFrame) -> list[str]:
    return [f"{t:%Y-%m}" for t in out.loc[out["seasonal"], "month"]]


def test_same_month_same_side_in_two_years_is_seasonal() -> None:
    out = mark_seasonal(spc_frame({"2024-07": 1, "2025-07": 1, "2025-03": 1}))
    assert flagged(out) == ["2024-07", "2025-07"]  # March 2025 has no March 2024 partner
    below = mark_seasonal(spc_frame({"2024-12": -1, "2025-12": -1}))
    assert flagged(below) == ["2024-12", "2025-12"]


def test_opposite_sides_or_one_year_only_are_not_seasonal() -> None:
    assert flagged(mark_seasonal(spc_frame({"2024-07": 1, "2025-07": -1}))) == []
    assert flagged(mark_seasonal(spc_frame({"2024-07": 1, "2024-08": 1}))) == []
    # A point on the mean has no side: never seasonal, even flagged (e.g. inside a trend).
    df = spc_frame({"2024-07": 1})
    df.loc[18, "special_cause"] = True  # July 2025, relative_to_mean 0
    assert flagged(mark_seasonal(df)) == []


def test_three_years_and_the_matching_year_listed() -> None:
    out = mark_seasonal(spc_frame({"2023-07": 1, "2024-07": 1, "2025-07": -1}, n=36,
                                  start="2023-01"))
    assert flagged(out) == ["2023-07", "2024-07"]


def test_per_series_with_by_and_from_xmr_attrs() -> None:
    a = spc_frame({"2024-07": 1, "2025-07": 1}, area="A")
    b = spc_frame({"2024-07": 1}, area="B")
    c = spc_frame({"2025-07": 1}, area="C")
    both = pd.concat([a, b, c], ignore_index=True)
    out = mark_seasonal(both, by="area")
    assert out.loc[out["seasonal"], "area"].tolist() == ["A", "A"]
    # B's July 2024 and C's July 2025 are in different series: never matched.
    assert not out.loc[out["area"] != "A", "seasonal"].any()
    both.attrs["spc_options"] = {"by": ["area"]}
    pd.testing.assert_frame_equal(mark_seasonal(both), out)
    with pytest.raises(OptionError, match="pass by="):
        mark_seasonal(both.drop(columns="area").assign(x=1), by=[])


def test_one_unbroken_signal_over_a_year_is_not_seasonal() -> None:
    # A shift: every month from Mar 2024 to Jun 2025 above the mean is one signal.
    shift = {str(p): 1 for p in months("2024-03", 16)}
    assert flagged(mark_seasonal(spc_frame(shift))) == []
    # A break (Jun 2024 not a signal) makes two signals: Mar-May recur in 2025.
    shift.pop("2024-06")
    assert flagged(mark_seasonal(spc_frame(shift))) == [
        "2024-03", "2024-04", "2024-05", "2025-03", "2025-04", "2025-05"]
    # A missing month also breaks a signal (the line breaks there).
    shift = {str(p): 1 for p in months("2024-03", 16)}
    gap = spc_frame(shift).drop(index=5)  # Jun 2024 not loaded
    assert flagged(mark_seasonal(gap)) == [
        "2024-03", "2024-04", "2024-05", "2025-03", "2025-04", "2025-05"]
    # So does a rebase (from Jan 2025): Mar-Dec 2024 and Jan-Jun 2025 are two signals.
    rebased = spc_frame(shift, rebase_group=[0] * 12 + [1] * 12)
    assert flagged(mark_seasonal(rebased)) == ["2024-03", "2024-04", "2024-05", "2024-06",
                                               "2025-03", "2025-04", "2025-05", "2025-06"]


def test_rules_filter_and_missing_values() -> None:
    df = spc_frame({"2024-07": 1, "2025-07": 1})
    df["rule"] = pd.Series([None] * 24, dtype=object)
    df.loc[6, "rule"], df.loc[18, "rule"] = "outside_limits", "run"
    assert flagged(mark_seasonal(df)) == ["2024-07", "2025-07"]
    assert flagged(mark_seasonal(df, rules=["outside_limits"])) == []
    assert flagged(mark_seasonal(df, rules=["outside_limits", "run"])) == ["2024-07", "2025-07"]
    with pytest.raises(OptionError, match="unknown rule"):
        mark_seasonal(df, rules=["outside"])
    df.loc[18, "relative_to_mean"] = np.nan  # no value that month
    assert flagged(mark_seasonal(df)) == []


def test_mark_seasonal_keeps_rows_index_and_input() -> None:
    df = spc_frame({"2024-07": 1, "2025-07": 1}).sample(frac=1, random_state=3)
    df.index = df.index + 100
    before = df.copy()
    out = mark_seasonal(df)
    pd.testing.assert_frame_equal(df, before)
    assert out.index.equals(df.index) and out.drop(columns="seasonal").equals(df)
    assert sorted(flagged(out)) == ["2024-07", "2025-07"]
    with pytest.raises(OptionError, match="more than once"):
        mark_seasonal(pd.concat([df, df]))
    with pytest.raises(OptionError, match="special_cause"):
        mark_seasonal(df.drop(columns="special_cause"))


def test_mark_seasonal_on_a_real_xmr_result() -> None:
    # 36 months alternating 88 and 112, July 220: the mean is (5 x 88 + 6 x 112 + 220) / 12 =
    # 111, so the other months alternate about it (no run or trend) and only July is outside.
    m = months("2023-01", 36)
    df = pd.DataFrame({"month": m.to_timestamp(),
                       "count": np.tile([88, 112, 88, 112, 88, 112, 220, 112, 88, 112, 88, 112], 3)})
    out = mark_seasonal(xmr(df, "count", "month"))
    assert out["mean"].iloc[0] == 111
    assert flagged(out) == ["2023-07", "2024-07", "2025-07"]
    assert out.loc[out["seasonal"], "rule"].astype(str).unique().tolist() == ["outside_limits"]
    assert seasonal_phrase(out) == "July (2023, 2024, 2025) above the mean"


def test_seasonal_months_and_phrase() -> None:
    out = mark_seasonal(spc_frame({"2024-07": 1, "2025-07": 1, "2024-01": -1, "2025-01": -1,
                                   "2024-12": 1, "2025-12": 1}))
    rows = seasonal_months(out)
    assert rows[["calendar_month", "side"]].values.tolist() == [[1, -1], [7, 1], [12, 1]]
    assert rows["years"].tolist() == [(2024, 2025)] * 3
    assert seasonal_phrase(out) == ("July (2024, 2025) and December (2024, 2025) above the mean "
                                    "and January (2024, 2025) below the mean")
    assert seasonal_phrase(mark_seasonal(spc_frame({}))) == ""
    assert seasonal_months(mark_seasonal(spc_frame({}))).empty


# --------------------------------------------------------------------------- seasonality_test
def _poisson_fit(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Fitted means of a log-linear Poisson model by direct likelihood maximisation."""
    def nll(b: np.ndarray) -> float:
        eta = x @ b
        return float(np.sum(np.exp(eta) - y * eta))

    def grad(b: np.ndarray) -> np.ndarray:
        return x.T @ (np.exp(x @ b) - y)

    b0 = np.zeros(x.shape[1])
    b0[0] = np.log(y.mean())
    res = optimize.minimize(nll, b0, jac=grad, method="BFGS", options={"gtol": 1e-10})
    return np.exp(x @ res.x)


def test_seasonality_test_matches_a_direct_maximum_likelihood_fit() -> None:
    rng = np.random.default_rng(7)
    m = months("2022-11", 34)
    mu = 80 * (1 + 0.3 * np.sin(2 * np.pi * m.month.to_numpy() / 12)) * np.exp(0.005 * np.arange(34))
    y = rng.negative_binomial(20, 20 / (20 + mu)).astype(float)
    got = seasonality_test(pd.DataFrame({"month": m, "count": y}))

    t = np.arange(34, dtype=float) / 10  # scaled for the optimiser; the fit is the same
    month_dummies = pd.get_dummies(pd.Categorical(m.month), drop_first=True).to_numpy(float)
    x0 = np.column_stack([np.ones(34), t])
    x1 = np.column_stack([x0, month_dummies])
    mu0, mu1 = _poisson_fit(y, x0), _poisson_fit(y, x1)

    def deviance(mu: np.ndarray) -> float:
        return float(2 * np.sum(np.where(y > 0, y * np.log(y / mu), 0) - (y - mu)))

    phi = float(np.sum((y - mu1) ** 2 / mu1)) / (34 - 13)
    f = (deviance(mu0) - deviance(mu1)) / 11 / phi
    assert got["n"] == 34 and got["df_num"] == 11 and got["df_den"] == 21
    assert got["deviance_trend"] == pytest.approx(deviance(mu0), rel=1e-6)
    assert got["deviance_month"] == pytest.approx(deviance(mu1), rel=1e-5)
    assert got["phi"] == pytest.approx(phi, rel=1e-5)
    assert got["f"] == pytest.approx(f, rel=1e-5)
    assert got["p_value"] == pytest.approx(stats.f.sf(f, 11, 21), rel=1e-4)


def test_seasonality_test_too_few_months_and_missing_calendar_months() -> None:
    short = pd.DataFrame({"month": months("2024-01", 20), "count": 5})
    assert np.isnan(seasonality_test(short)["p_value"])
    # 26 months with February never loaded: 10 month terms, not 11.
    m = [p for p in months("2023-01", 29) if p.month != 2]
    rng = np.random.default_rng(1)
    got = seasonality_test(pd.DataFrame({"month": m, "count": rng.poisson(50, len(m))}))
    assert got["n"] == 26 and got["df_num"] == 10 and got["df_den"] == 26 - 12
    assert 0 <= got["p_value"] <= 1
    with pytest.raises(OptionError, match="negative"):
        seasonality_test(pd.DataFrame({"month": months("2024-01", 24), "count": -1}))


# --------------------------------------------------------------------------- the chart
def profile_36() -> pd.DataFrame:
    m = months("2023-03", 34)  # Mar 2023 - Dec 2025
    count = np.where(m.month == 7, 150, 100 + m.month.to_numpy()).astype(float)
    count[m.year == 2025] += 10
    df = pd.DataFrame({"month": m, "count": count})
    df.loc[df["month"] == pd.Period("2024-05", "M"), "count"] = np.nan
    return seasonal_profile(df)


def test_seasonal_chart_draws_one_line_per_year_with_gaps() -> None:
    chart = seasonal_chart(profile_36(), "Robbery by calendar month, Testshire")
    ax = chart.figure.axes[0]
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert list(lines) == ["2023", "2024", "2025"]
    y23 = lines["2023"].get_ydata()
    assert np.isnan(y23[:2]).all() and y23[2] == 103  # Jan-Feb 2023 not loaded: a gap
    assert np.isnan(lines["2024"].get_ydata()[4])  # May 2024 missing: a gap, never zero
    # The latest year stands out: thickest, solid, on top; every year has its own style.
    widths = {k: ln.get_linewidth() for k, ln in lines.items()}
    assert widths["2025"] > max(widths["2023"], widths["2024"])
    assert lines["2025"].get_zorder() > max(lines["2023"].get_zorder(),
                                            lines["2024"].get_zorder())
    assert len({ln.get_linestyle() for ln in lines.values()}) == 3
    assert len({ln.get_marker() for ln in lines.values()}) == 3
    assert [t.get_text() for t in ax.get_xticklabels()][:3] == ["Jan", "Feb", "Mar"]


def test_seasonal_chart_alt_text_counts_and_bytes() -> None:
    p = profile_36()
    chart = seasonal_chart(p, "Robbery by calendar month, Testshire", caption="Source: test")
    alt = chart.alt_text
    assert alt.startswith("Seasonal chart of Robbery by calendar month, Testshire: records per "
                          "month, January to December, one line per calendar year (2023, 2024 "
                          "and 2025; 2025 is the latest, drawn thickest).")
    assert "2023 (no data for Jan–Feb): highest in July (150), lowest in March (103)." in alt
    assert "2024 (no data for May): highest in July (150), lowest in January (101)." in alt
    assert "2025: highest in July (160), lowest in January (111)." in alt
    # Counts: every plotted value, none for the gaps.
    expected = p["count"].dropna().tolist()
    assert list(chart.counts) == expected and len(expected) == 33
    assert seasonal_chart(p, "x", shows_counts=False).counts is None
    png = chart.to_png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert seasonal_chart(p, "Robbery by calendar month, Testshire",
                          caption="Source: test").to_png() == png


def test_seasonal_chart_ties_single_months_and_refusals() -> None:
    df = pd.DataFrame({"month": ["2024-11", "2025-01", "2025-02", "2025-03"],
                       "count": [4, 7, 9, 7]})
    alt = seasonal_chart(seasonal_profile(df), "T").alt_text
    assert "2024 (data for Nov only): 4 in November." in alt
    assert "2025 (data for Jan–Mar only): highest in February (9), lowest in January and March (7)." in alt
    two = seasonal_profile(df.assign(t="A")).assign(t="A")
    both = pd.concat([two, two.assign(t="B")])
    with pytest.raises(OptionError, match="several series"):
        seasonal_chart(both, "T")
    with pytest.raises(OptionError, match="missing column"):
        seasonal_chart(both.drop(columns="year"), "T")
    with pytest.raises(OptionError, match="no month has a value"):
        seasonal_chart(two.assign(count=np.nan), "T")
    many = seasonal_profile(pd.DataFrame({"month": months("2015-01", 12 * 8), "count": 1}))
    with pytest.raises(OptionError, match="at most 7"):
        seasonal_chart(many, "T")


# --------------------------------------------------------------------------- the chapter
@pytest.fixture(scope="module")
def maidstone() -> sa.Assessment:
    return sa.open_assessment("parameters/2025.yaml")


def test_maidstone_has_too_few_months_and_says_so(maidstone) -> None:
    s = maidstone.seasonal
    assert s.history_window.label == "Jan 2023 – Dec 2025"
    h = s.seasonal_history()
    assert h["crime_type"].iloc[0] == "Total crime (excluding ASB)"
    assert set(h["months_with_data"]) == {16} and not h["seasonal_history"].any()
    assert s.seasonal_charts() == []
    text = s.seasonal_text().data
    assert text == ("The police.uk data for Maidstone hold only 16 months (Jan–Apr 2024 and "
                    "Jan–Dec 2025) in the 36 months to December 2025. A seasonal chart needs at "
                    "least 24 months with data, so that each calendar month can be compared with "
                    "the same month of another year; no seasonal chart is shown.")


def synthetic_counts() -> pd.DataFrame:
    """36 months (Jan 2023 - Dec 2025) of three types, with a summer peak; Aug 2024 not loaded."""
    m = [p for p in months("2023-01", 36) if str(p) != "2024-08"]
    rows = []
    for t, base in [("Violence and sexual offences", 300), ("Shoplifting", 80),
                    ("Anti-social behaviour", 150), ("Bicycle theft", 2)]:
        for p in m:
            rows.append({"month": p, "area": "Maidstone", "crime_type": t,
                         "count": base + (base // 2 if p.month in (6, 7) else 0) + p.month % 3})
    return pd.DataFrame(rows)


@pytest.fixture()
def synthetic() -> sa.Assessment:
    a = sa.open_assessment("parameters/2025.yaml")
    a.context.__dict__["counts"] = synthetic_counts()  # stands in for the loaded police.uk data
    return a


def test_a_36_month_history_gets_seasonal_charts(synthetic) -> None:
    s = synthetic.seasonal
    h = s.seasonal_history()
    assert h["crime_type"].tolist() == ["Total crime (excluding ASB)",
                                        "Violence and sexual offences", "Anti-social behaviour",
                                        "Shoplifting"]  # Bicycle theft is under 5%: not major
    assert h["months_with_data"].tolist() == [35] * 4 and h["seasonal_history"].all()
    charts = s.seasonal_charts()
    assert [n for n, _ in charts] == ["seasonal_total_crime_excluding_asb",
                                      "seasonal_violence_and_sexual_offences",
                                      "seasonal_anti_social_behaviour", "seasonal_shoplifting"]
    total = charts[0][1]
    # Total excludes ASB: 300 + 80 + 2 = 382, plus 150 + 40 + 1 in June and July, plus
    # 3 x (month % 3): July 382 + 191 + 3 = 576; March, September, December 382.
    assert ("2023: highest in July (576), lowest in March, September and December (382)."
            in total.alt_text)
    assert "2024 (no data for Aug)" in total.alt_text
    assert "by calendar month, Maidstone, Jan 2023 – Dec 2025" in total.alt_text
    assert len(total.counts) == 35 and max(total.counts) == 576
    text = s.seasonal_text().data
    assert text.startswith("Seasonal charts (one line per calendar year, January to December) "
                           "are shown for Total crime \\(excluding ASB\\), Violence and sexual "
                           "offences, Anti-social behaviour and Shoplifting: 35 months with data "
                           "in the 36 months to December 2025.")


def test_history_months_follows_the_parameter_when_it_exists(synthetic) -> None:
    ctx = synthetic.context
    stand_in = SimpleNamespace(params=SimpleNamespace(
        spc=SimpleNamespace(history_months=18), review_window=ctx.params.review_window,
        area=ctx.params.area), counts_with_total=ctx.counts_with_total)
    s = SeasonalChapter(stand_in, synthetic.crime)
    assert s.history_months == 18 and s.history_window.label == "Jul 2024 – Dec 2025"
    h = s.seasonal_history()
    assert h["months_with_data"].tolist() == [17] * 4 and not h["seasonal_history"].any()
    assert "only 17 months (Jul 2024 and Sep 2024 – Dec 2025) in the 18 months to December 2025" \
        in s.seasonal_text().data
    assert synthetic.seasonal.history_months == 36  # the default


def test_month_runs() -> None:
    ms = [pd.Period(m, "M") for m in ["2024-01", "2024-02", "2025-03", "2019-12", "2020-01"]]
    assert month_runs(ms) == "Dec 2019 – Jan 2020, Jan–Feb 2024 and Mar 2025"
    assert month_runs([]) == ""
