"""The partner measures the workbook knows (one registry), and loading the returns behind them.

Every partner measure is a declarative :class:`MeasureSpec`: the return it comes
from (a built-in kind, or a file pattern for a measure declared in the parameters
file), the column that dates each row (:class:`TimeSpec`), the rule that counts
(:class:`Rule`: count rows, count rows where a column has a value, sum columns,
or count repeats of a victim), an optional denominator rule for a rate, and its
unit, frequency, default improvement direction, description and noun.

:data:`PARTNER_MEASURES` is the registry: the 11 built-in measures plus the
measures declared under ``measures:`` in the parameters file loaded last
(:func:`sa_lib.data.parameters.load_parameters` declares them).
:func:`load_partner_data` validates and loads every return in a folder, built-in
kinds and declared ones alike.  Turning the returns into tidy observations is
:mod:`sa_lib.stats.observations`.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from sa_lib.data.partner import PSEUDONYM_KEY_ENV, read_partner, read_partner_return
from sa_lib.data.partner_schema import PARTNER_KINDS, PartnerSchema, generic_schema
from sa_lib.errors import DataValidationError, OptionError, Problem

__all__ = [
    "PARTNER_MEASURES",
    "BUILTIN_MEASURES",
    "MeasureRegistry",
    "MeasureSpec",
    "Rule",
    "TimeSpec",
    "find_partner_files",
    "find_declared_files",
    "declared_schema",
    "load_partner_data",
]


@dataclass(frozen=True)
class Rule:
    """How a measure counts the rows of its return (per period).

    Attributes
    ----------
    how : {"rows", "equals", "sum", "repeats"}
        ``rows`` counts rows; ``equals`` counts rows whose ``columns[0]`` equals
        ``value`` (ignoring case and surrounding spaces); ``sum`` adds up
        ``columns`` (a row's value is the sum of its columns); ``repeats`` counts
        rows whose victim (``columns[0]``) had an earlier row no more than
        ``lookback_days`` days before (:func:`sa_lib.stats.repeat.flag_repeats`,
        same-day rows ordered by ``order_by``).
    columns : tuple of str
        The columns the rule reads (snake_case, as the loaded return names them).
    value : str
        The value ``equals`` looks for.
    lookback_days : int
        The look-back of ``repeats``.
    order_by : str or None
        Tie-break column of ``repeats`` for rows on the same day.

    Examples
    --------
    >>> Rule("equals", ("risk_level",), "high").describe()
    "rows where risk_level is 'high'"
    """

    how: Literal["rows", "equals", "sum", "repeats"]
    columns: tuple[str, ...] = ()
    value: str = ""
    lookback_days: int = 365
    order_by: str | None = None

    def describe(self) -> str:
        """The rule in words."""
        if self.how == "rows":
            return "rows"
        if self.how == "equals":
            return f"rows where {self.columns[0]} is {self.value!r}"
        if self.how == "sum":
            return "sum of " + " + ".join(self.columns)
        return f"rows whose {self.columns[0]} had a row in the previous {self.lookback_days} days"


@dataclass(frozen=True)
class TimeSpec:
    """Which column(s) place a row of a return in time.

    ``date`` (one incident per row: counted per month, with explicit zeros between
    the first and last month), ``month`` (rows summed per month), ``year`` (a row
    covers January to December) or ``span`` (a row covers ``columns[0]`` to
    ``columns[1]``, dates or months).

    Examples
    --------
    >>> TimeSpec("date", ("date",)).columns
    ('date',)
    """

    how: Literal["date", "month", "year", "span"]
    columns: tuple[str, ...]


@dataclass(frozen=True)
class MeasureSpec:
    """What a partner measure is, which return it comes from and how it is counted.

    Attributes
    ----------
    kind : str
        The return: a built-in kind (:data:`~sa_lib.data.partner_schema.PARTNER_KINDS`)
        or, for a declared measure, its file pattern (e.g. ``"*hate_crime*.csv"``).
    unit : {"count", "percent"}
    frequency : {"monthly", "quarterly", "annual"}
    description, noun : str
        What the measure counts, and the noun of its counts ("incidents").
    time : TimeSpec
        The date, month, year or span column(s).
    rule : Rule
        The count (or a rate's numerator).
    denominator : Rule or None
        A rate's denominator (``unit == "percent"``).
    improvement : {"decrease", "increase", "neutral"}
        Which way is better, unless the parameters' ``improvement`` says otherwise.
    declared : bool
        Declared in the parameters file (its return is read by pattern).

    Examples
    --------
    >>> PARTNER_MEASURES["Needle finds"].rule.describe()
    'sum of finds'
    """

    kind: str
    unit: str
    frequency: str
    description: str
    noun: str = ""
    time: TimeSpec = TimeSpec("date", ("date",))
    rule: Rule = Rule("rows")
    denominator: Rule | None = None
    improvement: str = "decrease"
    declared: bool = False

    @property
    def rules(self) -> tuple[Rule, ...]:
        """The rule and (for a rate) the denominator."""
        return (self.rule,) if self.denominator is None else (self.rule, self.denominator)

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column the measure reads (time columns first)."""
        cols = list(self.time.columns)
        for r in self.rules:
            cols += [c for c in (*r.columns, *([r.order_by] if r.order_by else [])) if c]
        return tuple(dict.fromkeys(cols))


_DA_DATE = TimeSpec("date", ("date",))

#: The built-in measures, in the order their observations are built.
BUILTIN_MEASURES: dict[str, MeasureSpec] = {
    "Domestic abuse incidents": MeasureSpec(
        "domestic_abuse", "count", "monthly", "Domestic abuse incidents recorded by the police",
        "incidents", _DA_DATE, Rule("rows")),
    "Domestic abuse repeat rate": MeasureSpec(
        "domestic_abuse", "percent", "monthly",
        "% of domestic abuse incidents whose victim had another incident in the previous 365 days",
        "", _DA_DATE, Rule("repeats", ("victim_id",), lookback_days=365, order_by="incident_id"),
        Rule("rows")),
    "High-risk domestic abuse incidents": MeasureSpec(
        "domestic_abuse", "count", "monthly", "Domestic abuse incidents assessed as high risk",
        "incidents", _DA_DATE, Rule("equals", ("risk_level",), "high")),
    "Council ASB incidents": MeasureSpec(
        "asb_council", "count", "monthly", "Anti-social behaviour reported to the council",
        "incidents", _DA_DATE, Rule("rows")),
    "One-stop-shop visits": MeasureSpec(
        "one_stop_shop", "count", "monthly", "Visits to the domestic abuse one-stop shop", "visits",
        _DA_DATE, Rule("rows")),
    "Needle finds": MeasureSpec(
        "needle_finds", "count", "monthly", "Discarded needles collected by street scene",
        "needles", TimeSpec("month", ("month",)), Rule("sum", ("finds",))),
    "Needle exchanges": MeasureSpec(
        "needle_finds", "count", "monthly", "Needle exchange transactions", "exchanges",
        TimeSpec("month", ("month",)), Rule("sum", ("needle_exchanges",))),
    "Section 136 detentions": MeasureSpec(
        "section_136", "count", "monthly", "Mental Health Act section 136 detentions",
        "detentions", TimeSpec("month", ("month",)), Rule("sum", ("detentions",))),
    "Substance misuse admissions": MeasureSpec(
        "substance_admissions", "count", "annual",
        "Hospital admissions for disorders due to psychoactive substances", "admissions",
        TimeSpec("span", ("period_start", "period_end")), Rule("sum", ("admissions",))),
    "KSI casualties": MeasureSpec(
        "ksi", "count", "annual", "People killed or seriously injured on the roads", "casualties",
        TimeSpec("year", ("year",)), Rule("sum", ("killed", "seriously_injured"))),
    "Proven reoffending rate": MeasureSpec(
        "reoffending", "percent", "quarterly", "% of the offender cohort who proved to reoffend",
        "", TimeSpec("span", ("cohort_start", "cohort_end")), Rule("sum", ("reoffenders",)),
        Rule("sum", ("cohort_size",))),
}


class MeasureRegistry(Mapping[str, MeasureSpec]):
    """Every partner measure by name: the built-ins, then the declared ones.

    Declared measures come from the parameters file
    (:meth:`declare`, called by :func:`sa_lib.data.parameters.load_parameters`);
    declaring again replaces them, the built-ins never change.

    Examples
    --------
    >>> reg = MeasureRegistry(BUILTIN_MEASURES)
    >>> len(reg), "KSI casualties" in reg
    (11, True)
    >>> reg.declare({"Hate crime": MeasureSpec("*hate*.csv", "count", "monthly", "Hate crime",
    ...                                          declared=True)})
    >>> len(reg), list(reg.declared)
    (12, ['Hate crime'])
    """

    def __init__(self, builtin: Mapping[str, MeasureSpec]) -> None:
        self._builtin = dict(builtin)
        self._declared: dict[str, MeasureSpec] = {}

    @property
    def builtin(self) -> dict[str, MeasureSpec]:
        """The built-in measures."""
        return dict(self._builtin)

    @property
    def declared(self) -> dict[str, MeasureSpec]:
        """The measures declared by the parameters file loaded last."""
        return dict(self._declared)

    def declare(self, specs: Mapping[str, MeasureSpec]) -> None:
        """Replace the declared measures (a built-in name is refused)."""
        clash = sorted(set(specs) & set(self._builtin))
        if clash:
            raise OptionError(f"measures {clash} are built-in measures; declare another name")
        self._declared = dict(specs)

    def __getitem__(self, name: str) -> MeasureSpec:
        if name in self._builtin:
            return self._builtin[name]
        return self._declared[name]

    def __iter__(self) -> Iterator[str]:
        yield from self._builtin
        yield from (n for n in self._declared if n not in self._builtin)

    def __len__(self) -> int:
        return len(self._builtin) + len(set(self._declared) - set(self._builtin))


#: Every measure :func:`~sa_lib.stats.observations.partner_observations` can derive, by name.
PARTNER_MEASURES = MeasureRegistry(BUILTIN_MEASURES)


def find_partner_files(folder: str | Path) -> dict[str, Path]:
    """The partner return of each kind in a folder: ``<anything>_<kind>.csv`` or ``<kind>.csv``.

    Raises
    ------
    OptionError
        Two files in the folder claim the same kind (the names are given).

    Examples
    --------
    >>> from sa_lib.paths import DATA_DIR
    >>> sorted(find_partner_files(DATA_DIR / "synthetic"))[:3]
    ['action_plan', 'asb_council', 'domestic_abuse']
    """
    found: dict[str, Path] = {}
    files = sorted(Path(folder).glob("*.csv"))
    # Longest kind names first, so "x_asb_council.csv" is never taken for a shorter kind.
    for kind in sorted((k for k in PARTNER_KINDS if k != "morile_sheet"), key=len, reverse=True):
        hits = [f for f in files if f.stem == kind or f.stem.endswith("_" + kind)]
        hits = [f for f in hits if f not in found.values()]
        if len(hits) > 1:
            raise OptionError(f"{folder}: more than one {kind} file: {[h.name for h in hits]}; "
                              "keep one per kind")
        if hits:
            found[kind] = hits[0]
    return dict(sorted(found.items()))


def _declared_by_pattern(measures: Mapping[str, MeasureSpec]) -> dict[str, dict[str, MeasureSpec]]:
    out: dict[str, dict[str, MeasureSpec]] = {}
    for name, spec in measures.items():
        if spec.declared:
            out.setdefault(spec.kind, {})[name] = spec
    return out


def find_declared_files(folder: str | Path, measures: Mapping[str, MeasureSpec]
                        ) -> dict[str, Path]:
    """The return of each declared measure's file pattern in a folder, by pattern.

    Raises
    ------
    DataValidationError
        A pattern matches no file, more than one, or a built-in kind's return
        (naming the measure, its ``measures.<name>.file`` key and the folder).

    Examples
    --------
    >>> from sa_lib.paths import DATA_DIR
    >>> spec = MeasureSpec("*_ksi.csv", "count", "annual", "KSI", declared=True)
    >>> try:
    ...     find_declared_files(DATA_DIR / "synthetic", {"KSI again": spec})
    ... except DataValidationError as exc:
    ...     print(exc.problems[0].message.split(";")[0])
    measures.KSI again.file '*_ksi.csv' (measure 'KSI again') matches a built-in partner return
    """
    builtin = set(find_partner_files(folder).values())
    found: dict[str, Path] = {}
    problems = []
    for pattern, specs in _declared_by_pattern(measures).items():
        names = ", ".join(repr(n) for n in specs)
        key = f"measures.{next(iter(specs))}.file"
        hits = sorted(p for p in Path(folder).glob(pattern) if p.is_file())
        where = f"{key} {pattern!r} (measure {names})"
        if not hits:
            problems.append(Problem(str(folder), None, None, f"no file matches {where}; expected "
                                    "one return in data.partner whose name fits the pattern"))
        elif len(hits) > 1:
            problems.append(Problem(str(folder), None, None, f"{len(hits)} files match {where}: "
                                    f"{', '.join(h.name for h in hits)}; expected exactly one"))
        elif hits[0] in builtin:
            problems.append(Problem(str(hits[0]), None, None, f"{where} matches a built-in "
                                    "partner return; expected a pattern that fits only the "
                                    "declared return"))
        else:
            found[pattern] = hits[0]
    if problems:
        raise DataValidationError(problems)
    return found


_COLUMN_TYPE = {"date": "date", "month": "month", "year": "year", "equals": "text", "sum": "number",
                "repeats": "pseudonym"}


def declared_column_types(specs: Mapping[str, MeasureSpec]) -> dict[str, str]:
    """Column -> template type of the columns some declared measures read from one return.

    A column read two ways (a date in one measure, a sum in another) keeps its
    first use; :mod:`sa_lib.data.measure_declarations` refuses such declarations.

    Examples
    --------
    >>> spec = MeasureSpec("*hate*.csv", "count", "monthly", "Hate crime",
    ...                    rule=Rule("equals", ("category",), "racial"), declared=True)
    >>> declared_column_types({"Racial hate crime": spec})
    {'date': 'date', 'category': 'text'}
    """
    types: dict[str, str] = {}
    for spec in specs.values():
        for c in spec.time.columns:
            types.setdefault(c, _COLUMN_TYPE[spec.time.how])
        for r in spec.rules:
            for c in r.columns:
                types.setdefault(c, _COLUMN_TYPE.get(r.how, "text"))
            if r.order_by:
                types.setdefault(r.order_by, "text")
    return types


def declared_schema(pattern: str, specs: Mapping[str, MeasureSpec]) -> PartnerSchema:
    """The template a declared return is checked against: the columns its measures read.

    Every column is required and every cell filled; other columns in the file
    are ignored (a misspelt one is reported with the likely intended name).

    Examples
    --------
    >>> spec = MeasureSpec("*hate*.csv", "count", "monthly", "Hate crime", declared=True)
    >>> declared_schema("*hate*.csv", {"Hate crime": spec}).column_names
    ('date',)
    """
    names = ", ".join(repr(n) for n in specs)
    return generic_schema(pattern, f"the return of {names}", declared_column_types(specs))


def load_partner_data(folder: str | Path, pseudonymise_key: str | bytes | None = None,
                      as_of: object = None, measures: Mapping[str, MeasureSpec] | None = None
                      ) -> dict[str, pd.DataFrame]:
    """Load and validate every partner return in a folder, by kind (or declared file pattern).

    Personal identifiers are pseudonymised with ``pseudonymise_key``, else the
    ``SA_PSEUDONYM_KEY`` environment variable, else a random key made for this
    call: pseudonyms then match within the call (enough to count repeats) but
    cannot be linked to any other run.  A file whose name starts with
    ``synthetic`` is marked ``attrs["synthetic"] = True``.

    Parameters
    ----------
    folder : path
        ``data.partner``.
    pseudonymise_key : str or bytes, optional
    as_of : date or str, optional
        "Today" for the future-date check.
    measures : mapping of name -> MeasureSpec, optional
        The measures whose declared returns are read too (default:
        :data:`PARTNER_MEASURES`, i.e. those of the parameters file loaded last).
        A declared return is keyed by its file pattern and checked for the columns
        its measures read (:func:`declared_schema`).

    Examples
    --------
    >>> from sa_lib.paths import DATA_DIR
    >>> data = load_partner_data(DATA_DIR / "synthetic", measures=BUILTIN_MEASURES)
    >>> data["section_136"].attrs["synthetic"], len(data["section_136"])
    (True, 60)
    """
    key = pseudonymise_key or os.environ.get(PSEUDONYM_KEY_ENV) or secrets.token_hex(32)
    out = {}
    for kind, path in find_partner_files(folder).items():
        frame = read_partner(path, kind, pseudonymise_key=key, as_of=as_of)  # type: ignore[arg-type]
        frame.attrs["synthetic"] = path.name.lower().startswith("synthetic")
        out[kind] = frame
    measures = PARTNER_MEASURES if measures is None else measures
    declared = _declared_by_pattern(measures)
    for pattern, path in find_declared_files(folder, measures).items():
        frame = read_partner_return(path, declared_schema(pattern, declared[pattern]),
                                    pseudonymise_key=key, as_of=as_of)  # type: ignore[arg-type]
        frame.attrs["synthetic"] = path.name.lower().startswith("synthetic")
        out[pattern] = frame
    return out
