"""MoRiLE heat map: themes (rank order) by scored dimension, with its alt text."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from sa_lib.data.morile_scales import ORG_FIELD, MoRiLEScales
from sa_lib.errors import OptionError
from sa_lib.report.charts.base import (
    _INK,
    _MAX_LISTED,
    _NO_DATA_GREY,
    _NOTE_GREY,
    Chart,
    _check_frame,
    _humanise,
    _join,
    _num,
    _numbers,
    _rank_word,
    _text_colour,
    plain_text_chart,
)
from sa_lib.stats.change import format_count

__all__ = ["morile_heatmap"]

# Sequential, colour-blind safe (ColorBrewer); the pale first 6% is skipped so the
# lowest cells still read as cells on a white page.
_HEAT_CMAP = colormaps["YlGnBu"]
_HEAT_SPAN = (0.06, 0.92)

_BLOCKS = ("harm", "likelihood", ORG_FIELD)
_BLOCK_TITLES = {"harm": "Harm", "likelihood": "Likelihood", ORG_FIELD: "Organisational\nposition"}


@plain_text_chart
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
    >>> from sa_lib.data.morile_scales import load_morile_scales
    >>> from sa_lib.stats.morile import aggregate_morile, morile_matrix, score_morile
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
    return Chart(fig, alt, no_counts="MoRiLE scores (medians of the scorers' 1-5 scores)")


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

