"""Change between two periods, in numbers and in words.

Every sentence is written from the same numbers as the table beside it, so a
published plan can no longer say "a 34% increase" for 2,258 -> 2,683 (18.8%).
Numbers keep full precision; rounding happens only when text is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from sa_lib.errors import OptionError
from sa_lib.periods import Window, _month_series, window_totals
from sa_lib.rounding import format_number
from sa_lib.stats.significance import (
    EXACT_POISSON,
    MIN_MONTHS_PER_WINDOW,
    TOO_FEW_MONTHS,
    window_change_test,
)

__all__ = [
    "Change",
    "pct_change",
    "format_count",
    "format_pct",
    "change_significance",
    "change_sentence",
    "change_table",
    "compare_windows",
    "SIGNIFICANT",
    "NOT_COMPARED",
    "NOT_SIGNIFICANT",
]

#: ``direction``/``significance`` of a row whose windows are incomplete (see compare_windows).
NOT_COMPARED = "not compared"
SIGNIFICANT = "statistically significant"
NOT_SIGNIFICANT = "within normal variation"
Direction = Literal["increase", "decrease", "no change"]


@dataclass(frozen=True)
class Change:
    """The change from ``previous`` to ``current``.

    ``pct_change`` is a full-precision percentage (``22.34...`` for +22.34%), or
    ``None`` when ``previous`` is zero (a percentage of nothing is undefined).
    """

    previous: float
    current: float
    difference: float
    pct_change: float | None
    direction: Direction


def _check_count(x: object, name: str) -> float:
    if isinstance(x, bool) or not isinstance(x, int | float | np.integer | np.floating):
        raise OptionError(f"{name} must be a number, got {x!r}")
    if np.isnan(x):
        raise OptionError(f"{name} is missing (NaN); a change needs both values")
    if x < 0:
        raise OptionError(f"{name} must not be negative, got {x!r}")
    return x


def pct_change(previous: float, current: float) -> Change:
    """Difference, percentage change and direction from ``previous`` to ``current``.

    Examples
    --------
    >>> c = pct_change(282, 345)
    >>> c.difference, round(c.pct_change, 2), c.direction
    (63, 22.34, 'increase')
    >>> pct_change(0, 5).pct_change is None
    True
    """
    previous = _check_count(previous, "previous")
    current = _check_count(current, "current")
    diff = current - previous
    pct = None if previous == 0 else diff / previous * 100
    direction: Direction = "increase" if diff > 0 else "decrease" if diff < 0 else "no change"
    return Change(previous, current, diff, pct, direction)


def format_count(x: float) -> str:
    """A count with thousands separators: ``3588 -> "3,588"`` (non-integers to 1 d.p.).

    Examples
    --------
    >>> format_count(3588), format_count(12.25)
    ('3,588', '12.3')
    """
    if float(x).is_integer():
        return f"{int(x):,}"
    return format_number(x, 1)


def format_pct(x: float, decimals: int = 1) -> str:
    """A percentage rounded half-up for text: ``22.34 -> "22.3%"``.

    Examples
    --------
    >>> format_pct(22.34), format_pct(18.8219), format_pct(0.25)
    ('22.3%', '18.8%', '0.3%')
    """
    return f"{format_number(abs(x), decimals)}%"


def change_significance(
    previous: float | np.ndarray | pd.Series,
    current: float | np.ndarray | pd.Series,
    alpha: float = 0.05,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact conditional test that two Poisson counts have the same rate.

    Given ``previous + current = n``, under equal rates (and equal exposure, e.g.
    two 12-month windows) ``current`` is Binomial(n, 1/2).  The two-sided
    p-value doubles the smaller tail (exact for a symmetric binomial), capped
    at 1.  This is statsmodels' ``test_poisson_2indep(method="exact-cond")``.

    Parameters
    ----------
    previous, current : int or array-like of int
        Counts for the two periods.
    alpha : float, default 0.05
        Significance level.

    Returns
    -------
    p_value : ndarray of float
    label : ndarray of str
        ``"statistically significant"`` when ``p_value < alpha``, else
        ``"within normal variation"``.

    Examples
    --------
    >>> p, label = change_significance(282, 345)
    >>> round(float(p[0]), 4), label[0]
    (0.0132, 'statistically significant')
    >>> change_significance(3588, 3697)[1][0]
    'within normal variation'
    """
    if not 0 < alpha < 1:
        raise OptionError(f"alpha must be between 0 and 1, got {alpha!r}")
    prev = np.atleast_1d(np.asarray(previous, dtype=float))
    curr = np.atleast_1d(np.asarray(current, dtype=float))
    if prev.shape != curr.shape:
        raise OptionError("previous and current must have the same length")
    bad = np.isnan(prev) | np.isnan(curr) | (prev < 0) | (curr < 0) | (prev % 1 != 0) | (curr % 1 != 0)
    if bad.any():
        raise OptionError("the significance test needs whole, non-negative counts")
    n = prev + curr
    lower = stats.binom.cdf(curr, n, 0.5)
    upper = stats.binom.sf(curr - 1, n, 0.5)
    p = np.minimum(1.0, 2 * np.minimum(lower, upper))
    p = np.where(n == 0, 1.0, p)
    label = np.where(p < alpha, SIGNIFICANT, NOT_SIGNIFICANT).astype(object)
    return p, label


