"""Data-quality checks on police.uk records, returned as one table of flags.

The first notebook prints this table so that no reader mistakes a gap, a
partial month or a change of geography for a real change in crime.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from sa_lib.data.police_uk import monthly_counts
from sa_lib.errors import OptionError
from sa_lib.periods import Window
from sa_lib.rounding import format_number

__all__ = ["data_quality", "implausible_months", "QUALITY_COLUMNS", "DEFAULT_BOUNDS"]

QUALITY_COLUMNS = ["check", "severity", "month", "area", "crime_type", "value", "expected", "detail"]


def implausible_months(
    counts: pd.DataFrame,
    value: str = "count",
    month: str = "month",
    by: list[str] | None = None,
    neighbours: int = 3,
    low: float = 0.7,
    high: float = 1.4,
    alpha: float = 0.001,
) -> pd.DataFrame:
    """Months whose count is implausibly low or high next to the months around them.

    Each month is compared with the median of the loaded months within
    ``neighbours`` months either side.  A month is flagged when its ratio to
    that median is below ``low`` or above ``high`` **and** the difference is
    beyond Poisson noise (exact test, ``p < alpha``).  The most extreme month is
    flagged first and left out of its neighbours' references before checking
    again, so one broken month cannot hide or frame another.  Months with no
    loaded neighbours are not judged.

    Parameters
    ----------
    counts : DataFrame
        Monthly counts (``month`` as Period or ``YYYY-MM``).
    value, month : str
        Column names.
    by : list of str, optional
        Series columns (e.g. ``["area", "crime_type"]``).
    neighbours, low, high, alpha
        See above.

    Returns
    -------
    DataFrame
        One row per flagged month: the ``by`` columns, ``month``, ``value``,
        ``expected`` (the neighbours' median) and ``ratio``.

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"month": pd.period_range("2018-10", periods=5, freq="M"),
    ...                   "count": [1498, 930, 542, 1390, 1234]})
    >>> implausible_months(c)[["month", "count", "expected"]]
         month  count  expected
    0  2018-12    542    1312.0
    1  2018-11    930    1390.0
    """
    by = list(by or [])
    if not 0 < low < 1 < high:
        raise OptionError(f"need 0 < low < 1 < high, got low={low}, high={high}")
    rows = []
    for key, g in (counts.groupby(by, sort=True, dropna=False) if by else [((), counts)]):
        g = g.sort_values(month)
        m = pd.PeriodIndex(g[month], freq="M")
        ordinal = np.asarray(m.asi8)
        y = g[value].to_numpy(dtype=float)
        active = np.ones(len(y), dtype=bool)
        while True:
            ref = np.full(len(y), np.nan)
            for i in range(len(y)):
                near = active & (np.abs(ordinal - ordinal[i]) <= neighbours) & (ordinal != ordinal[i])
                if near.any():
                    ref[i] = np.median(y[near])
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = y / ref
            n = y + ref
            k = np.minimum(y, ref)
            p = np.where(np.isfinite(n) & (n > 0),
                         np.minimum(1, 2 * stats.binom.cdf(np.floor(k), np.round(n), 0.5)), 1.0)
            bad = active & np.isfinite(ratio) & ((ratio < low) | (ratio > high)) & (p < alpha)
            if not bad.any():
                break
            worst = np.flatnonzero(bad)[np.argmax(np.abs(np.log(ratio[bad])))]
            active[worst] = False
            keys = key if isinstance(key, tuple) else (key,)
            rows.append({**dict(zip(by, keys, strict=True)), month: m[worst], value: y[worst],
                         "expected": ref[worst], "ratio": ratio[worst]})
    cols = [*by, month, value, "expected", "ratio"]
    out = pd.DataFrame(rows, columns=cols)
    if len(out):
        out[value] = out[value].astype(counts[value].dtype)
    return out


#: (low, high) ratio bounds for each kind of series.  Total crime is large and barely
#: seasonal, so it is held tightly; ASB has a strong summer peak, so it is held loosely.
DEFAULT_BOUNDS = {
    "total_crime": (0.75, 1.33),
    "asb": (0.5, 2.0),
    "crime_type": (0.65, 1.5),
}


def data_quality(
    records: pd.DataFrame,
    window: Window | None = None,
    min_type_volume: int = 30,
    bounds: dict[str, tuple[float, float]] | None = None,
) -> pd.DataFrame:
    """All data-quality flags for a frame from :func:`sa_lib.read_police_uk`.

    Checks, one row per finding:

    * ``missing_month`` - a month of ``window`` (or of the span loaded) with no file;
    * ``implausible_total`` - a month whose total crime (excluding ASB) or ASB is
      implausible next to its neighbours (see :func:`implausible_months`); the
      narrative must warn rather than report a fall;
    * ``implausible_type`` - the same for a crime type with a median of at least
      ``min_type_volume`` a month;
    * ``duplicate_crime_id`` - non-blank Crime IDs that appear more than once;
    * ``no_location`` - rows of the source file with no location (cannot be
      assigned to any area; counted, not included);
    * ``lsoa_vintage_change`` - the month where LSOA codes switch from the 2011
      to the 2021 set (per-LSOA series break there);
    * ``crime_type_new`` / ``crime_type_missing`` - a crime type recorded in some
      months but absent in others.

    ``bounds`` overrides :data:`DEFAULT_BOUNDS` (keys ``total_crime``, ``asb``,
    ``crime_type``).

    Returns
    -------
    DataFrame
        Columns ``check, severity`` (``"warning"`` or ``"info"``), ``month``,
        ``area, crime_type, value, expected, detail``.

    Examples
    --------
    >>> from sa_lib.paths import DATA_DIR
    >>> from sa_lib.data.police_uk import read_police_uk
    >>> rec = read_police_uk(DATA_DIR / "police_uk" / "maidstone", area="Maidstone")
    >>> dq = data_quality(rec)
    >>> sorted(str(m) for m in dq.loc[dq.check == "implausible_total", "month"].unique())
    ['2018-11', '2018-12']
    """
    if "month" not in records.columns or "crime_type" not in records.columns:
        raise OptionError("data_quality needs records from read_police_uk()")
    report = records.attrs.get("load_report")
    area = str(records["area"].iloc[0]) if "area" in records and len(records) else ""
    loaded = sorted(set(report["month"].dropna())) if report is not None else sorted(set(records["month"]))
    flags: list[dict] = []

    def add(check: str, severity: str, month: object, detail: str, crime_type: str = "",
            value: float = np.nan, expected: float = np.nan) -> None:
        flags.append({"check": check, "severity": severity, "month": month, "area": area,
                      "crime_type": crime_type, "value": value, "expected": expected,
                      "detail": detail})

    # Missing months
    if window is not None:
        span = list(window.months)
        where = f"the window {window.label}"
    elif loaded:
        span = list(pd.period_range(loaded[0], loaded[-1], freq="M"))
        where = "the span of the data"
    else:
        span, where = [], ""
    have = set(loaded)
    for m in span:
        if m not in have:
            add("missing_month", "warning", m, f"No police.uk file for {m:%b %Y} in {where}; "
                "the month is missing, not zero")

    counts = monthly_counts(records, by=["crime_type"], months=loaded)
    # Totals: crime excluding ASB, and ASB, per month
    is_asb = counts["crime_type"] == "Anti-social behaviour"
    b = {**DEFAULT_BOUNDS, **(bounds or {})}
    total = counts[~is_asb].groupby("month", as_index=False)["count"].sum()
    asb = counts[is_asb].groupby("month", as_index=False)["count"].sum()
    found = pd.concat([
        implausible_months(total.assign(series="Total crime (excluding ASB)"), by=["series"],
                           low=b["total_crime"][0], high=b["total_crime"][1]),
        implausible_months(asb.assign(series="Anti-social behaviour"), by=["series"],
                           low=b["asb"][0], high=b["asb"][1]),
    ])
    for _, r in found.iterrows():
        word = "low" if r["ratio"] < 1 else "high"
        add("implausible_total", "warning", r["month"],
            f"{r['series']} in {r['month']:%b %Y} ({int(r['count']):,}) is implausibly {word}: "
            f"{format_number(100 * r['ratio'], 0)}% of the neighbouring months' median "
            f"({format_number(r['expected'], 0)}). "
            "Treat as a data problem (e.g. records missing at source), not a real change.",
            crime_type=r["series"], value=r["count"], expected=r["expected"])
    med = counts.groupby("crime_type")["count"].median()
    big = med[med >= min_type_volume].index
    by_type = counts[counts["crime_type"].isin(big)]
    for _, r in implausible_months(by_type, by=["crime_type"], low=b["crime_type"][0],
                                   high=b["crime_type"][1]).iterrows():
        word = "low" if r["ratio"] < 1 else "high"
        add("implausible_type", "warning", r["month"],
            f"{r['crime_type']} in {r['month']:%b %Y} ({int(r['count']):,}) is implausibly {word} "
            f"next to neighbouring months (median {format_number(r['expected'], 0)}).",
            crime_type=r["crime_type"], value=r["count"], expected=r["expected"])

    # Duplicate Crime IDs (ASB rows have none, so blanks are ignored)
    if "crime_id" in records.columns:
        ids = records.loc[records["crime_id"].fillna("") != "", ["crime_id", "month"]]
        dup = ids[ids.duplicated("crime_id", keep=False)]
        for m, g in dup.groupby("month", sort=True):
            n = g["crime_id"].nunique()
            add("duplicate_crime_id", "info", m,
                f"{n} Crime ID(s) appear more than once in {m:%b %Y} ({len(g)} rows); rows are "
                "counted as data.police.uk publishes them", value=n)

    if report is not None:
        for _, r in report.iterrows():
            if r["rows_no_location"]:
                add("no_location", "info", r["month"],
                    f"{int(r['rows_no_location']):,} rows of the source file for {r['month']:%b %Y} "
                    "have no location and cannot be assigned to any area (not counted)",
                    value=r["rows_no_location"])
        vintage = report.dropna(subset=["month"]).sort_values("month")
        is_2021 = vintage["lsoa_codes_not_in_2011_lookup"] > 0
        change = is_2021.ne(is_2021.shift()) & vintage["month"].ne(vintage["month"].iloc[0])
        for _, r in vintage[change].iterrows():
            to = "2021" if r["lsoa_codes_not_in_2011_lookup"] > 0 else "2011"
            add("lsoa_vintage_change", "info", r["month"],
                f"LSOA codes switch to the {to} set from {r['month']:%b %Y}: area totals are "
                "unaffected, but series for single LSOAs break here")

    present = counts[counts["count"] > 0].groupby("crime_type")["month"].apply(set)
    for ct, months_with in present.items():
        absent = [m for m in loaded if m not in months_with]
        if absent and len(months_with) < len(loaded):
            first = min(months_with)
            if all(m < first for m in absent):
                add("crime_type_new", "info", first,
                    f"{ct} first appears in {first:%b %Y}", crime_type=ct)
            else:
                shown = ", ".join(f"{m:%b %Y}" for m in absent[:6])
                add("crime_type_missing", "info", absent[0],
                    f"{ct} has no records in {len(absent)} loaded month(s): {shown}",
                    crime_type=ct)
    for ct in sorted(set(counts["crime_type"]) - set(present.index)):
        add("crime_type_missing", "info", np.nan, f"{ct} has no records in any month", crime_type=ct)

    out = pd.DataFrame(flags, columns=QUALITY_COLUMNS)
    order = {c: i for i, c in enumerate(["missing_month", "implausible_total", "implausible_type",
                                          "lsoa_vintage_change", "duplicate_crime_id",
                                          "crime_type_new", "crime_type_missing", "no_location"])}
    out["_o"] = out["check"].map(order)
    out = out.sort_values(["_o", "month", "crime_type"], kind="stable").drop(columns="_o")
    return out.reset_index(drop=True)
