"""The partner-data templates: one :class:`PartnerSchema` per kind of partner return.

Each kind (domestic-abuse incidents, council ASB cases, needle finds, ...) is
described by its columns (:class:`PartnerColumn`: name, type, whether required,
allowed values) and its checks across columns (row rules).  Every kind is
listed in :data:`PARTNER_KINDS`.  Reading and validating a file against a schema
is :mod:`sa_lib.data.partner`; writing the templates is
:mod:`sa_lib.data.partner_templates`.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd

from sa_lib.errors import OptionError

__all__ = [
    "PartnerColumn",
    "PartnerSchema",
    "PARTNER_KINDS",
    "generic_schema",
]

ColumnType = Literal[
    "id", "pseudonym", "text", "category", "flag", "date", "month", "year",
    "count", "number", "period", "month_range",
]

#: What each column type accepts, as written in the templates' README.
TYPE_DOCS: dict[str, str] = {
    "id": "identifier (text)",
    "pseudonym": "personal identifier (text); replaced on load by a keyed hash",
    "text": "text",
    "category": "one of the allowed values (any letter case)",
    "flag": "yes or no (also y/n, true/false, 1/0)",
    "date": "date: yyyy-mm-dd, dd/mm/yyyy or an Excel day number (e.g. 45658)",
    "month": "month: yyyy-mm (also Jan-25, Jan 2025 or a date on the 1st)",
    "year": "calendar year: yyyy",
    "count": "whole number >= 0",
    "number": "number",
    "period": "yyyy-mm (a month) or yyyy (a calendar year)",
    "month_range": "first and last month, e.g. Jan 24 - Mar 24",
}


# --------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class PartnerColumn:
    """One column of a partner-data template.

    Attributes
    ----------
    name : str
        snake_case header, as in the template.
    type : str
        One of :data:`TYPE_DOCS`' keys (``"date"``, ``"count"``, ``"category"``...).
    description : str
        What the column holds, for the templates' README.
    example : str
        The value written in the template's example row.
    required : bool
        Required columns must be present and every cell filled; optional ones may
        be left out or left blank.
    allowed : tuple of str
        Allowed values of a ``category`` column (lower case), lowest first.
    ordered : bool
        Whether ``allowed`` is an ordered scale (returned as an ordered categorical).
    unique : bool
        No two rows may share a value.

    Examples
    --------
    >>> PartnerColumn("finds", "count", "needles found", "61").required
    True
    """

    name: str
    type: ColumnType
    description: str
    example: str
    required: bool = True
    allowed: tuple[str, ...] = ()
    ordered: bool = False
    unique: bool = False

    @property
    def rule(self) -> str:
        """Human-readable statement of what the column accepts."""
        text = TYPE_DOCS[self.type]
        if self.allowed:
            text = f"one of {', '.join(self.allowed)}; any letter case"
        if self.unique:
            text += "; unique"
        return text


# A row rule looks at the parsed frame and returns, per row, a message or None.
RowRule = Callable[[pd.DataFrame], pd.Series]


@dataclass(frozen=True)
class PartnerSchema:
    """The template of one kind of partner data.

    Attributes
    ----------
    kind : str
        Name used by the command line (``sa validate FILE --kind KIND``).
    title, description, source : str
        What the data are and who usually supplies them.
    columns : tuple of PartnerColumn
        In template order.
    unique_together : tuple of str
        Columns whose combination must not repeat (e.g. year, question, response).
    declared : bool
        A return declared in the parameters file (:func:`generic_schema`): its
        missing columns are named one by one, never as "not a header".
    rules : tuple of (column, description, check)
        Rules across columns; ``check(frame)`` returns a message for each
        breaking row (``None`` elsewhere) and the problem is reported in ``column``.

    Examples
    --------
    >>> schema = PARTNER_KINDS["section_136"]
    >>> schema.column_names
    ('month', 'detentions')
    >>> schema.example_row
    {'month': '2025-03', 'detentions': '6'}
    """

    kind: str
    title: str
    description: str
    source: str
    columns: tuple[PartnerColumn, ...]
    unique_together: tuple[str, ...] = ()
    rules: tuple[tuple[str, str, RowRule], ...] = ()
    declared: bool = False

    @property
    def column_names(self) -> tuple[str, ...]:
        """Every template column, in order."""
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Columns that must be present."""
        return tuple(c.name for c in self.columns if c.required)

    @property
    def pseudonymised_columns(self) -> tuple[str, ...]:
        """Personal identifiers hashed on load."""
        return tuple(c.name for c in self.columns if c.type == "pseudonym")

    @property
    def example_row(self) -> dict[str, str]:
        """The template's example row, column -> text."""
        return {c.name: c.example for c in self.columns}

    def column(self, name: str) -> PartnerColumn:
        """The column called ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise OptionError(f"{self.kind} has no column {name!r} (columns: {list(self.column_names)})")


def _C(name: str, type_: ColumnType, description: str, example: str, **kw: Any) -> PartnerColumn:
    return PartnerColumn(name, type_, description, example, **kw)


def _when(frame: pd.DataFrame, mask: pd.Series,
          message: Callable[[pd.Series], pd.Series | str]) -> pd.Series:
    """``message(mask)`` where ``mask`` holds (NA-safe), ``None`` elsewhere; built lazily."""
    mask = mask.fillna(False).astype(bool)
    out = pd.Series(None, index=frame.index, dtype=object)
    if mask.any():
        text = message(mask)
        out[mask] = text[mask] if isinstance(text, pd.Series) else text
    return out


def _txt(s: pd.Series) -> pd.Series:
    return s.astype("string").fillna("")


def _rule_not_above(col: str, limit: str) -> RowRule:
    def check(f: pd.DataFrame) -> pd.Series:
        return _when(f, f[col] > f[limit], lambda m: (
            f"{col} (" + _txt(f.loc[m, col]) + f") is more than {limit} ("
            + _txt(f.loc[m, limit]) + f"); expected {col} <= {limit}"))
    return check


def _rule_period_order(f: pd.DataFrame) -> pd.Series:
    return _when(f, f["period_end"] < f["period_start"], lambda m: (
        "period_end (" + f.loc[m, "period_end"].dt.strftime("%Y-%m-%d") + ") is before "
        "period_start (" + f.loc[m, "period_start"].dt.strftime("%Y-%m-%d") + ")"))


def _rule_ksi_age(f: pd.DataFrame) -> pd.Series:
    total = f["killed"] + f["seriously_injured"]
    return _when(f, f["age_17_24"] > total, lambda m: (
        "age_17_24 (" + _txt(f.loc[m, "age_17_24"]) + ") is more than killed + "
        "seriously_injured (" + _txt(total[m]) + "); expected a subset of all KSI casualties"))


def _rule_reoffences(f: pd.DataFrame) -> pd.Series:
    fewer = f["reoffences"] < f["reoffenders"]
    none = (f["reoffenders"] == 0) & (f["reoffences"] > 0)
    return _when(f, fewer | none, lambda m: (
        "reoffences (" + _txt(f.loc[m, "reoffences"]) + ") is inconsistent with reoffenders ("
        + _txt(f.loc[m, "reoffenders"]) + "); every reoffender commits at least one reoffence "
        "and there are no reoffences without reoffenders"))


def _rule_survey_base(f: pd.DataFrame) -> pd.Series:
    """One base per (year, question), and a question's counts sum to at most its base."""
    ok = f[["year", "question", "count", "base"]].notna().all(axis=1)
    g = f[ok].groupby(["year", "question"], sort=False, observed=True)
    n_bases = g["base"].transform("nunique")
    total = g["count"].transform("sum")
    # A single count above the base is already reported by the count <= base rule.
    single = g["count"].transform("max") > f.loc[ok, "base"]
    first = ~f[ok].duplicated(["year", "question"])
    out = pd.Series(None, index=f.index, dtype=object)
    varies = (n_bases > 1) & first
    over = (n_bases == 1) & ~single & (total > f.loc[ok, "base"]) & first
    rows = pd.Series(f[ok].index.astype(str), index=f[ok].index)
    row_list = rows.groupby([f.loc[ok, "year"], f.loc[ok, "question"]], sort=False).transform(", ".join)
    if varies.any():
        out[varies[varies].index] = ("base differs between the responses of this question (rows "
                                     + row_list[varies] + "); expected one base per year and question")
    if over.any():
        out[over[over].index] = ("this question's counts sum to " + total[over].astype(str)
                                 + ", more than its base (" + f.loc[over[over].index, "base"].astype(str)
                                 + "; rows " + row_list[over] + "); expected a total <= base")
    return out


