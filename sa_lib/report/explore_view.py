"""The analyst's interactive explorer: pick an area, a crime type and a window.

``notebooks/explore.ipynb`` calls :func:`explorer`, which shows the change table
and the SPC chart for the chosen partnership, crime type and window, and
updates them on every change.  The explorer is for looking around; it is not
part of the report run and writes nothing to ``outputs/``.

The work is done by pure functions, tested without widgets:

* :func:`explore_records` loads every police.uk file the parameters file names
  plus the bundled ``data/police_uk`` folder and gives each record its
  Community Safety Partnership (CSP) from its LSOA;
* :func:`explore_areas` lists the partnerships with the months and records each has;
* :func:`explore_view` builds one :class:`ExploreView`: the change table, a
  sentence, the SPC frame and chart (or a message saying why there is none).

Rules that matter:

* **Area from LSOA.** A 2011 LSOA code is mapped through the bundled LSOA and
  CSP lookups; any other code (the 2021 set) by its LSOA name, which starts with
  the district's current or former name ("Maidstone 014C", "Shepway 002A"), as
  :func:`sa_lib.data.geography.resolve_area` does.  Records with no location, or
  whose LSOA cannot be mapped, are **kept** under the area
  ``"Unknown / no location"`` (listed last), so every loaded row is accounted for.
* **One extract per month.** The same police.uk month can arrive in several
  folders (the bundled ``maidstone`` folder holds every Maidstone row, the
  ``kent_sample`` folder a sample of the whole of Kent for two of those months).
  Files are de-duplicated by path, and for each area, month and reporting force
  only the file with the most records for that area is used, so no record is
  counted twice.
* **Months with data.** A month has data for an area when a loaded file holds at
  least one of its records; other months are missing, never zero.  Within a
  month with data, a crime type with no records is a real zero.
* police.uk street data are location-anonymised and are not the force's
  recorded-crime total.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd

from sa_lib.data.geography import load_csp_lookup, load_lsoa_lookup
from sa_lib.data.parameters import TOTAL_CRIME, Parameters, load_parameters
from sa_lib.data.police_uk import CRIME_TYPES, find_street_files, monthly_counts, read_police_uk
from sa_lib.data.quality import DEFAULT_BOUNDS, implausible_months
from sa_lib.errors import OptionError, SAError
from sa_lib.paths import DATA_DIR, PROJECT_ROOT
from sa_lib.periods import Window, previous_window, rolling_window
from sa_lib.report.charts import Chart, spc_chart
from sa_lib.stats.change import compare_windows, format_count
from sa_lib.stats.spc import xmr

__all__ = [
    "TOTAL_CRIME",
    "UNKNOWN_AREA",
    "EXPLORE_CRIME_TYPES",
    "MIN_SPC_POINTS",
    "MAX_WINDOW_MONTHS",
    "ExploreView",
    "Explorer",
    "explore_records",
    "explore_areas",
    "explore_view",
    "explorer",
]

#: The total series offered beside the 14 police.uk crime types (same label as the report).
ASB = "Anti-social behaviour"
#: Area of records with no location or an LSOA the bundled lookups cannot map.
UNKNOWN_AREA = "Unknown / no location"
#: Crime types the explorer offers: the total first, then the police.uk categories.
EXPLORE_CRIME_TYPES: tuple[str, ...] = (TOTAL_CRIME, *CRIME_TYPES)
#: Fewest monthly points for which an SPC chart is drawn (shorter series have only
#: trial limits; :func:`sa_lib.xmr` flags segments under 12 points).
MIN_SPC_POINTS = 12
#: Longest window the explorer offers, in months.
MAX_WINDOW_MONTHS = 24
SOURCE_NOTE = "Source: data.police.uk (OGL v3.0); location-anonymised, not recorded-crime totals"


# --------------------------------------------------------------------------- loading


def explore_records(
    parameters_file: str | Path = "parameters/2025.yaml",
    extra_paths: str | Path | Iterable[str | Path] | None = None,
    cache: bool = True,
) -> pd.DataFrame:
    """Load every police.uk record the explorer can show, with its partnership.

    Reads the parameters file's ``data.police_uk`` paths, the bundled
    ``data/police_uk`` folder and any ``extra_paths`` (files found twice are
    read once), keeps one extract per area, month and force (the file with the
    most records for that area) and adds the CSP of each record from its LSOA
    (see the module notes; unmapped records go to :data:`UNKNOWN_AREA`).

    Parameters
    ----------
    parameters_file : path, default "parameters/2025.yaml"
        The assessment's parameters file (relative to the project root, or absolute).
    extra_paths : path or list of paths, optional
        More police.uk folders or files (relative to the project root, or absolute).
    cache : bool, default True
        Reuse parsed months from the Parquet cache, as :func:`sa_lib.read_police_uk` does.

    Returns
    -------
    DataFrame
        The :func:`sa_lib.read_police_uk` columns with ``area`` (the CSP name, or
        :data:`UNKNOWN_AREA`), ``area_code`` (the CSP code, or ``""``) and
        ``source`` (the file, relative to the project root).  ``attrs`` holds
        ``load_report`` (one row per file read) and ``duplicates_dropped`` (records
        left out because a fuller extract of the same area and month was loaded).

    Raises
    ------
    ParameterError
        The parameters file is invalid.
    DataValidationError
        A path is missing or a file is malformed.

    Examples
    --------
    >>> rec = explore_records()
    >>> m = rec[(rec.area == "Maidstone") & (rec.month == pd.Period("2025-01", "M"))]
    >>> len(m), m["area_code"].iloc[0]
    (1337, 'E22000142')
    """
    params = load_parameters(parameters_file)
    sources: list[Path] = [*params.police_uk_paths(), DATA_DIR / "police_uk"]
    if extra_paths is not None:
        extra = [extra_paths] if isinstance(extra_paths, str | Path) else list(extra_paths)
        sources += [Path(p) if Path(p).is_absolute() else PROJECT_ROOT / p for p in extra]
    files: dict[Path, None] = {}
    for source in sources:  # in order, so the parameters file's data come first on ties
        for f in find_street_files(source, allow_repeats=True):  # overlaps resolved below
            files.setdefault(f.resolve(), None)
    frames, reports = [], []
    for f in files:
        rec = read_police_uk(f, area=None, cache=cache)
        reports.append(rec.attrs["load_report"])
        rec.attrs = {}
        rec["source"] = _relative(f)
        frames.append(rec)
    records = pd.concat(frames, ignore_index=True)
    records = _add_csp(records)
    records, dropped = _one_extract_per_month(records, list(map(_relative, files)))
    records.attrs["load_report"] = pd.concat(reports, ignore_index=True)
    records.attrs["duplicates_dropped"] = dropped
    records.attrs["area"] = "every partnership in the loaded files"
    return records


def _relative(path: Path) -> str:
    return path.relative_to(PROJECT_ROOT).as_posix() if path.is_relative_to(PROJECT_ROOT) \
        else str(path)


def _lad_by_name() -> dict[str, str]:
    """District name (current, former, and as the LSOA lookup writes it) -> district code."""
    csp = load_csp_lookup()
    lsoa = load_lsoa_lookup()
    pairs = [*zip(csp["lad_name"], csp["lad_code"], strict=True),
             *((n, c) for n, c in zip(csp["lad_former_names"], csp["lad_code"], strict=True) if n),
             *zip(lsoa["lad_name"].str.removesuffix(" UA"), lsoa["lad_code"], strict=True)]
    return {name: code for name, code in pairs}


def _add_csp(records: pd.DataFrame) -> pd.DataFrame:
    """Add ``area`` (CSP name) and ``area_code`` from each record's LSOA code or name."""
    csp = load_csp_lookup().set_index("lad_code")
    lad_of_code = load_lsoa_lookup().set_index("lsoa_code")["lad_code"]
    lsoas = records[["lsoa_code", "lsoa_name"]].drop_duplicates()
    lad = lsoas["lsoa_code"].map(lad_of_code)
    # Codes outside the 2011 lookup (the 2021 set): the name starts with the district's name.
    by_name = lsoas["lsoa_name"].str.rsplit(" ", n=1).str[0].map(_lad_by_name())
    lad = lad.fillna(by_name)
    lsoas = lsoas.assign(
        area_code=lad.map(csp["csp_code"]).fillna(""),
        area=lad.map(csp["csp_name"]).fillna(UNKNOWN_AREA),
    )
    lsoas.loc[lsoas["area_code"] == "", "area"] = UNKNOWN_AREA
    out = records.drop(columns=["area"]).merge(lsoas, on=["lsoa_code", "lsoa_name"], how="left",
                                               sort=False)
    return out


