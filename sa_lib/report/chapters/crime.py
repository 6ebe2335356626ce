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
    period_end_month,
    population_year,
    read_csp_recorded_crime,
    read_population,
)
from sa_lib.data.inputs import csp_table_choice
from sa_lib.data.parameters import TOTAL_CRIME
from sa_lib.report.chapters.common import (
    ASB,
    change_sums,
    change_table_layout,
    history_spc,
    missing_input_sentence,
    redact_small_counts,
    showing_counts,
    significance_note,
    spc_reading,
    spc_table_note,
    with_significance,
)
from sa_lib.report.charts import Chart, funnel_chart, spc_chart
from sa_lib.report.context import AssessmentContext
from sa_lib.report.publish import file_slug as _slug
from sa_lib.report.publish import markdown_escape
from sa_lib.report.spc_text import charted_months, spc_sentences
from sa_lib.rounding import format_number, round_half_up
from sa_lib.stats.change import compare_windows, format_count

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
        head = [markdown_escape(self.ctx.short_comparison)] if self.ctx.short_comparison else []
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
        """XmR of one series (total or a crime type) over the history, limits from the baseline.

        Every month loaded among the ``spc.history_months`` ending at the review
        window's end (missing months as gaps), limits from ``spc.baseline``, lower
        limits raised to 0 (:func:`~sa_lib.report.chapters.common.history_spc`).
        """
        c = self.ctx.counts_with_total
        series = c[c["crime_type"] == crime_type]
        improvement = self.ctx.params.improvement.get(crime_type, "decrease")
        rebase = self.ctx.params.rebase.get(crime_type)
        return history_spc(series, self.ctx.params, improvement=improvement, rebase=rebase)

    def monthly_spc_text(self, crime_type: str = TOTAL_CRIME) -> Markdown:
        """What the chart of :meth:`monthly_spc` shows: its latest month, then the review window."""
        what = "total crime (excluding ASB)" if crime_type == TOTAL_CRIME else crime_type
        return Markdown(markdown_escape(spc_sentences(self.monthly_spc(crime_type), what,
                                                      self.ctx.params.review_window)))

    def monthly_spc_chart(self, crime_type: str = TOTAL_CRIME) -> Chart:
        """The SPC chart of :meth:`monthly_spc` (the review window shaded)."""
        spc = self.monthly_spc(crime_type)
        return showing_counts(spc_chart(
            spc, f"{crime_type}, {self.ctx.params.area.name}, {charted_months(spc)}",
            "Records per month", caption="Source: data.police.uk (OGL v3.0)"), spc["count"])

    def major_crime_types(self, share: float = 0.05) -> list[str]:
        """Crime types (and ASB) with at least ``share`` of all records in the review window."""
        w = self.ctx.params.review_window
        c = self.ctx.counts[(self.ctx.counts["month"] >= w.start) & (self.ctx.counts["month"] <= w.end)]
        totals = c.groupby("crime_type")["count"].sum().sort_values(ascending=False, kind="stable")
        return [t for t, n in totals.items() if n >= share * totals.sum()]

    def type_spc(self) -> pd.DataFrame:
        """:meth:`monthly_spc` for every major crime type at once (one call per direction)."""
        types = self.major_crime_types()
        c = self.ctx.counts[self.ctx.counts["crime_type"].isin(types)]
        # Each series keeps its own improvement direction, so run one xmr per direction.
        parts = []
        for direction in ("decrease", "increase", "neutral"):
            sel = [t for t in types if self.ctx.params.improvement.get(t, "decrease") == direction]
            if sel:
                parts.append(history_spc(c[c["crime_type"].isin(sel)], self.ctx.params,
                                         by="crime_type", improvement=direction,
                                         rebase={t: self.ctx.params.rebase[t] for t in sel
                                                 if t in self.ctx.params.rebase} or None))
        out = pd.concat(parts, ignore_index=True)
        out.attrs = parts[0].attrs
        return out

    def _one_type(self, spc: pd.DataFrame, crime_type: str) -> pd.DataFrame:
        one = spc[spc["crime_type"] == crime_type].reset_index(drop=True)
        one.attrs = {**spc.attrs, "spc_options": {
            **spc.attrs["spc_options"],
            "improvement": self.ctx.params.improvement.get(crime_type, "decrease")}}
        return one

    def type_spc_table(self) -> pd.DataFrame:
        """One row per major crime type: months charted, baseline, mean and limits (of the
        latest segment), what the latest month shows and what the review window shows."""
        spc = self.type_spc()
        w = self.ctx.params.review_window
        rows = [{"crime type": t, **spc_reading(self._one_type(spc, t), w)}
                for t in self.major_crime_types()]
        out = pd.DataFrame(rows)
        for c in ("mean per month", "lower limit", "upper limit"):
            out[c] = round_half_up(out[c].astype(float), 1)
        return out

    def type_spc_note(self) -> str:
        """The note of :meth:`type_spc_table`: what the columns mean."""
        return spc_table_note(self.ctx.params)

    def type_spc_charts(self) -> list[tuple[str, Chart]]:
        """One SPC chart per major crime type."""
        spc = self.type_spc()
        out = []
        for t in self.major_crime_types():
            one = self._one_type(spc, t)
            out.append((f"spc_{_slug(t)}", showing_counts(spc_chart(
                one, f"{t}, {self.ctx.params.area.name}, {charted_months(one)}",
                "Records per month", caption="Source: data.police.uk (OGL v3.0)"),
                one["count"])))
        return out

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
            f"{prev} per 1,000": round_half_up(1000 * t["previous"] / pop, 2),
            f"{cur} per 1,000": round_half_up(1000 * t["current"] / pop, 2),
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
        """Every CSP's rate per 1,000 (Table C2 window), ranked, on the funnel, this area first.

        Read once per notebook run.  Columns of :func:`sa_lib.csp_rates` plus ``this_area``
        and the funnel's ``expected, ratio, z, lower_95, upper_95, lower_998, upper_998,
        outlier_95, outlier_998`` (:func:`sa_lib.stats.funnel.rate_funnel`, with the method
        of ``benchmark.funnel``; blank for a partnership with no population).  ``attrs``:
        those of ``csp_rates`` (overall rate, England and Wales population, pieces of
        population left out), the table's ``period``, the ``requested_year`` of the
        population, and the funnel's ``funnel`` attrs (phi, tau2, method).
        """
        from sa_lib.stats.funnel import rate_funnel

        choice = csp_table_choice(self.ctx.params)
        if choice is None:
            return pd.DataFrame()
        crime = read_csp_recorded_crime(choice[0])
        period = crime["period"].iloc[0]
        year = _table_population_year(period)
        r = csp_rates(crime, TOTAL_RECORDED_CRIME, year, read_population(self.ctx.params.path("population")))
        attrs = dict(r.attrs)
        f = rate_funnel(r, attrs["overall_rate"], method=self.ctx.params.benchmark.funnel)
        keep = ["expected", "ratio", "z", "lower_95", "upper_95", "lower_998", "upper_998",
                "outlier_95", "outlier_998"]
        r = r.merge(f[["csp_code", *keep]], on="csp_code", how="left")
        r["this_area"] = r["csp_code"] == self.ctx.params.area.code
        r = r.sort_values(["this_area", "rank"], ascending=[False, True]).reset_index(drop=True)
        r.attrs = {**attrs, "period": period, "requested_year": year, "funnel": dict(f.attrs)}
        return r

    def csp_comparison_text(self) -> Markdown:
        """Rate, rank and funnel position of this area among all CSPs, and who is left out.

        One paragraph: the area's rate and rank; the overall rate (the table's partnership
        total over the population of England and Wales) and whether the area is above or
        below it and within or outside the funnel's limits; how the limits were drawn and
        how many partnerships fall outside the 99.8% limits; and one sentence naming every
        partnership or piece of population left out.
        """
        from sa_lib.stats.funnel import funnel_method, funnel_words

        r = self.csp_comparison
        if r.empty:
            return Markdown(markdown_escape(missing_input_sentence(
                "csp_table", f"{self.ctx.params.area.name} is not compared with the other "
                "partnerships in England and Wales")))
        a = r.attrs
        fa = a["funnel"]
        year = int(a["population_year"])
        latest = ("" if year == a["requested_year"] else
                  f", the latest published; the table's year would use mid-{a['requested_year']}")
        esc = markdown_escape
        overall = float(a["overall_rate"])
        gap = self.csp_time_base()
        out = [esc(gap)] if gap else []
        out += [f"In the Home Office table ({esc(a['period'])}),"]
        mine = r[r["this_area"]]
        if mine.empty:
            out = [f"{esc(self.ctx.params.area.name)} ({esc(self.ctx.params.area.code)}) is not "
                   f"a partnership in the Home Office table ({esc(a['period'])})."]
        else:
            me = mine.iloc[0]
            name = esc(me["csp_name"])
            if pd.isna(me["rate_per_1000"]):
                out.append(f"{name} recorded {format_count(int(me['offences']))} crimes "
                           f"(excluding fraud), but has no mid-{year} population{latest}, "
                           "so no rate.")
            else:
                basis = str(me["population_basis"])
                own = basis == f"mid-{year} estimate for {me['csp_name']}"
                out.append(
                    f"{name} recorded {format_count(int(me['offences']))} crimes (excluding "
                    f"fraud), {_one_dp(me['rate_per_1000'])} per 1,000 residents (mid-{year} "
                    f"population{'' if own else ': ' + esc(basis)}{latest}). That is the "
                    f"{_ordinal(int(me['rank']))} highest rate of {int(me['n_ranked'])} "
                    "partnerships in England and Wales.")
        out.append(
            f"The overall rate, all partnerships' crimes "
            f"({format_count(int(a['partnership_total']))}) over the mid-{year} population of "
            f"England and Wales ({format_count(int(a['england_wales_population']))}), is "
            f"{_one_dp(overall)} per 1,000"
            + ("." if mine.empty or pd.isna(mine.iloc[0]["rate_per_1000"]) else
               f": {esc(mine.iloc[0]['csp_name'])} is {_side(mine.iloc[0]['rate_per_1000'], overall)}"
               f" it, {funnel_words(mine.iloc[0], fa['adjusted'])} of the funnel plot."))
        on_funnel = r.dropna(subset=["outlier_998"])
        n_out = int((on_funnel["outlier_998"] != 0).sum())
        how = funnel_method(fa)
        out.append(
            f"{how[:1].upper()}{how[1:]}; {n_out} of {len(on_funnel)} partnerships are outside "
            f"the {'adjusted ' if fa['adjusted'] else ''}99.8% limits"
            + ("." if fa["adjusted"] else ", so being outside them does not by itself mark a "
               "partnership out."))
        out.append(_left_out(a, year))
        return Markdown(" ".join(out))

    def csp_time_base(self) -> str:
        """One sentence when the Home Office table's year is not the review window's ("" when
        it is, or when there is no table).

        The table is the one nearest the review window (``data.csp_table`` may name
        several); its 12 months count as the same period when they end within 6 months
        of the review window's end (so at least half of a 12-month window is in the
        table's year).  Otherwise the sentence says how far apart they are, and that the
        rates use the population of the table's year.
        """
        r = self.csp_comparison
        end = period_end_month(str(r.attrs.get("period", ""))) if not r.empty else None
        if end is None:
            return ""
        w = self.ctx.params.review_window
        apart = (end - w.end).n
        if abs(apart) <= 6:
            return ""
        months = f"{abs(apart)} month{'s' if abs(apart) != 1 else ''}"
        return (f"The Home Office table nearest this review window is for the "
                f"{r.attrs['period']}, {months} {'after' if apart > 0 else 'before'} the review "
                f"window ends ({w.end:%B %Y}); this comparison describes that year, not the "
                f"review window, and its rates use the mid-{int(r.attrs['population_year'])} "
                "population, the table's year.")

    def csp_funnel_chart(self) -> Chart | None:
        """Funnel plot of every CSP's rate, this area highlighted, limits as the text's (None
        when no Home Office table was given: :meth:`csp_comparison_text` says so)."""
        r = self.csp_comparison
        if r.empty:
            return None
        ranked = r.dropna(subset=["rate_per_1000"])
        me = ranked.loc[ranked["this_area"], "csp_name"]
        gap = self.csp_time_base()
        when = (f"Table for the {r.attrs['period']}, not the review window "
                f"({self.ctx.params.review_window.label}). " if gap else "")
        return funnel_chart(ranked, me.iloc[0] if len(me) else None, r.attrs["overall_rate"],
                            "Recorded crime per 1,000 residents, all CSPs",
                            caption=when + "Source: ONS Table C2, Home Office police recorded "
                            f"crime; ONS mid-{int(r.attrs['population_year'])} estimates "
                            "(OGL v3.0)",
                            method=self.ctx.params.benchmark.funnel)


