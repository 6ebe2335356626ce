"""Charts for the assessment, each returned with its alt text.

Charts use matplotlib's object API (no pyplot state), so they are the same in a
notebook, under papermill and in tests, and the PNGs are byte-identical
between runs.  Every chart function returns a :class:`Chart`: the figure plus a
plain-English description for screen-reader users of the HTML report.
"""

from __future__ import annotations

import io
import math
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.colors import to_rgb
from matplotlib.dates import DateFormatter
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter, MaxNLocator, StrMethodFormatter

from sa_lib.errors import OptionError
from sa_lib.stats.change import format_count
from sa_lib.stats.morile import ORG_FIELD, MoRiLEScales
from sa_lib.stats.priorities import PRIORITY_FACTORS, _check_weights

__all__ = [
    "Chart",
    "spc_chart",
    "funnel_chart",
    "morile_heatmap",
    "bar_chart",
    "priority_matrix_chart",
    "line_chart",
    "SPC_COLOURS",
    "SERIES_COLOURS",
]

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
    >>> from sa_lib.stats.spc import xmr
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
    if "target" in spc and spc["target"].notna().any():
        handles.append(Line2D([], [], color="#d5281b", linestyle="-.", label="Target"))
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
    if caption:
        fig.text(0.01, 0.01, caption, fontsize=7, color="#4c6272")
    return Chart(fig, _spc_alt_text(spc, title, date, value))


def _tick_label(v: float, _pos: int | None = None) -> str:
    return f"{v:,.0f}" if float(v).is_integer() else f"{v:,.1f}"


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
    from sa_lib.stats.funnel import funnel_limits, funnel_position

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


# --------------------------------------------------------------------------- shared helpers

#: Okabe-Ito colours (distinguishable with the common colour-vision deficiencies),
#: used in this order for the series of :func:`line_chart` and the factors of
#: :func:`priority_matrix_chart`.  The Okabe-Ito yellow is left out: it is too
#: pale on white.
SERIES_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
_MARKERS = ("o", "s", "^", "D", "v", "P", "X")
_BAR_COLOUR = "#005eb8"  # NHS blue
_MUTED_BAR = "#b3bfc6"
_INK = "#231f20"
_NOTE_GREY = "#4c6272"
_NO_DATA_GREY = "#e8edee"
_GRID = "#e8edee"
# Sequential, colour-blind safe (ColorBrewer); the pale first 6% is skipped so the
# lowest cells still read as cells on a white page.
_HEAT_CMAP = colormaps["YlGnBu"]
_HEAT_SPAN = (0.06, 0.92)
_MAX_LISTED = 12


def _check_frame(data: object, name: str, columns: Sequence[object], func: str) -> pd.DataFrame:
    """Refuse anything but a non-empty DataFrame holding ``columns``."""
    if not isinstance(data, pd.DataFrame):
        raise OptionError(f"{func}: {name} must be a DataFrame, got {type(data).__name__}")
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise OptionError(f"{func}: {name} is missing column(s) {missing}; "
                          f"its columns are {list(data.columns)}")
    if data.empty:
        raise OptionError(f"{func}: {name} has no rows; nothing to draw")
    return data


def _numbers(data: pd.DataFrame, column: object, func: str, name: str = "data") -> np.ndarray:
    """A column as floats (missing values -> NaN); text or infinities are refused."""
    s = data[column]
    if pd.api.types.is_bool_dtype(s):
        raise OptionError(f"{func}: {name} column {column!r} must hold numbers, not True/False")
    num = pd.to_numeric(s, errors="coerce")
    bad = num.isna() & s.notna()
    if bad.any():
        examples = [str(v) for v in pd.unique(s[bad])[:5]]
        raise OptionError(f"{func}: {name} column {column!r} must hold numbers; "
                          f"found {examples}")
    out = num.to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(out).any():
        raise OptionError(f"{func}: {name} column {column!r} holds an infinite value")
    return out


