"""Reporting windows: rolling 12 months, the previous comparable window, FY, CY, YTD.

A strategic assessment compares "the last 12 months" (e.g. Nov 2015 – Oct 2016) with
the same months a year earlier.  Windows here are whole calendar months,
represented by monthly :class:`pandas.Period` values, and every total built on a
window says which of its months had no data rather than counting them as zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from sa_lib.errors import OptionError

__all__ = [
    "Window",
    "rolling_window",
    "previous_window",
    "financial_year",
    "calendar_year",
    "year_to_date",
    "month_window",
    "missing_months",
    "window_totals",
]

EN_DASH = "\u2013"


@dataclass(frozen=True)
class Window:
    """A run of whole calendar months, ``start`` to ``end`` inclusive.

    Attributes
    ----------
    start, end : pandas.Period
        First and last month (frequency ``"M"``).
    label : str
        How the window is written in the report, e.g. ``"Nov 2015 – Oct 2016"``.
    kind : str
        ``"rolling"``, ``"financial_year"``, ``"calendar_year"``, ``"year_to_date"``
        or ``"custom"``.
    """

    start: pd.Period
    end: pd.Period
    label: str
    kind: str = "custom"

    @property
    def months(self) -> pd.PeriodIndex:
        """Every month in the window, in order."""
        return pd.period_range(self.start, self.end, freq="M")

    @property
    def n_months(self) -> int:
        """Number of months in the window."""
        return (self.end - self.start).n + 1

    @property
    def start_date(self) -> pd.Timestamp:
        """First day of the window."""
        return self.start.start_time

    @property
    def end_date(self) -> pd.Timestamp:
        """Last day of the window (midnight at its start)."""
        return self.end.end_time.normalize()

    @property
    def long_label(self) -> str:
        """The window with full month names, e.g. ``"November 2015 to October 2016"``."""
        return f"{self.start.strftime('%B %Y')} to {self.end.strftime('%B %Y')}"

    def __contains__(self, month: object) -> bool:
        p = _as_month(month, "month")
        return self.start <= p <= self.end

    def __str__(self) -> str:
        return self.label


def _as_month(value: Any, name: str) -> pd.Period:
    """Read a month from a Period, Timestamp, date or text such as ``"2016-10"``."""
    if isinstance(value, pd.Period):
        return value.asfreq("M")
    try:
        return pd.Period(value, freq="M")
    except (ValueError, TypeError) as exc:
        raise OptionError(f"{name}={value!r} is not a month (expected e.g. '2016-10')") from exc


def _short_label(start: pd.Period, end: pd.Period) -> str:
    if start == end:
        return start.strftime("%b %Y")
    return f"{start.strftime('%b %Y')} {EN_DASH} {end.strftime('%b %Y')}"


def month_window(start: Any, end: Any, label: str | None = None, kind: str = "custom") -> Window:
    """A window of any length from ``start`` to ``end`` months inclusive.

    Examples
    --------
    >>> month_window("2025-01", "2025-06").label
    'Jan 2025 – Jun 2025'
    """
    s, e = _as_month(start, "start"), _as_month(end, "end")
    if e < s:
        raise OptionError(f"end month {e} is before start month {s}")
    return Window(s, e, label or _short_label(s, e), kind)


def rolling_window(end: Any, months: int = 12) -> Window:
    """The ``months``-month window ending at (and including) ``end``.

    Parameters
    ----------
    end : str, Period or Timestamp
        Last month of the window, e.g. ``"2016-10"``.
    months : int, default 12
        Window length.

    Examples
    --------
    >>> w = rolling_window("2016-10")
    >>> w.label, w.n_months, str(w.start)
    ('Nov 2015 – Oct 2016', 12, '2015-11')
    """
    if isinstance(months, bool) or not isinstance(months, int) or months < 1:
        raise OptionError(f"months must be a positive whole number, got {months!r}")
    e = _as_month(end, "end")
    return Window(e - (months - 1), e, _short_label(e - (months - 1), e), "rolling")


def previous_window(window: Window, lag_months: int | None = None) -> Window:
    """The comparable window before ``window``.

    By default the same calendar months one year earlier (or as many whole years
    as needed so the two do not overlap), so seasons line up: for a rolling 12
    months this is the 12 months immediately before, for a year-to-date it is
    the same months last year.

    Examples
    --------
    >>> previous_window(rolling_window("2016-10")).label
    'Nov 2014 – Oct 2015'
    >>> previous_window(year_to_date("2025-10")).label
    'Apr 2024 – Oct 2024'
    """
    if lag_months is None:
        lag_months = 12 * math.ceil(window.n_months / 12)
    if isinstance(lag_months, bool) or not isinstance(lag_months, int) or lag_months < 1:
        raise OptionError(f"lag_months must be a positive whole number, got {lag_months!r}")
    s, e = window.start - lag_months, window.end - lag_months
    if window.kind == "financial_year":
        return financial_year(s.year)
    if window.kind == "calendar_year" and lag_months % 12 == 0:
        return calendar_year(s.year)
    return Window(s, e, _short_label(s, e), window.kind)


def _year(value: Any, name: str) -> int:
    if isinstance(value, str) and "/" in value:
        value = value.split("/")[0]
    try:
        y = int(value)
    except (TypeError, ValueError):
        raise OptionError(f"{name}={value!r} is not a year (expected e.g. 2024 or '2024/25')") from None
    if not 1900 <= y <= 2200:
        raise OptionError(f"{name}={value!r} is not a plausible year")
    return y


def financial_year(year: int | str) -> Window:
    """The financial year April ``year`` to March ``year + 1``, labelled ``"2024/25"``.

    Examples
    --------
    >>> w = financial_year("2024/25")
    >>> w.label, str(w.start), str(w.end)
    ('2024/25', '2024-04', '2025-03')
    """
    y = _year(year, "year")
    return Window(pd.Period(f"{y}-04", "M"), pd.Period(f"{y + 1}-03", "M"),
                  f"{y}/{str(y + 1)[-2:]}", "financial_year")


def calendar_year(year: int | str) -> Window:
    """January to December of ``year``.

    Examples
    --------
    >>> calendar_year(2016).label
    '2016'
    """
    y = _year(year, "year")
    return Window(pd.Period(f"{y}-01", "M"), pd.Period(f"{y}-12", "M"), str(y), "calendar_year")


def year_to_date(end: Any, year_start_month: int = 4) -> Window:
    """From the start of the (financial, by default) year containing ``end`` up to ``end``.

    Parameters
    ----------
    end : str, Period or Timestamp
        Last month included.
    year_start_month : int, default 4
        First month of the year: 4 for the financial year, 1 for the calendar year.

    Examples
    --------
    >>> year_to_date("2025-10").label
    'Apr 2025 – Oct 2025'
    >>> year_to_date("2025-02").label
    'Apr 2024 – Feb 2025'
    """
    if not isinstance(year_start_month, int) or not 1 <= year_start_month <= 12:
        raise OptionError(f"year_start_month must be 1-12, got {year_start_month!r}")
    e = _as_month(end, "end")
    start_year = e.year if e.month >= year_start_month else e.year - 1
    s = pd.Period(year=start_year, month=year_start_month, freq="M")
    return Window(s, e, _short_label(s, e), "year_to_date")


def missing_months(window: Window, months_with_data: Any) -> list[pd.Period]:
    """Months of ``window`` that do not appear in ``months_with_data``.

    Examples
    --------
    >>> w = month_window("2025-01", "2025-04")
    >>> [str(m) for m in missing_months(w, ["2025-01", "2025-03"])]
    ['2025-02', '2025-04']
    """
    have = {_as_month(m, "month") for m in months_with_data}
    return [m for m in window.months if m not in have]


def window_totals(
    counts: pd.DataFrame,
    window: Window,
    value: str = "count",
    month: str = "month",
    by: str | list[str] | None = None,
) -> pd.DataFrame:
    """Sum ``value`` over the months of ``window``, saying which months had no data.

    A month counts as "with data" when the source has at least one row for it
    (in any group): a crime type with no offences in a month that was loaded is
    a real zero; a month that was never loaded is missing.

    Parameters
    ----------
    counts : DataFrame
        Tidy counts with a month column (Period, Timestamp or ``"YYYY-MM"``).
    window : Window
        The window to total.
    value, month : str
        Column names.
    by : str or list of str, optional
        Group columns (e.g. ``"crime_type"``); one row per group is returned.

    Returns
    -------
    DataFrame
        Group columns, ``total``, ``months_expected``, ``months_with_data``,
        ``missing_months`` (comma-separated ``YYYY-MM``, empty when complete),
        ``complete`` (bool) and ``window`` (the label).

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"month": ["2025-01", "2025-02", "2025-04"], "count": [5, 6, 7]})
    >>> t = window_totals(c, month_window("2025-01", "2025-04"))
    >>> t[["total", "months_with_data", "missing_months", "complete"]]
       total  months_with_data missing_months  complete
    0     18                 3        2025-03     False
    """
    by_cols = [by] if isinstance(by, str) else list(by or [])
    for col in [value, month, *by_cols]:
        if col not in counts.columns:
            raise OptionError(f"column {col!r} not found; columns are {list(counts.columns)}")
    months = _month_series(counts[month], month)
    inside = (months >= window.start) & (months <= window.end)
    present = sorted(set(months[inside]))
    missing = ",".join(str(m) for m in window.months if m not in set(present))
    sel = counts.loc[inside.to_numpy()]
    if by_cols:
        groups = counts[by_cols].drop_duplicates()
        totals = sel.groupby(by_cols, dropna=False)[value].sum().rename("total").reset_index()
        out = groups.merge(totals, on=by_cols, how="left").fillna({"total": 0})
        out = out.sort_values(by_cols, ignore_index=True)
    else:
        out = pd.DataFrame({"total": [sel[value].sum()]})
    out["total"] = out["total"].astype(counts[value].dtype if pd.api.types.is_integer_dtype(
        counts[value]) else float)
    out["months_expected"] = window.n_months
    out["months_with_data"] = len(present)
    out["missing_months"] = missing
    out["complete"] = len(present) == window.n_months
    out["window"] = window.label
    return out


def _month_series(s: pd.Series, name: str) -> pd.Series:
    if isinstance(s.dtype, pd.PeriodDtype):
        return s.dt.asfreq("M")
    try:
        return pd.to_datetime(s, format="ISO8601" if not pd.api.types.is_datetime64_any_dtype(s)
                              else None).dt.to_period("M")
    except (ValueError, TypeError) as exc:
        raise OptionError(f"column {name!r} could not be read as months: {exc}") from None
