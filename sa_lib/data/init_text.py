"""The text of the parameters file ``sa init`` writes (:mod:`sa_lib.data.init_parameters`).

Sections are commented like ``parameters/2025.yaml``.  Only what the data support is
written as keys; a section whose input does not exist (partner returns, MoRiLE sheets,
an action plan) is written as a commented example that shows how to add it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from sa_lib.data.area_search import Partnership
from sa_lib.data.measures import BUILTIN_MEASURES
from sa_lib.rounding import round_half_up

__all__ = ["THEME_GROUPS", "PoliceSurvey", "PartnerSurvey", "InitChoices", "parameters_text"]

@dataclass(frozen=True)
class PoliceSurvey:
    """What the street files hold for one partnership.

    ``months``: every month held (any area); ``area_months``: months with a row in the
    partnership; ``forces``: ``Falls within`` of the partnership's rows, most common
    first; ``crime_types``: crime types in the partnership's rows, with their counts.
    """

    months: tuple[str, ...]
    area_months: tuple[str, ...]
    forces: tuple[str, ...]
    crime_types: dict[str, int]
    rows: int
    files: int


@dataclass(frozen=True)
class PartnerSurvey:
    """What a partner folder holds: returns by kind, MoRiLE sheets, and their spans."""

    folder: Path
    returns: dict[str, Path] = field(default_factory=dict)
    morile_sheets: tuple[Path, ...] = ()
    #: kind -> (first month, last month) the return covers, ``YYYY-MM``
    spans: dict[str, tuple[str, str]] = field(default_factory=dict)
    morile_themes: tuple[str, ...] = ()
    #: the action plan's rows as dicts (priority, indicator, period, target ...)
    action_plan: tuple[dict, ...] = ()

    @property
    def synthetic(self) -> bool:
        """True when every return's file name says it is synthetic."""
        files = [*self.returns.values(), *self.morile_sheets]
        return bool(files) and all(f.name.lower().startswith("synthetic") for f in files)


@dataclass(frozen=True)
class InitChoices:
    """Everything the text of the file is written from."""

    partnership: Partnership
    force: str
    end: str
    months: int
    held: tuple[str, ...]
    comparison: tuple[str, str] | None | bool
    police_uk: tuple[str, ...]
    police: PoliceSurvey
    partner: PartnerSurvey | None
    partner_shown: str | None
    command: str
    run_date: dt.date


#: The themed chapters, grouped like parameters/2025.yaml: (name, police.uk crime types,
#: partner measures).  A theme is written with the crime types present in the partnership's
#: rows and the measures whose return exists; a theme left with neither is left out.
THEME_GROUPS: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("Violence and domestic abuse",
     ("Violence and sexual offences", "Public order", "Possession of weapons"),
     ("Domestic abuse incidents", "Domestic abuse repeat rate",
      "High-risk domestic abuse incidents", "One-stop-shop visits")),
    ("Anti-social behaviour", ("Anti-social behaviour",), ("Council ASB incidents",)),
    ("Substance misuse", ("Drugs",),
     ("Needle finds", "Needle exchanges", "Substance misuse admissions")),
    ("Acquisitive crime", ("Burglary", "Robbery", "Vehicle crime", "Shoplifting",
                           "Theft from the person", "Bicycle theft", "Other theft"), ()),
    ("Criminal damage and arson", ("Criminal damage and arson",), ()),
    ("Mental health and vulnerability", (), ("Section 136 detentions",)),
    ("Road safety", (), ("KSI casualties",)),
    ("Reoffending", (), ("Proven reoffending rate",)),
)
#: Which direction is better where it is not "decrease" (as parameters/2025.yaml).
_IMPROVEMENT = {"Domestic abuse incidents": ("neutral", "more reporting can mean more victims "
                                             "coming forward"),
                "High-risk domestic abuse incidents": ("neutral", ""),
                "One-stop-shop visits": ("increase", "more people using the service is good"),
                "Needle exchanges": ("neutral", "")}
