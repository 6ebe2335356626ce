"""Chapter 2, where crime happens: LSOAs, concentration, significant changes, hotspot maps.

Also the short area profile (population and its change, from the bundled ONS
mid-year estimates).  Counts are of police.uk crimes (anti-social behaviour
excluded, as in "Total crime (excluding ASB)") in the comparison windows;
rates per 1,000 residents use the 2011 Census usual residents of 2011 LSOAs
(an LSOA with a 2021 code that is not a 2011 code gets no rate, and the table
says so).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import pandas as pd
from IPython.display import Markdown

from sa_lib.data.geography import load_csp_lookup
from sa_lib.data.home_office import area_population, population_year, read_population
from sa_lib.data.lsoa_population import read_lsoa_population
from sa_lib.data.parameters import TOTAL_CRIME
from sa_lib.errors import OptionError
from sa_lib.periods import previous_window
from sa_lib.report.chapters.common import ASB
from sa_lib.report.chapters.crime import CrimeChapter
from sa_lib.report.charts import Chart, hotspot_chart
from sa_lib.report.charts.hotspot import read_boundaries
from sa_lib.report.context import AssessmentContext
from sa_lib.report.publish import file_slug as _slug
from sa_lib.report.publish import markdown_escape
from sa_lib.rounding import format_number, round_half_up
from sa_lib.stats.change import format_count
from sa_lib.stats.places import (
    MULTIPLE_TESTING,
    TOP_SHARE,
    concentration,
    lsoa_counts,
    lsoa_profile,
    significant_lsoa_changes,
)

__all__ = ["PlacesChapter"]

_SOURCE = "Source: data.police.uk (OGL v3.0)."
_TOP_N = 10


@dataclass
class PlacesChapter:
    """Where crime happens (chapter 2) and the area profile.

    Examples
    --------
    >>> from sa_lib.report.assessment import open_assessment
    >>> ctx = open_assessment("parameters/2025.yaml")
    >>> t = ctx.places.top_lsoas_table()
    >>> list(t.columns)[:3]
    ['LSOA code', 'LSOA name', 'Jan 2025 – Dec 2025']
    """

    ctx: AssessmentContext
    crime: CrimeChapter

    @cached_property
    def _crimes(self) -> pd.DataFrame:
        r = self.ctx.records
        return r[r["crime_type"].astype(str) != ASB]

    @cached_property
    def _counts(self) -> pd.DataFrame:
        # The comparison windows: only for the changes (like the crime change table).
        p = self.ctx.params
        return lsoa_counts(self._crimes, p.current_window, p.previous_window)

    @cached_property
    def _review_counts(self) -> pd.DataFrame:
        # Where crime is: the whole review window (``current``), even when the year-on-year
        # comparison is shorter.
        w = self.ctx.params.review_window
        return lsoa_counts(self._crimes, w, previous_window(w))

    def lsoa_profile(self) -> pd.DataFrame:
        """Every LSOA of the area in the review window: counts, share, residents and rate."""
        return lsoa_profile(self._review_counts, read_lsoa_population())

    def _layout(self, t: pd.DataFrame) -> pd.DataFrame:
        cur = self.ctx.params.review_window.label
        out = pd.DataFrame({
            "LSOA code": t["lsoa_code"].astype(str),
            "LSOA name": t["lsoa_name"].astype(str),
            cur: t["current"].astype(int),
            "% of area's crime": round_half_up(t["share_pct"], 1),
            "residents (2011)": t["residents"].map(
                lambda v: "no 2011 figure" if pd.isna(v) else format_count(v)),
            "per 1,000 residents": round_half_up(t["rate_per_1000"], 1),
        })
        out.attrs["count_columns"] = [cur]
        out.attrs["derived"] = {"% of area's crime": [cur], "per 1,000 residents": [cur]}
        out.attrs["label_column"] = "LSOA code"
        return out.reset_index(drop=True)

    def top_lsoas_table(self, n: int = _TOP_N) -> pd.DataFrame:
        """The ``n`` LSOAs with the most crimes in the review window."""
        p = self.lsoa_profile()
        return self._layout(p[p["current"] > 0].head(n))

    def top_rate_table(self, n: int = _TOP_N) -> pd.DataFrame:
        """The ``n`` LSOAs with the highest rate per 1,000 residents (2011 LSOAs only)."""
        p = self.lsoa_profile()
        p = p[p["residents"].notna() & (p["current"] > 0)]
        p = p.sort_values(["rate_per_1000", "lsoa_code"], ascending=[False, True], kind="stable")
        return self._layout(p.head(n))

    def places_note(self) -> str:
        """The table note: what is counted, and which LSOAs have no rate."""
        p = self.lsoa_profile()
        no_rate = int(p["residents"].isna().sum())
        note = ("Crimes (anti-social behaviour excluded) by the LSOA of their snapped location. "
                "Rates use 2011 Census usual residents (ONS, OGL v3.0)")
        if no_rate:
            note += (f"; {format_count(no_rate)} of the area's {format_count(len(p))} LSOAs have "
                     "a code that is not a 2011 code (2021 boundaries) and get no rate")
        return note + ". " + _SOURCE

    def places_text(self) -> Markdown:
        """Where crime is: the busiest LSOA and the concentration in the top 5%."""
        p = self.lsoa_profile()
        cur = self.ctx.params.review_window.label
        area = markdown_escape(self.ctx.params.area.name)
        total = int(p["current"].sum())
        if total == 0:
            return Markdown(f"No crime with a location was recorded in {area} in {cur}.")
        k, n, share = concentration(p["current"], TOP_SHARE)
        top = p.iloc[0]
        lsoas = "LSOA" if k == 1 else "LSOAs"
        return Markdown(
            f"In {cur}, {format_count(total)} crimes in {area} had a location, in "
            f"{format_count(n)} LSOAs (the LSOAs the area's records fall in). The busiest, "
            f"{markdown_escape(top['lsoa_name'])}, held {format_number(top['share_pct'], 1)}% "
            f"of them. **Concentration:** the top {format_number(TOP_SHARE * 100, 0)}% of "
            f"LSOAs ({format_count(k)} {lsoas}) held {format_number(share, 1)}% of the area's "
            "crime; an even spread would put about "
            f"{format_number(k / n * 100, 1)}% there.")

    def lsoa_changes_table(self) -> pd.DataFrame:
        """LSOAs whose crime changed significantly between the comparison windows."""
        p = self.ctx.params
        ch = significant_lsoa_changes(self._counts, p.current_window.n_months,
                                      p.previous_window.n_months,
                                      alpha=float(p.thresholds.significance))
        prev, cur = p.previous_window.label, p.current_window.label
        out = pd.DataFrame({
            "LSOA code": ch["lsoa_code"].astype(str), "LSOA name": ch["lsoa_name"].astype(str),
            prev: ch["previous"].astype(int), cur: ch["current"].astype(int),
            "difference": ch["difference"].astype(int),
            "adjusted p-value": [("< 0.0001" if v < 0.0001 else format_number(v, 4))
                                 for v in ch["p_adjusted"].astype(float)],
        })
        out.attrs["count_columns"] = [prev, cur]
        out.attrs["derived"] = {"difference": [prev, cur], "adjusted p-value": [prev, cur]}
        out.attrs["label_column"] = "LSOA code"
        return out

    def lsoa_changes_text(self) -> Markdown:
        """How the changes were tested, and how many LSOAs changed significantly."""
        p = self.ctx.params
        tested = int(((self._counts["previous"] + self._counts["current"]) > 0).sum())
        found = len(self.lsoa_changes_table())
        alpha = format_number(float(p.thresholds.significance), 2, trim_zeros=True)
        how = (f"Each LSOA's crimes in {p.current_window.label} were compared with "
               f"{p.previous_window.label} by an exact Poisson test on the window totals; with "
               f"{format_count(tested)} LSOAs tested, some would differ by chance, so a change "
               f"is reported only when it stays significant at {alpha} after a "
               f"{MULTIPLE_TESTING.capitalize()} correction for the number of LSOAs tested.")
        res = ("No LSOA's change is significant after that correction." if not found else
               f"{format_count(found)} LSOA{'s' if found != 1 else ''} changed significantly "
               "(largest change first):")
        return Markdown(how + " " + res)

    def _boundaries(self) -> list | None:
        if self.ctx.params.data.boundaries is None:
            return None
        return read_boundaries(self.ctx.params.path("boundaries"))

    def map_series(self) -> list[str]:
        """Total crime, then each major crime type (as chapter 2's SPC section)."""
        return [TOTAL_CRIME, *[t for t in self.crime.major_crime_types() if t != TOTAL_CRIME]]

    def hotspot_charts(self) -> list[tuple[str, Chart]]:
        """A hex-bin hotspot map for total crime and each major type, review window.

        In the public build cells with fewer records than the disclosure threshold
        are not drawn.
        """
        p = self.ctx.params
        w = p.review_window
        r = self.ctx.records
        r = r[(r["month"] >= w.start) & (r["month"] <= w.end)]
        r = r[r["longitude"].notna() & r["latitude"].notna()]
        least = int(p.thresholds.disclosure) if self.ctx.publish.is_public else 1
        bounds = self._boundaries()
        out = []
        for series in self.map_series():
            pts = (r[r["crime_type"].astype(str) != ASB] if series == TOTAL_CRIME
                   else r[r["crime_type"].astype(str) == series])
            if pts.empty:
                continue
            try:
                chart = hotspot_chart(pts, f"{series}, {p.area.name}, {w.label}",
                                      min_count=least, boundaries=bounds, caption=_SOURCE)
            except OptionError:
                continue
            out.append((f"hotspot_{_slug(series)}", chart))
        return out

    def hotspot_text(self) -> Markdown:
        """What the maps show and the public build's rule."""
        p = self.ctx.params
        text = (f"Hex-bin maps of where crimes were recorded in {p.review_window.label}: the "
                "darker a hexagon, the more records were mapped inside it. police.uk snaps each "
                "record to an anonymous point near where it happened, so the maps show areas, "
                "not addresses.")
        if p.data.boundaries is None:
            text += " No LSOA boundary file is given (`data.boundaries`), so none is drawn."
        if self.ctx.publish.is_public:
            text += (f" In this public version hexagons with fewer than "
                     f"{p.thresholds.disclosure} records are not drawn.")
        return Markdown(text)

    # -- area profile -------------------------------------------------------------------
    def _la_codes(self) -> list[str]:
        code = self.ctx.params.area.code
        lk = load_csp_lookup()
        return sorted(set(lk.loc[(lk["csp_code"] == code) | (lk["lad_code"] == code),
                                 "lad_code"]))

    def population_change(self) -> pd.DataFrame:
        """Residents in the review window's population year and 5 and 10 years before."""
        pop = read_population(self.ctx.params.path("population"))
        codes = self._la_codes()
        _, latest = area_population(codes, population_year(self.ctx.params.review_window), pop)
        rows = []
        for year in (latest - 10, latest - 5, latest):
            try:
                n, used = area_population(codes, year, pop)
            except OptionError:
                continue
            if used == year:
                rows.append({"mid-year": year, "residents": n})
        return pd.DataFrame(rows, columns=["mid-year", "residents"])

    def area_profile_text(self) -> Markdown:
        """A few sentences: residents and their change over 5 and 10 years."""
        t = self.population_change()
        area = markdown_escape(self.ctx.params.area.name)
        if t.empty:
            return Markdown(f"No population estimate for {area} is available.")
        last = t.iloc[-1]
        parts = [f"{area} had {format_count(last['residents'])} residents in mid-"
                 f"{int(last['mid-year'])} (ONS mid-year estimate)."]
        changes = []
        for year, n in zip(t["mid-year"].iloc[:-1][::-1], t["residents"].iloc[:-1][::-1],
                           strict=True):
            pct = (last["residents"] - n) / n * 100
            word = "up" if pct > 0 else "down" if pct < 0 else "unchanged"
            amount = "" if word == "unchanged" else f" {format_number(abs(pct), 1)}%"
            changes.append(f"{word}{amount} on mid-{int(year)} ({format_count(n)})")
        if changes:
            parts.append("That is " + " and ".join(changes) + ".")
        return Markdown(" ".join(parts))