def _fmt1(x: float) -> str:
    """One decimal place, rounded half-up, with thousands separators: 1234.25 -> '1,234.3'."""
    d = Decimal(str(float(x))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{d:,}"


def _num(x: float) -> str:
    """Up to two decimals, trailing zeros dropped: 4.0 -> '4', 1.25 -> '1.25', 50.625 -> '50.63'."""
    d = Decimal(str(float(x))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP).normalize()
    return f"{d:,f}"


def _value_formatter(values: np.ndarray) -> Callable[[float], str]:
    """:func:`format_count` when every value is whole, else one decimal place for all."""
    finite = values[np.isfinite(values)]
    if np.all(finite % 1 == 0):
        return format_count
    return _fmt1


def _ordinal(n: int) -> str:
    n = int(n)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _rank_word(rank: int, ranks: Sequence[int] | np.ndarray) -> str:
    """'2nd', or 'joint 2nd' when another theme shares the rank."""
    tied = int(np.sum(np.asarray(ranks) == rank)) > 1
    return ("joint " if tied else "") + _ordinal(rank)


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _humanise(name: object) -> str:
    return str(name).replace("_", " ")


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(str(text), width, break_long_words=True)) or str(text)


def _text_colour(fill: object) -> str:
    """Black or white, whichever contrasts more with ``fill`` (WCAG relative luminance)."""
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in to_rgb(fill))
    lum = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return _INK if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "white"


def _period_label(p: pd.Period) -> str:
    code = p.freqstr.split("-")[0].upper()
    if code in ("Y", "A", "YE", "AS", "YS"):
        return str(p.year)
    if code.startswith("Q"):
        return str(p).replace("Q", " Q")
    if code in ("M", "ME", "MS"):
        return p.strftime("%b %Y")
    if code in ("D", "B"):
        return f"{p.day} {p.strftime('%b %Y')}"
    return str(p)


def _labels(values: pd.Series) -> list[str]:
    """Readable labels for category or time values (years without '.0', months as 'Jan 2024')."""
    if isinstance(values.dtype, pd.PeriodDtype):
        return [_period_label(p) for p in values]
    if pd.api.types.is_datetime64_any_dtype(values):
        ts = pd.DatetimeIndex(values)
        if (ts.day == 1).all() and (ts.month == 1).all() and len(ts.unique()) > 1:
            fmt = "%Y"
        elif (ts.day == 1).all():
            fmt = "%b %Y"
        else:
            return [f"{t.day} {t:%b %Y}" for t in ts]
        return [t.strftime(fmt) for t in ts]
    out = []
    for v in values:
        if isinstance(v, pd.Period):
            out.append(_period_label(v))
        elif isinstance(v, float | np.floating) and float(v).is_integer():
            out.append(str(int(v)))
        else:
            out.append(str(v))
    return out


def _footnote(ax: object, lines: Sequence[str]) -> None:
    """Small grey notes under everything drawn below the axes, left-aligned with the y labels."""
    text = "\n".join(line for line in lines if line)
    if not text:
        return

    def left(renderer: object) -> object:
        return ax.yaxis.get_tightbbox(renderer) or ax.get_window_extent(renderer)

    def below(renderer: object) -> object:
        return ax.xaxis.get_tightbbox(renderer) or ax.get_window_extent(renderer)

    ax.annotate(text, xy=(0, 0), xycoords=(left, below), xytext=(0, -8),
                textcoords="offset points", fontsize=7, color=_NOTE_GREY, va="top", ha="left",
                annotation_clip=False)


# --------------------------------------------------------------------------- MoRiLE heat map

_BLOCKS = ("harm", "likelihood", ORG_FIELD)
_BLOCK_TITLES = {"harm": "Harm", "likelihood": "Likelihood", ORG_FIELD: "Organisational\nposition"}


