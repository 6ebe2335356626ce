"""What every chapter shares: the table spec, the SYNTHETIC labels and the change-table helpers.

Kept apart from the chapters so that no chapter imports another: chapter 3
lays out its change tables exactly as chapter 2 does, and the key findings
quote the same sentences, through the functions here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sa_lib.data.parameters import TOTAL_CRIME, Parameters
from sa_lib.errors import OptionError
from sa_lib.periods import Window
from sa_lib.report.charts import Chart
from sa_lib.stats.change import NOT_COMPARED
from sa_lib.stats.significance import EXACT_POISSON, MIN_MONTHS_PER_WINDOW, QUASI_POISSON

__all__ = [
    "ASB",
    "SYNTHETIC_LABEL",
    "SYNTHETIC_NOTE",
    "TableSpec",
    "variation_phrase",
    "change_sums",
    "change_table_layout",
    "redact_small_counts",
    "significance_note",
    "with_significance",
    "with_total",
    "showing_counts",
    "no_data_for",
    "join_words",
]

ASB = "Anti-social behaviour"
#: Added to every title and note of a table or chart built from synthetic partner data.
SYNTHETIC_LABEL = "SYNTHETIC data"
SYNTHETIC_NOTE = ("SYNTHETIC: these partner figures come from the seeded generator "
                  "sa_lib.data.synthetic, not from any real partner return.")
_VARIATION_WORDS = {
    "common_cause": "shows only common-cause variation (no sign of real change)",
    "special_cause_improvement": "shows special-cause variation in the improving direction",
    "special_cause_concern": "shows special-cause variation of concern",
    "special_cause_neutral_high": "shows special-cause variation: unusually high",
    "special_cause_neutral_low": "shows special-cause variation: unusually low",
}


@dataclass
class TableSpec:
    """A table with what the publisher needs to write and show it."""

    df: pd.DataFrame
    name: str
    title: str
    note: str = ""
    sensitive: bool = False
    confidential: bool = False


def variation_phrase(variation_type: str) -> str:
    """Plain words for an SPC ``variation_type`` (the latest point's type).

    Examples
    --------
    >>> variation_phrase("common_cause")
    'shows only common-cause variation (no sign of real change)'
    """
    try:
        return _VARIATION_WORDS[variation_type]
    except KeyError:
        raise OptionError(f"unknown variation_type {variation_type!r}; "
                          f"expected one of {list(_VARIATION_WORDS)}") from None


def with_total(counts: pd.DataFrame) -> pd.DataFrame:
    """Monthly counts plus a 'Total crime (excluding ASB)' series."""
    crimes = counts[counts["crime_type"] != ASB]
    total = crimes.groupby(["month", "area"], as_index=False)["count"].sum()
    return pd.concat([total.assign(crime_type=TOTAL_CRIME), counts], ignore_index=True)


def change_table_layout(t: pd.DataFrame, params: Parameters) -> pd.DataFrame:
    """A :func:`~sa_lib.stats.change.compare_windows` result in the published layout."""
    prev, cur = params.previous_window.label, params.current_window.label
    out = pd.DataFrame({
        "crime type": t["category"],
        prev: t["previous"],
        cur: t["current"],
        "difference": t["difference"],
        "% change": t["pct_change"].round(1),
        "significance": t["significance"],
        "test": t["test"],
    })
    out.attrs["count_columns"] = [prev, cur]
    out.attrs["derived"] = {c: [prev, cur] for c in ("difference", "% change", "significance",
                                                       "test")}
    # The total row adds up the rows below it: without this, a hidden small count
    # could be worked out as the total minus the visible rows.
    out.attrs["label_column"] = "crime type"
    out.attrs["sums"] = change_sums(t["category"])
    return out


def change_sums(categories: pd.Series) -> dict[str, list[str]]:
    """The total rows of a change table and the rows each adds up, in table order.

    "Total crime (excluding ASB)" adds up every crime type except ASB; a theme's
    "<theme>: all types" row adds up the theme's types.

    Examples
    --------
    >>> change_sums(pd.Series(["Total crime (excluding ASB)", "Anti-social behaviour",
    ...                        "Burglary", "Robbery"]))
    {'Total crime (excluding ASB)': ['Burglary', 'Robbery']}
    >>> change_sums(pd.Series(["Drugs"]))
    {}
    """
    cats = [str(c) for c in categories]
    out = {}
    for total in cats:
        if total == TOTAL_CRIME:
            out[total] = [c for c in cats if c not in (TOTAL_CRIME, ASB)]
        elif total.endswith(": all types"):
            out[total] = [c for c in cats if c != total]
    return {k: v for k, v in out.items() if v}


def redact_small_counts(change: pd.DataFrame, public: bool, threshold: int,
                        label: str = "category", counts: tuple[str, ...] = ("previous", "current"),
                        sums: dict[str, list[str]] | None = None,
                        ) -> pd.DataFrame:
    """In the public build, replace sentences that would quote a count the table hides.

    Tables get cell suppression from the publisher; prose is written from the same
    numbers, so it is withheld here for the rows whose counts the table hides: counts
    from 1 to threshold - 1, and, when the table has total rows (``sums``, as in
    :func:`change_sums`), the rows secondary suppression hides so that a small count
    cannot be worked out from a total.  ``small_count`` marks every withheld row.
    """
    if not public or change.empty:
        return change
    vals = change[list(counts)].apply(pd.to_numeric, errors="coerce")
    small = ((vals > 0) & (vals < threshold)).any(axis=1)
    hidden = small
    if sums:
        from sa_lib.stats.suppression import suppression_mask

        mask = suppression_mask(change[[label, *counts]].reset_index(drop=True), threshold,
                                value_columns=list(counts), label_column=label, sums=sums)
        hidden = pd.Series(mask[list(counts)].any(axis=1).to_numpy(), index=change.index)
    if not hidden.any():
        return change
    out = change.copy()
    out["small_count"] = hidden
    out.loc[small, "sentence"] = [
        f"{c}: fewer than {threshold} in a window, so the figures are withheld in the public "
        "report." for c in out.loc[small, label]]
    protect = hidden & ~small
    out.loc[protect, "sentence"] = [
        f"{c}: withheld in the public report, because with the other figures it would reveal "
        f"a count below {threshold}." for c in out.loc[protect, label]]
    return out


def significance_note(tests: pd.Series, alpha: float) -> str:
    """The table note naming the significance tests a table's ``test`` column uses.

    Only the tests (and the reasons for an exact test) that appear are named.

    Examples
    --------
    >>> significance_note(pd.Series(["quasi-Poisson (dispersion 3.1)",
    ...                              "exact Poisson (annual returns)"]), 0.05)  # doctest: +ELLIPSIS
    'Significance at the 5% level: quasi-Poisson test ...; exact test ... (annual returns). ...'
    """
    kinds = {str(t) for t in tests}
    parts = []
    if any(t.startswith(QUASI_POISSON) for t in kinds):
        parts.append("quasi-Poisson test of the monthly counts, which allows for month-to-month "
                     "variation beyond Poisson (dispersion estimated from the months of both "
                     "windows, taken as 1 when below 1; t test on the residual degrees of freedom)")
    reasons = {"too few months": f"fewer than {MIN_MONTHS_PER_WINDOW} months with data in a "
                                 "window"}
    exact = EXACT_POISSON + " ("
    why = sorted({t[len(exact):-1] for t in kinds if t.startswith(exact)})
    if why:
        parts.append("exact test for two Poisson counts on the window totals where no dispersion "
                     f"can be estimated ({join_words([reasons.get(w, w) for w in why])})")
    if "two-proportion z-test" in kinds:
        parts.append("two-proportion z-test for rates")
    if not parts:
        return ""
    level = format(float(alpha) * 100, "g")
    return (f"Significance at the {level}% level: " + "; ".join(parts)
            + ". The test column says which test each row had.")


def with_significance(row: pd.Series) -> str:
    """A change-table row's sentence followed by its significance, when it was tested.

    Not after a sentence withheld in the public build: the table hides the
    significance with the counts.
    """
    if row["significance"] == NOT_COMPARED or bool(row.get("small_count", False)):
        return str(row["sentence"])
    return f"{row['sentence']} The change is {row['significance']}."


def showing_counts(chart: Chart, *values: object) -> Chart:
    """Record on a chart the counts a reader can read off it (for the public build's check).

    The publisher withholds, in the public build, a chart showing a count from 1
    to the disclosure threshold - 1 (:meth:`sa_lib.report.publish.Publisher.chart`).
    Pass every series of counts drawn or quoted: the plotted counts, or a rate's
    numerators and denominators.
    """
    arrays = [np.asarray(pd.to_numeric(pd.Series(np.asarray(v, dtype=object).ravel()),
                                       errors="coerce"), dtype=float) for v in values]
    numbers = np.concatenate(arrays) if arrays else np.array([], dtype=float)
    chart.counts = tuple(float(x) for x in numbers[~np.isnan(numbers)])
    return chart


def no_data_for(window: Window) -> str:
    """What a table cell or sentence says for a measure with no value for ``window``.

    Examples
    --------
    >>> from sa_lib.periods import month_window
    >>> no_data_for(month_window("2025-04", "2026-03"))
    'no data for Apr 25 – Mar 26'
    """
    return f"no data for {window.label}"


def join_words(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``.

    Examples
    --------
    >>> join_words(["Burglary", "Robbery", "Drugs"])
    'Burglary, Robbery and Drugs'
    """
    items = [str(i) for i in items]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
