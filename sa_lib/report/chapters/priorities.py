"""Chapter 5: prioritisation.

Two rankings, as in the Safer Maidstone Partnership's plans: the MoRiLE matrix
(threat, risk and harm, scored by each partner; :mod:`sa_lib.stats.morile`) and the
priority matrix (volume, trend, perception, influence; :mod:`sa_lib.stats.priorities`).
Volume and trend come from the measure the parameters name for each theme
(``priorities.measures``) unless a hand score is given; perception and influence
are hand scores.  :func:`sa_lib.stats.priorities.recommend_priorities` combines them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
from IPython.display import Markdown

from sa_lib.data.measures import PARTNER_MEASURES
from sa_lib.data.morile_scales import MoRiLEScales, load_morile_scales
from sa_lib.data.morile_sheets import read_morile_sheets
from sa_lib.errors import OptionError
from sa_lib.report.chapters.common import SYNTHETIC_LABEL, SYNTHETIC_NOTE, TableSpec
from sa_lib.report.chapters.partners import PartnerMeasures
from sa_lib.report.charts import Chart, morile_heatmap, priority_matrix_chart
from sa_lib.report.context import AssessmentContext
from sa_lib.report.publish import markdown_escape
from sa_lib.stats.change import NOT_COMPARED, compare_windows
from sa_lib.stats.morile import (
    aggregate_morile,
    morile_matrix,
    rank_stability,
    score_morile,
)
from sa_lib.stats.observations import measure_window_values
from sa_lib.stats.priorities import priority_matrix, recommend_priorities, trend_score, volume_score
from sa_lib.stats.spc import spc_summary, xmr

__all__ = ["PriorityChapter"]


def _join(items: list[str]) -> str:
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


@dataclass
class PriorityChapter:
    """Chapter 5 (prioritisation), built on the shared context and partner measures."""

    ctx: AssessmentContext
    partners: PartnerMeasures

    # MoRiLE ------------------------------------------------------------------------------
    @cached_property
    def morile_scales(self) -> MoRiLEScales:
        """The MoRiLE scales named by ``data.morile_scales``."""
        return load_morile_scales(self.ctx.params.path("morile_scales"))

    def _morile_files(self) -> list[Path]:
        p = self.ctx.params.path("morile_sheets")
        files = sorted(p.glob("*morile*.csv")) if p.is_dir() else [p]
        if not files:
            raise OptionError(f"data.morile_sheets: no '*morile*.csv' scoring sheet in {p}")
        return files

    @cached_property
    def morile_scores(self) -> pd.DataFrame:
        """Every scorer's validated MoRiLE sheet rows."""
        return read_morile_sheets(self._morile_files(), self.morile_scales)

    @property
    def morile_synthetic(self) -> bool:
        """True when the scoring sheets are synthetic."""
        return all(f.name.lower().startswith("synthetic") for f in self._morile_files())

    @cached_property
    def morile_ranked(self) -> pd.DataFrame:
        """Themes ranked by median-of-scorers MoRiLE priority score."""
        return aggregate_morile(score_morile(self.morile_scores, self.morile_scales),
                                self.morile_scales)

    @cached_property
    def morile_stability(self) -> pd.DataFrame:
        """How far each theme's rank moves when any one score moves one step."""
        return rank_stability(self.morile_scores, self.morile_scales)

    def _label(self) -> str:
        scales = str(self.morile_ranked["scales_label"].iloc[0])
        return f"{SYNTHETIC_LABEL}; {scales}" if self.morile_synthetic else scales

    def morile_table(self) -> TableSpec:
        """The MoRiLE table: scores, rank, scorer spread and rank stability."""
        r = self.morile_ranked.merge(self.morile_stability[["theme", "best_rank", "worst_rank"]],
                                     on="theme", how="left")
        df = pd.DataFrame({
            "rank": r["rank"],
            "theme": r["theme"],
            "harm": r["harm"],
            "likelihood": r["likelihood"],
            "risk": r["risk"],
            "organisational position": r["organisational_position"],
            "priority score": r["priority_score"].round(1),
            "scorers": r["n_scorers"],
            "lowest scorer": r["min_priority_score"].round(1),
            "highest scorer": r["max_priority_score"].round(1),
            "wide disagreement on": r["wide_disagreement_fields"].fillna(""),
            "confidence": r["confidence"],
            "rank range (one-step changes)": [f"{int(b)}–{int(w)}" if b != w else f"{int(b)}"
                                              for b, w in zip(r["best_rank"], r["worst_rank"],
                                                              strict=True)],
        })
        note = ("Each field is the median of the scorers' points; priority score = harm × "
                "likelihood × organisational position. Rank range: the best and worst rank "
                "the theme takes when any one scorer's answer moves one step up or down.")
        if self.morile_synthetic:
            note = SYNTHETIC_NOTE + " " + note
        return TableSpec(df, "morile", f"MoRiLE thematic assessment ({self._label()})", note)

    def morile_text(self, top: int = 3) -> Markdown:
        """Which themes MoRiLE ranks highest, where scorers disagreed, how stable the ranks are."""
        r = self.morile_ranked
        s = self.morile_stability
        head = r.head(top)
        lines = [
            f"MoRiLE ranks {_join([markdown_escape(t) for t in head['theme']])} highest "
            f"(priority scores {_join([f'{x:.1f}' for x in head['priority_score']])}).",
        ]
        wide = r[r["wide_disagreement"]]
        if len(wide):
            lines.append(
                f"Scorers disagreed widely on {len(wide)} of {len(r)} themes: " + "; ".join(
                    f"{markdown_escape(t)} ({markdown_escape(f)})" for t, f in
                    zip(wide["theme"], wide["wide_disagreement_fields"], strict=True)) + ".")
        moved = s[s["best_rank"] != s["worst_rank"]]
        lines.append(
            f"{len(moved)} of {len(s)} themes change rank when a single answer moves one step, "
            "so close ranks should be read as ties, not as a strict order."
            if len(moved) else "No theme changes rank when a single answer moves one step.")
        if self.morile_synthetic:
            lines.insert(0, f"**{SYNTHETIC_NOTE}** The scales are illustrative, not NPCC values.")
        return Markdown("\n\n".join(lines))

    def morile_heatmap_chart(self) -> Chart:
        """Heat map of the MoRiLE fields by theme."""
        return morile_heatmap(morile_matrix(self.morile_ranked, self.morile_scales),
                              f"MoRiLE scores by theme ({self._label()})",
                              aggregated=self.morile_ranked, scales=self.morile_scales)

    # Priority matrix ---------------------------------------------------------------------
    def _check_themes(self) -> list[str]:
        themes = list(self.morile_ranked["theme"])
        pr = self.ctx.params.priorities
        problems = []
        for key in ("perception", "influence"):
            missing = [t for t in themes if t not in getattr(pr, key)]
            if missing:
                problems.append(f"priorities.{key} has no score for {missing}")
        no_vol = [t for t in themes if t not in pr.volume and t not in pr.measures]
        no_trend = [t for t in themes if t not in pr.trend and t not in pr.measures]
        if no_vol or no_trend:
            problems.append(f"priorities.measures (or volume/trend) misses {sorted(set(no_vol + no_trend))}")
        extra = sorted((set(pr.perception) | set(pr.influence) | set(pr.measures)) - set(themes))
        if extra:
            problems.append(f"priorities names themes that no MoRiLE sheet scores: {extra}")
        if problems:
            raise OptionError(f"{self.ctx.params.source}: the MoRiLE themes {themes} and the priorities "
                              "section must match: " + "; ".join(problems))
        return themes

    def _measure_change(self, theme: str, measure: str) -> dict[str, object]:
        """Volume (review window), direction, significance and SPC reading of a theme's measure."""
        w = self.ctx.params.review_window
        if measure in PARTNER_MEASURES:
            ch = self.partners.partner_change([measure]).iloc[0]
            vol = measure_window_values(self.ctx.partner_observations, w, [measure])["value"].iloc[0]
            spc = self.partners.partner_spc_summary([measure])
            variation = spc["variation_type"].iloc[-1] if len(spc) else None
            unit = PARTNER_MEASURES[measure].unit
            return {"volume_count": vol if unit == "count" else np.nan, "unit": unit,
                    "direction": ("increase" if ch["difference"] > 0 else "decrease"
                                  if ch["difference"] < 0 else "no change"),
                    "significance": ch["significance"], "variation_type": variation}
        c = self.ctx.counts_with_total
        c = c[c["crime_type"] == measure]
        t = compare_windows(c, self.ctx.params.current_window, self.ctx.params.previous_window,
                            by="crime_type", min_base=self.ctx.params.thresholds.small_base,
                            alpha=self.ctx.params.thresholds.significance,
                            withhold_incomplete=True).iloc[0]
        series = c[(c["month"] >= w.start) & (c["month"] <= w.end)]
        spc = spc_summary(xmr(series, value="count", date="month",
                              improvement=self.ctx.params.improvement.get(measure, "decrease")))
        return {"volume_count": float(series["count"].sum()), "unit": "count",
                "direction": t["direction"], "significance": t["significance"],
                "variation_type": spc["variation_type"].iloc[-1]}

    @cached_property
    def priority_scores(self) -> pd.DataFrame:
        """Volume, trend, perception and influence (1-5) per MoRiLE theme, with their basis."""
        themes = self._check_themes()
        pr = self.ctx.params.priorities
        measured = {t: self._measure_change(t, pr.measures[t]) for t in themes if t in pr.measures}
        needs_vol = [t for t in measured if t not in pr.volume]
        rates = [t for t in needs_vol if measured[t]["unit"] != "count"]
        if rates:
            raise OptionError(f"priorities.volume: {rates} use a rate "
                              f"({[pr.measures[t] for t in rates]}), which is not a volume; "
                              "give these themes a hand volume score")
        vol = volume_score({t: measured[t]["volume_count"] for t in needs_vol}).set_index("theme") \
            if needs_vol else pd.DataFrame(columns=["count", "volume"])
        needs_trend = [t for t in measured if t not in pr.trend]
        trend = pd.DataFrame(columns=["trend", "trend_basis"])
        if needs_trend:
            # A comparison withheld for missing months counts as no change (trend 3 unless SPC
            # says otherwise); the basis says so.
            change = pd.DataFrame({
                "category": needs_trend,
                "direction": [measured[t]["direction"] if measured[t]["direction"] != NOT_COMPARED
                              else "no change" for t in needs_trend],
                "significance": [("statistically significant"
                                  if measured[t]["significance"] == "statistically significant"
                                  else "within normal variation") for t in needs_trend],
            })
            spc = pd.DataFrame({"theme": needs_trend,
                                "variation_type": [measured[t]["variation_type"] or "common_cause"
                                                   for t in needs_trend]})
            worse = {t: self.ctx.params.improvement.get(pr.measures[t], "decrease") != "increase"
                     for t in needs_trend}
            trend = trend_score(change, spc, increase_is_worse=worse, spc_group="theme") \
                .set_index("theme")
        rows = []
        for t in themes:
            rows.append({
                "theme": t,
                "measure": pr.measures.get(t, ""),
                "volume": pr.volume[t] if t in pr.volume else int(vol.loc[t, "volume"]),
                "volume basis": "hand score" if t in pr.volume else
                self._volume_basis(float(vol.loc[t, "count"])),
                "trend": pr.trend[t] if t in pr.trend else int(trend.loc[t, "trend"]),
                "trend basis": "hand score" if t in pr.trend else str(trend.loc[t, "trend_basis"])
                + (" (comparison withheld: months with no data)"
                   if measured.get(t, {}).get("direction") == NOT_COMPARED else ""),
                "perception": pr.perception[t],
                "influence": pr.influence[t],
            })
        return pd.DataFrame(rows)

    def _volume_basis(self, count: float) -> str:
        """The count behind a volume score; in the public build never a count below the threshold."""
        window = self.ctx.params.review_window.label
        threshold = self.ctx.params.thresholds.disclosure
        if self.ctx.publish.is_public and 0 < count < threshold:
            return f"fewer than {threshold} in {window}"
        return f"{count:,.0f} in {window}"

    @cached_property
    def priority_ranked(self) -> pd.DataFrame:
        """The priority matrix, ranked (weights from ``priorities.weights``)."""
        return priority_matrix(self.priority_scores, weights=self.ctx.params.priorities.weights or None)

    def priority_matrix_table(self) -> TableSpec:
        """The priority matrix as published."""
        r = self.priority_ranked
        df = r[["rank", "theme", "volume", "trend", "perception", "influence", "weighted_score",
                "measure", "volume basis", "trend basis"]].rename(
            columns={"weighted_score": "weighted score"})
        partner = [m for m in r["measure"] if m in PARTNER_MEASURES]
        syn = bool(partner) and self.partners.is_synthetic(partner)
        note = ("Each factor is scored 1-5. Volume: quintile of the themes' counts in the review "
                "window; trend: from the change and the SPC chart of the theme's measure; "
                "perception and influence: scores agreed by the partnership (parameters file).")
        return TableSpec(df, "priority_matrix",
                         "Priority matrix" + (f" (partner measures: {SYNTHETIC_LABEL})" if syn
                                              else ""),
                         (SYNTHETIC_NOTE + " " if syn else "") + note)

    def priority_matrix_chart(self) -> Chart:
        """Stacked bars of the four factor scores per theme."""
        partner = [m for m in self.priority_ranked["measure"] if m in PARTNER_MEASURES]
        syn = bool(partner) and self.partners.is_synthetic(partner)
        return priority_matrix_chart(self.priority_ranked,
                                     "Priority matrix: score by factor"
                                     + (f" ({SYNTHETIC_LABEL})" if syn else ""),
                                     caption="Volume, trend, perception and influence, 1-5 each."
                                     + (" Partner measures are SYNTHETIC." if syn else ""),
                                     weights=self.ctx.params.priorities.weights or None)

    # Recommendation --------------------------------------------------------------------
    @cached_property
    def recommendations(self) -> pd.DataFrame:
        """Recommended priorities, cross-cutting themes and themes to monitor."""
        pr = self.ctx.params.priorities
        rec = recommend_priorities(self.morile_ranked[["theme", "rank"]],
                                   self.priority_ranked[["theme", "rank"]],
                                   n_priorities=pr.n_priorities, cross_cutting=pr.cross_cutting)
        last = set(self.ctx.params.last_year_priorities)
        rec["last year"] = np.where(rec["theme"].isin(last), "priority", "")
        return rec

    def recommendations_table(self) -> TableSpec:
        """The recommendation as published."""
        r = self.recommendations
        df = pd.DataFrame({
            "combined rank": r["combined_rank"],
            "theme": r["theme"],
            "MoRiLE rank": r["morile_rank"],
            "priority-matrix rank": r["matrix_rank"],
            "mean rank": r["mean_rank"],
            "recommendation": r["recommendation"],
            "last year": r["last year"],
        })
        syn = self.morile_synthetic
        return TableSpec(df, "recommended_priorities",
                         "Recommended priorities" + (f" (from {SYNTHETIC_LABEL})" if syn else ""),
                         (SYNTHETIC_NOTE + " " if syn else "") +
                         "Mean of the MoRiLE and priority-matrix ranks; MoRiLE breaks ties. "
                         "Cross-cutting themes are set in the parameters file.")

    def recommendations_text(self, synthetic_note: bool = True) -> Markdown:
        """The recommendation in words, with what changed since last year."""
        r = self.recommendations
        pri = list(r.loc[r["recommendation"] == "priority", "theme"])
        cross = list(r.loc[r["recommendation"] == "cross-cutting theme", "theme"])
        last = list(self.ctx.params.last_year_priorities)
        new = [t for t in pri if t not in last]
        dropped = [t for t in last if t not in pri]
        esc = markdown_escape
        lines = [f"The assessment recommends {len(pri)} priorities for the coming year: "
                 f"{_join([f'**{esc(t)}**' for t in pri])}."]
        if cross:
            lines.append(f"{_join([esc(t) for t in cross])} "
                         f"{'is a cross-cutting theme' if len(cross) == 1 else 'are cross-cutting themes'}"
                         ", to be addressed within every priority.")
        if last:
            kept = [t for t in pri if t in last]
            lines.append(
                f"Compared with last year's priorities, {len(kept)} continue"
                + (f" ({_join([esc(t) for t in kept])})" if kept else "")
                + (f"; new: {_join([esc(t) for t in new])}" if new else "; none is new")
                + (f"; no longer a priority: {_join([esc(t) for t in dropped])}" if dropped else "")
                + ".")
        if self.morile_synthetic and synthetic_note:
            lines.append(f"*{SYNTHETIC_NOTE} The MoRiLE scores behind this ranking are synthetic.*")
        return Markdown("\n\n".join(lines))