def morile_heatmap(
    matrix: pd.DataFrame,
    title: str,
    caption: str | None = None,
    aggregated: pd.DataFrame | None = None,
    scales: MoRiLEScales | None = None,
) -> Chart:
    """Heat map of the MoRiLE matrix: themes (rank order) by scored dimension.

    Rows are themes, rank 1 at the top; columns are the harm dimensions, the
    likelihood fields (frequency, vulnerability) and organisational position,
    grouped under block headings, plus the priority score when ``aggregated``
    is given.  Each cell shows its value; its shade is scaled within the
    column's possible range on the scales (so a pale "8" cannot happen on the
    harm scale), the priority score relative to the highest.  The scales'
    label (e.g. "illustrative scales, not NPCC values") is printed under the
    chart.  Missing values are grey cells marked "no data".

    Parameters
    ----------
    matrix : DataFrame
        :func:`sa_lib.stats.morile.morile_matrix` output (``theme, rank, block,
        dimension, value``; ``scales_label``/``scales_version`` are used when
        present).
    title : str
        Chart title.
    caption : str, optional
        Extra small text under the chart (e.g. "Synthetic data").
    aggregated : DataFrame, optional
        :func:`sa_lib.stats.morile.aggregate_morile` output; adds the priority-score
        column (and its totals to the alt text).
    scales : MoRiLEScales, optional
        For each column's possible range.  Defaults to the scales in
        ``matrix.attrs`` (or ``aggregated.attrs``); without any, each block is
        shaded within its observed range.

    Returns
    -------
    Chart

    Raises
    ------
    OptionError
        A column is missing, ``matrix`` is empty, a block is unknown, a theme
        lacks a dimension or has it twice or has two ranks, or ``aggregated``
        does not hold the same themes.

    Examples
    --------
    >>> import pandas as pd
    >>> from sa_lib.stats.morile import aggregate_morile, load_morile_scales, morile_matrix, score_morile
    >>> scales = load_morile_scales()
    >>> rows = [("ASB", ["Low"] * 5 + ["Frequent", "Low", "Full", "High"]),
    ...         ("Robbery", ["Moderate"] * 5 + ["Occasional", "High", "Partial", "Low"])]
    >>> sheet = pd.DataFrame([("a", t, f, v) for t, vals in rows for f, v in zip(scales.fields, vals)],
    ...                      columns=["scorer", "theme", "field", "value"])
    >>> agg = aggregate_morile(score_morile(sheet, scales))
    >>> chart = morile_heatmap(morile_matrix(agg), "MoRiLE matrix", aggregated=agg)
    >>> chart.alt_text.split(". ")[2]
    'Robbery ranks 1st with priority score 50 and ASB 2nd (11.3)'
    """
    func = "morile_heatmap"
    _check_frame(matrix, "matrix", ["theme", "rank", "block", "dimension", "value"], func)
    m = matrix.reset_index(drop=True)
    themes_col = m["theme"].astype(str)
    bad_blocks = sorted({str(b) for b in m["block"].dropna().unique()} - set(_BLOCKS))
    if bad_blocks or m["block"].isna().any():
        raise OptionError(f"{func}: matrix column 'block' has unknown value(s) "
                          f"{bad_blocks or ['<missing>']}; expected {list(_BLOCKS)}")
    dup = m.duplicated(["theme", "dimension"])
    if dup.any():
        pairs = sorted({(str(t), str(d)) for t, d in m.loc[dup, ["theme", "dimension"]].to_numpy()})
        raise OptionError(f"{func}: matrix has (theme, dimension) pair(s) more than once: {pairs}")
    rank_vals = _numbers(m, "rank", func, "matrix")
    if np.isnan(rank_vals).any():
        raise OptionError(f"{func}: matrix column 'rank' has missing values")
    n_ranks = pd.Series(rank_vals).groupby(themes_col.to_numpy(), sort=False).nunique()
    if (n_ranks > 1).any():
        raise OptionError(f"{func}: theme(s) {n_ranks[n_ranks > 1].index.tolist()} have more "
                          "than one rank in matrix")
    block_of = dict(zip(m["dimension"].astype(str), m["block"].astype(str), strict=True))
    if len(pd.unique(m[["dimension", "block"]].astype(str).agg("|".join, axis=1))) != len(block_of):
        raise OptionError(f"{func}: a dimension appears under more than one block in matrix")
    dims = [d for b in _BLOCKS for d in dict.fromkeys(m["dimension"].astype(str))
            if block_of[d] == b]
    values = _numbers(m, "value", func, "matrix")

    theme_order = pd.DataFrame({"theme": themes_col, "rank": rank_vals}).drop_duplicates("theme")
    theme_order = theme_order.sort_values("rank", kind="stable")
    themes = theme_order["theme"].tolist()
    ranks = theme_order["rank"].astype(int).to_numpy()
    grid = np.full((len(themes), len(dims)), np.nan)
    present = np.zeros_like(grid, dtype=bool)
    ti = {t: i for i, t in enumerate(themes)}
    di = {d: j for j, d in enumerate(dims)}
    rows = themes_col.map(ti).to_numpy()
    cols = m["dimension"].astype(str).map(di).to_numpy()
    grid[rows, cols] = values
    present[rows, cols] = True
    if not present.all():
        lacking = {themes[i]: [dims[j] for j in np.flatnonzero(~present[i])]
                   for i in range(len(themes)) if not present[i].all()}
        raise OptionError(f"{func}: every theme needs every dimension; missing {lacking}")

    if scales is None:
        scales = matrix.attrs.get("morile_scales")
        if scales is None and isinstance(aggregated, pd.DataFrame):
            scales = aggregated.attrs.get("morile_scales")
    if scales is not None and not isinstance(scales, MoRiLEScales):
        raise OptionError(f"{func}: scales must be MoRiLEScales, got {type(scales).__name__}")

    priority = None
    agg_row: pd.DataFrame | None = None
    if aggregated is not None:
        _check_frame(aggregated, "aggregated", ["theme", "priority_score"], func)
        a_theme = aggregated["theme"].astype(str)
        if a_theme.duplicated().any():
            raise OptionError(f"{func}: aggregated has theme(s) more than once: "
                              f"{sorted(set(a_theme[a_theme.duplicated()]))}")
        only_m = [t for t in themes if t not in set(a_theme)]
        only_a = [t for t in a_theme if t not in ti]
        if only_m or only_a:
            raise OptionError(f"{func}: matrix and aggregated must hold the same themes; "
                              f"only in matrix: {only_m}; only in aggregated: {only_a}")
        agg_row = aggregated.assign(theme=a_theme).set_index("theme").reindex(themes)
        priority = _numbers(agg_row.reset_index(), "priority_score", func, "aggregated")

    labels = _scale_labels(m, scales)
    ranges = _heat_ranges(dims, block_of, grid, scales)

    # ---- geometry: x in cell widths (gaps between blocks), y in rows, top row 0.
    x_of: list[float] = []
    x = 0.0
    for j, d in enumerate(dims):
        if j and block_of[d] != block_of[dims[j - 1]]:
            x += 0.22
        x_of.append(x)
        x += 1.0
    prio_x = x + 0.4 if priority is not None else None
    x_end = (prio_x + 1.0) if prio_x is not None else x
    n = len(themes)
    row_labels = _row_labels(themes)
    longest = max(len(line) for lab in row_labels for line in lab.split("\n"))
    rank_w = len(str(int(ranks.max())))
    label_in = 0.068 * (longest + rank_w) + 0.45
    left_pt = -label_in * 72 + 8  # the left edge of the content, in points from the matrix
    cell_w = 0.82
    cell_h = 0.44 if max(lab.count("\n") for lab in row_labels) < 2 else 0.58
    top_in, bottom_in = 0.95, 0.75
    width = label_in + x_end * cell_w + 0.2
    height = top_in + n * cell_h + bottom_in
    fig = Figure(figsize=(width, height), dpi=110)
    ax = fig.add_axes((label_in / width, bottom_in / height, x_end * cell_w / width,
                       n * cell_h / height))
    ax.set_xlim(0, x_end)
    ax.set_ylim(n, 0)
    ax.set_axis_off()

    def cell(xx: float, row: int, v: float, lo: float, hi: float, text: str) -> None:
        if np.isnan(v):
            fill, text, colour = _NO_DATA_GREY, "no data", _NOTE_GREY
        else:
            t = 0.0 if hi <= lo else min(max((v - lo) / (hi - lo), 0.0), 1.0)
            fill = _HEAT_CMAP(_HEAT_SPAN[0] + t * (_HEAT_SPAN[1] - _HEAT_SPAN[0]))
            colour = _text_colour(fill)
        ax.add_patch(Rectangle((xx + 0.03, row + 0.05), 0.94, 0.9, facecolor=fill,
                               edgecolor="none"))
        ax.text(xx + 0.5, row + 0.5, text, ha="center", va="center", fontsize=8.5,
                color=colour, style="italic" if text == "no data" else "normal")

    for i in range(n):
        for j in range(len(dims)):
            v = grid[i, j]
            cell(x_of[j], i, v, *ranges[j], _num(v) if not np.isnan(v) else "")
        if priority is not None:
            top = float(np.nanmax(priority)) if np.isfinite(priority).any() else 1.0
            cell(prio_x, i, priority[i], 0.0, max(top, 1e-9),
                 format_count(priority[i]) if not np.isnan(priority[i]) else "")
        # Rank numbers right-aligned in their own column, names left-aligned after them.
        ax.annotate(f"{ranks[i]}", xy=(0, i + 0.5), xycoords=("axes fraction", "data"),
                    xytext=(left_pt + 6.2 * rank_w, 0), textcoords="offset points", ha="right",
                    va="center", fontsize=9, color=_NOTE_GREY, annotation_clip=False)
        ax.annotate(row_labels[i], xy=(0, i + 0.5), xycoords=("axes fraction", "data"),
                    xytext=(left_pt + 6.2 * rank_w + 7, 0), textcoords="offset points",
                    ha="left", va="center", fontsize=9, color=_INK, linespacing=1.05,
                    annotation_clip=False)

    # Block headings with a rule, then column labels under the matrix.
    for b in _BLOCKS:
        cols_b = [j for j, d in enumerate(dims) if block_of[d] == b]
        if not cols_b:
            continue
        x0, x1 = x_of[cols_b[0]], x_of[cols_b[-1]] + 1.0
        ax.plot([x0 + 0.03, x1 - 0.03], [-0.12, -0.12], color=_INK, linewidth=0.8,
                clip_on=False)
        heading = labels["block"][b] if len(cols_b) > 1 or b != ORG_FIELD else \
            _BLOCK_TITLES[ORG_FIELD]
        ax.text((x0 + x1) / 2, -0.2, heading, ha="center", va="bottom", fontsize=8.5,
                fontweight="bold", color=_INK, linespacing=1.05)
    ax.annotate("Theme (rank order)", xy=(0, -0.2), xycoords=("axes fraction", "data"),
                xytext=(left_pt, 0), textcoords="offset points", ha="left", va="bottom",
                fontsize=8.5, fontweight="bold", color=_INK, annotation_clip=False)
    if prio_x is not None:
        ax.plot([prio_x + 0.03, prio_x + 0.97], [-0.12, -0.12], color=_INK, linewidth=0.8,
                clip_on=False)
        ax.text(prio_x + 0.5, -0.2, "Priority\nscore", ha="center", va="bottom", fontsize=8.5,
                fontweight="bold", color=_INK, linespacing=1.05)
    for j, d in enumerate(dims):
        ax.text(x_of[j] + 0.5, n + 0.12, labels["column"][d], ha="center", va="top",
                fontsize=7.5, color=_INK, linespacing=1.1)
    if prio_x is not None:
        ax.text(prio_x + 0.5, n + 0.12, "risk \u00d7 org.\nposition", ha="center", va="top",
                fontsize=7.5, color=_INK, linespacing=1.1)
    ax.annotate(title, xy=(0, 1), xycoords="axes fraction", xytext=(left_pt, 44),
                textcoords="offset points", ha="left", va="bottom", fontsize=11)

    shading = ("Shading is scaled within each column's range on the scales"
               if scales is not None else
               "Shading is scaled within each column's observed range (one range for all harm "
               "columns)")
    if priority is not None:
        shading += "; the priority score relative to the highest"
    notes = []
    if labels["scales"]:
        notes.append(f"Scales: {labels['scales']}.")
    notes.append("Cells are the median of the scorers' scores. " + shading + ".")
    notes.append(caption or "")
    ax.annotate("\n".join(x for x in notes if x), xy=(0, 0), xycoords="axes fraction",
                xytext=(left_pt, -34), textcoords="offset points", fontsize=7,
                color=_NOTE_GREY, va="top", ha="left")

    alt = _heatmap_alt_text(title, themes, ranks, dims, block_of, grid, priority, agg_row,
                            scales, labels["scales"])
    return Chart(fig, alt)


