"""Parsing partner-data cells: dates, months, years, numbers, categories, flags, periods.

One parser per column type (:data:`_PARSERS`, keyed by
:attr:`PartnerColumn.type <sa_lib.data.partner_schema.PartnerColumn.type>`).
Each takes a column of stripped text (NA = blank) and returns the typed values,
one error message per bad cell and any derived columns (``period_start``...).
Used by :mod:`sa_lib.data.partner`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sa_lib.data.csv_text import COUNT_LIMIT, COUNT_LIMIT_TEXT, quoted
from sa_lib.data.partner_schema import PartnerColumn

__all__: list[str] = []

_MIN_DATE = np.datetime64("1990-01-01", "D")
_MIN_YEAR = 1990


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
        errors[mask] = values[mask].astype(object).fillna("").astype(str).map(_quote) + tail


def _quote(value: str) -> str:
    """A value as messages show it: in single quotes, a long one cut short."""
    return f"'{value}'" if len(value) <= 60 else quoted(value)


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
    # Digits that overflow a float (a 400-digit count) are too large, not "not a number".
    numeric = text.str.fullmatch(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?").to_numpy(bool)
    overflow = numeric & ~np.isfinite(num)
    _set(err, present & ~np.isfinite(num) & ~overflow, s,
         f" is not a number (expected {expected})")
    # Beyond COUNT_LIMIT a count is not exact as a float and sums could overflow int64.
    big = overflow | (np.abs(np.nan_to_num(num)) >= COUNT_LIMIT)
    if whole:
        _set(err, present & big & (np.nan_to_num(num, neginf=-1.0) >= 0), s,
             f" is too large for a count (expected a whole number below {COUNT_LIMIT_TEXT})")
        _set(err, present & (num < 0), s, " is negative (a count is a whole number >= 0)")
        _set(err, present & (np.floor(num) != num),
             s, " is not a whole number (a count is a whole number >= 0)")
    _set(err, present & big, s, f" is too large (expected a number between -{COUNT_LIMIT_TEXT} "
         f"and {COUNT_LIMIT_TEXT})")
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