#: A MoRiLE theme's volume and trend measure, by a word in its name: candidates in order
#: (the first whose data exist is used).
_PRIORITY_HINTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("domestic", ("Domestic abuse incidents", "Violence and sexual offences")),
    ("substance", ("Drugs", "Substance misuse admissions")),
    ("drug", ("Drugs",)),
    ("mental", ("Section 136 detentions",)),
    ("anti-social", ("Anti-social behaviour", "Council ASB incidents")),
    ("asb", ("Anti-social behaviour", "Council ASB incidents")),
    ("road", ("KSI casualties",)),
    ("ksi", ("KSI casualties",)),
    ("reoffend", ("Proven reoffending rate",)),
    ("violen", ("Violence and sexual offences",)),
    ("weapon", ("Possession of weapons",)),
    ("knife", ("Possession of weapons",)),
    ("burglar", ("Burglary",)),
    ("shoplift", ("Shoplifting",)),
    ("vehicle", ("Vehicle crime",)),
    ("robber", ("Robbery",)),
    ("arson", ("Criminal damage and arson",)),
    ("damage", ("Criminal damage and arson",)),
    ("public order", ("Public order",)),
)
#: Action-plan indicators named otherwise than their measure.
_INDICATOR_HINTS = (("repeat victim", "domestic abuse", "Domestic abuse repeat rate"),)
_PLAIN = re.compile(r"^[A-Za-z][A-Za-z0-9 ()'./_-]*[A-Za-z0-9)]$")
_RESERVED = {"yes", "no", "true", "false", "on", "off", "null", "y", "n"}


def q(text: str) -> str:
    """A YAML scalar: plain when safe, else double-quoted (JSON strings are YAML).

    Examples
    --------
    >>> q("Road safety (KSI)"), q("No"), q("Repeat victims (% of incidents)")
    ('Road safety (KSI)', '"No"', '"Repeat victims (% of incidents)"')
    """
    if _PLAIN.match(text) and text.lower() not in _RESERVED and ": " not in text:
        return text
    return json.dumps(text, ensure_ascii=False)


def _flow(items: list[str], indent: int) -> str:
    """``[a, b, ...]`` wrapped under ``indent`` spaces at 100 characters."""
    lines, line = [], "["
    for i, item in enumerate(items):
        piece = q(item) + ("," if i < len(items) - 1 else "]")
        if len(line) + len(piece) + indent > 96 and line != "[":
            lines.append(line.rstrip())
            line = " " * (indent + 1 - indent)
        line += piece + " "
    lines.append(line.rstrip())
    pad = "\n" + " " * indent
    return pad.join(lines) if items else "[]"


def _label(month: str) -> str:
    return dt.date(int(month[:4]), int(month[5:7]), 1).strftime("%b %Y")


def _shift(month: str, n: int) -> str:
    total = int(month[:4]) * 12 + int(month[5:7]) - 1 + n
    return f"{total // 12:04d}-{total % 12 + 1:02d}"


def _ranges(months: tuple[str, ...]) -> str:
    runs: list[list[str]] = []
    for m in months:
        if runs and _shift(runs[-1][-1], 1) == m:
            runs[-1].append(m)
        else:
            runs.append([m])
    return ", ".join(r[0] if len(r) == 1 else f"{r[0]}..{r[-1]}" for r in runs)


def _kinds(measures: list[str]) -> str:
    kinds = sorted({BUILTIN_MEASURES[m].kind for m in measures})
    return f"the {kinds[0]} return" if len(kinds) == 1 else \
        f"the {', '.join(kinds[:-1])} and {kinds[-1]} returns"


def _commented(text: str, col: int) -> list[str]:
    """Lines of ``text`` commented out at column ``col`` (flow continuations stay aligned)."""
    return [line[:col] + "# " + line[col:] for line in text.splitlines()]


def _measure_exists(measure: str, c: InitChoices) -> bool:
    if measure in BUILTIN_MEASURES:
        return c.partner is not None and BUILTIN_MEASURES[measure].kind in c.partner.returns
    return measure in c.police.crime_types


