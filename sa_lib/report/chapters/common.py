"""What every chapter shares: the table spec, the SYNTHETIC labels and the change-table helpers.

Kept apart from the chapters so that no chapter imports another: chapter 3
lays out its change tables exactly as chapter 2 does, and the key findings
quote the same sentences, through the functions here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sa_lib.data.parameters import TOTAL_CRIME, Parameters
from sa_lib.periods import Window, month_window, previous_window
from sa_lib.report.charts import Chart
from sa_lib.report.spc_text import (
    LOWER_LIMIT_NOTE,
    RULE_WORDS,
    baseline_rule_words,
    baseline_words,
    latest_point_words,
    window_words,
)
from sa_lib.rounding import round_half_up
from sa_lib.stats.change import NOT_COMPARED
from sa_lib.stats.seasonality import mark_seasonal
from sa_lib.stats.significance import EXACT_POISSON, MIN_MONTHS_PER_WINDOW, QUASI_POISSON
from sa_lib.stats.spc_history import MIN_BASELINE_POINTS, history_summary, history_xmr

__all__ = [
    "ASB",
    "SYNTHETIC_LABEL",
    "SYNTHETIC_NOTE",
    "TableSpec",
    "change_sums",
    "change_table_layout",
    "redact_small_counts",
    "significance_note",
    "with_significance",
    "with_total",
    "showing_counts",
    "no_data_for",
    "month_runs",
    "short_comparison_note",
    "join_words",
    "history_spc",
    "spc_reading",
    "spc_table_note",
    "missing_input_sentence",
    "missing_inputs_sentences",
]

ASB = "Anti-social behaviour"
#: Added to every title and note of a table or chart built from synthetic partner data.
SYNTHETIC_LABEL = "SYNTHETIC data"
SYNTHETIC_NOTE = ("SYNTHETIC: these partner figures come from the seeded generator "
                  "sa_lib.data.synthetic, not from any real partner return.")


@dataclass
class TableSpec:
    """A table with what the publisher needs to write and show it."""

    df: pd.DataFrame
    name: str
    title: str
    note: str = ""
    sensitive: bool = False
    confidential: bool = False


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
        "% change": round_half_up(t["pct_change"], 1),
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
    'no data for Apr 2025 – Mar 2026'
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


def month_runs(months: list[pd.Period]) -> str:
    """Months as runs of consecutive months, e.g. ``Oct 2024 – Dec 2024 and Feb 2025``.

    Examples
    --------
    >>> month_runs([pd.Period(m, "M") for m in ("2024-10", "2024-11", "2024-12", "2025-02")])
    'Oct 2024 – Dec 2024 and Feb 2025'
    """
    runs: list[list[pd.Period]] = []
    for m in sorted(months):
        if runs and (m - runs[-1][-1]).n == 1:
            runs[-1].append(m)
        else:
            runs.append([m])
    return join_words([month_window(r[0], r[-1]).label for r in runs])


def short_comparison_note(params: Parameters, months_with_data: Iterable[pd.Period]) -> str | None:
    """Why the year-on-year comparison covers fewer months than the review window, or None.

    A comparison shorter than the review window (set in the parameters file's
    ``comparison`` section) is not a year-on-year change of the whole year: the
    note says which months it covers, and which months of the review window or
    of the 12 months before it have no police.uk data (the usual reason).

    Examples
    --------
    >>> from sa_lib.data.parameters import load_parameters
    >>> p = load_parameters("parameters/2025.yaml")
    >>> months = list(pd.period_range("2024-01", "2024-04", freq="M")) + list(
    ...     pd.period_range("2025-01", "2025-12", freq="M"))
    >>> print(short_comparison_note(p, months))  # doctest: +NORMALIZE_WHITESPACE
    The year-on-year comparison covers 4 months, Jan 2025 – Apr 2025 against Jan 2024 – Apr 2024,
    not the whole 12-month review window (Jan 2025 – Dec 2025): police.uk has no data for
    May 2024 – Dec 2024, so only the months held in both years are compared.
    """
    review, current = params.review_window, params.current_window
    if current.n_months >= review.n_months:
        return None
    have = set(months_with_data)
    wanted = [*previous_window(review).months, *review.months]
    gap = [m for m in wanted if m not in have]
    why = (f"police.uk has no data for {month_runs(gap)}, so only the months held in both "
           "years are compared" if gap else
           "the parameters file's comparison section sets these months")
    return (f"The year-on-year comparison covers {current.n_months} months, {current.label} "
            f"against {params.previous_window.label}, not the whole {review.n_months}-month "
            f"review window ({review.label}): {why}.")


#: The signals the sentences list point by point, and so the ones that can be called seasonal
#: (a run or trend spans months, so "the same month" does not apply to it).
SEASONAL_RULES = ("outside_limits", "two_in_three")


def history_spc(series: pd.DataFrame, params: Parameters, value: str = "count",
                by: str | None = None, improvement: str = "decrease",
                rebase: list[str] | dict[str, list[str]] | None = None,
                counts: bool = True) -> pd.DataFrame:
    """SPC of monthly series over the parameters' history and baseline (``spc:`` section).

    Every chapter charts SPC through this: up to ``spc.history_months`` months ending
    at the review window's end, limits from ``spc.baseline``, lower limits raised to
    0 for ``counts`` (a count cannot be negative; not for rates), missing months as
    gaps (:func:`sa_lib.stats.spc_history.history_xmr`).  Points beyond the limits or
    two-of-three near a limit that recur in the same calendar month of another year are
    marked ``seasonal`` (:func:`sa_lib.stats.seasonality.mark_seasonal`), so the
    sentences call them seasonal rather than a new change.
    """
    spc = history_xmr(series, value, params.review_window, params.spc.history_months,
                      params.spc.baseline_rule, by=by, improvement=improvement,  # type: ignore[arg-type]
                      rebase=rebase, limit_floor=0.0 if counts else None)
    return mark_seasonal(spc, date="month", by=by, rules=SEASONAL_RULES)


def spc_reading(spc: pd.DataFrame, window: Window) -> dict[str, object]:
    """One series' SPC as a summary table gives it: points, baseline, limits, latest, window.

    The mean and limits are those of the last rebase segment (the ones the latest
    month is judged against); the baseline is that segment's.
    """
    segments = history_summary(spc)
    last = segments.iloc[-1]
    when, latest = latest_point_words(spc)
    start = last["baseline_start"] if pd.notna(last["baseline_start"]) else None
    return {
        "months charted": int(segments["points"].sum()),
        "baseline": baseline_words(int(last["points"]), int(last["baseline_points"]),
                                   bool(last["baseline_all"]), start, last["baseline_end"]),
        "mean per month": last["mean"],
        "lower limit": last["lpl"],
        "upper limit": last["upl"],
        "latest month": latest if when is None else f"{when:%b %Y}: {latest}",
        "review window": window_words(spc, window),
    }


def spc_table_note(params: Parameters, counts: bool = True) -> str:
    """The note of an SPC summary table: what each column means, the baseline rule, the rules.

    Examples
    --------
    >>> from sa_lib.data.parameters import load_parameters
    >>> spc_table_note(load_parameters("parameters/2025.yaml")).split(". ")[0]
    'Months charted: the months with figures among the 36 months to Dec 2025 (a month with none is a gap in the chart, not a point)'
    """
    w = params.review_window
    note = (f"Months charted: the months with figures among the {params.spc.history_months} "
            f"months to {w.end:%b %Y} (a month with none is a gap in the chart, not a point). "
            "Baseline: the months whose mean and moving ranges give the limits, here "
            f"{baseline_rule_words(params.spc.baseline_rule, MIN_BASELINE_POINTS)}; after a "
            "rebase (a recording change) the mean and limits are those of the latest segment. "
            "Latest month: what its point shows. Review window: the special-cause signals with "
            f"a point in {w.label}: {RULE_WORDS}.")
    return note + (f" {LOWER_LIMIT_NOTE}" if counts else "")


#: Where the README says how to add each optional input.
_README = "see README 'Optional inputs'"


def missing_input_sentence(key: str, so: str) -> str:
    """One sentence for a missing optional input: what is missing, ``so`` what, how to add it.

    ``key`` is one of :data:`sa_lib.data.inputs.OPTIONAL_INPUTS`; ``so`` says what the
    chapter does without it.  The sentence is plain text (escape it for Markdown).

    Examples
    --------
    >>> missing_input_sentence("partner", "this theme shows police.uk data only")[:76]
    'No partner returns were given (data.partner), so this theme shows police.uk '
    """
    how = {
        "partner": ("No partner returns were given (data.partner)",
                    "to add them, name a folder of partner returns as data.partner (templates "
                    "in data/templates)"),
        "action_plan": ("No action-plan return was found (data.partner)",
                        "to add one, save the action plan in the data.partner folder as a CSV "
                        "whose name ends in 'action_plan.csv' (template "
                        "data/templates/action_plan.csv)"),
        "resident_survey": ("No residents' survey return was found (data.partner)",
                            "to add one, save it in the data.partner folder as a CSV whose name "
                            "ends in 'resident_survey.csv' (template "
                            "data/templates/resident_survey.csv)"),
        "morile_sheets": ("No MoRiLE scoring sheets were given (data.morile_sheets)",
                          "to add them, save one '*morile*.csv' sheet per scorer (template "
                          "data/templates/morile_sheet.csv) in a folder named as "
                          "data.morile_sheets"),
        "csp_table": ("No Home Office table was given (data.csp_table is null)",
                      "to add one, set data.csp_table to an ONS Table C2 CSV export or a folder "
                      "of them, or leave the key out for the bundled table"),
    }
    what, add = how[key]
    return f"{what}, so {so}; {add}; {_README}."


def missing_inputs_sentences(absent: list[str], area: str) -> list[str]:
    """One sentence per missing optional input (keys as :func:`sa_lib.data.inputs.absent_inputs`
    gives them), saying what the report does without it; chapters 1 and 6 list them.

    Examples
    --------
    >>> missing_inputs_sentences(["csp_table"], "Melton")[0][:58]
    'No Home Office table was given (data.csp_table is null), s'
    """
    so = {"partner": "the report uses police.uk data only: no partner measures, action plan or "
                     "survey",
          "action_plan": "last year's priorities are not reviewed against their targets "
                         "(chapter 4)",
          "resident_survey": "perception scores are those set in the parameters file "
                             "(priorities.perception)",
          "morile_sheets": "chapter 5 ranks the themes by the priority matrix alone",
          "csp_table": f"chapter 2 does not compare {area} with other partnerships"}
    return [missing_input_sentence(k, so[k]) for k in absent]
