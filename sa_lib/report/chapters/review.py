"""Chapter 4: review of last year's priorities.

The action-plan return gives each indicator's yearly value and target (met /
not met / no data, :func:`sa_lib.stats.targets.target_status`).  Indicators that the
parameters file links to a monthly measure (``review.indicators``) also get SPC
assurance against a monthly target (:func:`sa_lib.stats.review.review_priorities`).

Missing inputs do not stop the report: with no action-plan return, or one with
no row for the review year, the chapter says what is missing and how to add it
(:attr:`ReviewChapter.review_notes`) and shows no table; an indicator of
``review.indicators`` that the plan does not hold for the year is named in one
sentence and left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd
from IPython.display import Markdown

from sa_lib.data.measures import PARTNER_MEASURES
from sa_lib.data.parameters import ReviewIndicator
from sa_lib.errors import OptionError
from sa_lib.periods import Window, rolling_window
from sa_lib.report.chapters.common import (
    SYNTHETIC_LABEL,
    SYNTHETIC_NOTE,
    TableSpec,
    missing_input_sentence,
    showing_counts,
)
from sa_lib.report.chapters.partners import counts_behind
from sa_lib.report.charts import Chart, spc_chart
from sa_lib.report.context import AssessmentContext
from sa_lib.report.publish import file_slug as _slug
from sa_lib.report.publish import markdown_escape
from sa_lib.report.spc_text import LOWER_LIMIT_NOTE
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
    def has_action_plan(self) -> bool:
        """True when data.partner holds an action-plan return (``*action_plan.csv``)."""
        return "action_plan" in self.ctx.partner_data

    @property
    def action_plan(self) -> pd.DataFrame:
        """The action-plan return (``action_plan`` kind) from the partner folder.

        Raises
        ------
        OptionError
            There is none (the chapter itself checks :attr:`has_action_plan` first).
        """
        if not self.has_action_plan:
            raise OptionError(f"data.partner ({self.ctx.params.data.partner}) has no action-plan "
                              "return ('*action_plan.csv'); chapter 4 needs one")
        return self.ctx.partner_data["action_plan"]

    def _plan_name(self) -> str:
        return Path(str(self.action_plan.attrs.get("source", "action_plan.csv"))).name

    def _plan_for_year(self) -> pd.DataFrame:
        """The plan's rows within the review year (``yyyy`` or ``yyyy-mm`` periods)."""
        plan = self.action_plan
        return plan[plan["period"].astype(str).str[:4] == self.review_period]

    @cached_property
    def review_notes(self) -> list[str]:
        """What chapter 4 could not review and why, one sentence each (empty when all is there)."""
        year = self.review_period
        if not self.ctx.has_partner_data:
            return [missing_input_sentence("partner", "last year's priorities are not reviewed "
                                           "against the action plan's indicators and targets")]
        if not self.has_action_plan:
            return [f"No action-plan return was found in data.partner "
                    f"({self.ctx.params.data.partner}), so last year's priorities are not "
                    "reviewed here. To add one, save the partnership's action plan in that folder "
                    "as a CSV whose name ends in 'action_plan.csv', with the columns priority, "
                    "indicator, period, value, target and direction (the template is "
                    "data/templates/action_plan.csv; 'sa validate FILE --kind action_plan' checks "
                    "it), then run the report again."]
        in_year = self._plan_for_year()
        if not len(in_year):
            periods = sorted(set(self.action_plan["period"].astype(str)))
            last = f" (its latest period is {periods[-1]})" if periods else ""
            return [f"The action-plan return ({self._plan_name()}) has no row for {year}{last}, "
                    f"so the {year} indicators are not reviewed; add each indicator's {year} "
                    "value and target to it and run the report again."]
        known = set(in_year["indicator"])
        unknown = [i for i in self.ctx.params.review.indicators if i not in known]
        if unknown:
            return [f"review.indicators names {', '.join(repr(i) for i in unknown)}, which the "
                    f"action-plan return ({self._plan_name()}) does not hold for {year}, so "
                    f"{'it is' if len(unknown) == 1 else 'they are'} left out of the review."]
        return []

    def _indicators(self) -> dict[str, ReviewIndicator]:
        """``review.indicators`` that the plan holds for the review year."""
        if not self.has_action_plan:
            return {}
        known = set(self._plan_for_year()["indicator"])
        return {i: s for i, s in self.ctx.params.review.indicators.items() if i in known}

    def _indicator_series(self) -> pd.DataFrame:
        frames = []
        w = self.review_spc_window
        for indicator, spec in self._indicators().items():
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
        """Every indicator's status for the review year and its SPC assurance.

        Empty when there is no action plan or it has no row for the review year
        (:attr:`review_notes` says which).
        """
        if not self.has_action_plan or not len(self._plan_for_year()):
            return pd.DataFrame()
        series = self._indicator_series()
        targets = {i: s.monthly_target for i, s in self._indicators().items()}
        # A count cannot be negative: its lower process limit is raised to 0, as on the SPC
        # charts, so a target is never judged against a limit no month can reach.
        floors = {i: 0.0 for i, s in self._indicators().items() if _is_count(s.measure)}
        # No review.indicators: the plan's own rows only (an empty series is no series).
        return review_priorities(self.action_plan, self.review_period,
                                 series=series if len(series) else None,
                                 monthly_targets=targets or None, limit_floor=floors or None)

    def _synthetic(self) -> bool:
        return self.has_action_plan and bool(self.action_plan.attrs.get("synthetic"))

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
        lines += [f"*{markdown_escape(n)}*" for n in self.review_notes]
        if r.empty:
            return Markdown("\n\n".join(lines))
        lines.append(markdown_escape(review_sentence(r)))
        lines.append("\n".join(f"- {markdown_escape(s)}" for s in r["sentence"]))
        assessed = r[r["assurance"] != "not assessed"]
        if len(assessed):
            lines.append("\n".join(f"- {markdown_escape(s)}" for s in assessed["assurance_sentence"]))
        return Markdown("\n\n".join(lines))

    def review_summary_text(self) -> str:
        """One sentence for the key findings."""
        if self.review.empty:
            why = ("no partner returns were given (data.partner)"
                   if not self.ctx.has_partner_data else
                   "there is no action-plan return" if not self.has_action_plan else
                   f"the action-plan return has no row for {self.review_period}")
            return markdown_escape(f"Last year's priorities are not reviewed: {why} "
                                   "(chapter 4 says what to add).")
        return markdown_escape(review_sentence(self.review)) + (
            " (SYNTHETIC action-plan data.)" if self._synthetic() else "")

    def review_tables(self) -> list[TableSpec]:
        """The indicators against their targets, with the SPC assurance result (none when
        there is nothing to review: :attr:`review_notes` says why)."""
        r = self.review
        if r.empty:
            return []
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
                          "hit and miss. Process limits of counts: " + LOWER_LIMIT_NOTE)]

    def review_charts(self) -> list[tuple[str, Chart]]:
        """SPC charts with the monthly target for every assessed indicator."""
        r = self.review
        if r.empty:
            return []
        series = self._indicator_series()
        out = []
        label = f" ({SYNTHETIC_LABEL})" if self._synthetic() else ""
        for row in r[r["n_points"].fillna(0) > 0].itertuples():
            s = series[series["indicator"] == row.indicator].copy()
            if not len(s):
                continue
            s["month"] = pd.PeriodIndex(s["month"], freq="M").to_timestamp()
            target = row.monthly_target if pd.notna(row.monthly_target) else None
            spec = self.ctx.params.review.indicators.get(row.indicator)
            spc = xmr(s, value="value", date="month", improvement=str(row.direction),
                      target=target,
                      limit_floor=0.0 if spec is not None and _is_count(spec.measure) else None)
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
        return counts_behind(self.ctx.partner_observations, spec.measure,
                             self.review_spc_window)


def _is_count(measure: str) -> bool:
    """A police.uk crime type, or a partner measure whose unit is a count."""
    return measure not in PARTNER_MEASURES or PARTNER_MEASURES[measure].unit == "count"