def _covers_window(measure: str, c: InitChoices) -> bool:
    """A count measure's return starts by the review window (the matrix needs its total)."""
    spec = BUILTIN_MEASURES.get(measure)
    if spec is None or spec.unit != "count" or c.partner is None:
        return True
    span = c.partner.spans.get(spec.kind)
    return span is not None and span[0] <= _shift(c.end, -(c.months - 1))


# --------------------------------------------------------------------------- sections


def _header(c: InitChoices) -> list[str]:
    p = c.partnership
    return [
        f"# Parameters for the {p.name} Community Safety Partnership strategic assessment, "
        f"data year {c.end[:4]}.",
        f"# Made on {c.run_date:%Y-%m-%d} by:",
        f"#   {c.command}",
        f"# from {c.police.files} police.uk street file(s), {c.police.rows:,} rows in {p.name}; "
        "months held:",
        f"#   {_ranges(c.held)}",
        "# Validated by sa_lib.data.parameters before any notebook runs: unknown keys, wrong "
        "types and",
        "# missing files are errors naming the key. Paths are relative to the project root and "
        "must stay",
        "# inside data/ or parameters/ (or $SA_EXTRA_DATA_DIRS). Start next year's file with "
        "`sa new-year`.",
        f"year: {c.end[:4]}",
        f'title: "Strategic Assessment {c.end[:4]}"',
        f"run_date: {c.run_date:%Y-%m-%d}          # printed on the report; fixed so reruns are "
        "identical",
        "",
        "area:",
        f"  name: {q(p.name)}",
        f"  code: {p.code}             # CSP code ({p.name}: {', '.join(p.lad_codes)})",
        f"  police_force: {q(c.force)}",
        "",
    ]


def _window_lines(c: InitChoices) -> list[str]:
    out = ["# The review window: the last months of data.",
           "window:", f'  end: "{c.end}"', f"  months: {c.months}", ""]
    start = _shift(c.end, -(c.months - 1))
    before = f"{_label(_shift(start, -12))} to {_label(_shift(c.end, -12))}"
    if c.comparison is True:
        out += ["# Year-on-year comparison: the data hold the 12 months before the review "
                "window",
                f"# ({before}), so the whole window is compared with them: no `comparison` "
                "block.", ""]
    elif c.comparison is None:
        out += ["# Year-on-year comparison: the police.uk data hold no month of the review "
                "window together",
                f"# with the same month a year before ({before} is missing), so there is no",
                "# `comparison` block and the report says which months are not compared. Add the",
                "# earlier street files to compare the whole window.", ""]
    else:
        cur0, cur1 = c.comparison
        out += ["# Year-on-year comparison. The police.uk data do not hold all of the 12 months",
                f"# before the review window ({before}), so the comparison the data support is",
                f"# {_label(cur0)} to {_label(cur1)} against the same months a year before. Drop "
                "this section",
                "# once the earlier street files are added.",
                "comparison:",
                f'  current_start: "{cur0}"', f'  current_end: "{cur1}"',
                f'  previous_start: "{_shift(cur0, -12)}"',
                f'  previous_end: "{_shift(cur1, -12)}"', ""]
    return out


