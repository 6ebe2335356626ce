"""Chapter 6: key findings, generated from the same results the chapters show.

Every sentence here is built by the method that builds the chapter's own
sentence or table, so the summary can never disagree with the chapter.
"""

from __future__ import annotations

from dataclasses import dataclass

from IPython.display import Markdown

from sa_lib.data.parameters import TOTAL_CRIME
from sa_lib.report.chapters.common import (
    SYNTHETIC_NOTE,
    missing_inputs_sentences,
    with_significance,
)
from sa_lib.report.chapters.crime import CrimeChapter
from sa_lib.report.chapters.priorities import PriorityChapter
from sa_lib.report.chapters.review import ReviewChapter
from sa_lib.report.chapters.themes import ThemeChapter
from sa_lib.report.context import AssessmentContext
from sa_lib.report.publish import markdown_escape
from sa_lib.report.spc_text import spc_findings
from sa_lib.rounding import format_number

__all__ = ["SummaryChapter"]

_SIGNALS = {"special_cause_concern": "a signal of concern",
            "special_cause_improvement": "a signal of improvement",
            "special_cause_neutral_high": "an unusually high month",
            "special_cause_neutral_low": "an unusually low month"}


@dataclass
class SummaryChapter:
    """Chapter 6 (key findings), built from the other chapters' own results."""

    ctx: AssessmentContext
    crime: CrimeChapter
    themes: ThemeChapter
    review: ReviewChapter
    priorities: PriorityChapter

    def key_findings(self) -> Markdown:
        """The executive summary: headline change, comparison, signals, themes, review, priorities."""
        esc = markdown_escape
        p = self.ctx.params
        ch = self.crime.crime_change()
        total = ch[ch["category"] == TOTAL_CRIME].iloc[0]
        out = [f"**{esc(p.title)}, {esc(p.area.name)}** (review window {p.review_window.label}; "
               f"year-on-year comparison {p.current_window.label} against "
               f"{p.previous_window.label})."]
        if self.ctx.short_comparison:
            out.append(f"*{esc(self.ctx.short_comparison)}*")
        out.append("### Crime and anti-social behaviour")
        bullets = [esc(with_significance(total))]
        sig = ch[(ch["category"] != TOTAL_CRIME) & (ch["significance"] == "statistically significant")]
        if "small_count" in sig:  # public build: no small count is quoted
            sig = sig[~sig["small_count"]]
        ups = sig[sig["difference"] > 0].sort_values("difference", ascending=False)
        downs = sig[sig["difference"] < 0].sort_values("difference")
        if len(ups):
            bullets.append("Statistically significant increases: " + "; ".join(
                f"{esc(r.category)} ({format_number(r.previous, 0)} → {format_number(r.current, 0)})"
                for r in ups.itertuples())
                + ".")
        if len(downs):
            bullets.append("Statistically significant decreases: " + "; ".join(
                f"{esc(r.category)} ({format_number(r.previous, 0)} → {format_number(r.current, 0)})"
                for r in downs.itertuples())
                + ".")
        spc = self.crime.type_spc_table()
        bullets += [esc(b) for b in spc_findings(spc, p.review_window.label)]
        bullets.append(self.crime.csp_comparison_text().data)
        out.append("\n".join(f"- {b}" for b in bullets))

        out.append("### Themes")
        theme_lines = []
        for t in p.themes:
            if t.crime_types:
                first = self.themes.theme_crime_change(t.name).iloc[0]
                theme_lines.append(f"**{esc(t.name)}:** {esc(first['sentence'])}")
            elif t.partner_measures and not self.ctx.has_partner_data:
                theme_lines.append(f"**{esc(t.name)}:** no figures (no partner returns were "
                                   "given).")
            elif t.partner_measures:
                first = self.themes.theme_partner_change(t.name).iloc[0]
                theme_lines.append(f"**{esc(t.name)}:** {esc(first['sentence'])}")
        out.append("\n".join(f"- {b}" for b in theme_lines))

        out.append("### Last year's priorities")
        out.append(self.review.review_summary_text())

        out.append("### Recommended priorities")
        out.append(self.priorities.recommendations_text(synthetic_note=False).data)
        gaps = missing_inputs_sentences(self.ctx.absent, p.area.name)
        if gaps:
            out.append("### Data gaps")
            out.append("\n".join(f"- {esc(g)}" for g in gaps))
        caveats = ["*police.uk street-level data are location-anonymised and are not the force's "
                   "recorded-crime total.*"]
        if any(f.attrs.get("synthetic") for f in self.ctx.partner_data.values()):
            caveats.append(f"*{SYNTHETIC_NOTE} This includes the MoRiLE scores and the action plan.*")
        out.append("\n\n".join(caveats))
        return Markdown("\n\n".join(out))

