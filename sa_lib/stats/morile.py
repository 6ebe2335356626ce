"""MoRiLE thematic matrix: score themes by harm, likelihood and organisational position.

MoRiLE ("Management of Risk in Law Enforcement") is the NPCC's prioritisation
matrix.  Its numeric scales are not public, so they live in a versioned YAML
file (``parameters/morile_scales.yaml``); the default there is illustrative,
labelled "illustrative scales, not NPCC values", and every table this module
derives carries the scales' ``label`` and ``version`` (``scales_label``,
``scales_version`` columns).

Arithmetic, per scorer and theme:

* ``harm`` = sum (or max, ``harm.combine``) of the harm dimensions' points;
* ``likelihood`` = frequency points x victim-vulnerability multiplier;
* ``risk`` = harm x likelihood;
* ``priority_score`` = risk x organisational-position multiplier;
* ``confidence`` is carried alongside and never multiplied.

The scales are :mod:`sa_lib.data.morile_scales`; the scoring sheets are read
and checked by :mod:`sa_lib.data.morile_sheets`.
"""

from __future__ import annotations

import warnings
from typing import Literal

import numpy as np
import pandas as pd

from sa_lib.data.morile_scales import (
    CONFIDENCE_FIELD,
    LIKELIHOOD_FIELDS,
    ORG_FIELD,
    MoRiLEScales,
)
from sa_lib.data.morile_sheets import validate_morile_scores
from sa_lib.errors import OptionError

__all__ = [
    "score_morile",
    "aggregate_morile",
    "rank_stability",
    "morile_matrix",
]

# Scores are ranked after rounding to this many decimals, so two themes whose
# scores are equal on paper (3 x 22.5 vs 4.5 x 15) tie despite float error.
_RANK_DECIMALS = 9


# --------------------------------------------------------------------------- scoring


def _combine_scores(dims: np.ndarray, frequency: np.ndarray, vulnerability: np.ndarray,
                    org: np.ndarray, combine: str) -> dict[str, np.ndarray]:
    """The MoRiLE arithmetic on arrays; ``dims`` has harm dimensions on its last axis."""
    harm = dims.max(axis=-1) if combine == "max" else dims.sum(axis=-1)
    likelihood = frequency * vulnerability
    risk = harm * likelihood
    return {"harm": harm, "likelihood": likelihood, "risk": risk,
            "priority_score": risk * org}


def _rank_desc(score: np.ndarray) -> np.ndarray:
    """1 = highest score; ties share the best (lowest) rank, as ``method="min"``."""
    key = np.round(score, _RANK_DECIMALS)
    return (key[None, :] > key[:, None]).sum(axis=1) + 1


def _scales_of(frame: pd.DataFrame, scales: MoRiLEScales | None, what: str) -> MoRiLEScales:
    scales = scales if scales is not None else frame.attrs.get("morile_scales")
    if not isinstance(scales, MoRiLEScales):
        raise OptionError(f"{what}: the scales were lost from the frame's attrs; pass scales=")
    return scales


def _check_method(method: object) -> None:
    if method not in ("scorer", "answer"):
        raise OptionError(f"method must be 'scorer' (median of the scorers' own scores) or "
                          f"'answer' (score of the median answers), got {method!r}")