def _data_lines(c: InitChoices) -> list[str]:
    out = ["data:", "  police_uk:"] + [f"    - {q(p)}" for p in c.police_uk]
    if c.partner is None:
        out += ["  # Partner returns (domestic abuse, council ASB, needle finds, Section 136, KSI, "
                "action plan ...):",
                "  # save them in one folder (templates in data/templates/, checked with",
                "  # `sa validate FILE --kind KIND`) and name it here; the MoRiLE scorers' sheets",
                "  # (*morile*.csv) may share it.",
                "  # partner: data/partner",
                "  # morile_sheets: data/partner"]
    else:
        note = "   # SYNTHETIC partner data" if c.partner.synthetic else ""
        kinds = sorted(c.partner.returns) or ["none"]
        out += [f"  partner: {q(c.partner_shown or '')}{note}",
                f"  # returns found: {', '.join(kinds[:5])}"]
        if len(kinds) > 5:
            out.append(f"  #   {', '.join(kinds[5:])}")
        if c.partner.morile_sheets:
            out += [f"  morile_sheets: {q(c.partner_shown or '')}   # "
                    f"{len(c.partner.morile_sheets)} *morile*.csv scoring sheet(s)"]
        else:
            out += ["  # No MoRiLE scoring sheets (*morile*.csv) in the partner folder: add one "
                    "per scorer and name",
                    "  # the folder here to score the priorities (template: "
                    "data/templates/morile_sheet.csv).",
                    f"  # morile_sheets: {q(c.partner_shown or '')}"]
    out += ["  morile_scales: parameters/morile_scales.yaml",
            "  csp_table: data/home_office/policeforceareatablesyejune25final_TableC2_csp.csv",
            "  population: data/population/la_population_mye_2001_2024.csv.gz", ""]
    return out


def _theme_lines(c: InitChoices) -> tuple[list[str], list[str]]:
    out = ["# Themed chapters (chapter 3, one section each, in this order): the police.uk crime "
           "types",
           f"# present in {c.partnership.name}'s rows and the partner measures whose return "
           "exists (names in",
           "# sa_lib.data.measures.PARTNER_MEASURES). 'Other crime' is in chapter 2's total only.",
           "themes:"]
    used: list[str] = []
    for name, crimes, measures in THEME_GROUPS:
        have_c = [t for t in crimes if t in c.police.crime_types]
        have_m = [m for m in measures if _measure_exists(m, c)]
        missing_m = [m for m in measures if m not in have_m]
        if not have_c and not have_m:
            if missing_m:
                out += [f"  # - name: {name}   # needs {_kinds(missing_m)} in data.partner",
                        *_commented(f"    partner_measures: {_flow(missing_m, 22)}", 2)]
            continue
        out.append(f"  - name: {q(name)}")
        if have_c:
            out.append(f"    crime_types: {_flow(have_c, 17)}")
        if have_m:
            out.append(f"    partner_measures: {_flow(have_m, 22)}")
            used += have_m
        if missing_m:
            out += [f"    # with {_kinds(missing_m)} in data.partner:",
                    *_commented(f"    partner_measures: {_flow(missing_m, 22)}", 4)]
    out.append("")
    return out, used


def _improvement_lines(used: list[str]) -> list[str]:
    out = ["# Which direction is better, per measure or crime type (default: decrease)."]
    have = [m for m in _IMPROVEMENT if m in used]
    if not have:
        return out + ["improvement: {}", "#   e.g. Domestic abuse incidents: neutral   (more "
                      "reporting can mean more victims coming forward)", ""]
    out.append("improvement:")
    for m in have:
        how, why = _IMPROVEMENT[m]
        out.append(f"  {q(m)}: {how}" + (f"   # {why}" if why else ""))
    return out + [""]


_COMMON = [
    "# Known recording changes: SPC limits restart here (measure -> months).",
    "rebase: {}",
    "",
    "# SPC charts (defaults shown): every month loaded among the history_months months to the",
    "# window's end, the review window shaded. baseline: auto (the months before the review "
    "window",
    "# when there are at least 20, else all months), all, before_window, or",
    "# {start: YYYY-MM, end: YYYY-MM}.",
    "# spc:",
    "#   history_months: 36",
    "#   baseline: auto",
    "",
    "thresholds:",
    "  small_base: 10        # below this previous count, give counts not a percentage",
    '  disclosure: 5         # public build: counts 1-4 shown as "<5"',
    "  significance: 0.05",
    "",
]