def _one_extract_per_month(records: pd.DataFrame, order: list[str]) -> tuple[pd.DataFrame, int]:
    """Keep, per area, month and force, only the file with the most records for that area."""
    key = ["area", "month", "reported_by"]
    sizes = records.groupby([*key, "source"], observed=True).size().rename("n").reset_index()
    rank = {s: i for i, s in enumerate(order)}
    sizes["order"] = sizes["source"].map(rank)
    best = (sizes.sort_values(["n", "order"], ascending=[False, True], kind="stable")
            .drop_duplicates(key)[[*key, "source"]])
    keep = records.merge(best.assign(_keep=True), on=[*key, "source"], how="left")["_keep"]
    keep = keep.fillna(False).to_numpy(dtype=bool)
    return records.loc[keep].reset_index(drop=True), int((~keep).sum())


# --------------------------------------------------------------------------- areas


def explore_areas(records: pd.DataFrame) -> pd.DataFrame:
    """One row per area: its code, months with data, records and source files.

    A month has data for an area when the records hold at least one record of
    that area in it (see the module notes).

    Parameters
    ----------
    records : DataFrame
        From :func:`explore_records` (needs ``area``, ``area_code``, ``month``;
        ``source`` is used when present).

    Returns
    -------
    DataFrame
        ``area, area_code, months_with_data, first_month, last_month, records,
        sources`` (comma-separated folders), ``reported_by`` (the forces whose
        files hold the records), ``police_force_area`` (the area's own, from the
        CSP lookup) and ``outside_loaded_forces`` (True when the area's force
        did not supply the records, e.g. a London borough in Kent's files: only
        the few records Kent located there are counted).  Sorted by area name,
        :data:`UNKNOWN_AREA` last.

    Raises
    ------
    OptionError
        A needed column is missing.

    Examples
    --------
    >>> areas = explore_areas(explore_records())
    >>> m = areas.set_index("area").loc["Maidstone"]
    >>> m["area_code"], int(m["months_with_data"]), int(m["records"])
    ('E22000142', 22, 30923)
    >>> areas["area"].iloc[-1]
    'Unknown / no location'
    """
    _need_columns(records, ["area", "area_code", "month"])
    blank = pd.Series("", index=records.index)
    src = records["source"].map(lambda s: s.rsplit("/", 1)[0]) if "source" in records else blank
    force = records["reported_by"] if "reported_by" in records else blank
    g = records.assign(_src=src, _force=force).groupby("area", sort=True)

    def joined(s: pd.Series) -> str:
        return ", ".join(sorted(set(s) - {""}))

    out = pd.DataFrame({
        "area_code": g["area_code"].first(),
        "months_with_data": g["month"].nunique(),
        "first_month": g["month"].min(),
        "last_month": g["month"].max(),
        "records": g.size(),
        "sources": g["_src"].agg(joined),
        "reported_by": g["_force"].agg(joined),
    }).reset_index()
    out["months_with_data"] = out["months_with_data"].astype("int64")
    out["records"] = out["records"].astype("int64")
    pfa = load_csp_lookup().drop_duplicates("csp_code").set_index("csp_code")["pfa_name"]
    out["police_force_area"] = out["area_code"].map(pfa).fillna("")
    out["outside_loaded_forces"] = [
        bool(area_force) and bool(forces) and not _same_force(area_force, forces.split(", "))
        for area_force, forces in zip(out["police_force_area"], out["reported_by"], strict=True)
    ]
    unknown = out["area"] == UNKNOWN_AREA
    out = pd.concat([out[~unknown], out[unknown]])  # already by name; the unknown area last
    return out.reset_index(drop=True)


