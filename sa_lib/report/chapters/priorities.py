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
from types import SimpleNamespace

import numpy as np
import pandas as pd
from IPython.display import Markdown

from sa_lib.data.inputs import morile_sheet_files
from sa_lib.data.measures import PARTNER_MEASURES
from sa_lib.data.morile_scales import MoRiLEScales, load_morile_scales
from sa_lib.data.morile_sheets import read_morile_sheets
from sa_lib.errors import OptionError
from sa_lib.report.chapters.common import (
    SYNTHETIC_LABEL,
    SYNTHETIC_NOTE,
    TableSpec,
    history_spc,
    join_words,
    missing_input_sentence,
    month_runs,
    no_data_for,
)
from sa_lib.report.chapters.evidence import evidence_sentences
from sa_lib.report.chapters.partners import PartnerMeasures
from sa_lib.report.charts import Chart, morile_heatmap, priority_matrix_chart
from sa_lib.report.context import AssessmentContext
from sa_lib.report.publish import markdown_escape
from sa_lib.rounding import format_number, round_half_up
from sa_lib.stats.assurance import MIN_SPC_POINTS
from sa_lib.stats.change import NOT_COMPARED, compare_windows
from sa_lib.stats.morile import (
    aggregate_morile,
    morile_matrix,
    rank_stability,
    score_morile,
)
from sa_lib.stats.observations import measure_window_values
from sa_lib.stats.priorities import priority_matrix, recommend_priorities, trend_score, volume_score
from sa_lib.stats.spc import spc_summary

__all__ = ["PriorityChapter"]


