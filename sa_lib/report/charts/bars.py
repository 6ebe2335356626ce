"""Bar chart: simple bars, one per row, labelled with their values, with its alt text."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable

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
    _MUTED_BAR,
    _NOTE_GREY,
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

__all__ = ["bar_chart"]


def _category_labels(data: pd.DataFrame, category: object, func: str) -> list[str]:
    cats = data[category]
    if cats.isna().any():
        rows = [int(i) for i in np.flatnonzero(cats.isna().to_numpy())][:10]
        raise OptionError(f"{func}: column {category!r} has missing values (row(s) {rows}, "
                          "0-based); every bar needs a name")
    labels = _labels(cats.reset_index(drop=True))
    as_series = pd.Series(labels, dtype=object)
    dups = as_series[as_series.duplicated()].tolist()
    if dups:
        raise OptionError(f"{func}: column {category!r} repeats {sorted(set(dups))}; "
                          "give one row per bar")
    return labels


@plain_text_chart
def bar_chart(
    data: pd.DataFrame,
    category: str,
    value: str,
    title: str,
    value_label: str = "Count",
    caption: str | None = None,
    highlight: object | Iterable[object] | None = None,
    horizontal: bool = False,
) -> Chart:
    """Simple bars, one per row, labelled with their values; missing values say "no data".

    For e.g. killed or seriously injured casualties by year, or a score by
    theme.  Bars keep the row order (top to bottom when ``horizontal``).
    Value labels use :func:`sa_lib.stats.change.format_count` when every value is a
    whole number and one decimal place otherwise.

    Parameters
    ----------
    data : DataFrame
        One row per bar.
    category : str
        Column naming the bars (text, years, months...; must not repeat).
    value : str
        Numeric column; missing values are drawn as "no data" gaps.
    title : str
        Chart title.
    value_label : str, default "Count"
        Value-axis label.
    caption : str, optional
        Small text under the chart (e.g. "Synthetic data").
    highlight : str, number or list of them, optional
        Bar(s) to draw in blue with the others grey (matched on the labels as
        drawn, so ``2024`` and ``"2024"`` both find the year 2024).
    horizontal : bool, default False
        Horizontal bars (better for long names).

    Returns
    -------
    Chart

    Raises
    ------
    OptionError
        ``data`` is empty, a column is missing, ``value`` is not numeric, a
        category is missing or repeated, or ``highlight`` names no bar.

    Examples
    --------
    >>> import pandas as pd
    >>> ksi = pd.DataFrame({"year": [2021, 2022, 2023], "casualties": [61, None, 67]})
    >>> bar_chart(ksi, "year", "casualties", "Killed or seriously injured").alt_text
    'Bar chart of Killed or seriously injured: Count by year, 3 bars. 2021: 61; 2022: no data; 2023: 67. Highest: 2023, 67; lowest: 2021, 61. 1 bar has no data (2022).'
    """
    func = "bar_chart"
    if category == value:
        raise OptionError(f"{func}: category and value are both {category!r}")
    _check_frame(data, "data", [category, value], func)
    labels = _category_labels(data, category, func)
    vals = _numbers(data, value, func)
    hl: list[str] = []
    if highlight is not None:
        items = (list(highlight) if isinstance(highlight, Iterable)
                 and not isinstance(highlight, str) else [highlight])
        hl = _labels(pd.Series(items, dtype=object))
        unknown = [h for h in hl if h not in labels]
        if unknown:
            shown = labels if len(labels) <= 20 else labels[:20] + ["..."]
            raise OptionError(f"{func}: highlight {unknown} is not among the bars {shown}")
    fmt = _value_formatter(vals)
    n = len(labels)
    colours = [(_BAR_COLOUR if (not hl or lab in hl) else _MUTED_BAR) for lab in labels]
    heights = np.nan_to_num(vals, nan=0.0)
    finite = vals[np.isfinite(vals)]
    span = float(max(finite.max(initial=0.0), 0.0) - min(finite.min(initial=0.0), 0.0)) or 1.0
    pad = span * 0.015

    if horizontal:
        wrapped = [_wrap(lab, 32) for lab in labels]
        lines = sum(max(1, w.count("\n") + 1) for w in wrapped)
        fig = Figure(figsize=(8, 1.3 + 0.3 * max(n, 2) + 0.1 * (lines - n)), dpi=110)
        ax = fig.add_subplot()
        pos = np.arange(n)
        ax.barh(pos, heights, color=colours, height=0.7)
        ax.set_yticks(pos, wrapped, fontsize=8)
        ax.set_ylim(n - 0.5, -0.5)
        ax.set_xlabel(value_label)
        ax.grid(axis="x", color=_GRID, linewidth=0.8)
        ax.set_axisbelow(True)
        ax.spines[["top", "right"]].set_visible(False)
        for p, v in zip(pos, vals, strict=True):
            if np.isnan(v):
                ax.text(pad, p, "no data", va="center", ha="left", fontsize=7.5,
                        color=_NOTE_GREY, style="italic")
            else:
                ax.text(v + (pad if v >= 0 else -pad), p, fmt(v), va="center",
                        ha="left" if v >= 0 else "right", fontsize=7.5, color=_INK)
        lo, hi = min(finite.min(initial=0.0), 0.0), max(finite.max(initial=0.0), 0.0)
        ax.set_xlim(lo - (span * 0.12 if lo < 0 else 0), hi + span * 0.12)
        axis = ax.xaxis
    else:
        fig = Figure(figsize=(8, 3.8), dpi=110)
        ax = fig.add_subplot()
        pos = np.arange(n)
        ax.bar(pos, heights, color=colours, width=0.7)
        fit = max(4, int(7.0 / max(n, 1) * 12))  # characters that fit under one bar
        longest = max(len(lab) for lab in labels)
        if longest <= fit:
            ax.set_xticks(pos, labels, fontsize=8)
        elif longest <= 2 * fit and all(len(textwrap.wrap(lab, fit)) <= 2 for lab in labels):
            ax.set_xticks(pos, [_wrap(lab, fit) for lab in labels], fontsize=8)
        else:
            ax.set_xticks(pos, [lab if len(lab) <= 40 else lab[:39] + "\u2026" for lab in labels],
                          fontsize=8, rotation=40, ha="right", rotation_mode="anchor")
        ax.set_xlim(-0.6, n - 0.4)
        ax.set_ylabel(value_label)
        ax.grid(axis="y", color=_GRID, linewidth=0.8)
        ax.set_axisbelow(True)
        ax.spines[["top", "right"]].set_visible(False)
        for p, v in zip(pos, vals, strict=True):
            if np.isnan(v):
                ax.text(p, pad, "no\ndata", ha="center", va="bottom", fontsize=7.5,
                        color=_NOTE_GREY, style="italic")
            else:
                ax.text(p, v + (pad if v >= 0 else -pad), fmt(v), ha="center",
                        va="bottom" if v >= 0 else "top", fontsize=7.5, color=_INK)
        lo, hi = min(finite.min(initial=0.0), 0.0), max(finite.max(initial=0.0), 0.0)
        ax.set_ylim(lo - (span * 0.1 if lo < 0 else 0), hi + span * 0.1)
        axis = ax.yaxis
    if len(finite) and np.all(finite % 1 == 0):
        axis.set_major_locator(MaxNLocator(integer=True))
        axis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    if lo < 0:
        (ax.axvline if horizontal else ax.axhline)(0, color=_INK, linewidth=0.8)
    ax.set_title(title, loc="left", fontsize=11)
    _footnote(ax, [caption or ""])
    return Chart(fig, _bar_alt_text(title, labels, vals, fmt, value_label, category, hl))


def _bar_alt_text(title: str, labels: list[str], vals: np.ndarray, fmt: Callable[[float], str],
                  value_label: str, category: object, hl: list[str]) -> str:
    n = len(labels)
    parts = [f"Bar chart of {title}: {value_label} by {_humanise(category)}, "
             f"{n} bar{'s' if n != 1 else ''}."]

    def show(v: float) -> str:
        return "no data" if np.isnan(v) else fmt(v)

    ok = np.isfinite(vals)
    if n <= _MAX_LISTED:
        parts.append("; ".join(f"{lab}: {show(v)}" for lab, v in zip(labels, vals, strict=True))
                     + ".")
    if ok.any():
        hi, lo = float(vals[ok].max()), float(vals[ok].min())
        his = [lab for lab, v, o in zip(labels, vals, ok, strict=True) if o and v == hi]
        los = [lab for lab, v, o in zip(labels, vals, ok, strict=True) if o and v == lo]
        if n > _MAX_LISTED:
            order = np.argsort(-np.where(ok, vals, -np.inf), kind="stable")[: min(5, ok.sum())]
            parts.append("Highest: " + "; ".join(f"{labels[i]}, {fmt(vals[i])}" for i in order)
                         + f". Lowest: {_who_bars(los)}, {fmt(lo)}. "
                         f"First: {labels[0]}, {show(vals[0])}; last: {labels[-1]}, "
                         f"{show(vals[-1])}.")
        elif ok.sum() > 1 and hi != lo:
            parts.append(f"Highest: {_who_bars(his)}, {fmt(hi)}; "
                         f"lowest: {_who_bars(los)}, {fmt(lo)}.")
        elif ok.sum() > 1:
            parts.append(f"All bars with data are {fmt(hi)}.")
    if hl:
        parts.append(f"Highlighted: {_join(hl)}.")
    missing = [lab for lab, o in zip(labels, ok, strict=True) if not o]
    if missing:
        if len(missing) == n:
            parts.append("No bar has data.")
        else:
            listed = f" ({_join(missing)})" if len(missing) <= 5 else ""
            parts.append(f"{len(missing)} bar{'s have' if len(missing) > 1 else ' has'} "
                         f"no data{listed}.")
    return " ".join(parts)


def _who_bars(names: list[str]) -> str:
    return _join(names) if len(names) <= 3 else f"{len(names)} bars"

