"""The priority matrix (volume, trend, perception, influence) and the final recommendation.

A Strategic Assessment's second ranking, as in the Safer Maidstone Partnership's
plans: each theme scores 1-5 on **volume**, **trend over time**, **residents'
perception** and **partnership influence**, and the weighted sum of the four
ranks the themes.  Volume and trend can be derived from the data
(:func:`volume_score`, :func:`trend_score`); perception and influence come from
surveys and the partnership.  :func:`recommend_priorities` then combines this
ranking with the MoRiLE ranking (:mod:`sa_lib.stats.morile`) into recommended
priorities, cross-cutting themes and themes to monitor.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from sa_lib.errors import OptionError

__all__ = [
    "PRIORITY_FACTORS",
    "RECOMMENDATIONS",
    "priority_matrix",
    "volume_score",
    "trend_score",
    "recommend_priorities",
]

#: The four factors of the priority matrix, each scored 1-5.
PRIORITY_FACTORS = ("volume", "trend", "perception", "influence")
#: The values of ``recommend_priorities(...)["recommendation"]``.
RECOMMENDATIONS = ("priority", "cross-cutting theme", "monitor")
SCORE_RANGE = (1, 5)
# Scores are ranked after rounding so equal-on-paper weighted sums tie despite float error.
_RANK_DECIMALS = 9
_VARIATION_TYPES = (
    "common_cause",
    "special_cause_improvement",
    "special_cause_concern",
    "special_cause_neutral_high",
    "special_cause_neutral_low",
)
# Columns spc_summary() adds besides the group column(s).
_SPC_SUMMARY_COLUMNS = {
    "rebase_group", "start", "end", "n", "mean", "lpl", "upl", "common_cause",
    "special_cause_improvement", "special_cause_concern", "special_cause_neutral",
    "variation_type", "short_group_warning", "target", "assurance_type", "assurance",
}


def _rank_desc(score: np.ndarray) -> np.ndarray:
    """1 = highest; ties share the lower number (``method="min"``)."""
    key = np.round(np.asarray(score, dtype=float), _RANK_DECIMALS)
    return (key[None, :] > key[:, None]).sum(axis=1) + 1


def _check_weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    if weights is None:
        return dict.fromkeys(PRIORITY_FACTORS, 1.0)
    if not isinstance(weights, Mapping):
        raise OptionError(f"weights must be a mapping of factor -> weight, got {type(weights).__name__}")
    unknown = [k for k in weights if k not in PRIORITY_FACTORS]
    if unknown:
        raise OptionError(f"weights: unknown factor(s) {unknown}; expected {list(PRIORITY_FACTORS)}")
    out = dict.fromkeys(PRIORITY_FACTORS, 1.0)
    for k, w in weights.items():
        if isinstance(w, bool) or not isinstance(w, int | float) or not math.isfinite(w) or w < 0:
            raise OptionError(f"weights[{k!r}] must be a non-negative number, got {w!r}")
        out[k] = float(w)
    if sum(out.values()) == 0:
        raise OptionError("weights: at least one factor needs a weight above 0")
    return out


def priority_matrix(scores: pd.DataFrame, weights: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Rank themes by the weighted sum of their volume, trend, perception and influence scores.

    ``weighted_score = w_volume*volume + w_trend*trend + w_perception*perception
    + w_influence*influence``; the highest weighted score ranks 1, and equal
    scores share the lower rank (``method="min"``).

    Parameters
    ----------
    scores : DataFrame
        One row per theme: ``theme, volume, trend, perception, influence``,
        each score a whole number from 1 to 5.  Other columns are kept.
    weights : mapping, optional
        Factor -> non-negative weight.  Default: 1 for every factor; factors
        not named keep weight 1.

    Returns
    -------
    DataFrame
        The input columns (scores as integers) plus ``weighted_score`` and
        ``rank`` (1 = top), sorted by rank (input order among ties).

    Raises
    ------
    OptionError
        A column is missing, a theme is blank or repeated, a score is missing,
        not a whole number or outside 1-5 (every bad cell is named by theme and
        column), or a weight is unknown or negative.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"theme": ["ASB", "Domestic abuse"], "volume": [5, 3],
    ...                    "trend": [2, 4], "perception": [4, 3], "influence": [3, 4]})
    >>> priority_matrix(df)[["theme", "weighted_score", "rank"]]
                theme  weighted_score  rank
    0             ASB            14.0     1
    1  Domestic abuse            14.0     1
    >>> priority_matrix(df, weights={"volume": 2})[["theme", "weighted_score", "rank"]]
                theme  weighted_score  rank
    0             ASB            19.0     1
    1  Domestic abuse            17.0     2
    """
    if not isinstance(scores, pd.DataFrame):
        raise OptionError(f"scores must be a DataFrame, got {type(scores).__name__}")
    w = _check_weights(weights)
    missing = [c for c in ("theme", *PRIORITY_FACTORS) if c not in scores.columns]
    if missing:
        raise OptionError(f"scores is missing column(s) {missing}; the priority matrix needs "
                          f"theme, {', '.join(PRIORITY_FACTORS)}")
    if scores.empty:
        raise OptionError("scores has no themes to rank")
    theme = scores["theme"].astype(object).where(scores["theme"].notna(), "").astype(str).str.strip()
    problems = []
    if (theme == "").any():
        rows = [int(i) for i in np.flatnonzero((theme == "").to_numpy())]
        problems.append(f"row(s) {rows} (0-based): missing theme")
    dups = theme[theme.duplicated() & (theme != "")].unique().tolist()
    if dups:
        problems.append(f"theme(s) {dups} appear more than once")
    lo, hi = SCORE_RANGE
    out = scores.copy()
    out["theme"] = theme.to_numpy()
    for col in PRIORITY_FACTORS:
        num = pd.to_numeric(scores[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        bad = np.isnan(num) | (num % 1 != 0) | (num < lo) | (num > hi)
        for t, raw in zip(theme.to_numpy()[bad], scores[col].to_numpy(dtype=object)[bad],
                          strict=True):
            problems.append(f"theme {t!r}, column {col!r}: {raw!r} is not a whole number "
                            f"from {lo} to {hi}")
        if not bad.any():
            out[col] = num.astype(np.int64)
    if problems:
        raise OptionError("invalid priority matrix scores:\n" +
                          "\n".join(f"  - {p}" for p in problems))
    weighted = sum(w[c] * out[c].to_numpy(dtype=float) for c in PRIORITY_FACTORS)
    out["weighted_score"] = weighted
    out["rank"] = _rank_desc(weighted)
    out = out.sort_values("rank", kind="stable").reset_index(drop=True)
    out.attrs["priority_weights"] = w
    return out


def volume_score(counts: pd.Series | Mapping[str, float],
                 bins: Sequence[float] | None = None) -> pd.DataFrame:
    """Score each theme's volume 1-5 from its count.

    Default (``bins=None``): **quintiles of the themes' counts by rank**.  A
    theme whose count is at or above the counts of ``r`` of the ``n`` themes
    (``r`` counts itself and ties) scores ``ceil(5 * r / n)``: with 10 themes
    the two largest score 5, the next two 4, and so on; tied counts share the
    higher score; with fewer than 5 themes the lowest scores above 1 (3
    themes: 2, 4, 5).

    With ``bins`` = four increasing thresholds ``[b1, b2, b3, b4]``: a count
    below ``b1`` scores 1, ``b1 <= count < b2`` scores 2, ..., ``>= b4`` scores 5.

    Parameters
    ----------
    counts : Series or mapping
        Theme -> count (e.g. the ``current`` column of a change table indexed
        by category).  Counts must be non-negative numbers.
    bins : sequence of 4 numbers, optional
        Fixed thresholds instead of quintiles.

    Returns
    -------
    DataFrame
        ``theme, count, volume`` in input order.

    Raises
    ------
    OptionError
        A count is missing or negative, a theme repeats, or ``bins`` is not
        four strictly increasing numbers.

    Examples
    --------
    >>> volume_score({"ASB": 3697, "Robbery": 40, "Burglary": 520, "Drugs": 345, "Theft": 2100})
          theme  count  volume
    0       ASB   3697       5
    1   Robbery     40       1
    2  Burglary    520       3
    3     Drugs    345       2
    4     Theft   2100       4
    >>> volume_score({"ASB": 3697, "Robbery": 40}, bins=[50, 100, 500, 1000])["volume"].tolist()
    [5, 1]
    """
    if isinstance(counts, Mapping):
        counts = pd.Series(dict(counts))
    if not isinstance(counts, pd.Series):
        raise OptionError(f"counts must be a Series or mapping of theme -> count, "
                          f"got {type(counts).__name__}")
    if counts.empty:
        raise OptionError("counts is empty; give at least one theme's count")
    if counts.index.duplicated().any():
        dups = counts.index[counts.index.duplicated()].unique().tolist()
        raise OptionError(f"counts: theme(s) {dups} appear more than once")
    num = pd.to_numeric(counts, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = np.isnan(num) | (num < 0)
    if bad.any():
        named = {str(t): v for t, v in zip(counts.index[bad], counts.to_numpy(dtype=object)[bad],
                                            strict=True)}
        raise OptionError(f"counts must be non-negative numbers; bad: {named}")
    if bins is None:
        n = len(num)
        r = pd.Series(num).rank(method="max").to_numpy(dtype=np.int64)
        volume = (5 * r + n - 1) // n  # ceil(5r/n) in exact integer arithmetic
    else:
        edges = np.asarray(list(bins), dtype=float) if _all_numbers(bins) else None
        if edges is None or edges.shape != (4,) or not np.all(np.diff(edges) > 0):
            raise OptionError(f"bins must be four strictly increasing numbers "
                              f"(thresholds for scores 2, 3, 4, 5), got {bins!r}")
        volume = np.searchsorted(edges, num, side="right") + 1
    return pd.DataFrame({"theme": counts.index.to_numpy(), "count": counts.to_numpy(),
                         "volume": volume.astype(np.int64)})


def _all_numbers(values: object) -> bool:
    try:
        items = list(values)  # type: ignore[call-overload]
    except TypeError:
        return False
    return all(isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
               and math.isfinite(v) for v in items)


def trend_score(
    change: pd.DataFrame,
    spc: pd.DataFrame | None = None,
    increase_is_worse: bool | Mapping[str, bool] = True,
    spc_group: str | None = None,
) -> pd.DataFrame:
    """Score each theme's trend 1-5 from its change table and, optionally, its SPC chart.

    Rule, first match wins ("worse" means an increase where ``increase_is_worse``
    is True, a decrease where it is False):

    * 5 - the SPC chart's latest point is a special-cause **concern**
      (deterioration signal);
    * 1 - the SPC chart's latest point is a special-cause **improvement**;
    * 4 - the change is statistically significant and worse;
    * 2 - the change is statistically significant and better;
    * 3 - otherwise (within normal variation, no change, or no SPC signal).

    SPC concern/improvement are taken as the chart labelled them (``xmr``'s
    ``improvement`` direction already says which way is good, so run it with the
    direction matching ``increase_is_worse``).  A neutral chart's
    ``special_cause_neutral_high`` / ``_low`` is read through
    ``increase_is_worse``: high is a concern (5) when an increase is worse, an
    improvement (1) when it is better; low the reverse.  Only each series' last
    rebase segment is used.  Themes with no SPC row are scored from the change
    table alone; SPC rows for themes not in the change table are ignored.

    Parameters
    ----------
    change : DataFrame
        From :func:`sa_lib.stats.change.change_table`: ``category``, ``direction``
        (increase / decrease / no change) and ``significance`` (statistically
        significant / within normal variation).
    spc : DataFrame, optional
        From :func:`sa_lib.stats.spc.spc_summary`: group column(s) and ``variation_type``.
    increase_is_worse : bool or mapping, default True
        Whether a rise is bad (most crime) or good (e.g. reporting of domestic
        abuse, where more reports can be positive).  A mapping gives it per
        theme; themes not named default to True.
    spc_group : str, optional
        The column of ``spc`` holding the theme (matched to ``category``).
        Default: the one column that ``spc_summary`` did not add.

    Returns
    -------
    DataFrame
        ``theme, trend`` (1-5) and ``trend_basis`` (the rule that applied), in
        the change table's order.

    Raises
    ------
    OptionError
        Missing columns, unknown direction/significance/variation_type values,
        an ``increase_is_worse`` theme not in the change table, a theme with two
        SPC rows in its last segment, or an ambiguous SPC group column.

    Examples
    --------
    >>> import pandas as pd
    >>> change = pd.DataFrame({
    ...     "category": ["Drugs", "Domestic abuse", "Robbery"],
    ...     "direction": ["increase", "increase", "decrease"],
    ...     "significance": ["statistically significant"] * 2 + ["within normal variation"]})
    >>> spc = pd.DataFrame({"crime_type": ["Robbery"], "rebase_group": [0],
    ...                     "variation_type": ["special_cause_improvement"]})
    >>> trend_score(change, spc, increase_is_worse={"Domestic abuse": False})[["theme", "trend"]]
                theme  trend
    0           Drugs      4
    1  Domestic abuse      2
    2         Robbery      1
    """
    if not isinstance(change, pd.DataFrame):
        raise OptionError(f"change must be a DataFrame, got {type(change).__name__}")
    missing = [c for c in ("category", "direction", "significance") if c not in change.columns]
    if missing:
        raise OptionError(f"change is missing column(s) {missing}; pass the output of change_table")
    themes = change["category"].astype(str).str.strip().to_numpy(dtype=object)
    if pd.Series(themes).duplicated().any():
        dups = pd.Series(themes)[pd.Series(themes).duplicated()].unique().tolist()
        raise OptionError(f"change: category {dups} appears more than once")
    direction = change["direction"].astype(str).to_numpy(dtype=object)
    significance = change["significance"].astype(str).to_numpy(dtype=object)
    _check_values(direction, ("increase", "decrease", "no change"), "change", "direction", themes)
    _check_values(significance, ("statistically significant", "within normal variation"),
                  "change", "significance", themes)
    worse_up = _increase_is_worse(increase_is_worse, themes)

    significant = significance == "statistically significant"
    worse = np.where(worse_up, direction == "increase", direction == "decrease")
    better = np.where(worse_up, direction == "decrease", direction == "increase")
    side = np.where(worse_up, "an increase is worse", "an increase is better")
    trend = np.select([significant & worse, significant & better], [4, 2], 3)
    basis = np.select(
        [significant & (direction != "no change"), direction == "no change"],
        ["statistically significant " + direction + " (" + side.astype(object) + ")",
         "no change"],
        "change within normal variation",
    ).astype(object)

    if spc is not None:
        variation = _latest_variation(spc, spc_group).reindex(themes).to_numpy(dtype=object)
        concern = (variation == "special_cause_concern")
        improvement = (variation == "special_cause_improvement")
        high, low = (variation == "special_cause_neutral_high"), (variation == "special_cause_neutral_low")
        concern_n = (high & worse_up) | (low & ~worse_up)
        improve_n = (high & ~worse_up) | (low & worse_up)
        trend = np.select([concern, improvement, concern_n, improve_n], [5, 1, 5, 1], trend)
        neutral = np.where(high, "high", "low").astype(object)
        basis = np.select(
            [concern, improvement, concern_n | improve_n],
            ["SPC special-cause concern", "SPC special-cause improvement",
             "SPC special cause, unusually " + neutral + " (" + side.astype(object) + ")"],
            basis,
        ).astype(object)
    return pd.DataFrame({"theme": themes, "trend": trend.astype(np.int64), "trend_basis": basis})


def _check_values(values: np.ndarray, allowed: tuple[str, ...], frame: str, column: str,
                  themes: np.ndarray) -> None:
    bad = ~np.isin(values, allowed)
    if bad.any():
        named = dict(zip(themes[bad].tolist(), values[bad].tolist(), strict=True))
        raise OptionError(f"{frame}: column {column!r} has unexpected value(s) {named}; "
                          f"expected one of {list(allowed)}")


def _increase_is_worse(option: bool | Mapping[str, bool], themes: np.ndarray) -> np.ndarray:
    if isinstance(option, bool | np.bool_):
        return np.full(len(themes), bool(option))
    if not isinstance(option, Mapping):
        raise OptionError("increase_is_worse must be True/False or a mapping theme -> True/False, "
                          f"got {type(option).__name__}")
    unknown = [t for t in option if t not in set(themes)]
    if unknown:
        raise OptionError(f"increase_is_worse names theme(s) {unknown} that are not in the "
                          "change table's category column")
    bad = {t: v for t, v in option.items() if not isinstance(v, bool | np.bool_)}
    if bad:
        raise OptionError(f"increase_is_worse values must be True or False, got {bad}")
    return pd.Series(themes).map(lambda t: bool(option.get(t, True))).to_numpy(dtype=bool)


def _latest_variation(spc: pd.DataFrame, spc_group: str | None) -> pd.Series:
    """Theme -> variation_type of each series' last rebase segment."""
    if not isinstance(spc, pd.DataFrame):
        raise OptionError(f"spc must be a DataFrame, got {type(spc).__name__}")
    if "variation_type" not in spc.columns:
        raise OptionError("spc has no 'variation_type' column; pass the output of spc_summary")
    if spc_group is None:
        groups = [c for c in spc.columns if c not in _SPC_SUMMARY_COLUMNS]
        if len(groups) != 1:
            raise OptionError(f"spc: cannot tell which column names the theme (candidates "
                              f"{groups}); pass spc_group=")
        spc_group = groups[0]
    if spc_group not in spc.columns:
        raise OptionError(f"spc_group {spc_group!r} is not a column of spc; columns are "
                          f"{list(spc.columns)}")
    theme = spc[spc_group].astype(str).str.strip()
    latest = spc.assign(_theme=theme.to_numpy())
    if "rebase_group" in spc.columns:
        last = latest.groupby("_theme", sort=False)["rebase_group"].transform("max")
        latest = latest[latest["rebase_group"] == last]
    dups = latest["_theme"][latest["_theme"].duplicated()].unique().tolist()
    if dups:
        raise OptionError(f"spc has more than one row for {spc_group} {dups} in the last "
                          "rebase segment; give one series per theme or pass spc_group=")
    variation = latest["variation_type"].astype(str).to_numpy(dtype=object)
    _check_values(variation, _VARIATION_TYPES, "spc", "variation_type",
                  latest["_theme"].to_numpy(dtype=object))
    return pd.Series(variation, index=latest["_theme"].to_numpy(dtype=object))


def _ranked_themes(frame: pd.DataFrame, name: str) -> pd.Series:
    if not isinstance(frame, pd.DataFrame):
        raise OptionError(f"{name} must be a DataFrame, got {type(frame).__name__}")
    missing = [c for c in ("theme", "rank") if c not in frame.columns]
    if missing:
        raise OptionError(f"{name} is missing column(s) {missing}; it needs theme and rank")
    theme = frame["theme"].astype(str).str.strip()
    if theme.duplicated().any():
        raise OptionError(f"{name}: theme(s) {theme[theme.duplicated()].unique().tolist()} "
                          "appear more than once")
    rank = pd.to_numeric(frame["rank"], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = np.isnan(rank) | (rank < 1)
    if bad.any():
        raise OptionError(f"{name}: rank must be a number >= 1; bad for theme(s) "
                          f"{theme[bad].tolist()}")
    return pd.Series(rank, index=theme.to_numpy(dtype=object))


def _lex_min_rank(primary: np.ndarray, secondary: np.ndarray) -> np.ndarray:
    """Rank ascending by (primary, secondary); rows equal on both share the lower rank."""
    order = np.lexsort((secondary, primary))
    p, s = primary[order], secondary[order]
    new_group = np.r_[True, (p[1:] != p[:-1]) | (s[1:] != s[:-1])]
    start = np.maximum.accumulate(np.where(new_group, np.arange(len(order)), 0))
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = start + 1
    return ranks


def recommend_priorities(
    morile_ranked: pd.DataFrame,
    matrix_ranked: pd.DataFrame,
    n_priorities: int = 5,
    cross_cutting: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Combine the MoRiLE and priority-matrix rankings into recommended priorities.

    Rule: ``mean_rank`` is the mean of a theme's MoRiLE rank and priority-matrix
    rank; ``combined_rank`` orders themes by ``mean_rank``, then by MoRiLE rank
    (MoRiLE breaks ties because it measures harm); themes equal on both share
    the lower number.  Themes named in ``cross_cutting`` are labelled
    "cross-cutting theme" whatever their rank and take no priority place (as
    Maidstone moved Prevent, reoffending and ASB to cross-cutting themes).  Of
    the other themes, the ``n_priorities`` best by combined rank are
    "priority" - all themes tied at the cut-off are included, so a tie can give
    more than ``n_priorities`` - and the rest "monitor".

    Parameters
    ----------
    morile_ranked : DataFrame
        ``theme`` and ``rank`` columns, e.g. from :func:`sa_lib.stats.morile.aggregate_morile`.
    matrix_ranked : DataFrame
        ``theme`` and ``rank`` columns, e.g. from :func:`priority_matrix`.
    n_priorities : int, default 5
        How many priorities to recommend (at least 1).
    cross_cutting : list of str, optional
        Themes to treat as cross-cutting.

    Returns
    -------
    DataFrame
        ``theme, morile_rank, matrix_rank, mean_rank, combined_rank,
        recommendation`` sorted by combined rank.

    Raises
    ------
    OptionError
        A theme is in only one ranking (they are named), a cross-cutting theme
        is in neither, a ranking lacks ``theme``/``rank`` or repeats a theme, or
        ``n_priorities`` is not a positive whole number.

    Examples
    --------
    >>> import pandas as pd
    >>> morile = pd.DataFrame({"theme": ["DA", "OCG", "ASB", "Cycle theft"], "rank": [1, 2, 3, 4]})
    >>> matrix = pd.DataFrame({"theme": ["ASB", "DA", "Cycle theft", "OCG"], "rank": [1, 2, 3, 4]})
    >>> r = recommend_priorities(morile, matrix, n_priorities=2, cross_cutting=["ASB"])
    >>> r[["theme", "mean_rank", "combined_rank", "recommendation"]]
             theme  mean_rank  combined_rank       recommendation
    0           DA        1.5              1             priority
    1          ASB        2.0              2  cross-cutting theme
    2          OCG        3.0              3             priority
    3  Cycle theft        3.5              4              monitor
    """
    if isinstance(n_priorities, bool) or not isinstance(n_priorities, int | np.integer) \
            or n_priorities < 1:
        raise OptionError(f"n_priorities must be a whole number >= 1, got {n_priorities!r}")
    morile = _ranked_themes(morile_ranked, "morile_ranked")
    matrix = _ranked_themes(matrix_ranked, "matrix_ranked")
    only_morile = [t for t in morile.index if t not in set(matrix.index)]
    only_matrix = [t for t in matrix.index if t not in set(morile.index)]
    if only_morile or only_matrix:
        parts = []
        if only_morile:
            parts.append(f"only in morile_ranked: {only_morile}")
        if only_matrix:
            parts.append(f"only in matrix_ranked: {only_matrix}")
        raise OptionError("every theme must be in both rankings; " + "; ".join(parts))
    if isinstance(cross_cutting, str):
        raise OptionError("cross_cutting must be a list of theme names, not one string")
    cross = [str(t).strip() for t in (cross_cutting or [])]
    unknown = [t for t in cross if t not in set(morile.index)]
    if unknown:
        raise OptionError(f"cross_cutting names theme(s) {unknown} that are in neither ranking")

    themes = morile.index.to_numpy(dtype=object)
    m = morile.to_numpy()
    p = matrix.reindex(themes).to_numpy()
    mean_rank = (m + p) / 2
    combined = _lex_min_rank(mean_rank, m)
    is_cross = np.isin(themes, cross)
    rest = np.flatnonzero(~is_cross)
    place = np.zeros(len(themes), dtype=np.int64)
    place[rest] = _lex_min_rank(mean_rank[rest], m[rest])
    recommendation = np.where(is_cross, "cross-cutting theme",
                              np.where(place <= n_priorities, "priority", "monitor"))
    out = pd.DataFrame({
        "theme": themes,
        "morile_rank": _as_int_if_whole(m),
        "matrix_rank": _as_int_if_whole(p),
        "mean_rank": mean_rank,
        "combined_rank": combined,
        "recommendation": recommendation.astype(object),
    })
    return out.sort_values("combined_rank", kind="stable").reset_index(drop=True)


def _as_int_if_whole(x: np.ndarray) -> np.ndarray:
    return x.astype(np.int64) if np.all(x % 1 == 0) else x
