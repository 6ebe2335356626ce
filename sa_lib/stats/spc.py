"""Statistical process control (SPC): XmR and c charts with the NHS "Making Data Count" rules.

The XmR calculations and special-cause rules reproduce NHSRplotthedots 0.2.2
(``ptd_spc``) exactly, so a chart built here matches one built with the NHS R
package on the same data:

* within each group (``by``) and rebase segment, in date order, the centre line
  is the mean; the moving range is ``|x_i - x_(i-1)|`` (none for a segment's
  first point); process limits are ``mean ± 2.66 × mean moving range`` and the
  "near" lines ``mean ± (2/3) × 2.66 × mean moving range``;
* with ``screen_outliers`` moving ranges ``>= 3.267 × mean MR`` are dropped once
  and the mean moving range recomputed (the mean itself is not);
* rules: a point strictly outside a limit; 7 consecutive points on one side of
  the mean (a point on the mean breaks the run); 7 points with 6 strictly rising
  or falling steps (a tie breaks it); 2 of 3 consecutive points beyond the near
  line, all 3 on the same side, points beyond the limits not counted as near
  (only the near points are flagged).  One label per point, by precedence
  outside > trend > 2-of-3 > run.

Everything is vectorised over all series at once (numpy over the sorted frame),
so thousands of series cost one call rather than one Python loop per series.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from sa_lib.errors import OptionError

__all__ = ["xmr", "spc_summary", "POINT_TYPES", "SPC_LIMIT", "SPC_NEAR_LIMIT"]

#: Multiplier of the mean moving range for the process limits (NHS MDC uses exactly 2.66).
SPC_LIMIT = 2.66
#: Multiplier for the "near" (2-sigma) lines: two thirds of the process-limit distance.
SPC_NEAR_LIMIT = 2 * SPC_LIMIT / 3
#: Moving ranges at or above this multiple of the mean moving range are screened out.
SPC_SCREEN = 3.267
RUN_LENGTH = 7
TREND_LENGTH = 7

POINT_TYPES = (
    "common_cause",
    "special_cause_improvement",
    "special_cause_concern",
    "special_cause_neutral_high",
    "special_cause_neutral_low",
)
IMPROVEMENT_DIRECTIONS = ("increase", "decrease", "neutral")
CHART_TYPES = ("xmr", "c")

# Rule codes, in order of precedence (lowest number wins).
_RULE_NAMES = {1: "outside_limits", 2: "trend", 3: "two_in_three", 4: "run"}
_OUTPUT_COLUMNS = (
    "rebase_group",
    "mean",
    "lpl",
    "upl",
    "near_lpl",
    "near_upl",
    "relative_to_mean",
    "outside_limits",
    "close_to_limits",
    "special_cause",
    "rule",
    "special_cause_type",
    "point_type",
    "short_group_warning",
    "target",
)


def xmr(
    df: pd.DataFrame,
    value: str,
    date: str,
    by: str | Sequence[str] | None = None,
    improvement: Literal["increase", "decrease", "neutral"] = "decrease",
    rebase: Iterable[Any] | Mapping[Hashable, Iterable[Any]] | None = None,
    fix_after_n_points: int | None = None,
    screen_outliers: bool = True,
    target: float | Mapping[Hashable, float] | None = None,
    chart: Literal["xmr", "c"] = "xmr",
    short_segment_threshold: int = 12,
    baseline: str | None = None,
    limit_floor: float | None = None,
) -> pd.DataFrame:
    """Compute SPC limits and special-cause flags for one or many series.

    Parameters
    ----------
    df : DataFrame
        Tidy data, one row per series and date.
    value : str
        Column holding the measure (numeric; missing values are allowed).
    date : str
        Column holding the date of each point (datetime, Period or ISO text).
        Dates must be unique within a series.
    by : str or list of str, optional
        Column(s) identifying separate series (e.g. ``["area", "crime_type"]``).
    improvement : {"decrease", "increase", "neutral"}, default "decrease"
        Which direction is better.  For crime counts a decrease is an
        improvement; use ``"increase"`` for e.g. confidence measures and
        ``"neutral"`` where neither direction is better (e.g. reports of
        domestic abuse, where more reporting can be positive).
    rebase : list of dates, or dict of group -> list of dates, optional
        Dates where a new segment starts (the date is the new segment's first
        point), e.g. a known change in recording practice.  A date not in the
        data does nothing.  With ``by``, a dict keyed by the group value (a
        tuple for several ``by`` columns) rebases only that series.
    fix_after_n_points : int, optional
        Take the mean and limits from the first ``n`` points (``n >= 12``) of
        each segment; later points are judged against those fixed limits.
    screen_outliers : bool, default True
        Drop moving ranges ``>= 3.267 ×`` the mean moving range once before
        computing the limits (the NHSRplotthedots default; the MDC Excel tool
        does not screen, so pass ``False`` to match it).
    target : float or dict of group -> float, optional
        A target for the measure, used by :func:`spc_summary` for assurance.
    chart : {"xmr", "c"}, default "xmr"
        ``"c"`` gives a c-chart for low counts: limits ``c̄ ± 3√c̄`` and near
        lines ``c̄ ± 2√c̄``, with the lower limit floored at zero.
    short_segment_threshold : int, default 12
        Segments with fewer points than this get ``short_group_warning=True``
        (their limits are "trial limits").
    baseline : str, optional
        A boolean column marking the baseline: each segment's mean and limits come
        from its marked points only (moving ranges between consecutive marked
        points), and every point of the segment is judged against them; a segment
        with no marked point uses all its points.  The generalisation of
        ``fix_after_n_points`` to any set of points (e.g. the months before a
        review window); not with ``fix_after_n_points``.
    limit_floor : float, optional
        Lower limits and near lines below this are raised to it (``0`` for counts,
        which cannot be negative); ``attrs["spc_options"]["limit_floor"]`` records it.

    Returns
    -------
    DataFrame
        One row per input row, sorted by series and date (the input index is
        kept), with the input columns plus ``rebase_group`` (0 for the first
        segment), ``mean``, ``lpl``, ``upl``, ``near_lpl``, ``near_upl``,
        ``relative_to_mean`` (-1, 0, 1), ``outside_limits``, ``close_to_limits``,
        ``special_cause`` (bool), ``rule`` (``"outside_limits"``, ``"trend"``,
        ``"two_in_three"``, ``"run"`` or None), ``special_cause_type`` (the
        NHSRplotthedots label, e.g. ``"7 Points Above CL"``), ``point_type``
        (one of :data:`POINT_TYPES`), ``short_group_warning`` and ``target``.
        Options are kept in ``result.attrs["spc_options"]``.

    Raises
    ------
    OptionError
        For a missing column, a non-numeric value column, unparseable or
        duplicated dates, an unknown ``improvement`` or ``chart``,
        ``fix_after_n_points`` below 12, or a ``baseline`` column that is not boolean.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({
    ...     "month": pd.date_range("2024-01-01", periods=8, freq="MS"),
    ...     "crimes": [10, 12, 11, 13, 12, 11, 40, 12],
    ... })
    >>> out = xmr(df, value="crimes", date="month", improvement="decrease")
    >>> out.loc[out["special_cause"], ["crimes", "rule", "point_type"]]
       crimes            rule             point_type
    6      40  outside_limits  special_cause_concern
    >>> round(float(out["upl"].iloc[0]), 2)
    39.45
    """
    by_cols = _validate_xmr_options(
        df, value, date, by, improvement, fix_after_n_points, screen_outliers, chart,
        short_segment_threshold, baseline, limit_floor,
    )
    dates = _as_datetime(df[date], date)
    work = df.copy()
    work[date] = dates

    # Sort once by series then date; every later step works on contiguous blocks.
    series_codes = _group_codes(work, by_cols)
    order = np.lexsort((dates.to_numpy(dtype="datetime64[ns]"), series_codes))
    work = work.iloc[order]
    series = series_codes[order]
    d = work[date].to_numpy(dtype="datetime64[ns]")
    _check_unique_dates(work, series, d, date, by_cols)

    per_group = isinstance(rebase, Mapping) or isinstance(target, Mapping)
    keys = _group_keys(work, by_cols) if per_group else None
    rebase_flag = _rebase_flags(work, keys, d, rebase, by_cols, date)
    series_start = np.r_[True, series[1:] != series[:-1]] if len(series) else np.zeros(0, bool)
    # rebase_group counts the rebase dates passed so far within a series (PTD's cumsum(rebase)).
    rebase_group = pd.Series(rebase_flag).groupby(series).cumsum().to_numpy(dtype=int)
    new_segment = series_start | rebase_flag.astype(bool)
    segment = np.cumsum(new_segment) - 1
    n_seg = int(segment[-1]) + 1 if len(segment) else 0

    y = pd.to_numeric(work[value], errors="coerce").to_numpy(dtype=float)
    position = np.arange(len(y)) - np.flatnonzero(new_segment)[segment] if len(y) else np.zeros(0, int)

    if baseline is not None:
        marked = work[baseline].to_numpy(dtype=bool)
        has_marked = np.bincount(segment[marked], minlength=n_seg) > 0 if n_seg else marked
        y_base = np.where(marked | ~has_marked[segment], y, np.nan)
    else:
        y_base = y
    limits = _limits(y_base, segment, n_seg, new_segment, position, fix_after_n_points,
                     screen_outliers, chart)
    mean, lpl, upl, near_lpl, near_upl = (v[segment] for v in limits)
    if limit_floor is not None:
        lpl, near_lpl = np.fmax(lpl, limit_floor), np.fmax(near_lpl, limit_floor)

    with np.errstate(invalid="ignore"):
        outside = (y > upl) | (y < lpl)
        rtm = np.sign(y - mean)
        close = ~outside & ((y < near_lpl) | (y > near_upl))
    rtm_rule = np.nan_to_num(rtm, nan=0.0)

    rule_code, side, label = _special_cause(y, rtm_rule, close, outside, new_segment)
    direction = {"increase": 1, "decrease": -1, "neutral": 0}[improvement]
    point_type = _point_type(side, direction)

    seg_size = np.bincount(segment, minlength=n_seg)[segment] if n_seg else np.zeros(0, int)
    out = work
    out["rebase_group"] = rebase_group
    out["mean"] = mean
    out["lpl"] = lpl
    out["upl"] = upl
    out["near_lpl"] = near_lpl
    out["near_upl"] = near_upl
    out["relative_to_mean"] = rtm
    out["outside_limits"] = outside
    out["close_to_limits"] = close
    out["special_cause"] = rule_code > 0
    # Categoricals: cheap for hundreds of thousands of rows, and they list every possible value.
    out["rule"] = pd.Categorical.from_codes(rule_code - 1, categories=list(_RULE_NAMES.values()))
    out["special_cause_type"] = pd.Categorical.from_codes(label, categories=list(_LABELS))
    out["point_type"] = pd.Categorical.from_codes(point_type, categories=list(POINT_TYPES))
    out["short_group_warning"] = seg_size < short_segment_threshold
    out["target"] = _target_column(keys, target, by_cols, len(out))
    out.attrs["spc_options"] = {
        "value": value,
        "date": date,
        "by": by_cols,
        "improvement": improvement,
        "fix_after_n_points": fix_after_n_points,
        "screen_outliers": screen_outliers,
        "chart": chart,
        "rebase": rebase,
        "baseline": baseline,
        "limit_floor": limit_floor,
    }
    return out


def spc_summary(spc: pd.DataFrame, improvement: str | None = None) -> pd.DataFrame:
    """Summarise an :func:`xmr` result: one row per series and rebase segment.

    Mirrors ``summary()`` of an NHSRplotthedots ``ptd_spc`` object.

    Parameters
    ----------
    spc : DataFrame
        The output of :func:`xmr`.
    improvement : {"increase", "decrease", "neutral"}, optional
        Overrides the direction stored in ``spc.attrs`` (needed only if the
        attributes were lost, e.g. after a ``concat``).

    Returns
    -------
    DataFrame
        Group columns, ``rebase_group``, ``start``, ``end``, ``n``, ``mean``,
        ``lpl``, ``upl``, ``common_cause``, ``special_cause_improvement``,
        ``special_cause_concern``, ``special_cause_neutral`` (counts of
        points), ``variation_type`` (the ``point_type`` of the segment's last
        point, which drives the MDC variation icon), ``short_group_warning``,
        ``target``, ``assurance_type`` (``consistent_pass``,
        ``consistent_fail`` or ``inconsistent``; only on each series' last
        segment and only when a target is set and the direction is not
        neutral) and ``assurance`` (the same as ``pass`` / ``fail`` /
        ``inconsistent``).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({
    ...     "month": pd.date_range("2024-01-01", periods=12, freq="MS"),
    ...     "crimes": [20, 22, 21, 23, 22, 21, 20, 22, 21, 23, 22, 21],
    ... })
    >>> s = spc_summary(xmr(df, "crimes", "month", target=30))
    >>> s[["n", "variation_type", "assurance"]]
        n variation_type assurance
    0  12   common_cause      pass
    """
    opts = dict(spc.attrs.get("spc_options", {}))
    if improvement is not None:
        opts["improvement"] = improvement
    if "improvement" not in opts or "date" not in opts:
        raise OptionError(
            "spc_summary needs the output of xmr(); its options were lost "
            "(pass improvement= and keep the 'date' option in attrs)"
        )
    direction = opts["improvement"]
    if direction not in IMPROVEMENT_DIRECTIONS:
        raise OptionError(f"improvement must be one of {IMPROVEMENT_DIRECTIONS}, got {direction!r}")
    date = opts["date"]
    by_cols = list(opts.get("by") or [])
    keys = [*by_cols, "rebase_group"]
    pt = spc["point_type"]
    counted = spc.assign(
        _cc=(pt == "common_cause").astype(int),
        _imp=(pt == "special_cause_improvement").astype(int),
        _con=(pt == "special_cause_concern").astype(int),
        _neu=pt.str.startswith("special_cause_neutral").astype(int),
    )
    grouped = counted.groupby(keys, sort=True, dropna=False)
    summary = grouped.agg(
        start=(date, "min"),
        end=(date, "max"),
        n=(date, "size"),
        mean=("mean", "first"),
        lpl=("lpl", "first"),
        upl=("upl", "first"),
        common_cause=("_cc", "sum"),
        special_cause_improvement=("_imp", "sum"),
        special_cause_concern=("_con", "sum"),
        special_cause_neutral=("_neu", "sum"),
        variation_type=("point_type", "last"),
        short_group_warning=("short_group_warning", "first"),
        target=("target", "last"),
        last_lpl=("lpl", "last"),
        last_upl=("upl", "last"),
    ).reset_index()
    # The data are sorted by date inside each group, so "last" is the latest point.
    is_last_segment = (
        summary.groupby(by_cols, sort=False, dropna=False)["rebase_group"].transform("max")
        == summary["rebase_group"]
        if by_cols
        else summary["rebase_group"] == summary["rebase_group"].max()
    )
    summary["assurance_type"] = _assurance(
        summary["target"].to_numpy(float), summary["last_lpl"].to_numpy(float),
        summary["last_upl"].to_numpy(float), direction,
    )
    assurance = np.where(is_last_segment.to_numpy(bool), summary["assurance_type"].to_numpy(), None)
    short = {"consistent_pass": "pass", "consistent_fail": "fail", "inconsistent": "inconsistent"}
    summary["assurance_type"] = pd.Series(assurance, index=summary.index, dtype=object)
    summary["assurance"] = pd.Series([short.get(a) for a in assurance], index=summary.index,
                                     dtype=object)
    return summary.drop(columns=["last_lpl", "last_upl"])


# --------------------------------------------------------------------------- helpers


def _validate_xmr_options(
    df: pd.DataFrame,
    value: str,
    date: str,
    by: str | Sequence[str] | None,
    improvement: str,
    fix_after_n_points: int | None,
    screen_outliers: bool,
    chart: str,
    short_segment_threshold: int,
    baseline: str | None = None,
    limit_floor: float | None = None,
) -> list[str]:
    if not isinstance(df, pd.DataFrame):
        raise OptionError(f"df must be a pandas DataFrame, got {type(df).__name__}")
    by_cols = [by] if isinstance(by, str) else list(by or [])
    for name, col in [("value", value), ("date", date), *(("by", b) for b in by_cols)]:
        if col not in df.columns:
            raise OptionError(
                f"{name}={col!r} is not a column of the data; columns are {list(df.columns)}"
            )
    clash = [c for c in _OUTPUT_COLUMNS if c in df.columns]
    if clash:
        raise OptionError(f"the data already has column(s) {clash} that xmr() would overwrite")
    v = df[value]
    if pd.api.types.is_bool_dtype(v) or not pd.api.types.is_numeric_dtype(v):
        raise OptionError(f"value column {value!r} must be numeric, got dtype {v.dtype}")
    if improvement not in IMPROVEMENT_DIRECTIONS:
        raise OptionError(
            f"improvement must be one of {IMPROVEMENT_DIRECTIONS}, got {improvement!r}"
        )
    if chart not in CHART_TYPES:
        raise OptionError(f"chart must be one of {CHART_TYPES}, got {chart!r}")
    if fix_after_n_points is not None and (
        isinstance(fix_after_n_points, bool)
        or not isinstance(fix_after_n_points, int | np.integer)
        or fix_after_n_points < 12
    ):
        raise OptionError(
            f"fix_after_n_points must be a whole number of at least 12, got {fix_after_n_points!r}"
        )
    if not isinstance(screen_outliers, bool | np.bool_):
        raise OptionError(f"screen_outliers must be True or False, got {screen_outliers!r}")
    if not isinstance(short_segment_threshold, int) or short_segment_threshold < 1:
        raise OptionError(
            f"short_segment_threshold must be a positive whole number, got {short_segment_threshold!r}"
        )
    if baseline is not None:
        if fix_after_n_points is not None:
            raise OptionError("give baseline or fix_after_n_points, not both")
        if baseline not in df.columns or not pd.api.types.is_bool_dtype(df[baseline]):
            raise OptionError(f"baseline={baseline!r} must name a boolean column of the data")
    if limit_floor is not None and (isinstance(limit_floor, bool) or not isinstance(
            limit_floor, int | float | np.number) or not np.isfinite(limit_floor)):
        raise OptionError(f"limit_floor must be a finite number, got {limit_floor!r}")
    return by_cols


def _as_datetime(s: pd.Series, name: str) -> pd.Series:
    if isinstance(s.dtype, pd.PeriodDtype):
        s = s.dt.to_timestamp()
    elif pd.api.types.is_datetime64_any_dtype(s):
        s = s.dt.tz_localize(None) if getattr(s.dt, "tz", None) is not None else s
    else:
        try:
            s = pd.to_datetime(s, format="ISO8601", errors="raise")
        except (ValueError, TypeError) as exc:
            raise OptionError(f"date column {name!r} could not be read as dates: {exc}") from None
    if s.isna().any():
        raise OptionError(
            f"date column {name!r} has {int(s.isna().sum())} missing date(s); every point needs a date"
        )
    return s


def _group_codes(df: pd.DataFrame, by_cols: list[str]) -> np.ndarray:
    if not by_cols:
        return np.zeros(len(df), dtype=np.int64)
    return df.groupby(by_cols, sort=True, dropna=False).ngroup().to_numpy(dtype=np.int64)


def _group_keys(df: pd.DataFrame, by_cols: list[str]) -> pd.Series:
    """The group key of each row as the user would name it (scalar, or tuple for several).

    Only built when rebase or target is given per group, as it costs a Python tuple per row.
    """
    if not by_cols:
        return pd.Series([None] * len(df), index=df.index, dtype=object)
    if len(by_cols) == 1:
        return df[by_cols[0]].astype(object)
    return pd.Series(list(zip(*(df[c] for c in by_cols), strict=True)), index=df.index, dtype=object)


def _check_unique_dates(
    df: pd.DataFrame, series: np.ndarray, d: np.ndarray, date: str, by_cols: list[str]
) -> None:
    if len(d) < 2:
        return
    dup = (series[1:] == series[:-1]) & (d[1:] == d[:-1])
    if dup.any():
        i = int(np.flatnonzero(dup)[0]) + 1
        row = df.iloc[i]
        where = ", ".join(f"{c}={row[c]!r}" for c in by_cols)
        raise OptionError(
            f"date {pd.Timestamp(d[i]).date()} appears more than once in column {date!r}"
            + (f" for {where}" if where else "")
            + "; each series needs one value per date"
        )


def _rebase_flags(
    df: pd.DataFrame,
    keys: pd.Series | None,
    d: np.ndarray,
    rebase: Iterable[Any] | Mapping[Hashable, Iterable[Any]] | None,
    by_cols: list[str],
    date: str,
) -> np.ndarray:
    flags = np.zeros(len(d), dtype=np.int64)
    if rebase is None:
        return flags
    if isinstance(rebase, Mapping):
        if not by_cols:
            raise OptionError("rebase given per group (a dict) but no by= column was given")
        known = set(keys)
        for k, dates in rebase.items():
            if k not in known:
                raise OptionError(f"rebase names group {k!r}, which is not in the data")
            rd = _rebase_dates(dates)
            flags |= ((keys.to_numpy() == k) if not isinstance(k, tuple)
                      else np.array([kk == k for kk in keys], dtype=bool)) & np.isin(d, rd)
        return flags
    if isinstance(rebase, str):
        rebase = [rebase]
    flags |= np.isin(d, _rebase_dates(rebase))
    return flags


def _rebase_dates(dates: Iterable[Any]) -> np.ndarray:
    if isinstance(dates, str):
        dates = [dates]
    try:
        idx = pd.DatetimeIndex([pd.Period(x).to_timestamp() if isinstance(x, pd.Period)
                                else pd.Timestamp(x) for x in dates])
    except (ValueError, TypeError) as exc:
        raise OptionError(f"rebase dates could not be read as dates: {exc}") from None
    return idx.to_numpy(dtype="datetime64[ns]")


def _segment_mean(values: np.ndarray, segment: np.ndarray, n_seg: int) -> np.ndarray:
    """NaN-skipping mean of ``values`` per segment (NaN where a segment has no values)."""
    ok = ~np.isnan(values)
    total = np.bincount(segment[ok], weights=values[ok], minlength=n_seg)
    count = np.bincount(segment[ok], minlength=n_seg)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _limits(
    y: np.ndarray,
    segment: np.ndarray,
    n_seg: int,
    new_segment: np.ndarray,
    position: np.ndarray,
    fix_after_n_points: int | None,
    screen_outliers: bool,
    chart: str,
) -> tuple[np.ndarray, ...]:
    fix_y = y if fix_after_n_points is None else np.where(position < fix_after_n_points, y, np.nan)
    mean = _segment_mean(fix_y, segment, n_seg)
    if chart == "c":
        with np.errstate(invalid="ignore"):
            sd = np.sqrt(mean)
        return mean, np.maximum(mean - 3 * sd, 0.0), mean + 3 * sd, mean - 2 * sd, mean + 2 * sd
    mr = np.full(len(y), np.nan)
    if len(y) > 1:
        mr[1:] = np.abs(np.diff(fix_y))
    mr[new_segment] = np.nan  # no moving range across a segment boundary
    amr = _segment_mean(mr, segment, n_seg)
    if screen_outliers:
        with np.errstate(invalid="ignore"):
            keep = mr < SPC_SCREEN * amr[segment]  # NaN compares False: dropped, as in PTD
        amr = _segment_mean(np.where(keep, mr, np.nan), segment, n_seg)
    return (
        mean,
        mean - SPC_LIMIT * amr,
        mean + SPC_LIMIT * amr,
        mean - SPC_NEAR_LIMIT * amr,
        mean + SPC_NEAR_LIMIT * amr,
    )


def _run_lengths(values: np.ndarray, breaks: np.ndarray) -> np.ndarray:
    """Length of the run of equal consecutive ``values`` each element sits in."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    change = breaks.copy()
    change[1:] |= values[1:] != values[:-1]
    change[0] = True
    run_id = np.cumsum(change) - 1
    return np.bincount(run_id)[run_id]