def _table_population_year(period: str) -> int:
    """Mid-year estimate for a 'year ending <Month YYYY>' table: the window's middle month.

    Examples
    --------
    >>> _table_population_year("year ending June 2025"), _table_population_year("year ending March 2025")
    (2024, 2024)
    """
    from sa_lib.periods import rolling_window

    end = pd.Period(pd.Timestamp(period.replace("year ending ", "1 ")), "M")
    return population_year(rolling_window(end))


def _one_dp(x: float) -> str:
    """A rate to one decimal place, rounded half-up: 82.55 -> '82.6'."""
    return format_number(x, 1)


def _whole(x: float) -> str:
    """A number of people, rounded half-up to a whole number: 51542.9 -> '51,543'."""
    return format_number(x, 0)


def _side(rate: float, overall: float) -> str:
    return "above" if rate > overall else "below" if rate < overall else "at"


def _left_out(attrs: dict, year: int) -> str:
    """One sentence naming the population and partnerships the comparison leaves out."""
    esc = markdown_escape
    parts = [f"{esc(u['name'])} (an estimated {_whole(u['population'])} of the "
             f"residents of {esc(u['council_name'])}), which has no partnership row of its own"
             for u in attrs["unassigned"]]
    parts += [f"{esc(n['csp_name'])}, which has no population ({esc(n['reason'])})"
              for n in attrs["no_population"]]
    if not parts:
        return (f"Every partnership in the table has its own mid-{year} population, and "
                "every resident of England and Wales is counted in one of them once.")
    return ("Left out of the partnerships' rates (but counted in England and Wales): "
            + "; ".join(parts) + ".")


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


