"""Where crime happens: counts, rates, shares and changes by LSOA (pure, no file IO).

Every police.uk record carries the Lower layer Super Output Area (LSOA) of its
snapped location.  These functions turn records into one row per LSOA:

- :func:`lsoa_counts`: records in the current and previous comparison windows;
- :func:`lsoa_profile`: each LSOA's share of the area's crime and its rate per
  1,000 residents (2011 Census usual residents; an LSOA whose code is not a 2011
  code, e.g. one created in 2021, gets no rate);
- :func:`concentration`: the share of crime in the top 5% of LSOAs;
- :func:`significant_lsoa_changes`: an exact Poisson test per LSOA on the window
  totals (exposures: the windows' months), kept only where it stays significant
  after a Holm correction for the number of LSOAs tested.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from sa_lib.errors import OptionError
from sa_lib.periods import Window
from sa_lib.stats.significance import exact_poisson_test

__all__ = ["lsoa_counts", "lsoa_profile", "concentration", "significant_lsoa_changes",
           "TOP_SHARE", "MULTIPLE_TESTING"]

#: The share of LSOAs whose crime the concentration measure adds up (the top 5%).
TOP_SHARE = 0.05
#: The multiple-testing correction applied to the per-LSOA tests (statsmodels' name).
MULTIPLE_TESTING = "holm"


def _in(month: pd.Series, w: Window) -> pd.Series:
    return (month >= w.start) & (month <= w.end)


def lsoa_counts(records: pd.DataFrame, current: Window, previous: Window) -> pd.DataFrame:
    """Records per LSOA in two windows.

    Every LSOA with a record in any loaded month is listed (0 where it has none
    in a window), so the area's LSOAs are those its records fall in.  Records
    without an LSOA (no location) are left out.

    Parameters
    ----------
    records : DataFrame
        ``month`` (monthly Period), ``lsoa_code``, ``lsoa_name``.
    current, previous : Window
        The comparison windows.

    Returns
    -------
    DataFrame
        ``lsoa_code, lsoa_name, previous, current``, sorted by current count
        (largest first), then code.

    Examples
    --------
    >>> from sa_lib.periods import month_window
    >>> r = pd.DataFrame({"month": pd.PeriodIndex(["2024-01", "2025-01", "2025-01", "2023-05"],
    ...                                             freq="M"),
    ...                   "lsoa_code": ["A", "A", "B", "C"], "lsoa_name": ["a", "a", "b", "c"]})
    >>> lsoa_counts(r, month_window("2025-01", "2025-01"), month_window("2024-01", "2024-01"))
      lsoa_code lsoa_name  previous  current
    0         A         a         1        1
    1         B         b         0        1
    2         C         c         0        0
    """
    need = ["month", "lsoa_code", "lsoa_name"]
    missing = [c for c in need if c not in records.columns]
    if missing:
        raise OptionError(f"lsoa_counts: records are missing column(s) {missing}")
    code = records["lsoa_code"].astype("string").fillna("").str.strip()
    r = pd.DataFrame({"month": records["month"], "lsoa_code": code,
                      "lsoa_name": records["lsoa_name"].astype("string").fillna("")})
    r = r[r["lsoa_code"] != ""]
    names = r.groupby("lsoa_code")["lsoa_name"].last()
    out = pd.DataFrame({"lsoa_code": names.index.astype(str), "lsoa_name": names.to_numpy()})
    for col, w in (("previous", previous), ("current", current)):
        n = r.loc[_in(r["month"], w)].groupby("lsoa_code").size()
        out[col] = out["lsoa_code"].map(n).fillna(0).astype(int)
    out["lsoa_name"] = out["lsoa_name"].astype(str)
    return out.sort_values(["current", "lsoa_code"], ascending=[False, True],
                           kind="stable").reset_index(drop=True)


def lsoa_profile(counts: pd.DataFrame, residents: pd.Series, column: str = "current"
                 ) -> pd.DataFrame:
    """Each LSOA's share of the area's crime and its rate per 1,000 residents.

    Parameters
    ----------
    counts : DataFrame
        From :func:`lsoa_counts`.
    residents : Series
        Usual residents indexed by 2011 LSOA code.  An LSOA not in it (a 2021
        code) gets no residents and no rate (NaN).
    column : str, default "current"
        The count the shares and rates are of.

    Returns
    -------
    DataFrame
        ``counts`` plus ``share_pct`` (of the area's total, %), ``residents``
        and ``rate_per_1000``; sorted by count, largest first.

    Examples
    --------
    >>> c = pd.DataFrame({"lsoa_code": ["A", "B", "N"], "lsoa_name": ["a", "b", "n"],
    ...                   "previous": [1, 1, 1], "current": [30, 10, 10]})
    >>> p = lsoa_profile(c, pd.Series({"A": 1500, "B": 2000}))
    >>> p[["lsoa_code", "share_pct", "residents", "rate_per_1000"]]
      lsoa_code  share_pct  residents  rate_per_1000
    0         A       60.0     1500.0           20.0
    1         B       20.0     2000.0            5.0
    2         N       20.0        NaN            NaN
    """
    if column not in counts.columns:
        raise OptionError(f"lsoa_profile: counts have no column {column!r}")
    out = counts.copy()
    total = float(out[column].sum())
    out["share_pct"] = out[column] / total * 100 if total else np.nan
    res = pd.to_numeric(out["lsoa_code"].map(residents), errors="coerce")
    out["residents"] = res.where(res > 0)
    out["rate_per_1000"] = out[column] / out["residents"] * 1000
    return out.sort_values([column, "lsoa_code"], ascending=[False, True],
                           kind="stable").reset_index(drop=True)


def concentration(counts: pd.Series | np.ndarray, top_share: float = TOP_SHARE
                  ) -> tuple[int, int, float]:
    """The share of crime in the top ``top_share`` of LSOAs (by count).

    The top group is ``ceil(top_share * n)`` LSOAs (at least one), so with 20
    LSOAs the top 5% is the single busiest LSOA.

    Parameters
    ----------
    counts : array-like
        One count per LSOA of the area (zeros included).
    top_share : float, default 0.05
        The fraction of LSOAs in the top group (0 < top_share <= 1).

    Returns
    -------
    (n_top, n_lsoas, share_pct)
        ``share_pct`` is NaN when there is no crime at all.

    Examples
    --------
    >>> concentration([10, 5, 5, 0] + [0] * 16)  # 20 LSOAs: the top 5% is 1 LSOA
    (1, 20, 50.0)
    >>> concentration([3] * 40)
    (2, 40, 5.0)
    """
    if not 0 < top_share <= 1:
        raise OptionError(f"concentration: top_share {top_share!r} must be in (0, 1]")
    c = np.sort(np.asarray(counts, dtype=float))[::-1]
    if not len(c):
        raise OptionError("concentration: no LSOAs")
    k = max(1, math.ceil(top_share * len(c) - 1e-9))
    total = c.sum()
    return k, len(c), float(c[:k].sum() / total * 100) if total else float("nan")


def significant_lsoa_changes(counts: pd.DataFrame, current_months: int, previous_months: int,
                             alpha: float = 0.05, method: str = MULTIPLE_TESTING
                             ) -> pd.DataFrame:
    """LSOAs whose count changed significantly, after correcting for the number of tests.

    Each LSOA's window totals are compared with :func:`exact_poisson_test` (the
    windows' months as exposures); the p-values of all LSOAs with a record in
    either window are adjusted together (``method``: Holm by default, or any
    :func:`statsmodels.stats.multitest.multipletests` method such as
    ``"fdr_bh"``), and only LSOAs whose adjusted p-value is below ``alpha`` are
    returned.

    Returns
    -------
    DataFrame
        ``counts``' columns plus ``difference``, ``p_value`` and
        ``p_adjusted``; largest absolute difference first.

    Examples
    --------
    >>> c = pd.DataFrame({"lsoa_code": ["A", "B", "C"], "lsoa_name": ["a", "b", "c"],
    ...                   "previous": [10, 40, 5], "current": [60, 38, 0]})
    >>> significant_lsoa_changes(c, 12, 12)[["lsoa_code", "difference"]]
      lsoa_code  difference
    0         A          50
    """
    if not 0 < alpha < 1:
        raise OptionError(f"significant_lsoa_changes: alpha {alpha!r} must be in (0, 1)")
    tested = counts[(counts["previous"] + counts["current"]) > 0].copy()
    cols = [*counts.columns, "difference", "p_value", "p_adjusted"]
    if tested.empty:
        return pd.DataFrame(columns=cols)
    p = exact_poisson_test(tested["previous"].to_numpy(), tested["current"].to_numpy(),
                           previous_months, current_months)
    tested["difference"] = tested["current"] - tested["previous"]
    tested["p_value"] = p
    tested["p_adjusted"] = multipletests(p, alpha=alpha, method=method)[1]
    out = tested[tested["p_adjusted"] < alpha]
    order = out["difference"].abs().sort_values(ascending=False, kind="stable").index
    return out.loc[order, cols].reset_index(drop=True)