def _row_labels(themes: list[str]) -> list[str]:
    """Theme names wrapped to two lines (three, wider, for very long ones), cut with an ellipsis."""
    width = 24 if all(len(textwrap.wrap(t, 24)) <= 2 for t in themes) else 32
    out = []
    for t in themes:
        lines = textwrap.wrap(t, width) or [t]
        if len(lines) > 3:
            lines = [*lines[:2], textwrap.shorten(" ".join(lines[2:]), width - 1,
                                                  placeholder="") + "\u2026"]
        out.append("\n".join(lines))
    return out


def _scale_labels(m: pd.DataFrame, scales: MoRiLEScales | None) -> dict:
    """Block headings, column labels (with scale ranges when known) and the scales' label."""
    scales_label = ""
    if "scales_label" in m.columns and m["scales_label"].notna().any():
        found = [str(v) for v in pd.unique(m["scales_label"].dropna())]
        if len(found) > 1:
            raise OptionError(f"morile_heatmap: matrix mixes scales {found}; draw one at a time")
        scales_label = found[0]
        if "scales_version" in m.columns and m["scales_version"].notna().any():
            scales_label += f" (version {m['scales_version'].dropna().iloc[0]})"
    elif scales is not None:
        scales_label = f"{scales.label} (version {scales.version})"

    def rng(field: str, prefix: str) -> str:
        if scales is None:
            return ""
        try:
            v = scales.scale_for(field).values
        except OptionError:
            return ""
        return f"\n({prefix}{_num(min(v))}\u2013{_num(max(v))})"

    harm_range = rng(scales.harm_dimensions[0], "") if scales and scales.harm_dimensions else ""
    block = {
        "harm": "Harm (points" + (f", {harm_range.strip()[1:-1]} each" if harm_range else "") + ")",
        "likelihood": "Likelihood",
        ORG_FIELD: _BLOCK_TITLES[ORG_FIELD],
    }
    column = {d: _humanise(d).capitalize() for d in m["dimension"].astype(str).unique()}
    column.update({
        "frequency": "Frequency" + (rng("frequency", "") or "\n(points)"),
        "vulnerability": "Vulnerability" + (rng("vulnerability", "\u00d7") or "\n(multiplier)"),
        ORG_FIELD: "Multiplier" + rng(ORG_FIELD, "\u00d7"),
    })
    return {"block": block, "column": column, "scales": scales_label}


