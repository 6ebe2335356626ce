"""Chapter 2's national funnel: over-dispersed limits of rates, the Poisson option, the text.

The limits are recomputed here from Spiegelhalter's (2005) formulas with numpy and scipy
(numpy's quantile for the winsorisation, chi2.ppf for the Poisson limits), not through
the code under test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy import stats

import sa_lib as sa
from sa_lib.data.home_office import csp_rates
from sa_lib.data.parameters import load_parameters
from sa_lib.errors import OptionError, ParameterError
from sa_lib.paths import PARAMETERS_DIR
from sa_lib.report.charts import funnel_chart
from sa_lib.stats.funnel import funnel_words, rate_funnel, rate_funnel_limits

BASE = yaml.safe_load((PARAMETERS_DIR / "2025.yaml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def rates() -> pd.DataFrame:
    return csp_rates()


def _by_hand(o: np.ndarray, pop: np.ndarray, overall: float) -> dict:
    """Spiegelhalter (2005) CQC: square-root z, 10% winsorised phi, DerSimonian-Laird tau2."""
    e = pop * overall / 1000
    z = (np.sqrt(o / e) - 1) * 2 * np.sqrt(e)
    lo, hi = np.quantile(z, [0.1, 0.9])
    zw = np.clip(z, lo, hi)
    n = len(z)
    phi = np.mean(zw ** 2)
    w = 4 * e
    tau2 = max(0.0, (n * phi - (n - 1)) / (w.sum() - (w ** 2).sum() / w.sum()))
    out = {"phi": phi, "tau2": tau2, "z": z}
    for tag, q in (("95", 1.959964), ("998", 3.090232)):
        half = q * np.sqrt(1 / (4 * e) + tau2)
        out[f"lower_{tag}"] = overall * np.clip(1 - half, 0, None) ** 2
        out[f"upper_{tag}"] = overall * (1 + half) ** 2
    for tag, a in (("95", 0.025), ("998", 0.001)):
        out[f"poisson_lower_{tag}"] = overall * stats.chi2.ppf(a, 2 * e) / (2 * e)
        out[f"poisson_upper_{tag}"] = overall * stats.chi2.ppf(1 - a, 2 * e + 2) / (2 * e)
    return out


def test_adjusted_limits_match_the_formulas(rates) -> None:
    overall = rates.attrs["overall_rate"]
    f = rate_funnel(rates, overall)
    hand = _by_hand(rates["offences"].to_numpy(float), rates["population"].to_numpy(float),
                    overall)
    assert f.attrs["adjusted"] and f.attrs["method"] == "overdispersed"
    assert f.attrs["phi"] == pytest.approx(hand["phi"], rel=1e-9)
    assert f.attrs["tau2"] == pytest.approx(hand["tau2"], rel=1e-9)
    assert f["csp_code"].tolist() == rates["csp_code"].tolist()
    np.testing.assert_allclose(f["z"], hand["z"], rtol=1e-9)
    for col in ("lower_95", "upper_95", "lower_998", "upper_998"):
        np.testing.assert_allclose(f[col], hand[col], rtol=1e-9)
    rate = rates["rate_per_1000"].to_numpy()
    np.testing.assert_allclose(f["rate"], rate, rtol=1e-12)
    outside = (rate < hand["lower_998"]) | (rate > hand["upper_998"])
    assert int((f["outlier_998"] != 0).sum()) == int(outside.sum()) == 4
    assert len(f) == 314


def test_poisson_option_gives_exact_poisson_limits(rates) -> None:
    overall = rates.attrs["overall_rate"]
    f = rate_funnel(rates, overall, method="poisson")
    hand = _by_hand(rates["offences"].to_numpy(float), rates["population"].to_numpy(float),
                    overall)
    assert not f.attrs["adjusted"]
    for tag in ("95", "998"):
        np.testing.assert_allclose(f[f"lower_{tag}"], hand[f"poisson_lower_{tag}"], rtol=1e-9)
        np.testing.assert_allclose(f[f"upper_{tag}"], hand[f"poisson_upper_{tag}"], rtol=1e-9)
    # Poisson limits put almost every partnership outside: the point
    assert int((f["outlier_998"] != 0).sum()) == 298
    grid = rate_funnel_limits(rates["population"], overall, adjusted=False)
    np.testing.assert_allclose(grid["lower_998"], hand["poisson_lower_998"], rtol=1e-9)


def test_grid_limits_are_the_per_partnership_limits(rates) -> None:
    overall = rates.attrs["overall_rate"]
    f = rate_funnel(rates, overall)
    grid = rate_funnel_limits(rates["population"], overall, f.attrs["tau2"])
    for col in ("lower_95", "upper_95", "lower_998", "upper_998"):
        np.testing.assert_allclose(grid[col], f[col], rtol=1e-12)


def test_maidstone_is_below_the_overall_rate_and_within_the_adjusted_limits(rates) -> None:
    f = rate_funnel(rates, rates.attrs["overall_rate"]).set_index("csp_code")
    m = f.loc["E22000142"]
    assert m["rate"] < rates.attrs["overall_rate"]
    assert funnel_words(m, True) == "within the adjusted 95% limits"


def test_rate_funnel_refuses_bad_options(rates) -> None:
    with pytest.raises(OptionError, match="method must be one of overdispersed, poisson"):
        rate_funnel(rates, 80.0, method="exact")
    with pytest.raises(OptionError, match="overall_rate must be a positive number"):
        rate_funnel(rates, 0.0)
    with pytest.raises(OptionError, match=r"missing column\(s\) \['offences'\]"):
        rate_funnel(rates.drop(columns="offences"), 80.0)


def test_chart_draws_the_method_and_is_deterministic(rates) -> None:
    overall = rates.attrs["overall_rate"]
    chart = funnel_chart(rates, "Maidstone", overall, "Crime", caption="Source: test")
    assert "within the adjusted 95% limits" in chart.alt_text
    assert "over-dispersion between partnerships" in chart.alt_text
    assert "4 of 314 partnerships are outside the adjusted 99.8% limits" in chart.alt_text
    assert chart.counts is None  # rates of whole partnerships, no small counts
    assert chart.to_png() == funnel_chart(rates, "Maidstone", overall, "Crime",
                                          caption="Source: test").to_png()
    poisson = funnel_chart(rates, "Maidstone", overall, "Crime", method="poisson")
    assert "outside the 99.8% Poisson limits (below them)" in poisson.alt_text
    assert "298 of 314 partnerships are outside the 99.8% limits" in poisson.alt_text
    with pytest.raises(OptionError, match="method must be one of"):
        funnel_chart(rates, "Maidstone", overall, "Crime", method="normal")
    plain = funnel_chart(rates, None, overall, "Crime")
    assert "The overall rate is 82.6 per 1,000." in plain.alt_text


def _params(tmp_path: Path, **benchmark: str) -> Path:
    data = yaml.safe_load(yaml.safe_dump(BASE))
    if benchmark:
        data["benchmark"] = benchmark
    p = tmp_path / "p.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return p


def test_benchmark_parameter(tmp_path: Path) -> None:
    assert load_parameters(_params(tmp_path)).benchmark.funnel == "overdispersed"
    assert load_parameters(_params(tmp_path, funnel="poisson")).benchmark.funnel == "poisson"
    with pytest.raises(ParameterError, match=r"benchmark\.funnel"):
        load_parameters(_params(tmp_path, funnel="normal"))


def test_chapter_text_is_true_to_the_corrected_benchmark(tmp_path: Path) -> None:
    ctx = sa.open_assessment(_params(tmp_path))
    text = ctx.crime.csp_comparison_text().data
    assert "\n" not in text  # one paragraph (the key findings quote it as a bullet)
    assert "78.1 per 1,000 residents (mid-2024 population)" in text
    assert "135th highest rate of 314 partnerships" in text
    assert ("all partnerships' crimes (5,102,703) over the mid-2024 population of England and "
            "Wales (61,806,682), is 82.6 per 1,000: Maidstone is below it, within the adjusted "
            "95% limits") in text
    assert "phi = 1,012.5, tau2 = 0.0156; 4 of 314 partnerships are outside the adjusted " \
        "99.8% limits." in text
    assert "Christchurch (an estimated 51,543 of the residents of Bournemouth, Christchurch " \
        "and Poole), which has no partnership row of its own" in text
    assert "real" not in text
    chart = ctx.crime.csp_funnel_chart()
    assert "Maidstone has 78.1 per 1,000" in chart.alt_text

    poisson = sa.open_assessment(_params(tmp_path, funnel="poisson"))
    text = poisson.crime.csp_comparison_text().data
    assert "Maidstone is below it, outside the 99.8% Poisson limits (below them)" in text
    assert ("298 of 314 partnerships are outside the 99.8% limits, so being outside them does "
            "not by itself mark a partnership out.") in text
    assert "real" not in text