def _words(name: str) -> set[str]:
    return set(re.sub(r"[^a-z ]+", " ", name.lower().replace("&", " and ")).split())


def _same_force(force_area: str, forces: Sequence[str]) -> bool:
    """"Kent" is Kent Police, "London, City of" is City of London Police (word sets)."""
    return any(_words(force_area) <= _words(f) for f in forces)


def _need_columns(df: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise OptionError(f"the records have no column(s) {missing}; build them with "
                          "explore_records()")


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
            "% change": t["pct_change"].where(~t["small_base"]).round(1),
            "significance": t["significance"],
        })
        if not self.comparable:
            table[["difference", "% change", "significance"]] = ""
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
        return "" if np.isnan(v) else f"{v:,.1f}"
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
        From :func:`explore_records`.
    area : str
        Partnership name (``"Maidstone"``) or CSP code (``"E22000142"``), as listed
        by :func:`explore_areas`.
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
    >>> rec = explore_records()
    >>> v = explore_view(rec, "Maidstone", "Drugs", end="2025-04", months=4)
    >>> v.current.label, v.previous.label, int(v.row["previous"]), int(v.row["current"])
    ('Jan 25 – Apr 25', 'Jan 24 – Apr 24', 154, 207)
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


# --------------------------------------------------------------------------- widgets


