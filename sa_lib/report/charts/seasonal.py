"""Seasonal chart: one line per year over January to December, with its alt text."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, StrMethodFormatter

from sa_lib.errors import OptionError
from sa_lib.report.charts.base import (
    _BAR_COLOUR,
    _GRID,
    SERIES_COLOURS,
    Chart,
    _check_frame,
    _footnote,
    _join,
    _numbers,
    _value_formatter,
    plain_text_chart,
)

__all__ = ["seasonal_chart"]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_WORDS = ("January", "February", "March", "April", "May", "June", "July", "August",
                "September", "October", "November", "December")
# Earlier years: one colour, line style and marker each (readable without colour); the
# latest year is drawn in NHS blue, solid, thickest and on top.
_EARLIER_COLOURS = SERIES_COLOURS[1:]
_EARLIER_STYLES = ("--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)), (0, (8, 2)))
_EARLIER_MARKERS = ("s", "^", "D", "v", "P", "X")
_MAX_YEARS = 1 + len(_EARLIER_COLOURS)


def _month_runs(months: list[int]) -> str:
    """``Jan–Apr and Jul`` for calendar months 1, 2, 3, 4, 7."""
    runs: list[tuple[int, int]] = []
    for m in sorted(months):
        if runs and m == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], m)
        else:
            runs.append((m, m))
    return _join([_MONTHS[a - 1] if a == b else f"{_MONTHS[a - 1]}\u2013{_MONTHS[b - 1]}"
                  for a, b in runs])


@plain_text_chart
def seasonal_chart(
    profile: pd.DataFrame,
    title: str,
    value: str = "count",
    value_label: str = "Records per month",
    caption: str | None = None,
    shows_counts: bool = True,
) -> Chart:
    """Draw a seasonal chart: one line per calendar year over January to December.

    Months without data are gaps in their year's line (never zero); points are
    marked, so a month standing alone still shows.  Each year has its own
    colour, line style and marker, so the years can be told apart without
    colour; the latest year is solid, thickest and drawn on top.

    Parameters
    ----------
    profile : DataFrame
        One series from :func:`sa_lib.stats.seasonality.seasonal_profile`
        (columns ``year``, ``calendar_month`` and ``value``; filter first if
        it holds several series).
    title : str
        Chart title; also starts the alt text.
    value : str, default "count"
        The column drawn.
    value_label : str, default "Records per month"
        Y-axis label.
    caption : str, optional
        Small text under the chart (e.g. the source).
    shows_counts : bool, default True
        The values are counts of records: ``Chart.counts`` lists the plotted
        values, so the public build withholds the chart when one is small.
        Pass False for rates or scores.

    Returns
    -------
    Chart

    Raises
    ------
    OptionError
        A missing column, no data at all, a (year, calendar month) given twice,
        a calendar month outside 1-12 or more than 7 years.

    Examples
    --------
    >>> import pandas as pd
    >>> from sa_lib.stats.seasonality import seasonal_profile
    >>> df = pd.DataFrame({"month": pd.period_range("2024-01", periods=15, freq="M"),
    ...                    "count": [5, 6, 7, 8, 9, 12, 15, 11, 8, 7, 6, 5, 6, 7, 9]})
    >>> chart = seasonal_chart(seasonal_profile(df), "Robbery, Maidstone")
    >>> print(chart.alt_text)
    Seasonal chart of Robbery, Maidstone: records per month, January to December, one line per calendar year (2024 and 2025; 2025 is the latest, drawn thickest). 2024: highest in July (15), lowest in January and December (5). 2025 (data for Jan–Mar only): highest in March (9), lowest in January (6).
    >>> chart.counts[:3]
    (5.0, 6.0, 7.0)
    """
    func = "seasonal_chart"
    _check_frame(profile, "profile", ["year", "calendar_month", value], func)
    d = profile.reset_index(drop=True)
    vals = _numbers(d, value, func, "profile")
    years = _numbers(d, "year", func, "profile")
    cms = _numbers(d, "calendar_month", func, "profile")
    if np.isnan(years).any() or np.isnan(cms).any():
        raise OptionError(f"{func}: year and calendar_month must not be missing")
    if ((cms < 1) | (cms > 12) | (cms % 1 != 0)).any():
        raise OptionError(f"{func}: calendar_month must be a whole number from 1 to 12")
    key = pd.DataFrame({"y": years, "m": cms})
    if key.duplicated().any():
        raise OptionError(f"{func}: a (year, calendar_month) appears more than once; the "
                          "profile holds several series - filter it to one first")
    if not np.isfinite(vals).any():
        raise OptionError(f"{func}: no month has a value; nothing to draw")
    year_list = sorted(int(y) for y in np.unique(years))
    if len(year_list) > _MAX_YEARS:
        raise OptionError(f"{func}: {len(year_list)} years; a seasonal chart stays readable "
                          f"with at most {_MAX_YEARS} - keep the latest years")
    # One 12-month row per year, NaN where there is no value.
    grid = np.full((len(year_list), 12), np.nan)
    grid[np.searchsorted(year_list, years.astype(int)), cms.astype(int) - 1] = vals

    fig = Figure(figsize=(8, 3.6), dpi=110)
    ax = fig.add_subplot()
    x = np.arange(1, 13)
    latest = len(year_list) - 1
    for k, year in enumerate(year_list):
        if k == latest:
            style = {"color": _BAR_COLOUR, "linestyle": "-", "marker": "o", "linewidth": 2.8,
                     "markersize": 5.5, "zorder": 10}
        else:
            j = latest - 1 - k  # the year before the latest gets the first earlier style
            style = {"color": _EARLIER_COLOURS[j], "linestyle": _EARLIER_STYLES[j],
                     "marker": _EARLIER_MARKERS[j], "linewidth": 1.5, "markersize": 4.5,
                     "zorder": 5 - j / 10}
        ax.plot(x, grid[k], label=str(year), **style)
    ax.set_xticks(x, list(_MONTHS), fontsize=8)
    ax.set_xlim(0.6, 12.4)
    finite = vals[np.isfinite(vals)]
    if finite.min() >= 0:
        ax.set_ylim(0, max(float(finite.max()) * 1.1, 1.0))
    whole = bool(np.all(finite % 1 == 0))
    if whole:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}") if whole or
                                 finite.max() - finite.min() >= 5
                                 else StrMethodFormatter("{x:,.1f}"))
    ax.set_ylabel(value_label)
    ax.grid(axis="y", color=_GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    handles, labels = ax.get_legend_handles_labels()
    # Latest year first in the legend.
    ax.legend(handles[::-1], labels[::-1], fontsize=8, frameon=False, loc="upper left",
              bbox_to_anchor=(1.01, 1), title="Year", title_fontsize=8, alignment="left")
    ax.set_title(title, loc="left", fontsize=11)
    _footnote(ax, [caption or ""])
    counts = tuple(float(v) for v in grid[np.isfinite(grid)]) if shows_counts else None
    return Chart(fig, _seasonal_alt_text(title, value_label, year_list, grid), counts)


def _seasonal_alt_text(title: str, value_label: str, years: list[int], grid: np.ndarray) -> str:
    fmt = _value_formatter(grid)
    names = [str(y) for y in years]
    head = (f"Seasonal chart of {title}: {value_label.lower()}, January to December, one line "
            f"per calendar year ({_join(names)}")
    head += f"; {names[-1]} is the latest, drawn thickest)." if len(years) > 1 else ")."
    parts = [head]
    for year, row in zip(years, grid, strict=True):
        ok = np.isfinite(row)
        have = [int(m) + 1 for m in np.flatnonzero(ok)]
        gaps = [m for m in range(1, 13) if m not in have]
        label = str(year) + ("" if not gaps else f" (no data for {_month_runs(gaps)})"
                             if len(gaps) <= 6 else f" (data for {_month_runs(have)} only)")
        if not have:
            parts.append(f"{year}: no data.")
            continue
        if len(have) == 1:
            m = have[0]
            parts.append(f"{label}: {fmt(row[m - 1])} in {_MONTH_WORDS[m - 1]}.")
            continue
        hi, lo = np.nanmax(row), np.nanmin(row)
        at_hi = [_MONTH_WORDS[m - 1] for m in have if row[m - 1] == hi]
        at_lo = [_MONTH_WORDS[m - 1] for m in have if row[m - 1] == lo]
        if hi == lo:
            parts.append(f"{label}: {fmt(hi)} in every month with data.")
        else:
            parts.append(f"{label}: highest in {_join(at_hi)} ({fmt(hi)}), "
                         f"lowest in {_join(at_lo)} ({fmt(lo)}).")
    return " ".join(parts)
