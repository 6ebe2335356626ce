"""Over-dispersed funnel plots, as the NHS-R FunnelPlotR package (0.6.0) draws them.

:func:`funnel` ports FunnelPlotR's ``funnel_plot()`` figures (not its chart): the
indirectly standardised ratio (``"SR"``), the proportion (``"PR"``) and the ratio of
counts (``"RC"``); z-scores on a transformed scale; winsorisation (or, for the SHMI
method, truncation); the dispersion ratio phi; the DerSimonian-Laird additive
between-group variance tau2 (Spiegelhalter 2005, *Handling over-dispersion of
performance indicators*); and limits at 95% and 99.8% at each group's own
denominator.  The R details are copied on purpose, quirks included, so that the
figures match FunnelPlotR's; the single deliberate difference (the CQC
back-transform, FunnelPlotR issue #33) is described in :func:`funnel`.

:func:`sa_lib.stats.funnel.funnel_limits` (exact Poisson limits of a rate) is
unchanged; this module is the over-dispersion-aware replacement for the national
comparison.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
import pandas as pd
from scipy import stats

from sa_lib.errors import OptionError

__all__ = ["DATA_TYPES", "SR_METHODS", "funnel"]

#: FunnelPlotR's data types: standardised ratio O/E, proportion, ratio of counts.
DATA_TYPES: tuple[str, ...] = ("SR", "PR", "RC")
#: FunnelPlotR's methods for standardised ratios.
SR_METHODS: tuple[str, ...] = ("CQC", "SHMI")

# FunnelPlotR hard-codes these normal quantiles (not qnorm(0.975) = 1.959963985...).
_Z95 = 1.959964
_Z998 = 3.090232

_COLUMNS = [
    "group", "numerator", "denominator", "value", "z",
    "lower_95", "upper_95", "lower_998", "upper_998", "outlier_95", "outlier_998",
]

_DATA_WORDS = {
    "SR": "indirectly standardised ratio (observed / expected)",
    "PR": "proportion",
    "RC": "ratio of counts",
}


def funnel(
    frame: pd.DataFrame,
    numerator: str,
    denominator: str,
    group: str,
    data_type: str = "SR",
    sr_method: str = "CQC",
    overdispersion: bool = True,
    trim: float = 0.1,
) -> pd.DataFrame:
    """Funnel-plot values, z-scores, limits and outliers, over-dispersion allowed for.

    Reproduces FunnelPlotR 0.6.0's ``funnel_plot()`` (``multiplier = 1``,
    ``SHMI_rounding = TRUE``; ``overdispersion=True`` is its default
    ``draw_adjusted = TRUE, draw_unadjusted = FALSE``, ``overdispersion=False`` is
    ``draw_adjusted = FALSE, draw_unadjusted = TRUE``):

    1. rows sharing a ``group`` are summed, groups sorted; ``value`` is
       numerator / denominator.  For the SHMI method the expected count is first
       rounded to 2 decimal places with R's ``round()`` (R >= 4.0.0's algorithm,
       reproduced exactly: of the two 2-dp neighbours the nearer in double
       arithmetic, the even one on a tie; this agrees with Python's ``round``
       except where 100 E lands on a half in double arithmetic, and is not
       ``numpy.round``, which scales by 100 first: 0.015 gives 0.01, not 0.02);
    2. the target is 1 for ``"SR"``, otherwise sum(numerator) / sum(denominator);
    3. ``z`` is the unadjusted z-score on the transformed scale: ``"SR"`` with
       ``"CQC"``: (sqrt(O/E) - 1) / (1 / (2 sqrt(E))); with ``"SHMI"``:
       sqrt(E) log(O/E) (-inf when O = 0); ``"PR"``: (asin(sqrt(p)) -
       asin(sqrt(target))) / (1 / (2 sqrt(n))); ``"RC"``: (log((O + 0.5) / (D + 0.5))
       - log(target)) / s with s = sqrt(O / (O + 0.5)^2 + D / (D + 0.5)^2);
    4. the z-scores are winsorised at the ``trim`` and ``1 - trim`` quantiles (R
       ``quantile`` type 7), or, for SHMI, truncated: with k = 1 / trim, groups
       whose floor(rank * k / (N + 1)) is 0 or >= k - 1 are dropped;
    5. phi = mean of the squared winsorised (kept) z-scores over their number n;
       tau2 = 0 when n phi < n - 1, else max(0, (n phi - (n - 1)) / (sum(w) -
       sum(w^2) / sum(w))), w = 1 / s^2 over the kept groups;
    6. over-dispersion-adjusted limits are used when ``overdispersion`` and
       phi > 1; otherwise unadjusted ones: for ``"SR"`` the exact Poisson
       (chi-square) limits ``qchisq(a, 2E) / 2E`` and ``qchisq(1 - a, 2(E + 1)) /
       2E``; for ``"PR"`` and ``"RC"`` the adjusted formulas with tau2 = 0;
    7. adjusted limits, z = 1.959964 (95%) and 3.090232 (99.8%), sigma =
       sqrt(s^2 + tau2): SHMI exp(±z sqrt(1/E + tau2)); ``"PR"`` sin(asin(sqrt(target))
       ± z sigma)^2 with s = 1 / (2 sqrt(n)), made monotone as FunnelPlotR does
       (a limit beyond its neighbour on the sorted lookup of 1,000 points from 3
       to ceiling(max n) plus the denominators becomes 0 or 1); ``"RC"``
       target exp(±z sigma) with s = 1 / (2 sqrt(D)) (FunnelPlotR's choice for the
       limits, not the s of the z-score);
    8. a group is an outlier (-1 below, 1 above, 0 within) when its value is
       outside the limits at its own denominator; a value on a limit is within.

    **The one deliberate difference: CQC adjusted limits.** FunnelPlotR draws
    1 ± z sqrt(1/(4E) + tau2) on the O/E scale, which are limits for sqrt(O/E)
    never transformed back (its open issue #33).  Here the square-root-scale
    limits 1 ± z sqrt(1/(4E) + tau2) (the target sqrt(1) = 1) are squared back to
    the ratio scale: max(0, 1 - z sigma)^2 and (1 + z sigma)^2; outliers are
    judged against these.  ``z``, phi and tau2 are FunnelPlotR's.

    Parameters
    ----------
    frame : DataFrame
        One row per group, or several to be summed.  Not modified.
    numerator : str
        Column of observed counts (O; the numerator of the proportion or ratio).
    denominator : str
        Column of expected counts (E, for ``"SR"``), group sizes (``"PR"``) or
        the denominator counts (``"RC"``).
    group : str
        Column naming each group (e.g. partnership).
    data_type : {"SR", "PR", "RC"}, default "SR"
        Standardised ratio O/E, proportion, or ratio of counts.
    sr_method : {"CQC", "SHMI"}, default "CQC"
        For ``"SR"``: square-root z-scores with winsorisation (CQC), or log
        z-scores with truncation and E rounded to 2 dp (NHS Digital's SHMI).
        Ignored for other data types.
    overdispersion : bool, default True
        Use over-dispersion-adjusted limits when phi > 1.  ``False`` always gives
        the unadjusted limits (exact Poisson for ``"SR"``); then, as in
        FunnelPlotR, ``attrs["phi"]`` and ``attrs["tau2"]`` are 0.
    trim : float, default 0.1
        Share winsorised (or, for SHMI, truncated) at each end, in [0, 0.5).
        ``trim=0`` with SHMI truncates nothing (FunnelPlotR fails there: 1/0).

    Returns
    -------
    DataFrame
        One row per group, sorted by group: ``group, numerator, denominator,
        value, z, lower_95, upper_95, lower_998, upper_998, outlier_95,
        outlier_998``.  ``attrs``: ``phi`` and ``tau2`` (as FunnelPlotR reports
        them), ``phi_estimate`` and ``tau2_estimate`` (always the estimates),
        ``target``, ``adjusted`` (whether the limits are over-dispersion
        adjusted) and ``method`` (in words).

    Raises
    ------
    OptionError
        Unknown ``data_type`` or ``sr_method``, ``trim`` outside [0, 0.5), a
        missing column, a missing group, or a numerator or denominator that is
        negative, not finite, a zero denominator total, or (for ``"PR"``) a
        numerator above its denominator.

    Examples
    --------
    >>> df = pd.DataFrame({"area": list("abcdef"),
    ...                    "observed": [100, 150, 180, 80, 120, 225],
    ...                    "expected": [108, 112, 165, 95, 100, 220]})
    >>> f = funnel(df, "observed", "expected", "area")
    >>> round(f.attrs["phi"], 4), f.attrs["adjusted"]
    (2.3272, True)
    >>> f.loc[f["group"] == "b", ["value", "outlier_95", "outlier_998"]].round(3)
       value  outlier_95  outlier_998
    1  1.339           1            0
    """
    _validate_options(frame, numerator, denominator, group, data_type, sr_method,
                      overdispersion, trim)
    agg = _aggregate(frame, numerator, denominator, group)
    shmi = data_type == "SR" and sr_method == "SHMI"
    if shmi:
        agg["denominator"] = _r_round(agg["denominator"].to_numpy(), 2)
    _validate_totals(agg, data_type, shmi)

    obs = agg["numerator"].to_numpy(dtype=float)
    den = agg["denominator"].to_numpy(dtype=float)
    target = 1.0 if data_type == "SR" else float(obs.sum() / den.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        z, s = _zscores(obs, den, data_type, sr_method, target)
        kept = _truncate(z, trim) if shmi else _winsorise(z, trim)
        use = ~np.isnan(kept)
        n = float(use.sum())
        phi = float((1 / n) * np.sum(kept[use] ** 2))
        tau2 = _tau2(n, phi, s[use])
    adjusted = bool(overdispersion and phi > 1)
    limits = _limits(den, data_type, sr_method, target, tau2 if adjusted else 0.0, adjusted)

    out = pd.DataFrame({"group": agg["group"].to_numpy(), "numerator": obs,
                        "denominator": den, "value": obs / den, "z": z, **limits})
    for tag in ("95", "998"):
        lo, hi = out[f"lower_{tag}"].to_numpy(), out[f"upper_{tag}"].to_numpy()
        val = out["value"].to_numpy()
        out[f"outlier_{tag}"] = np.where(val < lo, -1, np.where(val > hi, 1, 0))
    out = out[_COLUMNS]
    out.attrs.update({
        "phi": phi if overdispersion else 0.0,
        "tau2": tau2 if overdispersion else 0.0,
        "phi_estimate": phi,
        "tau2_estimate": tau2,
        "target": target,
        "adjusted": adjusted,
        "method": _method_words(data_type, sr_method, trim, overdispersion, adjusted),
    })
    return out


# --- validation -------------------------------------------------------------------------


def _validate_options(frame: pd.DataFrame, numerator: str, denominator: str, group: str,
                      data_type: str, sr_method: str, overdispersion: bool,
                      trim: float) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise OptionError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    if data_type not in DATA_TYPES:
        raise OptionError(f"data_type must be one of {', '.join(DATA_TYPES)}; got {data_type!r}")
    if sr_method not in SR_METHODS:
        raise OptionError(f"sr_method must be one of {', '.join(SR_METHODS)}; got {sr_method!r}")
    if not isinstance(overdispersion, bool | np.bool_):
        raise OptionError(f"overdispersion must be True or False; got {overdispersion!r}")
    if (isinstance(trim, bool) or not isinstance(trim, Real) or not math.isfinite(trim)
            or not 0 <= trim < 0.5):
        raise OptionError(f"trim must be a number in [0, 0.5); got {trim!r}")
    for arg, col in (("numerator", numerator), ("denominator", denominator), ("group", group)):
        if col not in frame.columns:
            raise OptionError(f"{arg}: column {col!r} is not in the frame "
                              f"(columns: {', '.join(map(str, frame.columns))})")
    if numerator == denominator:
        raise OptionError(f"numerator and denominator are the same column {numerator!r}")
    if frame.empty:
        raise OptionError("frame has no rows: a funnel plot needs at least one group")
    if frame[group].isna().any():
        raise OptionError(f"group: column {group!r} has missing values")
    for arg, col in (("numerator", numerator), ("denominator", denominator)):
        values = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            first = frame[col].iloc[int(np.argmax(bad))]
            raise OptionError(f"{arg}: column {col!r} must hold finite numbers >= 0; "
                              f"{int(bad.sum())} do not (first: {first!r})")


def _validate_totals(agg: pd.DataFrame, data_type: str, shmi: bool) -> None:
    zero = agg["denominator"].to_numpy() <= 0
    if zero.any():
        names = ", ".join(map(str, agg.loc[zero, "group"].head(5)))
        why = " after rounding to 2 decimal places (SHMI)" if shmi else ""
        raise OptionError(f"denominator: the total is zero{why} for group(s) {names}")
    if data_type == "PR":
        over = agg["numerator"].to_numpy() > agg["denominator"].to_numpy()
        if over.any():
            names = ", ".join(map(str, agg.loc[over, "group"].head(5)))
            raise OptionError("numerator: a proportion's numerator exceeds its denominator "
                              f"for group(s) {names}")


def _aggregate(frame: pd.DataFrame, numerator: str, denominator: str,
               group: str) -> pd.DataFrame:
    work = pd.DataFrame({
        "group": frame[group].to_numpy(),
        "numerator": pd.to_numeric(frame[numerator]).to_numpy(dtype=float),
        "denominator": pd.to_numeric(frame[denominator]).to_numpy(dtype=float),
    })
    return work.groupby("group", sort=True, observed=True).sum().reset_index()


# --- FunnelPlotR's steps ----------------------------------------------------------------


def _r_round(x: np.ndarray, digits: int) -> np.ndarray:
    """R (>= 4.0.0) ``round(x, digits)``, src/nmath/fround.c, for 0 < digits <= 308."""
    x = np.asarray(x, dtype=float)
    sign = np.where(x < 0, -1.0, 1.0)
    ax = np.abs(x)
    pow10 = 10.0 ** digits
    x10 = ax * pow10
    i10 = np.floor(x10)
    xd, xu = i10 / pow10, np.ceil(x10) / pow10
    du, dd = xu - ax, ax - xd
    rounded = np.where((du < dd) | ((np.fmod(i10, 2.0) == 1) & (du == dd)), xu, xd)
    with np.errstate(divide="ignore"):
        logb = np.frexp(ax)[1] - 1.0  # C logb(): the binary exponent
        l10x = math.log10(2) * (0.5 + logb)
    keep = (ax == 0) | ~np.isfinite(ax) | (l10x + digits > 15)  # 15 = DBL_DIG
    return np.where(keep, x, sign * rounded)


def _zscores(obs: np.ndarray, den: np.ndarray, data_type: str, sr_method: str,
             target: float) -> tuple[np.ndarray, np.ndarray]:
    """R ``transformed_zscore``: the unadjusted z-score and the standard error s."""
    if data_type == "SR" and sr_method == "SHMI":
        return np.sqrt(den) * np.log(obs / den), 1 / np.sqrt(den)
    if data_type == "SR":
        y, s, target_t = np.sqrt(obs / den), 1 / (2 * np.sqrt(den)), 1.0
    elif data_type == "PR":
        y, s = np.arcsin(np.sqrt(obs / den)), 1 / (2 * np.sqrt(den))
        target_t = math.asin(math.sqrt(target))
    else:
        y = np.log((obs + 0.5) / (den + 0.5))
        s = np.sqrt(obs / (obs + 0.5) ** 2 + den / (den + 0.5) ** 2)
        target_t = math.log(target)
    return (y - target_t) / s, s


def _r_quantile7(x: np.ndarray, prob: float) -> float:
    """R ``quantile(x, prob, type = 7, na.rm = TRUE)`` with R's own arithmetic."""
    xs = np.sort(x[~np.isnan(x)])
    index = 1 + max(len(xs) - 1, 0) * prob
    lo, hi = math.floor(index), math.ceil(index)
    qs = float(xs[lo - 1])
    if index > lo and xs[hi - 1] != qs:
        h = index - lo
        qs = (1 - h) * qs + h * float(xs[hi - 1])
    return qs


def _winsorise(z: np.ndarray, trim: float) -> np.ndarray:
    lz, uz = _r_quantile7(z, trim), _r_quantile7(z, 1 - trim)
    return np.where(z < lz, lz, np.where(z > uz, uz, z))


def _truncate(z: np.ndarray, trim: float) -> np.ndarray:
    """SHMI truncation: NaN for the groups in the bottom and top ``trim`` by rank."""
    if trim == 0:
        return z.copy()
    k = 1 / trim
    rank = pd.Series(z).rank(method="average").to_numpy()
    band = np.floor(rank * k / (len(rank) + 1))
    return np.where((band > 0) & (band < k - 1), z, np.nan)


def _tau2(n: float, phi: float, s: np.ndarray) -> float:
    """DerSimonian-Laird additive between-group variance (R ``tau_func``)."""
    if len(s) == 0 or n * phi < n - 1:
        return 0.0
    w = 1 / s ** 2
    return float(np.maximum(0.0, (n * phi - (n - 1)) / (np.sum(w) - np.sum(w ** 2) / np.sum(w))))


def _limits(den: np.ndarray, data_type: str, sr_method: str, target: float, tau2: float,
            adjusted: bool) -> dict[str, np.ndarray]:
    """The four limits at each denominator (R ``calculate_limits``, bar CQC's back-transform)."""
    if data_type == "SR" and not adjusted:
        # Exact Poisson limits: qchisq(p, df, lower.tail = FALSE) is chi2.isf(p, df).
        return {
            "lower_95": target * (stats.chi2.isf(0.975, 2 * den) / 2) / den,
            "upper_95": target * (stats.chi2.isf(0.025, 2 * (den + 1)) / 2) / den,
            "lower_998": target * (stats.chi2.isf(0.999, 2 * den) / 2) / den,
            "upper_998": target * (stats.chi2.isf(0.001, 2 * (den + 1)) / 2) / den,
        }
    if data_type == "PR":
        return _pr_limits(den, target, tau2)
    out = {}
    for tag, zq in (("95", _Z95), ("998", _Z998)):
        if data_type == "SR" and sr_method == "SHMI":
            half = zq * np.sqrt(1 / den + tau2)
            out[f"lower_{tag}"], out[f"upper_{tag}"] = np.exp(-half), np.exp(half)
        elif data_type == "SR":
            # sqrt-scale limits 1 ± z sigma, squared back (FunnelPlotR omits the square, #33).
            half = zq * np.sqrt((1 / (2 * np.sqrt(den))) ** 2 + tau2)
            out[f"lower_{tag}"] = np.maximum(0.0, 1 - half) ** 2
            out[f"upper_{tag}"] = (1 + half) ** 2
        else:
            half = zq * np.sqrt((1 / (2 * np.sqrt(den))) ** 2 + tau2)
            out[f"lower_{tag}"] = np.exp(math.log(target) - half)
            out[f"upper_{tag}"] = np.exp(math.log(target) + half)
    return out


def _pr_limits(den: np.ndarray, target: float, tau2: float) -> dict[str, np.ndarray]:
    """Proportion limits on FunnelPlotR's lookup, with its monotonicity correction.

    sin(angle)^2 turns back up when the angle passes 0 (or pi/2), so FunnelPlotR sets a
    lower (upper) limit above (below) the next point of its sorted lookup to 0 (1).  The
    lookup is ``seq(3, ceiling(max(n)), length.out = 1000)`` plus the denominators.
    """
    max_x = float(math.ceil(den.max()))
    if max_x == 3.0:
        grid = np.full(1000, 3.0)
    else:  # R seq.default: c(from, from + seq_len(998) * by, to)
        grid = np.concatenate([[3.0], 3.0 + np.arange(1, 999) * ((max_x - 3.0) / 999), [max_x]])
    seq = np.unique(np.concatenate([grid, den]))
    s = 1 / (2 * np.sqrt(seq))
    angle = math.asin(math.sqrt(target))
    where = np.searchsorted(seq, den)
    out = {}
    for tag, zq in (("95", _Z95), ("998", _Z998)):
        half = zq * np.sqrt(s ** 2 + tau2)
        lower = np.maximum(np.sin(angle - half) ** 2, 0.0)  # R's truncation to [0, 1]
        upper = np.minimum(np.sin(angle + half) ** 2, 1.0)
        lower[:-1] = np.where(lower[:-1] > lower[1:], 0.0, lower[:-1])
        upper[:-1] = np.where(upper[:-1] < upper[1:], 1.0, upper[:-1])
        out[f"lower_{tag}"], out[f"upper_{tag}"] = lower[where], upper[where]
    return out


def _method_words(data_type: str, sr_method: str, trim: float, overdispersion: bool,
                  adjusted: bool) -> str:
    words = [_DATA_WORDS[data_type]]
    if data_type == "SR" and sr_method == "SHMI":
        words.append(f"log z-scores, {trim * 100:g}% truncated at each end (SHMI method)")
    else:
        scale = {"SR": "square-root (CQC method)", "PR": "arcsine square-root",
                 "RC": "log"}[data_type]
        words.append(f"{scale} z-scores, {trim * 100:g}% winsorised at each end")
    if adjusted:
        words.append("limits adjusted for over-dispersion (DerSimonian-Laird additive "
                     "random effects), as in FunnelPlotR 0.6.0")
    elif not overdispersion:
        words.append("unadjusted limits" + (" (exact Poisson)" if data_type == "SR" else ""))
    else:
        words.append("no over-dispersion (phi <= 1), so unadjusted limits"
                     + (" (exact Poisson)" if data_type == "SR" else ""))
    return "; ".join(words)
