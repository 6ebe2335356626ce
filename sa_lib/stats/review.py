"""Review of last year's priorities: action-plan indicators against their targets.

Chapter 4 of a strategic assessment asks, for every indicator in the
partnership's action plan, *did we meet the target?* and, where a monthly
series exists, *can we expect to keep meeting it?*

* :func:`sa_lib.stats.targets.target_status` answers the first question (``"met"``,
  ``"not met"``, ``"no data"`` or ``"no target"``, with a sentence);
* :func:`sa_lib.stats.assurance.target_assurance` the second (SPC assurance:
  ``"pass"``, ``"fail"`` or ``"inconsistent"``);
* :func:`review_priorities` joins the two; :func:`review_summary` and
  :func:`review_sentence` count the statuses for the executive summary.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence

import numpy as np
import pandas as pd

from sa_lib.errors import OptionError
from sa_lib.stats.assurance import MIN_SPC_POINTS, _target_map, _validate_series, target_assurance
from sa_lib.stats.targets import (
    _STATUS_COLUMNS,
    TARGET_STATUSES,
    _parse_period,
    _period_label,
    _validate_plan,
    target_status,
)

__all__ = [
    "review_priorities",
    "review_summary",
    "review_sentence",
]

_NO_SERIES = "no monthly series"
_COUNT_COLUMNS = {"met": "met", "not met": "not_met", "no data": "no_data",
                  "no target": "no_target"}


# --------------------------------------------------------------------------- review


def review_priorities(
    plan: pd.DataFrame,
    period: str | int | pd.Period,
    series: pd.DataFrame | None = None,
    monthly_targets: Mapping[Hashable, float] | None = None,
    min_points: int = MIN_SPC_POINTS,
    limit_floor: float | Mapping[Hashable, float | None] | None = None,
) -> pd.DataFrame:
    """Every action-plan indicator's status for ``period`` plus its SPC assurance.

    The status columns are those of :func:`sa_lib.stats.targets.target_status`.
    The assurance columns come from :func:`sa_lib.stats.assurance.target_assurance`,
    run on the monthly series of each indicator up to the end of ``period`` (later
    months are dropped) with the indicator's ``direction`` from the plan:

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
        The action plan (see :func:`sa_lib.stats.targets.target_status`).
    period : str, int or Period
        The period under review, e.g. ``"2025"``.
    series : DataFrame, optional
        Monthly data: ``indicator`` (named as in the plan), ``month``, ``value``.
    monthly_targets : mapping of indicator -> number, optional
        Monthly targets, e.g. ``{"Section 136 detentions": 55 / 12}``.
    min_points : int, default :data:`sa_lib.stats.assurance.MIN_SPC_POINTS` (12)
        Fewest months with a value needed for assurance.
    limit_floor : number, mapping of indicator -> number, or None
        Passed to :func:`~sa_lib.stats.assurance.target_assurance`: lower process
        limits below it are raised to it (0 for counts).

    Returns
    -------
    DataFrame
        The columns of :func:`sa_lib.stats.targets.target_status`, then
        ``n_points``, ``mean``, ``lpl``, ``upl``, ``monthly_target``,
        ``variation_type``, ``assurance_type``, ``assurance`` (one of
        :data:`sa_lib.stats.assurance.ASSURANCE_RESULTS`), ``assurance_reason``
        and ``assurance_sentence``.

    Raises
    ------
    OptionError
        As :func:`sa_lib.stats.targets.target_status` and
        :func:`sa_lib.stats.assurance.target_assurance`; also a
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
            limit_floor=({k: v for k, v in limit_floor.items() if k in set(assessed)}
                         if isinstance(limit_floor, Mapping) else limit_floor),
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
        The output of :func:`sa_lib.stats.targets.target_status` or
        :func:`review_priorities` (any frame with a ``status`` column of
        :data:`sa_lib.stats.targets.TARGET_STATUSES`).
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
        has a status outside :data:`sa_lib.stats.targets.TARGET_STATUSES`.

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


# --------------------------------------------------------------------------- wording


def _month_after(end: int) -> pd.Timestamp:
    return pd.Timestamp(year=(end + 1) // 12, month=(end + 1) % 12 + 1, day=1)


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