def change_sentence(
    subject: str,
    previous: float,
    current: float,
    period: str | Window | None = None,
    comparison: str = "the previous 12 months",
    unit: str = "offences",
    min_base: int = 10,
    decimals: int = 1,
    significance: bool = False,
    alpha: float = 0.05,
) -> str:
    """A sentence describing the change from ``previous`` to ``current``.

    Rules: a rise says "increased by X% (from a to b unit, n more)"; a fall says
    "decreased by X% (from a to b unit, n fewer)"; equal values say "showed no
    change"; ``previous == 0`` gives no percentage ("were up from 0 to 5"); a
    ``previous`` below ``min_base`` gives counts only, as a percentage of a
    small number misleads.

    Parameters
    ----------
    subject : str
        What is counted, as the sentence should start, e.g. ``"Drug offences"``.
    previous, current : number
        The two counts.
    period : str or Window, optional
        The current window, e.g. ``"Nov 2015 – Oct 2016"``.
    comparison : str, default "the previous 12 months"
        What the current window is compared with.
    unit : str, default "offences"
        Unit written after the counts ("incidents", "admissions"...).
    min_base : int, default 10
        Below this ``previous`` value no percentage is written.
    decimals : int, default 1
        Decimal places of the percentage.
    significance : bool, default False
        Add a second sentence saying whether the change is statistically
        significant (exact Poisson test, see :func:`change_significance`).
    alpha : float, default 0.05
        Significance level.

    Examples
    --------
    >>> change_sentence("Drug offences", 282, 345, "Nov 2015 – Oct 2016")
    'Drug offences increased by 22.3% (from 282 to 345 offences, 63 more) in Nov 2015 – Oct 2016 compared with the previous 12 months.'
    >>> change_sentence("Needle exchanges", 538, 422, "2016", "2015", unit="exchanges")
    'Needle exchanges decreased by 21.6% (from 538 to 422 exchanges, 116 fewer) in 2016 compared with 2015.'
    >>> change_sentence("Robbery", 0, 5, "2025", "2024")
    'Robbery was up from 0 to 5 offences (5 more) in 2025 compared with 2024.'
    """
    if not isinstance(min_base, int) or min_base < 0:
        raise OptionError(f"min_base must be a non-negative whole number, got {min_base!r}")
    c = pct_change(previous, current)
    when = ""
    if period is not None:
        when = f" in {period}"
    if comparison:
        when += f" compared with {comparison}"
    a, b = format_count(c.previous), format_count(c.current)
    n = format_count(abs(c.difference))
    more_fewer = "more" if c.direction == "increase" else "fewer"
    if c.direction == "no change":
        text = f"{subject} showed no change ({b} {unit} in both periods){when}."
    elif c.pct_change is None:
        text = f"{subject} {_was(subject)} up from {a} to {b} {unit} ({n} more){when}."
    elif c.previous < min_base:
        verb = "increased" if c.direction == "increase" else "decreased"
        text = f"{subject} {verb} from {a} to {b} {unit} ({n} {more_fewer}){when}."
    else:
        verb = "increased" if c.direction == "increase" else "decreased"
        pct = format_pct(c.pct_change, decimals)
        text = f"{subject} {verb} by {pct} (from {a} to {b} {unit}, {n} {more_fewer}){when}."
    if significance:
        _, label = change_significance(c.previous, c.current, alpha)
        text += (" This change is statistically significant."
                 if label[0] == SIGNIFICANT else " This change is within normal variation.")
    return text


