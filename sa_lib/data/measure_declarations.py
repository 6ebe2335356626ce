"""Partner measures declared in the parameters file (``measures:``), checked like every key.

A declaration names a return by file pattern (in ``data.partner``), the column
that dates each row, the counting rule, and the unit, frequency, improvement
direction, description and noun; :meth:`MeasureDeclaration.spec` turns it into a
:class:`~sa_lib.data.measures.MeasureSpec` of the same registry as the built-ins::

    measures:
      Hate crime incidents:
        file: "*hate_crime*.csv"
        date: date                  # or month: <column> (yyyy-mm), or year: <column>
        count: rows                 # or {column: category, equals: racial} or {sum: column}
        unit: count                 # or percent, with numerator: and denominator: rules
        frequency: monthly
        improvement: decrease
        description: Hate crime incidents reported to the council
        noun: incidents

A rate may count repeats: ``numerator: repeats``, ``denominator: rows`` and
``victim: <column>`` (``lookback_days``, default 365), like the domestic abuse
repeat rate.  The columns are checked when the file is read
(:func:`sa_lib.data.measures.declared_schema`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from sa_lib.data.measures import MeasureSpec, Rule, TimeSpec
from sa_lib.data.parameter_checks import check_text

__all__ = ["MeasureDeclaration", "parse_rule"]


def _column(v: str) -> str:
    snake = re.sub(r"[^0-9a-z]+", "_", v.strip().lower()).strip("_")
    if not snake:
        raise ValueError(f"column {v!r} has no letter or digit; expected a column name of the "
                         "return, e.g. date")
    return snake


#: A column of the return, matched as the loaders match headers (case, spaces, punctuation).
Column = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(check_text),
                   AfterValidator(_column)]

_RULE_HELP = ("expected rows, repeats, {column: <column>, equals: <value>} or "
              "{sum: <column>} (or a list of columns)")


def parse_rule(v: Any, victim: str | None = None, lookback_days: int = 365) -> Rule:
    """A counting rule from its YAML form.

    Examples
    --------
    >>> parse_rule({"column": "Category", "equals": "racial"}).describe()
    "rows where category is 'racial'"
    >>> parse_rule({"sum": ["killed", "seriously injured"]}).columns
    ('killed', 'seriously_injured')
    """
    if v == "rows":
        return Rule("rows")
    if v == "repeats":
        if victim is None:
            raise ValueError("'repeats' needs victim: <the victim-id column>")
        return Rule("repeats", (victim,), lookback_days=lookback_days)
    if isinstance(v, dict) and set(v) == {"column", "equals"}:
        if not isinstance(v["column"], str) or not isinstance(v["equals"], str | int):
            raise ValueError(f"column and equals must be text; {_RULE_HELP}")
        return Rule("equals", (_column(check_text(v["column"])),), str(v["equals"]).strip())
    if isinstance(v, dict) and set(v) == {"sum"}:
        cols = v["sum"] if isinstance(v["sum"], list) else [v["sum"]]
        if not cols or not all(isinstance(c, str) for c in cols):
            raise ValueError(f"sum must name a column or a list of columns; {_RULE_HELP}")
        return Rule("sum", tuple(_column(check_text(c)) for c in cols))
    shown = repr(v) if len(repr(v)) <= 60 else repr(v)[:57] + "..."
    keys = f" (keys {sorted(map(str, v))})" if isinstance(v, dict) else ""
    raise ValueError(f"{shown}{keys} is not a counting rule; {_RULE_HELP}")


class MeasureDeclaration(BaseModel):
    """One partner measure declared in the parameters file (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str = Field(min_length=1, max_length=200)
    date: Column | None = None
    month: Column | None = None
    year: Column | None = None
    count: Any = None
    numerator: Any = None
    denominator: Any = None
    victim: Column | None = None
    lookback_days: int = Field(default=365, ge=1, le=3650)
    unit: Literal["count", "percent"] = "count"
    frequency: Literal["monthly", "annual"] | None = None
    improvement: Literal["increase", "decrease", "neutral"] = "decrease"
    description: Annotated[str, Field(min_length=1, max_length=300),
                           AfterValidator(check_text)]
    noun: Annotated[str, Field(max_length=40), AfterValidator(check_text)] = ""

    @model_validator(mode="after")
    def _consistent(self) -> MeasureDeclaration:
        problems = []
        f = self.file
        if "/" in f or "\\" in f or f.startswith(".") or not f.lower().endswith(".csv"):
            problems.append(f"file: {f!r} is not a file-name pattern; expected a CSV name in "
                            "data.partner such as '*hate_crime*.csv' (no folder)")
        times = [k for k in ("date", "month", "year") if getattr(self, k) is not None]
        if len(times) != 1:
            problems.append("expected exactly one of date, month or year (the column that "
                            f"dates each row); got {times or 'none'}")
        rules = {k: getattr(self, k) for k in ("count", "numerator", "denominator")
                 if getattr(self, k) is not None}
        if self.unit == "count" and set(rules) != {"count"}:
            problems.append("unit count needs count: <rule> (and no numerator/denominator); "
                            + _RULE_HELP)
        if self.unit == "percent" and set(rules) != {"numerator", "denominator"}:
            problems.append("unit percent needs numerator: <rule> and denominator: <rule> (and "
                            "no count); " + _RULE_HELP)
        for key, value in rules.items():
            try:
                rule = parse_rule(value, self.victim, self.lookback_days)
            except ValueError as exc:
                problems.append(f"{key}: {exc}")
                continue
            if rule.how == "repeats" and self.date is None:
                problems.append(f"{key}: repeats needs date: <column> (one incident per row)")
        if self.victim is not None and "repeats" not in rules.values():
            problems.append("victim: only used by a repeats rule (numerator: repeats)")
        expected = "annual" if self.year is not None else "monthly"
        if times and self.frequency not in (None, expected):
            problems.append(f"frequency: {self.frequency!r} does not fit {times[0]}: (rows "
                            f"dated by {times[0]}); expected {expected!r}")
        if not problems:
            spec = self.spec()
            types: dict[str, str] = {}
            for how, cols in [(spec.time.how, spec.time.columns)] + [
                    (r.how, r.columns) for r in spec.rules]:
                for c in cols:
                    if types.setdefault(c, how) != how:
                        problems.append(f"column {c!r} is read as {types[c]} and as {how}; "
                                        "expected each column to be read one way")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def spec(self) -> MeasureSpec:
        """This declaration as a registry entry (:class:`~sa_lib.data.measures.MeasureSpec`).

        Examples
        --------
        >>> d = MeasureDeclaration(file="*hate_crime*.csv", date="Date", count="rows",
        ...                        description="Hate crime incidents", noun="incidents")
        >>> s = d.spec()
        >>> s.kind, s.time.columns, s.rule.how, s.frequency, s.declared
        ('*hate_crime*.csv', ('date',), 'rows', 'monthly', True)
        """
        how = "date" if self.date else "month" if self.month else "year"
        column = self.date or self.month or self.year
        assert column is not None

        def rule(v: Any) -> Rule:
            return parse_rule(v, self.victim, self.lookback_days)

        percent = self.unit == "percent"
        return MeasureSpec(
            kind=self.file, unit=self.unit,
            frequency=self.frequency or ("annual" if how == "year" else "monthly"),
            description=self.description, noun=self.noun, time=TimeSpec(how, (column,)),
            rule=rule(self.numerator if percent else self.count),
            denominator=rule(self.denominator) if percent else None,
            improvement=self.improvement, declared=True)