def _nanmedian(a: np.ndarray, axis: int) -> np.ndarray:
    """``np.nanmedian`` without the warning for an all-NaN slice (NaN there)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmedian(a, axis=axis)


def _tag(frame: pd.DataFrame, scales: MoRiLEScales) -> pd.DataFrame:
    frame["scales_label"] = scales.label
    frame["scales_version"] = scales.version
    frame.attrs["morile_scales"] = scales
    return frame


def score_morile(scores: pd.DataFrame, scales: MoRiLEScales) -> pd.DataFrame:
    """Score every theme for every scorer: harm, likelihood, risk and priority score.

    Parameters
    ----------
    scores : DataFrame
        Tidy scores (``scorer, theme, field, value``), raw or from
        :func:`~sa_lib.data.morile_sheets.read_morile_sheets`; validated again here.
    scales : MoRiLEScales

    Returns
    -------
    DataFrame
        One row per scorer and theme (themes in order of first appearance):
        ``scorer, theme``, one column per harm dimension (points), ``harm``
        (their sum or max), ``frequency`` (points), ``vulnerability``
        (multiplier), ``likelihood`` (= frequency x vulnerability), ``risk``
        (= harm x likelihood), ``organisational_position`` (multiplier),
        ``priority_score`` (= risk x organisational position), ``confidence``
        (label), ``<field>_label`` for every scored field, ``scales_label``
        and ``scales_version``.

    Raises
    ------
    MoRiLEError
        As :func:`~sa_lib.data.morile_sheets.validate_morile_scores`.

    Examples
    --------
    >>> import pandas as pd
    >>> from sa_lib.data.morile_scales import load_morile_scales
    >>> scales = load_morile_scales()
    >>> values = ["Substantial", "Critical", "Low", "Moderate", "None",
    ...           "Frequent", "Medium", "Partial", "Medium"]
    >>> sheet = pd.DataFrame({"scorer": "police", "theme": "Domestic abuse",
    ...                       "field": scales.fields, "value": values})
    >>> score_morile(sheet, scales)[["harm", "likelihood", "risk", "priority_score"]]
       harm  likelihood  risk  priority_score
    0  15.0         4.5  67.5          84.375
    """
    v = validate_morile_scores(scores, scales)
    if v.empty:
        raise OptionError("scores has no scores to score")
    pairs = v[["scorer", "theme"]].drop_duplicates()
    theme_order = {t: i for i, t in enumerate(pd.unique(v["theme"]))}
    scorer_order = {s: i for i, s in enumerate(pd.unique(v["scorer"]))}
    pairs = pairs.assign(_t=pairs["theme"].map(theme_order), _s=pairs["scorer"].map(scorer_order))
    pairs = pairs.sort_values(["_t", "_s"], kind="stable").drop(columns=["_t", "_s"])
    index = pd.MultiIndex.from_frame(pairs)
    wide_points = v.pivot(index=["scorer", "theme"], columns="field", values="points").reindex(index)
    wide_labels = v.pivot(index=["scorer", "theme"], columns="field", values="value").reindex(index)

    dims = wide_points[list(scales.harm_dimensions)].to_numpy(float)
    freq = wide_points["frequency"].to_numpy(float)
    vuln = wide_points["vulnerability"].to_numpy(float)
    org = wide_points[ORG_FIELD].to_numpy(float)
    calc = _combine_scores(dims, freq, vuln, org, scales.harm_combine)

    out = pairs.reset_index(drop=True)
    for i, d in enumerate(scales.harm_dimensions):
        out[d] = dims[:, i]
    out["harm"] = calc["harm"]
    out["frequency"] = freq
    out["vulnerability"] = vuln
    out["likelihood"] = calc["likelihood"]
    out["risk"] = calc["risk"]
    out[ORG_FIELD] = org
    out["priority_score"] = calc["priority_score"]
    out[CONFIDENCE_FIELD] = wide_labels[CONFIDENCE_FIELD].to_numpy()
    for f in scales.scored_fields:
        out[f"{f}_label"] = wide_labels[f].to_numpy()
    return _tag(out, scales)


def aggregate_morile(scored: pd.DataFrame, scales: MoRiLEScales | None = None,
                     method: Literal["scorer", "answer"] = "scorer") -> pd.DataFrame:
    """Combine several scorers into one row per theme, with their disagreement and a rank.

    Two medians are computed for every theme:

    * the **median of the scorers' own priority scores**
      (``median_scorer_priority_score``): each scorer's answers are combined by
      the MoRiLE arithmetic first, then the median is taken across scorers;
    * the **priority score of the median answers**
      (``answer_median_priority_score``): the median across scorers of each
      input field's points (each harm dimension, frequency, vulnerability
      multiplier, organisational-position multiplier), then the arithmetic.
      Because the arithmetic multiplies, the product of medians can lie above
      every scorer's own score (scorers high on different questions).

    ``method`` chooses which one is ``priority_score`` and sets ``rank``.  The
    default, ``"scorer"``, cannot score a theme above its highest or below its
    lowest scorer; ``"answer"`` reproduces the per-question median of earlier
    versions, and ``outside_scorer_range`` then flags themes it puts outside
    their scorers' range so that a report can say so.  The field columns
    (``harm``, ``likelihood``, ``risk``, the dimensions...) are always the
    median answers: the profile of a typical scorer.  With one scorer every
    figure agrees.

    Parameters
    ----------
    scored : DataFrame
        The output of :func:`score_morile`.
    scales : MoRiLEScales, optional
        Defaults to the scales stored in ``scored.attrs`` by :func:`score_morile`.
    method : {"scorer", "answer"}, default "scorer"
        Which median ranks the themes (see above).

    Returns
    -------
    DataFrame
        One row per theme, sorted by rank: ``theme, rank`` (1 = highest
        priority; ties share the lower number, ``method="min"``, after rounding
        scores to 9 decimals), ``n_scorers``, the median of each harm dimension,
        ``harm``, ``frequency``, ``vulnerability``, ``likelihood``, ``risk``,
        ``organisational_position``, ``priority_score`` (by ``method``),
        ``median_scorer_priority_score``, ``answer_median_priority_score``,
        ``priority_method``, ``outside_scorer_range``, ``min_priority_score``,
        ``max_priority_score``, ``priority_score_range`` (max - min),
        ``priority_score_iqr`` (75th - 25th percentile, linear interpolation),
        ``wide_disagreement`` (True when scorers' labels for any field,
        confidence included, are more than one step apart),
        ``wide_disagreement_fields`` (those fields, comma separated),
        ``confidence`` (the lowest any scorer gave:
        a priority is only as well evidenced as its weakest assessment),
        ``confidence_most_common`` (ties go to the lower level),
        ``scales_label``, ``scales_version``.

    Examples
    --------
    >>> import pandas as pd
    >>> from sa_lib.data.morile_scales import load_morile_scales
    >>> scales = load_morile_scales()
    >>> fields = scales.fields
    >>> rows = [("a", "ASB", ["Low"] * 5 + ["Frequent", "Low", "Full", "High"]),
    ...         ("b", "ASB", ["Moderate"] * 5 + ["Frequent", "Low", "Full", "Low"])]
    >>> sheet = pd.DataFrame([(s, t, f, v) for s, t, vals in rows
    ...                       for f, v in zip(fields, vals)],
    ...                      columns=["scorer", "theme", "field", "value"])
    >>> agg = aggregate_morile(score_morile(sheet, scales))
    >>> agg[["theme", "harm", "priority_score", "priority_score_range", "confidence"]]
      theme  harm  priority_score  priority_score_range confidence
    0   ASB   7.5          16.875                 11.25        Low
    """
    scales = _scales_of(scored, scales, "aggregate_morile")
    _check_method(method)
    needed = ["scorer", "theme", *scales.scored_fields, "priority_score", CONFIDENCE_FIELD,
              *(f"{f}_label" for f in scales.scored_fields)]
    missing = [c for c in needed if c not in scored.columns]
    if missing:
        raise OptionError(f"scored is missing column(s) {missing}; pass the output of score_morile")
    if scored.empty:
        raise OptionError("scored has no rows; nothing to aggregate")

    groups = scored.groupby("theme", sort=False)
    fields = list(scales.scored_fields)
    med = groups[fields].median()
    ps = groups["priority_score"]
    calc = _combine_scores(med[list(scales.harm_dimensions)].to_numpy(float),
                           med["frequency"].to_numpy(float), med["vulnerability"].to_numpy(float),
                           med[ORG_FIELD].to_numpy(float), scales.harm_combine)

    by_scorer = ps.median().to_numpy()
    score = by_scorer if method == "scorer" else calc["priority_score"]
    out = pd.DataFrame({"theme": med.index.to_numpy()})
    out["rank"] = _rank_desc(score)
    out["n_scorers"] = groups["scorer"].nunique().to_numpy()
    for d in scales.harm_dimensions:
        out[d] = med[d].to_numpy()
    out["harm"] = calc["harm"]
    out["frequency"] = med["frequency"].to_numpy()
    out["vulnerability"] = med["vulnerability"].to_numpy()
    out["likelihood"] = calc["likelihood"]
    out["risk"] = calc["risk"]
    out[ORG_FIELD] = med[ORG_FIELD].to_numpy()
    out["priority_score"] = score
    out["median_scorer_priority_score"] = by_scorer
    out["answer_median_priority_score"] = calc["priority_score"]
    out["priority_method"] = method
    out["min_priority_score"] = ps.min().to_numpy()
    out["max_priority_score"] = ps.max().to_numpy()
    key = np.round(score, _RANK_DECIMALS)
    out["outside_scorer_range"] = ((key > np.round(out["max_priority_score"], _RANK_DECIMALS))
                                   | (key < np.round(out["min_priority_score"], _RANK_DECIMALS)))
    out["priority_score_range"] = out["max_priority_score"] - out["min_priority_score"]
    out["priority_score_iqr"] = (ps.quantile(0.75) - ps.quantile(0.25)).to_numpy()

    # Label spread in steps, per field (confidence included): > 1 step means the
    # scorers genuinely disagree rather than sit on neighbouring levels.
    label_columns = {**{f: f"{f}_label" for f in fields}, CONFIDENCE_FIELD: CONFIDENCE_FIELD}
    steps = pd.DataFrame({f: scored[col].map(
        {lab: i for i, lab in enumerate(scales.scale_for(f).labels)})
        for f, col in label_columns.items()})
    if steps.isna().any().any():
        bad = steps.columns[steps.isna().any()].tolist()
        raise OptionError(f"scored has labels not on the scales in {bad}; "
                          "score and aggregate with the same scales")
    steps = steps.astype("int64")
    g = steps.groupby(scored["theme"].to_numpy(), sort=False)
    wide = (g.max() - g.min()).reindex(med.index) > 1
    out["wide_disagreement"] = wide.any(axis=1).to_numpy()
    out["wide_disagreement_fields"] = [", ".join(wide.columns[r]) for r in wide.to_numpy()]

    conf_step = steps[CONFIDENCE_FIELD]
    lowest = conf_step.groupby(scored["theme"].to_numpy(), sort=False).min().reindex(med.index)
    counts = pd.crosstab(scored["theme"].to_numpy(), conf_step.to_numpy()).reindex(med.index)
    counts = counts.reindex(columns=sorted(counts.columns))
    labels = np.asarray(scales.confidence, dtype=object)
    out[CONFIDENCE_FIELD] = labels[lowest.to_numpy()]
    # idxmax returns the first (lowest) level among equally common ones.
    out["confidence_most_common"] = labels[counts.idxmax(axis=1).to_numpy(dtype=np.int64)]
    out = out.sort_values("rank", kind="stable").reset_index(drop=True)
    return _tag(out, scales)


def rank_stability(scores: pd.DataFrame, scales: MoRiLEScales,
                   method: Literal["scorer", "answer"] = "scorer") -> pd.DataFrame:
    """How far each theme's rank moves when any single score moves one step.

    Every score in the matrix (every scorer's every scored field of every
    theme) is moved one step down and one step up its scale, one at a time;
    moves off either end of the scale are skipped.  Confidence is not moved: it
    never changes a score.  After each move the themes are re-aggregated and
    re-ranked exactly as :func:`aggregate_morile` does with the same
    ``method`` (median of the scorers' own scores, or the arithmetic on the
    median answers; rank 1 = highest, ties share the better rank).  A move of one theme's score can change another theme's
    rank, so every theme is checked against every move.

    Parameters
    ----------
    scores : DataFrame
        Tidy scores, as for :func:`score_morile`.
    scales : MoRiLEScales
    method : {"scorer", "answer"}, default "scorer"
        As for :func:`aggregate_morile`.

    Returns
    -------
    DataFrame
        One row per theme, sorted by rank: ``theme, rank`` (unperturbed),
        ``best_rank``, ``worst_rank`` (over the unperturbed rank and every
        move), ``n_perturbations`` (moves tried; the same for every theme),
        ``n_rank_changes`` (moves that changed this theme's rank), ``stable``
        (no move changed it), ``scales_label``, ``scales_version``.

    Examples
    --------
    >>> import pandas as pd
    >>> from sa_lib.data.morile_scales import load_morile_scales
    >>> scales = load_morile_scales()
    >>> tail = ["Frequent", "Low", "Full", "High"]
    >>> rows = [("ASB", ["Low"] * 5 + tail), ("Robbery", ["Moderate"] * 5 + tail)]
    >>> sheet = pd.DataFrame([("a", t, f, v) for t, vals in rows
    ...                       for f, v in zip(scales.fields, vals)],
    ...                      columns=["scorer", "theme", "field", "value"])
    >>> rank_stability(sheet, scales)[["theme", "rank", "best_rank", "worst_rank", "stable"]]
         theme  rank  best_rank  worst_rank  stable
    0  Robbery     1          1           1    True
    1      ASB     2          2           2    True
    """
    _check_method(method)
    v = validate_morile_scores(scores, scales)
    if v.empty:
        raise OptionError("scores has no scores to rank")
    v = v[v["field"] != CONFIDENCE_FIELD]
    fields = list(scales.scored_fields)
    t_codes, theme_names = pd.factorize(v["theme"])
    r_codes, _ = pd.factorize(v["scorer"])
    f_codes = v["field"].map({f: i for i, f in enumerate(fields)}).to_numpy(np.int64)
    n_t, n_r, n_f = len(theme_names), int(r_codes.max()) + 1, len(fields)

    values = np.full((n_t, n_r, n_f), np.nan)
    values[t_codes, r_codes, f_codes] = v["points"].to_numpy(float)
    scale_list = [scales.scale_for(f) for f in fields]
    n_levels = np.array([s.n_levels for s in scale_list])
    table = np.full((n_f, n_levels.max()), np.nan)
    for i, s in enumerate(scale_list):
        table[i, : s.n_levels] = s.values
    n_dims = len(scales.harm_dimensions)

    def combine(p: np.ndarray) -> np.ndarray:
        return _combine_scores(p[..., :n_dims], p[..., n_dims], p[..., n_dims + 1],
                               p[..., n_dims + 2], scales.harm_combine)["priority_score"]

    def priority(points: np.ndarray) -> np.ndarray:
        if method == "scorer":
            # Each scorer's own score, then the median across scorers (a scorer who did
            # not score a theme is NaN there and left out, as in aggregate_morile).
            return _nanmedian(combine(points), axis=-1)
        return combine(np.nanmedian(points, axis=-2))  # median answer per field

    base = np.round(priority(values), _RANK_DECIMALS)
    greater = (base[None, :] > base[:, None]).sum(axis=1)  # themes scoring above each theme
    base_rank = greater + 1

    step = v["step"].to_numpy(np.int64)
    moves = []
    for delta in (-1, 1):
        new = step + delta
        ok = (new >= 0) & (new < n_levels[f_codes])
        moves.append((t_codes[ok], r_codes[ok], f_codes[ok], table[f_codes[ok], new[ok]]))
    pt, pr, pf, new_value = (np.concatenate(parts) for parts in zip(*moves, strict=True))
    n_moves = len(pt)
    if n_moves:
        perturbed = values[pt].copy()  # (moves, scorers, fields)
        perturbed[np.arange(n_moves), pr, pf] = new_value
        new_score = np.round(priority(perturbed), _RANK_DECIMALS)
        old_score = base[pt]
        # Only the moved theme's score changes, so adjust each theme's count of
        # higher-scoring themes instead of re-sorting every perturbed ranking.
        count = (greater[None, :] - (old_score[:, None] > base[None, :])
                 + (new_score[:, None] > base[None, :]))
        count[np.arange(n_moves), pt] = ((base[None, :] > new_score[:, None]).sum(axis=1)
                                         - (old_score > new_score))
        ranks = count + 1
        changed = ranks != base_rank[None, :]
        best = np.minimum(base_rank, ranks.min(axis=0))
        worst = np.maximum(base_rank, ranks.max(axis=0))
        n_changes = changed.sum(axis=0)
    else:
        best, worst, n_changes = base_rank, base_rank, np.zeros(n_t, dtype=np.int64)

    out = pd.DataFrame({
        "theme": np.asarray(theme_names, dtype=object),
        "rank": base_rank,
        "best_rank": best,
        "worst_rank": worst,
        "n_perturbations": n_moves,
        "n_rank_changes": n_changes,
        "stable": n_changes == 0,
    })
    out = out.sort_values("rank", kind="stable").reset_index(drop=True)
    return _tag(out, scales)


def morile_matrix(aggregated: pd.DataFrame, scales: MoRiLEScales | None = None) -> pd.DataFrame:
    """A long theme x dimension table of the aggregated inputs, ready for a heat map.

    Parameters
    ----------
    aggregated : DataFrame
        The output of :func:`aggregate_morile`.
    scales : MoRiLEScales, optional
        Defaults to the scales stored in ``aggregated.attrs``.

    Returns
    -------
    DataFrame
        ``theme, rank, block`` (``harm``, ``likelihood`` or
        ``organisational_position``), ``dimension`` (each harm dimension,
        ``frequency``, ``vulnerability``, ``organisational_position``),
        ``value`` (median points or multiplier), ``scales_label``,
        ``scales_version``; themes in rank order, dimensions in scale order.

    Examples
    --------
    >>> import pandas as pd
    >>> from sa_lib.data.morile_scales import load_morile_scales
    >>> scales = load_morile_scales()
    >>> values = ["Low"] * 5 + ["Frequent", "Low", "Full", "High"]
    >>> sheet = pd.DataFrame({"scorer": "a", "theme": "ASB", "field": scales.fields,
    ...                       "value": values})
    >>> m = morile_matrix(aggregate_morile(score_morile(sheet, scales)))
    >>> m[["dimension", "block", "value"]].tail(3)
                     dimension                    block  value
    5                frequency               likelihood   3.00
    6            vulnerability               likelihood   1.00
    7  organisational_position  organisational_position   0.75
    """
    scales = _scales_of(aggregated, scales, "morile_matrix")
    dims = list(scales.scored_fields)
    missing = [c for c in ["theme", "rank", *dims] if c not in aggregated.columns]
    if missing:
        raise OptionError(f"aggregated is missing column(s) {missing}; "
                          "pass the output of aggregate_morile")
    block = {**dict.fromkeys(scales.harm_dimensions, "harm"),
             **dict.fromkeys(LIKELIHOOD_FIELDS, "likelihood"), ORG_FIELD: ORG_FIELD}
    ordered = aggregated.sort_values("rank", kind="stable")
    long = ordered[["theme", "rank", *dims]].melt(
        id_vars=["theme", "rank"], value_vars=dims, var_name="dimension", value_name="value")
    # melt stacks dimension by dimension; reorder to theme (rank) then dimension.
    n_t = len(ordered)
    order = np.arange(len(long)).reshape(len(dims), n_t).T.ravel()
    long = long.iloc[order].reset_index(drop=True)
    long.insert(2, "block", long["dimension"].map(block))
    return _tag(long, scales)
