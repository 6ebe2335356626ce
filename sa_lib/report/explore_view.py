"""One view of the analyst's explorer: change table, sentence and SPC chart.

:func:`explore_view` builds one :class:`ExploreView` for an area, a crime type and a
window from the records of :func:`sa_lib.data.extracts.explore_records`: the change
table, a sentence, the SPC frame and chart (or a message saying why there is none), and
the view as HTML.  Pure functions, tested without widgets; :mod:`sa_lib.report.explore`
shows them in a notebook.

Rules that matter (see :mod:`sa_lib.data.extracts` for where the records come from):

* **Months with data.** A month has data for an area when a loaded file holds at
  least one of its records; other months are missing, never zero.  Within a
  month with data, a crime type with no records is a real zero.
* police.uk street data are location-anonymised and are not the force's
  recorded-crime total.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sa_lib.data.extracts import UNKNOWN_AREA, _need_columns, explore_areas
from sa_lib.data.parameters import TOTAL_CRIME
from sa_lib.data.police_uk import CRIME_TYPES, monthly_counts
from sa_lib.data.quality import DEFAULT_BOUNDS, implausible_months
from sa_lib.errors import OptionError
from sa_lib.periods import Window, previous_window, rolling_window
from sa_lib.report.charts import Chart, spc_chart
from sa_lib.rounding import format_number, round_half_up
from sa_lib.stats.change import compare_windows, format_count
from sa_lib.stats.spc import xmr

__all__ = [
    "TOTAL_CRIME",
    "EXPLORE_CRIME_TYPES",
    "MIN_SPC_POINTS",
    "MAX_WINDOW_MONTHS",
    "ExploreView",
    "explore_view",
]

#: The total series offered beside the 14 police.uk crime types (same label as the report).
ASB = "Anti-social behaviour"
#: Crime types the explorer offers: the total first, then the police.uk categories.
EXPLORE_CRIME_TYPES: tuple[str, ...] = (TOTAL_CRIME, *CRIME_TYPES)
#: Fewest monthly points for which an SPC chart is drawn (shorter series have only
#: trial limits; :func:`sa_lib.xmr` flags segments under 12 points).
MIN_SPC_POINTS = 12
#: Longest window the explorer offers, in months.
MAX_WINDOW_MONTHS = 24
SOURCE_NOTE = "Source: data.police.uk (OGL v3.0); location-anonymised, not recorded-crime totals"


# --------------------------------------------------------------------------- one view


@dataclass
class ExploreView:
    """What the explorer shows for one area, crime type and window.

    Attributes
    ----------
    area, area_code, crime_type : str
        The selection.
    current, previous : Window
        The window and the comparable window before it (same months a year earlier,
        or two years for windows longer than 12 months).
    months_with_data : list of Period
        Every month with data for the area.
    counts : DataFrame
        ``month, crime_type, count`` for the area: every month with data, every
        police.uk crime type and :data:`TOTAL_CRIME`.
    change : DataFrame
        :func:`sa_lib.compare_windows` for every crime type (the total first), with
        ``current_complete``/``previous_complete`` and the missing months.
    sentence : str
        The change of the chosen crime type in words, or why it is not stated.
    coverage : str
        The months and records the area has, where they come from, and any caveat.
    notes : list of str
        Cautions: months incomplete at source, gaps in the SPC series.
    spc : DataFrame
        :func:`sa_lib.xmr` over every month with data of the chosen series.
    chart : Chart or None
        The SPC chart, or None when there are too few months.
    chart_message : str
        Why there is no chart (empty when there is one).
    """

    area: str
    area_code: str
    crime_type: str
    current: Window
    previous: Window
    months_with_data: list[pd.Period]
    counts: pd.DataFrame
    change: pd.DataFrame
    sentence: str
    coverage: str
    spc: pd.DataFrame
    chart: Chart | None
    chart_message: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def row(self) -> pd.Series:
        """The change-table row of the chosen crime type."""
        return self.change.loc[self.change["category"] == self.crime_type].iloc[0]

    @property
    def comparable(self) -> bool:
        """True when both windows have data for every month."""
        return bool(self.row["current_complete"] and self.row["previous_complete"])

    def table_html(self) -> str:
        """The change table as HTML: every crime type, the chosen one in bold.

        Difference, % change and significance are left blank when a window has
        months with no data, because a missing month is not a fall; % change is
        blank when the previous count is below the small-base threshold.
        """
        t = self.change
        prev, cur = self.previous.label, self.current.label
        table = pd.DataFrame({
            "crime type": t["category"],
            _window_heading(prev, t["previous_complete"].iloc[0]): t["previous"],
            _window_heading(cur, t["current_complete"].iloc[0]): t["current"],
            "difference": t["difference"],
            # No percentage of a small base (as in the sentences); rounded only for display.
            "% change": round_half_up(t["pct_change"].where(~t["small_base"]), 1),
            "significance": t["significance"],
            "test": t["test"],
        })
        if not self.comparable:
            table[["difference", "% change", "significance", "test"]] = ""
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
        rows = []
        for cat, values in zip(t["category"], table.itertuples(index=False), strict=True):
            cells = "".join(f"<td>{html.escape(_cell(v))}</td>" for v in values)
            style = " style='font-weight:bold;background:#e8edee'" if cat == self.crime_type else ""
            rows.append(f"<tr{style}>{cells}</tr>")
        caption = (f"Records by crime type, {html.escape(self.area)}: {html.escape(cur)} "
                   f"compared with {html.escape(prev)}")
        note = "" if self.comparable else (
            "<p style='font-size:small'>Difference, % change and significance are left out "
            "because a window has months with no data.</p>")
        return (f"<p><strong>{caption}</strong></p><table class='sa-table' border='0'>"
                f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{note}")

    def text_html(self) -> str:
        """Sentence, cautions and change table as HTML, then the chart's message or alt text."""
        parts = [f"<p>{html.escape(self.sentence)}</p>"]
        parts += [f"<p><em>{html.escape(n)}</em></p>" for n in self.notes]
        parts.append(self.table_html())
        parts.append(f"<p style='font-size:small'>{html.escape(self.chart.alt_text)}</p>"
                     if self.chart is not None
                     else f"<p><strong>{html.escape(self.chart_message)}</strong></p>")
        return "\n".join(parts)

    def to_html(self) -> str:
        """The whole view as one HTML block, the chart embedded as a PNG with its alt text."""
        if self.chart is None:
            return self.text_html()
        png = base64.b64encode(self.chart.to_png()).decode("ascii")
        return (self.text_html() + f"\n<img src='data:image/png;base64,{png}' "
                f"alt='{html.escape(self.chart.alt_text)}' style='max-width:100%'/>")


