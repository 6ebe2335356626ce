"""Did we meet the target?  Each action-plan indicator's status for a period.

Chapter 4 of a strategic assessment reviews last year's action plan: this module reads
the plan (checked column by column, periods ``yyyy`` or ``yyyy-mm``) and judges each
indicator.

* :func:`target_status` gives each indicator's status for a period: ``"met"``,
  ``"not met"``, ``"no data"`` (the value is blank) or ``"no target"`` (the
  target is blank: a monitoring-only indicator), with a plain-English sentence.
  A value exactly on target is met: ``value <= target`` when a decrease is
  better, ``value >= target`` when an increase is better.

Numbers stay numeric in every frame; only the ``sentence`` columns are text,
with whole numbers written by :func:`sa_lib.stats.change.format_count` (``3,741``)
and other numbers to one decimal place (``25.3``), rounded half-up.
"""

from __future__ import annotations

import calendar
import re

import numpy as np
import pandas as pd

from sa_lib.errors import OptionError
from sa_lib.stats.change import format_count

__all__ = [
    "TARGET_STATUSES",
    "PLAN_COLUMNS",
    "target_status",
]

#: The values of ``target_status(...)["status"]``.
TARGET_STATUSES = ("met", "not met", "no data", "no target")
#: Columns an action plan needs (as ``read_partner(path, "action_plan")`` returns them).
PLAN_COLUMNS = ("priority", "indicator", "period", "value", "target", "direction")

_DIRECTIONS = ("increase", "decrease")
_PERIOD_RE = r"^(\d{4})(?:-(\d{2}))?$"
_STATUS_COLUMNS = [
    "priority", "indicator", "period", "value", "target", "direction", "status",
    "previous_value", "sentence",
]


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


# --------------------------------------------------------------------------- wording


def _previous_period(start: pd.Series, end: pd.Series) -> np.ndarray:
    s = start.to_numpy(dtype=np.int64)
    e = end.to_numpy(dtype=np.int64)
    prev_year = [f"{y:04d}" for y in s // 12 - 1]
    prev_month = [f"{(m - 1) // 12:04d}-{(m - 1) % 12 + 1:02d}" for m in s]
    return np.where(s == e, prev_month, prev_year).astype(object)


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
