"""Partner measures: turn partner returns into tidy observations a chapter can compare.

Partner data arrive in different shapes (incident lists, monthly counts, annual
returns, quarterly reoffending cohorts).  :func:`partner_observations` turns
each into rows of one tidy frame, one row per measure and period::

    measure, kind, start, end, value, numerator, denominator, unit, synthetic

``start``/``end`` are the first and last month (``period[M]``) the row covers,
so a monthly count has ``start == end`` and an annual return covers twelve
months.  Counts have ``unit == "count"`` and ``value == numerator``; rates have
``unit == "percent"`` and ``value = 100 * numerator / denominator`` so a rate
over a longer window is the ratio of the sums, never the mean of the rates.

:func:`measure_window_values` then gives each measure's value for a window,
using only rows that lie wholly inside it and saying whether they cover every
month of the window (an annual return does not cover a January-April window).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from sa_lib.data.measures import PARTNER_MEASURES, MeasureSpec, Rule
from sa_lib.errors import OptionError
from sa_lib.periods import Window
from sa_lib.stats.repeat import flag_repeats

__all__ = [
    "partner_observations",
    "measure_window_values",
    "monthly_measure",
]

OBSERVATION_COLUMNS = ("measure", "kind", "start", "end", "value", "numerator", "denominator",
                       "unit", "synthetic")


def _frame(measure: str, spec: MeasureSpec, start: object, end: object, num: pd.Series,
           den: pd.Series | None, synthetic: bool) -> pd.DataFrame:
    num = pd.to_numeric(num, errors="coerce").astype(float)
    d = None if den is None else pd.to_numeric(den, errors="coerce").astype(float)
    value = num if d is None else 100 * num / d.where(d > 0)
    return pd.DataFrame({
        "measure": measure, "kind": spec.kind, "start": np.asarray(start), "end": np.asarray(end),
        "value": value.to_numpy(), "numerator": num.to_numpy(),
        "denominator": np.nan if d is None else d.to_numpy(), "unit": spec.unit,
        "synthetic": synthetic,
    })


def _as_float(values: pd.Series) -> pd.Series:
    """A column as float, blanks (``<NA>``) as NaN, on a fresh 0..n-1 index."""
    return pd.to_numeric(pd.Series(np.asarray(values, dtype=object)), errors="coerce").astype(float)


def _row_values(frame: pd.DataFrame, rule: Rule) -> pd.Series:
    """What each row adds to ``rule`` (1 per row, 1 where equal, or the row's sum)."""
    if rule.how == "rows":
        return pd.Series(1.0, index=range(len(frame)))
    if rule.how == "equals":
        text = frame[rule.columns[0]].astype("string").str.strip().str.casefold()
        return pd.Series(text.eq(rule.value.strip().casefold()).fillna(False).to_numpy(float))
    if rule.how == "sum":
        total = _as_float(frame[rule.columns[0]])
        for c in rule.columns[1:]:
            total = total + _as_float(frame[c])
        return total
    raise OptionError(f"rule {rule.how!r} needs dated rows (one incident per row)")


def _dated(measure: str, spec: MeasureSpec, frame: pd.DataFrame, syn: bool) -> pd.DataFrame:
    """One row per month from first to last (explicit zeros): incident-level returns."""
    date = spec.time.columns[0]
    months = frame[date].dt.to_period("M")
    full = pd.period_range(months.min(), months.max(), freq="M")

    def per_month(rule: Rule) -> pd.Series:
        if rule.how == "repeats":
            cols = list(dict.fromkeys([rule.columns[0], date, *([rule.order_by] if rule.order_by else [])]))
            flagged = flag_repeats(frame[cols], key=rule.columns[0], date=date,
                                   lookback_days=rule.lookback_days, order_by=rule.order_by)
            m = flagged[date].dt.to_period("M")
            return m[flagged["is_repeat"].fillna(False).to_numpy(bool)].value_counts() \
                .reindex(full, fill_value=0).sort_index()
        if rule.how == "rows":
            return months.value_counts().reindex(full, fill_value=0).sort_index()
        if rule.how == "equals":
            mask = _row_values(frame, rule).to_numpy(bool)
            return months[mask].value_counts().reindex(full, fill_value=0).sort_index()
        values = _row_values(frame, rule).set_axis(frame.index)
        return values.groupby(months).sum().reindex(full, fill_value=0).sort_index()

    num = per_month(spec.rule)
    den = None if spec.denominator is None else per_month(spec.denominator)
    keep = full
    repeats = [r for r in spec.rules if r.how == "repeats"]
    if repeats:
        # Keep months whose every incident has a full look-back inside the file.
        first_full = frame[date].min().normalize() + pd.Timedelta(days=repeats[0].lookback_days)
        keep = full[full.to_timestamp() >= first_full]
    return _frame(measure, spec, pd.Series(keep), pd.Series(keep),
                  pd.Series(num.reindex(keep).to_numpy()),
                  None if den is None else pd.Series(den.reindex(keep).to_numpy()), syn)


def _monthly_rows(measure: str, spec: MeasureSpec, frame: pd.DataFrame, syn: bool
                  ) -> pd.DataFrame:
    """Rows summed per month: monthly returns (a missing month stays missing)."""
    months = pd.PeriodIndex(frame[spec.time.columns[0]], freq="M")

    def per_month(rule: Rule) -> pd.Series:
        return _row_values(frame, rule).groupby(months.to_numpy()).sum(min_count=1)

    num = per_month(spec.rule)
    den = None if spec.denominator is None else per_month(spec.denominator).reindex(num.index)
    index = pd.Series(num.index)
    return _frame(measure, spec, index, index, pd.Series(num.to_numpy()),
                  None if den is None else pd.Series(den.to_numpy()), syn)


def _spans(measure: str, spec: MeasureSpec, frame: pd.DataFrame, syn: bool) -> pd.DataFrame:
    """One row per row of the return, covering a calendar year or a start-end span."""
    if spec.time.how == "year":
        year = frame[spec.time.columns[0]].astype(int).astype(str)
        start = pd.PeriodIndex(year + "-01", freq="M")
        end = pd.PeriodIndex(year + "-12", freq="M")
    else:
        start, end = (frame[c].dt.to_period("M") if pd.api.types.is_datetime64_any_dtype(frame[c])
                      else frame[c] for c in spec.time.columns)
    return _frame(measure, spec, start, end, _row_values(frame, spec.rule),
                  None if spec.denominator is None else _row_values(frame, spec.denominator), syn)


def _usable(spec: MeasureSpec, frame: pd.DataFrame) -> bool:
    """The return has the measure's columns and rows, and a summed column is not all blank."""
    if len(frame) == 0 or any(c not in frame for c in spec.columns):
        return False
    return not (spec.rule.how == "sum" and all(frame[c].isna().all() for c in spec.rule.columns))


def partner_observations(data: Mapping[str, pd.DataFrame],
                         measures: Mapping[str, MeasureSpec] | None = None) -> pd.DataFrame:
    """Every partner measure of the registry that the loaded returns support.

    Parameters
    ----------
    data : mapping of kind -> DataFrame
        From :func:`load_partner_data` (or ``read_partner`` per kind); a declared
        measure's return is keyed by its file pattern.
    measures : mapping of name -> MeasureSpec, optional
        Default :data:`~sa_lib.data.measures.PARTNER_MEASURES` (the built-ins and
        the measures the parameters file declares).

    Returns
    -------
    DataFrame
        One row per measure and period: ``measure, kind, start, end, value,
        numerator, denominator, unit, synthetic`` (see the module docstring).
        Each measure follows its spec's time column: incident-level returns
        (``date``) are counted per month with explicit zeros between their first
        and last month; monthly returns (``month``) are summed per month; annual
        (``year``) and span returns give one row per row.  A repeat rule (the
        domestic abuse repeat rate) flags repeats on the whole file (e.g. a
        365-day look-back), so the file's first look-back period under-counts
        repeats and is left out.  A summed column that is blank throughout (no
        needle exchanges recorded) gives no rows.

    Examples
    --------
    >>> from sa_lib.data.measures import load_partner_data
    >>> from sa_lib.paths import DATA_DIR
    >>> obs = partner_observations(load_partner_data(DATA_DIR / "synthetic"))
    >>> s136 = obs[obs["measure"] == "Section 136 detentions"]
    >>> str(s136["start"].iloc[0]), int(s136["value"].iloc[0])
    ('2021-01', 3)
    """
    registry = PARTNER_MEASURES if measures is None else measures
    build = {"date": _dated, "month": _monthly_rows, "year": _spans, "span": _spans}
    parts = []
    for name, spec in registry.items():
        frame = data.get(spec.kind)
        if frame is None or not _usable(spec, frame):
            continue
        syn = bool(frame.attrs.get("synthetic", False))
        parts.append(build[spec.time.how](name, spec, frame, syn))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in OBSERVATION_COLUMNS})
    out = pd.concat(parts, ignore_index=True)
    out["start"] = pd.PeriodIndex(out["start"], freq="M")
    out["end"] = pd.PeriodIndex(out["end"], freq="M")
    return out.sort_values(["measure", "start"], kind="stable").reset_index(drop=True)