def _window_heading(label: str, complete: bool) -> str:
    return label if complete else f"{label} (incomplete)"


def _cell(v: object) -> str:
    if isinstance(v, float):
        return format_number(v, 1)
    if isinstance(v, int | np.integer):
        return f"{int(v):,}"
    return str(v)


def _month_ranges(months: Iterable[pd.Period]) -> str:
    """``Oct 2018 – Feb 2019, Sep 2019, Jan 2025`` for a list of months."""
    ms = sorted(set(months))
    if not ms:
        return "none"
    runs, start, prev = [], ms[0], ms[0]
    for m in ms[1:]:
        if (m - prev).n != 1:
            runs.append((start, prev))
            start = m
        prev = m
    runs.append((start, prev))
    return ", ".join(f"{a:%b %Y}" if a == b else f"{a:%b %Y} \u2013 {b:%b %Y}" for a, b in runs)


def _area_counts(records: pd.DataFrame, area: str) -> tuple[pd.DataFrame, list[pd.Period]]:
    sub = records[records["area"] == area]
    months = sorted(set(sub["month"]))
    counts = monthly_counts(sub, by=["crime_type"], months=months)
    # Every police.uk category is published every month, so a type absent from a month with
    # data is a real zero; months without data stay absent.
    grid = pd.MultiIndex.from_product([pd.PeriodIndex(months, freq="M"), list(CRIME_TYPES)],
                                      names=["month", "crime_type"])
    counts = (counts.set_index(["month", "crime_type"])["count"]
              .reindex(grid, fill_value=0).reset_index())
    total = (counts[counts["crime_type"] != ASB].groupby("month", as_index=False)["count"].sum()
             .assign(crime_type=TOTAL_CRIME))
    out = pd.concat([total[["month", "crime_type", "count"]], counts], ignore_index=True)
    out["count"] = out["count"].astype("int64")
    return out, months