def _rule_value_for_future_period(f: pd.DataFrame) -> pd.Series:
    as_of = f.attrs["as_of"]
    return _when(f, f["value"].notna() & (f["period_start"] > as_of), lambda m: (
        "a value is given for period " + _txt(f.loc[m, "period"]) + ", which has not started "
        "yet; leave value blank for future periods (a target alone is fine)"))


_DA = PartnerSchema(
    "domestic_abuse", "Domestic abuse incidents",
    "One row per domestic-abuse incident (crimes and non-crimes) recorded by the police.",
    "Police (e.g. Kent Police force analysts); OFFICIAL-SENSITIVE",
    (
        _C("incident_id", "id", "incident reference", "DA-2025-000123", unique=True),
        _C("date", "date", "date of the incident", "2025-03-14"),
        _C("victim_id", "pseudonym",
           "the victim's identifier in the source system (pseudonymised on load)", "V000123"),
        _C("risk_level", "category", "DASH risk level", "standard",
           allowed=("standard", "medium", "high"), ordered=True),
        _C("repeat_flag", "flag", "the source system's repeat-victim flag", "no", required=False),
        _C("area", "text", "district or ward", "Maidstone", required=False),
    ),
)
_ASB = PartnerSchema(
    "asb_council", "Council anti-social behaviour cases",
    "One row per ASB incident or case reported to the council.",
    "Borough council community safety unit",
    (
        _C("incident_id", "id", "case reference", "ASB-2025-000456", unique=True),
        _C("date", "date", "date reported", "2025-03-14"),
        _C("category", "category", "ASB category (national standard)", "nuisance",
           allowed=("personal", "nuisance", "environmental")),
        _C("ward", "text", "ward name", "High Street", required=False),
        _C("location_id", "id", "location reference (for repeat locations)", "L00042",
           required=False),
    ),
)
_OSS = PartnerSchema(
    "one_stop_shop", "Domestic abuse one-stop-shop visits",
    "One row per visit to the domestic abuse one-stop shop.",
    "One-stop-shop coordinator",
    (
        _C("visit_id", "id", "visit reference", "OSS-2025-0042", unique=True),
        _C("date", "date", "date of the visit", "2025-03-12"),
        _C("visitor_id", "pseudonym", "the visitor's identifier (pseudonymised on load)",
           "P000042"),
        _C("from_district", "flag", "whether the visitor lives in the district", "yes"),
    ),
)
_NEEDLES = PartnerSchema(
    "needle_finds", "Needle finds and needle exchanges",
    "One row per month: discarded needles found by street scene and needle-exchange transactions.",
    "Council street scene team; substance misuse service (e.g. CGL)",
    (
        _C("month", "month", "calendar month", "2025-03", unique=True),
        _C("finds", "count", "discarded needles found", "61"),
        _C("needle_exchanges", "count", "needle-exchange transactions", "35", required=False),
    ),
)
_ADMISSIONS = PartnerSchema(
    "substance_admissions", "Substance-related hospital admissions",
    "Hospital admissions for one measure over a period (often a rolling 12 months).",
    "Public health observatory (e.g. Kent and Medway Public Health Observatory)",
    (
        _C("period_start", "date", "first day of the period", "2024-07-01"),
        _C("period_end", "date", "last day of the period", "2025-06-30"),
        _C("admissions", "count", "admissions in the period", "637"),
        _C("measure", "text", "what is counted",
           "mental and behavioural disorders due to psychoactive substances"),
    ),
    unique_together=("period_start", "period_end", "measure"),
    rules=(("period_end", "period_end is not before period_start", _rule_period_order),),
)
_S136 = PartnerSchema(
    "section_136", "Section 136 detentions",
    "One row per month: detentions under s.136 Mental Health Act 1983 in the district.",
    "Police / mental health trust",
    (
        _C("month", "month", "calendar month", "2025-03", unique=True),
        _C("detentions", "count", "s.136 detentions", "6"),
    ),
)
_KSI = PartnerSchema(
    "ksi", "Killed or seriously injured road casualties",
    "One row per calendar year of road casualties in the district.",
    "County highways authority / police (STATS19)",
    (
        _C("year", "year", "calendar year", "2024", unique=True),
        _C("killed", "count", "people killed", "3"),
        _C("seriously_injured", "count", "people seriously injured", "47"),
        _C("age_17_24", "count", "of the KSI casualties, those aged 17-24", "9", required=False),
    ),
    rules=(("age_17_24", "age_17_24 <= killed + seriously_injured", _rule_ksi_age),),
)
_REOFFENDING = PartnerSchema(
    "reoffending", "Proven reoffending cohorts",
    "One row per offender cohort (usually a quarter) and its proven reoffending.",
    "Ministry of Justice proven reoffending statistics / probation",
    (
        _C("cohort_period", "month_range", "months in which the cohort was released or cautioned",
           "Jan 24 - Mar 24", unique=True),
        _C("cohort_size", "count", "offenders in the cohort", "262"),
        _C("reoffenders", "count", "offenders who committed a proven reoffence", "66"),
        _C("reoffences", "count", "proven reoffences committed by the cohort", "257"),
    ),
    rules=(
        ("reoffenders", "reoffenders <= cohort_size", _rule_not_above("reoffenders", "cohort_size")),
        ("reoffences", "reoffences >= reoffenders, and 0 when reoffenders is 0", _rule_reoffences),
    ),
)
_SURVEY = PartnerSchema(
    "resident_survey", "Residents' survey responses",
    "One row per survey year, question and response with its count of respondents.",
    "Council consultation team (e.g. residents' survey)",
    (
        _C("year", "year", "survey year", "2025"),
        _C("question", "text", "the question as asked", "How safe do you feel in your home?"),
        _C("response", "text", "one response option", "Very safe"),
        _C("count", "count", "respondents giving this response", "1120"),
        _C("base", "count", "respondents to the survey (the percentage base)", "2350"),
    ),
    unique_together=("year", "question", "response"),
    rules=(
        ("count", "count <= base", _rule_not_above("count", "base")),
        ("base", "one base per year and question; the question's counts sum to at most base",
         _rule_survey_base),
    ),
)
_ACTION = PartnerSchema(
    "action_plan", "Action plan indicators and targets",
    "One row per priority, indicator and period: the value achieved and the target.",
    "Community safety partnership (priority leads)",
    (
        _C("priority", "text", "priority the indicator belongs to", "Substance misuse"),
        _C("indicator", "text", "what is measured", "Needle finds collected by street scene"),
        _C("period", "period", "month or year the value describes", "2025"),
        _C("value", "number", "value achieved (blank = no data)", "812", required=False),
        _C("target", "number", "target for the period (blank = none)", "1000", required=False),
        _C("direction", "category", "which way is better", "decrease",
           allowed=("increase", "decrease")),
    ),
    unique_together=("priority", "indicator", "period"),
    rules=(("value", "no value for a period that has not started",
            _rule_value_for_future_period),),
)
_MORILE = PartnerSchema(
    "morile_sheet", "MoRiLE scoring sheet",
    "One scorer's MoRiLE scores in the tidy long layout: one row per theme and field. "
    "Labels are checked against the scales by sa_lib.data.morile_sheets, not here.",
    "Partnership scoring workshop (one file per scorer)",
    (
        _C("theme", "text", "theme scored", "Domestic abuse"),
        _C("field", "text", "harm dimension, frequency, vulnerability, "
           "organisational_position or confidence", "physical"),
        _C("value", "text", "label on the field's scale (e.g. Substantial)", "Substantial"),
        _C("rationale", "text", "why this score (for the audit trail)",
           "injury in a minority of incidents", required=False),
        _C("scorer", "text", "who scored (default: the file name)", "police", required=False),
    ),
)

