"""Review of last year's priorities: action-plan indicators against their targets.

Chapter 4 of a strategic assessment asks, for every indicator in the
partnership's action plan, *did we meet the target?* and, where a monthly
series exists, *can we expect to keep meeting it?*

* :func:`target_status` gives each indicator's status for a period: ``"met"``,
  ``"not met"``, ``"no data"`` (the value is blank) or ``"no target"`` (the
  target is blank: a monitoring-only indicator), with a plain-English sentence.
  A value exactly on target is met: ``value <= target`` when a decrease is
  better, ``value >= target`` when an increase is better.
* :func:`target_assurance` gives the NHS "Making Data Count" assurance of a
  monthly series against a monthly target from :func:`sa_lib.stats.spc.xmr` and
  :func:`sa_lib.stats.spc.spc_summary` (nothing here re-implements SPC): the target
  is consistently met (``"pass"``) when it lies outside the process limits on
  the good side, consistently failed (``"fail"``) when it lies outside them on
  the bad side, and hit and miss (``"inconsistent"``) when it lies between them.
* :func:`review_priorities` joins the two; :func:`review_summary` and
  :func:`review_sentence` count the statuses for the executive summary.

Numbers stay numeric in every frame; only the ``sentence`` columns are text,
with whole numbers written by :func:`sa_lib.stats.change.format_count` (``3,741``)
and other numbers to one decimal place (``25.3``), rounded half-up.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import pandas as pd

from sa_lib.errors import OptionError
from sa_lib.stats.change import format_count
from sa_lib.stats.spc import spc_summary, xmr

__all__ = [
    "TARGET_STATUSES",
    "ASSURANCE_RESULTS",
    "PLAN_COLUMNS",
    "MIN_SPC_POINTS",
    "target_status",
    "target_assurance",
    "review_priorities",
    "review_summary",
    "review_sentence",
]

#: The values of ``target_status(...)["status"]``.
TARGET_STATUSES = ("met", "not met", "no data", "no target")
#: The values of ``target_assurance(...)["assurance"]`` (the first three as spc_summary gives them).
ASSURANCE_RESULTS = ("pass", "fail", "inconsistent", "not assessed")
#: Columns an action plan needs (as ``read_partner(path, "action_plan")`` returns them).
PLAN_COLUMNS = ("priority", "indicator", "period", "value", "target", "direction")
#: Fewest months with a value for SPC assurance: NHSRplotthedots calls limits from fewer
#: than 12 points "trial limits" (its short-group warning), so they are not used for assurance.
MIN_SPC_POINTS = 12

_DIRECTIONS = ("increase", "decrease")
_SERIES_COLUMNS = ("indicator", "month", "value")
_PERIOD_RE = r"^(\d{4})(?:-(\d{2}))?$"
_STATUS_COLUMNS = [
    "priority", "indicator", "period", "value", "target", "direction", "status",
    "previous_value", "sentence",
]
_ASSURANCE_COLUMNS = [
    "indicator", "direction", "n_points", "mean", "lpl", "upl", "target", "variation_type",
    "assurance_type", "assurance", "assurance_reason", "sentence",
]
_NO_TARGET = "no monthly target"
_NO_SERIES = "no monthly series"
_COUNT_COLUMNS = {"met": "met", "not met": "not_met", "no data": "no_data",
                  "no target": "no_target"}


# --------------------------------------------------------------------------- status


def target_status(plan: pd.DataFrame, period: str | int | pd.Period) -> pd.DataFrame:
    """Each action-plan indicator's value for ``period`` against its target.

    Which row is used: an indicator's row for ``period`` itself when there is
    one, otherwise its latest row *within* ``period`` (so reviewing ``"2025"``
    judges an indicator reported monthly by its December 2025 row, or its
    latest month of 2025).  Indicators with no row within ``period`` are left
    out: they belong to another year's plan.

    Status: ``"no target"`` when the target is blank (whatever the value);
    otherwise ``"no data"`` when the value is blank; otherwise ``"met"`` when
    ``value <= target`` (direction ``"decrease"``) or ``value >= target``
    (``"increase"``) -- a value exactly on target is met -- and ``"not met"``
    otherwise.

    Parameters
    ----------
    plan : DataFrame
        The action plan, as ``read_partner(path, "action_plan")`` returns it:
        ``priority``, ``indicator``, ``period`` (``"yyyy"`` for a calendar year
        or ``"yyyy-mm"`` for a month), ``value`` and ``target`` (numbers, blank
        allowed) and ``direction`` (``"increase"`` or ``"decrease"``: which way
        is better).  Other columns are ignored.
    period : str, int or Period
        The period under review, e.g. ``"2025"`` or ``"2025-12"``.

    Returns
    -------
    DataFrame
        One row per (priority, indicator), in plan order: ``priority``,
        ``indicator``, ``period`` (of the row used), ``value``, ``target``,
        ``direction``, ``status`` (one of :data:`TARGET_STATUSES`),
        ``previous_value`` (the same indicator's value for the period before
        the one used -- the previous year or month -- or NaN) and
        ``sentence``.

    Raises
    ------
    OptionError
        A missing column, a blank priority, indicator or period, a period that
        is not ``yyyy`` or ``yyyy-mm``, a non-numeric value or target, a
        direction other than increase/decrease, two rows for the same
        priority, indicator and period, or no row at all within ``period``.

    Examples
    --------
    >>> import pandas as pd
    >>> plan = pd.DataFrame({
    ...     "priority": ["Mental health"] * 2,
    ...     "indicator": ["Section 136 detentions"] * 2,
    ...     "period": ["2024", "2025"], "value": [58, 66], "target": [55, 55],
    ...     "direction": ["decrease"] * 2,
    ... })
    >>> out = target_status(plan, "2025")
    >>> out[["period", "value", "status", "previous_value"]]
      period  value   status  previous_value
    0   2025   66.0  not met            58.0
    >>> out["sentence"].iloc[0]
    'Section 136 detentions: 66 in 2025 against a target of no more than 55: not met.'
    """
    work = _validate_plan(plan)
    p_text, p_start, p_end = _parse_period(period)
    within = work[(work["_start"] >= p_start) & (work["_end"] <= p_end)]
    if within.empty:
        known = sorted(work["_period"].unique())
        raise OptionError(
            f"period={p_text!r}: no indicator in the plan has a row within it; "
            f"the plan's column 'period' has {known}"
        )
    # Prefer the row for the period itself, then the latest row inside it.
    chosen = (
        within.assign(_exact=within["_period"] == p_text)
        .sort_values(["_exact", "_end", "_start"], ascending=False, kind="stable")
        .drop_duplicates(["priority", "indicator"])
        .sort_values("_order", kind="stable")
    )
    previous = work[["priority", "indicator", "_period", "value"]].rename(
        columns={"_period": "_previous", "value": "previous_value"}
    )
    chosen = chosen.assign(_previous=_previous_period(chosen["_start"], chosen["_end"]))
    out = chosen.merge(previous, on=["priority", "indicator", "_previous"], how="left")

    value = out["value"].to_numpy(dtype=float)
    target = out["target"].to_numpy(dtype=float)
    increase = (out["direction"] == "increase").to_numpy(bool)
    with np.errstate(invalid="ignore"):
        met = np.where(increase, value >= target, value <= target)
    status = np.select(
        [np.isnan(target), np.isnan(value), met],
        ["no target", "no data", "met"],
        default="not met",
    )
    out["status"] = status
    out["period"] = out["_period"]
    out["sentence"] = [
        _status_sentence(ind, v, t, d, s, _period_text(p))
        for ind, v, t, d, s, p in zip(out["indicator"], value, target, out["direction"],
                                       status, out["_period"], strict=True)
    ]
    return out[_STATUS_COLUMNS].reset_index(drop=True)


# --------------------------------------------------------------------------- assurance


def target_assurance(
    series: pd.DataFrame,
    target: float | Mapping[Hashable, float] | None,
    direction: str | Mapping[Hashable, str],
    min_points: int = MIN_SPC_POINTS,
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

    summaries = []
    for d in _DIRECTIONS:
        names = base.loc[enough & (base["direction"] == d), "indicator"]
        if names.empty:
            continue
        rows = work[work["indicator"].isin(names)]
        with_target = {k: targets[k] for k in names if not np.isnan(targets[k])}
        spc = xmr(rows, value="value", date="month", by="indicator", improvement=d,
                  target=with_target or None)
        summaries.append(spc_summary(spc)[["indicator", "mean", "lpl", "upl", "variation_type",
                                           "assurance_type"]])
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


# --------------------------------------------------------------------------- review


def review_priorities(
    plan: pd.DataFrame,
    period: str | int | pd.Period,
    series: pd.DataFrame | None = None,
    monthly_targets: Mapping[Hashable, float] | None = None,
    min_points: int = MIN_SPC_POINTS,
) -> pd.DataFrame:
    """Every action-plan indicator's status for ``period`` plus its SPC assurance.

    The status columns are those of :func:`target_status`.  The assurance
    columns come from :func:`target_assurance`, run on the monthly series of
    each indicator up to the end of ``period`` (later months are dropped) with
    the indicator's ``direction`` from the plan:

    * the series: the plan's own monthly rows (``period`` = ``yyyy-mm``), with
      ``series`` replacing them for every indicator it holds (indicators of
      ``series`` not in the plan for ``period`` are ignored);
    * the monthly target: the plan's target in the latest monthly row that has
      one, overridden by ``monthly_targets``.

    An indicator without a monthly series gets assurance ``"not assessed"``
    with reason ``"no monthly series"``; one without a monthly target,
    ``"no monthly target"``; one with too short a series, ``"too few points
    for SPC assurance"``.

    Parameters
    ----------
    plan : DataFrame
        The action plan (see :func:`target_status`).
    period : str, int or Period
        The period under review, e.g. ``"2025"``.
    series : DataFrame, optional
        Monthly data: ``indicator`` (named as in the plan), ``month``, ``value``.
    monthly_targets : mapping of indicator -> number, optional
        Monthly targets, e.g. ``{"Section 136 detentions": 55 / 12}``.
    min_points : int, default :data:`MIN_SPC_POINTS` (12)
        Fewest months with a value needed for assurance.

    Returns
    -------
    DataFrame
        The columns of :func:`target_status`, then ``n_points``, ``mean``,
        ``lpl``, ``upl``, ``monthly_target``, ``variation_type``,
        ``assurance_type``, ``assurance`` (one of :data:`ASSURANCE_RESULTS`),
        ``assurance_reason`` and ``assurance_sentence``.

    Raises
    ------
    OptionError
        As :func:`target_status` and :func:`target_assurance`; also a
        ``monthly_targets`` key that is not an indicator of the plan for
        ``period``, or one indicator with two directions.

    Examples
    --------
    >>> import pandas as pd
    >>> plan = pd.DataFrame({
    ...     "priority": ["Mental health", "Anti-social behaviour"],
    ...     "indicator": ["Section 136 detentions", "Council ASB incidents"],
    ...     "period": ["2025", "2025"], "value": [66, 3741], "target": [55, 3650],
    ...     "direction": ["decrease", "decrease"],
    ... })
    >>> series = pd.DataFrame({
    ...     "indicator": "Section 136 detentions",
    ...     "month": pd.period_range("2025-01", periods=12, freq="M"),
    ...     "value": [6, 5, 7, 4, 6, 5, 7, 6, 5, 4, 6, 5],
    ... })
    >>> out = review_priorities(plan, "2025", series, {"Section 136 detentions": 55 / 12})
    >>> out[["indicator", "status", "assurance", "assurance_reason"]]
                    indicator   status     assurance   assurance_reason
    0  Section 136 detentions  not met  inconsistent               None
    1   Council ASB incidents  not met  not assessed  no monthly series
    """
    status = target_status(plan, period)
    _, _, p_end = _parse_period(period)
    work = _validate_plan(plan)
    indicators = pd.unique(status["indicator"])

    dirs = status.drop_duplicates(["indicator", "direction"])
    clash = dirs.loc[dirs["indicator"].duplicated(), "indicator"].tolist()
    if clash:
        raise OptionError(f"indicator {clash[0]!r} has both directions in column 'direction' "
                          "under different priorities; one indicator needs one direction")
    directions = dict(zip(dirs["indicator"], dirs["direction"], strict=True))

    # The plan's own monthly rows up to the end of the period, as a series.
    monthly = work[(work["_start"] == work["_end"]) & (work["_end"] <= p_end)
                   & work["indicator"].isin(indicators)]
    from_plan = pd.DataFrame({"indicator": monthly["indicator"], "month": monthly["_period"],
                              "value": monthly["value"]})
    targets = (monthly.dropna(subset=["target"]).sort_values("_end", kind="stable")
               .drop_duplicates("indicator", keep="last").set_index("indicator")["target"]
               .to_dict())
    if monthly_targets is not None:
        if not isinstance(monthly_targets, Mapping):
            raise OptionError("monthly_targets must be a mapping of indicator -> target, "
                              f"got {type(monthly_targets).__name__}")
        unknown = [k for k in monthly_targets if k not in set(indicators)]
        if unknown:
            raise OptionError(f"monthly_targets names indicator(s) {unknown} that are not in the "
                              f"plan for {_period_label(period)}; indicators are {list(indicators)}")
        checked = _target_map(monthly_targets, indicators)
        targets.update({k: checked[k] for k in monthly_targets})

    if series is not None:
        given = _validate_series(series)
        given = given[given["indicator"].isin(indicators)
                      & (given["month"] < _month_after(p_end))]
        from_plan = from_plan[~from_plan["indicator"].isin(set(given["indicator"]))]
        from_plan = pd.concat(
            [given, from_plan.assign(month=pd.to_datetime(from_plan["month"], format="%Y-%m"))],
            ignore_index=True,
        )
    assessed = from_plan["indicator"].unique()
    columns = ["n_points", "mean", "lpl", "upl", "monthly_target", "variation_type",
               "assurance_type", "assurance", "assurance_reason", "assurance_sentence"]
    if len(assessed):
        assurance = target_assurance(
            from_plan,
            {k: targets[k] for k in assessed if k in targets},
            {k: directions[k] for k in assessed},
            min_points=min_points,
        ).rename(columns={"target": "monthly_target", "sentence": "assurance_sentence"})
        assurance = assurance.drop(columns="direction")
    else:
        assurance = pd.DataFrame(columns=["indicator", *columns])
    out = status.merge(assurance, on="indicator", how="left")
    missing = out["assurance"].isna()
    out["n_points"] = out["n_points"].fillna(0).astype(np.int64)
    for col in ("mean", "lpl", "upl", "monthly_target"):
        out[col] = out[col].astype(float)
    for col in ("variation_type", "assurance_type", "assurance", "assurance_reason",
                "assurance_sentence"):
        out[col] = out[col].astype(object).where(out[col].notna(), None)
    out.loc[missing, "assurance"] = "not assessed"
    out.loc[missing, "assurance_reason"] = _NO_SERIES
    out.loc[missing, "assurance_sentence"] = [
        f"{ind}: no monthly series, so no SPC assurance." for ind in out.loc[missing, "indicator"]
    ]
    return out[[*_STATUS_COLUMNS, *columns]]


def review_summary(review: pd.DataFrame, by: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Count indicators by status, with a sentence for the executive summary.

    Parameters
    ----------
    review : DataFrame
        The output of :func:`target_status` or :func:`review_priorities` (any
        frame with a ``status`` column of :data:`TARGET_STATUSES`).
    by : str or list of str, optional
        Count separately for each value of these columns (e.g. ``"priority"``).

    Returns
    -------
    DataFrame
        One row (or one per ``by`` group, in order of appearance): the ``by``
        columns, ``indicators``, ``met``, ``not_met``, ``no_data``,
        ``no_target`` (whole numbers) and ``sentence``.

    Raises
    ------
    OptionError
        ``review`` is not a frame, lacks ``status`` or a ``by`` column, or
        has a status outside :data:`TARGET_STATUSES`.

    Examples
    --------
    >>> import pandas as pd
    >>> review = pd.DataFrame({"status": ["met", "met", "not met", "not met", "not met",
    ...                                   "no data"]})
    >>> review_summary(review)["sentence"].iloc[0]
    'Of 6 indicators, 2 met their target, 3 did not and 1 had no data.'
    """
    if not isinstance(review, pd.DataFrame):
        raise OptionError(f"review must be a DataFrame, got {type(review).__name__}")
    by_cols = [by] if isinstance(by, str) else list(by or [])
    missing = [c for c in ("status", *by_cols) if c not in review.columns]
    if missing:
        raise OptionError(f"review is missing column(s) {missing}; columns are "
                          f"{list(review.columns)}")
    bad = review.loc[~review["status"].isin(TARGET_STATUSES), "status"]
    if len(bad):
        raise OptionError(f"column 'status' has unknown value {bad.iloc[0]!r} (row "
                          f"{bad.index[0]!r}); expected one of {TARGET_STATUSES}")
    dummies = pd.DataFrame(
        {col: (review["status"] == s).astype(np.int64).to_numpy()
         for s, col in _COUNT_COLUMNS.items()}
    )
    if by_cols:
        keys = review[by_cols].reset_index(drop=True)
        counts = (pd.concat([keys, dummies], axis=1)
                  .groupby(by_cols, sort=False, dropna=False).sum().reset_index())
    else:
        counts = dummies.sum().to_frame().T.astype(np.int64)
    counts.insert(len(by_cols), "indicators",
                  counts[list(_COUNT_COLUMNS.values())].sum(axis=1).astype(np.int64))
    counts["sentence"] = [
        _summary_sentence(*row)
        for row in counts[["indicators", *_COUNT_COLUMNS.values()]].itertuples(index=False)
    ]
    return counts.reset_index(drop=True)


