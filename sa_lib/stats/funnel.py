"""Comparing one partnership with every other: rates, ranks and funnel-plot limits.

:func:`rate_funnel` is what the report uses: each partnership's rate as an indirectly
standardised ratio (observed over population x overall rate), with limits that allow for
over-dispersion between partnerships (:func:`sa_lib.stats.funnel_plot.funnel`, the CQC
method of FunnelPlotR 0.6.0), or exact Poisson limits on request, turned back into
rates.  :func:`funnel_limits` and :func:`funnel_position` are the older exact Poisson
(quantile) limits of a rate, kept for callers that want them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sa_lib.errors import OptionError
from sa_lib.rounding import format_number, round_half_up

__all__ = ["FUNNEL_METHODS", "funnel_limits", "funnel_method", "funnel_position", "funnel_words",
           "rate_funnel", "rate_funnel_limits"]

#: How the national comparison's limits are drawn: allowing for over-dispersion between
#: partnerships (Spiegelhalter 2005, the report's default) or exact Poisson limits.
FUNNEL_METHODS: tuple[str, ...] = ("overdispersed", "poisson")


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
    """Where one rate sits on the exact Poisson funnel of :func:`funnel_limits`, in words.

    Poisson limits assume partnerships differ only by chance; between real partnerships
    most fall outside them (see :func:`rate_funnel` for limits that allow for that).

    Examples
    --------
    >>> funnel_position(78.14, 187_767, 80.0)
    'below the overall rate, outside the 95% limits but within the 99.8% limits'
    """
    lim = funnel_limits([population], overall_rate, per).iloc[0]
    side = "above" if rate > overall_rate else "below" if rate < overall_rate else "at"
    if lim["lower_99_8"] <= rate <= lim["upper_99_8"]:
        if lim["lower_95"] <= rate <= lim["upper_95"]:
            return f"{side} the overall rate, within the 95% limits"
        return f"{side} the overall rate, outside the 95% limits but within the 99.8% limits"
    return f"{side} the overall rate, outside the 99.8% limits"


def rate_funnel(
    rates: pd.DataFrame,
    overall_rate: float,
    method: str = "overdispersed",
    group: str = "csp_code",
    per: float = 1000.0,
    trim: float = 0.1,
) -> pd.DataFrame:
    """Every partnership on a funnel of rates, with limits around the overall rate.

    Each rate is an indirectly standardised ratio O/E, with O the offences and
    E = population x ``overall_rate`` / ``per``, passed to
    :func:`sa_lib.stats.funnel_plot.funnel` (``data_type="SR"``, ``sr_method="CQC"``,
    ``trim`` winsorised at each end).  ``method="overdispersed"`` draws limits that
    allow for over-dispersion between partnerships (DerSimonian-Laird tau2 on the
    square-root scale; unadjusted when phi <= 1); ``"poisson"`` draws the exact
    Poisson limits.  Ratios and limits are multiplied by ``overall_rate`` to give rates.

    Parameters
    ----------
    rates : DataFrame
        One row per partnership with ``offences``, ``population`` and ``group``;
        rows missing either number are left out (the caller names them).
    overall_rate : float
        The benchmark rate per ``per`` residents (target ratio 1).
    method : {"overdispersed", "poisson"}
    group : str, default "csp_code"
    per : float, default 1000
    trim : float, default 0.1

    Returns
    -------
    DataFrame
        In the order of ``rates``: ``group`` (named as in ``rates``), ``offences``,
        ``population``, ``expected``, ``ratio``, ``rate``, ``z`` and the limits
        ``lower_95, upper_95, lower_998, upper_998`` (rates per ``per``),
        ``outlier_95, outlier_998`` (-1 below, 0 within, 1 above).  ``attrs``:
        ``phi`` and ``tau2`` (the estimates, whatever the method), ``adjusted``,
        ``method``, ``overall_rate``, ``trim``, ``per``.

    Raises
    ------
    OptionError
        Unknown ``method``, a missing column, a non-positive ``overall_rate``, or no
        partnership with both numbers.

    Examples
    --------
    >>> r = pd.DataFrame({"csp_code": list("abcdef"),
    ...                   "offences": [100, 150, 180, 80, 120, 225],
    ...                   "population": [1350, 1400, 2062.5, 1187.5, 1250, 2750]})
    >>> f = rate_funnel(r, 80.0)
    >>> round(f.attrs["phi"], 4), f.attrs["adjusted"]
    (2.3272, True)
    >>> round(float(f.loc[1, "rate"]), 2), f.loc[1, ["outlier_95", "outlier_998"]].tolist()
    (107.14, [1, 0])
    """
    from sa_lib.stats.funnel_plot import funnel

    if method not in FUNNEL_METHODS:
        raise OptionError(f"method must be one of {', '.join(FUNNEL_METHODS)}; got {method!r}")
    if not (isinstance(overall_rate, int | float) and np.isfinite(overall_rate)
            and overall_rate > 0):
        raise OptionError(f"overall_rate must be a positive number, got {overall_rate!r}")
    missing = [c for c in ("offences", "population", group) if c not in rates.columns]
    if missing:
        raise OptionError(f"rate_funnel: rates is missing column(s) {missing}")
    data = pd.DataFrame({
        "group": rates[group].to_numpy(),
        "offences": pd.to_numeric(rates["offences"], errors="coerce").to_numpy(dtype=float),
        "population": pd.to_numeric(rates["population"], errors="coerce").to_numpy(dtype=float),
    })
    data = data[data["offences"].notna() & (data["population"] > 0)].reset_index(drop=True)
    if data.empty:
        raise OptionError("rate_funnel: no partnership has both offences and a population")
    data["expected"] = data["population"] * overall_rate / per
    f = funnel(data, "offences", "expected", "group", data_type="SR", sr_method="CQC",
               overdispersion=method == "overdispersed", trim=trim)
    f = f.set_index("group").reindex(data["group"]).reset_index()
    out = data.assign(ratio=f["value"].to_numpy(), rate=f["value"].to_numpy() * overall_rate,
                      z=f["z"].to_numpy())
    for col in ("lower_95", "upper_95", "lower_998", "upper_998"):
        out[col] = f[col].to_numpy() * overall_rate
    for col in ("outlier_95", "outlier_998"):
        out[col] = f[col].to_numpy().astype("int64")
    out = out.rename(columns={"group": group})
    out.attrs.update({"phi": f.attrs["phi_estimate"], "tau2": f.attrs["tau2_estimate"],
                      "adjusted": f.attrs["adjusted"], "method": method,
                      "overall_rate": float(overall_rate), "trim": trim, "per": per})
    return out


def rate_funnel_limits(
    population: np.ndarray | pd.Series | list[float],
    overall_rate: float,
    tau2: float = 0.0,
    adjusted: bool = True,
    per: float = 1000.0,
) -> pd.DataFrame:
    """The limits of :func:`rate_funnel` at any populations (for drawing the funnel).

    ``adjusted`` gives the over-dispersion-adjusted CQC limits with ``tau2`` (square-root
    scale, squared back); otherwise the exact Poisson limits.  Both are the limits
    :func:`sa_lib.stats.funnel_plot.funnel` uses, multiplied by ``overall_rate``.

    Examples
    --------
    >>> f = rate_funnel_limits([100_000], 80.0, tau2=0.01)
    >>> [round(float(f[c].iloc[0]), 1) for c in ("lower_95", "upper_95")]
    [51.7, 114.5]
    >>> round(float(rate_funnel_limits([100_000], 80.0, adjusted=False)["lower_95"].iloc[0]), 1)
    78.3
    """
    from sa_lib.stats.funnel_plot import _limits

    pop = np.asarray(population, dtype=float)
    if (pop <= 0).any() or np.isnan(pop).any():
        raise OptionError("population must be positive numbers")
    if not overall_rate > 0:
        raise OptionError(f"overall_rate must be positive, got {overall_rate!r}")
    if not (np.isfinite(tau2) and tau2 >= 0):
        raise OptionError(f"tau2 must be a number >= 0, got {tau2!r}")
    lim = _limits(pop * overall_rate / per, "SR", "CQC", 1.0, float(tau2), bool(adjusted))
    return pd.DataFrame({"population": pop,
                         **{k: np.asarray(v, dtype=float) * overall_rate for k, v in lim.items()}})


def funnel_words(row: pd.Series | dict, adjusted: bool) -> str:
    """Where one partnership of :func:`rate_funnel` sits, in words for a sentence.

    Examples
    --------
    >>> funnel_words({"rate": 78.1, "outlier_95": 0, "outlier_998": 0}, True)
    'within the adjusted 95% limits'
    >>> funnel_words({"rate": 70.0, "outlier_95": -1, "outlier_998": 0}, False)
    'outside the 95% Poisson limits (below them) but within the 99.8% limits'
    """
    kind = "adjusted " if adjusted else ""
    kind_after = "" if adjusted else " Poisson"
    if row["outlier_998"] != 0:
        side = "above" if row["outlier_998"] > 0 else "below"
        return f"outside the {kind}99.8%{kind_after} limits ({side} them)"
    if row["outlier_95"] != 0:
        side = "above" if row["outlier_95"] > 0 else "below"
        return (f"outside the {kind}95%{kind_after} limits ({side} them) but within the "
                "99.8% limits")
    return f"within the {kind}95%{kind_after} limits"


def funnel_method(attrs: dict) -> str:
    """How the limits of a :func:`rate_funnel` were drawn, in words (no full stop).

    Examples
    --------
    >>> a = {"method": "overdispersed", "adjusted": True, "phi": 1012.47, "tau2": 0.015645,
    ...      "trim": 0.1}
    >>> funnel_method(a)
    'limits allow for over-dispersion between partnerships (Spiegelhalter 2005; DerSimonian-Laird, 10% winsorised), phi = 1,012.5, tau2 = 0.0156'
    >>> funnel_method({**a, "adjusted": False, "phi": 0.84})
    'phi = 0.84 shows no over-dispersion between partnerships, so the limits are exact Poisson limits'
    >>> funnel_method({**a, "method": "poisson", "adjusted": False})
    'exact Poisson limits, which allow only for chance variation in the counts (partnerships vary more than that: phi = 1,012.5)'
    """
    phi, tau2 = float(attrs["phi"]), float(attrs["tau2"])
    phi_text = _half_up(phi, 1) if phi >= 10 else _half_up(phi, 2)
    if attrs["method"] == "poisson":
        more = (f"partnerships vary more than that: phi = {phi_text}" if phi > 1 else
                f"phi = {phi_text} shows no over-dispersion")
        return f"exact Poisson limits, which allow only for chance variation in the counts ({more})"
    if not attrs["adjusted"]:
        return (f"phi = {phi_text} shows no over-dispersion between partnerships, so the limits "
                "are exact Poisson limits")
    return ("limits allow for over-dispersion between partnerships (Spiegelhalter 2005; "
            f"DerSimonian-Laird, {float(attrs['trim']) * 100:g}% winsorised), phi = {phi_text}, "
            f"tau2 = {_significant(tau2, 3)}")


def _significant(x: float, digits: int) -> str:
    """``x`` to ``digits`` significant figures, half-up, trailing zeros dropped: 0.015649 -> 0.0156."""
    if x == 0 or not np.isfinite(x):
        return format_number(x, 0)
    decimals = digits - 1 - int(np.floor(np.log10(abs(x))))
    if decimals < 0:  # 1234.5 -> 1,230: round the tens, hundreds...
        scale = 10 ** -decimals
        return format_number(round_half_up(x / scale) * scale, 0)
    return format_number(x, decimals, trim_zeros=True)


def _half_up(x: float, decimals: int) -> str:
    return format_number(x, decimals)
