"""Templates and validating loaders for partner data (never public data).

A strategic assessment draws on data that partners export from their own
systems: police domestic-abuse incidents, council ASB cases, one-stop-shop
visits, needle finds, hospital admissions, Section 136 detentions, KSI road
casualties, reoffending cohorts, the residents' survey, the action plan and the
MoRiLE scoring sheets.  Each *kind* has one documented CSV template
(:data:`PARTNER_KINDS`, written to ``data/templates/`` by :func:`write_templates`)
and one loader, :func:`read_partner`, which checks the file against it and
returns a tidy, typed frame.  :func:`validate_partner` runs the same checks and
returns the problems instead of raising.

What a file may contain (the same for every kind):

* **Encoding**: UTF-8 with or without a byte-order mark, or Windows-1252 (what
  Excel's plain "CSV (Comma delimited)" writes); UTF-8 is tried first.
  Line endings LF or CRLF.  Excel workbooks (``.xlsx``) and UTF-16 text are refused
  with a message saying how to re-save them.
* **Header**: one header row; names are matched ignoring case, spaces and
  punctuation (``Incident ID`` is ``incident_id``).  Optional columns may be left
  out; unknown columns are ignored (and dropped) unless they look like a misspelt
  template column, which is reported with the likely intended name.
* **Rows**: every row has as many fields as the header.  Unbalanced quotes, a row
  with too few or too many fields and a truncated last line are refused, naming
  the row.  Completely blank rows (spreadsheet padding) are skipped.
* **Blank cells**: a blank cell is "no value"; allowed only in optional columns.
  Text such as ``n/a`` is *not* read as blank.
* **Dates** (``date``): ``yyyy-mm-dd`` (ISO), ``dd/mm/yyyy`` (as UK Excel
  writes it; always day first, never US order) or an Excel serial day number of
  five digits (``45658`` is 2025-01-01).  A time of day after the date
  (``2025-01-31 14:05``) is allowed and dropped.  Two-digit years, impossible
  dates (``2025-02-30``), dates before 1990 and dates after today are refused.
* **Months** (``month``): ``yyyy-mm``; also ``Jan-25``, ``Jan 2025`` or
  ``January 2025`` (what Excel writes once it has turned a month into a date) and
  any accepted date falling on the 1st.  Months after the current one are refused.
* **Counts**: whole numbers >= 0 (``1,234`` with thousands separators is read);
  negative, fractional and non-numeric counts are refused.
* **Allowed values**: compared ignoring case and surrounding spaces, and
  returned in lower case.
* **Flags**: ``yes`` / ``no`` (also ``y``/``n``, ``true``/``false``, ``1``/``0``).

Every problem in a file is reported at once as a :class:`~sa_lib.errors.Problem`
naming the file, the spreadsheet row (header = row 1), the column as written in
the file and what was expected.

Personal identifiers (``victim_id``, ``visitor_id``) are replaced on load by a
keyed hash (HMAC-SHA256, first 16 hex characters) so the raw identifiers never
reach a frame; the key comes from ``pseudonymise_key=`` or the
``SA_PSEUDONYM_KEY`` environment variable and must never be committed.  The same
key gives the same pseudonym for the same identifier, so repeats can still be
counted.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import hmac
import io
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from sa_lib.data.csv_text import csv_records as _records
from sa_lib.data.csv_text import decode_csv_bytes as _decode
from sa_lib.errors import DataValidationError, OptionError, Problem
from sa_lib.paths import DATA_DIR

__all__ = [
    "PartnerColumn",
    "PartnerSchema",
    "PARTNER_KINDS",
    "PSEUDONYM_KEY_ENV",
    "TEMPLATES_DIR",
    "read_partner",
    "validate_partner",
    "pseudonymise",
    "write_templates",
]

#: Environment variable holding the pseudonymisation key.
PSEUDONYM_KEY_ENV = "SA_PSEUDONYM_KEY"
#: Where the committed templates live (``data/templates``).
TEMPLATES_DIR: Path = DATA_DIR / "templates"

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

_MIN_DATE = np.datetime64("1990-01-01", "D")
_MIN_YEAR = 1990
_MIN_KEY_LENGTH = 16
_PSEUDONYM_LENGTH = 16


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
    "Labels are checked against the scales by sa_lib.stats.morile, not here.",
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


# --------------------------------------------------------------------------- reading text


def _snake(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


# --------------------------------------------------------------------------- parsing columns

_TIME = r"(?:[ T](?:[01]?\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d+)?)?)?"
_ISO_DATE = re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})" + _TIME + "$")
_UK_DATE = re.compile(r"^(?P<d>\d{1,2})/(?P<m>\d{1,2})/(?P<y>\d{4})" + _TIME + "$")
_SHORT_YEAR = re.compile(r"^\d{1,2}/\d{1,2}/\d{2}(?:\s.*)?$")
_SERIAL = re.compile(r"^(?P<serial>\d{5})(?:\.\d+)?$")
_ISO_MONTH = re.compile(r"^(?P<y>\d{4})-(?P<m>\d{1,2})$")
_NAMED_MONTH = re.compile(r"^(?P<name>[A-Za-z]{3,9})\.?[-\s]'?(?P<y>\d{2}|\d{4})$")
_YEAR = re.compile(r"^\d{4}$")
_MONTH_TOKEN = r"(?:[A-Za-z]{3,9}\.?[-\s]'?\d{2}(?:\d{2})?|\d{4}-\d{1,2})"
_MONTH_RANGE = re.compile(rf"^(?P<a>{_MONTH_TOKEN})\s*(?:-|\u2013|\u2014|to)\s*(?P<b>{_MONTH_TOKEN})$",
                          re.IGNORECASE)
_MONTH_NAMES = {
    **{m.lower(): i for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)},
    **{m.lower(): i for i, m in enumerate(
        ["january", "february", "march", "april", "may", "june", "july", "august", "september",
         "october", "november", "december"], 1)},
    "sept": 9,
}
_FLAGS = {"yes": True, "y": True, "true": True, "1": True, "no": False, "n": False,
          "false": False, "0": False}
_THOUSANDS = re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")

_DATE_EXPECTED = "expected yyyy-mm-dd, dd/mm/yyyy or an Excel day number"
_MONTH_EXPECTED = "expected a month as yyyy-mm, e.g. 2025-03"


@dataclass
class _Parsed:
    """A parsed column: values (typed), per-row error messages, extra derived columns."""

    values: pd.Series
    errors: pd.Series
    extra: dict[str, pd.Series] | None = None


def _no_errors(s: pd.Series) -> pd.Series:
    return pd.Series(None, index=s.index, dtype=object)


def _set(errors: pd.Series, mask: pd.Series | np.ndarray, values: pd.Series,
         suffix: pd.Series | str) -> None:
    """Record ``'value'`` + ``suffix`` where ``mask`` holds and no earlier error was recorded.

    Messages are built for the failing rows only, so a clean file costs no string work.
    """
    mask = pd.Series(np.asarray(mask, dtype=bool), index=errors.index) & errors.isna()
    if mask.any():
        tail = suffix[mask] if isinstance(suffix, pd.Series) else suffix
        errors[mask] = ("'" + values[mask].astype(object).fillna("").astype(str) + "'" + tail)


def _days(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Day numbers (datetime64[D]) from float y/m/d arrays (NaN = absent), and a validity mask."""
    have = ~(np.isnan(y) | np.isnan(m) | np.isnan(d))
    yy = np.where(have, y, 2000).astype(np.int64)
    mm = np.where(have, m, 1).astype(np.int64)
    dd = np.where(have, d, 1).astype(np.int64)
    valid = have & (mm >= 1) & (mm <= 12) & (yy >= 1000)
    month = (np.where(valid, yy, 2000) - 1970) * 12 + (np.where(valid, mm, 1) - 1)
    start = month.astype("datetime64[M]").astype("datetime64[D]")
    length = ((month + 1).astype("datetime64[M]").astype("datetime64[D]") - start).astype(np.int64)
    valid &= (dd >= 1) & (dd <= length)
    return start + (np.where(valid, dd, 1) - 1).astype("timedelta64[D]"), valid