class Explorer(widgets.VBox):
    """The explorer widget: area, crime type, window end and length; table and chart.

    Built by :func:`explorer`.  The controls are attributes (``area``,
    ``crime_type``, ``end``, ``months``), the status line is ``status``, the
    output area is ``output``; ``view`` is the :class:`ExploreView` on show and
    ``error`` the last error message (empty when the view is fine).
    """

    def __init__(
        self,
        records: pd.DataFrame,
        area: str,
        end: str,
        months: int,
        options: dict[str, Any] | None = None,
        improvement: dict[str, str] | None = None,
    ) -> None:
        self.records = records
        self.areas = explore_areas(records)
        self.view_options = dict(options or {})
        self.improvement = dict(improvement or {})
        self.view: ExploreView | None = None
        self.error = ""
        self._busy = False
        self.area = widgets.Dropdown(
            options=[(f"{a} ({n} month{'s' if n != 1 else ''})", a)
                     for a, n in zip(self.areas["area"], self.areas["months_with_data"],
                                     strict=True)],
            value=area, description="Area", style={"description_width": "initial"},
            layout=widgets.Layout(width="360px"))
        self.crime_type = widgets.Dropdown(
            options=list(EXPLORE_CRIME_TYPES), value=TOTAL_CRIME, description="Crime type",
            style={"description_width": "initial"}, layout=widgets.Layout(width="360px"))
        self.end = widgets.Dropdown(description="Window ends",
                                    style={"description_width": "initial"})
        self._set_end_options(area, end)
        self.months = widgets.IntSlider(
            value=months, min=1, max=MAX_WINDOW_MONTHS, step=1, description="Months",
            continuous_update=False)
        self.status = widgets.HTML()
        self.output = widgets.Output()
        super().__init__(children=[
            widgets.HBox([self.area, self.crime_type]),
            widgets.HBox([self.end, self.months]),
            self.status,
            self.output,
        ])
        for control in (self.area, self.crime_type, self.end, self.months):
            control.observe(self._on_change, names="value")
        self.refresh()

    def _set_end_options(self, area: str, wanted: str | None) -> None:
        months = sorted(set(self.records.loc[self.records["area"] == area, "month"]))
        values = [str(m) for m in months]
        self.end.options = [(f"{m:%b %Y}", str(m)) for m in months]
        self.end.value = wanted if wanted in values else values[-1]

    def _on_change(self, change: dict[str, Any]) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            if change["owner"] is self.area:
                self._set_end_options(self.area.value, self.end.value)
        finally:
            self._busy = False
        self.refresh()

    def refresh(self) -> None:
        """Rebuild the view from the controls and show it."""
        try:
            self.view = explore_view(
                self.records, self.area.value, self.crime_type.value, self.end.value,
                int(self.months.value),
                improvement=self.improvement.get(self.crime_type.value, "decrease"),
                **self.view_options)
        except SAError as exc:
            self.view, self.error = None, str(exc)
            self.status.value = ""
            self._show(f"<p style='color:#d5281b'><strong>Cannot show this view:</strong> "
                       f"{html.escape(self.error)}</p>", self.error)
            return
        self.error = ""
        v = self.view
        self.status.value = (f"<p>{html.escape(v.coverage)} Window {html.escape(v.current.label)} "
                             f"compared with {html.escape(v.previous.label)}.</p>")
        self._show(v.text_html(), v.sentence, v.chart)

    def _show(self, body: str, text: str, chart: Chart | None = None) -> None:
        # Setting the outputs directly (not `with output:`) works the same in a kernel and in
        # tests; the chart is a plain image/png output, which every front end renders.
        outputs = [{"output_type": "display_data",
                    "data": {"text/html": body, "text/plain": text}, "metadata": {}}]
        if chart is not None:
            outputs.append({
                "output_type": "display_data",
                "data": {"image/png": base64.b64encode(chart.to_png()).decode("ascii"),
                         "text/plain": chart.alt_text},
                "metadata": {},
            })
        self.output.outputs = tuple(outputs)


