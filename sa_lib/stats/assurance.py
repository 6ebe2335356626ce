"""Can we expect to keep meeting it?  SPC assurance of monthly series against targets.

* :func:`target_assurance` gives the NHS "Making Data Count" assurance of a
  monthly series against a monthly target from :func:`sa_lib.stats.spc.xmr` and
  :func:`sa_lib.stats.spc.spc_summary` (nothing here re-implements SPC): the target
  is consistently met (``"pass"``) when it lies outside the process limits on
  the good side, consistently failed (``"fail"``) when it lies outside them on
  the bad side, and hit and miss (``"inconsistent"``) when it lies between them.

Numbers stay numeric in every frame; only the ``sentence`` column is text, written as
in :mod:`sa_lib.stats.targets`.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import numpy as np
import pandas as pd

from sa_lib.errors import OptionError
from sa_lib.stats.change import format_count
from sa_lib.stats.spc import spc_summary, xmr
from sa_lib.stats.targets import _DIRECTIONS, _numeric, _target_phrase

__all__ = [
    "ASSURANCE_RESULTS",
    "MIN_SPC_POINTS",
    "target_assurance",
]

#: The values of ``target_assurance(...)["assurance"]`` (the first three as spc_summary gives them).
ASSURANCE_RESULTS = ("pass", "fail", "inconsistent", "not assessed")
#: Fewest months with a value for SPC assurance: NHSRplotthedots calls limits from fewer
#: than 12 points "trial limits" (its short-group warning), so they are not used for assurance.
MIN_SPC_POINTS = 12

_SERIES_COLUMNS = ("indicator", "month", "value")
_ASSURANCE_COLUMNS = [
    "indicator", "direction", "n_points", "mean", "lpl", "upl", "target", "variation_type",
    "assurance_type", "assurance", "assurance_reason", "sentence",
]
_NO_TARGET = "no monthly target"


# --------------------------------------------------------------------------- assurance


def target_assurance(
    series: pd.DataFrame,
    target: float | Mapping[Hashable, float] | None,
    direction: str | Mapping[Hashable, str],
    min_points: int = MIN_SPC_POINTS,
    limit_floor: float | Mapping[Hashable, float | None] | None = None,
) -> pd.DataFrame:
    """SPC assurance of monthly series against monthly targets, one row per indicator.

    Every indicator with at least ``min_points`` months with a value gets an
    XmR chart from :func:`sa_lib.stats.spc.xmr` (``by="indicator"``, one call per
    direction) summarised by :func:`sa_lib.stats.spc.spc_summary`: the mean, the
    process limits (mean ± 2.66 × mean moving range), the variation type of
    the latest month and, when there is a target, the assurance:

    * ``"pass"`` (``consistent_pass``): the target lies beyond the process
      limit on the good side, so it will be met month after month;
    * ``"fail"`` (``consistent_fail``): the target lies beyond the limit on
      the bad side, so it will not be met without a change to the process;
    * ``"inconsistent"``: the target lies between the limits, so it will be
      hit and missed at random.

    An indicator with fewer months than ``min_points`` gets assurance
    ``"not assessed"`` with reason ``"too few points for SPC assurance"`` and
    no limits; one without a target gets its limits and variation type but
    assurance ``"not assessed"`` with reason ``"no monthly target"``.

    Parameters
    ----------
    series : DataFrame
        Tidy monthly data: ``indicator``, ``month`` (datetime, Period or
        ``yyyy-mm`` text) and ``value`` (numeric; blanks allowed and not
        counted as points).  One row per indicator and month.
    target : number, mapping of indicator -> number, or None
        The monthly target: one for every indicator, or per indicator
        (indicators left out, or mapped to NaN/None, have no target).
    direction : {"increase", "decrease"} or mapping of indicator -> direction
        Which way is better, for every indicator or per indicator.
    min_points : int, default :data:`MIN_SPC_POINTS` (12)
        Fewest months with a value needed for assurance (at least 2).
    limit_floor : number, mapping of indicator -> number, or None
        Raise lower limits below it to it (``xmr``'s ``limit_floor``): 0 for counts,
        which cannot be negative, so a target is never judged against a limit no
        month can reach.  For every indicator or per indicator (others: none).

    Returns
    -------
    DataFrame
        One row per indicator, in order of first appearance: ``indicator``,
        ``direction``, ``n_points`` (months with a value), ``mean``, ``lpl``,
        ``upl``, ``target``, ``variation_type`` (the latest month's
        ``point_type``), ``assurance_type`` (``consistent_pass``,
        ``consistent_fail``, ``inconsistent`` or None), ``assurance`` (one of
        :data:`ASSURANCE_RESULTS`), ``assurance_reason`` (why it was not
        assessed, else None) and ``sentence``.

    Raises
    ------
    OptionError
        A missing column, a blank indicator, a non-numeric value or target, a
        direction other than increase/decrease (or none for an indicator), a
        target for an indicator not in ``series``, unreadable or repeated
        months, or ``min_points`` below 2.

    Examples
    --------
    >>> import pandas as pd
    >>> series = pd.DataFrame({
    ...     "indicator": "Section 136 detentions",
    ...     "month": pd.period_range("2025-01", periods=12, freq="M"),
    ...     "value": [4, 6, 5, 3, 5, 4, 6, 5, 4, 5, 3, 4],
    ... })
    >>> out = target_assurance(series, target=10, direction="decrease")
    >>> out[["n_points", "mean", "lpl", "upl", "assurance"]].round(2)
       n_points  mean   lpl   upl assurance
    0        12   4.5  0.63  8.37      pass
    >>> out["sentence"].iloc[0]
    'Section 136 detentions: consistently meeting the monthly target of no more than 10 (process limits 0.6 to 8.4 over 12 months).'
    """
    work = _validate_series(series)
    indicators = pd.unique(work["indicator"])
    directions = _direction_map(direction, indicators)
    targets = _target_map(target, indicators)
    if isinstance(min_points, bool) or not isinstance(min_points, int | np.integer) or min_points < 2:
        raise OptionError(f"min_points must be a whole number of at least 2, got {min_points!r}")

    base = pd.DataFrame({"indicator": indicators})
    base["direction"] = base["indicator"].map(directions)
    base["target"] = base["indicator"].map(targets).astype(float)
    n_points = work.groupby("indicator", sort=False)["value"].count()
    base["n_points"] = base["indicator"].map(n_points).astype(np.int64)
    enough = base["n_points"] >= min_points

    floors = _floor_map(limit_floor, indicators)
    summaries = []
    # One xmr call per direction and floor (each is a whole-call option).
    for d in _DIRECTIONS:
        for floor in sorted({floors[k] for k in indicators}, key=lambda f: (f is None, f or 0)):
            names = base.loc[enough & (base["direction"] == d)
                             & base["indicator"].map(lambda k, f=floor: floors[k] == f),
                             "indicator"]
            if names.empty:
                continue
            rows = work[work["indicator"].isin(names)]
            with_target = {k: targets[k] for k in names if not np.isnan(targets[k])}
            spc = xmr(rows, value="value", date="month", by="indicator", improvement=d,
                      target=with_target or None, limit_floor=floor)
            summaries.append(spc_summary(spc)[["indicator", "mean", "lpl", "upl",
                                               "variation_type", "assurance_type"]])
    if summaries:
        summary = pd.concat(summaries, ignore_index=True)
        summary["variation_type"] = summary["variation_type"].astype(object)
    else:
        summary = pd.DataFrame(columns=["indicator", "mean", "lpl", "upl", "variation_type",
                                        "assurance_type"])
    out = base.merge(summary, on="indicator", how="left")
    for col in ("mean", "lpl", "upl"):
        out[col] = out[col].astype(float)
    out["variation_type"] = out["variation_type"].astype(object).where(out["variation_type"].notna(), None)

    short = {"consistent_pass": "pass", "consistent_fail": "fail", "inconsistent": "inconsistent"}
    atype = out["assurance_type"].astype(object).where(out["assurance_type"].notna(), None)
    out["assurance_type"] = atype
    out["assurance"] = atype.map(lambda a: short.get(a, "not assessed")).astype(object)
    too_few = [_too_few(n, min_points) for n in out["n_points"]]
    reason = np.where(~enough, too_few, np.where(out["target"].isna(), _NO_TARGET, None))
    out["assurance_reason"] = pd.Series(reason, index=out.index, dtype=object)
    out["sentence"] = [
        _assurance_sentence(r.indicator, r.direction, r.n_points, r.lpl, r.upl, r.target,
                            r.assurance, r.assurance_reason)
        for r in out.itertuples(index=False)
    ]
    return out[_ASSURANCE_COLUMNS]


# --------------------------------------------------------------------------- validation


def _floor_map(limit_floor: object, indicators: np.ndarray) -> dict[Hashable, float | None]:
    if limit_floor is None or isinstance(limit_floor, Mapping):
        given = dict(limit_floor or {})
        unknown = [k for k in given if k not in set(indicators)]
        if unknown:
            raise OptionError(f"limit_floor names indicator(s) not in series: {unknown}")
    else:
        given = dict.fromkeys(indicators, limit_floor)
    out: dict[Hashable, float | None] = {}
    for k in indicators:
        v = given.get(k)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | float | np.number)
                              or not np.isfinite(v)):
            raise OptionError(f"limit_floor for {k!r} must be a number or None, got {v!r}")
        out[k] = None if v is None else float(v)
    return out


def _validate_series(series: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(series, pd.DataFrame):
        raise OptionError(f"series must be a pandas DataFrame, got {type(series).__name__}")
    missing = [c for c in _SERIES_COLUMNS if c not in series.columns]
    if missing:
        raise OptionError(f"series is missing column(s) {missing}; it needs "
                          f"{list(_SERIES_COLUMNS)} (columns are {list(series.columns)})")
    if series.empty:
        raise OptionError("series has no rows")
    ind = series["indicator"]
    if ind.isna().any():
        raise OptionError(f"column 'indicator' is blank in series row {series.index[ind.isna()][0]!r}")
    month = series["month"]
    if isinstance(month.dtype, pd.PeriodDtype):
        month = month.dt.to_timestamp()
    elif not pd.api.types.is_datetime64_any_dtype(month):
        try:
            month = pd.to_datetime(month, format="ISO8601")
        except (ValueError, TypeError) as exc:
            raise OptionError(f"column 'month' of the series could not be read as months: {exc}"
                              ) from None
    if month.isna().any():
        raise OptionError(f"column 'month' is blank in series row {series.index[month.isna()][0]!r}")
    if getattr(month.dt, "tz", None) is not None:
        month = month.dt.tz_localize(None)
    return pd.DataFrame({
        "indicator": ind.astype(object).to_numpy(),
        "month": month.to_numpy(dtype="datetime64[ns]"),
        "value": _numeric(series["value"], "value", "series"),
    })


def _direction_map(direction: str | Mapping[Hashable, str], indicators: np.ndarray) -> dict:
    if isinstance(direction, str):
        if direction not in _DIRECTIONS:
            raise OptionError(f"direction must be one of {_DIRECTIONS}, got {direction!r}")
        return dict.fromkeys(indicators, direction)
    if not isinstance(direction, Mapping):
        raise OptionError("direction must be 'increase', 'decrease' or a mapping of indicator -> "
                          f"direction, got {type(direction).__name__}")
    out = {}
    for ind in indicators:
        d = direction.get(ind)
        if d not in _DIRECTIONS:
            raise OptionError(f"direction for indicator {ind!r} must be one of {_DIRECTIONS}, "
                              f"got {d!r}")
        out[ind] = d
    return out


def _target_map(target: float | Mapping[Hashable, float] | None, indicators: np.ndarray) -> dict:
    known = set(indicators)
    if target is None:
        return dict.fromkeys(indicators, np.nan)
    if isinstance(target, Mapping):
        unknown = [k for k in target if k not in known]
        if unknown:
            raise OptionError(f"target names indicator(s) {unknown} that are not in the series; "
                              f"indicators are {list(indicators)}")
        items = {ind: target.get(ind) for ind in indicators}
    else:
        items = dict.fromkeys(indicators, target)
    out = {}
    for ind, t in items.items():
        if t is None or (isinstance(t, float) and np.isnan(t)):
            out[ind] = np.nan
        elif isinstance(t, bool) or not isinstance(t, int | float | np.number):
            raise OptionError(f"target for indicator {ind!r} must be a number, got {t!r}")
        else:
            out[ind] = float(t)
    return out


# --------------------------------------------------------------------------- wording


def _months(n: int) -> str:
    return f"{n} month{'s' if n != 1 else ''}"


def _too_few(n: int, min_points: int) -> str:
    return f"too few points for SPC assurance ({_months(n)} with data; at least {min_points} needed)"


def _assurance_sentence(indicator: str, direction: str, n: int, lpl: float, upl: float,
                        target: float, assurance: str, reason: str | None) -> str:
    if reason is not None and reason.startswith("too few"):
        return f"{indicator}: {reason}."
    limits = f"process limits {format_count(lpl)} to {format_count(upl)} over {_months(n)}"
    if reason == _NO_TARGET:
        return f"{indicator}: no monthly target, so no SPC assurance ({limits})."
    phrase = f"the monthly target of {_target_phrase(target, direction)}"
    if assurance == "pass":
        return f"{indicator}: consistently meeting {phrase} ({limits})."
    if assurance == "fail":
        return (f"{indicator}: consistently failing {phrase}; it will not be met without a "
                f"change to the process ({limits}).")
    return (f"{indicator}: hit and miss against {phrase}, which lies within the {limits}, "
            "so it will be met in some months and missed in others.")