def _resolve_area(records: pd.DataFrame, area: str) -> pd.Series:
    areas = explore_areas(records)
    if not isinstance(area, str):
        raise OptionError(f"area must be a partnership name or code, got {area!r}")
    hit = areas[(areas["area"] == area) | ((areas["area_code"] == area) & (area != ""))]
    if hit.empty:
        raise OptionError(f"area {area!r} has no records; choose one of {areas['area'].tolist()}")
    return hit.iloc[0]


def _coverage(info: pd.Series, months: Sequence[pd.Period]) -> str:
    n = len(months)
    text = (f"{info['area']} has {n} month{_s(n)} of police.uk data ({_month_ranges(months)}), "
            f"{format_count(int(info['records']))} record{_s(int(info['records']))}")
    text += f", from {info['sources']}." if info["sources"] else "."
    if info["area"] == UNKNOWN_AREA:
        text += (" These records have no location, or an LSOA the bundled lookups cannot place "
                 "in a partnership; no area's counts include them.")
    elif info["outside_loaded_forces"]:
        text += (f" {info['area']} is policed by {info['police_force_area']}, whose files were "
                 f"not loaded: only the records {info['reported_by']} located there are counted, "
                 "not the area's crime.")
    return text


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def explore_view(
    records: pd.DataFrame,
    area: str,
    crime_type: str = TOTAL_CRIME,
    end: str | pd.Period | None = None,
    months: int = 12,
    *,
    improvement: str = "decrease",
    small_base: int = 10,
    alpha: float = 0.05,
    min_spc_points: int = MIN_SPC_POINTS,
) -> ExploreView:
    """The change table, sentence and SPC chart for one area, crime type and window.

    The window is the ``months`` months ending at ``end``; it is compared with
    :func:`sa_lib.previous_window` (the same months a year earlier, so seasons
    line up).  The SPC chart uses every month with data of the area, and is
    replaced by a message when there are fewer than ``min_spc_points``.

    Parameters
    ----------
    records : DataFrame
        From :func:`sa_lib.data.extracts.explore_records`.
    area : str
        Partnership name (``"Maidstone"``) or CSP code (``"E22000142"``), as listed
        by :func:`sa_lib.data.extracts.explore_areas`.
    crime_type : str, default "Total crime (excluding ASB)"
        One of :data:`EXPLORE_CRIME_TYPES`.
    end : str or Period, optional
        Last month of the window, one of the area's months with data
        (default: the latest).
    months : int, default 12
        Window length, 1 to :data:`MAX_WINDOW_MONTHS`.
    improvement : {"decrease", "increase", "neutral"}, default "decrease"
        Which direction is better, for the SPC colours.
    small_base, alpha
        Below ``small_base`` previous records no percentage is written;
        ``alpha`` is the significance level.
    min_spc_points : int, default 12
        Fewest months for an SPC chart.

    Returns
    -------
    ExploreView

    Raises
    ------
    OptionError
        Unknown area or crime type, an ``end`` with no data for the area, or a
        window length outside 1 to 24 (each message lists the choices).

    Examples
    --------
    >>> from sa_lib.data.extracts import explore_records
    >>> rec = explore_records()
    >>> v = explore_view(rec, "Maidstone", "Drugs", end="2025-04", months=4)
    >>> v.current.label, v.previous.label, int(v.row["previous"]), int(v.row["current"])
    ('Jan 2025 – Apr 2025', 'Jan 2024 – Apr 2024', 154, 207)
    >>> v.sentence.split(" (")[0]
    'Drugs increased by 34.4%'
    >>> explore_view(rec, "Ashford").chart_message.split(";")[0]
    'No SPC chart for Ashford: it has 2 months of data (Nov 2018, Jan 2025)'
    """
    _need_columns(records, ["area", "area_code", "month", "crime_type"])
    info = _resolve_area(records, area)
    area, area_code = str(info["area"]), str(info["area_code"])
    if crime_type not in EXPLORE_CRIME_TYPES:
        raise OptionError(f"crime_type {crime_type!r} is not offered; choose one of "
                          f"{list(EXPLORE_CRIME_TYPES)}")
    if isinstance(months, bool) or not isinstance(months, int | np.integer) \
            or not 1 <= months <= MAX_WINDOW_MONTHS:
        raise OptionError(f"months={months!r}: the window must be a whole number of months "
                          f"from 1 to {MAX_WINDOW_MONTHS}")
    if isinstance(min_spc_points, bool) or not isinstance(min_spc_points, int) \
            or min_spc_points < 2:
        raise OptionError(f"min_spc_points must be a whole number of at least 2, "
                          f"got {min_spc_points!r}")
    counts, have = _area_counts(records, area)
    if end is None:
        end_month = have[-1]
    else:
        try:
            end_month = pd.Period(end, freq="M")
        except (ValueError, TypeError):
            end_month = None
        if end_month not in set(have):
            raise OptionError(f"end={end!r} is not a month with data for {area}; choose one of "
                              f"{[str(m) for m in have]}")
    current = rolling_window(end_month, int(months))
    previous = previous_window(current)
    change = compare_windows(counts, current, previous, by="crime_type", min_base=small_base,
                             alpha=alpha, unit={ASB: "incidents", "default": "offences"})
    order = {c: i for i, c in enumerate(EXPLORE_CRIME_TYPES)}
    change = change.sort_values("category", key=lambda s: s.map(order), kind="stable",
                                ignore_index=True)
    row = change.loc[change["category"] == crime_type].iloc[0]
    flagged = _incomplete_at_source(counts)
    notes = _source_notes(flagged)
    sentence = _sentence(row, crime_type, area, current, previous)

    series = counts[counts["crime_type"] == crime_type].reset_index(drop=True)
    spc = xmr(series, value="count", date="month", improvement=improvement)
    chart, chart_message = None, ""
    if len(have) < min_spc_points:
        chart_message = (
            f"No SPC chart for {area}: it has {len(have)} month{_s(len(have))} "
            f"of data ({_month_ranges(have)}); an SPC chart needs at least {min_spc_points} "
            "monthly points before its limits mean anything. Load more months of police.uk "
            "data for this area to see one.")
    else:
        gaps = _gaps(have)
        if gaps:
            notes.append(f"The SPC chart joins {len(have)} months that are not consecutive "
                         f"(no data for {_month_ranges(gaps)}), so points either side of a gap "
                         "are compared directly; read its limits with care.")
        title = f"{crime_type}, {area}, {_month_ranges([have[0]])} to {_month_ranges([have[-1]])}"
        chart = spc_chart(spc, title, "Records per month", caption=SOURCE_NOTE)
    return ExploreView(area, area_code, crime_type, current, previous, list(have), counts,
                       change, sentence, _coverage(info, have), spc, chart, chart_message, notes)