def review_sentence(review: pd.DataFrame) -> str:
    """The executive-summary sentence of :func:`review_summary` for the whole review.

    Examples
    --------
    >>> import pandas as pd
    >>> review_sentence(pd.DataFrame({"status": ["met", "not met", "no target"]}))
    'Of 3 indicators, 1 met its target, 1 did not and 1 had no target.'
    """
    return str(review_summary(review)["sentence"].iloc[0])


# --------------------------------------------------------------------------- validation


def _validate_plan(plan: pd.DataFrame) -> pd.DataFrame:
    """A checked copy of the plan with ``_period`` (normalised text), ``_start``/``_end``
    (month numbers, year * 12 + month - 1) and ``_order`` (first row of its indicator)."""
    if not isinstance(plan, pd.DataFrame):
        raise OptionError(f"plan must be a pandas DataFrame, got {type(plan).__name__}")
    missing = [c for c in PLAN_COLUMNS if c not in plan.columns]
    if missing:
        raise OptionError(f"plan is missing column(s) {missing}; an action plan needs "
                          f"{list(PLAN_COLUMNS)} (columns are {list(plan.columns)})")
    if plan.empty:
        raise OptionError("plan has no rows")
    work = pd.DataFrame(index=plan.index)
    for col in ("priority", "indicator"):
        text = plan[col].astype(object)
        blank = text.isna() | (text.astype(str).str.strip() == "")
        if blank.any():
            raise OptionError(f"column {col!r} is blank in plan row {plan.index[blank][0]!r}; "
                              "every row needs a priority and an indicator")
        work[col] = text.astype(str).str.strip().to_numpy()
    work["_period"], work["_start"], work["_end"] = _parse_plan_periods(plan["period"])
    for col in ("value", "target"):
        work[col] = _numeric(plan[col], col)
    direction = plan["direction"].astype(object)
    norm = direction.where(direction.isna(), direction.astype(str).str.strip().str.lower())
    bad = ~norm.isin(_DIRECTIONS)
    if bad.any():
        i = plan.index[bad][0]
        raise OptionError(f"column 'direction' has {direction[i]!r} in plan row {i!r} "
                          f"(indicator {work.at[i, 'indicator']!r}); expected one of {_DIRECTIONS}")
    work["direction"] = norm.astype(str).to_numpy()
    dup = work.duplicated(["priority", "indicator", "_period"], keep=False)
    if dup.any():
        rows = work[dup]
        first = rows.iloc[0]
        same = rows[(rows["priority"] == first["priority"]) & (rows["indicator"] == first["indicator"])
                    & (rows["_period"] == first["_period"])]
        raise OptionError(
            f"plan has {len(same)} rows (rows {list(same.index)}) for priority "
            f"{first['priority']!r}, indicator {first['indicator']!r}, period "
            f"{first['_period']!r}; each indicator needs one row per period"
        )
    work["_order"] = work.groupby(["priority", "indicator"], sort=False).ngroup().to_numpy()
    return work.reset_index(drop=True)


