"""Chapter 6: key findings, generated from the same results the chapters show.

Every sentence here is built by the method that builds the chapter's own
sentence or table, so the summary can never disagree with the chapter.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import pandas as pd
from IPython.display import Markdown

from sa_lib.data.parameters import TOTAL_CRIME
from sa_lib.report.chapters.common import (
    SYNTHETIC_NOTE,
    join_words,
    missing_inputs_sentences,
    with_significance,
)
from sa_lib.report.chapters.crime import CrimeChapter
from sa_lib.report.chapters.priorities import PriorityChapter
from sa_lib.report.chapters.review import ReviewChapter
from sa_lib.report.chapters.themes import ThemeChapter
from sa_lib.report.context import AssessmentContext
from sa_lib.report.publish import markdown_escape
from sa_lib.report.spc_text import NO_SIGNALS, spc_findings
from sa_lib.rounding import format_number

__all__ = ["SummaryChapter", "caveat_box"]

_SIGNALS = {"special_cause_concern": "a signal of concern",
            "special_cause_improvement": "a signal of improvement",
            "special_cause_neutral_high": "an unusually high month",
            "special_cause_neutral_low": "an unusually low month"}


def caveat_box(caveats: list[str]) -> str:
    """The one caveat box of the executive summary, as HTML (plain-text caveats, escaped here).

    Examples
    --------
    >>> print(caveat_box(["Partner figures are synthetic."]))
    <aside class="sa-caveat" aria-label="Caveats"><p><strong>Read with care</strong></p><ul><li>Partner figures are synthetic.</li></ul></aside>
    >>> caveat_box([])
    ''
    """
    if not caveats:
        return ""
    items = "".join(f"<li>{html.escape(c, quote=False)}</li>" for c in caveats)
    return (f'<aside class="sa-caveat" aria-label="Caveats"><p><strong>Read with care</strong>'
            f"</p><ul>{items}</ul></aside>")


def _theme_line(name: str, sentence: str) -> str:
    """A theme's summary bullet without its name twice ("X: X: all types ...").

    Examples
    --------
    >>> _theme_line("Violence", "Violence: all types fell.")
    '**Violence:** all types fell.'
    >>> _theme_line("Drugs", "Drugs fell.")
    'Drugs fell.'
    >>> _theme_line("Substance misuse", "Drugs rose.")
    '**Substance misuse:** Drugs rose.'
    """
    esc = markdown_escape
    if sentence.startswith(f"{name}: "):
        return f"**{esc(name)}:** {esc(sentence[len(name) + 2:])}"
    if sentence.startswith(name):
        return esc(sentence)
    return f"**{esc(name)}:** {esc(sentence)}"


@dataclass
class SummaryChapter:
    """Chapter 6 (key findings), built from the other chapters' own results."""

    ctx: AssessmentContext
    crime: CrimeChapter
    themes: ThemeChapter
    review: ReviewChapter
    priorities: PriorityChapter

    def key_messages(self) -> list[str]:
        """The three to five messages a board must take away, as Markdown sentences.

        Built from the chapters' own results: the headline change and its significance,
        the SPC signals in the review window, the comparison with other partnerships (when
        the Home Office table was given) and the recommended priorities.
        """
        esc = markdown_escape
        p = self.ctx.params
        ch = self.crime.crime_change()
        total = ch[ch["category"] == TOTAL_CRIME].iloc[0]
        out = [esc(with_significance(total))]
        spc = self.crime.type_spc_table()
        noisy = spc[spc["review window"] != NO_SIGNALS] if len(spc) else spc
        if len(spc) and noisy.empty:
            out.append(f"No major crime type shows a special-cause signal on its SPC chart in "
                       f"{p.review_window.label}: the monthly pattern is normal variation.")
        elif len(spc):
            names = [str(n) for n in noisy["crime type"]]
            out.append(f"SPC charts show special-cause variation in {p.review_window.label} for "
                       f"{len(names)} of {len(spc)} major crime types: {esc(join_words(names))}.")
        comparison = self._comparison_message()
        if comparison:
            out.append(comparison)
        r = self.priorities.recommendations
        pri = list(r.loc[r["recommendation"] == "priority", "theme"])
        if pri:
            out.append(f"The assessment recommends {len(pri)} priorities for the coming year: "
                       f"{join_words([f'**{esc(t)}**' for t in pri])}.")
        return out

    def _comparison_message(self) -> str | None:
        """This area's rate and funnel position among all partnerships, in one sentence."""
        from sa_lib.stats.funnel import funnel_words

        r = self.crime.csp_comparison
        if r.empty:
            return None
        mine = r[r["this_area"]]
        if mine.empty or pd.isna(mine.iloc[0]["rate_per_1000"]):
            return None
        me = mine.iloc[0]
        a = r.attrs
        overall = float(a["overall_rate"])
        rate = float(me["rate_per_1000"])
        side = "above" if rate > overall else "below" if rate < overall else "at"
        return (f"With {format_number(rate, 1)} crimes per 1,000 residents, "
                f"{markdown_escape(str(me['csp_name']))} is {side} the rate of England and Wales "
                f"({format_number(overall, 1)}) and {funnel_words(me, a['funnel']['adjusted'])} "
                f"of the funnel plot of {int(me['n_ranked'])} partnerships.")

    def caveats(self) -> list[str]:
        """The caveats a board must read with the messages, as plain text (one box)."""
        p = self.ctx.params
        out = list(missing_inputs_sentences(self.ctx.absent, p.area.name))
        if self.ctx.short_comparison:
            out.append(self.ctx.short_comparison)
        if any(f.attrs.get("synthetic") for f in self.ctx.partner_data.values()):
            out.append(f"{SYNTHETIC_NOTE} This includes the MoRiLE scores and the action plan.")
        out.append("police.uk street-level data are location-anonymised and are not the "
                   "force's recorded-crime total.")
        return out

    def key_findings(self) -> Markdown:
        """The executive summary: key messages and one caveat box, then the detail."""
        esc = markdown_escape
        p = self.ctx.params
        ch = self.crime.crime_change()
        total = ch[ch["category"] == TOTAL_CRIME].iloc[0]
        messages = self.key_messages()
        out = ["## Key messages",
               "\n".join(f"{i}. {m}" for i, m in enumerate(messages, 1)),
               caveat_box(self.caveats()),
               f"**{esc(p.title)}, {esc(p.area.name)}** (review window {p.review_window.label}; "
               f"year-on-year comparison {p.current_window.label} against "
               f"{p.previous_window.label})."]
        out.append("## Crime and anti-social behaviour")
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

        out.append("## Themes")
        theme_lines = []
        for t in p.themes:
            if t.crime_types:
                first = self.themes.theme_crime_change(t.name).iloc[0]
                theme_lines.append(_theme_line(t.name, str(first["sentence"])))
            elif t.partner_measures and not self.ctx.has_partner_data:
                theme_lines.append(f"**{esc(t.name)}:** no figures (no partner returns were "
                                   "given).")
            elif t.partner_measures:
                first = self.themes.theme_partner_change(t.name).iloc[0]
                theme_lines.append(_theme_line(t.name, str(first["sentence"])))
        out.append("\n".join(f"- {b}" for b in theme_lines))

        out.append("## Last year's priorities")
        out.append(self.review.review_summary_text())

        out.append("## Recommended priorities")
        out.append(self.priorities.recommendations_text(synthetic_note=False).data)
        return Markdown("\n\n".join(o for o in out if o))
