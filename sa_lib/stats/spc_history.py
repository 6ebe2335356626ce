"""SPC over the history: every month loaded before a review window, limits from a baseline.

An SPC chart of the review window alone has 12 points, too few for limits that
mean much (NHS *Making Data Count* asks for at least 20).  :func:`history_xmr`
charts every month with a value among the ``history_months`` months ending at the
window's end, and takes each rebase segment's mean and limits from a baseline:

* ``"auto"`` (default): the segment's points before the review window when there
  are at least :data:`MIN_BASELINE_POINTS` of them, else all its points;
* ``"all"``: all the segment's points;
* ``"before_window"``: the segment's points before the review window;
* ``(start, end)``: the segment's points in those months (inclusive).

Only months with a value count as points.  A segment whose baseline would hold
fewer than 2 points (no moving range) uses all its points.  Months with no value
between the first and the last month with one are kept as missing points
(``NaN``), so a chart breaks its line there and the run, trend and 2-of-3 rules
do not reach across the gap; they are never counted as points.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from sa_lib.errors import OptionError
from sa_lib.periods import Window
from sa_lib.stats.spc import xmr

__all__ = ["MIN_BASELINE_POINTS", "BASELINE_RULES", "check_baseline", "history_xmr",
           "history_summary"]

#: Fewest points before the review window for "auto" to take its limits from them alone.
MIN_BASELINE_POINTS = 20
#: The named baseline rules (a ``(start, end)`` pair of months is the fourth form).
BASELINE_RULES = ("auto", "all", "before_window")
#: The column of :func:`history_xmr`'s output marking the baseline points.
BASELINE_COLUMN = "in_baseline"


def check_baseline(baseline: object) -> str | tuple[pd.Period, pd.Period]:
    """A baseline rule, validated: one of :data:`BASELINE_RULES` or a ``(start, end)`` pair.

    Examples
    --------
    >>> check_baseline("auto")
    'auto'
    >>> check_baseline(("2023-01", "2024-12"))
    (Period('2023-01', 'M'), Period('2024-12', 'M'))
    """
    if isinstance(baseline, str):
        if baseline in BASELINE_RULES:
            return baseline
        raise OptionError(f"baseline must be one of {BASELINE_RULES} or a (start, end) pair of "
                          f"months, got {baseline!r}")
    if isinstance(baseline, Sequence) and len(baseline) == 2:
        try:
            start, end = (pd.Period(m, freq="M") for m in baseline)
        except (ValueError, TypeError):
            raise OptionError(f"baseline months could not be read as months (YYYY-MM): "
                              f"{list(baseline)!r}") from None
        if start > end:
            raise OptionError(f"baseline starts after it ends: {start} > {end}")
        return start, end
    raise OptionError(f"baseline must be one of {BASELINE_RULES} or a (start, end) pair of "
                      f"months, got {baseline!r}")


def history_xmr(
    series: pd.DataFrame,
    value: str,
    window: Window,
    history_months: int = 36,
    baseline: str | tuple[Any, Any] = "auto",
    by: str | Sequence[str] | None = None,
    date: str = "month",
    improvement: Literal["increase", "decrease", "neutral"] = "decrease",
    rebase: Iterable[Any] | Mapping[Hashable, Iterable[Any]] | None = None,
    limit_floor: float | None = None,
) -> pd.DataFrame:
    """:func:`~sa_lib.stats.spc.xmr` over the months before a window, limits from a baseline.

    Parameters
    ----------
    series : DataFrame
        Monthly values, one row per month (and series, with ``by``); ``date`` holds
        months (Period, Timestamp or ``YYYY-MM``).
    value : str
        The column of values (``NaN`` = no figure for that month).
    window : Window
        The review window; the history ends at its end.
    history_months : int, default 36
        The longest history charted, in months ending at ``window.end``; at least
        the window's length.
    baseline : {"auto", "all", "before_window"} or (start, end), default "auto"
        Which points give the limits (see the module docstring).
    by, improvement, rebase, limit_floor
        As for :func:`~sa_lib.stats.spc.xmr` (``limit_floor=0`` for counts).
    date : str, default "month"
        The column of months.

    Returns
    -------
    DataFrame
        The :func:`~sa_lib.stats.spc.xmr` output over ``date``, ``by`` and ``value``
        only, one row per month from each series' first to its last month with a
        value (months without one have ``NaN``), plus ``in_baseline`` (bool).
        ``attrs["spc_history"]`` holds the window, ``history_months`` and the rule.

    Raises
    ------
    OptionError
        A bad ``history_months`` or ``baseline``, or any error of ``xmr``.

    Examples
    --------
    >>> from sa_lib.periods import month_window
    >>> months = list(pd.period_range("2023-01", "2024-12", freq="M"))
    >>> df = pd.DataFrame({"month": months, "n": [10.0, 12.0] * 12})
    >>> df = df[df["month"] != pd.Period("2023-06", "M")]  # a month with no figure
    >>> out = history_xmr(df, "n", month_window("2024-01", "2024-12"), baseline="all")
    >>> len(out), int(out["n"].notna().sum()), int(out["in_baseline"].sum())
    (24, 23, 23)
    >>> bool(float(out["mean"].iloc[0]) == df["n"].mean())
    True
    """
    if isinstance(history_months, bool) or not isinstance(history_months, int | np.integer) \
            or history_months < window.n_months:
        raise OptionError(f"history_months must be a whole number of at least the window's "
                          f"{window.n_months} months, got {history_months!r}")
    rule = check_baseline(baseline)
    by_cols = [by] if isinstance(by, str) else list(by or [])
    for col in [value, date, *by_cols]:
        if col not in series.columns:
            raise OptionError(f"column {col!r} is not in the data; columns are "
                              f"{list(series.columns)}")
    full = _monthly_grid(series, value, date, by_cols, window, int(history_months))
    full[BASELINE_COLUMN] = False
    # First pass: xmr's own segments (rebase dates), so the baseline is chosen per segment.
    seg = xmr(full, value, date, by=by_cols or None, improvement=improvement, rebase=rebase)
    full.loc[seg.index, BASELINE_COLUMN] = _baseline_mask(seg, value, date, by_cols, window, rule)
    out = xmr(full, value, date, by=by_cols or None, improvement=improvement, rebase=rebase,
              baseline=BASELINE_COLUMN, limit_floor=limit_floor)
    out.attrs["spc_history"] = {"window": window, "history_months": int(history_months),
                                "baseline": rule}
    return out


def history_summary(spc: pd.DataFrame) -> pd.DataFrame:
    """Points and baseline of each series and segment of a :func:`history_xmr` result.

    Returns
    -------
    DataFrame
        The ``by`` columns, ``rebase_group``, ``first`` / ``last`` (months with a
        value), ``points`` (months with a value), ``missing`` (months between
        with none), ``baseline_points``, ``baseline_start`` / ``baseline_end``,
        ``baseline_all`` (the baseline is every point of the segment), ``mean``,
        ``lpl`` and ``upl``.

    Examples
    --------
    >>> from sa_lib.periods import month_window
    >>> df = pd.DataFrame({"month": pd.period_range("2023-01", "2024-12", freq="M"),
    ...                    "n": [10.0, 12.0] * 12})
    >>> s = history_summary(history_xmr(df, "n", month_window("2024-01", "2024-12")))
    >>> s[["points", "baseline_points", "baseline_all"]].to_dict("records")
    [{'points': 24, 'baseline_points': 24, 'baseline_all': True}]
    """
    opts = spc.attrs.get("spc_options", {})
    date, value = opts.get("date"), opts.get("value")
    if date is None or value is None or BASELINE_COLUMN not in spc.columns:
        raise OptionError("history_summary needs the output of history_xmr()")
    by_cols = list(opts.get("by") or [])
    has = spc[value].notna()
    work = spc.assign(_d=pd.to_datetime(spc[date]).where(has),
                      _b=pd.to_datetime(spc[date]).where(spc[BASELINE_COLUMN] & has),
                      _has=has.astype(int), _miss=(~has).astype(int),
                      _base=(spc[BASELINE_COLUMN] & has).astype(int))
    s = work.groupby([*by_cols, "rebase_group"], sort=True, dropna=False).agg(
        first=("_d", "min"), last=("_d", "max"), points=("_has", "sum"),
        missing=("_miss", "sum"), baseline_points=("_base", "sum"),
        baseline_start=("_b", "min"), baseline_end=("_b", "max"),
        mean=("mean", "first"), lpl=("lpl", "first"), upl=("upl", "first"),
    ).reset_index()
    s["baseline_all"] = s["baseline_points"] == s["points"]
    for c in ("first", "last", "baseline_start", "baseline_end"):
        s[c] = s[c].dt.to_period("M")
    cols = [*by_cols, "rebase_group", "first", "last", "points", "missing", "baseline_points",
            "baseline_start", "baseline_end", "baseline_all", "mean", "lpl", "upl"]
    return s[cols]


def _monthly_grid(series: pd.DataFrame, value: str, date: str, by_cols: list[str],
                  window: Window, history_months: int) -> pd.DataFrame:
    """Each series' months from its first to its last value in the history, gaps as NaN."""
    months = _as_months(series[date], date)
    first_month = window.end - (history_months - 1)
    keep = (months >= first_month) & (months <= window.end)
    data = series.loc[keep, [*by_cols, value]].assign(**{date: months[keep]})
    data[value] = pd.to_numeric(data[value], errors="coerce").astype(float)
    have = data[data[value].notna()]
    if have.empty:
        return data.iloc[0:0][[date, *by_cols, value]].reset_index(drop=True)
    ordinal = pd.Series(have[date].array.asi8, index=have.index)
    span = ordinal.groupby([have[c] for c in by_cols] if by_cols else np.zeros(len(have)),
                           sort=True).agg(["min", "max"])
    n = (span["max"] - span["min"] + 1).to_numpy()
    offsets = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    grid = pd.DataFrame({date: pd.PeriodIndex.from_ordinals(
        np.repeat(span["min"].to_numpy(), n) + offsets, freq="M")})
    if by_cols:
        keys = span.index.to_frame(index=False)
        for c in by_cols:
            grid[c] = np.repeat(keys[c].to_numpy(), n)
    return grid.merge(data[[date, *by_cols, value]], on=[date, *by_cols], how="left",
                      validate="one_to_one")[[date, *by_cols, value]]


