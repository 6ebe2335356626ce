"""Seasonality: monthly series laid out by calendar month, and SPC signals that recur.

Two pure functions, and two small helpers that put their results into words:

* :func:`seasonal_profile` lays a monthly series out as one row per (series,
  year, calendar month), the shape of a seasonal chart (one line per year over
  January to December).  Months with no data stay missing (``NaN``), never zero,
  so the chart shows a gap rather than a false fall.  A series has enough
  history for a seasonal view when it has at least :data:`SEASONAL_MIN_MONTHS`
  (24) months with data: two of every calendar month at the least, so a month
  can be compared with the same month of another year.
* :func:`mark_seasonal` adds a ``seasonal`` column to an
  :func:`~sa_lib.stats.spc.xmr` result: a special-cause point is *seasonal*
  when the same calendar month of a different year of the same series also
  has a special-cause point on the same side of the mean, and the two belong
  to different signals (not one unbroken stretch of special-cause points, so a
  single shift lasting more than a year does not read as a season).

:func:`seasonal_months` and :func:`seasonal_phrase` list the recurring months in
plain words ("July (2024, 2025)").  :func:`seasonality_test` is a quick
statistical check: a quasi-Poisson GLM with and without a calendar-month factor.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sa_lib.errors import OptionError

__all__ = [
    "SEASONAL_MIN_MONTHS",
    "MONTH_NAMES",
    "seasonal_profile",
    "has_seasonal_history",
    "mark_seasonal",
    "seasonal_months",
    "seasonal_phrase",
    "seasonality_test",
]

#: Months with data a series needs for a seasonal view (two of each calendar month at least).
SEASONAL_MIN_MONTHS = 24
#: Calendar month names, January first (index 0).
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")
_SIDE_WORDS = {1: "above the mean", -1: "below the mean"}


def _by_columns(frame: pd.DataFrame, by: str | Sequence[str] | None, func: str,
                *named: tuple[str, str]) -> list[str]:
    """Validate the frame and the named columns; return ``by`` as a list."""
    if not isinstance(frame, pd.DataFrame):
        raise OptionError(f"{func}: expected a pandas DataFrame, got {type(frame).__name__}")
    by_cols = [by] if isinstance(by, str) else list(by or [])
    for name, col in [*named, *(("by", b) for b in by_cols)]:
        if col not in frame.columns:
            raise OptionError(f"{func}: {name}={col!r} is not a column of the data; "
                              f"columns are {list(frame.columns)}")
    return by_cols


def _months(s: pd.Series, name: str, func: str) -> pd.PeriodIndex:
    """A date column as monthly periods (Period, datetime or ISO text accepted)."""
    if isinstance(s.dtype, pd.PeriodDtype):
        out = pd.PeriodIndex(s).asfreq("M")
    else:
        if pd.api.types.is_datetime64_any_dtype(s):
            ts = pd.DatetimeIndex(s)
        else:
            try:
                ts = pd.DatetimeIndex(pd.to_datetime(s, format="ISO8601", errors="raise"))
            except (ValueError, TypeError) as exc:
                raise OptionError(f"{func}: date column {name!r} could not be read as "
                                  f"months: {exc}") from None
        if ts.tz is not None:
            ts = ts.tz_localize(None)
        out = ts.to_period("M")
    if out.isna().any():
        raise OptionError(f"{func}: date column {name!r} has {int(out.isna().sum())} missing "
                          "date(s); every point needs a month")
    return out


def _series_codes(frame: pd.DataFrame, by_cols: list[str]) -> np.ndarray:
    if not by_cols:
        return np.zeros(len(frame), dtype=np.int64)
    return frame.groupby(by_cols, sort=False, dropna=False).ngroup().to_numpy(dtype=np.int64)


def _check_unique(series: np.ndarray, months: pd.PeriodIndex, frame: pd.DataFrame,
                  by_cols: list[str], date: str, func: str) -> None:
    key = pd.DataFrame({"s": series, "m": months.asi8})
    dup = key.duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        where = ", ".join(f"{c}={frame[c].iloc[i]!r}" for c in by_cols)
        raise OptionError(f"{func}: month {months[i]} appears more than once in column {date!r}"
                          + (f" for {where}" if where else "")
                          + "; each series needs one value per month"
                          + ("" if by_cols else " (pass by= for several series)"))


def has_seasonal_history(
    counts: pd.DataFrame,
    value: str = "count",
    date: str = "month",
    by: str | Sequence[str] | None = None,
    min_months: int = SEASONAL_MIN_MONTHS,
) -> pd.DataFrame:
    """Whether each series has enough months with data for a seasonal view.

    Parameters
    ----------
    counts : DataFrame
        Tidy monthly data, one row per series and month.
    value : str, default "count"
        The measure; a row whose value is missing is not a month with data.
    date : str, default "month"
        The month of each row (Period, datetime or ISO text).
    by : str or list of str, optional
        Column(s) naming separate series.
    min_months : int, default 24
        Months with data a series needs (:data:`SEASONAL_MIN_MONTHS`).

    Returns
    -------
    DataFrame
        One row per series (in order of first appearance): the ``by`` columns,
        ``months_with_data``, ``first_month``, ``last_month`` (Period[M]; NaT
        when there are none) and ``seasonal_history`` (bool:
        ``months_with_data >= min_months``).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"month": pd.period_range("2024-01", periods=30, freq="M"),
    ...                    "count": [5.0] * 20 + [None] * 10})
    >>> has_seasonal_history(df)[["months_with_data", "seasonal_history"]]
       months_with_data  seasonal_history
    0                20             False
    """
    func = "has_seasonal_history"
    by_cols = _by_columns(counts, by, func, ("value", value), ("date", date))
    _check_min_months(min_months, func)
    vals = _values(counts, value, func)
    months = _months(counts[date], date, func)
    series = _series_codes(counts, by_cols)
    _check_unique(series, months, counts, by_cols, date, func)
    work = pd.DataFrame({"_s": series, "_m": months.asi8})[~np.isnan(vals)]
    agg = work.groupby("_s").agg(months_with_data=("_m", "size"), first=("_m", "min"),
                                 last=("_m", "max"))
    # Series codes number the series in order of first appearance: 0, 1, ...
    first_rows = pd.Series(series).drop_duplicates()
    keys = counts[by_cols].iloc[first_rows.index.to_numpy()].set_axis(first_rows.to_numpy())
    out = keys.join(agg)
    out["months_with_data"] = out["months_with_data"].fillna(0).astype(int)
    out["first_month"] = _periods_from_ordinals(out.pop("first"))
    out["last_month"] = _periods_from_ordinals(out.pop("last"))
    out["seasonal_history"] = out["months_with_data"] >= min_months
    return out.reset_index(drop=True)


def _periods_from_ordinals(s: pd.Series) -> pd.Series:
    ordinals = s.to_numpy(dtype=float)
    return pd.Series(pd.PeriodIndex([pd.NaT if np.isnan(o) else pd.Period(ordinal=int(o), freq="M")
                                     for o in ordinals], freq="M"), index=s.index)


def _check_min_months(min_months: object, func: str) -> None:
    if isinstance(min_months, bool) or not isinstance(min_months, int | np.integer) \
            or min_months < 1:
        raise OptionError(f"{func}: min_months must be a positive whole number, "
                          f"got {min_months!r}")


def _values(frame: pd.DataFrame, value: str, func: str) -> np.ndarray:
    v = frame[value]
    if pd.api.types.is_bool_dtype(v) or not pd.api.types.is_numeric_dtype(v):
        raise OptionError(f"{func}: value column {value!r} must be numeric, got dtype {v.dtype}")
    out = pd.to_numeric(v).to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(out).any():
        raise OptionError(f"{func}: value column {value!r} holds an infinite value")
    return out


def seasonal_profile(
    counts: pd.DataFrame,
    value: str = "count",
    date: str = "month",
    by: str | Sequence[str] | None = None,
    min_months: int = SEASONAL_MIN_MONTHS,
) -> pd.DataFrame:
    """A monthly series laid out by year and calendar month, for a seasonal chart.

    Parameters
    ----------
    counts : DataFrame
        Tidy monthly data, one row per series and month (e.g.
        ``month, crime_type, count``).
    value : str, default "count"
        The measure (numeric; missing values allowed).
    date : str, default "month"
        The month of each row (Period, datetime or ISO text; a date inside a
        month stands for that month).
    by : str or list of str, optional
        Column(s) naming separate series.
    min_months : int, default 24
        Months with data a series needs for a seasonal view.

    Returns
    -------
    DataFrame
        For every series and every calendar year in which it has a row, twelve
        rows, January to December: the ``by`` columns, ``year``,
        ``calendar_month`` (1-12), ``month`` (Period[M]) and ``value`` (named
        as the input column; ``NaN`` for a month with no row or a missing
        value, never zero), plus the series' ``months_with_data`` and
        ``seasonal_history`` (``months_with_data >= min_months``), as in
        :func:`has_seasonal_history`.  Sorted by series (first appearance),
        year and calendar month.

    Raises
    ------
    OptionError
        A missing column, a non-numeric value, an unreadable month, or a
        month appearing twice in one series.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"month": ["2024-11", "2024-12", "2025-02"], "count": [7, 9, 4]})
    >>> p = seasonal_profile(df)
    >>> p.shape
    (24, 6)
    >>> p.loc[p["year"] == 2025, "count"].head(3).tolist()
    [nan, 4.0, nan]
    >>> bool(p["seasonal_history"].iloc[0])
    False
    """
    func = "seasonal_profile"
    by_cols = _by_columns(counts, by, func, ("value", value), ("date", date))
    clash = [c for c in ("year", "calendar_month", "months_with_data", "seasonal_history")
             if c in (value, *by_cols)]
    if clash:
        raise OptionError(f"{func}: column(s) {clash} would be overwritten; rename them first")
    history = has_seasonal_history(counts, value, date, by_cols, min_months)
    vals = _values(counts, value, func)
    months = _months(counts[date], date, func)
    series = _series_codes(counts, by_cols)
    observed = pd.DataFrame({"_s": series, "year": months.year, "calendar_month": months.month,
                             value: vals})
    # Every (series, year) with a row gets all twelve months; months without a row stay NaN.
    years = observed[["_s", "year"]].drop_duplicates().sort_values(["_s", "year"], kind="stable")
    grid = years.loc[years.index.repeat(12)].reset_index(drop=True)
    grid["calendar_month"] = np.tile(np.arange(1, 13), len(years))
    out = grid.merge(observed, on=["_s", "year", "calendar_month"], how="left")
    out["month"] = pd.PeriodIndex.from_fields(year=out["year"], month=out["calendar_month"],
                                              freq="M")
    out = out.join(history[[*by_cols, "months_with_data", "seasonal_history"]], on="_s")
    out[value] = out[value].astype(float)
    return out[[*by_cols, "year", "calendar_month", "month", value, "months_with_data",
                "seasonal_history"]].reset_index(drop=True)


def mark_seasonal(
    spc: pd.DataFrame,
    date: str = "month",
    by: str | Sequence[str] | None = None,
    rules: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Mark the special-cause points of an SPC result that recur in the same calendar month.

    A point is ``seasonal`` when all of these hold:

    1. it is a special-cause point (``special_cause`` is True, and, when
       ``rules`` is given, its ``rule`` is one of them);
    2. it lies strictly above or strictly below its centre line
       (``relative_to_mean`` is 1 or -1);
    3. in the same series, the same calendar month of a *different year* holds
       another point meeting 1 and 2 on the *same side* of the mean;
    4. the two points belong to different signals: they are not in one
       unbroken stretch of special-cause points on the same side of the mean
       (consecutive months, no month missing, same rebase segment).  Without
       this, one shift lasting over a year (a run of points above the mean
       from March 2024 to June 2025) would make March to June "seasonal".

    Points are matched only with each other, so a signal seen in one year only
    is never seasonal, and a July above the mean does not match a July below it.

    Parameters
    ----------
    spc : DataFrame
        An :func:`~sa_lib.stats.spc.xmr` result (needs ``special_cause``,
        ``relative_to_mean``, the date column, ``rule`` when ``rules`` is
        given, and ``rebase_group`` if present).
    date : str, default "month"
        The date column (one point per series and month).
    by : str or list of str, optional
        Column(s) naming separate series.  When omitted, the ``by`` stored in
        ``spc.attrs["spc_options"]`` by ``xmr`` is used (none if absent).
    rules : list of str, optional
        Count only signals of these rules (``"outside_limits"``, ``"trend"``,
        ``"two_in_three"``, ``"run"``); default every special-cause point.

    Returns
    -------
    DataFrame
        A copy of ``spc`` (same rows, order, index and ``attrs``) with a
        boolean ``seasonal`` column.

    Raises
    ------
    OptionError
        A missing column, an unknown rule, or a month appearing twice in one series.

    Examples
    --------
    >>> import pandas as pd
    >>> spc = pd.DataFrame({"month": pd.period_range("2024-01", periods=24, freq="M")})
    >>> spc["special_cause"] = spc["month"].dt.month == 7
    >>> spc["relative_to_mean"] = spc["special_cause"].astype(int)
    >>> out = mark_seasonal(spc)
    >>> out.loc[out["seasonal"], "month"].astype(str).tolist()
    ['2024-07', '2025-07']
    """
    func = "mark_seasonal"
    if by is None and isinstance(spc, pd.DataFrame):
        by = list(spc.attrs.get("spc_options", {}).get("by") or [])
    by_cols = _by_columns(spc, by, func, ("date", date), ("special_cause", "special_cause"),
                          ("relative_to_mean", "relative_to_mean"))
    if rules is not None:
        rules = [rules] if isinstance(rules, str) else list(rules)
        known = ("outside_limits", "trend", "two_in_three", "run")
        unknown = [r for r in rules if r not in known]
        if unknown:
            raise OptionError(f"{func}: unknown rule(s) {unknown}; expected some of {list(known)}")
        if "rule" not in spc.columns:
            raise OptionError(f"{func}: rules= needs the 'rule' column of an xmr() result")
    months = _months(spc[date], date, func)
    series = _series_codes(spc, by_cols)
    _check_unique(series, months, spc, by_cols, date, func)

    signal = np.array(spc["special_cause"].fillna(False), dtype=bool)
    if rules is not None:
        signal &= spc["rule"].astype(object).isin(rules).to_numpy(dtype=bool)
    side = pd.to_numeric(spc["relative_to_mean"], errors="coerce").fillna(0).to_numpy(float)
    signal &= side != 0
    segment = (spc["rebase_group"].to_numpy() if "rebase_group" in spc.columns
               else np.zeros(len(spc), dtype=np.int64))

    # Episodes: unbroken stretches of signals on one side, in each series' month order.
    ordinal = months.asi8
    order = np.lexsort((ordinal, series))
    s, o, sig, sd, seg = (a[order] for a in (series, ordinal, signal, side, segment))
    joined = np.zeros(len(order), dtype=bool)
    if len(order) > 1:
        joined[1:] = ((s[1:] == s[:-1]) & (o[1:] - o[:-1] == 1) & sig[1:] & sig[:-1]
                      & (sd[1:] == sd[:-1]) & (seg[1:] == seg[:-1]))
    episode_sorted = np.cumsum(~joined)
    episode = np.empty(len(order), dtype=np.int64)
    episode[order] = episode_sorted

    work = pd.DataFrame({"s": series, "cm": months.month, "side": side, "ep": episode})[signal]
    in_key = work.groupby(["s", "cm", "side"])["ep"].transform("size")
    in_episode = work.groupby(["s", "cm", "side", "ep"])["ep"].transform("size")
    seasonal = np.zeros(len(spc), dtype=bool)
    # Another signal in the same series, calendar month and side, outside this one's episode.
    # One point per series and month, so that other signal is in a different year.
    seasonal[np.flatnonzero(signal)] = (in_key > in_episode).to_numpy(dtype=bool)
    out = spc.copy()
    out["seasonal"] = seasonal
    return out