#: Every partner-data kind, by the name the command line uses.
PARTNER_KINDS: dict[str, PartnerSchema] = {
    s.kind: s for s in (_DA, _ASB, _OSS, _NEEDLES, _ADMISSIONS, _S136, _KSI, _REOFFENDING,
                        _SURVEY, _ACTION, _MORILE)
}


def _schema(kind: str) -> PartnerSchema:
    if kind in PARTNER_KINDS:
        return PARTNER_KINDS[kind]
    close = difflib.get_close_matches(str(kind), PARTNER_KINDS, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise OptionError(f"kind={kind!r} is not a partner data kind "
                      f"(expected one of {', '.join(PARTNER_KINDS)}){hint}")



_GENERIC_EXAMPLES = {"date": "2025-03-14", "month": "2025-03", "year": "2025", "text": "racial",
                     "number": "1", "count": "1", "pseudonym": "V000123"}


def generic_schema(kind: str, title: str, columns: dict[str, str]) -> PartnerSchema:
    """The template of a return declared in the parameters file: only the columns it needs.

    Parameters
    ----------
    kind : str
        What the return is called in messages (its file pattern).
    title : str
        e.g. "the return of 'Hate crime incidents'".
    columns : dict of column -> type
        snake_case column names and their :data:`TYPE_DOCS` types; each is required
        and every cell must be filled.  Other columns of the file are ignored.

    Examples
    --------
    >>> s = generic_schema("*hate*.csv", "hate crime", {"date": "date", "hours": "number"})
    >>> s.column_names, s.column("hours").rule
    (('date', 'hours'), 'number')
    """
    unknown = sorted(set(columns.values()) - set(TYPE_DOCS))
    if unknown:
        raise OptionError(f"unknown column type(s) {unknown}; expected one of {list(TYPE_DOCS)}")
    cols = tuple(PartnerColumn(name, type_, f"read by {title}",  # type: ignore[arg-type]
                               _GENERIC_EXAMPLES.get(type_, "x"))
                 for name, type_ in columns.items())
    return PartnerSchema(kind, title, f"A partner return declared in the parameters file ({title}).",
                         "declared in the parameters file", cols, declared=True)