def _as_months(s: pd.Series, name: str) -> pd.Series:
    if isinstance(s.dtype, pd.PeriodDtype):
        return s.dt.asfreq("M")
    if pd.api.types.is_datetime64_any_dtype(s):
        return s.dt.to_period("M")
    try:
        return pd.to_datetime(s, format="ISO8601").dt.to_period("M")
    except (ValueError, TypeError) as exc:
        raise OptionError(f"date column {name!r} could not be read as months: {exc}") from None


def _baseline_mask(seg: pd.DataFrame, value: str, date: str, by_cols: list[str],
                   window: Window, rule: str | tuple[pd.Period, pd.Period]) -> np.ndarray:
    """The baseline points of each series and segment under ``rule`` (see the module)."""
    has = seg[value].notna().to_numpy()
    month = pd.to_datetime(seg[date]).dt.to_period("M")
    if rule == "all":
        mark = has
    elif isinstance(rule, tuple):
        mark = has & ((month >= rule[0]) & (month <= rule[1])).to_numpy()
    else:
        mark = has & (month < window.start).to_numpy()
    keys = [seg[c] for c in by_cols] + [seg["rebase_group"]]
    n_mark = pd.Series(mark.astype(int), index=seg.index).groupby(keys, dropna=False) \
        .transform("sum").to_numpy()
    enough = n_mark >= (MIN_BASELINE_POINTS if rule == "auto" else 2)
    return np.where(enough, mark, has)
