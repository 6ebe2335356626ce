"""What every chart shares: the :class:`Chart` result, the palette and small helpers.

Charts use matplotlib's object API (no pyplot state), so they are the same in a
notebook, under papermill and in tests, and the PNGs are byte-identical
between runs.  Every chart function returns a :class:`Chart`: the figure plus a
plain-English description for screen-reader users of the HTML report.
"""

from __future__ import annotations

import functools
import io
import textwrap
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import ParamSpec, TypeVar

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from sa_lib.errors import OptionError
from sa_lib.rounding import format_number
from sa_lib.stats.change import format_count

__all__ = ["Chart", "SPC_COLOURS", "SERIES_COLOURS", "plain_text", "plain_text_chart"]

P = ParamSpec("P")
R = TypeVar("R")

#: NHS "Making Data Count" colours for point types.
SPC_COLOURS = {
    "common_cause": "#7B7D7D",
    "special_cause_improvement": "#289de0",
    "special_cause_concern": "#fab428",
    "special_cause_neutral_high": "#361475",
    "special_cause_neutral_low": "#361475",
}


@dataclass
class Chart:
    """A figure and the alt text that describes it.

    ``counts`` lists the counts of people or incidents a reader can read off the chart
    (or out of its alt text), when it shows any: the public build withholds a chart
    that would show a count below the disclosure threshold
    (:meth:`sa_lib.report.publish.Publisher.chart`).  ``None`` means it shows no counts
    (scores, limits, rates of large populations).  ``no_counts`` says why a chart with
    no ``counts`` shows none (e.g. "MoRiLE scores"): the public build's chart audit
    (``charts/<name>.meta.json``) accepts ``counts=None`` only with that reason given.
    """

    figure: Figure
    alt_text: str
    counts: tuple[float, ...] | None = None
    no_counts: str = ""

    def to_png(self, dpi: int = 110) -> bytes:
        """The chart as PNG bytes (deterministic: no timestamp metadata)."""
        buf = io.BytesIO()
        with plain_text():  # tick labels made while drawing are plain text too
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


def plain_text() -> AbstractContextManager:
    """Matplotlib settings under which every text is shown as written.

    Text from data or parameters (an area name, a theme) may hold ``$``; matplotlib
    would read ``$...$`` as mathtext and fail or draw maths.  No chart uses mathtext.
    """
    return mpl.rc_context({"text.parse_math": False})


def plain_text_chart(func: Callable[P, R]) -> Callable[P, R]:
    """Decorator: build a chart under :func:`plain_text`."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with plain_text():
            return func(*args, **kwargs)

    return wrapper


#: Okabe-Ito colours (distinguishable with the common colour-vision deficiencies),
#: used in this order for the series of :func:`~sa_lib.report.charts.lines.line_chart`
#: and the factors of
#: :func:`~sa_lib.report.charts.priority_matrix.priority_matrix_chart`.  The Okabe-Ito
#: yellow is left out: it is too pale on white.
SERIES_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
_BAR_COLOUR = "#005eb8"  # NHS blue
_MUTED_BAR = "#b3bfc6"
_INK = "#231f20"
_NOTE_GREY = "#4c6272"
_NO_DATA_GREY = "#e8edee"
_GRID = "#e8edee"
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
    return format_number(x, 1)


def _num(x: float) -> str:
    """Up to two decimals, trailing zeros dropped: 4.0 -> '4', 1.25 -> '1.25', 50.625 -> '50.63'."""
    return format_number(x, 2, trim_zeros=True)


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