_PRIORITIES_EXAMPLE = [
    "# The priority matrix (chapter 5): with no MoRiLE scorers' sheets (data.morile_sheets)",
    "# and no section here, it ranks the themes above on their police.uk volume and trend,",
    "# scoring perception and influence 3 and saying so. Set those scores (1-5) here, and",
    "# with MoRiLE sheets score each of their themes, e.g.:",
    "# priorities:",
    "#   n_priorities: 5",
    "#   weights: {volume: 1, trend: 1, perception: 1, influence: 1}",
    "#   perception:           # residents' concern, 1-5 (from the resident survey)",
    "#     Domestic abuse: 3",
    "#     Anti-social behaviour: 4",
    "#   measures:             # the measure that gives each theme's volume and trend scores",
    "#     Domestic abuse: Domestic abuse incidents",
    "#     Anti-social behaviour: Anti-social behaviour",
    "#   volume: {}            # hand scores, 1-5, for themes with no countable measure",
    "#   trend: {}",
    "#   influence:            # the partnership's ability to influence, 1-5",
    "#     Domestic abuse: 4",
    "#     Anti-social behaviour: 5",
    "",
]


def _priority_measure(theme: str, c: InitChoices) -> str | None:
    low = theme.lower()
    candidates = [m for m in (*BUILTIN_MEASURES, *c.police.crime_types) if m.lower() == low]
    candidates += [m for word, ms in _PRIORITY_HINTS if word in low for m in ms]
    for m in dict.fromkeys(candidates):
        if _measure_exists(m, c) and _covers_window(m, c):
            return m
    return None


def _priorities_lines(c: InitChoices) -> list[str]:
    if c.partner is None or not c.partner.morile_themes:
        return _PRIORITIES_EXAMPLE
    themes = list(c.partner.morile_themes)
    measures = {t: _priority_measure(t, c) for t in themes}
    rate = {t for t, m in measures.items()
            if m in BUILTIN_MEASURES and BUILTIN_MEASURES[m].unit != "count"}
    hand = [t for t, m in measures.items() if m is None]
    out = ["# The priority matrix (chapter 5): one entry per theme of the MoRiLE sheets in",
           "# data.morile_sheets.",
           "# Perception and influence are the partnership's judgement: the 3s below are "
           "placeholders",
           "# (set perception from the resident survey and influence with the partners).",
           "priorities:",
           f"  n_priorities: {min(5, len(themes))}",
           "  weights: {volume: 1, trend: 1, perception: 1, influence: 1}",
           "  perception:           # residents' concern, 1-5 (placeholder 3: set from the "
           "resident survey)"]
    out += [f"    {q(t)}: 3" for t in themes]
    found = {t: m for t, m in measures.items() if m is not None}
    if found:
        out.append("  measures:             # the measure that gives each theme's volume and "
                   "trend scores")
        out += [f"    {q(t)}: {q(m)}" for t, m in found.items()]
    vol = [*hand, *sorted(rate, key=themes.index)]
    if vol:
        out.append("  volume:               # hand scores, 1-5 (3 = neutral): no countable "
                   "measure in the data")
        out += [f"    {q(t)}: 3" + ("      # a rate is not a volume" if t in rate else "")
                for t in vol]
    if hand:
        out.append("  trend:")
        out += [f"    {q(t)}: 3" for t in hand]
    out.append("  influence:            # the partnership's ability to influence, 1-5 "
               "(placeholder 3)")
    out += [f"    {q(t)}: 3" for t in themes]
    return out + [""]


def _plan_rows(p: PartnerSurvey, year: str) -> list[dict]:
    return [r for r in p.action_plan if str(r.get("period") or "")[:4] == year]


def _indicator_measure(indicator: str, c: InitChoices) -> str | None:
    low = indicator.lower()
    names = sorted((*BUILTIN_MEASURES, *c.police.crime_types), key=len, reverse=True)
    hits = [m for m in names if low == m.lower() or low.startswith(m.lower())]
    hits += [m for a, b, m in _INDICATOR_HINTS if a in low and b in low]
    for m in hits:
        if _measure_exists(m, c):
            return m
    return None