def seasonal_months(
    marked: pd.DataFrame,
    date: str = "month",
    by: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """The recurring months of a :func:`mark_seasonal` result, one row per month and side.

    Parameters
    ----------
    marked : DataFrame
        The output of :func:`mark_seasonal`.
    date : str, default "month"
        The date column.
    by : str or list of str, optional
        Column(s) naming separate series (default: ``attrs["spc_options"]["by"]``).

    Returns
    -------
    DataFrame
        The ``by`` columns, ``calendar_month`` (1-12), ``side`` (1 above the
        mean, -1 below), ``years`` (tuple of the years whose point is seasonal)
        and ``phrase`` (e.g. ``"July (2024, 2025)"``), sorted by series,
        calendar month and side.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"month": ["2024-07", "2025-07", "2025-08"],
    ...                   "relative_to_mean": [1, 1, 1], "seasonal": [True, True, False]})
    >>> seasonal_months(m)[["calendar_month", "phrase"]]
       calendar_month             phrase
    0               7  July (2024, 2025)
    """
    func = "seasonal_months"
    if by is None and isinstance(marked, pd.DataFrame):
        by = list(marked.attrs.get("spc_options", {}).get("by") or [])
    by_cols = _by_columns(marked, by, func, ("date", date), ("seasonal", "seasonal"),
                          ("relative_to_mean", "relative_to_mean"))
    months = _months(marked[date], date, func)
    work = pd.DataFrame({c: marked[c].to_numpy() for c in by_cols})
    work["calendar_month"] = months.month
    work["side"] = pd.to_numeric(marked["relative_to_mean"], errors="coerce").fillna(0) \
        .astype(int).to_numpy()
    work["year"] = months.year
    work = work[marked["seasonal"].fillna(False).to_numpy(dtype=bool)]
    keys = [*by_cols, "calendar_month", "side"]
    if work.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in [*keys, "years", "phrase"]})
    out = (work.sort_values("year").groupby(keys, sort=True, dropna=False)["year"]
           .agg(lambda y: tuple(int(v) for v in y)).rename("years").reset_index())
    out["phrase"] = [f"{MONTH_NAMES[m - 1]} ({', '.join(map(str, ys))})"
                     for m, ys in zip(out["calendar_month"], out["years"], strict=True)]
    return out