def _parse_plan_periods(s: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    text = s.astype(str) if isinstance(s.dtype, pd.PeriodDtype) else s
    parts = text.astype("string").str.strip().str.extract(_PERIOD_RE)
    year = pd.to_numeric(parts[0], errors="coerce")
    month = pd.to_numeric(parts[1], errors="coerce")
    bad = (year.isna() | (parts[1].notna() & ~month.between(1, 12))).to_numpy(bool) | s.isna().to_numpy()
    if bad.any():
        i = s.index[bad][0]
        raise OptionError(f"column 'period' has {s[i]!r} in plan row {i!r}; expected a year "
                          "(yyyy, e.g. 2025) or a month (yyyy-mm, e.g. 2025-10)")
    y = year.to_numpy(dtype=np.int64)
    is_month = month.notna().to_numpy()
    m = month.fillna(1).to_numpy(dtype=np.int64)
    start = np.where(is_month, y * 12 + m - 1, y * 12)
    end = np.where(is_month, start, y * 12 + 11)
    norm = parts[0].where(~is_month, parts[0] + "-" + parts[1])
    return norm.astype(object).to_numpy(), start, end


def _parse_period(period: str | int | pd.Period) -> tuple[str, int, int]:
    """Normalised text and first/last month number of the period under review."""
    if isinstance(period, pd.Period):
        period = str(period)
    if isinstance(period, int | np.integer) and not isinstance(period, bool):
        period = str(period)
    m = re.match(_PERIOD_RE, period.strip()) if isinstance(period, str) else None
    if m is None or (m.group(2) is not None and not 1 <= int(m.group(2)) <= 12):
        raise OptionError(f"period must be a year (yyyy, e.g. '2025') or a month (yyyy-mm, "
                          f"e.g. '2025-10'), got {period!r}")
    y = int(m.group(1))
    if m.group(2) is None:
        return f"{y:04d}", y * 12, y * 12 + 11
    start = y * 12 + int(m.group(2)) - 1
    return f"{y:04d}-{int(m.group(2)):02d}", start, start


def _period_label(period: str | int | pd.Period) -> str:
    return _period_text(_parse_period(period)[0])


def _numeric(s: pd.Series, col: str, what: str = "plan") -> np.ndarray:
    if pd.api.types.is_bool_dtype(s):
        raise OptionError(f"column {col!r} of the {what} must be numeric, got booleans")
    if pd.api.types.is_numeric_dtype(s):
        return s.to_numpy(dtype=float, na_value=np.nan)
    raw = s.astype(object)
    num = pd.to_numeric(raw.where(~raw.map(lambda x: isinstance(x, bool)), "not a number"),
                        errors="coerce")
    bad = num.isna() & raw.notna()
    if bad.any():
        i = s.index[bad.to_numpy()][0]
        raise OptionError(f"column {col!r} has the non-numeric value {raw[i]!r} in {what} row "
                          f"{i!r}; expected a number or a blank")
    return num.to_numpy(dtype=float, na_value=np.nan)


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


def _previous_period(start: pd.Series, end: pd.Series) -> np.ndarray:
    s = start.to_numpy(dtype=np.int64)
    e = end.to_numpy(dtype=np.int64)
    prev_year = [f"{y:04d}" for y in s // 12 - 1]
    prev_month = [f"{(m - 1) // 12:04d}-{(m - 1) % 12 + 1:02d}" for m in s]
    return np.where(s == e, prev_month, prev_year).astype(object)


def _month_after(end: int) -> pd.Timestamp:
    return pd.Timestamp(year=(end + 1) // 12, month=(end + 1) % 12 + 1, day=1)


def _period_text(period: str) -> str:
    """``"2025"`` -> ``"2025"``; ``"2025-12"`` -> ``"December 2025"``."""
    if len(period) == 4:
        return period
    return f"{calendar.month_name[int(period[5:7])]} {period[:4]}"


def _target_phrase(target: float, direction: str) -> str:
    return f"{'no more than' if direction == 'decrease' else 'at least'} {format_count(target)}"


def _status_sentence(indicator: str, value: float, target: float, direction: str, status: str,
                     period: str) -> str:
    if np.isnan(value):
        achieved = f"no data were returned for {period}"
    else:
        achieved = f"{format_count(value)} in {period}"
    if status == "no target":
        return f"{indicator}: {achieved} and no target was set: no target."
    if status == "no data":
        return f"{indicator}: {achieved}: no data."
    return f"{indicator}: {achieved} against a target of {_target_phrase(target, direction)}: {status}."


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


def _summary_sentence(total: int, met: int, not_met: int, no_data: int, no_target: int) -> str:
    if total == 0:
        return "There were no indicators to review."
    # (count, sentence when it is the only indicator, sentence when all indicators share it)
    uniform = ((met, "The only indicator met its target.", "All {n} indicators met their target."),
               (not_met, "The only indicator did not meet its target.",
                "None of the {n} indicators met their target."),
               (no_data, "The only indicator had no data.", "All {n} indicators had no data."),
               (no_target, "The only indicator had no target.",
                "All {n} indicators had no target."))
    for n, one, every in uniform:
        if n == total:
            return one if total == 1 else every.format(n=total)
    parts = []
    if met:
        parts.append(f"{met} met {'its' if met == 1 else 'their'} target")
    if not_met:
        parts.append(f"{not_met} did not" if met
                     else f"{not_met} did not meet {'its' if not_met == 1 else 'their'} target")
    if no_data:
        parts.append(f"{no_data} had no data")
    if no_target:
        parts.append(f"{no_target} had no target")
    listed = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
    return f"Of {total} indicators, {listed}."
