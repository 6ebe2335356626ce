"""Funnel plot: rate per 1,000 against population, one partnership highlighted."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import StrMethodFormatter

from sa_lib.errors import OptionError
from sa_lib.report.charts.base import Chart, plain_text_chart

__all__ = ["funnel_chart"]

@plain_text_chart
def funnel_chart(
    rates: pd.DataFrame,
    highlight: str,
    overall_rate: float,
    title: str,
    name_column: str = "csp_name",
    caption: str | None = None,
) -> Chart:
    """Funnel plot of rate per 1,000 against population, one partnership highlighted.

    Parameters
    ----------
    rates : DataFrame
        From :func:`sa_lib.csp_rates` (``population``, ``rate_per_1000`` and names).
    highlight : str
        The name (in ``name_column``) of the partnership to highlight.
    overall_rate : float
        Benchmark rate the 95% and 99.8% Poisson limits are drawn around.
    title : str
        Chart title.

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"csp_name": ["A", "B", "C"], "population": [1e5, 2e5, 3e5],
    ...                   "rate_per_1000": [70.0, 90.0, 80.0]})
    >>> funnel_chart(r, "B", 80.0, "Crime rate").alt_text.split(".")[0]
    'Funnel plot of Crime rate: 3 partnerships by population (x) and rate per 1,000 residents (y)'
    """
    from sa_lib.stats.funnel import funnel_limits, funnel_position

    data = rates.dropna(subset=["population", "rate_per_1000"])
    if highlight not in set(data[name_column]):
        raise OptionError(f"{highlight!r} is not among the partnerships with a rate")
    grid = np.linspace(data["population"].min() * 0.9, data["population"].max() * 1.05, 200)
    lim = funnel_limits(grid, overall_rate)
    fig = Figure(figsize=(8, 4.2), dpi=110)
    ax = fig.add_subplot()
    ax.scatter(data["population"], data["rate_per_1000"], s=12, color="#9b9b9b",
               edgecolors="none", label="Other partnerships")
    me = data[data[name_column] == highlight].iloc[0]
    ax.scatter([me["population"]], [me["rate_per_1000"]], s=50, color="#005eb8", zorder=3,
               label=highlight)
    ax.axhline(overall_rate, color="#231f20", linewidth=1, label="Overall rate")
    ax.plot(grid, lim["upper_95"], color="#231f20", linestyle="--", linewidth=0.9,
            label="95% limits")
    ax.plot(grid, lim["lower_95"], color="#231f20", linestyle="--", linewidth=0.9)
    ax.plot(grid, lim["upper_99_8"], color="#d5281b", linestyle=":", linewidth=1,
            label="99.8% limits")
    ax.plot(grid, lim["lower_99_8"], color="#d5281b", linestyle=":", linewidth=1)
    # A few city-centre partnerships (e.g. City of London) have rates many times the rest;
    # clip the axis so the funnel is readable, and say how many points are off the chart.
    top = float(max(data["rate_per_1000"].quantile(0.99), me["rate_per_1000"]) * 1.15)
    ax.set_ylim(0, top)
    off_chart = int((data["rate_per_1000"] > top).sum())
    ax.set_xlabel("Population")
    ax.set_ylabel("Offences per 1,000 residents")
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.set_title(title, loc="left", fontsize=11)
    ax.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.spines[["top", "right"]].set_visible(False)
    fig.subplots_adjust(bottom=0.2)
    if caption:
        fig.text(0.01, 0.01, caption, fontsize=7, color="#4c6272")
    where = funnel_position(float(me["rate_per_1000"]), float(me["population"]), overall_rate)
    alt = (f"Funnel plot of {title}: {len(data)} partnerships by population (x) and rate per "
           f"1,000 residents (y). {highlight} has {me['rate_per_1000']:.1f} per 1,000 "
           f"(population {me['population']:,.0f}), {where}; the overall rate is "
           f"{overall_rate:.1f} per 1,000."
           + (f" {off_chart} partnership(s) with rates above {top:.0f} per 1,000 are beyond the "
              "top of the chart." if off_chart else ""))
    return Chart(fig, alt)