def explorer(
    parameters_file: str | Path = "parameters/2025.yaml",
    records: pd.DataFrame | None = None,
) -> Explorer:
    """The interactive explorer: pick an area, a crime type and a window.

    Shows the change table (the window against the same months a year earlier)
    and the SPC chart of every month with data, updating on every change.
    Nothing is written to ``outputs/``.

    Parameters
    ----------
    parameters_file : path, default "parameters/2025.yaml"
        The assessment's parameters file: its area, window end and length are
        the starting selection, its thresholds and improvement directions are used.
    records : DataFrame, optional
        From :func:`explore_records` (default: loaded from the parameters file).

    Returns
    -------
    Explorer
        An ``ipywidgets.VBox``; display it in a notebook.

    Examples
    --------
    >>> ui = explorer()
    >>> ui.area.value, ui.end.value, ui.months.value
    ('Maidstone', '2025-12', 12)
    >>> ui.crime_type.value = "Drugs"
    >>> ui.view.crime_type
    'Drugs'
    """
    params = load_parameters(parameters_file)
    if records is None:
        records = explore_records(parameters_file)
    area = _default_area(params, explore_areas(records))
    months = max(1, min(params.window.months, MAX_WINDOW_MONTHS))
    return Explorer(records, area, params.window.end, months,
                    options={"small_base": params.thresholds.small_base,
                             "alpha": params.thresholds.significance},
                    improvement=dict(params.improvement))


def _default_area(params: Parameters, areas: pd.DataFrame) -> str:
    if areas.empty:
        raise OptionError("no police.uk records were loaded, so there is nothing to explore")
    code = params.area.code
    lk = load_csp_lookup()
    codes = {code, *lk.loc[lk["lad_code"] == code, "csp_code"]}
    for col, wanted in (("area_code", codes), ("area", {params.area.name})):
        hit = areas.loc[areas[col].isin(wanted), "area"]
        if len(hit):
            return str(hit.iloc[0])
    return str(areas["area"].iloc[0])