def _fast_then_slow(s: pd.Series, fmt: str, slow: Callable[[pd.Series], tuple[np.ndarray, ...]],
                    convert: Callable[[pd.Series], np.ndarray], n_flags: int
                    ) -> tuple[np.ndarray, ...]:
    """Parse the template's own format with pandas' C parser; only other text takes ``slow``."""
    fast = pd.to_datetime(s, format=fmt, errors="coerce")
    ok = fast.notna().to_numpy()
    first = convert(fast)
    flags = [ok.copy() for _ in range(n_flags)]
    rest = s.notna().to_numpy() & ~ok
    if rest.any():
        parts = slow(s[rest])
        first[rest] = parts[0]
        for flag, part in zip(flags, parts[1:], strict=True):
            flag[rest] = part
    return (first, *flags)


def _date_days(s: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(day numbers, recognised format, real date) for stripped text ``s`` (NA = blank)."""
    return _fast_then_slow(s, "%Y-%m-%d", _date_days_any,  # type: ignore[return-value]
                           lambda t: t.to_numpy(dtype="datetime64[D]"), 2)


def _date_days_any(s: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    filled = s.fillna("")
    iso, uk = filled.str.extract(_ISO_DATE), filled.str.extract(_UK_DATE)
    y = pd.to_numeric(iso["y"].fillna(uk["y"]), errors="coerce").to_numpy(float)
    m = pd.to_numeric(iso["m"].fillna(uk["m"]), errors="coerce").to_numpy(float)
    d = pd.to_numeric(iso["d"].fillna(uk["d"]), errors="coerce").to_numpy(float)
    days, real = _days(y, m, d)
    serial = pd.to_numeric(filled.str.extract(_SERIAL)["serial"], errors="coerce").to_numpy(float)
    is_serial = ~np.isnan(serial)
    # Excel's day 1 is 1900-01-01 and it counts a non-existent 29 Feb 1900, so for
    # every date from March 1900 the serial is days since 1899-12-30.
    excel = np.datetime64("1899-12-30", "D") + np.where(is_serial, serial, 0).astype(
        "timedelta64[D]")
    days = np.where(is_serial, excel, days)
    recognised = ~np.isnan(y) | is_serial
    return days, recognised, real | is_serial


def _parse_date(s: pd.Series, col: PartnerColumn, as_of: np.datetime64) -> _Parsed:
    err = _no_errors(s)
    days, recognised, real = _date_days(s)
    present = s.notna().to_numpy()
    _set(err, present & s.fillna("").str.match(_SHORT_YEAR).to_numpy(),
         s, " has a two-digit year; write the full year (dd/mm/yyyy)")
    _set(err, present & ~recognised, s, f" is not a date ({_DATE_EXPECTED})")
    _set(err, present & ~real, s, " is not a real date (no such day in that month)")
    _set(err, present & (days < _MIN_DATE),
         s, f" is before {_MIN_DATE}; check the year")
    _set(err, present & (days > as_of),
         s, f" is in the future (after today, {as_of}); expected a past date")
    ok = present & err.isna().to_numpy()
    values = pd.Series(np.where(ok, days, np.datetime64("NaT")), index=s.index).astype(
        "datetime64[ns]")
    return _Parsed(values, err)


def _month_numbers(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(month ordinal since 1970-01, recognised) for stripped text; dates on the 1st count."""
    return _fast_then_slow(s, "%Y-%m", _month_numbers_any,  # type: ignore[return-value]
                           lambda t: t.to_numpy(dtype="datetime64[M]").astype(np.int64), 1)


def _month_numbers_any(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    filled = s.fillna("")
    iso = filled.str.extract(_ISO_MONTH)
    named = filled.str.extract(_NAMED_MONTH)
    y = pd.to_numeric(iso["y"], errors="coerce").to_numpy(float)
    m = pd.to_numeric(iso["m"], errors="coerce").to_numpy(float)
    m = np.where((m >= 1) & (m <= 12), m, np.nan)
    name_m = named["name"].str.lower().map(_MONTH_NAMES).to_numpy(float)
    name_y = pd.to_numeric(named["y"], errors="coerce").to_numpy(float)
    name_y = np.where(name_y < 100, 2000 + name_y, name_y)
    use_named = np.isnan(y) & ~np.isnan(name_m)
    y = np.where(use_named, name_y, y)
    m = np.where(use_named, name_m, m)
    days, _, real = _date_days(s)
    as_date = np.isnan(m) & real
    first = days.astype("datetime64[M]").astype("datetime64[D]") == days
    ordinal = np.where(as_date & first, days.astype("datetime64[M]").astype(np.int64),
                       (np.nan_to_num(y, nan=1970) - 1970) * 12 + np.nan_to_num(m, nan=1) - 1)
    recognised = ~np.isnan(m) | (as_date & first)
    return ordinal.astype(np.int64), recognised


def _periods(ordinal: np.ndarray, ok: np.ndarray, index: pd.Index) -> pd.Series:
    out = pd.Series(pd.NaT, index=index, dtype="period[M]")
    if ok.any():
        out[ok] = pd.PeriodIndex.from_ordinals(ordinal[ok], freq="M")
    return out


def _parse_month(s: pd.Series, col: PartnerColumn, as_of: np.datetime64) -> _Parsed:
    err = _no_errors(s)
    ordinal, recognised = _month_numbers(s)
    present = s.notna().to_numpy()
    now = as_of.astype("datetime64[M]").astype(np.int64)
    _set(err, present & ~recognised, s, f" is not a month ({_MONTH_EXPECTED})")
    _set(err, present & (ordinal < (_MIN_YEAR - 1970) * 12), s, " is before 1990; "
         "check the year")
    _set(err, present & (ordinal > now),
         s, f" is in the future (after this month, {as_of.astype('datetime64[M]')})")
    ok = present & err.isna().to_numpy()
    return _Parsed(_periods(ordinal, ok, s.index), err)


def _parse_year(s: pd.Series, col: PartnerColumn, as_of: np.datetime64) -> _Parsed:
    err = _no_errors(s)
    present = s.notna().to_numpy()
    fits = s.fillna("").str.match(_YEAR).to_numpy()
    year = pd.to_numeric(s.where(fits), errors="coerce").to_numpy(float)
    now = as_of.astype("datetime64[Y]").astype(np.int64) + 1970
    _set(err, present & ~fits, s, " is not a year (expected yyyy, e.g. 2025)")
    _set(err, present & (year < _MIN_YEAR), s, " is before 1990; check the year")
    _set(err, present & (year > now), s, f" is in the future (after {now})")
    ok = present & err.isna().to_numpy()
    return _Parsed(pd.Series(np.where(ok, year, np.nan), index=s.index).astype("Int64"), err)


def _parse_number(s: pd.Series, col: PartnerColumn, as_of: np.datetime64) -> _Parsed:
    err = _no_errors(s)
    present = s.notna().to_numpy()
    text = s.fillna("")
    text = text.where(~text.str.match(_THOUSANDS), text.str.replace(",", "", regex=False))
    num = pd.to_numeric(text.where(text != ""), errors="coerce").to_numpy(float)
    whole = col.type == "count"
    expected = "a whole number >= 0" if whole else "a number"
    _set(err, present & ~np.isfinite(num), s, f" is not a number (expected {expected})")
    if whole:
        _set(err, present & (num < 0), s, " is negative (a count is a whole number >= 0)")
        _set(err, present & (np.floor(num) != num),
             s, " is not a whole number (a count is a whole number >= 0)")
    ok = present & err.isna().to_numpy()
    values = pd.Series(np.where(ok, num, np.nan), index=s.index)
    return _Parsed(values.astype("Int64") if whole else values.astype("float64"), err)


def _parse_category(s: pd.Series, col: PartnerColumn, as_of: np.datetime64) -> _Parsed:
    err = _no_errors(s)
    norm = s.str.lower().str.replace(r"\s+", " ", regex=True)
    bad = s.notna() & ~norm.isin(col.allowed)
    if bad.any():
        hints = {v: difflib.get_close_matches(v, col.allowed, n=1) for v in norm[bad].unique()}
        hint = norm[bad].map(lambda v: f"; did you mean '{hints[v][0]}'?" if hints[v] else "")
        _set(err, bad, s, f" is not an allowed value (expected one of "
             f"{', '.join(col.allowed)}, any letter case)" + hint)
    dtype = pd.CategoricalDtype(list(col.allowed), ordered=col.ordered)
    return _Parsed(norm.where(~bad).astype(dtype), err)


def _parse_flag(s: pd.Series, col: PartnerColumn, as_of: np.datetime64) -> _Parsed:
    err = _no_errors(s)
    norm = s.str.lower()
    bad = s.notna() & ~norm.isin(list(_FLAGS))
    _set(err, bad, s, " is not yes or no (expected yes/no, y/n, true/false or 1/0)")
    return _Parsed(norm.map(_FLAGS).astype("boolean"), err)


def _parse_text(s: pd.Series, col: PartnerColumn, as_of: np.datetime64) -> _Parsed:
    return _Parsed(s.astype("str"), _no_errors(s))


def _parse_period(s: pd.Series, col: PartnerColumn, as_of: np.datetime64) -> _Parsed:
    """yyyy (a year) or a month in any form :func:`_parse_month` accepts."""
    err = _no_errors(s)
    present = s.notna().to_numpy()
    is_year = s.fillna("").str.match(_YEAR).to_numpy()
    year = pd.to_numeric(s.where(is_year), errors="coerce").to_numpy(float)
    ordinal, recognised = _month_numbers(s)
    _set(err, present & ~is_year & ~recognised,
         s, " is not a period (expected yyyy-mm for a month or yyyy for a year)")
    start_month = np.where(is_year, (np.nan_to_num(year, nan=1970) - 1970) * 12, ordinal)
    _set(err, present & (start_month < (_MIN_YEAR - 1970) * 12),
         s, " is before 1990; check the year")
    ok = present & err.isna().to_numpy()
    end_month = np.where(is_year, start_month + 11, start_month)
    start = start_month.astype(np.int64).astype("datetime64[M]").astype("datetime64[D]")
    end = (end_month.astype(np.int64) + 1).astype("datetime64[M]").astype("datetime64[D]") \
        - np.timedelta64(1, "D")
    months = pd.PeriodIndex.from_ordinals(np.where(ok, start_month, 0).astype(np.int64), freq="M")
    label = np.where(is_year, np.nan_to_num(year).astype(np.int64).astype(str),
                     months.strftime("%Y-%m"))
    nat = np.datetime64("NaT")
    stem = col.name
    return _Parsed(
        pd.Series(np.where(ok, label, None), index=s.index).astype("str"), err,
        {f"{stem}_start": pd.Series(np.where(ok, start, nat), index=s.index).astype("datetime64[ns]"),
         f"{stem}_end": pd.Series(np.where(ok, end, nat), index=s.index).astype("datetime64[ns]")},
    )


def _parse_month_range(s: pd.Series, col: PartnerColumn, as_of: np.datetime64) -> _Parsed:
    err = _no_errors(s)
    present = s.notna().to_numpy()
    parts = s.fillna("").str.extract(_MONTH_RANGE)
    a, a_ok = _month_numbers(parts["a"])
    b, b_ok = _month_numbers(parts["b"])
    now = as_of.astype("datetime64[M]").astype(np.int64)
    _set(err, present & ~(a_ok & b_ok), s, " is not a range of months "
         "(expected first and last month, e.g. 'Jan 24 - Mar 24')")
    _set(err, present & (b < a), s, " ends before it starts")
    _set(err, present & (a < (_MIN_YEAR - 1970) * 12), s, " is before 1990; check the year")
    _set(err, present & (b > now),
         s, f" ends in the future (after this month, {as_of.astype('datetime64[M]')})")
    ok = present & err.isna().to_numpy()
    start, end = _periods(a, ok, s.index), _periods(b, ok, s.index)
    label = (start.dt.strftime("%b %y") + " - " + end.dt.strftime("%b %y")).where(ok)
    stem = col.name.removesuffix("_period")
    return _Parsed(label.astype("str"), err, {f"{stem}_start": start, f"{stem}_end": end})


def _extra_columns(col: PartnerColumn, parsed: pd.DataFrame) -> dict[str, pd.Series]:
    """The derived columns a parser added for ``col`` (``period_start``...)."""
    if col.type == "period":
        stem = col.name
    elif col.type == "month_range":
        stem = col.name.removesuffix("_period")
    else:
        return {}
    return {k: parsed[k] for k in (f"{stem}_start", f"{stem}_end")}


_PARSERS: dict[str, Callable[[pd.Series, PartnerColumn, np.datetime64], _Parsed]] = {
    "id": _parse_text, "pseudonym": _parse_text, "text": _parse_text,
    "category": _parse_category, "flag": _parse_flag, "date": _parse_date,
    "month": _parse_month, "year": _parse_year, "count": _parse_number,
    "number": _parse_number, "period": _parse_period, "month_range": _parse_month_range,
}


# --------------------------------------------------------------------------- validation


@dataclass
class _Checked:
    frame: pd.DataFrame | None
    problems: list[Problem]
    encoding: str = ""
    ignored: tuple[str, ...] = ()


def _as_of(as_of: date | str | None) -> np.datetime64:
    if as_of is None:
        return np.datetime64(date.today(), "D")
    try:
        return np.datetime64(pd.Timestamp(as_of).date(), "D")
    except (ValueError, TypeError) as exc:
        raise OptionError(f"as_of={as_of!r} is not a date (expected e.g. '2025-10-31')") from exc


def _duplicates(keys: pd.DataFrame, rows: pd.Index) -> tuple[pd.Series, pd.Series]:
    """(is a repeat of an earlier row, that earlier row's number) for rows with complete keys."""
    complete = keys.notna().all(axis=1)
    k = keys[complete]
    repeat = pd.Series(False, index=keys.index)
    first_row = pd.Series(0, index=keys.index)
    if k.empty:
        return repeat, first_row
    dup = k.duplicated(keep="first")
    repeat[dup[dup].index] = True
    row_no = pd.Series(rows[complete.to_numpy()], index=k.index)
    first_row[k.index] = row_no.groupby([k[c] for c in k.columns], sort=False, dropna=False
                                        ).transform("first")
    return repeat, first_row


def _check(path: str | Path, schema: PartnerSchema, as_of: np.datetime64) -> _Checked:
    path = Path(path)
    file = str(path)
    if not path.is_file():
        why = "is a folder, not a CSV file" if path.is_dir() else "file not found"
        return _Checked(None, [Problem(file, None, None, why)])
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        return _Checked(None, [Problem(file, None, None, f"cannot be read: {exc.strerror or exc}")])
    text, encoding, problems = _decode(raw_bytes, file)
    if text is None:
        return _Checked(None, problems)
    expected = ", ".join(schema.column_names)
    if not text.strip():
        return _Checked(None, [Problem(file, None, None, "file is empty; expected a header row "
                                       f"({expected}) and one row per record")], encoding)
    records, problems = _records(text, file)
    if problems:
        return _Checked(None, problems, encoding)

    header_raw = [h.strip() for h in records[0]]
    header = [_snake(h) for h in header_raw]
    if not set(header) & set(schema.column_names):
        # A title line above the header, a blank first row or another kind's file:
        # one clear message instead of a wrong field count on every row.
        found = ", ".join(h for h in header_raw if h) or "a blank row"
        return _Checked(None, [Problem(file, 1, None, f"row 1 is not a {schema.kind} header "
                                       f"(found: {found}); expected columns {expected}. Remove "
                                       "any title rows above the header, or check --kind")],
                        encoding)
    n_fields = len(header)
    body = records[1:]
    row_numbers = np.arange(2, len(body) + 2)
    lengths = np.fromiter(map(len, body), dtype=np.int64, count=len(body))
    blank = np.fromiter((not "".join(r).strip() for r in body), dtype=bool, count=len(body))
    wrong = ~blank & (lengths != n_fields)
    for i in np.flatnonzero(wrong):
        tail = ""
        if i == len(body) - 1 and lengths[i] < n_fields and not text.endswith(("\n", "\r")):
            tail = " (the last line looks truncated)"
        short = lengths[i] < n_fields
        problems.append(Problem(file, int(row_numbers[i]), header_raw[lengths[i]] if short else None,
                                f"has {lengths[i]} field(s) but the header has {n_fields} "
                                f"({', '.join(header_raw)}){tail}"))
    keep = ~blank & ~wrong
    rows = [body[i] for i in np.flatnonzero(keep)]
    index = pd.Index(row_numbers[keep], name="row")
    raw = pd.DataFrame(rows, columns=range(n_fields), index=index, dtype="str") if rows else \
        pd.DataFrame(columns=range(n_fields), index=index, dtype="str")

    # --- header: blank, duplicate, missing, misnamed, unknown columns
    names: dict[str, int] = {}
    for j, name in enumerate(header):
        if not name:
            if raw[j].str.strip().ne("").any():
                problems.append(Problem(file, 1, f"column {j + 1}", "has values but no header; "
                                        f"expected one of {expected}"))
            continue
        if name in names:
            problems.append(Problem(file, 1, header_raw[j], f"column {header_raw[j]!r} appears "
                                    f"twice (columns {names[name] + 1} and {j + 1})"))
            continue
        names[name] = j
    known = set(schema.column_names)
    unknown = [n for n in names if n not in known]
    missing = [c for c in schema.column_names if c not in names]
    misnamed: dict[str, str] = {}
    for n in unknown:
        close = difflib.get_close_matches(n, missing, n=1, cutoff=0.75)
        if close and close[0] not in misnamed.values():
            misnamed[n] = close[0]
    for n, target in misnamed.items():
        problems.append(Problem(file, 1, header_raw[names[n]],
                                f"unknown column {header_raw[names[n]]!r}; did you mean "
                                f"{target!r}? (expected columns: {expected})"))
    for c in missing:
        col = schema.column(c)
        if col.required and c not in misnamed.values():
            problems.append(Problem(file, 1, c, f"required column {c!r} is missing "
                                    f"(expected columns: {expected})"))
    ignored = tuple(header_raw[names[n]] for n in unknown if n not in misnamed)
    if not len(index):
        problems.append(Problem(file, None, None, "has a header but no data rows; expected one "
                                "row per record"))
        return _Checked(None, problems, encoding, ignored)

    # --- values, column by column (vectorised)
    shown = {c: header_raw[j] for c, j in names.items()}
    present = [c for c in schema.column_names if c in names]
    stripped = pd.DataFrame({c: raw[names[c]].str.strip() for c in present}, index=index)
    stripped = stripped.where(stripped != "")
    parsed = pd.DataFrame(index=index)
    errors: dict[str, pd.Series] = {}
    for c in present:
        col = schema.column(c)
        result = _PARSERS[col.type](stripped[c], col, as_of)
        err = result.errors
        if col.required:
            err = err.mask(stripped[c].isna() & err.isna(),
                           f"is blank; {c} is required ({col.rule})")
        parsed[c] = result.values
        for k, v in (result.extra or {}).items():
            parsed[k] = v
        errors[c] = err

    # --- exact duplicate rows, then unique columns and combinations
    canon = stripped.copy()
    for c in present:
        if schema.column(c).type in ("category", "flag"):
            canon[c] = canon[c].str.lower()
    exact = canon.fillna("\x00").duplicated(keep="first")
    if exact.any():
        first = pd.Series(index.to_numpy(), index=index).groupby(
            [canon[c].fillna("\x00") for c in present], sort=False).transform("first")
        for r in exact[exact].index:
            problems.append(Problem(file, int(r), None,
                                    f"duplicate row: identical to row {first[r]}; remove one"))
    key_sets = [(c,) for c in present if schema.column(c).unique]
    if schema.unique_together and all(c in names for c in schema.unique_together):
        key_sets.append(schema.unique_together)
    for keys in key_sets:
        keyframe = parsed[list(keys)].astype(object).where(pd.DataFrame(
            {c: errors[c].isna() for c in keys}))
        repeat, first_row = _duplicates(keyframe, index)
        repeat &= ~exact
        what = keys[0] if len(keys) == 1 else " + ".join(keys)
        for r in repeat[repeat].index:
            shown_value = ", ".join(str(stripped.at[r, c]) for c in keys)
            if any(schema.column(c).type == "pseudonym" for c in keys):
                shown_value = "(value hidden)"
            problems.append(Problem(file, int(r), shown[keys[0]] if len(keys) == 1 else what,
                                    f"{what} {shown_value!r} already appears on row "
                                    f"{first_row[r]}; expected {what} to be unique"))

    # --- rules across columns, on rows whose columns parsed cleanly
    # (exact duplicates are left out: they are reported once and must not count twice)
    distinct = parsed[~exact.to_numpy()]
    distinct.attrs["as_of"] = pd.Timestamp(as_of)
    for column, _, check in schema.rules:
        try:
            messages = check(distinct)
        except KeyError:  # an optional column the rule needs is absent
            continue
        for r, msg in messages.dropna().items():
            problems.append(Problem(file, int(r), shown.get(column, column), msg))

    for c in present:
        for r, msg in errors[c].dropna().items():
            problems.append(Problem(file, int(r), shown[c], msg))
    order = {c: i for i, c in enumerate(shown.values())}
    problems.sort(key=lambda p: (p.row or 0, order.get(p.column or "", -1)))
    return _Checked(parsed, problems, encoding, ignored)


def validate_partner(path: str | Path, kind: str, *, as_of: date | str | None = None
                     ) -> list[Problem]:
    """Check a partner-data file against its template and list every problem.

    Used by ``sa validate FILE --kind KIND``.  Nothing is pseudonymised, so no
    key is needed.

    Parameters
    ----------
    path : str or Path
        The CSV file.
    kind : str
        One of :data:`PARTNER_KINDS` (e.g. ``"domestic_abuse"``).
    as_of : date or str, optional
        "Today" for the future-date check (default: the real today).

    Returns
    -------
    list of Problem
        Empty when the file is valid.  File problems never raise.

    Raises
    ------
    OptionError
        Unknown ``kind`` or bad ``as_of``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "s136.csv"
    >>> _ = f.write_text("month,detentions\\n2025-01,5\\n2025-02,-1\\n")
    >>> [str(p).split(", ", 1)[1] for p in validate_partner(f, "section_136")]
    ["row 3, column 'detentions': '-1' is negative (a count is a whole number >= 0)"]
    """
    schema = _schema(kind)
    return _check(path, schema, _as_of(as_of)).problems


# --------------------------------------------------------------------------- pseudonyms


def _pseudonym_key(key: str | bytes | None) -> bytes:
    if key is None:
        key = os.environ.get(PSEUDONYM_KEY_ENV)
    how = (f"set the environment variable {PSEUDONYM_KEY_ENV} (e.g. to the output of "
           "`python -c \"import secrets; print(secrets.token_hex(32))\"`, kept outside the "
           "repository) or pass pseudonymise_key=")
    if key is None or not str(key if isinstance(key, str) else key.decode(errors="replace")).strip():
        raise OptionError(f"a pseudonymisation key is needed to load personal identifiers: {how}")
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if len(raw) < _MIN_KEY_LENGTH:
        raise OptionError(f"pseudonymise_key is too short ({len(raw)} characters; at least "
                          f"{_MIN_KEY_LENGTH} needed): {how}")
    return raw


def pseudonymise(values: pd.Series, key: str | bytes) -> pd.Series:
    """Replace identifiers by a keyed hash: HMAC-SHA256, first 16 hex characters.

    Identifiers are stripped of surrounding spaces first; blanks stay blank.
    The same key always gives the same pseudonym for the same identifier; without
    the key a pseudonym cannot be traced back or recomputed.

    Parameters
    ----------
    values : Series
        Raw identifiers.
    key : str or bytes
        Secret key, at least 16 characters.

    Returns
    -------
    Series
        Pseudonyms (text), same index.

    Raises
    ------
    OptionError
        Missing or too short key.

    Examples
    --------
    >>> p = pseudonymise(pd.Series(["V1", "V2", "V1"]), key="not-a-real-key-0123")
    >>> p[0] == p[2], p[0] == p[1], len(p[0])
    (True, False, 16)
    """
    secret = _pseudonym_key(key)
    text = values.astype("string").str.strip()
    codes, uniques = pd.factorize(text)
    # One HMAC per distinct identifier; hashing cannot be vectorised further.
    hashed = np.array([hmac.new(secret, u.encode("utf-8"), hashlib.sha256).hexdigest()
                       [:_PSEUDONYM_LENGTH] for u in uniques], dtype=object)
    out = np.where(codes >= 0, hashed[np.maximum(codes, 0)] if len(hashed) else None, None)
    return pd.Series(out, index=values.index, dtype="str")


def read_partner(path: str | Path, kind: str, pseudonymise_key: str | bytes | None = None, *,
                 as_of: date | str | None = None) -> pd.DataFrame:
    """Load a partner-data file, validated against its template, as a tidy typed frame.

    Parameters
    ----------
    path : str or Path
        The CSV file (see the module docstring for accepted encodings and formats).
    kind : str
        One of :data:`PARTNER_KINDS`.
    pseudonymise_key : str or bytes, optional
        Key for hashing personal identifiers (``victim_id``, ``visitor_id``);
        default: the ``SA_PSEUDONYM_KEY`` environment variable.  Only needed for
        kinds with such identifiers.
    as_of : date or str, optional
        "Today" for the future-date check (default: the real today).

    Returns
    -------
    DataFrame
        Every template column (absent optional columns are all-missing) with
        snake_case names and proper dtypes: dates ``datetime64``, months
        ``period[M]``, counts and years ``Int64``, numbers ``float64``, allowed
        values lower-case ``category``, flags ``boolean``, text ``str``.
        ``period`` (action plan) adds ``period_start``/``period_end`` and
        ``cohort_period`` (reoffending) adds ``cohort_start``/``cohort_end``.
        Personal identifiers hold pseudonyms, never the raw values.  ``attrs``
        records ``kind``, ``source``, ``encoding``, ``ignored_columns`` and
        ``pseudonymised`` columns.

    Raises
    ------
    DataValidationError
        Every problem in the file at once (file, row, column, what was expected).
    OptionError
        Unknown ``kind``, or a kind with personal identifiers and no key.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "needles.csv"
    >>> _ = f.write_text("Month,Finds\\r\\nJan-25,61\\r\\n2025-02,\\"1,002\\"\\r\\n")
    >>> df = read_partner(f, "needle_finds")
    >>> df["month"].astype(str).tolist(), df["finds"].tolist()
    (['2025-01', '2025-02'], [61, 1002])
    """
    schema = _schema(kind)
    day = _as_of(as_of)
    secret = _pseudonym_key(pseudonymise_key) if schema.pseudonymised_columns else None
    checked = _check(path, schema, day)
    if checked.problems:
        raise DataValidationError(checked.problems)
    parsed = checked.frame
    assert parsed is not None
    out = pd.DataFrame(index=parsed.index)
    for col in schema.columns:
        if col.name in parsed:
            values, extra = parsed[col.name], _extra_columns(col, parsed)
        else:  # an absent optional column: all missing, with the column's dtype
            empty = _PARSERS[col.type](pd.Series(pd.NA, index=parsed.index, dtype="str"), col, day)
            values, extra = empty.values, empty.extra or {}
        if col.type == "pseudonym":
            assert secret is not None
            values = pseudonymise(values, secret)
        out[col.name] = values
        for k, v in extra.items():
            out[k] = v
    out = out.reset_index(drop=True)
    out.attrs = {
        "kind": kind,
        "source": str(path),
        "encoding": checked.encoding,
        "ignored_columns": list(checked.ignored),
        "pseudonymised": list(schema.pseudonymised_columns),
    }
    return out


# --------------------------------------------------------------------------- templates


def _csv_line(values: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(values)
    return buf.getvalue()


def _readme() -> str:
    lines = [
        "# Partner data templates",
        "",
        "<!-- Generated by sa_lib.data.partner.write_templates(); edit the schemas in "
        "sa_lib/partner.py, not this file. -->",
        "",
        "One CSV template per kind of partner data a strategic assessment uses. Each file "
        "holds the header and ONE example row: replace the example with your data. Check a "
        "file with `sa validate FILE --kind KIND`; load it with "
        "`sa_lib.data.partner.read_partner(path, kind)`.",
        "",
        "Partner data are never public and never committed to the repository.",
        "",
        "## Accepted file formats (all kinds)",
        "",
        "- Encoding: UTF-8 (with or without BOM) or Windows-1252 (Excel's plain "
        "\"CSV (Comma delimited)\"); LF or CRLF line endings. Not .xlsx, not UTF-16.",
        "- Header names are matched ignoring case, spaces and punctuation. Optional columns "
        "may be left out. Unknown columns are ignored and dropped on load (a near-miss of a "
        "template column is reported as a probable misspelling).",
        "- Every row must have as many fields as the header; unbalanced quotes and truncated "
        "lines are refused. Blank rows are skipped.",
        "- A blank cell means no value and is allowed only in optional columns (`n/a` is not "
        "blank).",
        "- Dates: `yyyy-mm-dd`, `dd/mm/yyyy` (always day first) or a five-digit Excel day "
        "number (45658 = 2025-01-01); a time after the date is dropped. Two-digit years, "
        "impossible dates, dates before 1990 and future dates are refused.",
        "- Months: `yyyy-mm`; also `Jan-25`, `Jan 2025`, `January 2025` or a date on the 1st. "
        "Future months are refused.",
        "- Counts: whole numbers >= 0 (thousands separators allowed).",
        "- Allowed values: any letter case; returned in lower case.",
        "- Flags: yes/no (also y/n, true/false, 1/0).",
        "- Exact duplicate rows and repeated identifiers are refused.",
        "",
        "## Personal identifiers",
        "",
        f"`pseudonym` columns are replaced on load by HMAC-SHA256 (first {_PSEUDONYM_LENGTH} hex "
        f"characters) with a secret key from the `{PSEUDONYM_KEY_ENV}` environment variable "
        "(or `pseudonymise_key=`). Keep the key outside the repository; the same key gives the "
        "same pseudonym, so repeats can be counted across files and years.",
        "",
    ]
    for schema in PARTNER_KINDS.values():
        lines += [
            f"## `{schema.kind}`: {schema.title}",
            "",
            schema.description,
            "",
            f"Usual source: {schema.source}. Template: `{schema.kind}.csv`.",
            "",
            "| column | type | required | accepts | description |",
            "|---|---|---|---|---|",
        ]
        for c in schema.columns:
            lines.append(f"| `{c.name}` | {c.type} | {'yes' if c.required else 'no'} | "
                         f"{c.rule} | {c.description} |")
        checks = []
        if schema.unique_together:
            checks.append(f"{' + '.join(schema.unique_together)} is unique")
        checks += [desc for _, desc, _ in schema.rules]
        if checks:
            lines += ["", "Checks across columns: " + "; ".join(checks) + "."]
        lines.append("")
    return "\n".join(lines)


def write_templates(folder: str | Path = TEMPLATES_DIR) -> dict[str, Path]:
    """Write ``<kind>.csv`` (header + one example row) for every kind, and ``README.md``.

    Parameters
    ----------
    folder : str or Path
        Target folder, created if needed (default ``data/templates``).

    Returns
    -------
    dict
        kind -> template path (the README is ``folder / "README.md"``).

    Examples
    --------
    >>> import tempfile
    >>> paths = write_templates(tempfile.mkdtemp())
    >>> paths["ksi"].read_text()
    'year,killed,seriously_injured,age_17_24\\n2024,3,47,9\\n'
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for kind, schema in PARTNER_KINDS.items():
        target = folder / f"{kind}.csv"
        target.write_text(_csv_line(list(schema.column_names))
                          + _csv_line(list(schema.example_row.values())),
                          encoding="utf-8", newline="")
        out[kind] = target
    (folder / "README.md").write_text(_readme(), encoding="utf-8", newline="")
    return out
