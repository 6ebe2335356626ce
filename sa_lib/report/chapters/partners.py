"""Partner measures as the chapters compare them: windows, change, significance and SPC.

Chapter 3 shows every theme's partner measures and chapter 5 scores the
priority matrix's volume and trend from the same figures, so both use one
:class:`PartnerMeasures`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sa_lib.data.measures import PARTNER_MEASURES
from sa_lib.periods import Window, previous_window, rolling_window
from sa_lib.report.chapters.common import redact_small_counts, showing_counts
from sa_lib.report.charts import Chart
from sa_lib.report.context import AssessmentContext
from sa_lib.stats.change import SIGNIFICANT, change_sentence, change_significance
from sa_lib.stats.observations import measure_window_values, monthly_measure
from sa_lib.stats.spc import spc_summary, xmr

__all__ = ["PartnerMeasures"]


def _proportion_p(n1: float, d1: float, n2: float, d2: float) -> float:
    """Two-sided p-value that two proportions are equal (pooled z-test, statsmodels)."""
    from statsmodels.stats.proportion import proportions_ztest

    if min(d1, d2) <= 0 or (n1 + n2) in (0, d1 + d2):
        return float("nan")
    return float(proportions_ztest([n2, n1], [d2, d1])[1])


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
        """SPC of monthly partner measures: the review window and the 12 months before."""
        w = self.ctx.params.review_window
        return rolling_window(w.end, w.n_months + 12)

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
        ok = counts & out["previous"].notna() & out["current"].notna()
        if ok.any():
            p[ok.to_numpy()] = change_significance(out.loc[ok, "previous"].to_numpy(),
                                                   out.loc[ok, "current"].to_numpy())[0]
        for i in np.flatnonzero((~counts).to_numpy()):
            p[i] = _proportion_p(prev["numerator"].iloc[i], prev["denominator"].iloc[i],
                                 cur["numerator"].iloc[i], cur["denominator"].iloc[i])
        out["p_value"] = p
        alpha = self.ctx.params.thresholds.significance
        out["significance"] = np.where(np.isnan(p), "not tested",
                                       np.where(p < alpha, SIGNIFICANT, "within normal variation"))
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
            have = "no complete data for " + (wl if pd.isna(cur) else pl)
            return f"{m}{syn}: {have}, so no change is given."
        if unit == "percent":
            d = cur - prev
            way = "rose" if d > 0 else "fell" if d < 0 else "did not change"
            by = f" by {abs(d):.1f} percentage points" if d != 0 else ""
            return (f"{m}{syn} {way}{by}, from {prev:.1f}% in {pl} to {cur:.1f}% in {wl} "
                    f"({r.significance}).")  # type: ignore[attr-defined]
        s = change_sentence(m + syn, prev, cur, period=wl, comparison=pl,
                            unit=PARTNER_MEASURES[m].noun if m in PARTNER_MEASURES else "",
                            min_base=self.ctx.params.thresholds.small_base)
        return f"{s.rstrip('.')} ({r.significance})."  # type: ignore[attr-defined]

    def partner_spc(self, measures: list[str]) -> pd.DataFrame:
        """XmR of the monthly partner measures named, over :attr:`partner_spc_window`."""
        frames = [monthly_measure(self.ctx.partner_observations, m, self.partner_spc_window)
                  .assign(measure=m) for m in measures
                  if PARTNER_MEASURES[m].frequency == "monthly"]
        frames = [f for f in frames if len(f)]
        if not frames:
            return pd.DataFrame()
        data = pd.concat(frames, ignore_index=True)
        data["month"] = data["month"].dt.to_timestamp()
        improvement = {m: self.ctx.params.improvement.get(m, "decrease") for m in data["measure"].unique()}
        parts = [xmr(data[data["measure"] == m], value="value", date="month", by="measure",
                     improvement=imp, rebase=self.ctx.params.rebase.get(m))
                 for m, imp in improvement.items()]
        out = pd.concat(parts, ignore_index=True)
        out.attrs = parts[0].attrs
        return out

    def showing_counts(self, chart: Chart, measure: str, window: Window | None = None) -> Chart:
        """Record on a chart of ``measure`` the counts behind it (over ``window``, or all).

        Counts for a count measure; numerators and bases for a rate, which a reader
        could otherwise work back from the rate.
        """
        obs = self.ctx.partner_observations
        rows = obs[obs["measure"] == measure]
        if window is not None:
            rows = rows[(rows["start"] >= window.start) & (rows["end"] <= window.end)]
        return showing_counts(chart, rows["numerator"], rows["denominator"])

    def partner_spc_summary(self, measures: list[str]) -> pd.DataFrame:
        """SPC summary (last segment) of each monthly partner measure named."""
        frames = []
        for m in measures:
            spc = self.partner_spc([m])
            if len(spc):
                s = spc_summary(spc, improvement=self.ctx.params.improvement.get(m, "decrease"))
                frames.append(s.tail(1))
        return pd.concat(frames, ignore_index=True) if frames else \
            pd.DataFrame(columns=["measure", "variation_type"])