def _review_lines(c: InitChoices) -> list[str]:
    year = c.end[:4]
    rows = _plan_rows(c.partner, year) if c.partner is not None else []
    if not rows:
        why = ("there is no action-plan return (*action_plan.csv) in data.partner"
               if c.partner is None or "action_plan" not in c.partner.returns
               else f"the action-plan return has no row for {year}")
        return ["# Last year's priorities and chapter 4's review of them need the action plan:",
                f"# {why}.",
                "# Add the action plan (template: data/templates/action_plan.csv) and list them, "
                "e.g.:",
                "# last_year_priorities:",
                "#   - Domestic abuse",
                "#   - Anti-social behaviour",
                "# review:",
                "#   indicators:         # action-plan indicators checked with SPC against a "
                "monthly target",
                "#     Council ASB incidents: {measure: Council ASB incidents, "
                "monthly_target: 304.2}",
                ""]
    priorities = list(dict.fromkeys(str(r["priority"]) for r in rows if r.get("priority")))
    out = [f"# Last year's priorities: those of the action plan for {year}.",
           "last_year_priorities:"] + [f"  - {q(p)}" for p in priorities] + [""]
    indicators = []
    for r in rows:
        name, target = str(r.get("indicator") or ""), r.get("target")
        measure = _indicator_measure(name, c)
        if not name or measure is None or target is None or name in dict(indicators):
            continue
        spec = BUILTIN_MEASURES.get(measure)
        annual = len(str(r.get("period"))) == 4
        monthly = float(target) / 12 if annual and (spec is None or spec.unit == "count") \
            else float(target)
        indicators.append((name, (measure, round_half_up(monthly, 1))))
    out += ["# Chapter 4: action-plan indicators checked with SPC against a monthly target",
            "# (a yearly count target divided by 12; a rate's target as it is)."]
    if not indicators:
        return out + ["# review:", "#   indicators: {}   # no indicator of the plan matches "
                      "a measure in the data", ""]
    out += ["review:", "  indicators:"]
    for n, (m, t) in indicators:
        line = f"    {q(n)}: {{measure: {q(m)}, monthly_target: {t:g}}}"
        out += [line] if len(line) <= 100 else [f"    {q(n)}:", f"      measure: {q(m)}",
                                                f"      monthly_target: {t:g}"]
    return out + [""]


_TAIL = [
    "# Partner measures the built-ins do not cover (hate crime, first-time entrants ...) are",
    "# declared in a `measures:` section; see README, 'Adding a partner measure without code':",
    "# measures:",
    "#   Hate crime incidents:",
    '#     file: "*hate_crime*.csv"   # a file-name pattern in data.partner',
    "#     date: Date",
    "#     count: rows",
    "#     unit: count",
    "#     frequency: monthly",
    "#     description: Hate crime incidents reported to the council",
    "",
    "# Chapter 2's comparison with every partnership in England and Wales. The funnel plot's",
    "# limits allow for over-dispersion between partnerships by default (Spiegelhalter 2005;",
    '# DerSimonian-Laird, 10% winsorised); "poisson" draws exact Poisson limits instead.',
    "# benchmark:",
    "#   funnel: overdispersed       # or: poisson",
]


def parameters_text(c: InitChoices) -> str:
    """The whole parameters file for the choices ``sa init`` made (:class:`InitChoices`).

    Examples
    --------
    >>> import datetime as dt
    >>> from sa_lib.data.area_search import find_partnership
    >>> police = PoliceSurvey(months=("2025-01",), area_months=("2025-01",),
    ...                       forces=("Kent Police",), crime_types={"Drugs": 5}, rows=5, files=1)
    >>> c = InitChoices(find_partnership("Maidstone"), "Kent", "2025-01", 1, ("2025-01",), None,
    ...                 ("data/police_uk/maidstone",), police, None, None, "sa init",
    ...                 dt.date(2025, 2, 1))
    >>> text = parameters_text(c)
    >>> "crime_types: [Drugs]" in text, "priorities:" in text.splitlines(), "# priorities:" in text
    (True, False, True)
    """
    themes, used = _theme_lines(c)
    lines = [*_header(c), *_window_lines(c), *_data_lines(c), *themes,
             *_improvement_lines(used), *_COMMON, *_priorities_lines(c), *_review_lines(c),
             *_TAIL]
    return "\n".join(lines) + "\n"