def _heat_ranges(dims: list[str], block_of: dict[str, str], grid: np.ndarray,
                 scales: MoRiLEScales | None) -> list[tuple[float, float]]:
    """Shading range of each column: its scale's range, else its observed range (harm columns
    share one, as they share a scale)."""
    out = []
    for d in dims:
        rng = None
        if scales is not None:
            try:
                v = scales.scale_for(d).values
                rng = (float(min(v)), float(max(v)))
            except OptionError:
                rng = None
        if rng is None:
            same = [k for k, e in enumerate(dims) if e == d or block_of[e] == block_of[d] == "harm"]
            finite = grid[:, same][np.isfinite(grid[:, same])]
            rng = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        out.append(rng)
    return out


def _top(names: Sequence[str], vals: np.ndarray) -> tuple[float, list[str]] | None:
    """The highest value and every name that has it (None when all are missing)."""
    if not np.isfinite(vals).any():
        return None
    best = float(np.nanmax(vals))
    return best, [n for n, v in zip(names, vals, strict=True) if np.isclose(v, best)]


def _who(names: list[str]) -> str:
    return _join(names) if len(names) <= 3 else f"{len(names)} themes"


def _heatmap_alt_text(title: str, themes: list[str], ranks: np.ndarray, dims: list[str],
                      block_of: dict[str, str], grid: np.ndarray, priority: np.ndarray | None,
                      agg: pd.DataFrame | None, scales: MoRiLEScales | None,
                      scales_label: str) -> str:
    harm_dims = [d for d in dims if block_of[d] == "harm"]
    what = []
    if harm_dims:
        what.append(f"harm points on {len(harm_dims)} dimension"
                    f"{'s' if len(harm_dims) > 1 else ''} ({_join([_humanise(d) for d in harm_dims])})")
    for d, words in (("frequency", "frequency points"),
                     ("vulnerability", "the vulnerability multiplier"),
                     (ORG_FIELD, "the organisational position multiplier")):
        if d in dims:
            what.append(words)
    if priority is not None:
        what.append("the priority score")
    parts = [f"Heat map of {title}: MoRiLE scores for {len(themes)} theme"
             f"{'s' if len(themes) != 1 else ''} in rank order"
             + (f", on {scales_label}" if scales_label else "") + "."]
    parts.append(f"Columns show each theme's median {_join(what)}; darker cells score higher.")

    n_list = min(len(themes), _MAX_LISTED)
    if priority is not None:
        def ps(i: int) -> str:
            return "no data" if np.isnan(priority[i]) else format_count(priority[i])
        first = (f"{themes[0]} ranks {_rank_word(ranks[0], ranks)} with priority score {ps(0)}")
        rest = [f"{themes[i]} {_rank_word(ranks[i], ranks)} ({ps(i)})" for i in range(1, n_list)]
    else:
        first = f"{themes[0]} ranks {_rank_word(ranks[0], ranks)}"
        rest = [f"{themes[i]} {_rank_word(ranks[i], ranks)}" for i in range(1, n_list)]
    if len(themes) > n_list:
        rest.append(f"{len(themes) - n_list} more theme{'s' if len(themes) - n_list > 1 else ''}")
    parts.append(_join([first, *rest]) + ".")

    col = {d: grid[:, j] for j, d in enumerate(dims)}
    highs = []
    harm = None
    if agg is not None and "harm" in agg.columns:
        harm = pd.to_numeric(agg["harm"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    elif harm_dims:
        h = np.column_stack([col[d] for d in harm_dims])
        combine = scales.harm_combine if scales is not None else "sum"
        with np.errstate(all="ignore"):
            harm = h.max(axis=1) if combine == "max" else h.sum(axis=1)
    top = _top(themes, harm) if harm is not None else None
    if top:
        highs.append(f"highest total harm: {_who(top[1])} ({_num(top[0])} points)")
    if "frequency" in col and "vulnerability" in col:
        top = _top(themes, col["frequency"] * col["vulnerability"])
        if top:
            highs.append(f"highest likelihood (frequency times vulnerability): {_who(top[1])} "
                         f"({_num(top[0])})")
    if highs:
        parts.append(highs[0][0].upper() + "; ".join(highs)[1:] + ".")
    per_dim = []
    for d in harm_dims:
        top = _top(themes, col[d])
        if top:
            per_dim.append(f"{_humanise(d)} {_num(top[0])} ({_who(top[1])})")
    if per_dim:
        parts.append("Highest score on each harm dimension: " + "; ".join(per_dim) + ".")
    missing = [f"{_humanise(dims[j])} for {themes[i]}" for i, j in zip(*np.nonzero(np.isnan(grid)),
                                                                      strict=True)]
    if priority is not None:
        missing += [f"priority score for {themes[i]}" for i in np.flatnonzero(np.isnan(priority))]
    if missing:
        listed = f": {_join(missing)}" if len(missing) <= 5 else ""
        parts.append(f"{len(missing)} cell{'s have' if len(missing) > 1 else ' has'} "
                     f"no data{listed}.")
    return " ".join(parts)


# --------------------------------------------------------------------------- bar chart


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


# --------------------------------------------------------------------------- priority matrix


_FACTOR_WORDS = {f: f.capitalize() for f in PRIORITY_FACTORS}


def priority_matrix_chart(
    matrix: pd.DataFrame,
    title: str,
    caption: str | None = None,
    weights: Mapping[str, float] | None = None,
) -> Chart:
    """Stacked horizontal bars of each theme's volume, trend, perception and influence scores.

    One bar per theme, rank 1 at the top; each factor's segment is its score
    times its weight and the weighted score is written at the bar's end.  The
    axis runs to the highest possible score (5 on every factor, weighted).

    Parameters
    ----------
    matrix : DataFrame
        :func:`sa_lib.stats.priorities.priority_matrix` output (``theme, volume,
        trend, perception, influence, weighted_score, rank``).
    title : str
        Chart title.
    caption : str, optional
        Small text under the chart.
    weights : mapping, optional
        Factor -> weight, as given to :func:`~sa_lib.stats.priorities.priority_matrix`.
        Default: the weights ``priority_matrix`` stored in ``matrix.attrs``,
        else 1 for every factor.

    Returns
    -------
    Chart

    Raises
    ------
    OptionError
        ``matrix`` is empty, a column is missing, a score is missing or not a
        number, a weight is unknown or negative, or the segments do not add up
        to ``weighted_score`` (the weights differ from those used to rank).

    Examples
    --------
    >>> import pandas as pd
    >>> from sa_lib.stats.priorities import priority_matrix
    >>> df = pd.DataFrame({"theme": ["ASB", "Domestic abuse"], "volume": [5, 3],
    ...                    "trend": [2, 4], "perception": [4, 3], "influence": [3, 5]})
    >>> chart = priority_matrix_chart(priority_matrix(df), "Priority matrix")
    >>> chart.alt_text.split(". ", 1)[1]
    '1st: Domestic abuse, score 15 (volume 3, trend 4, perception 3, influence 5); 2nd: ASB, 14 (volume 5, trend 2, perception 4, influence 3).'
    """
    func = "priority_matrix_chart"
    _check_frame(matrix, "matrix", ["theme", *PRIORITY_FACTORS, "weighted_score", "rank"], func)
    if weights is None:
        weights = matrix.attrs.get("priority_weights")
    try:
        w = _check_weights(weights)
    except OptionError as exc:
        raise OptionError(f"{func}: {exc}") from None
    m = matrix.reset_index(drop=True)
    themes = [str(t) for t in m["theme"]]
    scores = {f: _numbers(m, f, func, "matrix") for f in PRIORITY_FACTORS}
    total = _numbers(m, "weighted_score", func, "matrix")
    rank = _numbers(m, "rank", func, "matrix")
    problems = [f"theme {t!r}, column {f!r}" for f in (*PRIORITY_FACTORS, "weighted_score", "rank")
                for t, v in zip(themes, scores.get(f, total if f == "weighted_score" else rank),
                                strict=True) if np.isnan(v)]
    if problems:
        raise OptionError(f"{func}: missing score(s): {'; '.join(problems)}")
    expected = sum(w[f] * scores[f] for f in PRIORITY_FACTORS)
    off = ~np.isclose(expected, total, rtol=1e-9, atol=1e-9)
    if off.any():
        raise OptionError(
            f"{func}: weighted_score is not the weighted sum of the factors for "
            f"{[themes[i] for i in np.flatnonzero(off)]} with weights {w}; pass the weights "
            "used in priority_matrix (weights=...)")
    order = np.argsort(rank, kind="stable")
    themes = [themes[i] for i in order]
    rank = rank[order].astype(int)
    total = total[order]
    scores = {f: v[order] for f, v in scores.items()}
    n = len(themes)
    weighted = any(v != 1.0 for v in w.values())

    wrapped = [_wrap(t, 30) for t in themes]
    lines = sum(x.count("\n") + 1 for x in wrapped)
    fig = Figure(figsize=(8, 1.7 + 0.34 * max(n, 2) + 0.1 * (lines - n)), dpi=110)
    ax = fig.add_subplot()
    pos = np.arange(n)
    left = np.zeros(n)
    for colour, f in zip(SERIES_COLOURS, PRIORITY_FACTORS, strict=False):
        seg = w[f] * scores[f]
        label = _FACTOR_WORDS[f] + (f" (\u00d7{_num(w[f])})" if weighted else "")
        ax.barh(pos, seg, left=left, color=colour, height=0.68, label=label,
                edgecolor="white", linewidth=0.8)
        txt = _text_colour(colour)
        for p, x0, s, raw in zip(pos, left, seg, scores[f], strict=True):
            if s >= 0.9:
                ax.text(x0 + s / 2, p, format_count(raw), ha="center", va="center",
                        fontsize=7.5, color=txt)
        left = left + seg
    fmt = _value_formatter(total)
    top = 5 * sum(w.values())
    for p, t in zip(pos, total, strict=True):
        ax.text(t + top * 0.01, p, fmt(t), ha="left", va="center", fontsize=8.5,
                fontweight="bold", color=_INK)
    ax.set_yticks(pos, [f"{r}. {x}" for r, x in zip(rank, wrapped, strict=True)], fontsize=8)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlim(0, top * 1.07)
    ax.set_xlabel("Weighted score" if weighted else "Score (sum of the four factors)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(axis="x", color=_GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=4, fontsize=8, frameon=False,
              borderaxespad=0.2, handlelength=1.2)
    ax.set_title(title, loc="left", fontsize=11, pad=22)
    _footnote(ax, [caption or ""])
    return Chart(fig, _priority_alt_text(title, themes, rank, scores, total, w, weighted, fmt))


def _priority_alt_text(title: str, themes: list[str], rank: np.ndarray,
                       scores: dict[str, np.ndarray], total: np.ndarray, w: dict[str, float],
                       weighted: bool, fmt: Callable[[float], str]) -> str:
    n = len(themes)
    how = ("each the weighted sum of its volume, trend, perception and influence scores "
           f"(1 to 5 each; weights: {', '.join(f'{f} {_num(v)}' for f, v in w.items())})"
           if weighted else
           "each the sum of its volume, trend, perception and influence scores (1 to 5 each)")
    parts = [f"Stacked bar chart of {title}: priority matrix scores for {n} "
             f"theme{'s' if n != 1 else ''} in rank order, {how}."]
    detail = min(n, 3)
    items = []
    for i in range(min(n, _MAX_LISTED)):
        score = fmt(total[i]) if i else f"{'weighted ' if weighted else ''}score {fmt(total[i])}"
        item = f"{_rank_word(rank[i], rank)}: {themes[i]}, {score}"
        if i < detail:
            item += " (" + ", ".join(f"{f} {format_count(scores[f][i])}"
                                     for f in PRIORITY_FACTORS) + ")"
        items.append(item)
    text = "; ".join(items)
    if n > _MAX_LISTED:
        text += (f"; and {n - _MAX_LISTED} more theme{'s' if n - _MAX_LISTED > 1 else ''}, "
                 f"the lowest {themes[-1]} ({fmt(total[-1])})")
    parts.append(text + ".")
    return " ".join(parts)


# --------------------------------------------------------------------------- line chart


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
