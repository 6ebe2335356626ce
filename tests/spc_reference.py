"""A deliberately literal, per-series port of NHSRplotthedots 0.2.2 used as a test oracle.

It follows the R code window by window (``ptd_spc_standard``,
``ptd_seven_point_one_side_mean``, ``ptd_seven_point_trend``, ``ptd_two_in_three``,
``ptd_special_cause_type``, ``ptd_point_type``) with plain Python loops, so that the
vectorised :func:`sa_lib.xmr` can be checked against an independent formulation.
"""

from __future__ import annotations

import math

import numpy as np


def _mean(xs: list[float]) -> float:
    xs = [x for x in xs if not math.isnan(x)]
    return sum(xs) / len(xs) if xs else math.nan


def _sign(x: float) -> float:
    if math.isnan(x):
        return math.nan
    return float((x > 0) - (x < 0))


def reference_segment(
    y: list[float], improvement: str = "increase", screen_outliers: bool = True,
    fix_after_n_points: int | None = None,
) -> dict[str, list]:
    n = len(y)
    fix_y = [v if (fix_after_n_points is None or i < fix_after_n_points) else math.nan
             for i, v in enumerate(y)]
    mean = _mean(fix_y)
    mr = [math.nan] + [abs(fix_y[i] - fix_y[i - 1]) for i in range(1, n)]
    amr = _mean(mr)
    if screen_outliers:
        mr = [m if (not math.isnan(m) and not math.isnan(amr) and m < 3.267 * amr) else math.nan
              for m in mr]
        amr = _mean(mr)
    lpl, upl = mean - 2.66 * amr, mean + 2.66 * amr
    nlpl, nupl = mean - 2 * 2.66 / 3 * amr, mean + 2 * 2.66 / 3 * amr
    # NA comparisons in R are NA, and case_when treats NA as FALSE.
    outside = [(v > upl or v < lpl) for v in y]
    rtm = [_sign(v - mean) for v in y]
    close = [(not o) and (v < nlpl or v > nupl) for v, o in zip(y, outside, strict=True)]
    r0 = [0.0 if math.isnan(r) else r for r in rtm]

    # ptd_seven_point_one_side_mean + ptd_part_of_seven_trend
    vp = [0.0] * 6 + r0
    seven_side = []
    for i in range(6, 6 + n):
        seven_side.append(1.0 if all(vp[i] == vp[i - k] for k in range(1, 7)) and vp[i] != 0 else 0.0)

    def part_of_seven(v: list[float]) -> list[bool]:
        p = v + [0.0] * 6
        return [any(abs(p[i + k]) == 1 for k in range(7)) for i in range(n)]

    # ptd_seven_point_trend (NaN steps break a trend)
    trend_end = [0.0] * n
    for i in range(6, n):
        d = [_sign(y[i - k] - y[i - k - 1]) for k in range(6)]
        if all(x == 1 for x in d):
            trend_end[i] = 1.0
        elif all(x == -1 for x in d):
            trend_end[i] = -1.0
    part_trend = part_of_seven(trend_end)
    part_side = part_of_seven(seven_side)

    # ptd_two_in_three + ptd_part_of_two_in_three
    cp = [0, 0] + [int(c) for c in close] + [0, 0]
    rp = [0.0, 0.0] + r0 + [0.0, 0.0]
    two = []
    for i in range(n):
        hit = any(
            sum(cp[i + s:i + s + 3]) >= 2 and abs(sum(rp[i + s:i + s + 3])) == 3 for s in range(3)
        )
        two.append(hit and close[i])

    sdy = [_sign(y[i + 1] - y[i]) for i in range(n - 1)]
    labels = []
    for i in range(n):
        if part_trend[i] and i + 1 < n and part_trend[i + 1]:
            s = sdy[i]
        else:
            s = sdy[i - 1] if i > 0 else 0.0
        side = "Above" if r0[i] > 0 else "Below"
        if outside[i]:
            labels.append("Above UCL" if r0[i] == 1 else "Below LCL")
        elif part_trend[i]:
            labels.append("7 Point Trend (Increasing)" if s == 1 else "7 Point Trend (Decreasing)")
        elif two[i]:
            labels.append(f"2 in 3 {side} CL")
        elif part_side[i]:
            labels.append(f"7 Points {side} CL")
        else:
            labels.append("Common Cause")
    direction = {"increase": 1, "decrease": -1, "neutral": 0}[improvement]
    types = []
    for lab in labels:
        v = 1 if ("Above" in lab or "Increasing" in lab) else (
            -1 if ("Below" in lab or "Decreasing" in lab) else 0)
        if direction == 0:
            types.append({1: "special_cause_neutral_high", -1: "special_cause_neutral_low"}.get(
                v, "common_cause"))
        else:
            types.append({1: "special_cause_improvement", -1: "special_cause_concern"}.get(
                v * direction, "common_cause"))
    return {
        "mean": [mean] * n,
        "lpl": [lpl] * n,
        "upl": [upl] * n,
        "special_cause_type": labels,
        "point_type": types,
    }


def reference_xmr(y: np.ndarray, rebase_at: list[int] | None = None, **kw: object) -> dict:
    """Run :func:`reference_segment` on each rebase segment (positions where segments start)."""
    starts = sorted({0, *(rebase_at or [])})
    bounds = [*starts, len(y)]
    out: dict[str, list] = {}
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        if a >= b:
            continue
        seg = reference_segment([float(v) for v in y[a:b]], **kw)
        for k, v in seg.items():
            out.setdefault(k, []).extend(v)
    return out
