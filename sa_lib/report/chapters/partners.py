"""Partner measures as the chapters compare them: windows, change, significance and SPC.

Chapter 3 shows every theme's partner measures and chapter 5 scores the
priority matrix's volume and trend from the same figures, so both use one
:class:`PartnerMeasures`.

Partner returns often end before the police.uk months do, and an annual return
does not fill a window that is not a calendar year.  A measure with no value
for a window reads "no data for <window>" (never NaN), :meth:`PartnerMeasures.gap_sentences`
says which returns leave which measures without data, and a monthly series with
fewer than :data:`~sa_lib.stats.assurance.MIN_SPC_POINTS` months is reported
(:meth:`PartnerMeasures.spc_too_short`), not charted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sa_lib.data.measures import PARTNER_MEASURES
from sa_lib.periods import Window, month_window, previous_window, rolling_window
from sa_lib.report.chapters.common import (
    history_spc,
    join_words,
    no_data_for,
    redact_small_counts,
    showing_counts,
    spc_reading,
)
from sa_lib.report.charts import Chart
from sa_lib.report.context import AssessmentContext
from sa_lib.report.spc_text import spc_sentences
from sa_lib.rounding import format_number
from sa_lib.stats.assurance import MIN_SPC_POINTS
from sa_lib.stats.change import SIGNIFICANT, change_sentence
from sa_lib.stats.observations import measure_window_values, monthly_measure
from sa_lib.stats.significance import EXACT_POISSON, exact_poisson_test, window_change_test
from sa_lib.stats.spc import spc_summary

__all__ = ["PartnerMeasures"]


def _proportion_p(n1: float, d1: float, n2: float, d2: float) -> float:
    """Two-sided p-value that two proportions are equal (pooled z-test, statsmodels)."""
    from statsmodels.stats.proportion import proportions_ztest

    if min(d1, d2) <= 0 or (n1 + n2) in (0, d1 + d2):
        return float("nan")
    return float(proportions_ztest([n2, n1], [d2, d1])[1])


def counts_behind(observations: pd.DataFrame, measure: str, window: Window | None = None
                  ) -> list[pd.Series]:
    """The numerators and bases of a partner measure's rows (inside ``window``, or all).

    A count measure's numerators are its counts (its bases are empty); a rate's
    numerators and bases are the counts a reader could work back from the rate.
    """
    rows = observations[observations["measure"] == measure]
    if window is not None:
        rows = rows[(rows["start"] >= window.start) & (rows["end"] <= window.end)]
    return [rows["numerator"], rows["denominator"]]


def _count_tests(observations: pd.DataFrame, measures: pd.Series, previous: Window,
                 current: Window) -> pd.DataFrame:
    """``p_value, test, dispersion`` of count measures whose windows both have a value.

    A monthly measure is tested on its months (quasi-Poisson, falling back to the
    exact test where there are too few months:
    :func:`~sa_lib.stats.significance.window_change_test`); an annual or quarterly
    return has only its window totals, so the exact Poisson test, saying why.
    """
    monthly = [m for m in measures if PARTNER_MEASURES[m].frequency == "monthly"]
    rows = observations[observations["measure"].isin(monthly)
                        & (observations["start"] == observations["end"])
                        & observations["numerator"].notna()]
    in_prev = (rows["start"] >= previous.start) & (rows["start"] <= previous.end)
    in_cur = (rows["start"] >= current.start) & (rows["start"] <= current.end)
    rows = rows[in_prev | in_cur]
    res = window_change_test(
        pd.DataFrame({"measure": rows["measure"], "count": rows["numerator"],
                      "current": in_cur[in_prev | in_cur].astype(bool)}),
        group="measure").set_index("measure") if len(rows) else pd.DataFrame()
    out = []
    for m in measures:
        if m in res.index:
            r = res.loc[m]
            out.append((r["p_value"], r["test"], r["dispersion"]))
            continue
        totals = measure_window_values(observations, previous, [m])["value"].iloc[0], \
            measure_window_values(observations, current, [m])["value"].iloc[0]
        p = exact_poisson_test(*totals, previous.n_months, current.n_months)[0]
        out.append((p, f"{EXACT_POISSON} ({PARTNER_MEASURES[m].frequency} returns)", np.nan))
    return pd.DataFrame(out, columns=["p_value", "test", "dispersion"])


@dataclass
class PartnerMeasures:
    """The partner measures of one assessment: the review window against the 12 months before."""

    ctx: AssessmentContext

    @property
    def partner_window(self) -> Window:
        """Partner measures compare the review window with the 12 months before it."""
        return self.ctx.params.review_window

    @property
    def partner_previous_window(self) -> Window:
        """The 12 months before the review window."""
        return previous_window(self.ctx.params.review_window)

    @property
    def partner_spc_window(self) -> Window:
        """SPC of monthly partner measures: the ``spc.history_months`` months to the window's end
        (each measure charts the months it has among them)."""
        w = self.ctx.params.review_window
        return rolling_window(w.end, self.ctx.params.spc.history_months)

    def is_synthetic(self, measures: list[str]) -> bool:
        """True when any of the measures comes from a synthetic return."""
        obs = self.ctx.partner_observations
        return bool(obs.loc[obs["measure"].isin(measures), "synthetic"].any())

    def partner_change(self, measures: list[str]) -> pd.DataFrame:
        """Partner measures: the 12 months before vs the review window, with significance."""
        obs = self.ctx.partner_observations
        cur = measure_window_values(obs, self.partner_window, measures)
        prev = measure_window_values(obs, self.partner_previous_window, measures)
        out = cur[["measure", "unit", "synthetic"]].copy()
        out["previous"], out["current"] = prev["value"].to_numpy(), cur["value"].to_numpy()
        counts = out["unit"] == "count"
        out["difference"] = out["current"] - out["previous"]
        with np.errstate(divide="ignore", invalid="ignore"):
            out["pct_change"] = np.where(counts & (out["previous"] > 0),
                                         100 * out["difference"] / out["previous"], np.nan)
        p = np.full(len(out), np.nan)
        test = np.full(len(out), "not tested", dtype=object)
        dispersion = np.full(len(out), np.nan)
        ok = (counts & out["previous"].notna() & out["current"].notna()).to_numpy()
        if ok.any():
            tests = _count_tests(self.ctx.partner_observations, out.loc[ok, "measure"],
                                 self.partner_previous_window, self.partner_window)
            p[ok], test[ok] = tests["p_value"].to_numpy(), tests["test"].to_numpy()
            dispersion[ok] = tests["dispersion"].to_numpy()
        both = (out["previous"].notna() & out["current"].notna()).to_numpy()
        for i in np.flatnonzero((~counts).to_numpy() & both):
            p[i] = _proportion_p(prev["numerator"].iloc[i], prev["denominator"].iloc[i],
                                 cur["numerator"].iloc[i], cur["denominator"].iloc[i])
            test[i] = "not tested" if np.isnan(p[i]) else "two-proportion z-test"
        out["p_value"] = p
        out["test"], out["dispersion"] = test, dispersion
        alpha = self.ctx.params.thresholds.significance
        out["significance"] = np.where(np.isnan(p), "not tested",
                                       np.where(p < alpha, SIGNIFICANT, "within normal variation"))
        # A window with no value: say which, rather than "not tested".
        no_cur, no_prev = out["current"].isna().to_numpy(), out["previous"].isna().to_numpy()
        out.loc[no_prev, "significance"] = no_data_for(self.partner_previous_window)
        out.loc[no_cur, "significance"] = no_data_for(self.partner_window)
        out["sentence"] = [self._measure_sentence(r) for r in out.itertuples()]
        # Rates are checked on their numerators and bases, counts on the counts.
        out["_prev_n"] = np.where(counts, out["previous"], prev["numerator"])
        out["_cur_n"] = np.where(counts, out["current"], cur["numerator"])
        out["_prev_d"] = np.where(counts, np.nan, prev["denominator"])
        out["_cur_d"] = np.where(counts, np.nan, cur["denominator"])
        out = redact_small_counts(out, self.ctx.publish.is_public,
                                  self.ctx.params.thresholds.disclosure, label="measure",
                                  counts=("_prev_n", "_cur_n", "_prev_d", "_cur_d"))
        return out.drop(columns=["_prev_n", "_cur_n", "_prev_d", "_cur_d"])

    def _measure_sentence(self, r: object) -> str:
        m, unit = r.measure, r.unit  # type: ignore[attr-defined]
        prev, cur = r.previous, r.current  # type: ignore[attr-defined]
        syn = " (SYNTHETIC)" if r.synthetic else ""  # type: ignore[attr-defined]
        wl, pl = self.partner_window.label, self.partner_previous_window.label
        if pd.isna(cur) or pd.isna(prev):
            have = no_data_for(self.partner_window if pd.isna(cur) else
                               self.partner_previous_window)
            return f"{m}{syn}: {have}, so no change is given."
        if unit == "percent":
            d = cur - prev
            way = "rose" if d > 0 else "fell" if d < 0 else "did not change"
            by = f" by {format_number(abs(d))} percentage points" if d != 0 else ""
            return (f"{m}{syn} {way}{by}, from {format_number(prev)}% in {pl} to "
                    f"{format_number(cur)}% in {wl} "
                    f"({r.significance}).")  # type: ignore[attr-defined]
        s = change_sentence(m + syn, prev, cur, period=wl, comparison=pl,
                            unit=PARTNER_MEASURES[m].noun if m in PARTNER_MEASURES else "",
                            min_base=self.ctx.params.thresholds.small_base)
        return f"{s.rstrip('.')} ({r.significance})."  # type: ignore[attr-defined]

    def _monthly_series(self, measure: str) -> pd.DataFrame:
        """``month, value`` of a monthly measure over :attr:`partner_spc_window` (months it has)."""
        return monthly_measure(self.ctx.partner_observations, measure, self.partner_spc_window)

    def spc_too_short(self, measures: list[str]) -> dict[str, int]:
        """Monthly measures with fewer than ``MIN_SPC_POINTS`` months with a value, and how many.

        They are reported, not charted: limits from so few points mean little.
        """
        out = {}
        for m in measures:
            if PARTNER_MEASURES[m].frequency != "monthly":
                continue
            n = int(self._monthly_series(m)["value"].notna().sum())
            if n < MIN_SPC_POINTS:
                out[m] = n
        return out

    def spc_months(self, measure: str) -> Window:
        """The months a measure's SPC chart shows: :attr:`partner_spc_window`, or the part of
        it the measure has figures for when its return starts late or ends early."""
        w = self.partner_spc_window
        s = self._monthly_series(measure)
        months = s.loc[s["value"].notna(), "month"]
        if not len(months) or (months.min() == w.start and months.max() == w.end):
            return w
        return month_window(months.min(), months.max())

    def partner_spc(self, measures: list[str]) -> pd.DataFrame:
        """XmR of the monthly partner measures named, over :attr:`partner_spc_window`.

        Uses the months each measure has (a month between with no figure is a gap),
        limits from ``spc.baseline``, lower limits raised to 0 for counts (not for
        rates); a measure with fewer than ``MIN_SPC_POINTS`` months is left out (see
        :meth:`spc_too_short`).
        """
        short = self.spc_too_short(measures)
        frames = [self._monthly_series(m).assign(measure=m) for m in measures
                  if PARTNER_MEASURES[m].frequency == "monthly" and m not in short]
        frames = [f for f in frames if len(f)]
        if not frames:
            return pd.DataFrame()
        data = pd.concat(frames, ignore_index=True)
        improvement = {m: self.ctx.params.improvement.get(m, "decrease") for m in data["measure"].unique()}
        parts = [history_spc(data[data["measure"] == m], self.ctx.params, value="value",
                             by="measure", improvement=imp, rebase=self.ctx.params.rebase.get(m),
                             counts=PARTNER_MEASURES[m].unit == "count")
                 for m, imp in improvement.items()]
        out = pd.concat(parts, ignore_index=True)
        out.attrs = parts[0].attrs
        return out

    def showing_counts(self, chart: Chart, measure: str, window: Window | None = None) -> Chart:
        """Record on a chart of ``measure`` the counts behind it (over ``window``, or all).

        Counts for a count measure; numerators and bases for a rate, which a reader
        could otherwise work back from the rate.
        """
        return showing_counts(chart, *counts_behind(self.ctx.partner_observations, measure,
                                                     window))

    def partner_spc_summary(self, measures: list[str]) -> pd.DataFrame:
        """SPC summary (last segment) of each monthly partner measure named.

        The :func:`~sa_lib.stats.spc.spc_summary` columns (``variation_type`` is the
        latest point's) plus ``months charted``, ``baseline``, ``latest month`` and
        ``review window`` (what the latest month and the review window show).
        """
        frames = []
        for m in measures:
            spc = self.partner_spc([m])
            if len(spc):
                s = spc_summary(spc, improvement=self.ctx.params.improvement.get(m, "decrease"))
                s = s.tail(1).reset_index(drop=True)
                for k, v in spc_reading(spc, self.partner_window).items():
                    if k in ("months charted", "baseline", "latest month", "review window"):
                        s[k] = v
                frames.append(s)
        return pd.concat(frames, ignore_index=True) if frames else \
            pd.DataFrame(columns=["measure", "variation_type", "months charted", "baseline",
                                  "latest month", "review window"])

    def partner_spc_text(self, measure: str) -> str:
        """What the SPC chart of a monthly measure shows: its latest month, then the window."""
        return spc_sentences(self.partner_spc([measure]), f"the monthly figure for {measure}",
                             self.partner_window)

    # Gaps ---------------------------------------------------------------------------------
    def measure_coverage(self, measures: list[str] | None = None) -> pd.DataFrame:
        """Which months each partner measure has, against the review and previous windows.

        Returns
        -------
        DataFrame
            ``measure, kind, frequency, first, last`` (first and last month with a
            value; NaT when none) and ``current_complete`` / ``previous_complete``
            (a value exists for the review window / the 12 months before).
        """
        obs = self.ctx.partner_observations
        names = list(dict.fromkeys(obs["measure"])) if measures is None else list(measures)
        cur = measure_window_values(obs, self.partner_window, names)
        prev = measure_window_values(obs, self.partner_previous_window, names)
        has = obs[obs["numerator"].notna() & ((obs["unit"] != "percent")
                                              | obs["denominator"].notna())]
        rows = []
        for i, m in enumerate(names):
            r = has[has["measure"] == m]
            spec = PARTNER_MEASURES.get(m)
            rows.append({
                "measure": m,
                "kind": str(r["kind"].iloc[0]) if len(r) else (spec.kind if spec else ""),
                "frequency": spec.frequency if spec else "",
                "first": r["start"].min() if len(r) else pd.NaT,
                "last": r["end"].max() if len(r) else pd.NaT,
                "current_complete": bool(pd.notna(cur["value"].iloc[i])),
                "previous_complete": bool(pd.notna(prev["value"].iloc[i])),
            })
        return pd.DataFrame(rows, columns=["measure", "kind", "frequency", "first", "last",
                                           "current_complete", "previous_complete"])

    def _return_name(self, kind: str) -> str:
        frame = self.ctx.partner_data.get(kind)
        src = frame.attrs.get("source") if frame is not None else None
        name = kind.replace("_", " ")
        return f"{name} return ({Path(src).name})" if src else f"{name} return"

    def gap_sentences(self, measures: list[str] | None = None) -> list[str]:
        """One sentence per partner return that leaves measures without data for a window.

        Says when a return ends before the review window ends (or starts after it
        starts), when its periods (annual, quarterly) do not fill the window, and
        when it does not cover the 12 months before (so no change is given).
        Empty when every measure named (default: all) has both windows.

        Examples
        --------
        A domestic abuse return ending in Dec 2025 with the window Apr 2025 – Mar 2026
        gives: "The domestic abuse return (synthetic_domestic_abuse.csv) ends in
        Dec 2025, 3 months before the review window ends; Domestic abuse incidents
        shows no data for Apr 2025 – Mar 2026."
        """
        cov = self.measure_coverage(measures)
        w, pw = self.partner_window, self.partner_previous_window
        out = []
        for kind, g in cov.groupby("kind", sort=False):
            name = self._return_name(str(kind))
            cur = g[~g["current_complete"]]
            if len(cur):
                what = (f"{join_words(list(cur['measure']))} "
                        f"{'shows' if len(cur) == 1 else 'show'} {no_data_for(w)}")
                last = cur["last"].dropna()
                first = cur["first"].dropna()
                if not len(last):
                    out.append(f"No {str(kind).replace('_', ' ')} return was found in "
                               f"data.partner, so {what}." if kind not in self.ctx.partner_data
                               else f"The {name} holds no figures, so {what}.")
                elif last.max() < w.end:
                    n = (w.end - last.max()).n
                    out.append(f"The {name} ends in {last.max():%b %Y}, {n} month"
                               f"{'s' if n != 1 else ''} before the review window ends; {what}.")
                elif first.min() > w.start:
                    out.append(f"The {name} starts in {first.min():%b %Y}, after the review "
                               f"window starts; {what}.")
                elif (cur["frequency"] != "monthly").all():
                    freq = join_words(sorted(set(cur["frequency"])))
                    out.append(f"The {name} gives {freq} figures, and they do not fill the "
                               f"review window {w.label} (a total for part of a period would "
                               f"not compare with a whole one); {what}.")
                else:
                    out.append(f"The {name} has months with no figures in {w.label}; {what}.")
            prev = g[g["current_complete"] & ~g["previous_complete"]]
            if len(prev):
                ms = join_words(list(prev["measure"]))
                out.append(f"The {name} does not cover the 12 months before the review window; "
                           f"{ms} {'shows' if len(prev) == 1 else 'show'} {no_data_for(pw)}, "
                           "so no change is given.")
        return out