_join = join_words


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
        return morile_sheet_files(self.ctx.params)

    @property
    def has_morile(self) -> bool:
        """True when MoRiLE scoring sheets were given (``data.morile_sheets``)."""
        return bool(self._morile_files())

    def no_morile_sentence(self) -> str:
        """The one sentence chapter 5 shows in place of MoRiLE when no sheet was given."""
        return missing_input_sentence("morile_sheets", "the themes are ranked by the priority "
                                      "matrix alone (volume, trend, perception and influence)")

    @cached_property
    def morile_scores(self) -> pd.DataFrame:
        """Every scorer's validated MoRiLE sheet rows."""
        return read_morile_sheets(self._morile_files(), self.morile_scales)

    @property
    def morile_synthetic(self) -> bool:
        """True when the scoring sheets are synthetic (False when there are none)."""
        return self.has_morile and all(f.name.lower().startswith("synthetic") for f in self._morile_files())

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

    def morile_table(self) -> TableSpec | None:
        """The MoRiLE table: scores, rank, scorer spread and rank stability (None with no
        MoRiLE sheets: :meth:`morile_text` says so)."""
        if not self.has_morile:
            return None
        r = self.morile_ranked.merge(self.morile_stability[["theme", "best_rank", "worst_rank"]],
                                     on="theme", how="left")
        df = pd.DataFrame({
            "rank": r["rank"],
            "theme": r["theme"],
            "harm": r["harm"],
            "likelihood": r["likelihood"],
            "risk": r["risk"],
            "organisational position": r["organisational_position"],
            "priority score": round_half_up(r["priority_score"], 1),
            "score of the median answers": round_half_up(r["answer_median_priority_score"], 1),
            "scorers": r["n_scorers"],
            "lowest scorer": round_half_up(r["min_priority_score"], 1),
            "highest scorer": round_half_up(r["max_priority_score"], 1),
            "wide disagreement on": r["wide_disagreement_fields"].fillna(""),
            "confidence": r["confidence"],
            "rank range (one-step changes)": [f"{int(b)}–{int(w)}" if b != w else f"{int(b)}"
                                              for b, w in zip(r["best_rank"], r["worst_rank"],
                                                              strict=True)],
        })
        note = ("Priority score: the median of the scorers' own priority scores (each = harm × "
                "likelihood × organisational position), so it always lies between the lowest "
                "and highest scorer; themes are ranked by it. Harm, likelihood, risk and "
                "organisational position show the median answer to each question, the profile "
                "of a typical scorer; their product (score of the median answers) is shown for "
                "comparison but not used, because multiplying medians taken question by "
                "question can score a theme above every scorer when scorers rate different "
                "questions high. Rank range: the best and worst rank the theme takes when any "
                "one scorer's answer moves one step up or down.")
        if self.morile_synthetic:
            note = SYNTHETIC_NOTE + " " + note
        return TableSpec(df, "morile", f"MoRiLE thematic assessment ({self._label()})", note)

    def morile_text(self, top: int = 3) -> Markdown:
        """Which themes MoRiLE ranks highest, where scorers disagreed, how stable the ranks are."""
        if not self.has_morile:
            return Markdown(f"*{markdown_escape(self.no_morile_sentence())}*")
        r = self.morile_ranked
        s = self.morile_stability
        head = r.head(top)
        lines = [
            f"MoRiLE ranks {_join([markdown_escape(t) for t in head['theme']])} highest "
            f"(priority scores, the median of the scorers' own: {_join([format_number(x) for x in head['priority_score']])}).",
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

    def morile_heatmap_chart(self) -> Chart | None:
        """Heat map of the MoRiLE fields by theme (None with no MoRiLE sheets)."""
        if not self.has_morile:
            return None
        return morile_heatmap(morile_matrix(self.morile_ranked, self.morile_scales),
                              f"MoRiLE scores by theme ({self._label()})",
                              aggregated=self.morile_ranked, scales=self.morile_scales)

    # Priority matrix ---------------------------------------------------------------------
    def _check_themes(self) -> list[str]:
        themes = list(self.morile_ranked["theme"])
        pr = self.ctx.params.priorities
        if not (pr.perception or pr.influence or pr.measures or pr.volume or pr.trend):
            return themes  # no priorities section: every factor is missing, and said to be
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

    @cached_property
    def scoring(self) -> dict[str, dict[str, object]]:
        """The themes the priority matrix scores, and what scores them.

        With MoRiLE sheets: the MoRiLE themes, which the ``priorities`` section must
        score (as before).  Without: the themes the ``priorities`` section names, or,
        when it names none, the parameters file's themes, each measured by its
        police.uk total (``<theme>: all types``, or its one crime type), else its
        first partner measure.  Returns ``themes`` (list), ``measures``,
        ``volume``, ``trend``, ``perception`` and ``influence`` (theme -> value;
        a theme missing from perception or influence scores the neutral 3).
        """
        pr = self.ctx.params.priorities
        given = list(dict.fromkeys([*pr.perception, *pr.influence, *pr.measures, *pr.volume,
                                    *pr.trend]))
        measures = dict(pr.measures)
        if self.has_morile:
            themes = self._check_themes()
        elif given:
            themes = given
        else:
            themes = [t.name for t in self.ctx.params.themes]
            for t in self.ctx.params.themes:
                if t.crime_types:
                    measures[t.name] = (t.crime_types[0] if len(t.crime_types) == 1
                                        else f"{t.name}: all types")
                elif t.partner_measures:
                    measures[t.name] = t.partner_measures[0]
        return {"themes": themes, "measures": measures, "volume": dict(pr.volume),
                "trend": dict(pr.trend), "perception": dict(pr.perception),
                "influence": dict(pr.influence)}

    def _police_series(self, measure: str) -> pd.DataFrame:
        """Monthly counts of a police.uk measure: a crime type, the total, or a theme's total."""
        c = self.ctx.counts_with_total
        if measure in set(c["crime_type"]) or not measure.endswith(": all types"):
            return c[c["crime_type"] == measure]
        theme = next((t for t in self.ctx.params.themes
                      if f"{t.name}: all types" == measure), None)
        types = theme.crime_types if theme is not None else []
        parts = self.ctx.counts[self.ctx.counts["crime_type"].isin(types)]
        total = parts.groupby(["month", "area"], as_index=False)["count"].sum()
        return total.assign(crime_type=measure)[["month", "area", "crime_type", "count"]]

    def _short_basis(self, measured: dict[str, object]) -> str:
        """What a police.uk trend score built from a short comparison must say (else "")."""
        if measured.get("source") != "police.uk" or not self.ctx.short_comparison:
            return ""
        cw, pw = self.ctx.params.current_window, self.ctx.params.previous_window
        return (f" (from {cw.n_months} months only, {cw.label} against {pw.label}, not the "
                f"whole review window; see chapter 2)")

    def _measure_change(self, theme: str, measure: str) -> dict[str, object]:
        """Volume (review window), direction, significance and SPC reading of a theme's measure.

        ``volume_missing`` / ``trend_missing`` hold the basis to print when the factor
        cannot be measured for the window (None when it can); see :attr:`priority_scores`.
        """
        w = self.ctx.params.review_window
        hand_volume = "give a hand score in priorities.volume"
        hand_trend = "give a hand score in priorities.trend"
        if measure in PARTNER_MEASURES:
            ch = self.partners.partner_change([measure]).iloc[0]
            vol = measure_window_values(self.ctx.partner_observations, w, [measure])["value"].iloc[0]
            spc = self.partners.partner_spc_summary([measure])
            variation = spc["variation_type"].iloc[-1] if len(spc) else None
            unit = PARTNER_MEASURES[measure].unit
            volume_missing = trend_missing = None
            if pd.isna(ch["current"]):
                volume_missing = f"{no_data_for(w)}: scored 3; {hand_volume}"
                trend_missing = f"{no_data_for(w)}: scored 3; {hand_trend}"
            elif pd.isna(ch["previous"]) and variation in (None, "common_cause"):
                # No comparison and no SPC signal: nothing measures the trend.
                trend_missing = (f"{no_data_for(self.partners.partner_previous_window)}, so no "
                                 f"change is measured: scored 3; {hand_trend}")
            if unit != "count":
                volume_missing = f"{measure} is a rate, not a volume: scored 3; {hand_volume}"
            return {"volume_count": vol if unit == "count" else np.nan, "unit": unit,
                    "direction": ("increase" if ch["difference"] > 0 else "decrease"
                                  if ch["difference"] < 0 else "no change"),
                    "significance": ch["significance"], "variation_type": variation,
                    "volume_missing": volume_missing, "trend_missing": trend_missing}
        c = self._police_series(measure)
        t = compare_windows(c, self.ctx.params.current_window, self.ctx.params.previous_window,
                            by="crime_type", min_base=self.ctx.params.thresholds.small_base,
                            alpha=self.ctx.params.thresholds.significance,
                            withhold_incomplete=True).iloc[0]
        series = c[(c["month"] >= w.start) & (c["month"] <= w.end)]
        have = set(self.ctx.counts["month"])
        gap = [m for m in w.months if m not in have]
        variation = None
        # The SPC reading is the chapter's own chart's (same history, baseline and rebase),
        # so the matrix and the chart agree; it needs the points SPC needs.
        spc = history_spc(c, self.ctx.params,
                          improvement=self.ctx.params.improvement.get(measure, "decrease"),
                          rebase=self.ctx.params.rebase.get(measure))
        if int(spc["count"].notna().sum()) >= MIN_SPC_POINTS:
            variation = spc_summary(spc)["variation_type"].iloc[-1]
        volume_missing = trend_missing = None
        if gap:
            volume_missing = (f"police.uk has no data for {month_runs(gap)} ({len(gap)} of "
                              f"the {w.n_months} months of {w.label}): scored 3; {hand_volume}")
        if t["direction"] == NOT_COMPARED and variation in (None, "common_cause"):
            cw, pw = self.ctx.params.current_window, self.ctx.params.previous_window
            trend_missing = (f"police.uk has no data for some months of {pw.label} or "
                             f"{cw.label}, so no change is measured: scored 3; {hand_trend}")
        return {"volume_count": float(series["count"].sum()), "unit": "count", "source": "police.uk",
                "direction": t["direction"], "significance": t["significance"],
                "variation_type": variation,
                "volume_missing": volume_missing, "trend_missing": trend_missing}

    @cached_property
    def priority_scores(self) -> pd.DataFrame:
        """Volume, trend, perception and influence (1-5) per MoRiLE theme, with their basis.

        Each score is one of three kinds, and its basis column says which:

        * **hand-set**: given in ``priorities.volume`` / ``priorities.trend`` (basis
          "hand score"); always used when given;
        * **measured** from the theme's measure (``priorities.measures``) over the
          review window: volume is the quintile of the measured themes' counts
          (:func:`~sa_lib.stats.priorities.volume_score`), trend comes from the change
          against the 12 months before and the SPC chart
          (:func:`~sa_lib.stats.priorities.trend_score`);
        * **missing**: the measure cannot give the factor for this window, so it
          scores the neutral 3 and the basis says why and where to give a hand score.

        A factor is missing, rather than guessed from part of the data, when: the
        measure is a rate (a rate is not a volume); the return has no value for the
        whole review window (it ends early, or its annual or quarterly periods do not
        fill a window that is not a calendar year); police.uk lacks months of the
        review window (a part-window count is not comparable with the other themes'
        whole-window counts); or there is no comparison with the year before and no
        SPC signal (with at least ``MIN_SPC_POINTS`` months) to read a trend from.
        3 is the midpoint of the 1-5 scale, so a missing factor neither lifts nor
        sinks a theme against the others; it is still not evidence, which is why the
        table note and the recommendation text name every missing score.  Volume
        quintiles are taken among the themes whose volume was measured only, so a
        theme with no count does not shift the others' scores.
        """
        sc = self.scoring
        themes = sc["themes"]
        pr = SimpleNamespace(**{k: sc[k] for k in ("measures", "volume", "trend",
                                                   "perception", "influence")})
        measured = {t: self._measure_change(t, pr.measures[t]) for t in themes if t in pr.measures}
        needs_vol = [t for t in measured if t not in pr.volume]
        vol_ok = [t for t in needs_vol if measured[t]["volume_missing"] is None]
        vol = volume_score({t: measured[t]["volume_count"] for t in vol_ok}).set_index("theme") \
            if vol_ok else pd.DataFrame(columns=["count", "volume"])
        needs_trend = [t for t in measured if t not in pr.trend
                       and measured[t]["trend_missing"] is None]
        trend = pd.DataFrame(columns=["trend", "trend_basis"])
        if needs_trend:
            # A police.uk comparison withheld for missing months counts as no change when the
            # SPC chart gives a signal (the signal decides the score); the basis says so.
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
            m = measured.get(t, {})
            if t in pr.volume:
                volume, volume_basis, volume_kind = pr.volume[t], "hand score", "hand-set"
            elif not m:
                volume, volume_kind = 3, "missing"
                volume_basis = "no measure: scored 3; give a hand score in priorities.volume"
            elif m["volume_missing"] is not None:
                volume, volume_basis, volume_kind = 3, str(m["volume_missing"]), "missing"
            else:
                volume, volume_kind = int(vol.loc[t, "volume"]), "measured"
                volume_basis = self._volume_basis(float(vol.loc[t, "count"]))
            if t in pr.trend:
                trend_, trend_basis, trend_kind = pr.trend[t], "hand score", "hand-set"
            elif not m:
                trend_, trend_kind = 3, "missing"
                trend_basis = "no measure: scored 3; give a hand score in priorities.trend"
            elif m["trend_missing"] is not None:
                trend_, trend_basis, trend_kind = 3, str(m["trend_missing"]), "missing"
            else:
                trend_, trend_kind = int(trend.loc[t, "trend"]), "measured"
                trend_basis = str(trend.loc[t, "trend_basis"]) + (
                    " (comparison withheld: months with no data)"
                    if m.get("direction") == NOT_COMPARED else self._short_basis(m))
            rows.append({
                "theme": t,
                "measure": pr.measures.get(t, ""),
                "volume": volume,
                "volume basis": volume_basis,
                "trend": trend_,
                "trend basis": trend_basis,
                "perception": pr.perception.get(t, 3),
                "influence": pr.influence.get(t, 3),
                "_volume_kind": volume_kind,
                "_trend_kind": trend_kind,
            })
        out = pd.DataFrame(rows)
        # Which scores are hand-set, measured or missing, for the note and the text.
        out.attrs["score_kinds"] = {(r["theme"], f): r[f"_{f}_kind"] for r in rows
                                    for f in ("volume", "trend")}
        # Perception and influence are always hand scores; only their absence is noted.
        out.attrs["unscored"] = {f: [t for t in themes if t not in getattr(pr, f)]
                                 for f in ("perception", "influence")}
        return out.drop(columns=["_volume_kind", "_trend_kind"])

    def missing_scores(self) -> dict[str, list[str]]:
        """Theme -> the factors (volume, trend) scored 3 because they could not be measured."""
        out: dict[str, list[str]] = {}
        for (theme, factor), kind in self.priority_scores.attrs["score_kinds"].items():
            if kind == "missing":
                out.setdefault(theme, []).append(factor)
        return out

    def missing_scores_sentence(self) -> str:
        """Which volume and trend scores are hand-set, measured and missing ('' if none missing)."""
        missing = self.missing_scores()
        unscored = self.priority_scores.attrs.get("unscored", {})
        themes = list(self.priority_scores["theme"])
        if unscored and all(len(ts) == len(themes) for ts in unscored.values()):
            no_hand = (" No perception or influence scores are given (priorities.perception, "
                       "priorities.influence), so every theme scores the neutral 3 for both and "
                       "the ranking rests on volume and trend; agree them with the partnership "
                       "and add them to the parameters file.")
        else:
            hand = join_words([f"priorities.{f} ({join_words(ts)})"
                               for f, ts in unscored.items() if ts])
            no_hand = (f" Some themes have no perception or influence score, so they score the "
                       f"neutral 3: {hand}; agree them with the partnership and add them to the "
                       "parameters file." if hand else "")
        if not missing:
            return no_hand.strip()
        kinds = self.priority_scores.attrs["score_kinds"]

        def named(kind: str) -> str:
            factors: dict[str, list[str]] = {}
            for (theme, factor), k in kinds.items():
                if k == kind:
                    factors.setdefault(theme, []).append(factor)
            return join_words([f"{t} ({' and '.join(f)})" for t, f in factors.items()]) or "none"

        return (f"Volume and trend scores that could not be measured for "
                f"{self.ctx.params.review_window.label} were set to the neutral 3: "
                f"{named('missing')}; give hand scores in priorities.volume or priorities.trend "
                f"of the parameters file. Set by hand: {named('hand-set')}. "
                f"Measured: {named('measured')}." + no_hand)

    def _volume_basis(self, count: float) -> str:
        """The count behind a volume score; in the public build never a count below the threshold."""
        window = self.ctx.params.review_window.label
        threshold = self.ctx.params.thresholds.disclosure
        if self.ctx.publish.is_public and 0 < count < threshold:
            return f"fewer than {threshold} in {window}"
        return f"{format_number(count, 0)} in {window}"

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
                "window; trend: from the change (its significance by the test the change tables "
                "name: quasi-Poisson on the monthly counts, or the exact Poisson or "
                "two-proportion test where they say so) and the SPC chart of the theme's measure; "
                "perception and influence: scores agreed by the partnership (parameters file).")
        gaps = self.missing_scores_sentence()
        if gaps:
            note += " " + gaps
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
        matrix = self.priority_ranked[["theme", "rank"]]
        # No MoRiLE: the priority matrix alone ranks (its rank is the mean and the tie-break).
        morile = self.morile_ranked[["theme", "rank"]] if self.has_morile else matrix
        rec = recommend_priorities(morile, matrix, n_priorities=pr.n_priorities,
                                   cross_cutting=pr.cross_cutting)
        if not self.has_morile:
            rec["morile_rank"] = pd.NA
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
        if not self.has_morile:
            df = df.drop(columns=["MoRiLE rank", "mean rank"]).rename(
                columns={"combined rank": "rank"})
            return TableSpec(df, "recommended_priorities", "Recommended priorities",
                             "Ranked by the priority matrix alone: no MoRiLE scoring sheets were "
                             "given. Cross-cutting themes are set in the parameters file.")
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
        lines += evidence_sentences(self.ctx.params, pri, self.priority_scores.attrs["score_kinds"],
                                    self.priority_scores.attrs.get("unscored", {}),
                                    self.morile_ranked["theme"] if self.has_morile else ())
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
        if not self.has_morile:
            lines.append("*Ranked by the priority matrix alone: no MoRiLE scoring sheets were "
                         "given (data.morile_sheets).*")
        gaps = self.missing_scores_sentence()
        if gaps:
            lines.append(f"*{esc(gaps)}*")
        if self.morile_synthetic and synthetic_note:
            lines.append(f"*{SYNTHETIC_NOTE} The MoRiLE scores behind this ranking are synthetic.*")
        return Markdown("\n\n".join(lines))
