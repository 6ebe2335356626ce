"""Chapter 6: key findings, generated from the same results the chapters show.

Every sentence here is built by the method that builds the chapter's own
sentence or table, so the summary can never disagree with the chapter.
"""

from __future__ import annotations

from IPython.display import Markdown

from sa_lib.data.parameters import TOTAL_CRIME, Parameters
from sa_lib.report.chapters.crime import with_significance
from sa_lib.report.chapters.themes import SYNTHETIC_NOTE
from sa_lib.report.publish import markdown_escape

__all__: list[str] = []

_SIGNALS = {"special_cause_concern": "a signal of concern",
            "special_cause_improvement": "a signal of improvement",
            "special_cause_neutral_high": "an unusually high month",
            "special_cause_neutral_low": "an unusually low month"}


class _SummaryChapter:
    """Chapter 6 method."""

    params: Parameters

    def key_findings(self) -> Markdown:
        """The executive summary: headline change, comparison, signals, themes, review, priorities."""
        esc = markdown_escape
        p = self.params
        ch = self.crime_change()  # type: ignore[attr-defined]
        total = ch[ch["category"] == TOTAL_CRIME].iloc[0]
        out = [f"**{p.title}, {esc(p.area.name)}** (review window {p.review_window.label}; "
               f"year-on-year comparison {p.current_window.label} against "
               f"{p.previous_window.label}).", "### Crime and anti-social behaviour"]
        bullets = [esc(with_significance(total))]
        sig = ch[(ch["category"] != TOTAL_CRIME) & (ch["significance"] == "statistically significant")]
        if "small_count" in sig:  # public build: no small count is quoted
            sig = sig[~sig["small_count"]]
        ups = sig[sig["difference"] > 0].sort_values("difference", ascending=False)
        downs = sig[sig["difference"] < 0].sort_values("difference")
        if len(ups):
            bullets.append("Statistically significant increases: " + "; ".join(
                f"{esc(r.category)} ({r.previous:,.0f} → {r.current:,.0f})" for r in ups.itertuples())
                + ".")
        if len(downs):
            bullets.append("Statistically significant decreases: " + "; ".join(
                f"{esc(r.category)} ({r.previous:,.0f} → {r.current:,.0f})" for r in downs.itertuples())
                + ".")
        spc = self.type_spc_table()  # type: ignore[attr-defined]
        plain = spc["latest month"].str.startswith("shows only common-cause")
        if plain.all():
            bullets.append(f"On the SPC charts for {p.review_window.label}, none of the "
                           f"{len(spc)} major crime types shows special-cause variation in its "
                           "latest month.")
        else:
            bullets.append("On the SPC charts, " + "; ".join(
                f"{esc(r['crime type'])} {r['latest month']}" for _, r in spc[~plain].iterrows())
                + ".")
        bullets.append(self.csp_comparison_text().data)  # type: ignore[attr-defined]
        out.append("\n".join(f"- {b}" for b in bullets))

        out.append("### Themes")
        theme_lines = []
        for t in p.themes:
            if t.crime_types:
                first = self.theme_crime_change(t.name).iloc[0]  # type: ignore[attr-defined]
                theme_lines.append(f"**{esc(t.name)}:** {esc(first['sentence'])}")
            elif t.partner_measures:
                first = self.theme_partner_change(t.name).iloc[0]  # type: ignore[attr-defined]
                theme_lines.append(f"**{esc(t.name)}:** {esc(first['sentence'])}")
        out.append("\n".join(f"- {b}" for b in theme_lines))

        out.append("### Last year's priorities")
        out.append(self.review_summary_text())  # type: ignore[attr-defined]

        out.append("### Recommended priorities")
        out.append(self.recommendations_text(synthetic_note=False).data)  # type: ignore[attr-defined]
        caveats = ["*police.uk street-level data are location-anonymised and are not the force's "
                   "recorded-crime total.*"]
        if any(f.attrs.get("synthetic") for f in self.partner_data.values()):  # type: ignore[attr-defined]
            caveats.append(f"*{SYNTHETIC_NOTE} This includes the MoRiLE scores and the action plan.*")
        out.append("\n\n".join(caveats))
        return Markdown("\n\n".join(out))

