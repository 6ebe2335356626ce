"""Chapter 4: review of last year's priorities.

The action-plan return gives each indicator's yearly value and target (met /
not met / no data, :func:`sa_lib.stats.targets.target_status`).  Indicators that the
parameters file links to a monthly measure (``review.indicators``) also get SPC
assurance against a monthly target (:func:`sa_lib.stats.review.review_priorities`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import pandas as pd
from IPython.display import Markdown

from sa_lib.data.measures import PARTNER_MEASURES
from sa_lib.errors import OptionError
from sa_lib.periods import Window, rolling_window
from sa_lib.report.chapters.common import (
    SYNTHETIC_LABEL,
    SYNTHETIC_NOTE,
    TableSpec,
    showing_counts,
)
from sa_lib.report.charts import Chart, spc_chart
from sa_lib.report.context import AssessmentContext
from sa_lib.report.publish import file_slug as _slug
from sa_lib.report.publish import markdown_escape
from sa_lib.stats.observations import monthly_measure
from sa_lib.stats.review import review_priorities, review_sentence
from sa_lib.stats.spc import xmr

__all__ = ["ReviewChapter"]


@dataclass
class ReviewChapter:
    """Chapter 4 (review of last year's priorities), built on the shared context."""

    ctx: AssessmentContext

    @property
    def review_period(self) -> str:
        """The action-plan period reviewed: the year the review window ends in."""
        return str(self.ctx.params.review_window.end.year)

    @property
    def review_spc_window(self) -> Window:
        """Months used for SPC assurance: the review window and the 12 months before."""
        w = self.ctx.params.review_window
        return rolling_window(w.end, w.n_months + 12)

    @property
    def action_plan(self) -> pd.DataFrame:
        """The action-plan return (``action_plan`` kind) from the partner folder."""
        if "action_plan" not in self.ctx.partner_data:
            raise OptionError(f"data.partner ({self.ctx.params.data.partner}) has no action-plan "
                              "return ('*action_plan.csv'); chapter 4 needs one")
        return self.ctx.partner_data["action_plan"]

    def _indicator_series(self) -> pd.DataFrame:
        frames = []
        w = self.review_spc_window
        for indicator, spec in self.ctx.params.review.indicators.items():
            if spec.measure in PARTNER_MEASURES:
                m = monthly_measure(self.ctx.partner_observations, spec.measure, w)
                month, value = m["month"], m["value"]
            else:
                c = self.ctx.counts[(self.ctx.counts["crime_type"] == spec.measure)
                                & (self.ctx.counts["month"] >= w.start) & (self.ctx.counts["month"] <= w.end)]
                month, value = c["month"], c["count"]
            frames.append(pd.DataFrame({"indicator": indicator, "month": month.to_numpy(),
                                        "value": value.to_numpy()}))
        if not frames:
            return pd.DataFrame({"indicator": pd.Series(dtype=str), "month": pd.Series(dtype=object),
                                 "value": pd.Series(dtype=float)})
        return pd.concat(frames, ignore_index=True)

    @cached_property
    def review(self) -> pd.DataFrame:
        """Every indicator's status for the review year and its SPC assurance."""
        plan = self.action_plan
        known = set(plan["indicator"])
        unknown = [i for i in self.ctx.params.review.indicators if i not in known]
        if unknown:
            raise OptionError(f"review.indicators names {unknown}, which the action plan "
                              f"({plan.attrs.get('source')}) does not hold; its indicators are "
                              f"{sorted(known)}")
        series = self._indicator_series()
        targets = {i: s.monthly_target for i, s in self.ctx.params.review.indicators.items()}
        return review_priorities(plan, self.review_period, series=series,
                                 monthly_targets=targets or None)

    def _synthetic(self) -> bool:
        return bool(self.action_plan.attrs.get("synthetic"))

    def review_text(self) -> Markdown:
        """What happened to last year's priorities, in sentences."""
        r = self.review
        lines = []
        if self._synthetic():
            lines.append(f"**{SYNTHETIC_NOTE}**")
        last = self.ctx.params.last_year_priorities
        if last:
            lines.append("Last year's priorities were " + ", ".join(markdown_escape(t) for t in last)
                         + ".")
        lines.append(markdown_escape(review_sentence(r)))
        lines.append("\n".join(f"- {markdown_escape(s)}" for s in r["sentence"]))
        assessed = r[r["assurance"] != "not assessed"]
        if len(assessed):
            lines.append("\n".join(f"- {markdown_escape(s)}" for s in assessed["assurance_sentence"]))
        return Markdown("\n\n".join(lines))

    def review_summary_text(self) -> str:
        """One sentence for the key findings."""
        return markdown_escape(review_sentence(self.review)) + (
            " (SYNTHETIC action-plan data.)" if self._synthetic() else "")

    def review_tables(self) -> list[TableSpec]:
        """The indicators against their targets, with the SPC assurance result."""
        r = self.review
        df = pd.DataFrame({
            "priority": r["priority"],
            "indicator": r["indicator"],
            "period": r["period"],
            "value": r["value"],
            "target": r["target"],
            "better if": r["direction"].astype(str).map({"increase": "higher",
                                                         "decrease": "lower"}),
            "status": r["status"],
            "previous period value": r["previous_value"],
            "SPC assurance": r["assurance"],
            "why not assessed": r["assurance_reason"].fillna(""),
        })
        syn = self._synthetic()
        return [TableSpec(df, "review_action_plan",
                          f"Action-plan indicators, {self.review_period}"
                          + (f" ({SYNTHETIC_LABEL})" if syn else ""),
                          (SYNTHETIC_NOTE + " " if syn else "") +
                          "Met: on or better than target. SPC assurance: pass = the target is met "
                          "reliably; fail = it will not be met without a change; inconsistent = "
                          "hit and miss.")]

    def review_charts(self) -> list[tuple[str, Chart]]:
        """SPC charts with the monthly target for every assessed indicator."""
        r = self.review
        series = self._indicator_series()
        out = []
        label = f" ({SYNTHETIC_LABEL})" if self._synthetic() else ""
        for row in r[r["n_points"].fillna(0) > 0].itertuples():
            s = series[series["indicator"] == row.indicator].copy()
            if not len(s):
                continue
            s["month"] = pd.PeriodIndex(s["month"], freq="M").to_timestamp()
            target = row.monthly_target if pd.notna(row.monthly_target) else None
            spc = xmr(s, value="value", date="month", improvement=str(row.direction),
                      target=target)
            chart = spc_chart(
                spc, f"{row.indicator}{label}, {self.review_spc_window.label}", "Per month",
                caption="Source: " + ("SYNTHETIC partner data (sa_lib.data.synthetic), not real"
                                      if self._synthetic() else "partner returns"))
            out.append((f"review_{_slug(row.indicator)}",
                        showing_counts(chart, *self._counts_behind(row.indicator, s))))
        return out

    def _counts_behind(self, indicator: str, series: pd.DataFrame) -> list[object]:
        """The counts an indicator's chart shows: a count series, or a rate's parts."""
        spec = self.ctx.params.review.indicators.get(indicator)
        if spec is None or spec.measure not in PARTNER_MEASURES:
            return [series["value"]]  # a police.uk count
        w = self.review_spc_window
        obs = self.ctx.partner_observations
        rows = obs[(obs["measure"] == spec.measure) & (obs["start"] >= w.start)
                   & (obs["end"] <= w.end)]
        return [rows["numerator"], rows["denominator"]]