def seasonal_phrase(marked: pd.DataFrame, date: str = "month") -> str:
    """The recurring months of one series in words; empty when none recurs.

    Parameters
    ----------
    marked : DataFrame
        The :func:`mark_seasonal` result of a single series.
    date : str, default "month"
        The date column.

    Returns
    -------
    str
        E.g. ``"July (2024, 2025) above the mean and January (2024, 2025)
        below the mean"``: months above the mean first, then below, each in
        calendar order.

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"month": ["2024-07", "2025-07", "2024-01", "2025-01"],
    ...                   "relative_to_mean": [1, 1, -1, -1], "seasonal": [True] * 4})
    >>> seasonal_phrase(m)
    'July (2024, 2025) above the mean and January (2024, 2025) below the mean'
    """
    rows = seasonal_months(marked, date=date, by=[])
    parts = []
    for side in (1, -1):
        sel = rows[rows["side"] == side]
        if len(sel):
            parts.append(_join(list(sel["phrase"])) + " " + _SIDE_WORDS[side])
    return " and ".join(parts)


def _join(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def seasonality_test(
    counts: pd.DataFrame,
    value: str = "count",
    date: str = "month",
    min_months: int = SEASONAL_MIN_MONTHS,
) -> dict[str, float]:
    """A quasi-Poisson F test of a calendar-month effect in one monthly count series.

    Two log-linear Poisson GLMs are fitted to the months with data: ``count ~
    trend`` and ``count ~ trend + calendar month`` (11 month terms; the trend is
    linear in months since the first).  The dispersion φ is the larger model's
    Pearson χ² over its residual degrees of freedom, and
    ``F = (D_trend - D_month) / 11 / φ`` on ``(11, n - 13)`` degrees of
    freedom, as R's ``anova(glm(..., family = quasipoisson), test = "F")``
    computes it.  A small p-value says the calendar months differ by more than
    the month-to-month noise explains.  A calendar month with no data has no
    term (``df_num`` is then the number of calendar months present less one).
    No floor is put on φ, so the figures are R's.

    Parameters
    ----------
    counts : DataFrame
        One series: a row per month.
    value : str, default "count"
        Non-negative counts (missing values are left out).
    date : str, default "month"
        The month of each row.
    min_months : int, default 24
        Fewer months with data than this (or fewer than 14) give NaN figures.

    Returns
    -------
    dict
        ``n`` (months used), ``deviance_trend``, ``deviance_month``, ``phi``,
        ``f``, ``df_num`` (11), ``df_den`` and ``p_value``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> months = pd.period_range("2022-01", periods=36, freq="M")
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"month": months,
    ...                    "count": rng.poisson(np.where(months.month == 7, 200, 100))})
    >>> seasonality_test(df)["p_value"] < 0.001
    True
    """
    import statsmodels.api as sm
    from scipy import stats

    func = "seasonality_test"
    _by_columns(counts, None, func, ("value", value), ("date", date))
    _check_min_months(min_months, func)
    vals = _values(counts, value, func)
    months = _months(counts[date], date, func)
    _check_unique(np.zeros(len(counts), dtype=np.int64), months, counts, [], date, func)
    ok = ~np.isnan(vals)
    if (vals[ok] < 0).any():
        raise OptionError(f"{func}: value column {value!r} must hold counts (no negative values)")
    y, m = vals[ok], months[ok]
    n = len(y)
    nan = float("nan")
    result = {"n": float(n), "deviance_trend": nan, "deviance_month": nan, "phi": nan, "f": nan,
              "df_num": 11.0, "df_den": float(n - 13), "p_value": nan}
    if n < max(min_months, 14) or y.sum() == 0:
        return result
    t = (m.asi8 - m.asi8.min()).astype(float)
    present = np.unique(m.month.to_numpy())
    # One term per calendar month present besides the first (a month never seen has no term).
    dummies = (m.month.to_numpy()[:, None] == present[None, 1:]).astype(float)
    x0 = np.column_stack([np.ones(n), t])
    x1 = np.column_stack([x0, dummies])
    fit0 = sm.GLM(y, x0, family=sm.families.Poisson()).fit()
    fit1 = sm.GLM(y, x1, family=sm.families.Poisson()).fit()
    df_num, df_den = dummies.shape[1], n - x1.shape[1]
    phi = float(fit1.pearson_chi2) / df_den
    f = (float(fit0.deviance) - float(fit1.deviance)) / df_num / phi
    result.update(deviance_trend=float(fit0.deviance), deviance_month=float(fit1.deviance),
                  phi=phi, f=f, df_num=float(df_num), df_den=float(df_den),
                  p_value=float(stats.f.sf(f, df_num, df_den)))
    return result