def measure_window_values(observations: pd.DataFrame, window: Window,
                          measures: list[str] | None = None) -> pd.DataFrame:
    """Each measure's value for a window, from rows lying wholly inside it.

    A count is the sum of the rows; a rate is ``100 * sum(numerator) /
    sum(denominator)``.  ``complete`` says whether those rows cover every month
    of the window.  The value is NaN when they do not (a part-window total is
    not comparable with a whole one) or when no row lies inside the window;
    ``months_covered`` says how much was there.

    Parameters
    ----------
    observations : DataFrame
        From :func:`partner_observations`.
    window : Window
        The window, e.g. ``params.review_window``.
    measures : list of str, optional
        Which measures, in this order (default: all, in the frame's order).

    Returns
    -------
    DataFrame
        ``measure, unit, value, numerator, denominator, months_covered,
        complete, synthetic``.

    Examples
    --------
    >>> from sa_lib.data.measures import load_partner_data
    >>> from sa_lib.paths import DATA_DIR
    >>> from sa_lib.periods import calendar_year
    >>> obs = partner_observations(load_partner_data(DATA_DIR / "synthetic"))
    >>> v = measure_window_values(obs, calendar_year(2025), ["KSI casualties"])
    >>> v[["measure", "value", "complete"]].to_dict("records")
    [{'measure': 'KSI casualties', 'value': 52.0, 'complete': True}]
    """
    names = list(dict.fromkeys(observations["measure"])) if measures is None else list(measures)
    unknown = [m for m in names if m not in set(observations["measure"])
               and m not in PARTNER_MEASURES]
    if unknown:
        raise OptionError(f"unknown measure(s) {unknown}; known: {sorted(PARTNER_MEASURES)}")
    inside = observations[(observations["start"] >= window.start) &
                          (observations["end"] <= window.end) &
                          observations["measure"].isin(names)]
    # A row with a blank count (or, for a rate, a blank base) covers no month.
    has_value = inside["numerator"].notna() & ((inside["unit"] != "percent") |
                                               inside["denominator"].notna())
    inside = inside[has_value]
    months = (inside["end"] - inside["start"]).map(lambda d: d.n) + 1
    grouped = inside.assign(months=months.astype(int)).groupby("measure", sort=False).agg(
        numerator=("numerator", lambda s: s.sum(min_count=1)),
        denominator=("denominator", lambda s: s.sum(min_count=1)),
        months_covered=("months", "sum"),
        synthetic=("synthetic", "any"),
    )
    rows = []
    for m in names:
        unit = PARTNER_MEASURES[m].unit if m in PARTNER_MEASURES else "count"
        if m in grouped.index:
            g = grouped.loc[m]
            num, den = float(g["numerator"]), float(g["denominator"])
            value = 100 * num / den if unit == "percent" and den > 0 else (
                num if unit == "count" else np.nan)
            covered, syn = int(g["months_covered"]), bool(g["synthetic"])
            if covered < window.n_months:
                value = np.nan
        else:
            num = den = value = np.nan
            covered = 0
            syn = bool(observations.loc[observations["measure"] == m, "synthetic"].any())
        rows.append({"measure": m, "unit": unit, "value": value, "numerator": num,
                     "denominator": den, "months_covered": covered,
                     "complete": covered >= window.n_months, "synthetic": syn})
    return pd.DataFrame(rows)


def monthly_measure(observations: pd.DataFrame, measure: str,
                    window: Window | None = None) -> pd.DataFrame:
    """One monthly measure as ``month, value`` (for SPC), optionally limited to a window.

    Raises
    ------
    OptionError
        The measure is unknown or not monthly.

    Examples
    --------
    >>> from sa_lib.data.measures import load_partner_data
    >>> from sa_lib.paths import DATA_DIR
    >>> obs = partner_observations(load_partner_data(DATA_DIR / "synthetic"))
    >>> len(monthly_measure(obs, "Needle finds"))
    60
    """
    spec = PARTNER_MEASURES.get(measure)
    if spec is None:
        raise OptionError(f"unknown measure {measure!r}; known: {sorted(PARTNER_MEASURES)}")
    if spec.frequency != "monthly":
        raise OptionError(f"{measure!r} is {spec.frequency}, not monthly; it has no monthly series")
    rows = observations[(observations["measure"] == measure) &
                        (observations["start"] == observations["end"])]
    if window is not None:
        rows = rows[(rows["start"] >= window.start) & (rows["start"] <= window.end)]
    return pd.DataFrame({"month": rows["start"].to_numpy(), "value": rows["value"].to_numpy()})
