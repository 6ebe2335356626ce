"""Chapter 1: data quality and sources.

What was loaded (police.uk files and partner returns, with their digests), the
area and windows, and the data-quality warnings a reader must know before the
figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from IPython.display import Markdown

from sa_lib.data.police_uk import load_report
from sa_lib.report.chapters.common import SYNTHETIC_NOTE, TableSpec, missing_inputs_sentences
from sa_lib.report.chapters.partners import PartnerMeasures
from sa_lib.report.context import AssessmentContext
from sa_lib.report.publish import markdown_escape
from sa_lib.stats.change import format_count

__all__ = ["SourcesChapter"]

POLICE_UK_CAVEAT = (
    "police.uk street-level data are location-anonymised (each record is moved to a nearby "
    "snap point) and are not the force's recorded-crime total; some offences, such as most "
    "domestic abuse, are not identifiable in them. Anti-social behaviour records have no crime "
    "ID, so all counts are counts of records by type."
)


@dataclass
class SourcesChapter:
    """Chapter 1 (data quality and sources), built on the shared context."""

    ctx: AssessmentContext

    def sources_table(self) -> pd.DataFrame:
        """One row per police.uk file loaded: month, rows for the area, rows with no location."""
        rep = load_report(self.ctx.records)
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
        rep = load_report(self.ctx.records)
        months = sorted(rep["month"])
        w = self.ctx.params.review_window
        in_window = [m for m in months if w.start <= m <= w.end]
        area = markdown_escape(self.ctx.records.attrs.get("area", self.ctx.params.area.name))
        text = (
            f"This assessment uses {len(months)} months of police.uk street-level data "
            f"({months[0]:%b %Y} to {months[-1]:%b %Y}), {format_count(int(rep['rows_selected'].sum()))} "
            f"records in all. The area is {area}. The review window is {w.label} "
            f"({len(in_window)} of its {w.n_months} months have data).\n\n"
            f"*{POLICE_UK_CAVEAT}*"
        )
        return Markdown(text)

    def partner_sources_table(self) -> TableSpec | None:
        """One row per partner return loaded: kind, file, rows, period covered, synthetic or not.

        None when no partner return was given (:meth:`partner_sources_text` says so).
        """
        import hashlib

        if not self.ctx.has_partner_data:
            return None

        rows = []
        for kind, frame in self.ctx.partner_data.items():
            src = Path(frame.attrs["source"])
            first, last = _coverage(frame)
            rows.append({
                "return": kind.replace("_", " "),
                "file": src.name,
                "rows": len(frame),
                "first month": first,
                "last month": last,
                "synthetic": "SYNTHETIC" if frame.attrs.get("synthetic") else "real",
                "sha256 (first 12)": hashlib.sha256(src.read_bytes()).hexdigest()[:12],
            })
        syn = any(r["synthetic"] == "SYNTHETIC" for r in rows)
        return TableSpec(pd.DataFrame(rows), "sources_partner",
                         "Partner returns loaded" + (" (SYNTHETIC data)" if syn else ""),
                         SYNTHETIC_NOTE if syn else "Partner returns, validated against the "
                         "templates in data/templates.")

    def missing_inputs(self) -> list[str]:
        """One sentence per optional input this assessment lacks, and what the report does
        without it (empty when every input is there)."""
        return missing_inputs_sentences(self.ctx.absent, self.ctx.params.area.name)

    def partner_sources_text(self) -> Markdown:
        """What the partner data are, the warning when they are synthetic, and every optional
        input that was not given (one sentence each: what is missing and how to add it)."""
        missing = self.missing_inputs()
        listed = ("\n\n**Inputs not given:**\n\n"
                  + "\n".join(f"- {markdown_escape(m)}" for m in missing)) if missing else ""
        if not self.ctx.has_partner_data:
            return Markdown(listed.lstrip())
        data = self.ctx.partner_data
        syn = [k for k, f in data.items() if f.attrs.get("synthetic")]
        text = (f"{len(data)} partner returns were loaded from "
                f"`{markdown_escape(self.ctx.params.data.partner)}` and validated against their "
                "templates; personal identifiers were pseudonymised on loading and appear in no "
                "output.")
        if syn:
            text = (f"**{len(syn)} of the {len(data)} partner returns are SYNTHETIC.** They were "
                    "generated by `sa_lib.data.synthetic` to demonstrate the workbook: no figure from "
                    "them describes a real person, place or service. " + text)
        gaps = self.partner_gaps()
        if gaps:
            text += ("\n\n**Partner data that do not cover the review window "
                     f"({self.ctx.params.review_window.label}):**\n\n"
                     + "\n".join(f"- {markdown_escape(g)}" for g in gaps))
        return Markdown(text + listed)

    def partner_gaps(self) -> list[str]:
        """Which partner returns end before the review window ends (or do not fill it).

        One sentence per return, for every measure derived from the returns or named
        by a theme; empty when every measure has figures for the review window and
        the 12 months before.
        """
        if not self.ctx.has_partner_data:
            return []  # one sentence says no partner return was given (missing_inputs)
        named = [m for t in self.ctx.params.themes for m in t.partner_measures]
        names = list(dict.fromkeys([*self.ctx.partner_observations["measure"], *named]))
        return PartnerMeasures(self.ctx).gap_sentences(names)

    def quality_table(self) -> pd.DataFrame:
        """The data-quality flags as shown in the report.

        Rows with no location are counted per file in :meth:`sources_table`, so they
        are not repeated here.
        """
        q = self.ctx.quality[self.ctx.quality["check"] != "no_location"]
        return pd.DataFrame({
            "check": q["check"].str.replace("_", " "),
            "severity": q["severity"],
            "month": q["month"].astype(str).replace("NaT", ""),
            "detail": q["detail"],
        })

    def quality_text(self) -> Markdown:
        """Plain-English summary of the warnings an analyst or reader must know."""
        q = self.ctx.quality
        warnings = q[q["severity"] == "warning"]
        lines = []
        missing = warnings[warnings["check"] == "missing_month"]
        w = self.ctx.params.review_window
        lines.append(
            f"- **Missing months in the review window ({w.label}):** "
            + (", ".join(f"{m:%b %Y}" for m in missing["month"]) if len(missing)
               else "none; every month has data.")
        )
        bad = warnings[warnings["check"].isin(["implausible_total", "implausible_type"])]
        lines.append(
            "- **Implausible months:** " + (
                " ".join(markdown_escape(d) for d in
                          bad.loc[bad["check"] == "implausible_total", "detail"])
                if (bad["check"] == "implausible_total").any() else
                "none in the review window." if len(bad) == 0 else
                f"{len(bad)} crime-type month(s), listed below.")
        )
        return Markdown("\n".join(lines))


def _coverage(frame: pd.DataFrame) -> tuple[str, str]:
    """First and last month a partner return covers, from whichever date columns it has."""
    starts, ends = [], []
    for col in ("date", "month", "period_start", "cohort_start"):
        if col in frame and frame[col].notna().any():
            s = frame[col]
            s = s if isinstance(s.dtype, pd.PeriodDtype) else pd.to_datetime(s).dt.to_period("M")
            starts.append(s.min())
    for col in ("date", "month", "period_end", "cohort_end"):
        if col in frame and frame[col].notna().any():
            s = frame[col]
            s = s if isinstance(s.dtype, pd.PeriodDtype) else pd.to_datetime(s).dt.to_period("M")
            ends.append(s.max())
    if "year" in frame and frame["year"].notna().any():
        starts.append(pd.Period(f"{int(frame['year'].min())}-01", "M"))
        ends.append(pd.Period(f"{int(frame['year'].max())}-12", "M"))
    return (str(min(starts)) if starts else "", str(max(ends)) if ends else "")
