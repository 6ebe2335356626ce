"""Chapter 2: total recorded crime.

The change table for every crime type, the rate per 1,000 residents, SPC of the
monthly total and of each major crime type, and the comparison with every CSP
in England and Wales (rate, rank and funnel plot).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import pandas as pd
from IPython.display import Markdown

from sa_lib.data.home_office import (
    TOTAL_RECORDED_CRIME,
    area_population,
    csp_rates,
    population_year,
    read_csp_recorded_crime,
    read_population,
)
from sa_lib.data.parameters import TOTAL_CRIME
from sa_lib.report.chapters.common import (
    ASB,
    change_sums,
    change_table_layout,
    redact_small_counts,
    showing_counts,
    significance_note,
    variation_phrase,
    with_significance,
)
from sa_lib.report.charts import Chart, funnel_chart, spc_chart
from sa_lib.report.context import AssessmentContext
from sa_lib.report.publish import file_slug as _slug
from sa_lib.report.publish import markdown_escape
from sa_lib.stats.change import compare_windows, format_count
from sa_lib.stats.spc import spc_summary, xmr

__all__ = ["CrimeChapter"]


@dataclass
class CrimeChapter:
    """Chapter 2 (total recorded crime), built on the shared context."""

    ctx: AssessmentContext

    def crime_change(self) -> pd.DataFrame:
        """Change for every crime type, current vs previous comparison window."""
        return self._crime_change.copy()

    @cached_property
    def _crime_change(self) -> pd.DataFrame:
        # Computed once per notebook: chapter 2, the rates and the key findings all use it.
        c = self.ctx.counts_with_total
        out = compare_windows(c, self.ctx.params.current_window, self.ctx.params.previous_window,
                                by="crime_type", min_base=self.ctx.params.thresholds.small_base,
                                alpha=self.ctx.params.thresholds.significance, sort_by="input",
                                withhold_incomplete=True,
                                unit={ASB: "incidents", "default": "offences"})
        # The total first, then the crime types alphabetically.
        out = out.sort_values("category", key=lambda k: k.ne(TOTAL_CRIME), kind="stable") \
            .reset_index(drop=True)
        return redact_small_counts(out, self.ctx.publish.is_public,
                                   self.ctx.params.thresholds.disclosure,
                                   sums=change_sums(out["category"]))

    def crime_change_table(self) -> pd.DataFrame:
        """The change table as published (rounded only for display)."""
        return change_table_layout(self.crime_change(), self.ctx.params)

    def crime_change_note(self) -> str:
        """The change table's note: its source and the significance tests its rows used."""
        return ("police.uk street-level records. " +
                significance_note(self.crime_change()["test"],
                                  self.ctx.params.thresholds.significance)).strip()

    def crime_change_text(self, n_movers: int = 3) -> Markdown:
        """Sentences for the total and the largest movers, with data caveats first.

        When a comparison window has months with no data, nothing is compared:
        the sentence says which months are missing (see ``compare_windows``).
        """
        t = self.crime_change()
        cur, prev = self.ctx.params.current_window, self.ctx.params.previous_window
        head = []
        flagged = self.ctx.quality[self.ctx.quality["check"] == "implausible_total"]
        bad = [m for m in flagged["month"] if cur.start <= m <= cur.end or prev.start <= m <= prev.end]
        if bad:
            head.append("**Caution:** " + ", ".join(f"{m:%b %Y}" for m in bad) +
                        " is incomplete at source; changes involving it are not real changes.")
        total = t[t["category"] == TOTAL_CRIME].iloc[0]
        head.append(markdown_escape(with_significance(total)))
        movers = t[t["category"] != TOTAL_CRIME].assign(
            abs_diff=lambda d: d["difference"].abs()).dropna(subset=["abs_diff"]) \
            .nlargest(n_movers, "abs_diff")
        body = "\n".join(f"- {markdown_escape(s)}" for s in movers["sentence"])
        return Markdown("\n\n".join(head + ([body] if body else [])))

    def monthly_spc(self, crime_type: str = TOTAL_CRIME) -> pd.DataFrame:
        """XmR over the review window's months for one series (total or a crime type)."""
        c = self.ctx.counts_with_total
        w = self.ctx.params.review_window
        series = c[(c["crime_type"] == crime_type) & (c["month"] >= w.start) & (c["month"] <= w.end)]
        improvement = self.ctx.params.improvement.get(crime_type, "decrease")
        rebase = self.ctx.params.rebase.get(crime_type)
        return xmr(series, value="count", date="month", improvement=improvement, rebase=rebase)

    def monthly_spc_chart(self, crime_type: str = TOTAL_CRIME) -> Chart:
        """The SPC chart of :meth:`monthly_spc`."""
        spc = self.monthly_spc(crime_type)
        return showing_counts(spc_chart(
            spc, f"{crime_type}, {self.ctx.params.area.name}, {self.ctx.params.review_window.label}",
            "Records per month", caption="Source: data.police.uk (OGL v3.0)"), spc["count"])

    def major_crime_types(self, share: float = 0.05) -> list[str]:
        """Crime types (and ASB) with at least ``share`` of all records in the review window."""
        w = self.ctx.params.review_window
        c = self.ctx.counts[(self.ctx.counts["month"] >= w.start) & (self.ctx.counts["month"] <= w.end)]
        totals = c.groupby("crime_type")["count"].sum().sort_values(ascending=False, kind="stable")
        return [t for t, n in totals.items() if n >= share * totals.sum()]

    def type_spc(self) -> pd.DataFrame:
        """XmR over the review window for every major crime type at once (one ``xmr`` call)."""
        types = self.major_crime_types()
        w = self.ctx.params.review_window
        c = self.ctx.counts[self.ctx.counts["crime_type"].isin(types) & (self.ctx.counts["month"] >= w.start)
                        & (self.ctx.counts["month"] <= w.end)]
        # Each series keeps its own improvement direction, so run one xmr per direction.
        parts = []
        for direction in ("decrease", "increase", "neutral"):
            sel = [t for t in types if self.ctx.params.improvement.get(t, "decrease") == direction]
            if sel:
                parts.append(xmr(c[c["crime_type"].isin(sel)], value="count", date="month",
                                 by="crime_type", improvement=direction,
                                 rebase={t: self.ctx.params.rebase[t] for t in sel
                                         if t in self.ctx.params.rebase} or None))
        out = pd.concat(parts, ignore_index=True)
        out.attrs = parts[0].attrs
        return out

    def type_spc_table(self) -> pd.DataFrame:
        """One row per major crime type: mean, limits and what the latest point shows."""
        spc = self.type_spc()
        frames = [spc_summary(spc[spc["crime_type"] == t],
                              improvement=self.ctx.params.improvement.get(t, "decrease"))
                  .tail(1).assign(crime_type=t) for t in self.major_crime_types()]
        s = pd.concat(frames, ignore_index=True)
        return pd.DataFrame({
            "crime type": s["crime_type"],
            "months": s["n"],
            "mean per month": s["mean"].round(1),
            "lower limit": s["lpl"].round(1),
            "upper limit": s["upl"].round(1),
            "latest month": s["variation_type"].map(variation_phrase),
        })

    def type_spc_charts(self) -> list[tuple[str, Chart]]:
        """One SPC chart per major crime type."""
        spc = self.type_spc()
        w = self.ctx.params.review_window
        return [(f"spc_{_slug(t)}", showing_counts(spc_chart(
            spc[spc["crime_type"] == t].reset_index(drop=True),
            f"{t}, {self.ctx.params.area.name}, {w.label}", "Records per month",
            caption="Source: data.police.uk (OGL v3.0)"), spc.loc[spc["crime_type"] == t, "count"]))
            for t in self.major_crime_types()]

    @cached_property
    def area_population(self) -> tuple[int, int]:
        """(residents, mid-year) for the area, for the review window's population year."""
        from sa_lib.data.geography import load_csp_lookup

        code = self.ctx.params.area.code
        lk = load_csp_lookup()
        la_codes = sorted(set(lk.loc[(lk["csp_code"] == code) | (lk["lad_code"] == code),
                                     "lad_code"]))
        year = population_year(self.ctx.params.review_window)
        return area_population(la_codes, year,
                               read_population(self.ctx.params.path("population")))

    def crime_rates(self) -> pd.DataFrame:
        """Records per 1,000 residents by crime type, in each comparison window."""
        t = self.crime_change()
        pop, year = self.area_population
        cur, prev = self.ctx.params.current_window.label, self.ctx.params.previous_window.label
        rate_of = {f"{prev} per 1,000": prev, f"{cur} per 1,000": cur}
        out = pd.DataFrame({
            "crime type": t["category"],
            f"{prev} per 1,000": (1000 * t["previous"] / pop).round(2),
            f"{cur} per 1,000": (1000 * t["current"] / pop).round(2),
        })
        if self.ctx.publish.is_public:
            # A rate times the population (given in the note) is the count: hide the rate
            # wherever the change table hides the count.
            from sa_lib.report.publish import disclosure_mask
            from sa_lib.stats.suppression import apply_suppression

            threshold = self.ctx.params.thresholds.disclosure
            hidden = disclosure_mask(self.crime_change_table(), threshold)
            mask = pd.DataFrame(False, index=out.index, columns=out.columns)
            for rate, count in rate_of.items():
                mask[rate] = hidden[count].to_numpy(dtype=bool)
            out = apply_suppression(out, mask, f"<{threshold}")
        out.attrs["population"], out.attrs["population_year"] = pop, year
        out.attrs["derived_from"] = {"table": "crime_change", "key": "crime type",
                                     "columns": rate_of}
        return out

    def crime_rates_note(self) -> str:
        """The denominator of :meth:`crime_rates`, for the table's note."""
        pop, year = self.area_population
        return (f"Rates use the ONS mid-{year} population estimate for "
                f"{self.ctx.params.area.name}: {format_count(pop)} residents. Rates for windows "
                "shorter than 12 months are for that window, not annualised.")

    @cached_property
    def csp_comparison(self) -> pd.DataFrame:
        """Every CSP's rate per 1,000 (Table C2 window), ranked, this area first.

        Read once per notebook run; the table's period is kept in ``attrs["period"]``.
        """
        crime = read_csp_recorded_crime(self.ctx.params.path("csp_table"))
        period = crime["period"].iloc[0]
        year = _table_population_year(period)
        r = csp_rates(crime, TOTAL_RECORDED_CRIME, year, read_population(self.ctx.params.path("population")))
        r["this_area"] = r["csp_code"] == self.ctx.params.area.code
        r = r.sort_values(["this_area", "rank"], ascending=[False, True]).reset_index(drop=True)
        r.attrs["period"] = period
        return r

    def csp_comparison_text(self) -> Markdown:
        """Rate, rank and funnel position of this area among all CSPs."""
        from sa_lib.stats.funnel import funnel_position

        r = self.csp_comparison
        me = r[r["this_area"]].iloc[0]
        ranked = r.dropna(subset=["rate_per_1000"])
        overall = ranked["offences"].sum() / ranked["population"].sum() * 1000
        where = funnel_position(float(me["rate_per_1000"]), float(me["population"]), overall)
        return Markdown(
            f"In the Home Office table ({markdown_escape(r.attrs['period'])}), "
            f"{markdown_escape(me['csp_name'])} recorded {format_count(int(me['offences']))} crimes "
            f"(excluding fraud), {me['rate_per_1000']:.1f} per 1,000 residents (mid-{int(me['population_year'])} "
            f"population). That is the {_ordinal(int(me['rank']))} highest rate of "
            f"{int(me['n_ranked'])} partnerships in England and Wales; the overall rate is "
            f"{overall:.1f} per 1,000, and {markdown_escape(me['csp_name'])} is {where}."
        )

    def csp_funnel_chart(self) -> Chart:
        """Funnel plot of every CSP's rate, this area highlighted."""
        r = self.csp_comparison
        ranked = r.dropna(subset=["rate_per_1000"])
        overall = ranked["offences"].sum() / ranked["population"].sum() * 1000
        me = r[r["this_area"]].iloc[0]["csp_name"]
        return funnel_chart(ranked, me, overall, "Recorded crime per 1,000 residents, all CSPs",
                            caption="Source: ONS Table C2, Home Office police recorded crime; "
                            "ONS mid-year estimates (OGL v3.0)")


def _table_population_year(period: str) -> int:
    """Mid-year estimate for a 'year ending <Month YYYY>' table: the window's middle month."""
    from sa_lib.periods import rolling_window

    end = pd.Period(pd.Timestamp(period.replace("year ending ", "1 ")), "M")
    return population_year(rolling_window(end))


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


