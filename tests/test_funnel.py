"""sa_lib.funnel: FunnelPlotR 0.6.0's figures, checked against its formulas worked by hand.

Every reference number here is computed step by step from FunnelPlotR's R source
(R/od_adjustment.R, R/calculate_limits.R, R/funnel_plot.R) with plain ``math`` and
``scipy.stats.chi2``, not with the module's helpers.  The numbers quoted from
FunnelPlotR's own tests (tests/testthat) are marked as such.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2

import sa_lib
from sa_lib.errors import OptionError
from sa_lib.stats.funnel_plot import _r_round, funnel

Z95, Z998 = 1.959964, 3.090232

# FunnelPlotR tests/testthat/test-funnel_plot.R and test-classes_methods.R
DT = pd.DataFrame({"num": [100, 150, 180, 80, 120, 225],
                   "denom": [108, 112, 165, 95, 100, 220],
                   "group": list("abcdef")})


def r_quantile7(values: list[float], p: float) -> float:
    """R quantile type 7 written out: 1-based index 1 + (n - 1) p, linear between."""
    xs = sorted(values)
    index = 1 + (len(xs) - 1) * p
    lo = math.floor(index)
    h = index - lo
    return xs[lo - 1] if h == 0 else (1 - h) * xs[lo - 1] + h * xs[lo]


def winsorised_phi(z: list[float], trim: float) -> tuple[float, list[float]]:
    lz, uz = r_quantile7(z, trim), r_quantile7(z, 1 - trim)
    w = [min(max(v, lz), uz) for v in z]
    return sum(v * v for v in w) / len(w), w


def dl_tau2(phi: float, s: list[float]) -> float:
    n = len(s)
    if n * phi < n - 1:
        return 0.0
    w = [1 / v**2 for v in s]
    return max(0.0, (n * phi - (n - 1)) / (sum(w) - sum(x * x for x in w) / sum(w)))


def test_sr_cqc_adjusted_worked_by_hand_with_corrected_back_transform() -> None:
    f = funnel(DT, "num", "denom", "group")
    o, e = DT["num"].tolist(), DT["denom"].tolist()
    z = [(math.sqrt(oi / ei) - 1) / (1 / (2 * math.sqrt(ei))) for oi, ei in zip(o, e, strict=True)]
    s = [1 / (2 * math.sqrt(ei)) for ei in e]
    phi, _ = winsorised_phi(z, 0.1)
    tau2 = dl_tau2(phi, s)
    assert phi > 1 and tau2 > 0
    assert f.attrs["adjusted"] is True and f.attrs["target"] == 1
    assert f.attrs["phi"] == pytest.approx(phi, rel=1e-12)
    assert f.attrs["tau2"] == pytest.approx(tau2, rel=1e-12)
    assert f["z"].tolist() == pytest.approx(z, rel=1e-12)
    for i, ei in enumerate(e):
        for tag, zq in (("95", Z95), ("998", Z998)):
            half = zq * math.sqrt(1 / (4 * ei) + tau2)
            # sqrt scale: 1 ± z sigma; back on the O/E scale: squared.
            assert f[f"lower_{tag}"].iloc[i] == pytest.approx((1 - half) ** 2, rel=1e-12)
            assert f[f"upper_{tag}"].iloc[i] == pytest.approx((1 + half) ** 2, rel=1e-12)
            # ... not FunnelPlotR's 1 ± z sigma (its issue #33)
            assert f[f"upper_{tag}"].iloc[i] > 1 + half
    # b: sqrt scale z = 3.33 > adjusted 95% but not 99.8% half-width / sigma
    assert f["outlier_95"].tolist() == [0, 1, 0, 0, 0, 0]
    assert f["outlier_998"].tolist() == [0] * 6
    assert "CQC" in f.attrs["method"] and "over-dispersion" in f.attrs["method"]


def test_cqc_outliers_agree_with_the_sqrt_scale() -> None:
    f = funnel(DT, "num", "denom", "group", trim=0.05)
    tau2 = f.attrs["tau2"]
    for _, row in f.iterrows():
        sigma = math.sqrt(1 / (4 * row["denominator"]) + tau2)
        dev = math.sqrt(row["value"]) - 1
        assert row["outlier_95"] == (0 if abs(dev) <= Z95 * sigma else int(np.sign(dev)))


def test_cqc_lower_limit_truncated_at_zero_when_sqrt_scale_goes_negative() -> None:
    df = pd.DataFrame({"g": list("abcde"), "o": [0.0, 9, 30, 2, 1], "e": [1.2, 2, 3, 5, 4]})
    f = funnel(df, "o", "e", "g")
    assert f.attrs["adjusted"]
    half = Z998 * math.sqrt(1 / (4 * 1.2) + f.attrs["tau2"])
    assert half > 1
    assert f["lower_998"].iloc[0] == 0.0
    assert f["upper_998"].iloc[0] == pytest.approx((1 + half) ** 2, rel=1e-12)


def test_sr_shmi_matches_funnelplotr_phi_and_formulas() -> None:
    f = funnel(DT, "num", "denom", "group", sr_method="SHMI")
    # FunnelPlotR tests/testthat/test-classes_methods.R: round(phi, 6) == 2.948033
    assert round(f.attrs["phi"], 6) == 2.948033
    o, e = DT["num"].tolist(), DT["denom"].tolist()
    z = [math.sqrt(ei) * math.log(oi / ei) for oi, ei in zip(o, e, strict=True)]
    # 6 groups, k = 10: floor(rank * 10 / 7) runs 1..8, so nothing is truncated
    phi = sum(v * v for v in z) / 6
    tau2 = dl_tau2(phi, [1 / math.sqrt(ei) for ei in e])
    assert f.attrs["phi"] == pytest.approx(phi, rel=1e-12)
    assert f.attrs["tau2"] == pytest.approx(tau2, rel=1e-12)
    assert f["z"].tolist() == pytest.approx(z, rel=1e-12)
    for i, ei in enumerate(e):
        half = Z95 * math.sqrt(1 / ei + tau2)
        assert f["lower_95"].iloc[i] == pytest.approx(math.exp(-half), rel=1e-12)
        assert f["upper_95"].iloc[i] == pytest.approx(math.exp(half), rel=1e-12)
    # FunnelPlotR test-funnel_plot.R: unadjusted LCL95[5] > adjusted OD95LCL[5]
    unadjusted = funnel(DT, "num", "denom", "group", sr_method="SHMI", overdispersion=False)
    assert unadjusted["lower_95"].iloc[4] > f["lower_95"].iloc[4]


def test_shmi_truncation_and_rounding_of_expected() -> None:
    e = [10.123, 20.456, 30.789, 40.001, 50.5, 60.004, 70.0, 80.2, 90.3, 100.4, 110.5, 120.6]
    o = [5, 30, 28, 52, 40, 75, 61, 90, 88, 130, 100, 150]
    df = pd.DataFrame({"g": [f"g{i:02d}" for i in range(12)], "o": o, "e": e})
    f = funnel(df, "o", "e", "g", sr_method="SHMI")
    rounded = [10.12, 20.46, 30.79, 40.0, 50.5, 60.0, 70.0, 80.2, 90.3, 100.4, 110.5, 120.6]
    assert f["denominator"].tolist() == rounded
    z = [math.sqrt(ei) * math.log(oi / ei) for oi, ei in zip(o, rounded, strict=True)]
    # 12 groups, k = 10: floor(rank * 10 / 13) is 0 for rank 1 and 9 for rank 12: dropped
    order = sorted(range(12), key=lambda i: z[i])
    kept = [i for i in range(12) if i not in (order[0], order[-1])]
    phi = sum(z[i] ** 2 for i in kept) / len(kept)
    tau2 = dl_tau2(phi, [1 / math.sqrt(rounded[i]) for i in kept])
    assert f.attrs["phi"] == pytest.approx(phi, rel=1e-12)
    assert f.attrs["tau2"] == pytest.approx(tau2, rel=1e-12)
    assert f["z"].tolist() == pytest.approx(z, rel=1e-12)


def test_r_round_half_even_on_the_binary_value() -> None:
    # R >= 4.0.0: round(2.675, 2) = 2.67, round(0.125, 2) = 0.12, round(0.135, 2) = 0.14,
    # round(-1.555, 2) = -1.55 (1.555 is below 1.555 in binary)
    got = _r_round(np.array([2.675, 0.125, 0.135, -1.555, 12.3456, 0.0, 1e14 + 0.123]), 2)
    assert got.tolist() == [2.67, 0.12, 0.14, -1.55, 12.35, 0.0, 1e14 + 0.123]
    # away from floating-point ties it is Python's round (not numpy.round, which scales first)
    values = np.random.default_rng(13).uniform(0, 1000, 20_000)
    assert _r_round(values, 2).tolist() == [round(float(v), 2) for v in values]
    assert _r_round(np.array([0.015]), 2)[0] == round(0.015, 2) == 0.01 != np.round(0.015, 2)


def test_exact_poisson_limits_match_funnelplotr() -> None:
    df = pd.DataFrame({"g": list("abc"), "o": [15.0, 22, 29], "e": [15.0, 20, 30]})
    f = funnel(df, "o", "e", "g", overdispersion=False)
    # FunnelPlotR tests/testthat/test-poisson_limits.R
    assert [round(v, 7) for v in f["lower_95"]] == [0.5596924, 0.6108260, 0.6746958]
    assert [round(v, 6) for v in f["upper_95"]] == [1.649348, 1.544419, 1.427562]
    assert [round(v, 7) for v in f["lower_998"]] == [0.3862650, 0.4479107, 0.5289724]
    assert [round(v, 6) for v in f["upper_998"]] == [2.082907, 1.902094, 1.702771]
    e = np.array([15.0, 20, 30])
    assert f["upper_998"].to_numpy() == pytest.approx(chi2.ppf(0.999, 2 * (e + 1)) / 2 / e)
    assert f.attrs["adjusted"] is False and f.attrs["phi"] == 0 and f.attrs["tau2"] == 0
    assert "exact Poisson" in f.attrs["method"]


def _cqc_frame(z: list[float], e: float = 100.0) -> pd.DataFrame:
    # CQC z = 2 (sqrt(O) - sqrt(E)), so O = (sqrt(E) + z / 2)^2 gives the z wanted
    return pd.DataFrame({"g": [f"g{i}" for i in range(len(z))],
                         "o": [(math.sqrt(e) + v / 2) ** 2 for v in z], "e": e})


def test_phi_at_most_one_gives_exact_poisson_limits_but_tau2_still_reported() -> None:
    # n = 5, phi = 0.9: (n - 1) / n = 0.8 <= phi <= 1, so tau2 > 0 yet limits unadjusted
    f = funnel(_cqc_frame([1.5, -1.5, 0, 0, 0]), "o", "e", "g", trim=0)
    assert f.attrs["phi"] == pytest.approx(0.9, rel=1e-12)
    assert f.attrs["tau2"] == pytest.approx((5 * 0.9 - 4) / (2000 - 5 * 400**2 / 2000), rel=1e-9)
    assert f.attrs["adjusted"] is False
    assert f["lower_95"].iloc[0] == pytest.approx(chi2.ppf(0.025, 200) / 2 / 100, rel=1e-12)
    assert f["upper_95"].iloc[0] == pytest.approx(chi2.ppf(0.975, 202) / 2 / 100, rel=1e-12)
    assert "no over-dispersion" in f.attrs["method"]


def test_tau2_zero_when_n_phi_below_n_minus_one() -> None:
    f = funnel(_cqc_frame([1.0, -1.0, 0.5, -0.5, 0]), "o", "e", "g", trim=0)
    assert f.attrs["phi"] == pytest.approx(0.5, rel=1e-12)  # 5 * 0.5 < 4
    assert f.attrs["tau2"] == 0.0 and f.attrs["adjusted"] is False


def test_phi_just_above_one_adjusts() -> None:
    f = funnel(_cqc_frame([1.6, -1.6, 0, 0, 0]), "o", "e", "g", trim=0)
    phi = 2 * 1.6**2 / 5
    assert f.attrs["phi"] == pytest.approx(phi, rel=1e-12) and f.attrs["adjusted"] is True
    tau2 = (5 * phi - 4) / 1600
    assert f.attrs["tau2"] == pytest.approx(tau2, rel=1e-9)
    half = Z95 * math.sqrt(1 / 400 + tau2)
    assert f["upper_95"].iloc[0] == pytest.approx((1 + half) ** 2, rel=1e-9)


def test_winsorisation_boundaries() -> None:
    z = [-3.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 4.0]
    # n = 8, trim 0.1: index 1.7 and 7.3 (between order statistics)
    phi, w = winsorised_phi(z, 0.1)
    assert w[0] == pytest.approx(0.3 * -3 + 0.7 * -1) and w[-1] == pytest.approx(0.7 * 2 + 0.3 * 4)
    f = funnel(_cqc_frame(z), "o", "e", "g")
    assert f.attrs["phi"] == pytest.approx(phi, rel=1e-9)
    assert f["z"].tolist() == pytest.approx(z, abs=1e-9)  # z is reported unwinsorised
    # trim 0.25 with n = 5: index 2 and 4 exactly, the 2nd and 4th order statistics
    z5 = [-2.0, -1.0, 0.0, 1.0, 3.0]
    f = funnel(_cqc_frame(z5), "o", "e", "g", trim=0.25)
    assert f.attrs["phi"] == pytest.approx((1 + 1 + 0 + 1 + 1) / 5, rel=1e-9)


def test_proportion_worked_by_hand() -> None:
    # the data of FunnelPlotR's dev/workingout_binom.R
    num = [12, 30, 26, 50, 42, 71, 4, 29, 48, 36]
    den = [82, 98, 100, 125, 162, 151, 12, 100, 82, 99]
    df = pd.DataFrame({"unit": [f"u{i}" for i in range(10)], "n": num, "d": den})
    f = funnel(df, "n", "d", "unit", data_type="PR", sr_method="SHMI")  # method ignored
    target = sum(num) / sum(den)
    t = math.asin(math.sqrt(target))
    s = [1 / (2 * math.sqrt(d)) for d in den]
    z = [(math.asin(math.sqrt(a / b)) - t) / si for a, b, si in zip(num, den, s, strict=True)]
    phi, _ = winsorised_phi(z, 0.1)
    tau2 = dl_tau2(phi, s)
    order = sorted(range(10), key=lambda i: f"u{i}")
    assert f["group"].tolist() == [f"u{i}" for i in order]
    assert f.attrs["target"] == pytest.approx(target, rel=1e-15)
    assert f.attrs["phi"] == pytest.approx(phi, rel=1e-12) and f.attrs["adjusted"]
    assert f.attrs["tau2"] == pytest.approx(tau2, rel=1e-12)
    assert f["z"].tolist() == pytest.approx(z, rel=1e-12)
    for i, d in enumerate(den):
        sigma = math.sqrt(1 / (4 * d) + tau2)
        assert t - Z998 * sigma > 0  # no monotonicity correction needed here
        assert f["lower_998"].iloc[i] == pytest.approx(math.sin(t - Z998 * sigma) ** 2, rel=1e-12)
        assert f["upper_95"].iloc[i] == pytest.approx(math.sin(t + Z95 * sigma) ** 2, rel=1e-12)
        expected = 0 if f["lower_95"].iloc[i] <= num[i] / d <= f["upper_95"].iloc[i] else 1
        assert abs(f["outlier_95"].iloc[i]) == expected


def test_proportion_lower_limit_set_to_zero_where_the_angle_turns() -> None:
    # target 0.02: at n = 4 the 99.8% angle asin(sqrt(0.02)) - 3.09 / 4 is negative, so
    # sin^2 turns back up; FunnelPlotR's monotonicity correction sets it to 0.
    df = pd.DataFrame({"g": list("abcd"), "n": [0, 2, 20, 18], "d": [4, 40, 1000, 1000]})
    f = funnel(df, "n", "d", "g", data_type="PR", overdispersion=False)
    t = math.asin(math.sqrt(40 / 2044))
    assert t - Z998 / (2 * 2) < 0 and math.sin(t - Z998 / 4) ** 2 > 0
    assert f["lower_998"].iloc[0] == 0.0
    # at n = 1000 (the largest, last in the lookup) the angle is positive
    assert f["lower_998"].iloc[2] == pytest.approx(
        math.sin(t - Z998 / (2 * math.sqrt(1000))) ** 2, rel=1e-12)


def test_ratio_of_counts_worked_by_hand() -> None:
    num = [30, 45, 80, 20, 60, 95, 10, 50]
    den = [40, 40, 60, 35, 50, 70, 20, 45]
    df = pd.DataFrame({"g": list("abcdefgh"), "x": num, "y": den})
    f = funnel(df, "x", "y", "g", data_type="RC")
    target = sum(num) / sum(den)
    s = [math.sqrt(a / (a + 0.5) ** 2 + b / (b + 0.5) ** 2) for a, b in zip(num, den, strict=True)]
    z = [(math.log((a + 0.5) / (b + 0.5)) - math.log(target)) / si
         for a, b, si in zip(num, den, s, strict=True)]
    phi, _ = winsorised_phi(z, 0.1)
    tau2 = dl_tau2(phi, s)
    assert f["z"].tolist() == pytest.approx(z, rel=1e-12)
    assert f.attrs["phi"] == pytest.approx(phi, rel=1e-12)
    assert f.attrs["tau2"] == pytest.approx(tau2, rel=1e-12)
    lim_tau2 = tau2 if phi > 1 else 0.0
    for i, b in enumerate(den):
        # FunnelPlotR's RC limits use s = 1 / (2 sqrt(D)), not the z-score's s
        half = Z998 * math.sqrt(1 / (4 * b) + lim_tau2)
        assert f["lower_998"].iloc[i] == pytest.approx(target * math.exp(-half), rel=1e-12)
        assert f["upper_998"].iloc[i] == pytest.approx(target * math.exp(half), rel=1e-12)


def test_rows_sharing_a_group_are_summed() -> None:
    # FunnelPlotR tests/testthat/test-aggregate_fun.R
    df = pd.DataFrame({"numerator": [100, 150, 180, 89, 120, 225],
                       "denominator": [102, 135, 165, 95, 100, 220],
                       "group": list("aaabbc")})
    f = funnel(df, "numerator", "denominator", "group")
    assert f["group"].tolist() == ["a", "b", "c"]
    assert f["numerator"].tolist() == [430, 209, 225]
    assert f["denominator"].tolist() == [402, 195, 220]
    assert [round(v, 6) for v in f["value"]] == [1.069652, 1.071795, 1.022727]
    summed = pd.DataFrame({"numerator": [430, 209, 225], "denominator": [402, 195, 220],
                           "group": list("abc")})
    pd.testing.assert_frame_equal(f, funnel(summed, "numerator", "denominator", "group"))


def test_columns_attrs_public_name_and_caller_frame_untouched() -> None:
    before = DT.copy()
    f = sa_lib.funnel(DT, "num", "denom", "group")
    pd.testing.assert_frame_equal(DT, before)
    assert list(f.columns) == ["group", "numerator", "denominator", "value", "z", "lower_95",
                               "upper_95", "lower_998", "upper_998", "outlier_95",
                               "outlier_998"]
    assert set(f["outlier_95"]) <= {-1, 0, 1}
    assert {"phi", "tau2", "target", "adjusted", "method"} <= set(f.attrs)


@pytest.mark.parametrize(("kwargs", "frame", "named"), [
    ({"data_type": "XX"}, DT, "data_type"),
    ({"sr_method": "NHS"}, DT, "sr_method"),
    ({"trim": 0.5}, DT, "trim"),
    ({"trim": -0.1}, DT, "trim"),
    ({"trim": float("nan")}, DT, "trim"),
    ({"overdispersion": "yes"}, DT, "overdispersion"),
    ({"numerator": "missing"}, DT, "numerator"),
    ({"group": "nope"}, DT, "group"),
    ({}, DT.assign(num=[-1, 150, 180, 80, 120, 225]), "numerator"),
    ({}, DT.assign(denom=[108, np.inf, 165, 95, 100, 220]), "denominator"),
    ({}, DT.assign(denom=[0, 112, 165, 95, 100, 220]), "denominator"),
    ({}, DT.assign(group=["a", None, "c", "d", "e", "f"]), "group"),
    ({"data_type": "PR"}, DT, "numerator"),
    ({"sr_method": "SHMI"}, DT.assign(denom=[0.004, 112, 165, 95, 100, 220]), "denominator"),
])
def test_options_refused(kwargs: dict, frame: pd.DataFrame, named: str) -> None:
    args = {"numerator": "num", "denominator": "denom", "group": "group"}
    args.update(kwargs)
    with pytest.raises(OptionError, match=named):
        funnel(frame, **args)
