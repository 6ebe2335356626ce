"""Comparing one partnership with every other: rates, ranks and funnel-plot limits."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sa_lib.errors import OptionError

__all__ = ["funnel_limits", "funnel_position"]


def funnel_limits(
    population: np.ndarray | pd.Series | list[float],
    overall_rate: float,
    per: float = 1000.0,
    levels: tuple[float, ...] = (0.95, 0.998),
) -> pd.DataFrame:
    """Exact Poisson control limits of a rate per ``per`` people, for a funnel plot.

    For a population ``n`` the expected count is ``overall_rate * n / per``; the
    limits are the Poisson quantiles of that count at ``(1 ± level) / 2``,
    turned back into rates.  A partnership outside the 99.8% limits differs from
    the overall rate by more than chance would explain.

    Parameters
    ----------
    population : array-like
        Populations at which to compute limits.
    overall_rate : float
        The benchmark rate (e.g. England and Wales) per ``per`` people.
    per : float, default 1000
        Rate base.
    levels : tuple of float, default (0.95, 0.998)
        Two-sided coverage of each pair of limits.

    Returns
    -------
    DataFrame
        ``population`` and, per level, ``lower_95``/``upper_95`` style columns.

    Examples
    --------
    >>> f = funnel_limits([100_000], 80.0)
    >>> round(float(f["lower_95"].iloc[0]), 1), round(float(f["upper_95"].iloc[0]), 1)
    (78.2, 81.8)
    """
    pop = np.asarray(population, dtype=float)
    if (pop <= 0).any() or np.isnan(pop).any():
        raise OptionError("population must be positive numbers")
    if not overall_rate > 0:
        raise OptionError(f"overall_rate must be positive, got {overall_rate!r}")
    expected = overall_rate * pop / per
    out = pd.DataFrame({"population": pop})
    for level in levels:
        if not 0 < level < 1:
            raise OptionError(f"levels must be between 0 and 1, got {level!r}")
        tag = f"{level * 100:g}".replace(".", "_")
        lo = stats.poisson.ppf((1 - level) / 2, expected)
        hi = stats.poisson.ppf(1 - (1 - level) / 2, expected)
        out[f"lower_{tag}"] = lo / pop * per
        out[f"upper_{tag}"] = hi / pop * per
    return out


def funnel_position(rate: float, population: float, overall_rate: float, per: float = 1000.0) -> str:
    """Where one rate sits on the funnel: plain words for the narrative.

    Examples
    --------
    >>> funnel_position(78.14, 187_767, 80.0)
    'below the overall rate, outside the 95% limits but within the 99.8% limits'
    """
    lim = funnel_limits([population], overall_rate, per).iloc[0]
    side = "above" if rate > overall_rate else "below" if rate < overall_rate else "at"
    if lim["lower_99_8"] <= rate <= lim["upper_99_8"]:
        if lim["lower_95"] <= rate <= lim["upper_95"]:
            return f"{side} the overall rate, within the 95% limits (no real difference)"
        return f"{side} the overall rate, outside the 95% limits but within the 99.8% limits"
    return f"{side} the overall rate, outside the 99.8% limits (a real difference)"
