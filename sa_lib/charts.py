"""Charts for the assessment, each returned with its alt text.

Charts use matplotlib's object API (no pyplot state), so they are the same in a
notebook, under papermill and in tests, and the PNGs are byte-identical
between runs.  Every chart function returns a :class:`Chart`: the figure plus a
plain-English description for screen-reader users of the HTML report.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.dates import DateFormatter
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import StrMethodFormatter

from sa_lib.change import format_count
from sa_lib.errors import OptionError

__all__ = ["Chart", "spc_chart", "funnel_chart", "SPC_COLOURS"]

#: NHS "Making Data Count" colours for point types.
SPC_COLOURS = {
    "common_cause": "#7B7D7D",
    "special_cause_improvement": "#289de0",
    "special_cause_concern": "#fab428",
    "special_cause_neutral_high": "#361475",
    "special_cause_neutral_low": "#361475",
}
_POINT_WORDS = {
    "common_cause": "common-cause variation",
    "special_cause_improvement": "special-cause variation (improvement)",
    "special_cause_concern": "special-cause variation (concern)",
    "special_cause_neutral_high": "special-cause variation (unusually high)",
    "special_cause_neutral_low": "special-cause variation (unusually low)",
}


@dataclass
class Chart:
    """A figure and the alt text that describes it."""

    figure: Figure
    alt_text: str

    def to_png(self, dpi: int = 110) -> bytes:
        """The chart as PNG bytes (deterministic: no timestamp metadata)."""
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png", dpi=dpi, metadata={"Software": None},
                            bbox_inches="tight")
        return buf.getvalue()

    def save(self, path: str | Path, dpi: int = 110) -> Path:
        """Write the chart as a PNG file and return its path."""
        path = Path(path)
        path.write_bytes(self.to_png(dpi))
        return path

    def _repr_png_(self) -> bytes:
        return self.to_png()


def _fmt(x: float) -> str:
    if np.isnan(x):
        return "not defined"
    return format_count(round(float(x), 1))


def spc_chart(
    spc: pd.DataFrame,
    title: str,
    value_label: str = "Count",
    show_near_lines: bool = False,
    caption: str | None = None,
) -> Chart:
    """Draw one SPC series from :func:`sa_lib.xmr`, in the NHS / police style.

    Points are coloured by ``point_type`` (grey common cause, blue
    improvement, orange concern, purple neutral); each rebase segment has its
    own mean (solid) and process limits (dashed), labelled at its right end.

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

    Returns
    -------
    Chart

    Examples
    --------
    >>> import pandas as pd
    >>> from sa_lib.spc import xmr
    >>> df = pd.DataFrame({"month": pd.date_range("2024-01-01", periods=12, freq="MS"),
    ...                    "n": [5, 6, 5, 7, 6, 5, 6, 7, 5, 6, 5, 20]})
    >>> chart = spc_chart(xmr(df, "n", "month"), "Robbery, Maidstone")
    >>> chart.alt_text.split(".")[0]
    'SPC chart of Robbery, Maidstone: 12 monthly values from Jan 2024 to Dec 2024'
    """
    opts = spc.attrs.get("spc_options", {})
    date, value = opts.get("date"), opts.get("value")
    if date is None or value is None:
        raise OptionError("spc_chart needs the output of xmr() (its options were lost)")
    by = opts.get("by") or []
    if by and spc[by].drop_duplicates().shape[0] > 1:
        raise OptionError(
            f"spc_chart draws one series; the data has several groups in {by}. "
            "Filter to one first, e.g. spc[spc['crime_type'] == 'Robbery']"
        )
    fig = Figure(figsize=(8, 3.6), dpi=110)
    ax = fig.add_subplot()
    if spc.empty:
        ax.text(0.5, 0.5, "No data", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(title, loc="left", fontsize=11)
        return Chart(fig, f"SPC chart of {title}: no data.")
    x = pd.to_datetime(spc[date]).to_numpy()
    y = spc[value].to_numpy(dtype=float)
    ax.plot(x, y, color="#9b9b9b", linewidth=1, zorder=2)
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
    ax.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.08, 1),
              frameon=False)
    ax.set_title(title, loc="left", fontsize=11)
    ax.set_ylabel(value_label)
    ax.grid(axis="y", color="#e8edee", linewidth=0.8)
    ax.spines[["top", "right"]].set_visible(False)
    ax.xaxis.set_major_formatter(DateFormatter("%b %y"))
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    fig.autofmt_xdate()
    if caption:
        fig.text(0.01, 0.01, caption, fontsize=7, color="#4c6272")
    return Chart(fig, _spc_alt_text(spc, title, date, value))


def _spc_alt_text(spc: pd.DataFrame, title: str, date: str, value: str) -> str:
    d = pd.to_datetime(spc[date])
    parts = [
        f"SPC chart of {title}: {len(spc)} monthly values from {d.min():%b %Y} to {d.max():%b %Y}."
    ]
    for _, seg in spc.groupby("rebase_group", sort=True):
        first = seg.iloc[0]
        sd = pd.to_datetime(seg[date])
        prefix = f"From {sd.min():%b %Y}, the" if spc["rebase_group"].nunique() > 1 else "The"
        parts.append(
            f"{prefix} mean is {_fmt(first['mean'])}, with an upper process limit of "
            f"{_fmt(first['upl'])} and a lower process limit of {_fmt(first['lpl'])}."
        )
    counts = spc["point_type"].astype(str).value_counts()
    special = {k: int(v) for k, v in counts.items() if k != "common_cause"}
    if special:
        parts.append("Special-cause points: " + "; ".join(
            f"{n} showing {_POINT_WORDS[k]}" for k, n in special.items()) + ".")
    else:
        parts.append("All points show common-cause variation.")
    last = spc.iloc[-1]
    parts.append(
        f"The latest value, {_fmt(float(last[value]))} in {pd.Timestamp(last[date]):%b %Y}, "
        f"shows {_POINT_WORDS[str(last['point_type'])]}."
    )
    return " ".join(parts)


def funnel_chart(
    rates: pd.DataFrame,
    highlight: str,
    overall_rate: float,
    title: str,
    name_column: str = "csp_name",
    caption: str | None = None,
) -> Chart:
    """Funnel plot of rate per 1,000 against population, one partnership highlighted.

    Parameters
    ----------
    rates : DataFrame
        From :func:`sa_lib.csp_rates` (``population``, ``rate_per_1000`` and names).
    highlight : str
        The name (in ``name_column``) of the partnership to highlight.
    overall_rate : float
        Benchmark rate the 95% and 99.8% Poisson limits are drawn around.
    title : str
        Chart title.

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"csp_name": ["A", "B", "C"], "population": [1e5, 2e5, 3e5],
    ...                   "rate_per_1000": [70.0, 90.0, 80.0]})
    >>> funnel_chart(r, "B", 80.0, "Crime rate").alt_text.split(".")[0]
    'Funnel plot of Crime rate: 3 partnerships by population (x) and rate per 1,000 residents (y)'
    """
    from sa_lib.benchmark import funnel_limits, funnel_position

    data = rates.dropna(subset=["population", "rate_per_1000"])
    if highlight not in set(data[name_column]):
        raise OptionError(f"{highlight!r} is not among the partnerships with a rate")
    grid = np.linspace(data["population"].min() * 0.9, data["population"].max() * 1.05, 200)
    lim = funnel_limits(grid, overall_rate)
    fig = Figure(figsize=(8, 4.2), dpi=110)
    ax = fig.add_subplot()
    ax.scatter(data["population"], data["rate_per_1000"], s=12, color="#9b9b9b",
               edgecolors="none", label="Other partnerships")
    me = data[data[name_column] == highlight].iloc[0]
    ax.scatter([me["population"]], [me["rate_per_1000"]], s=50, color="#005eb8", zorder=3,
               label=highlight)
    ax.axhline(overall_rate, color="#231f20", linewidth=1, label="Overall rate")
    ax.plot(grid, lim["upper_95"], color="#231f20", linestyle="--", linewidth=0.9,
            label="95% limits")
    ax.plot(grid, lim["lower_95"], color="#231f20", linestyle="--", linewidth=0.9)
    ax.plot(grid, lim["upper_99_8"], color="#d5281b", linestyle=":", linewidth=1,
            label="99.8% limits")
    ax.plot(grid, lim["lower_99_8"], color="#d5281b", linestyle=":", linewidth=1)
    # A few city-centre partnerships (e.g. City of London) have rates many times the rest;
    # clip the axis so the funnel is readable, and say how many points are off the chart.
    top = float(max(data["rate_per_1000"].quantile(0.99), me["rate_per_1000"]) * 1.15)
    ax.set_ylim(0, top)
    off_chart = int((data["rate_per_1000"] > top).sum())
    ax.set_xlabel("Population")
    ax.set_ylabel("Offences per 1,000 residents")
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.set_title(title, loc="left", fontsize=11)
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.spines[["top", "right"]].set_visible(False)
    fig.subplots_adjust(bottom=0.2)
    if caption:
        fig.text(0.01, 0.01, caption, fontsize=7, color="#4c6272")
    where = funnel_position(float(me["rate_per_1000"]), float(me["population"]), overall_rate)
    alt = (f"Funnel plot of {title}: {len(data)} partnerships by population (x) and rate per "
           f"1,000 residents (y). {highlight} has {me['rate_per_1000']:.1f} per 1,000 "
           f"(population {me['population']:,.0f}), {where}; the overall rate is "
           f"{overall_rate:.1f} per 1,000."
           + (f" {off_chart} partnership(s) with rates above {top:.0f} per 1,000 are beyond the "
              "top of the chart." if off_chart else ""))
    return Chart(fig, alt)
