"""The assessment context a notebook opens: parameters, inputs and publisher in one object.

Each notebook starts with ``ctx = sa.open_assessment(parameters_file, audience,
output_dir)`` and then only calls methods and ``sa_lib`` functions, so no
notebook reads a file or builds a path itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd
from IPython.display import Markdown

from sa_lib.change import compare_windows, format_count
from sa_lib.charts import Chart, funnel_chart, spc_chart
from sa_lib.home_office import (
    TOTAL_RECORDED_CRIME,
    csp_rates,
    population_year,
    read_csp_recorded_crime,
    read_population,
)
from sa_lib.parameters import Parameters, load_parameters
from sa_lib.paths import PROJECT_ROOT
from sa_lib.police_uk import load_report, monthly_counts, read_police_uk
from sa_lib.quality import data_quality
from sa_lib.report import Publisher, markdown_escape
from sa_lib.spc import xmr

TOTAL_CRIME = "Total crime (excluding ASB)"
ASB = "Anti-social behaviour"

__all__ = ["Assessment", "open_assessment"]

POLICE_UK_CAVEAT = (
    "police.uk street-level data are location-anonymised (each record is moved to a nearby "
    "snap point) and are not the force's recorded-crime total; some offences, such as most "
    "domestic abuse, are not identifiable in them. Anti-social behaviour records have no crime "
    "ID, so all counts are counts of records by type."
)


def _with_total(counts: pd.DataFrame) -> pd.DataFrame:
    """Monthly counts plus a 'Total crime (excluding ASB)' series."""
    crimes = counts[counts["crime_type"] != ASB]
    total = crimes.groupby(["month", "area"], as_index=False)["count"].sum()
    return pd.concat([total.assign(crime_type=TOTAL_CRIME), counts], ignore_index=True)


class _CrimeChapter:
    """Chapter 2 (total recorded crime) methods, mixed into :class:`Assessment`."""

    params: Parameters
    counts: pd.DataFrame
    quality: pd.DataFrame

    def crime_change(self) -> pd.DataFrame:
        """Change for every crime type, current vs previous comparison window."""
        c = _with_total(self.counts)
        return compare_windows(c, self.params.current_window, self.params.previous_window,
                                by="crime_type", min_base=self.params.thresholds.small_base,
                                alpha=self.params.thresholds.significance, sort_by="input",
                                unit={ASB: "incidents", "default": "offences"})

    def crime_change_table(self) -> pd.DataFrame:
        """The change table as published (rounded only for display)."""
        t = self.crime_change()
        prev, cur = self.params.previous_window.label, self.params.current_window.label
        out = pd.DataFrame({
            "crime type": t["category"],
            prev: t["previous"],
            cur: t["current"],
            "difference": t["difference"],
            "% change": t["pct_change"].round(1),
            "significance": t["significance"],
        })
        out.attrs["count_columns"] = [prev, cur]
        out.attrs["derived"] = {c: [prev, cur] for c in ("difference", "% change", "significance")}
        return out

    def crime_change_text(self, n_movers: int = 3) -> Markdown:
        """Sentences for the total and the largest movers, with data caveats first."""
        t = self.crime_change()
        lines = []
        cur, prev = self.params.current_window, self.params.previous_window
        incomplete = [w.label for w, ok in ((cur, t["current_complete"].iloc[0]),
                                            (prev, t["previous_complete"].iloc[0])) if not ok]
        if incomplete:
            lines.append(f"**Caution:** {', '.join(incomplete)} has months with no data, so the "
                         "comparison below understates the period and must not be read as a fall.")
        flagged = self.quality[self.quality["check"] == "implausible_total"]
        bad = [m for m in flagged["month"] if cur.start <= m <= cur.end or prev.start <= m <= prev.end]
        if bad:
            lines.append("**Caution:** " + ", ".join(f"{m:%b %Y}" for m in bad) +
                         " is incomplete at source; changes involving it are not real changes.")
        total = t[t["category"] == TOTAL_CRIME].iloc[0]
        lines.append(total["sentence"] + f" The change is {total['significance']}.")
        movers = t[t["category"] != TOTAL_CRIME].assign(
            abs_diff=lambda d: d["difference"].abs()).nlargest(n_movers, "abs_diff")
        lines += [f"- {markdown_escape(s)}" for s in movers["sentence"]]
        return Markdown("\n\n".join(lines[:-n_movers]) + "\n\n" + "\n".join(lines[-n_movers:]))

    def monthly_spc(self, crime_type: str = TOTAL_CRIME) -> pd.DataFrame:
        """XmR over the review window's months for one series (total or a crime type)."""
        c = _with_total(self.counts)
        w = self.params.review_window
        series = c[(c["crime_type"] == crime_type) & (c["month"] >= w.start) & (c["month"] <= w.end)]
        improvement = self.params.improvement.get(crime_type, "decrease")
        rebase = self.params.rebase.get(crime_type)
        return xmr(series, value="count", date="month", improvement=improvement, rebase=rebase)

    def monthly_spc_chart(self, crime_type: str = TOTAL_CRIME) -> Chart:
        """The SPC chart of :meth:`monthly_spc`."""
        return spc_chart(self.monthly_spc(crime_type),
                         f"{crime_type}, {self.params.area.name}, {self.params.review_window.label}",
                         "Records per month", caption="Source: data.police.uk (OGL v3.0)")

    @cached_property
    def csp_comparison(self) -> pd.DataFrame:
        """Every CSP's rate per 1,000 (Table C2 window), ranked, this area first.

        Read once per notebook run; the table's period is kept in ``attrs["period"]``.
        """
        crime = read_csp_recorded_crime(self.params.path("csp_table"))
        period = crime["period"].iloc[0]
        year = _table_population_year(period)
        r = csp_rates(crime, TOTAL_RECORDED_CRIME, year, read_population(self.params.path("population")))
        r["this_area"] = r["csp_code"] == self.params.area.code
        r = r.sort_values(["this_area", "rank"], ascending=[False, True]).reset_index(drop=True)
        r.attrs["period"] = period
        return r

    def csp_comparison_text(self) -> Markdown:
        """Rate, rank and funnel position of this area among all CSPs."""
        from sa_lib.benchmark import funnel_position

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


