"""Chapter 2, seasonality: one line per year over January to December.

For total crime and each major crime type (the types chapter 2's SPC section
shows), a seasonal chart where the series has at least
:data:`~sa_lib.stats.seasonality.SEASONAL_MIN_MONTHS` months of police.uk data in
the history the SPC charts use (the months loaded up to the review window's
end, at most ``spc.history_months``, 36 by default).  Where there are too few
months, one sentence says so and no chart is drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import pandas as pd
from IPython.display import Markdown

from sa_lib.data.parameters import TOTAL_CRIME
from sa_lib.periods import Window, month_window, rolling_window
from sa_lib.report.chapters.common import join_words
from sa_lib.report.chapters.crime import CrimeChapter
from sa_lib.report.charts import Chart, seasonal_chart
from sa_lib.report.context import AssessmentContext
from sa_lib.report.publish import file_slug as _slug
from sa_lib.report.publish import markdown_escape
from sa_lib.stats.change import format_count
from sa_lib.stats.seasonality import SEASONAL_MIN_MONTHS, has_seasonal_history, seasonal_profile

__all__ = ["SeasonalChapter", "DEFAULT_HISTORY_MONTHS"]

#: Months of history before the window end when the parameters name none (``spc.history_months``).
DEFAULT_HISTORY_MONTHS = 36
_CAPTION = "Source: data.police.uk (OGL v3.0). A gap in a line is a month with no data."


@dataclass
class SeasonalChapter:
    """Seasonal charts of chapter 2, built on the shared context and the crime chapter.

    Examples
    --------
    >>> from sa_lib.report.assessment import open_assessment
    >>> ctx = open_assessment("parameters/2025.yaml")
    >>> ctx.seasonal.seasonal_charts()
    []
    >>> ctx.seasonal.history_window.label
    'Jan 2023 – Dec 2025'
    """

    ctx: AssessmentContext
    crime: CrimeChapter

    @property
    def history_months(self) -> int:
        """Months of history the SPC charts use (``spc.history_months``, default 36)."""
        spc = getattr(self.ctx.params, "spc", None)
        return int(getattr(spc, "history_months", DEFAULT_HISTORY_MONTHS))

    @property
    def history_window(self) -> Window:
        """The ``history_months`` months ending with the review window."""
        return rolling_window(self.ctx.params.review_window.end, self.history_months)

    def seasonal_series(self) -> list[str]:
        """The series considered: total crime, then each major crime type."""
        return [TOTAL_CRIME, *[t for t in self.crime.major_crime_types() if t != TOTAL_CRIME]]

    @cached_property
    def _profile(self) -> pd.DataFrame:
        c = self.ctx.counts_with_total
        w = self.history_window
        series = self.seasonal_series()
        sel = c[c["crime_type"].isin(series) & (c["month"] >= w.start) & (c["month"] <= w.end)]
        # Series in the order of seasonal_series(), months in order.
        sel = sel.assign(_order=sel["crime_type"].map({t: i for i, t in enumerate(series)})) \
            .sort_values(["_order", "month"], kind="stable").drop(columns="_order")
        return seasonal_profile(sel, value="count", date="month", by="crime_type")

    def seasonal_profile(self) -> pd.DataFrame:
        """Counts by series, year and calendar month over the history (missing months NaN)."""
        return self._profile.copy()

    def seasonal_history(self) -> pd.DataFrame:
        """One row per series: months with data in the history, and whether that is enough.

        A series with no month of data in the history is listed with 0 months.
        """
        c = self.ctx.counts_with_total
        w = self.history_window
        series = self.seasonal_series()
        sel = c[c["crime_type"].isin(series) & (c["month"] >= w.start) & (c["month"] <= w.end)]
        found = has_seasonal_history(sel, value="count", date="month", by="crime_type")
        out = pd.DataFrame({"crime_type": series}).merge(found, on="crime_type", how="left")
        out["months_with_data"] = out["months_with_data"].fillna(0).astype(int)
        out["seasonal_history"] = out["seasonal_history"].fillna(False).astype(bool)
        return out

    def seasonal_charts(self) -> list[tuple[str, Chart]]:
        """A seasonal chart for each series with enough months, as ``(name, chart)`` pairs."""
        p = self._profile
        shown = self.seasonal_history()
        area = self.ctx.params.area.name
        out = []
        for row in shown[shown["seasonal_history"]].itertuples():
            one = p[p["crime_type"] == row.crime_type].reset_index(drop=True)
            span = month_window(row.first_month, row.last_month).label
            out.append((f"seasonal_{_slug(row.crime_type)}", seasonal_chart(
                one, f"{row.crime_type} by calendar month, {area}, {span}",
                value="count", value_label="Records per month", caption=_CAPTION)))
        return out

    def seasonal_text(self) -> Markdown:
        """Which series have a seasonal chart and, where there are too few months, why not."""
        h = self.seasonal_history()
        w = self.history_window
        area = markdown_escape(self.ctx.params.area.name)
        need = SEASONAL_MIN_MONTHS
        scope = f"the {self.history_months} months to {w.end:%B %Y}"
        shown, short = h[h["seasonal_history"]], h[~h["seasonal_history"]]
        parts = []
        if len(shown):
            names = join_words([markdown_escape(t) for t in shown["crime_type"]])
            months = sorted(set(shown["months_with_data"]))
            held = (f"{format_count(months[0])} months with data" if len(months) == 1
                    else f"from {format_count(months[0])} to {format_count(months[-1])} "
                    "months with data")
            parts.append(
                f"Seasonal charts (one line per calendar year, January to December) are shown "
                f"for {names}: {held} in {scope}. Lines that rise and fall together in the same "
                "months of different years show a seasonal pattern; a gap is a month with no "
                "data.")
        if len(short):
            if len(shown) == 0 and short["months_with_data"].nunique() == 1:
                n = int(short["months_with_data"].iloc[0])
                held = (f"only {format_count(n)} months "
                        f"({self._months_held(short['crime_type'].iloc[0])})" if n
                        else "no months")
                parts.append(
                    f"The police.uk data for {area} hold {held} in {scope}. A seasonal chart needs at "
                    f"least {need} months with data, so that each calendar month can be compared "
                    "with the same month of another year; no seasonal chart is shown.")
            else:
                listed = join_words([f"{markdown_escape(r.crime_type)} "
                                     f"({format_count(r.months_with_data)} months)"
                                     for r in short.itertuples()])
                parts.append(f"Too few months with data in {scope} for a seasonal chart (it "
                             f"needs at least {need}): {listed}.")
        return Markdown("\n\n".join(parts))

    def _months_held(self, crime_type: str) -> str:
        """A series' months with data in the history, as runs: ``Jan–Apr 2024 and Jan–Dec 2025``."""
        p = self._profile
        months = sorted(set(p.loc[p["count"].notna() & (p["crime_type"] == crime_type), "month"]))
        return month_runs(months)


def month_runs(months: list[pd.Period]) -> str:
    """Consecutive months written as runs.

    Examples
    --------
    >>> ms = [pd.Period(m, "M") for m in ["2024-01", "2024-02", "2024-03", "2024-04",
    ...                                    "2024-09", "2024-12", "2025-01"]]
    >>> month_runs(ms)
    'Jan–Apr 2024, Sep 2024 and Dec 2024 – Jan 2025'
    """
    runs: list[list[pd.Period]] = []
    for m in sorted(months):
        if runs and (m - runs[-1][1]).n == 1:
            runs[-1][1] = m
        else:
            runs.append([m, m])
    words = []
    for a, b in runs:
        if a == b:
            words.append(f"{a:%b %Y}")
        elif a.year == b.year:
            words.append(f"{a:%b}\u2013{b:%b %Y}")
        else:
            words.append(f"{a:%b %Y} \u2013 {b:%b %Y}")
    return join_words(words)