def _special_cause(
    y: np.ndarray,
    rtm: np.ndarray,
    close: np.ndarray,
    outside: np.ndarray,
    new_segment: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Rule code (0 none, 1-4 by precedence), side (+1/-1/0) and label code (into _LABELS)."""
    n = len(y)
    # Shift / run: 7 or more consecutive points with the same non-zero sign vs the mean.
    run = (rtm != 0) & (_run_lengths(rtm, new_segment) >= RUN_LENGTH)

    # Trend: 6 consecutive strictly rising (or falling) steps = 7 points.  step[i] is the
    # sign of y[i] - y[i-1]; it is 0 at a segment start, for a tie and next to a NaN.
    step = np.zeros(n)
    if n > 1:
        with np.errstate(invalid="ignore"):
            step[1:] = np.nan_to_num(np.sign(np.diff(y)), nan=0.0)
    step[new_segment] = 0.0
    step_run = (step != 0) & (_run_lengths(step, new_segment) >= TREND_LENGTH - 1)
    # A point is in a trend if the step into it or the step out of it is part of a long run.
    step_out = np.zeros(n, dtype=bool)
    if n > 1:
        step_out[:-1] = step_run[1:] & ~new_segment[1:]
    trend = step_run | step_out

    # 2 of 3: windows of 3 points within one segment, >= 2 close to a limit, all same side.
    window_ok = np.zeros(n, dtype=bool)  # window starting at i
    if n >= 3:
        same_seg = ~new_segment[1:-1] & ~new_segment[2:]
        c = close.astype(int)
        n_close = c[:-2] + c[1:-1] + c[2:]
        side = rtm[:-2] + rtm[1:-1] + rtm[2:]
        window_ok[:-2] = same_seg & (n_close >= 2) & (np.abs(side) == 3)
    in_window = window_ok.copy()
    in_window[1:] |= window_ok[:-1]
    in_window[2:] |= window_ok[:-2]
    two_in_three = in_window & close

    rule = np.select([outside, trend, two_in_three, run], [1, 2, 3, 4], default=0)

    # Trend label direction as PTD: if this point and the next are both in a trend, use the
    # step out of it, otherwise the step into it; anything but a rise reads "Decreasing".
    next_in_trend = np.zeros(n, dtype=bool)
    if n > 1:
        next_in_trend[:-1] = trend[1:] & ~new_segment[1:]
    step_after = np.zeros(n)
    if n > 1:
        step_after[:-1] = step[1:]
    trend_sign = np.where(trend & next_in_trend, step_after, step)

    # Side of each signal: +1 for "Above"/"Increasing" labels, -1 for "Below"/"Decreasing".
    high = np.select(
        [rule == 1, rule == 2],
        [rtm == 1, trend_sign == 1],
        default=rtm > 0,
    )
    side = np.where(rule == 0, 0, np.where(high, 1, -1))
    return rule, side, 2 * rule - (side == 1)


# NHSRplotthedots labels: rule r is _LABELS[2r - 1] when high and _LABELS[2r] when low.
_LABELS = (
    "Common Cause",
    "Above UCL", "Below LCL",
    "7 Point Trend (Increasing)", "7 Point Trend (Decreasing)",
    "2 in 3 Above CL", "2 in 3 Below CL",
    "7 Points Above CL", "7 Points Below CL",
)


def _point_type(v: np.ndarray, direction: int) -> np.ndarray:
    """Code (into POINT_TYPES) of each signal's side (+1 high, -1 low, 0 none), as PTD does."""
    if direction == 0:
        return np.select([v > 0, v < 0], [3, 4], default=0)
    v = v * direction
    return np.select([v > 0, v < 0], [1, 2], default=0)


def _target_column(
    keys: pd.Series | None, target: float | Mapping[Hashable, float] | None, by_cols: list[str],
    n: int,
) -> np.ndarray:
    if target is None:
        return np.full(n, np.nan)
    if isinstance(target, Mapping):
        if not by_cols:
            raise OptionError("target given per group (a dict) but no by= column was given")
        known = set(keys)
        unknown = [k for k in target if k not in known]
        if unknown:
            raise OptionError(f"target names group(s) {unknown} not in the data")
        return keys.map(lambda k: target.get(k, np.nan)).to_numpy(dtype=float)
    try:
        t = float(target)
    except (TypeError, ValueError):
        raise OptionError(f"target must be a number or a dict of numbers, got {target!r}") from None
    return np.full(n, t)


def _assurance(target: np.ndarray, lpl: np.ndarray, upl: np.ndarray, direction: str) -> np.ndarray:
    """PTD's assurance from the last point's limits; NaN comparisons give "inconsistent"."""
    out = np.full(len(target), None, dtype=object)
    if direction == "neutral":
        return out
    has = ~np.isnan(target)
    with np.errstate(invalid="ignore"):
        above = target > upl
        below = target < lpl
    inc = direction == "increase"
    res = np.where(
        above,
        "consistent_fail" if inc else "consistent_pass",
        np.where(below, "consistent_pass" if inc else "consistent_fail", "inconsistent"),
    ).astype(object)
    out[has] = res[has]
    return out