def _was(subject: str) -> str:
    # "Drug offences were up", "Robbery was up": a plural subject ends in s.
    last = subject.split()[-1].lower() if subject.split() else ""
    return "were" if last.endswith("s") and not last.endswith("ss") else "was"


def change_table(
    data: pd.DataFrame,
    category: str = "category",
    previous: str = "previous",
    current: str = "current",
    period: str | Window | None = None,
    comparison: str = "the previous 12 months",
    unit: str | pd.Series | dict[str, str] = "offences",
    min_base: int = 10,
    alpha: float = 0.05,
    sort_by: Literal["input", "abs_difference", "difference", "pct_change", "current"] = "input",
    tests: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Change for many categories at once: one row per category.

    Parameters
    ----------
    data : DataFrame
        One row per category with its previous and current counts.
    category, previous, current : str
        Column names.
    period, comparison, unit, min_base, alpha
        As for :func:`change_sentence`; ``unit`` may be a Series aligned with
        ``data``, or a dict of category -> unit (key ``"default"`` for the rest).
    sort_by : str, default "input"
        ``"abs_difference"`` lists the largest movers first; ``"difference"``,
        ``"pct_change"`` and ``"current"`` sort descending; ``"input"`` keeps order.
    tests : DataFrame, optional
        The test of each row, one row per row of ``data`` in the same order, with
        ``p_value``, ``test`` and ``dispersion`` columns, e.g. from
        :func:`sa_lib.stats.significance.window_change_test` on the monthly
        counts (:func:`compare_windows` does this).  Default: only the totals are
        known, so the exact Poisson test on them (:func:`change_significance`),
        with ``test`` "exact Poisson (window totals only)".

    Returns
    -------
    DataFrame
        ``category, previous, current, difference, pct_change`` (float, NaN when
        previous is 0), ``direction``, ``small_base`` (previous below
        ``min_base``), ``p_value``, ``significance`` (``p_value < alpha``),
        ``test`` (which test gave the p-value), ``dispersion`` (the quasi-Poisson
        dispersion, NaN for an exact test) and ``sentence``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"category": ["Drug offences", "Robbery"],
    ...                    "previous": [282, 6], "current": [345, 4]})
    >>> t = change_table(df, period="Nov 2015 – Oct 2016")
    >>> t[["category", "difference", "direction", "significance"]]
            category  difference direction               significance
    0  Drug offences          63  increase  statistically significant
    1        Robbery          -2  decrease    within normal variation
    """
    for col in (category, previous, current):
        if col not in data.columns:
            raise OptionError(f"column {col!r} not found; columns are {list(data.columns)}")
    sorts = ("input", "abs_difference", "difference", "pct_change", "current")
    if sort_by not in sorts:
        raise OptionError(f"sort_by must be one of {sorts}, got {sort_by!r}")
    prev = pd.to_numeric(data[previous], errors="coerce")
    curr = pd.to_numeric(data[current], errors="coerce")
    bad = prev.isna() | curr.isna() | (prev < 0) | (curr < 0)
    if bad.any():
        first = data.loc[bad, category].iloc[0]
        raise OptionError(
            f"{int(bad.sum())} row(s) have a missing or negative count "
            f"(first: {category}={first!r}); every category needs both counts"
        )
    out = pd.DataFrame({
        "category": data[category].to_numpy(),
        "previous": data[previous].to_numpy(),
        "current": data[current].to_numpy(),
    })
    out["difference"] = out["current"] - out["previous"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["pct_change"] = np.where(prev.to_numpy() == 0, np.nan,
                                     out["difference"] / prev.to_numpy() * 100)
    out["direction"] = np.select(
        [out["difference"] > 0, out["difference"] < 0], ["increase", "decrease"], "no change"
    )
    out["small_base"] = prev.to_numpy() < min_base
    if tests is None:
        out["p_value"], out["significance"] = change_significance(prev.to_numpy(), curr.to_numpy(),
                                                                  alpha)
        out["test"] = f"{EXACT_POISSON} (window totals only)"
        out["dispersion"] = np.nan
    else:
        missing = [c for c in ("p_value", "test", "dispersion") if c not in tests.columns]
        if missing or len(tests) != len(out):
            raise OptionError(f"tests must have one row per row of data ({len(out)}) and columns "
                              f"p_value, test and dispersion; got {len(tests)} row(s), "
                              f"missing {missing}")
        if not 0 < alpha < 1:
            raise OptionError(f"alpha must be between 0 and 1, got {alpha!r}")
        out["p_value"] = pd.to_numeric(tests["p_value"]).to_numpy(dtype=float)
        out["significance"] = np.where(out["p_value"] < alpha, SIGNIFICANT,
                                       NOT_SIGNIFICANT).astype(object)
        out["test"] = tests["test"].to_numpy(dtype=object)
        out["dispersion"] = pd.to_numeric(tests["dispersion"]).to_numpy(dtype=float)
    if isinstance(unit, pd.Series):
        units = list(unit.to_numpy())
    elif isinstance(unit, dict):
        units = [unit.get(cat, unit.get("default", "offences")) for cat in out["category"]]
    else:
        units = [unit] * len(out)
    out["sentence"] = [
        change_sentence(str(cat), p, c, period, comparison, u, min_base)
        for cat, p, c, u in zip(out["category"], prev, curr, units, strict=True)
    ]
    if sort_by == "abs_difference":
        out = out.iloc[np.argsort(-out["difference"].abs().to_numpy(), kind="stable")]
    elif sort_by != "input":
        out = out.sort_values(sort_by, ascending=False, kind="stable", na_position="last")
    return out.reset_index(drop=True)


def compare_windows(
    counts: pd.DataFrame,
    current: Window,
    previous: Window,
    value: str = "count",
    month: str = "month",
    by: str = "crime_type",
    withhold_incomplete: bool = False,
    min_months: int = MIN_MONTHS_PER_WINDOW,
    **table_options: object,
) -> pd.DataFrame:
    """Total two windows per category and build their :func:`change_table`.

    The change is tested on the monthly counts, not on the two totals
    (:func:`sa_lib.stats.significance.window_change_test`): a quasi-Poisson
    model whose dispersion comes from the months of both windows, so ordinary
    month-to-month variation is not called a significant change.  Where a
    window has fewer than ``min_months`` months with data, or no record at all,
    the exact Poisson test on the totals is used instead; the ``test`` column
    says which test each row had and why.  A month with data for any category
    but no row for this one counts as 0; a month never loaded is left out.

    Missing months are never counted as zero silently: the result carries
    ``current_complete``, ``previous_complete`` and the missing months of each
    window, so a report can refuse or caveat an incomplete comparison.  With
    ``withhold_incomplete=True`` it refuses: when either window has months
    with no data, ``difference``, ``pct_change`` and ``p_value`` are NaN,
    ``direction`` and ``significance`` are ``"not compared"`` and the sentence
    says why, so no part-window total is ever read as a change.

    Parameters
    ----------
    counts : DataFrame
        Tidy monthly counts (``month``, ``by`` and ``value`` columns).
    current, previous : Window
        The two windows; the sentence uses ``current.label`` and
        ``previous.label`` unless ``period``/``comparison`` are given.
    min_months : int, default 3
        Fewest months with data in each window for the quasi-Poisson test.
    **table_options
        Passed to :func:`change_table`.

    Examples
    --------
    >>> import pandas as pd
    >>> from sa_lib.periods import month_window
    >>> c = pd.DataFrame({"month": ["2024-01", "2025-01"], "crime_type": ["Drugs"] * 2,
    ...                   "count": [10, 15]})
    >>> t = compare_windows(c, month_window("2025-01", "2025-01"), month_window("2024-01", "2024-01"))
    >>> t[["category", "previous", "current", "current_complete", "test"]]
      category  previous  current  current_complete                            test
    0    Drugs        10       15              True  exact Poisson (too few months)
    """
    cur = window_totals(counts, current, value, month, by)
    prev = window_totals(counts, previous, value, month, by)
    wide = cur[[by, "total"]].merge(prev[[by, "total"]], on=by, suffixes=("_current", "_previous"))
    table_options.setdefault("period", current.label)
    table_options.setdefault("comparison", previous.label)
    tests = _monthly_tests(counts, current, previous, value, month, by, wide[by], min_months)
    table = change_table(wide, category=by, previous="total_previous", current="total_current",
                         tests=tests, **table_options)
    table["current_window"] = current.label
    table["previous_window"] = previous.label
    table["current_complete"] = bool(cur["complete"].iloc[0]) if len(cur) else False
    table["previous_complete"] = bool(prev["complete"].iloc[0]) if len(prev) else False
    table["current_missing_months"] = cur["missing_months"].iloc[0] if len(cur) else ""
    table["previous_missing_months"] = prev["missing_months"].iloc[0] if len(prev) else ""
    if withhold_incomplete and not (table["current_complete"].all() and
                                    table["previous_complete"].all()):
        gaps = [f"{w.label} has no data for {_month_list(m)}" for w, m, ok in (
            (previous, table["previous_missing_months"].iloc[0], table["previous_complete"].iloc[0]),
            (current, table["current_missing_months"].iloc[0], table["current_complete"].iloc[0]))
            if not ok]
        for col in ("difference", "pct_change", "p_value", "dispersion"):
            table[col] = np.nan
        table["direction"] = NOT_COMPARED
        table["significance"] = NOT_COMPARED
        table["test"] = NOT_COMPARED
        table["sentence"] = [f"{c}: not compared, because " + " and ".join(gaps) + "."
                             for c in table["category"]]
    return table


def _monthly_tests(counts: pd.DataFrame, current: Window, previous: Window, value: str,
                   month: str, by: str, groups: pd.Series, min_months: int) -> pd.DataFrame:
    """:func:`window_change_test` of each group's months in the two windows, in ``groups`` order.

    Every month with data (for any group) is a month of every group: a group
    with no row for it had no records, as :func:`~sa_lib.periods.window_totals`
    counts it.
    """
    months = _month_series(counts[month], month)
    index = pd.Index(groups)
    parts = []
    for window, is_current in ((previous, False), (current, True)):
        inside = ((months >= window.start) & (months <= window.end)).to_numpy()
        present = sorted(set(months[inside]))
        sel = pd.DataFrame({"_g": index.get_indexer(counts.loc[inside, by]),
                            "_m": months[inside].to_numpy(),
                            "_y": counts.loc[inside, value].to_numpy()})
        sums = sel[sel["_g"] >= 0].groupby(["_g", "_m"])["_y"].sum()
        grid = pd.MultiIndex.from_product([range(len(index)), present], names=["_g", "_m"])
        parts.append(pd.DataFrame({"_g": grid.get_level_values("_g"),
                                   "_y": sums.reindex(grid, fill_value=0).to_numpy(),
                                   "_current": is_current}))
    monthly = pd.concat(parts, ignore_index=True)
    monthly["_current"] = monthly["_current"].astype(bool)
    res = window_change_test(monthly, group="_g", value="_y", current="_current",
                             min_months=min_months).set_index("_g")
    res = res.reindex(range(len(index)))
    # A group with no month in either window (only when no month was loaded): nothing to test.
    none = res["p_value"].isna()
    res.loc[none, "p_value"] = 1.0
    res.loc[none, "test"] = f"{EXACT_POISSON} ({TOO_FEW_MONTHS})"
    return res.reset_index(drop=True)


def _month_list(missing: object) -> str:
    """'8 months (May 2024 – Dec 2024)' from window_totals' comma-separated missing months."""
    months = sorted(pd.Period(m.strip(), "M") for m in str(missing or "").split(",") if m.strip())
    if not months:
        return "some months"
    runs: list[list[pd.Period]] = [[months[0]]]
    for m in months[1:]:
        if (m - runs[-1][-1]).n == 1:
            runs[-1].append(m)
        else:
            runs.append([m])
    parts = [f"{r[0]:%b %Y}" if len(r) == 1 else f"{r[0]:%b %Y} – {r[-1]:%b %Y}" for r in runs]
    n = len(months)
    return f"{n} month{'s' if n != 1 else ''} ({', '.join(parts)})"