@dataclass
class Assessment(_CrimeChapter):
    """Everything one notebook run needs; inputs are loaded on first use."""

    params: Parameters
    publish: Publisher

    @cached_property
    def records(self) -> pd.DataFrame:
        """police.uk records for the area (all loaded months)."""
        return read_police_uk(self.params.police_uk_paths(), area=self.params.area.code)

    @cached_property
    def counts(self) -> pd.DataFrame:
        """Monthly counts by crime type for the area (``month, area, crime_type, count``)."""
        return monthly_counts(self.records)

    @cached_property
    def quality(self) -> pd.DataFrame:
        """Data-quality flags over the review window."""
        return data_quality(self.records, window=self.params.review_window)

    def sources_table(self) -> pd.DataFrame:
        """One row per police.uk file loaded: month, rows for the area, rows with no location."""
        rep = load_report(self.records)
        out = pd.DataFrame({
            "month": rep["month"].astype(str),
            "file": rep["file"].map(lambda f: Path(f).name),
            "records for the area": rep["rows_selected"],
            "rows with no location (not counted)": rep["rows_no_location"],
            "sha256 (first 12)": rep["sha256"].str[:12],
        })
        return out

    def coverage_text(self) -> Markdown:
        """A paragraph on what was loaded and how the area was selected."""
        rep = load_report(self.records)
        months = sorted(rep["month"])
        w = self.params.review_window
        in_window = [m for m in months if w.start <= m <= w.end]
        area = markdown_escape(self.records.attrs.get("area", self.params.area.name))
        text = (
            f"This assessment uses {len(months)} months of police.uk street-level data "
            f"({months[0]:%b %Y} to {months[-1]:%b %Y}), {format_count(int(rep['rows_selected'].sum()))} "
            f"records in all. The area is {area}. The review window is {w.label} "
            f"({len(in_window)} of its {w.n_months} months have data).\n\n"
            f"*{POLICE_UK_CAVEAT}*"
        )
        return Markdown(text)

    def quality_table(self) -> pd.DataFrame:
        """The data-quality flags as shown in the report."""
        q = self.quality
        return pd.DataFrame({
            "check": q["check"].str.replace("_", " "),
            "severity": q["severity"],
            "month": q["month"].astype(str).replace("NaT", ""),
            "detail": q["detail"],
        })

    def quality_text(self) -> Markdown:
        """Plain-English summary of the warnings an analyst or reader must know."""
        q = self.quality
        warnings = q[q["severity"] == "warning"]
        lines = []
        missing = warnings[warnings["check"] == "missing_month"]
        w = self.params.review_window
        lines.append(
            f"- **Missing months in the review window ({w.label}):** "
            + (", ".join(f"{m:%b %Y}" for m in missing["month"]) if len(missing)
               else "none; every month has data.")
        )
        bad = warnings[warnings["check"].isin(["implausible_total", "implausible_type"])]
        lines.append(
            "- **Implausible months:** " + (
                "; ".join(markdown_escape(d) for d in
                          bad.loc[bad["check"] == "implausible_total", "detail"])
                if (bad["check"] == "implausible_total").any() else
                "none in the review window." if len(bad) == 0 else
                f"{len(bad)} crime-type month(s), listed below.")
        )
        return Markdown("\n".join(lines))


def open_assessment(
    parameters_file: str | Path,
    audience: str = "official",
    output_dir: str | Path | None = None,
) -> Assessment:
    """Open the assessment a notebook is part of.

    Parameters
    ----------
    parameters_file : path
        The parameters file (relative to the project root, or absolute).
    audience : {"official", "public"}
        Which build is being made.
    output_dir : path, optional
        The build folder; empty or None when exploring interactively (nothing is written).

    Examples
    --------
    >>> ctx = open_assessment("parameters/2025.yaml")
    >>> ctx.params.area.name
    'Maidstone'
    """
    params = load_parameters(parameters_file)
    out = Path(output_dir) if output_dir else None
    if out is not None and not out.is_absolute():
        out = PROJECT_ROOT / out
    return Assessment(params, Publisher(out, audience=audience,  # type: ignore[arg-type]
                                        threshold=params.thresholds.disclosure))
