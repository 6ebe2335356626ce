"""Repeat victimisation, repeat visits and repeat locations.

A strategic assessment reports the share of domestic abuse incidents that
involve a *repeat victim*.  Forces define "repeat" differently, so the
look-back and the base of the rate are parameters, and every table carries a
plain-English definition to print underneath it (notes, section 2.5).

The rule, applied to any key (victim, one-stop-shop visitor, location):

* Incidents are ordered by key, then date and time, then ``order_by`` (e.g. an
  incident reference) if given, then row order.
* An incident is a **repeat** when the incident just before it in that order
  has the same key and its calendar date is at most ``lookback_days`` days
  earlier.  Only the previous incident needs checking: if any earlier incident
  is inside the look-back, the most recent one is too.
* Gaps are whole calendar days (times of day are ignored), so with the default
  365 days an incident exactly 365 days earlier counts and one 366 days earlier
  does not.
* Two incidents for one key on the same date: the later one in the order
  above (later time, else later ``order_by`` value, else later row) is a
  repeat (gap 0 days), the first is not.
* Incidents before the counting window are look-back history only: they can
  make an incident in the window a repeat, but are not counted themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from sa_lib.errors import OptionError

__all__ = [
    "SUBJECTS",
    "flag_repeats",
    "repeat_definition",
    "repeat_victim_rate",
]

EN_DASH = "\u2013"
Base = Literal["incidents", "victims"]
BASES: tuple[str, ...] = ("incidents", "victims")

#: Wording for each ``subject``: (key singular, key plural, event singular, event plural).
SUBJECTS: dict[str, tuple[str, str, str, str]] = {
    "victim": ("victim", "victims", "incident", "incidents"),
    "visitor": ("visitor", "visitors", "visit", "visits"),
    "location": ("location", "locations", "incident", "incidents"),
}

_RESULT_COLUMNS = (
    "incidents",
    "repeat_incidents",
    "victims",
    "repeat_victims",
    "rate",
    "base",
    "lookback_days",
    "definition",
)


# --------------------------------------------------------------------------- validation
def _check_lookback(lookback_days: object) -> int:
    if isinstance(lookback_days, bool) or not isinstance(lookback_days, int | np.integer):
        raise OptionError(
            f"lookback_days must be a positive whole number of days, got {lookback_days!r}"
        )
    if lookback_days <= 0:
        raise OptionError(f"lookback_days must be positive, got {lookback_days!r}")
    return int(lookback_days)


def _check_base(base: object) -> str:
    if base not in BASES:
        raise OptionError(f"base must be one of {BASES}, got {base!r}")
    return str(base)


def _check_subject(subject: object) -> tuple[str, str, str, str]:
    if subject not in SUBJECTS:
        raise OptionError(f"subject must be one of {tuple(SUBJECTS)}, got {subject!r}")
    return SUBJECTS[str(subject)]


def _check_column(frame: pd.DataFrame, column: object, argument: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise OptionError(f"incidents must be a pandas DataFrame, got {type(frame).__name__}")
    if column not in frame.columns:
        raise OptionError(
            f"{argument}={column!r} is not a column; columns are {list(frame.columns)}"
        )


def _missing(values: pd.Series) -> np.ndarray:
    """Missing values, counting blank strings as missing."""
    miss = values.isna().to_numpy(dtype=bool)
    if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_datetime64_any_dtype(values)):
        blank = values.map(lambda v: isinstance(v, str) and v.strip() == "")
        miss = miss | blank.to_numpy(dtype=bool)
    return miss


def _require_present(values: pd.Series, column: str, what: str) -> None:
    miss = _missing(values)
    if miss.any():
        first = int(np.flatnonzero(miss)[0])
        raise OptionError(
            f"column {column!r} has {int(miss.sum())} row(s) with no {what} "
            f"(first at row position {first}); fix or remove them rather than "
            "letting them drop out of the count"
        )


def _parse_dates(values: pd.Series, column: str) -> pd.Series:
    """Dates as naive datetime64 (local wall time); ISO strings are parsed."""
    _require_present(values, column, "date")
    if pd.api.types.is_datetime64_any_dtype(values):
        parsed = values
    else:
        try:
            parsed = pd.to_datetime(values, format="ISO8601", errors="coerce")
        except (ValueError, TypeError) as exc:  # e.g. mixed time zones
            raise OptionError(f"column {column!r} could not be read as dates: {exc}") from exc
        bad = parsed.isna().to_numpy(dtype=bool)
        if bad.any():
            first = values.iloc[int(np.flatnonzero(bad)[0])]
            raise OptionError(
                f"column {column!r} has {int(bad.sum())} value(s) that are not ISO dates "
                f"(YYYY-MM-DD), e.g. {first!r}"
            )
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    return parsed


def _as_day(value: object, argument: str) -> pd.Timestamp | None:
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise OptionError(f"{argument} must be a date, got {value!r}") from exc
    if pd.isna(ts):
        raise OptionError(f"{argument} must be a date, got {value!r}")
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()


def _day_numbers(dates: pd.Series) -> np.ndarray:
    """Whole calendar days since 1970-01-01 (times of day dropped)."""
    return dates.dt.normalize().to_numpy().astype("datetime64[D]").astype(np.int64)


def _day_number(ts: pd.Timestamp) -> int:
    return int(np.datetime64(ts.date(), "D").astype(np.int64))


def _from_day_number(n: int) -> pd.Timestamp:
    return pd.Timestamp(np.datetime64(int(n), "D"))


def _format_day(ts: pd.Timestamp) -> str:
    return f"{ts.day} {ts:%b %Y}"


# --------------------------------------------------------------------------- public API
def repeat_definition(
    lookback_days: int,
    base: Base,
    subject: Literal["victim", "visitor", "location"] = "victim",
    start: object = None,
    end: object = None,
) -> str:
    """Plain-English definition of a repeat measure, to print under its table.

    Parameters
    ----------
    lookback_days : int
        Look-back in days (positive).
    base : {"incidents", "victims"}
        Denominator: all incidents, or distinct victims (visitors, locations).
    subject : {"victim", "visitor", "location"}, default "victim"
        Whose repeats are counted; sets the wording ("repeat visit", ...).
    start, end : date-like, optional
        First and last day counted; when given they are quoted in brackets.

    Returns
    -------
    str
        Two sentences: what a repeat is, and what the rate is a share of.

    Raises
    ------
    OptionError
        If ``lookback_days``, ``base``, ``subject``, ``start`` or ``end`` is invalid.

    Examples
    --------
    >>> repeat_definition(365, "incidents", start="2024-11-01", end="2025-10-31")
    'A repeat incident is one where the same victim had at least one earlier incident in the 365 days before it. Rate = repeat incidents as a share of all incidents (1 Nov 2024 – 31 Oct 2025).'
    >>> repeat_definition(90, "victims", subject="visitor")
    'A repeat visit is one where the same visitor had at least one earlier visit in the 90 days before it. Rate = visitors with at least one repeat visit as a share of all visitors with a visit.'
    """
    days = _check_lookback(lookback_days)
    base = _check_base(base)
    key, keys, event, events = _check_subject(subject)
    first, last = _as_day(start, "start"), _as_day(end, "end")
    if first is not None and last is not None and first > last:
        raise OptionError(f"start ({first.date()}) is after end ({last.date()})")
    span = f"{days} day" if days == 1 else f"{days} days"
    what = (
        f"A repeat {event} is one where the same {key} had at least one earlier "
        f"{event} in the {span} before it."
    )
    if base == "incidents":
        rate = f"Rate = repeat {events} as a share of all {events}"
    else:
        article = "an" if event[0] in "aeiou" else "a"
        rate = (
            f"Rate = {keys} with at least one repeat {event} as a share of all {keys} "
            f"with {article} {event}"
        )
    if first is not None and last is not None:
        period = f" ({_format_day(first)} {EN_DASH} {_format_day(last)})"
    elif first is not None:
        period = f" (from {_format_day(first)})"
    elif last is not None:
        period = f" (up to {_format_day(last)})"
    else:
        period = ""
    return f"{what} {rate}{period}."


def flag_repeats(
    incidents: pd.DataFrame,
    key: str = "victim_id",
    date: str = "date",
    lookback_days: int = 365,
    order_by: str | None = None,
) -> pd.DataFrame:
    """Mark each incident that is a repeat for its key (victim, visitor, location).

    An incident is a repeat when the same ``key`` had at least one earlier
    incident no more than ``lookback_days`` calendar days before it (exactly
    ``lookback_days`` earlier counts).  Incidents on the same date are ordered
    by time of day, then ``order_by``, then row order; the later one is a
    repeat.  Every row is used, so pass the look-back history as well as the
    period of interest.

    Parameters
    ----------
    incidents : DataFrame
        One row per incident.  Not modified.
    key : str, default "victim_id"
        Column identifying the victim / visitor / location.
    date : str, default "date"
        Column of incident dates: datetime64 or ISO strings (``YYYY-MM-DD``,
        optionally with a time).
    lookback_days : int, default 365
        Look-back in days.
    order_by : str, optional
        Column (e.g. incident reference) that orders incidents with the same
        date and time; without it, row order decides.

    Returns
    -------
    DataFrame
        A copy of ``incidents`` (same index and row order) plus a boolean
        ``is_repeat`` column.

    Raises
    ------
    OptionError
        If a column is absent, ``is_repeat`` already exists, ``lookback_days``
        is not a positive integer, a key, date or ``order_by`` value is missing
        (the message gives the column and how many rows), or a date cannot be
        parsed.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"victim_id": ["A", "A", "A", "B"],
    ...                    "date": ["2024-01-01", "2024-12-31", "2026-01-01", "2024-06-01"]})
    >>> flag_repeats(df)["is_repeat"].tolist()
    [False, True, False, False]
    """
    days = _check_lookback(lookback_days)
    _check_column(incidents, key, "key")
    _check_column(incidents, date, "date")
    if order_by is not None:
        _check_column(incidents, order_by, "order_by")
    if "is_repeat" in incidents.columns:
        raise OptionError("incidents already has an 'is_repeat' column; rename or drop it first")
    out = incidents.copy()
    out["is_repeat"] = _repeat_flags(incidents, key, date, days, order_by)[0]
    return out


def _repeat_flags(
    incidents: pd.DataFrame, key: str, date: str, days: int, order_by: str | None
) -> tuple[np.ndarray, np.ndarray]:
    """Is each row a repeat, and its calendar day number (both in input row order)."""
    keys = incidents[key]
    _require_present(keys, key, "id")
    when = _parse_dates(incidents[date], date)
    day = _day_numbers(when)
    n = len(incidents)
    if n == 0:
        return np.zeros(0, dtype=bool), day
    key_codes = pd.factorize(keys)[0]
    instant = when.to_numpy().astype("datetime64[ns]").astype(np.int64)
    sort_keys: list[np.ndarray] = [np.arange(n)]  # last resort: row order
    if order_by is not None:
        _require_present(incidents[order_by], order_by, "value")
        sort_keys.append(pd.factorize(incidents[order_by], sort=True)[0])
    sort_keys += [instant, key_codes]  # np.lexsort: last key is the primary one
    order = np.lexsort(tuple(sort_keys))
    sorted_key = key_codes[order]
    sorted_day = day[order]
    # Shift by one on the sorted rows: same key as the previous row and within the look-back.
    same_key = np.r_[False, sorted_key[1:] == sorted_key[:-1]]
    gap = np.r_[0, np.diff(sorted_day)]
    flags = np.empty(n, dtype=bool)
    flags[order] = same_key & (gap <= days)
    return flags, day


def repeat_victim_rate(
    incidents: pd.DataFrame,
    victim: str = "victim_id",
    date: str = "date",
    lookback_days: int = 365,
    base: Base = "incidents",
    by: str | Sequence[str] | None = None,
    start: object = None,
    end: object = None,
    *,
    subject: Literal["victim", "visitor", "location"] = "victim",
    order_by: str | None = None,
) -> pd.DataFrame:
    """Repeat victimisation rate for a counting window, overall or by group.

    Repeats are flagged on *all* rows (see :func:`flag_repeats`), so incidents
    before ``start`` act as look-back history; only incidents dated ``start``
    to ``end`` (inclusive, whole days) are counted.  Pass at least
    ``lookback_days`` of history before ``start``, or the first months of the
    window are under-counted.

    Parameters
    ----------
    incidents : DataFrame
        One row per incident, including the look-back history.  Not modified.
    victim : str, default "victim_id"
        Column identifying the victim (or visitor / location, see ``subject``).
    date : str, default "date"
        Column of incident dates (datetime64 or ISO strings).
    lookback_days : int, default 365
        Look-back in days; an incident exactly this many days earlier counts.
    base : {"incidents", "victims"}, default "incidents"
        ``"incidents"``: rate = repeat incidents / incidents in the window.
        ``"victims"``: rate = victims with at least one repeat incident in the
        window / distinct victims with an incident in the window.
    by : str or list of str, optional
        Grouping column(s), e.g. area or risk level: one row per group.  A
        victim's history is followed across groups (an incident in area B
        after one in area A is a repeat), and a victim seen in two groups is
        counted in both, so group ``victims`` need not add up to the total.
        Missing group values form their own group rather than being dropped.
    start, end : date-like, optional
        First and last day counted (inclusive); default: all incidents.
    subject : {"victim", "visitor", "location"}, default "victim"
        Wording of ``definition``; the column names stay the same.
    order_by : str, optional
        Column ordering incidents with the same date and time (see
        :func:`flag_repeats`).

    Returns
    -------
    DataFrame
        The ``by`` columns (if any), then ``incidents``, ``repeat_incidents``,
        ``victims``, ``repeat_victims``, ``rate`` (full-precision fraction of
        ``base``, NaN if the base is zero), ``base``, ``lookback_days`` and
        ``definition`` (the sentence to print under the table).

    Raises
    ------
    OptionError
        For an unknown column, bad ``lookback_days``, ``base`` or ``subject``,
        ``start`` after ``end``, missing victim ids or dates (the message
        gives the column and the number of rows), or unparseable dates.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({
    ...     "victim_id": ["A", "A", "B", "B", "C"],
    ...     "date": ["2024-10-01", "2024-12-01", "2025-01-05", "2025-02-01", "2025-03-01"]})
    >>> t = repeat_victim_rate(df, start="2024-11-01", end="2025-10-31")
    >>> t[["incidents", "repeat_incidents", "victims", "repeat_victims", "rate"]]
       incidents  repeat_incidents  victims  repeat_victims  rate
    0          4                 2        3               2   0.5
    """
    days = _check_lookback(lookback_days)
    base = _check_base(base)
    _check_subject(subject)
    _check_column(incidents, victim, "victim")
    _check_column(incidents, date, "date")
    groups = [] if by is None else [by] if isinstance(by, str) else list(by)
    for col in groups:
        _check_column(incidents, col, "by")
        if col in _RESULT_COLUMNS:
            raise OptionError(f"by column {col!r} clashes with a result column; rename it first")
    if len(set(groups)) != len(groups):
        raise OptionError(f"by lists a column twice: {groups}")
    first, last = _as_day(start, "start"), _as_day(end, "end")
    if first is not None and last is not None and first > last:
        raise OptionError(f"start ({first.date()}) is after end ({last.date()})")
    if order_by is not None:
        _check_column(incidents, order_by, "order_by")

    flags, day = _repeat_flags(incidents, victim, date, days, order_by)
    counted = np.ones(len(incidents), dtype=bool)
    if first is not None:
        counted &= day >= _day_number(first)
    if last is not None:
        counted &= day <= _day_number(last)

    # Keep the group columns' dtypes (an ordered categorical risk level sorts in its own order).
    work = incidents[groups].reset_index(drop=True)
    work["_key"] = incidents[victim].to_numpy()
    work["_repeat"] = flags
    work = work.loc[counted]
    # Key only on repeat rows, so nunique() counts victims with at least one repeat.
    work["_repeat_key"] = work["_key"].where(work["_repeat"])

    if groups:
        out = (
            work.groupby(groups, dropna=False, sort=True)
            .agg(
                incidents=("_key", "size"),
                repeat_incidents=("_repeat", "sum"),
                victims=("_key", "nunique"),
                repeat_victims=("_repeat_key", "nunique"),
            )
            .reset_index()
        )
    else:
        out = pd.DataFrame({
            "incidents": [len(work)],
            "repeat_incidents": [int(work["_repeat"].sum())],
            "victims": [work["_key"].nunique()],
            "repeat_victims": [work["_repeat_key"].nunique()],
        })
    for col in ("incidents", "repeat_incidents", "victims", "repeat_victims"):
        out[col] = out[col].astype(np.int64)

    num, den = (
        ("repeat_incidents", "incidents") if base == "incidents" else ("repeat_victims", "victims")
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        out["rate"] = np.where(out[den] > 0, out[num] / out[den].where(out[den] > 0), np.nan)
    out["base"] = base
    out["lookback_days"] = days
    if len(work):
        shown_first = first if first is not None else _from_day_number(day[counted].min())
        shown_last = last if last is not None else _from_day_number(day[counted].max())
    else:
        shown_first, shown_last = first, last
    out["definition"] = repeat_definition(days, base, subject, shown_first, shown_last)  # type: ignore[arg-type]
    return out
