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

from sa_lib.data.measures import PARTNER_MEASURES
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


def _monthly(measure: str, kind: str, month: pd.Series, num: pd.Series, den: pd.Series | None,
             synthetic: bool) -> pd.DataFrame:
    unit = PARTNER_MEASURES[measure].unit
    num = pd.to_numeric(num, errors="coerce").astype(float)
    d = None if den is None else pd.to_numeric(den, errors="coerce").astype(float)
    value = num if d is None else 100 * num / d.where(d > 0)
    return pd.DataFrame({
        "measure": measure, "kind": kind, "start": month.to_numpy(), "end": month.to_numpy(),
        "value": value.to_numpy(), "numerator": num.to_numpy(),
        "denominator": np.nan if d is None else d.to_numpy(), "unit": unit, "synthetic": synthetic,
    })


def _incident_months(frame: pd.DataFrame, date: str = "date") -> pd.Series:
    return frame[date].dt.to_period("M")


def _count_by_month(frame: pd.DataFrame, mask: pd.Series | None = None) -> pd.Series:
    """Incidents per month, with explicit zeros for months between the first and last."""
    months = _incident_months(frame)
    if len(months) == 0:
        return pd.Series(dtype=float)
    full = pd.period_range(months.min(), months.max(), freq="M")
    sel = months if mask is None else months[mask.fillna(False).to_numpy(bool)]
    return sel.value_counts().reindex(full, fill_value=0).sort_index()


def partner_observations(data: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Every partner measure in :data:`PARTNER_MEASURES` that the loaded returns support.

    Parameters
    ----------
    data : mapping of kind -> DataFrame
        From :func:`load_partner_data` (or ``read_partner`` per kind).

    Returns
    -------
    DataFrame
        One row per measure and period: ``measure, kind, start, end, value,
        numerator, denominator, unit, synthetic`` (see the module docstring).
        Incident-level returns are counted per month with explicit zeros
        between their first and last month.  The domestic abuse repeat rate
        flags repeats on the whole file (365-day look-back), so the first year
        of a file under-counts repeats and is left out.

    Examples
    --------
    >>> from sa_lib.data.measures import load_partner_data
    >>> from sa_lib.paths import DATA_DIR
    >>> obs = partner_observations(load_partner_data(DATA_DIR / "synthetic"))
    >>> s136 = obs[obs["measure"] == "Section 136 detentions"]
    >>> str(s136["start"].iloc[0]), int(s136["value"].iloc[0])
    ('2021-01', 3)
    """
    parts = []
    syn = {k: bool(f.attrs.get("synthetic", False)) for k, f in data.items()}
    if "domestic_abuse" in data:
        da = data["domestic_abuse"]
        total = _count_by_month(da)
        parts.append(_monthly("Domestic abuse incidents", "domestic_abuse",
                              pd.Series(total.index), pd.Series(total.to_numpy()), None,
                              syn["domestic_abuse"]))
        high = _count_by_month(da, da["risk_level"].astype(str).eq("high"))
        parts.append(_monthly("High-risk domestic abuse incidents", "domestic_abuse",
                              pd.Series(high.index), pd.Series(high.to_numpy()), None,
                              syn["domestic_abuse"]))
        if len(da):
            flagged = flag_repeats(da[["victim_id", "date", "incident_id"]], key="victim_id",
                                   date="date", lookback_days=365, order_by="incident_id")
            rep = _count_by_month(flagged, flagged["is_repeat"])
            # Keep months whose every incident has a full 365-day look-back inside the file.
            first_full = da["date"].min().normalize() + pd.Timedelta(days=365)
            keep = total.index.to_timestamp() >= first_full
            months = total.index[keep]
            parts.append(_monthly("Domestic abuse repeat rate", "domestic_abuse",
                                  pd.Series(months), pd.Series(rep.reindex(months).to_numpy()),
                                  pd.Series(total.reindex(months).to_numpy()),
                                  syn["domestic_abuse"]))
    for kind, measure in (("asb_council", "Council ASB incidents"),
                          ("one_stop_shop", "One-stop-shop visits")):
        if kind in data:
            c = _count_by_month(data[kind])
            parts.append(_monthly(measure, kind, pd.Series(c.index), pd.Series(c.to_numpy()),
                                  None, syn[kind]))
    if "needle_finds" in data:
        n = data["needle_finds"]
        parts.append(_monthly("Needle finds", "needle_finds", n["month"], n["finds"], None,
                              syn["needle_finds"]))
        if n["needle_exchanges"].notna().any():
            parts.append(_monthly("Needle exchanges", "needle_finds", n["month"],
                                  n["needle_exchanges"], None, syn["needle_finds"]))
    if "section_136" in data:
        s = data["section_136"]
        parts.append(_monthly("Section 136 detentions", "section_136", s["month"],
                              s["detentions"], None, syn["section_136"]))
    spans = []
    if "substance_admissions" in data:
        a = data["substance_admissions"]
        spans.append(("Substance misuse admissions", "substance_admissions",
                      a["period_start"].dt.to_period("M"), a["period_end"].dt.to_period("M"),
                      a["admissions"], None))
    if "ksi" in data:
        k = data["ksi"]
        year = k["year"].astype(int).astype(str)
        spans.append(("KSI casualties", "ksi", pd.PeriodIndex(year + "-01", freq="M"),
                      pd.PeriodIndex(year + "-12", freq="M"),
                      k["killed"].astype(float) + k["seriously_injured"].astype(float), None))
    if "reoffending" in data:
        r = data["reoffending"]
        spans.append(("Proven reoffending rate", "reoffending", r["cohort_start"],
                      r["cohort_end"], r["reoffenders"], r["cohort_size"]))
    for measure, kind, start, end, num, den in spans:
        num = pd.to_numeric(pd.Series(np.asarray(num, dtype=object)), errors="coerce").astype(float)
        d = None if den is None else pd.to_numeric(pd.Series(np.asarray(den, dtype=object)),
                                                   errors="coerce").astype(float)
        parts.append(pd.DataFrame({
            "measure": measure, "kind": kind, "start": np.asarray(start), "end": np.asarray(end),
            "value": (num if d is None else 100 * num / d.where(d > 0)).to_numpy(),
            "numerator": num.to_numpy(), "denominator": np.nan if d is None else d.to_numpy(),
            "unit": PARTNER_MEASURES[measure].unit, "synthetic": syn[kind],
        }))
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
