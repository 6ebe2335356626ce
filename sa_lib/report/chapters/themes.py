"""Chapter 3: one themed section per ``themes`` entry of the parameters file.

Each theme has police.uk crime types (change table, SPC of the theme's monthly
total, sentences) and partner measures (window values against the 12 months
before, SPC of the monthly ones, charts of the annual and quarterly ones).
Partner figures from a ``synthetic_*`` file are labelled SYNTHETIC in every
title, note and sentence they appear in.

``notebooks/03_themes.ipynb`` calls :meth:`ThemeChapter.theme_chapters`, which
shows every theme of the parameters file in order, so a theme added there gets
its own section with no notebook edit; in JupyterLab ``ctx.themes.theme_chapter(name)``
shows one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from IPython.display import Markdown

from sa_lib.data.measures import PARTNER_MEASURES
from sa_lib.data.parameters import ThemeParameters
from sa_lib.errors import OptionError
from sa_lib.report.chapters.common import (
    ASB,
    SYNTHETIC_LABEL,
    SYNTHETIC_NOTE,
    TableSpec,
    change_sums,
    change_table_layout,
    history_spc,
    join_words,
    missing_input_sentence,
    redact_small_counts,
    showing_counts,
    significance_note,
    spc_reading,
    with_significance,
)
from sa_lib.report.chapters.evidence import evidence_anchor
from sa_lib.report.chapters.partners import PartnerMeasures
from sa_lib.report.charts import Chart, bar_chart, spc_chart
from sa_lib.report.context import AssessmentContext
from sa_lib.report.publish import file_slug as _slug
from sa_lib.report.publish import markdown_escape
from sa_lib.report.spc_text import charted_months, spc_sentences
from sa_lib.rounding import round_half_up
from sa_lib.stats.assurance import MIN_SPC_POINTS
from sa_lib.stats.change import compare_windows
from sa_lib.stats.observations import measure_window_values
from sa_lib.stats.repeat import repeat_definition, repeat_victim_rate
from sa_lib.stats.spc import spc_summary

__all__ = ["ThemeChapter"]


def _whole(values: pd.Series) -> pd.Series:
    """Counts as nullable integers (so 2566.0 prints as 2566); missing stays missing."""
    v = pd.Series(values).astype(float)
    return v.round().astype("Int64") if np.allclose(v.dropna(), v.dropna().round()) else v


@dataclass
class ThemeChapter:
    """Chapter 3 (one section per theme), built on the shared context and partner measures."""

    ctx: AssessmentContext
    partners: PartnerMeasures

    def theme(self, name: str) -> ThemeParameters:
        """The parameters of one theme, by name."""
        for t in self.ctx.params.themes:
            if t.name == name:
                return t
        raise OptionError(f"theme {name!r} is not in the parameters file; themes are "
                          f"{[t.name for t in self.ctx.params.themes]}")

    def _theme_number(self, name: str) -> int:
        return [t.name for t in self.ctx.params.themes].index(self.theme(name).name) + 1

    def theme_chapter(self, name: str) -> None:
        """Show one theme's section: heading, police.uk text and table, partner text and
        tables, charts (tables and charts are published into the build)."""
        from IPython.display import display

        publish = self.ctx.publish
        display(self.theme_heading(name))
        if self.theme(name).crime_types:
            display(Markdown("### Police-recorded crime (police.uk)"))
            display(self.theme_crime_text(name))
            publish.tables(self.theme_crime_tables(name))
        if self.theme(name).partner_measures:
            display(Markdown("### Partner data"))
            display(self.theme_partner_text(name))
            publish.tables(self.theme_partner_tables(name))
        charts = self.theme_charts(name)
        if charts:
            display(Markdown("### Charts"))
            publish.charts(charts)

    def theme_chapters(self) -> None:
        """Show every theme's section, in the parameters file's order."""
        for t in self.ctx.params.themes:
            self.theme_chapter(t.name)

    def theme_heading(self, name: str) -> Markdown:
        """``## 3.N <theme>`` and what the section covers."""
        t = self.theme(name)
        n = self._theme_number(name)
        parts = []
        if t.crime_types:
            parts.append("police.uk crime types: " + ", ".join(t.crime_types))
        if t.partner_measures:
            syn = " (SYNTHETIC)" if self.partners.is_synthetic(t.partner_measures) else ""
            parts.append("partner measures" + syn + ": " + ", ".join(t.partner_measures))
        desc = f"{t.description}\n\n" if t.description else ""
        return Markdown(f'<a id="{evidence_anchor(t.name)}"></a>\n\n'  # a priority links here
                        f"## 3.{n} {markdown_escape(t.name)}\n\n{markdown_escape(desc)}"
                        f"*This section covers {markdown_escape('; '.join(parts))}.*")

    def _theme_counts(self, name: str) -> pd.DataFrame:
        t = self.theme(name)
        c = self.ctx.counts[self.ctx.counts["crime_type"].isin(t.crime_types)]
        if len(t.crime_types) > 1:
            total = c.groupby(["month", "area"], as_index=False)["count"].sum()
            c = pd.concat([total.assign(crime_type=f"{t.name}: all types"), c], ignore_index=True)
        return c

    def theme_crime_change(self, name: str) -> pd.DataFrame:
        """Change for the theme's crime types (and their total), comparison windows."""
        t = self.theme(name)
        if not t.crime_types:
            return pd.DataFrame()
        c = self._theme_counts(name)
        unit = "incidents" if t.crime_types == [ASB] else "offences"
        out = compare_windows(c, self.ctx.params.current_window, self.ctx.params.previous_window,
                              by="crime_type", min_base=self.ctx.params.thresholds.small_base,
                              alpha=self.ctx.params.thresholds.significance, sort_by="input",
                              unit=unit, withhold_incomplete=True)
        # The theme's total first, then its crime types in the parameters' order.
        order = {k: i for i, k in enumerate([f"{t.name}: all types", *t.crime_types])}
        out = out.sort_values("category", key=lambda s: s.map(order), kind="stable") \
            .reset_index(drop=True)
        return redact_small_counts(out, self.ctx.publish.is_public,
                                   self.ctx.params.thresholds.disclosure,
                                   sums=change_sums(out["category"]))

    def theme_crime_tables(self, name: str) -> list[TableSpec]:
        """The theme's police.uk change table (none if the theme has no crime types)."""
        t = change_table_layout(self.theme_crime_change(name), self.ctx.params) \
            if self.theme(name).crime_types else None
        if t is None:
            return []
        note = significance_note(t["test"], self.ctx.params.thresholds.significance)
        return [TableSpec(t, f"theme_{_slug(name)}_crime_change",
                          f"{name}: police.uk records by type, comparison windows",
                          f"police.uk street-level records. {note}".strip(), sensitive=True)]

    def theme_crime_text(self, name: str, n_movers: int = 2) -> Markdown:
        """Sentences on the theme's police.uk change and its SPC chart."""
        t = self.theme(name)
        if not t.crime_types:
            return Markdown("*No police.uk crime type is part of this theme.*")
        ch = self.theme_crime_change(name)
        first = ch.iloc[0]
        lines = [markdown_escape(with_significance(first))]
        if len(ch) > 1:
            movers = ch.iloc[1:].assign(a=lambda d: d["difference"].abs()) \
                .dropna(subset=["a"]).nlargest(n_movers, "a")
            lines += [f"- {markdown_escape(s)}" for s in movers["sentence"]]
        if len(self.theme_spc_summary(name)):
            label = "all types" if len(t.crime_types) > 1 else t.crime_types[0]
            what = f"{t.name} ({label})" if label != t.name else t.name
            lines.append(markdown_escape(spc_sentences(
                self._theme_spc(name), f"the monthly total of {what}"
                if len(t.crime_types) > 1 else what, self.ctx.params.review_window)))
        return Markdown("\n\n".join(lines))

    def _theme_spc(self, name: str) -> pd.DataFrame:
        t = self.theme(name)
        c = self._theme_counts(name)
        label = c["crime_type"].iloc[0] if len(c) else t.name
        series = c[c["crime_type"] == label]
        improvement = self.ctx.params.improvement.get(label, "decrease")
        return history_spc(series, self.ctx.params, improvement=improvement,
                           rebase=self.ctx.params.rebase.get(label))

    def theme_spc_summary(self, name: str) -> pd.DataFrame:
        """SPC summary of the theme's monthly police.uk total over the history: one row with
        the months charted, the baseline, the mean and limits, ``variation_type`` (of the
        latest point), and what the latest month and the review window show."""
        if not self.theme(name).crime_types:
            return pd.DataFrame()
        spc = self._theme_spc(name)
        s = spc_summary(spc).tail(1).reset_index(drop=True)
        reading = spc_reading(spc, self.ctx.params.review_window)
        for k in ("months charted", "baseline", "latest month", "review window"):
            s[k] = reading[k]
        return s

    def theme_charts(self, name: str) -> list[tuple[str, Chart]]:
        """SPC chart of the theme's monthly police.uk total, then its partner charts."""
        t = self.theme(name)
        out = []
        if t.crime_types:
            label = "all types" if len(t.crime_types) > 1 else t.crime_types[0]
            # "Anti-social behaviour (Anti-social behaviour)" says nothing twice
            what = t.name if label == t.name else f"{t.name} ({label})"
            spc = self._theme_spc(name)
            out.append((f"theme_{_slug(name)}_spc", showing_counts(spc_chart(
                spc, f"{what}, {self.ctx.params.area.name}, {charted_months(spc)}",
                "Records per month", caption="Source: data.police.uk (OGL v3.0)"), spc["count"])))
        return out + self.theme_partner_charts(name)

    def theme_partner_change(self, name: str) -> pd.DataFrame:
        """Each partner measure of the theme: the 12 months before vs the review window."""
        t = self.theme(name)
        if not t.partner_measures:
            return pd.DataFrame()
        return self.partners.partner_change(t.partner_measures)

    def theme_partner_tables(self, name: str) -> list[TableSpec]:
        """The theme's partner-measure table, plus the repeat-victim table where it applies."""
        t = self.theme(name)
        if not t.partner_measures or not self.ctx.has_partner_data:
            return []
        ch = self.theme_partner_change(name)
        syn = bool(ch["synthetic"].any())
        pl, wl = self.partners.partner_previous_window.label, self.partners.partner_window.label
        note = ("Annual and quarterly returns count only when they lie wholly in the window."
                if any(PARTNER_MEASURES[m].frequency != "monthly" for m in t.partner_measures)
                else "")
        specs = []
        counts = ch[ch["unit"] == "count"]
        if len(counts):
            df = pd.DataFrame({
                "measure": counts["measure"],
                pl: _whole(counts["previous"]),
                wl: _whole(counts["current"]),
                "difference": _whole(counts["difference"]),
                "% change": round_half_up(counts["pct_change"], 1),
                "significance": counts["significance"],
                "test": counts["test"],
            })
            df.attrs["count_columns"] = [pl, wl]
            df.attrs["derived"] = {c: [pl, wl] for c in ("difference", "% change", "significance",
                                                          "test")}
            specs.append(TableSpec(
                df, f"theme_{_slug(name)}_partner",
                f"{name}: partner measures" + (f" ({SYNTHETIC_LABEL})" if syn else ""),
                (SYNTHETIC_NOTE + " " if syn else "") +
                (significance_note(counts["test"], self.ctx.params.thresholds.significance)
                 + f" {note}").strip(),
                sensitive=True))
        rates = ch[ch["unit"] == "percent"]
        if len(rates):
            obs = self.ctx.partner_observations
            cur = measure_window_values(obs, self.partners.partner_window, list(rates["measure"]))
            prev = measure_window_values(obs, self.partners.partner_previous_window, list(rates["measure"]))
            n = len(rates)
            # A window the return does not fill has no cases or base (a part-window
            # count would pass for the whole window's).
            prev_n, cur_n = (prev["numerator"].where(prev["complete"]),
                             cur["numerator"].where(cur["complete"]))
            prev_d, cur_d = (prev["denominator"].where(prev["complete"]),
                             cur["denominator"].where(cur["complete"]))
            df = pd.DataFrame({
                "measure": np.repeat(rates["measure"].to_numpy(), 2),
                "window": [pl, wl] * n,
                "cases": _whole(pd.Series(np.column_stack([prev_n, cur_n]).ravel())),
                "base": _whole(pd.Series(np.column_stack([prev_d, cur_d]).ravel())),
                "%": round_half_up(pd.Series(np.column_stack([prev["value"], cur["value"]]).ravel()), 1),
                "significance of the change": np.repeat(rates["significance"].to_numpy(), 2),
            })
            df.attrs["count_columns"] = ["cases", "base"]
            df.attrs["derived"] = {"%": ["cases", "base"],
                                   "significance of the change": ["cases", "base"]}
            specs.append(TableSpec(
                df, f"theme_{_slug(name)}_partner_rates",
                f"{name}: partner rates" + (f" ({SYNTHETIC_LABEL})" if syn else ""),
                (SYNTHETIC_NOTE + " " if syn else "") +
                "Cases / base: " + "; ".join(f"{m}: {PARTNER_MEASURES[m].description}"
                                              for m in rates["measure"]) +
                f". Significance: two-proportion z-test. {note}".rstrip(),
                sensitive=True))
        if "Domestic abuse repeat rate" in t.partner_measures and "domestic_abuse" in self.ctx.partner_data \
                and self.partners.measure_coverage(["Domestic abuse repeat rate"])["current_complete"].all():
            # Not when the return ends early: the table would count part of the window as all of it.
            specs.append(self.repeat_victim_table())
        return specs

    def repeat_victim_table(self) -> TableSpec:
        """Repeat victimisation of domestic abuse in the review window, by risk level."""
        da = self.ctx.partner_data["domestic_abuse"]
        w = self.partners.partner_window
        start, end = w.start.to_timestamp(), w.end.to_timestamp(how="end").normalize()
        by_risk = repeat_victim_rate(da, lookback_days=365, by="risk_level", start=start, end=end,
                                     order_by="incident_id")
        total = repeat_victim_rate(da, lookback_days=365, start=start, end=end,
                                   order_by="incident_id").assign(risk_level="all")
        t = pd.concat([by_risk, total], ignore_index=True)
        df = pd.DataFrame({
            "risk level": t["risk_level"].astype(str),
            "incidents": t["incidents"],
            "repeat incidents": t["repeat_incidents"],
            "victims": t["victims"],
            "repeat victims": t["repeat_victims"],
            "repeat rate (% of incidents)": round_half_up(100 * t["rate"], 1),
        })
        df.attrs["count_columns"] = ["incidents", "repeat incidents", "victims", "repeat victims"]
        df.attrs["derived"] = {"repeat rate (% of incidents)": ["incidents", "repeat incidents"]}
        syn = bool(da.attrs.get("synthetic"))
        defn = repeat_definition(365, "incidents", start=start, end=end)
        return TableSpec(df, "domestic_abuse_repeat_victims",
                         "Domestic abuse repeat victimisation by risk level"
                         + (f" ({SYNTHETIC_LABEL})" if syn else ""),
                         (SYNTHETIC_NOTE + " " if syn else "") + defn,
                         sensitive=True, confidential=True)

    def theme_partner_text(self, name: str) -> Markdown:
        """One sentence per partner measure of the theme, and its SPC reading."""
        t = self.theme(name)
        if not t.partner_measures:
            return Markdown("*No partner measure is part of this theme.*")
        if not self.ctx.has_partner_data:
            return Markdown(f"*{markdown_escape(self.no_partner_data_sentence(name))}*")
        ch = self.theme_partner_change(name)
        lines = [f"- {markdown_escape(s)}" for s in ch["sentence"]]
        spc = self.partners.partner_spc_summary(t.partner_measures)
        for m in spc["measure"]:
            lines.append(f"- {markdown_escape(self.partners.partner_spc_text(m))}")
        for m, n in self.partners.spc_too_short(t.partner_measures).items():
            lines.append(f"- {markdown_escape(m)}: {n} month{'s' if n != 1 else ''} with figures "
                         f"in {self.partners.partner_spc_window.label}, fewer than the "
                         f"{MIN_SPC_POINTS} an SPC chart needs, so it is not charted.")
        gaps = self.partners.gap_sentences(t.partner_measures)
        if gaps:
            lines.insert(0, "\n\n".join(f"*{markdown_escape(g)}*" for g in gaps) + "\n")
        if bool(ch["synthetic"].any()):
            lines.insert(0, f"**{SYNTHETIC_NOTE}**\n")
        return Markdown("\n".join(lines))

    def no_partner_data_sentence(self, name: str) -> str:
        """The one sentence a theme with partner measures shows when no return was given."""
        t = self.theme(name)
        so = ("this theme shows police.uk data only" if t.crime_types else
              f"this theme has no figures ({join_words(t.partner_measures)} "
              f"{'is a partner measure' if len(t.partner_measures) == 1 else 'are partner measures'})")
        return missing_input_sentence("partner", so)

    def theme_partner_charts(self, name: str) -> list[tuple[str, Chart]]:
        """SPC charts of the theme's monthly partner measures; bars for annual/quarterly ones."""
        t = self.theme(name)
        if not self.ctx.has_partner_data:
            return []
        out = []
        for m in t.partner_measures:
            spec = PARTNER_MEASURES[m]
            syn = self.partners.is_synthetic([m])
            label = f" ({SYNTHETIC_LABEL})" if syn else ""
            source = "Source: " + ("SYNTHETIC partner data (sa_lib.data.synthetic), not real"
                                   if syn else "partner return")
            unit = "%" if spec.unit == "percent" else "Count"
            if spec.frequency == "monthly":
                spc = self.partners.partner_spc([m])
                if len(spc):
                    w = self.partners.partner_spc_window
                    out.append((f"partner_{_slug(m)}_spc", self.partners.showing_counts(spc_chart(
                        spc, f"{m}{label}, {charted_months(spc)}", f"{unit} per month",
                        caption=source), m, w)))
            else:
                obs = self.ctx.partner_observations
                rows = obs[obs["measure"] == m]
                if len(rows):
                    cats = [_period_label(s, e) for s, e in zip(rows["start"], rows["end"],
                                                                 strict=True)]
                    data = pd.DataFrame({"period": cats, "value": rows["value"].to_numpy()})
                    out.append((f"partner_{_slug(m)}", self.partners.showing_counts(bar_chart(
                        data, "period", "value", f"{m}{label}", value_label=unit,
                        caption=source), m)))
        return out


def _period_label(start: pd.Period, end: pd.Period) -> str:
    if start == end:
        return f"{start:%b %Y}"
    if start.month == 1 and end.month == 12 and start.year == end.year:
        return str(start.year)
    return f"{start:%b %Y} – {end:%b %Y}"
