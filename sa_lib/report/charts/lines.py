"""Line chart: one or a few short series over time, with its alt text."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, StrMethodFormatter

from sa_lib.errors import OptionError
from sa_lib.report.charts.base import (
    _BAR_COLOUR,
    _GRID,
    _INK,
    _MAX_LISTED,
    SERIES_COLOURS,
    Chart,
    _check_frame,
    _footnote,
    _humanise,
    _join,
    _labels,
    _numbers,
    _value_formatter,
    _wrap,
    plain_text_chart,
)

__all__ = ["line_chart"]

_MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def _x_positions(x: pd.Series, func: str, column: object) -> tuple[np.ndarray, list[str]]:
    """Numeric positions and display labels of the time values.

    Timestamps are days since 1970, periods their ordinals (so quarterly
    points keep their spacing), numbers themselves, and text its order of
    first appearance.
    """
    if x.isna().any():
        rows = [int(i) for i in np.flatnonzero(x.isna().to_numpy())][:10]
        raise OptionError(f"{func}: column {column!r} has missing values (row(s) {rows}, 0-based)")
    if x.dtype == object and len(x):
        if all(isinstance(v, pd.Period) for v in x):
            freqs = {v.freqstr for v in x}
            if len(freqs) > 1:
                raise OptionError(f"{func}: column {column!r} mixes period frequencies {sorted(freqs)}")
            x = pd.Series(pd.PeriodIndex(list(x)), index=x.index)
        elif all(isinstance(v, pd.Timestamp | np.datetime64) for v in x):
            x = pd.to_datetime(x)
    labels = _labels(x)
    if isinstance(x.dtype, pd.PeriodDtype):
        return np.asarray([p.ordinal for p in x], dtype=float), labels
    if pd.api.types.is_datetime64_any_dtype(x):
        ts = pd.DatetimeIndex(x)
        if ts.tz is not None:
            ts = ts.tz_localize(None)
        days = (ts - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
        return np.asarray(days, dtype=float), labels
    if pd.api.types.is_numeric_dtype(x) and not pd.api.types.is_bool_dtype(x):
        vals = x.to_numpy(dtype=float, na_value=np.nan)
        labels = [str(int(v)) if float(v).is_integer() else f"{v:g}" for v in vals]
        return vals, labels
    order = {lab: i for i, lab in enumerate(dict.fromkeys(labels))}
    return np.asarray([order[lab] for lab in labels], dtype=float), labels


@plain_text_chart
def line_chart(
    data: pd.DataFrame,
    x: str,
    y: str,
    title: str,
    by: str | None = None,
    value_label: str = "Count",
    caption: str | None = None,
) -> Chart:
    """A small line chart of one or a few series over time (annual, quarterly, monthly...).

    For partner measures that are too short or too infrequent for an SPC
    chart, e.g. annual hospital admissions or a quarterly reoffending rate.
    Missing values break the line (and are listed in the alt text); points
    are marked so single values show.

    Parameters
    ----------
    data : DataFrame
        Long data: one row per time point (per series when ``by`` is given).
    x : str
        Time column: dates (``datetime64``), periods (``period[Q]``...),
        numbers (years) or text (drawn in order of first appearance).
    y : str
        Numeric column.
    title : str
        Chart title.
    by : str, optional
        Column naming the series (at most 7, one colour and marker each).
    value_label : str, default "Count"
        Y-axis label.
    caption : str, optional
        Small text under the chart (e.g. "Synthetic data").

    Returns
    -------
    Chart

    Raises
    ------
    OptionError
        ``data`` is empty, a column is missing, ``y`` is not numeric, ``x`` or
        ``by`` has missing values, a series repeats an ``x`` value or there
        are more than 7 series.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"year": [2021, 2022, 2023, 2024], "admissions": [795, 800, 734, 734]})
    >>> line_chart(df, "year", "admissions", "Substance-related admissions").alt_text
    'Line chart of Substance-related admissions: Count from 2021 to 2024. 795 in 2021, 800 in 2022, 734 in 2023 and 734 in 2024.'
    """
    func = "line_chart"
    needed = [x, y] + ([by] if by is not None else [])
    if len(set(map(str, needed))) < len(needed):
        raise OptionError(f"{func}: x, y and by must be different columns, got {needed}")
    _check_frame(data, "data", needed, func)
    d = data.reset_index(drop=True)
    pos, xlab = _x_positions(d[x], func, x)
    vals = _numbers(d, y, func)
    if by is not None:
        if d[by].isna().any():
            rows = [int(i) for i in np.flatnonzero(d[by].isna().to_numpy())][:10]
            raise OptionError(f"{func}: column {by!r} has missing values (row(s) {rows}, 0-based)")
        series = [str(s) for s in d[by]]
    else:
        series = [""] * len(d)
    names = list(dict.fromkeys(series))
    if len(names) > len(SERIES_COLOURS):
        raise OptionError(f"{func}: {len(names)} series in {by!r}; a line chart stays readable "
                          f"with at most {len(SERIES_COLOURS)} - filter the data or draw several")
    key = pd.DataFrame({"s": series, "x": pos})
    dup = key.duplicated()
    if dup.any():
        which = sorted({(series[i], xlab[i]) for i in np.flatnonzero(dup.to_numpy())})
        shown = [lab for _, lab in which] if by is None else which
        raise OptionError(f"{func}: more than one row for {shown[:10]}; "
                          "give one value per time point" + (" and series" if by else ""))

    fig = Figure(figsize=(8, 3.6), dpi=110)
    ax = fig.add_subplot()
    per_series = {}
    for k, name in enumerate(names):
        idx = np.array([i for i, s in enumerate(series) if s == name])
        idx = idx[np.argsort(pos[idx], kind="stable")]
        per_series[name] = idx
        colour = SERIES_COLOURS[k] if by is not None else _BAR_COLOUR
        ax.plot(pos[idx], vals[idx], color=colour, linewidth=1.8, marker=_MARKERS[k],
                markersize=4.5 if len(idx) <= 24 else 3, label=_wrap(name, 28) if by is not None else None)
        if by is None and len(idx) <= 8:  # few points: label them, as on a bar chart
            fmt = _value_formatter(vals)
            for px, py in zip(pos[idx], vals[idx], strict=True):
                if np.isfinite(py):
                    ax.annotate(fmt(py), (px, py), xytext=(0, 6), textcoords="offset points",
                                ha="center", va="bottom", fontsize=7.5, color=_INK)
    ticks = dict(sorted(zip(pos, xlab, strict=True)))
    tick_pos = list(ticks)
    step = max(1, math.ceil(len(tick_pos) / 10))
    shown = tick_pos[::step]
    ax.set_xticks(shown, [ticks[p] for p in shown], fontsize=8)
    lo, hi = min(tick_pos), max(tick_pos)
    margin = (hi - lo) * 0.04 or 0.5
    ax.set_xlim(lo - margin, hi + margin)
    finite = vals[np.isfinite(vals)]
    if finite.size:
        if finite.min() >= 0:
            ax.set_ylim(0, max(float(finite.max()) * 1.1, 1.0))
        if np.all(finite % 1 == 0):
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}") if finite.size and
                                 (finite.max() - finite.min() >= 5 or np.all(finite % 1 == 0))
                                 else StrMethodFormatter("{x:,.1f}"))
    if max(len(ticks[p]) for p in shown) * len(shown) > 90:
        for lab in ax.get_xticklabels():
            lab.set_rotation(35)
            lab.set_ha("right")
            lab.set_rotation_mode("anchor")
    ax.set_ylabel(value_label)
    ax.grid(axis="y", color=_GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    if by is not None:
        ax.legend(fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1),
                  title=_humanise(by).capitalize(), title_fontsize=8, alignment="left")
    ax.set_title(title, loc="left", fontsize=11)
    _footnote(ax, [caption or ""])
    return Chart(fig, _line_alt_text(title, value_label, by, names, per_series, pos, xlab, vals))


def _line_alt_text(title: str, value_label: str, by: str | None, names: list[str],
                   per_series: dict[str, np.ndarray], pos: np.ndarray, xlab: list[str],
                   vals: np.ndarray) -> str:
    first, last = int(np.argmin(pos)), int(np.argmax(pos))
    head = f"Line chart of {title}: {value_label} from {xlab[first]} to {xlab[last]}"
    if by is not None:
        head += (f", {len(names)} series by {_humanise(by)} ({_join(names)})"
                 if len(names) > 1 else f", {_humanise(by)} {names[0]}")
    parts = [head + "."]
    fmt = _value_formatter(vals)
    for name in names:
        idx = per_series[name]
        v, lab = vals[idx], [xlab[i] for i in idx]
        ok = np.isfinite(v)
        prefix = f"{name}: " if by is not None and len(names) > 1 else ""
        if not ok.any():
            parts.append(f"{prefix}no data.".capitalize() if not prefix else f"{prefix}no data.")
            continue
        if len(idx) <= _MAX_LISTED:
            text = _join([f"{fmt(a)} in {b}" if o else f"no data for {b}"
                          for a, b, o in zip(v, lab, ok, strict=True)])
        else:
            good = np.flatnonzero(ok)
            i_hi, i_lo = good[np.argmax(v[good])], good[np.argmin(v[good])]
            text = (f"{len(idx)} points; first {fmt(v[good[0]])} in {lab[good[0]]}, latest "
                    f"{fmt(v[good[-1]])} in {lab[good[-1]]}; highest {fmt(v[i_hi])} in "
                    f"{lab[i_hi]}, lowest {fmt(v[i_lo])} in {lab[i_lo]}")
            gaps = [b for b, o in zip(lab, ok, strict=True) if not o]
            if gaps:
                text += (f"; no data for {_join(gaps)}" if len(gaps) <= 5
                         else f"; no data for {len(gaps)} points")
        parts.append(prefix + text + ".")
    return " ".join(parts)