def _gaps(months: Sequence[pd.Period]) -> list[pd.Period]:
    if not months:
        return []
    span = pd.period_range(months[0], months[-1], freq="M")
    have = set(months)
    return [m for m in span if m not in have]


def _incomplete_at_source(counts: pd.DataFrame) -> list[pd.Period]:
    """Months whose total crime is implausibly low or high next to their neighbours."""
    total = counts[counts["crime_type"] == TOTAL_CRIME]
    low, high = DEFAULT_BOUNDS["total_crime"]
    return list(implausible_months(total, low=low, high=high)["month"])


def _source_notes(flagged: list[pd.Period]) -> list[str]:
    if not flagged:
        return []
    one = len(flagged) == 1
    return [_and([f"{m:%b %Y}" for m in sorted(flagged)]) + (" looks" if one else " look")
            + " incomplete at source (total crime far from the months around "
            + ("it" if one else "them") + "): changes involving " + ("it" if one else "them")
            + ", in the table or on the SPC chart, are not real changes."]


def _sentence(row: pd.Series, crime_type: str, area: str, current: Window,
              previous: Window) -> str:
    if row["current_complete"] and row["previous_complete"]:
        return f"{row['sentence']} The change is {row['significance']}."
    unit = "incidents" if crime_type == ASB else "offences"
    gaps = []
    for window, complete in ((previous, row["previous_complete"]),
                             (current, row["current_complete"])):
        if not complete:
            missing = [pd.Period(m, "M") for m in row[
                "previous_missing_months" if window is previous else "current_missing_months"
            ].split(",") if m]
            gaps.append(f"{window.label} has no data at all" if len(missing) == window.n_months
                        else f"{window.label} has no data for {len(missing)} of its "
                        f"{window.n_months} months ({_month_ranges(missing)})")
    return (f"Caution: {' and '.join(gaps)}, so the windows cannot be compared and no change is "
            "stated (a missing month is not a fall); choose a window whose months all have data. "
            f"{crime_type} in {area}, months with data "
            f"only: {format_count(row['previous'])} {unit} in {previous.label} and "
            f"{format_count(row['current'])} in {current.label}.")
