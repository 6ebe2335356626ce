"""Funnel plot: rate per 1,000 against population, one partnership highlighted."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import StrMethodFormatter

from sa_lib.errors import OptionError
from sa_lib.report.charts.base import Chart, _fmt1, plain_text_chart
from sa_lib.rounding import format_number

__all__ = ["funnel_chart"]


@plain_text_chart
def funnel_chart(
    rates: pd.DataFrame,
    highlight: str | None,
    overall_rate: float,
    title: str,
    name_column: str = "csp_name",
    caption: str | None = None,
    method: str = "overdispersed",
) -> Chart:
    """Funnel plot of rate per 1,000 against population, one partnership highlighted.

    The limits are those of :func:`sa_lib.stats.funnel.rate_funnel` over the partnerships
    drawn: by default they allow for over-dispersion between partnerships (CQC method,
    DerSimonian-Laird tau2, 10% winsorised); ``method="poisson"`` draws exact Poisson
    limits.  The chart's note names the method, phi and tau2.

    Parameters
    ----------
    rates : DataFrame
        From :func:`sa_lib.csp_rates` (``population``, ``rate_per_1000``, ``offences``
        and names).  Without ``offences``, offences are rate x population / 1,000.
        Rows without a rate are left out (the caller names them).
    highlight : str or None
        The name (in ``name_column``) of the partnership to highlight; ``None`` when the
        area has no rate (then no point is highlighted).
    overall_rate : float
        Benchmark rate per 1,000 the limits are drawn around.
    title : str
        Chart title.
    name_column : str, default "csp_name"
    caption : str, optional
        Source line; the method line is added below it.
    method : {"overdispersed", "poisson"}, default "overdispersed"

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"csp_name": ["A", "B", "C"], "population": [1e5, 2e5, 3e5],
    ...                   "rate_per_1000": [70.0, 90.0, 80.0]})
    >>> funnel_chart(r, "B", 80.0, "Crime rate").alt_text.split(".")[0]
    'Funnel plot of Crime rate: 3 partnerships by population (x) and rate per 1,000 residents (y)'
    """
    from sa_lib.stats.funnel import funnel_method, funnel_words, rate_funnel, rate_funnel_limits

    data = rates.dropna(subset=["population", "rate_per_1000"]).reset_index(drop=True)
    if highlight is not None and highlight not in set(data[name_column]):
        raise OptionError(f"{highlight!r} is not among the partnerships with a rate")
    offences = (data["offences"].astype(float) if "offences" in data
                else data["rate_per_1000"] * data["population"] / 1000)
    f = rate_funnel(data.assign(offences=offences, _row=np.arange(len(data))), overall_rate,
                    method=method, group="_row")
    adjusted = bool(f.attrs["adjusted"])
    grid = np.linspace(data["population"].min() * 0.9, data["population"].max() * 1.05, 200)
    lim = rate_funnel_limits(grid, overall_rate, f.attrs["tau2"], adjusted)
    kind = "adjusted" if adjusted else "exact Poisson"
    fig = Figure(figsize=(8, 4.4), dpi=110)
    ax = fig.add_subplot()
    ax.scatter(data["population"], data["rate_per_1000"], s=12, color="#9b9b9b",
               edgecolors="none", label="Other partnerships")
    me_at = (int(np.flatnonzero(data[name_column].to_numpy() == highlight)[0])
             if highlight is not None else None)
    if me_at is not None:
        me = data.iloc[me_at]
        ax.scatter([me["population"]], [me["rate_per_1000"]], s=50, color="#005eb8", zorder=3,
                   label=highlight)
    ax.axhline(overall_rate, color="#231f20", linewidth=1, label="Overall rate")
    ax.plot(grid, lim["upper_95"], color="#231f20", linestyle="--", linewidth=0.9,
            label=f"95% limits ({kind})")
    ax.plot(grid, lim["lower_95"], color="#231f20", linestyle="--", linewidth=0.9)
    ax.plot(grid, lim["upper_998"], color="#d5281b", linestyle=":", linewidth=1,
            label=f"99.8% limits ({kind})")
    ax.plot(grid, lim["lower_998"], color="#d5281b", linestyle=":", linewidth=1)
    # A few city-centre partnerships (e.g. City of London) have rates many times the rest;
    # clip the axis so the funnel is readable, and say how many points are off the chart.
    top = float(max(data["rate_per_1000"].quantile(0.99),
                    data["rate_per_1000"].iloc[me_at] if me_at is not None else 0) * 1.15)
    ax.set_ylim(0, top)
    off_chart = int((data["rate_per_1000"] > top).sum())
    ax.set_xlabel("Population")
    ax.set_ylabel("Offences per 1,000 residents")
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.set_title(title, loc="left", fontsize=11)
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.spines[["top", "right"]].set_visible(False)
    fig.subplots_adjust(bottom=0.22)
    how = funnel_method(f.attrs)
    how = how[:1].upper() + how[1:] + "."
    fig.text(0.01, 0.01, f"{caption}\n{how}" if caption else how, fontsize=7, color="#4c6272")
    outside = f["outlier_998"].to_numpy() != 0
    if me_at is not None:
        side = "above" if me["rate_per_1000"] > overall_rate else \
            "below" if me["rate_per_1000"] < overall_rate else "at"
        people = format_number(me["population"], 0)
        where = (f"{highlight} has {_fmt1(me['rate_per_1000'])} per 1,000 (population "
                 f"{people}), {side} the overall rate of {_fmt1(overall_rate)} per 1,000 and "
                 f"{funnel_words(f.iloc[me_at], adjusted)}.")
    else:
        where = f"The overall rate is {_fmt1(overall_rate)} per 1,000."
    alt = (f"Funnel plot of {title}: {len(data)} partnerships by population (x) and rate per "
           f"1,000 residents (y). {where} "
           f"{how} {int(outside.sum())} of {len(data)} partnerships are outside the "
           f"{'adjusted ' if adjusted else ''}99.8% limits."
           + (f" {off_chart} partnership(s) with rates above {format_number(top, 0)} per 1,000 are beyond the "
              "top of the chart." if off_chart else ""))
    return Chart(fig, alt, no_counts="rates of whole partnerships' populations, from "
                 "published Home Office figures")
