"""Is a change between two windows more than month-to-month variation?

Monthly counts of crime and of most partner measures vary more than a Poisson
process would (their variance is often 2-9 times their mean), so the exact
Poisson test on the two window totals calls too many changes significant.
:func:`window_change_test` tests the change on the *monthly* series instead,
with a quasi-Poisson model whose dispersion is estimated from the months of
both windows, and falls back to the exact Poisson test on the totals (saying
so, and why) only where the months cannot estimate the dispersion.

The quasi-Poisson model is statsmodels' ``GLM(y, X, family=Poisson(),
offset=log(exposure)).fit(scale="X2")`` with ``X = [1, current]``, summarised as R's
``summary(glm(..., family = quasipoisson))`` does (t on the residual degrees of
freedom).  With one binary covariate its fit has a closed form, so every series
is tested at once without a fitting loop; ``tests/test_significance.py`` checks
the closed form against statsmodels' fit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sa_lib.errors import OptionError
from sa_lib.rounding import format_number

__all__ = [
    "MIN_MONTHS_PER_WINDOW",
    "QUASI_POISSON",
    "EXACT_POISSON",
    "exact_poisson_test",
    "quasi_poisson_test",
    "window_change_test",
]

#: Fewest months with data in *each* window for the quasi-Poisson test (see window_change_test).
MIN_MONTHS_PER_WINDOW = 3
QUASI_POISSON = "quasi-Poisson"
EXACT_POISSON = "exact Poisson"
#: Why the exact test was used (the words in brackets after "exact Poisson").
TOO_FEW_MONTHS = "too few months"
ALL_ZERO = "no records in a window"


def _one_decimal(x: float) -> str:
    return format_number(x, 1, thousands=False)


def exact_poisson_test(
    previous: float | np.ndarray | pd.Series,
    current: float | np.ndarray | pd.Series,
    previous_exposure: float | np.ndarray | pd.Series = 1.0,
    current_exposure: float | np.ndarray | pd.Series = 1.0,
) -> np.ndarray:
    """Two-sided exact conditional test that two Poisson counts have the same rate.

    Given ``previous + current = n``, under equal rates per unit of exposure
    ``current`` is Binomial(n, e_c / (e_p + e_c)).  The p-value doubles the
    smaller tail, capped at 1 (the "central" exact test), so with equal
    exposures it is exactly :func:`sa_lib.stats.change.change_significance`.
    Exposures are the windows' lengths (months with data), so a 4-month
    window compares fairly with a 12-month one.

    Parameters
    ----------
    previous, current : int or array-like of int
        Window totals.
    previous_exposure, current_exposure : float or array-like, default 1
        Window lengths (any unit, the same for both).

    Returns
    -------
    ndarray of float
        p-values (1 where both counts are 0).

    Examples
    --------
    >>> round(float(exact_poisson_test(282, 345)[0]), 4)
    0.0132
    >>> # 30 in 12 months, then 30 in 4 months: the rate per month tripled.
    >>> float(exact_poisson_test(30, 30, previous_exposure=12, current_exposure=4)[0]) < 0.001
    True
    """
    prev = np.atleast_1d(np.asarray(previous, dtype=float))
    curr = np.atleast_1d(np.asarray(current, dtype=float))
    e_p = np.broadcast_to(np.asarray(previous_exposure, dtype=float), prev.shape)
    e_c = np.broadcast_to(np.asarray(current_exposure, dtype=float), curr.shape)
    if prev.shape != curr.shape:
        raise OptionError("previous and current must have the same length")
    bad = (np.isnan(prev) | np.isnan(curr) | (prev < 0) | (curr < 0) | (prev % 1 != 0)
           | (curr % 1 != 0))
    if bad.any():
        raise OptionError("the exact Poisson test needs whole, non-negative counts")
    if not ((e_p > 0) & (e_c > 0) & np.isfinite(e_p) & np.isfinite(e_c)).all():
        raise OptionError("window exposures must be positive numbers")
    n = prev + curr
    share = e_c / (e_p + e_c)
    lower = stats.binom.cdf(curr, n, share)
    upper = stats.binom.sf(curr - 1, n, share)
    p = np.minimum(1.0, 2 * np.minimum(lower, upper))
    return np.where(n == 0, 1.0, p)


def window_change_test(
    monthly: pd.DataFrame,
    group: str | None = None,
    value: str = "count",
    current: str = "current",
    exposure: str | None = None,
    min_months: int = MIN_MONTHS_PER_WINDOW,
) -> pd.DataFrame:
    """Test each series' change between two windows from its monthly counts.

    **Model.** For each series, the monthly counts of both windows are fitted
    with a Poisson log-linear model ``log E[y] = b0 + b1 * current +
    log(exposure)``, so ``exp(b1)`` is the ratio of the current window's rate per
    month to the previous window's (windows of different lengths compare
    fairly; the exposure offset is 1 per monthly row unless ``exposure`` says
    otherwise).  The dispersion ``phi`` is Pearson's chi-squared over the
    residual degrees of freedom ``df = months - 2`` (statsmodels'
    ``scale="X2"``, R's ``quasipoisson``); the standard error of ``b1`` is
    ``sqrt(phi)`` times the Poisson one, ``sqrt(1/Y_current + 1/Y_previous)``
    for window totals ``Y``; and the two-sided p-value compares ``t = b1 / se``
    with the t distribution on ``df`` degrees of freedom, as R's
    ``summary.glm`` does for a quasi family.

    **Under-dispersion.** A dispersion below 1 is reported as estimated but
    used as 1 (the label says "taken as 1").  Counts of events among many
    people are not less variable than Poisson unless something caps them, so an
    estimate below 1 from a few degrees of freedom is mostly chance (with 6 df
    and a true phi of 1, the estimate is below 1 more often than not); using it
    would shrink the standard error and call changes significant that the
    Poisson model itself would not.  This follows the funnel-plot practice of
    Spiegelhalter (2005) and FunnelPlotR, which leave limits unadjusted when
    phi shows no over-dispersion.  R's quasipoisson uses the estimate as it
    is; the ``dispersion`` column keeps it, so a reader can redo that.

    **Fallback.** The exact conditional Poisson test on the two totals
    (:func:`exact_poisson_test`, exposures = months) is used instead, and the
    ``test`` column says so, when either window has fewer than ``min_months``
    months (the default 3 leaves at least 4 residual degrees of freedom: fewer
    than that, a chi-squared estimate of phi is too unstable to be trusted
    even with t quantiles) or when a window's months are all zero (``b1`` is
    then infinite: the model cannot be fitted).  Series that are not monthly
    (annual or quarterly returns) never reach this function: call
    :func:`exact_poisson_test` on their totals.

    Parameters
    ----------
    monthly : DataFrame
        One row per series and month with data: ``value`` (whole, non-negative
        counts) and ``current`` (bool: the month is in the current window, else
        the previous one).  A month with no records must be a row with 0; a
        month never loaded must have no row.
    group : str, optional
        Column naming the series (one result row per value, in order of first
        appearance); omit for a single series.
    value, current : str
        Column names.
    exposure : str, optional
        Column of each row's exposure (e.g. months it covers); default 1.
    min_months : int, default 3
        Fewest months in each window for the quasi-Poisson test (at least 2).

    Returns
    -------
    DataFrame
        ``group`` (when given), ``previous``, ``current`` (window totals),
        ``months_previous``, ``months_current``, ``rate_ratio``, ``dispersion``
        (phi as estimated; NaN for the exact test), ``df``, ``t`` (NaN for the
        exact test), ``p_value``, ``method`` ("quasi-Poisson" or "exact
        Poisson") and ``test`` (the words for a table: "quasi-Poisson
        (dispersion 3.1)", "exact Poisson (too few months)").

    Examples
    --------
    >>> import pandas as pd
    >>> m = pd.DataFrame({"count": [30, 52, 25, 44, 22, 35, 17, 27],
    ...                   "current": [False] * 4 + [True] * 4})
    >>> r = window_change_test(m).iloc[0]
    >>> r["test"], round(float(r["dispersion"]), 3), round(float(r["p_value"]), 4)
    ('quasi-Poisson (dispersion 3.2)', 3.219, 0.1318)

    The exact test on the totals (151 against 101) would give p = 0.002.
    >>> window_change_test(m.iloc[[0, 1, 4, 5]])["test"].iloc[0]
    'exact Poisson (too few months)'
    """
    if isinstance(min_months, bool) or not isinstance(min_months, int) or min_months < 2:
        raise OptionError(f"min_months must be a whole number of at least 2, got {min_months!r}")
    cols = [value, current, *([group] if group else []), *([exposure] if exposure else [])]
    for col in cols:
        if col not in monthly.columns:
            raise OptionError(f"column {col!r} not found; columns are {list(monthly.columns)}")
    y = pd.to_numeric(monthly[value], errors="coerce").to_numpy(dtype=float)
    if (np.isnan(y) | (y < 0) | (y % 1 != 0)).any():
        raise OptionError(f"column {value!r} must hold whole, non-negative counts (no blanks)")
    e = (np.ones(len(y)) if exposure is None
         else pd.to_numeric(monthly[exposure], errors="coerce").to_numpy(dtype=float))
    if not (np.isfinite(e) & (e > 0)).all():
        raise OptionError(f"column {exposure!r} must hold positive exposures")
    if not pd.api.types.is_bool_dtype(monthly[current]):
        raise OptionError(f"column {current!r} must be True (current window) or False (previous)")
    is_cur = monthly[current].to_numpy(dtype=bool)
    if group is None:
        codes, names = np.zeros(len(y), dtype=int), np.array([None], dtype=object)
    else:
        codes, uniques = pd.factorize(monthly[group], sort=False)
        names = np.asarray(uniques, dtype=object)
        if (codes < 0).any():
            raise OptionError(f"column {group!r} has blanks; every row needs its series")
    k = len(names)
    # Window totals of counts, exposures and months, per series (index 0 previous, 1 current).
    w = is_cur.astype(int)
    cells = codes * 2 + w
    total = np.bincount(cells, weights=y, minlength=2 * k).reshape(k, 2)
    expo = np.bincount(cells, weights=e, minlength=2 * k).reshape(k, 2)
    months = np.bincount(cells, minlength=2 * k).reshape(k, 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = total / expo                                # fitted rate per unit of exposure
        mu = e * rate[codes, w]                            # fitted mean of each row
        pearson = np.where(mu > 0, (y - mu) ** 2 / mu, 0.0)
        chi2 = np.bincount(codes, weights=pearson, minlength=k)
        df = months.sum(axis=1) - 2
        phi = chi2 / df
        b1 = np.log(rate[:, 1] / rate[:, 0])
        se_poisson = np.sqrt(1 / total[:, 1] + 1 / total[:, 0])
        t = b1 / (se_poisson * np.sqrt(np.maximum(phi, 1.0)))
        p_quasi = 2 * stats.t.sf(np.abs(t), df)
    too_few = (months < min_months).any(axis=1)
    all_zero = (total == 0).any(axis=1)
    quasi = ~too_few & ~all_zero
    p_exact = exact_poisson_test(total[:, 0], total[:, 1], np.where(expo[:, 0] > 0, expo[:, 0], 1),
                                 np.where(expo[:, 1] > 0, expo[:, 1], 1))
    reason = np.where(too_few, TOO_FEW_MONTHS, ALL_ZERO)
    test = [f"{QUASI_POISSON} (dispersion {_one_decimal(f)}{', taken as 1' if f < 1 else ''})"
            if q else f"{EXACT_POISSON} ({r})" for q, f, r in zip(quasi, phi, reason, strict=True)]
    out = pd.DataFrame({
        "previous": total[:, 0], "current": total[:, 1],
        "months_previous": months[:, 0], "months_current": months[:, 1],
        "rate_ratio": np.where(expo.all(axis=1), rate[:, 1] / np.where(rate[:, 0] > 0, rate[:, 0],
                                                                        np.nan), np.nan),
        "dispersion": np.where(quasi, phi, np.nan),
        "df": df.astype(int),
        "t": np.where(quasi, t, np.nan),
        "p_value": np.where(quasi, p_quasi, p_exact),
        "method": np.where(quasi, QUASI_POISSON, EXACT_POISSON).astype(object),
        "test": np.asarray(test, dtype=object),
    })
    if group is not None:
        out.insert(0, group, names)
    return out


def quasi_poisson_test(
    previous: list[float] | np.ndarray | pd.Series,
    current: list[float] | np.ndarray | pd.Series,
    min_months: int = MIN_MONTHS_PER_WINDOW,
) -> pd.Series:
    """:func:`window_change_test` for one series given as two lists of monthly counts.

    Examples
    --------
    >>> r = quasi_poisson_test([30, 52, 25, 44], [22, 35, 17, 27])
    >>> r["method"], round(float(r["p_value"]), 4)
    ('quasi-Poisson', 0.1318)
    """
    prev = np.asarray(previous, dtype=float).ravel()
    cur = np.asarray(current, dtype=float).ravel()
    monthly = pd.DataFrame({"count": np.concatenate([prev, cur]),
                            "current": np.r_[np.zeros(len(prev), bool), np.ones(len(cur), bool)]})
    return window_change_test(monthly, min_months=min_months).iloc[0]
