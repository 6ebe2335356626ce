"""SPC chart: one XmR series in the NHS "Making Data Count" style, with its alt text."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.dates import DateFormatter
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from sa_lib.periods import Window
from sa_lib.report.charts.base import SPC_COLOURS, Chart, plain_text_chart
from sa_lib.report.spc_text import (
    LOWER_LIMIT_NOTE,
    baseline_words,
    month_range,
    one_series_options,
    window_words,
)
from sa_lib.rounding import format_number, round_half_up
from sa_lib.stats.change import format_count

__all__ = ["spc_chart"]

_POINT_WORDS = {
    "common_cause": "common-cause variation",
    "special_cause_improvement": "special-cause variation (improvement)",
    "special_cause_concern": "special-cause variation (concern)",
    "special_cause_neutral_high": "special-cause variation (unusually high)",
    "special_cause_neutral_low": "special-cause variation (unusually low)",
}


def _fmt(x: float) -> str:
    if np.isnan(x):
        return "not defined"
    return format_count(round_half_up(float(x), 1))


@plain_text_chart
def spc_chart(
    spc: pd.DataFrame,
    title: str,
    value_label: str = "Count",
    show_near_lines: bool = False,
    caption: str | None = None,
    window: Window | None = None,
) -> Chart:
    """Draw one SPC series from :func:`sa_lib.xmr`, in the NHS / police style.

    Points are coloured by ``point_type`` (grey common cause, blue
    improvement, orange concern, purple neutral); each rebase segment has its
    own mean (solid) and process limits (dashed), labelled at its right end.
    A month with no value (``NaN``) breaks the line; it is not a point.  The
    review window is shaded, and the alt text says how many months are charted,
    which give the limits (the baseline of a :func:`sa_lib.stats.spc_history.history_xmr`
    result), what the latest point shows and what the window shows.  Lower limits
    raised to 0 for counts (``limit_floor``) are noted under the chart.

    Parameters
    ----------
    spc : DataFrame
        :func:`sa_lib.xmr` output for a single series (filter first if it has
        several groups).
    title : str
        Chart title; also starts the alt text.
    value_label : str, default "Count"
        Y-axis label.
    show_near_lines : bool, default False
        Also draw the 2-sigma "near" lines (dotted).
    caption : str, optional
        Small text under the chart (e.g. "Synthetic data").
    window : Window, optional
        The review window to shade; default the window of a ``history_xmr`` result
        (none for a plain ``xmr`` one).

    Returns
    -------
    Chart

    Examples
    --------
    >>> import pandas as pd
    >>> from sa_lib.stats.spc import xmr
    >>> df = pd.DataFrame({"month": pd.date_range("2024-01-01", periods=12, freq="MS"),
    ...                    "n": [5, 6, 5, 7, 6, 5, 6, 7, 5, 6, 5, 20]})
    >>> chart = spc_chart(xmr(df, "n", "month"), "Robbery, Maidstone")
    >>> chart.alt_text.split(".")[0]
    'SPC chart of Robbery, Maidstone: 12 monthly values from Jan 2024 to Dec 2024'
    """
    date, value, _ = one_series_options(spc, "spc_chart")
    fig = Figure(figsize=(8, 3.6), dpi=110)
    ax = fig.add_subplot()
    if spc.empty:
        ax.text(0.5, 0.5, "No data", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(title, loc="left", fontsize=11)
        return Chart(fig, f"SPC chart of {title}: no data.")
    if window is None:
        window = spc.attrs.get("spc_history", {}).get("window")
    x = pd.to_datetime(spc[date]).to_numpy()
    y = spc[value].to_numpy(dtype=float)
    if window is not None:
        # Half a month either side, so the window's first and last points sit inside it.
        ax.axvspan(window.start.start_time - pd.Timedelta(days=15),
                   window.end.start_time + pd.Timedelta(days=15), color="#e8edee", zorder=0)
    ax.plot(x, y, color="#9b9b9b", linewidth=1, zorder=2)  # NaN months break the line
    for seg_id, seg in spc.groupby("rebase_group", sort=True):
        sx = pd.to_datetime(seg[date]).to_numpy()
        first = seg.iloc[0]
        ax.plot(sx, seg["mean"], color="#231f20", linewidth=1.2, zorder=1)
        ax.plot(sx, seg["upl"], color="#231f20", linewidth=1, linestyle="--", zorder=1)
        ax.plot(sx, seg["lpl"], color="#231f20", linewidth=1, linestyle="--", zorder=1)
        if show_near_lines:
            ax.plot(sx, seg["near_upl"], color="#9b9b9b", linewidth=0.8, linestyle=":")
            ax.plot(sx, seg["near_lpl"], color="#9b9b9b", linewidth=0.8, linestyle=":")
        for name, val in (("Mean", first["mean"]), ("UPL", first["upl"]), ("LPL", first["lpl"])):
            if not np.isnan(val):
                ax.annotate(f"{name} {_fmt(val)}", (sx[-1], val), xytext=(3, 0),
                            textcoords="offset points", fontsize=7, va="center")
        del seg_id
    if "target" in spc and spc["target"].notna().any():
        ax.plot(x, spc["target"], color="#d5281b", linewidth=1, linestyle="-.", label="Target")
    colours = spc["point_type"].astype(str).map(SPC_COLOURS).fillna(SPC_COLOURS["common_cause"])
    ax.scatter(x, y, c=colours.tolist(), s=22, zorder=3, edgecolors="none")
    present = list(dict.fromkeys(spc["point_type"].astype(str)))
    handles = [Line2D([], [], marker="o", linestyle="", color=SPC_COLOURS[p],
                      label=_POINT_WORDS[p].capitalize()) for p in present]
    handles += [Line2D([], [], color="#231f20", label="Mean"),
                Line2D([], [], color="#231f20", linestyle="--", label="Process limits")]
    if "target" in spc and spc["target"].notna().any():
        handles.append(Line2D([], [], color="#d5281b", linestyle="-.", label="Target"))
    if window is not None:
        handles.append(Patch(color="#e8edee", label=f"Review window ({window.label})"))
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.08, 1),
              frameon=False)
    ax.set_title(title, loc="left", fontsize=11)
    ax.set_ylabel(value_label)
    ax.grid(axis="y", color="#e8edee", linewidth=0.8)
    ax.spines[["top", "right"]].set_visible(False)
    ax.xaxis.set_major_formatter(DateFormatter("%b %y"))
    # Whole-number data get whole-number ticks; otherwise a tick such as 2.5 would print as "2".
    whole = bool(np.all(np.isnan(y) | (y == np.round(y))))
    ax.yaxis.set_major_locator(MaxNLocator(nbins="auto", integer=whole))
    ax.yaxis.set_major_formatter(FuncFormatter(_tick_label))
    fig.autofmt_xdate()
    floored = _floored(spc)
    notes = [c for c in (caption, LOWER_LIMIT_NOTE if floored else None) if c]
    if notes:
        fig.text(0.01, 0.01, "\n".join(notes), fontsize=7, color="#4c6272")
    return Chart(fig, _spc_alt_text(spc, title, date, value, window, floored))


def _floored(spc: pd.DataFrame) -> bool:
    """True when a lower limit was raised to ``limit_floor`` (e.g. 0 for counts)."""
    floor = spc.attrs.get("spc_options", {}).get("limit_floor")
    return floor is not None and bool((spc["lpl"] == floor).any())


def _tick_label(v: float, _pos: int | None = None) -> str:
    return format_number(v, 0 if float(v).is_integer() else 1)


def _spc_alt_text(spc: pd.DataFrame, title: str, date: str, value: str,
                  window: Window | None = None, floored: bool = False) -> str:
    d = pd.to_datetime(spc[date])
    has = spc[value].notna()
    shown = d[has]
    if shown.empty:
        return f"SPC chart of {title}: no data."
    missing = d[~has & (d > shown.min()) & (d < shown.max())]
    parts = [f"SPC chart of {title}: {int(has.sum())} monthly values from {shown.min():%b %Y} to "
             f"{shown.max():%b %Y}."]
    if len(missing):
        parts.append(f"No figures for {_month_runs(missing)} ({len(missing)} month"
                     f"{'s' if len(missing) != 1 else ''}): the line breaks there.")
    many = spc["rebase_group"].nunique() > 1
    for _, seg in spc.groupby("rebase_group", sort=True):
        first = seg.iloc[0]
        sd = pd.to_datetime(seg[date])
        prefix = f"From {sd.min():%b %Y}, the" if many else "The"
        parts.append(
            f"{prefix} mean is {_fmt(first['mean'])}, with an upper process limit of "
            f"{_fmt(first['upl'])} and a lower process limit of {_fmt(first['lpl'])}"
            + (f"; the limits come from {_baseline(seg, date, value)}." if "in_baseline" in seg
               else "."))
    if floored:
        parts.append(LOWER_LIMIT_NOTE)
    counts = spc.loc[has, "point_type"].astype(str).value_counts()
    special = {k: int(v) for k, v in counts.items() if k != "common_cause"}
    if special:
        parts.append("Special-cause points: " + "; ".join(
            f"{n} showing {_POINT_WORDS[k]}" for k, n in special.items()) + ".")
    else:
        parts.append("All points show common-cause variation.")
    last = spc[has].iloc[-1]
    parts.append(
        f"The latest value, {_fmt(float(last[value]))} in {pd.Timestamp(last[date]):%b %Y}, "
        f"shows {_POINT_WORDS[str(last['point_type'])]}.")
    if window is not None:
        parts.append(f"The shaded review window, {month_range(window.start, window.end)}, "
                     f"shows {window_words(spc, window)}.")
    return " ".join(parts)


def _baseline(seg: pd.DataFrame, date: str, value: str) -> str:
    has = seg[value].notna()
    base = seg["in_baseline"].astype(bool) & has
    months = pd.to_datetime(seg.loc[base, date])
    words = baseline_words(int(has.sum()), int(base.sum()), bool(base.sum() == has.sum()),
                           pd.Period(months.min(), "M") if len(months) else None,
                           pd.Period(months.max(), "M") if len(months) else None)
    return words


def _month_runs(months: pd.Series) -> str:
    """Consecutive months as ranges: "May 2024 – Dec 2024, Feb 2025"."""
    p = pd.PeriodIndex(pd.to_datetime(months), freq="M").sort_values()
    runs, start = [], p[0]
    for a, b in zip(p[:-1], p[1:], strict=True):
        if (b - a).n != 1:
            runs.append(month_range(start, a))
            start = b
    runs.append(month_range(start, p[-1]))
    return ", ".join(runs)
