"""Priority matrix chart: stacked bars of each theme's weighted factor scores."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from sa_lib.errors import OptionError
from sa_lib.report.charts.base import (
    _GRID,
    _INK,
    _MAX_LISTED,
    SERIES_COLOURS,
    Chart,
    _check_frame,
    _footnote,
    _num,
    _numbers,
    _rank_word,
    _text_colour,
    _value_formatter,
    _wrap,
    plain_text_chart,
)
from sa_lib.stats.change import format_count
from sa_lib.stats.priorities import PRIORITY_FACTORS, _check_weights

__all__ = ["priority_matrix_chart"]

_FACTOR_WORDS = {f: f.capitalize() for f in PRIORITY_FACTORS}


@plain_text_chart
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
    return Chart(fig, _priority_alt_text(title, themes, rank, scores, total, w, weighted, fmt),
                 no_counts="priority scores (1-5 per factor)")


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

