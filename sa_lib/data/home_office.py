"""Loaders for ONS/Home Office recorded crime by CSP and ONS mid-year population.

* ONS "Police force area data tables", Table C2: police recorded crime for 23
  headline offence groups by Community Safety Partnership, England and Wales
  (year ending June 2025 is bundled).  Sub-groups are nested: never sum all columns.
* ONS mid-year population estimates by local authority, 2001-2024.

Caveats carried into the report (see ``data/README.md``): combined CSPs
(e.g. Dartford and Gravesham) cover several local authorities, so their
population is the sum of their districts'; partnerships that are former districts
of a reorganised council get a share of its estimate
(:mod:`sa_lib.data.csp_population`); 2012-2020 estimates are the
original, pre-Census-2021 series, so rates across 2020/21 have a step; later
Home Office CSP releases record several Kent districts under "Unassigned Kent"
from 2024, so any Kent CSP series from 2024 must be checked for that break.
"""

from __future__ import annotations

import gzip
import io
import re
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from sa_lib.data.csv_text import (
    COUNT_LIMIT,
    COUNT_LIMIT_TEXT,
    csv_records,
    decode_csv_bytes,
    not_csv_problem,
    quoted,
)
from sa_lib.data.geography import load_csp_lookup
from sa_lib.errors import DataValidationError, OptionError, Problem
from sa_lib.paths import DATA_DIR
from sa_lib.periods import Window

__all__ = [
    "TOTAL_RECORDED_CRIME",
    "read_csp_recorded_crime",
    "read_population",
    "population_year",
    "area_population",
    "csp_rates",
    "csp_table_files",
    "csp_table_period",
    "period_end_month",
    "nearest_csp_table",
]

CSP_TABLE = DATA_DIR / "home_office" / "policeforceareatablesyejune25final_TableC2_csp.csv"
POPULATION_TABLE = DATA_DIR / "population" / "la_population_mye_2001_2024.csv.gz"
TOTAL_RECORDED_CRIME = "Total recorded crime (excluding fraud)"
# The bundled tables are about 1 MB; a gzipped table is never unpacked past this.
_MAX_TABLE_BYTES = 256 << 20
_ID_COLUMNS = {
    "Police Force Area code": "pfa_code",
    "Police Force Area name": "pfa_name",
    "Community Safety Partnership code": "csp_code",
    "Community Safety Partnership name": "csp_name",
    "Local Authority code": "la_code",
    "Local Authority name": "la_name",
}


def _clean_header(name: str) -> str:
    name = " ".join(str(name).split())
    return re.sub(r"\s*\[note \d+\]", "", name).strip()


def read_csp_recorded_crime(path: str | Path | None = None) -> pd.DataFrame:
    """Read ONS Table C2 (recorded crime by CSP) into a tidy long frame.

    Parameters
    ----------
    path : path, optional
        The CSV export of Table C2; defaults to the bundled year ending June 2025.

    Returns
    -------
    DataFrame
        ``period, pfa_code, pfa_name, row_type`` (``force_total``, ``csp``,
        ``unassigned`` or ``other``), ``csp_code, csp_name, la_code, la_name,
        offence_group, offences`` (nullable integer; ``[x]`` is missing).

    Raises
    ------
    DataValidationError
        Every problem at once, naming the file, the row as a spreadsheet shows it
        (the header is row 8 in the ONS layout) and the column: a missing file, an
        empty or undecodable file, a missing column, a truncated row, a cell that is
        not a whole number >= 0 (or ``[x]``), a CSP listed twice.

    Examples
    --------
    >>> t = read_csp_recorded_crime()
    >>> m = t[(t.csp_code == "E22000142") & (t.offence_group == TOTAL_RECORDED_CRIME)]
    >>> int(m["offences"].item())
    14672
    """
    path = Path(path) if path else CSP_TABLE
    file = str(path)
    records = _csv_records(path, "Police Force")
    period = _title_period(records)
    skip = next((i for i, r in enumerate(records[:12]) if r and r[0].startswith("Police Force")),
                None)
    if skip is None:
        raise DataValidationError([Problem(file, None, None,
                                           "no header row starting 'Police Force Area code' in the "
                                           "first 12 rows (expected the ONS Table C2 layout)")])
    header_row = skip + 1  # spreadsheet row of the header (a CSV record may span lines)
    columns = [_clean_header(c) for c in records[skip]]
    problems = [Problem(file, header_row, c, f"required column {c!r} is missing (expected the "
                        "ONS Table C2 columns)")
                for c in [*_ID_COLUMNS, TOTAL_RECORDED_CRIME] if c not in columns]
    body = records[skip + 1:]
    rows = np.arange(header_row + 1, header_row + 1 + len(body))
    for r, rec in zip(rows, body, strict=True):
        if rec and len(rec) != len(columns) and "".join(rec).strip():
            problems.append(Problem(file, int(r), columns[len(rec)] if len(rec) < len(columns)
                                    else None, f"has {len(rec)} field(s) but the header has "
                                    f"{len(columns)} (is the last line truncated?)"))
    if problems:
        raise DataValidationError(problems)
    keep = [i for i, rec in enumerate(body) if len(rec) == len(columns)]
    raw = pd.DataFrame([body[i] for i in keep], columns=columns, dtype=str)
    raw["row"] = rows[keep]
    raw = raw.loc[:, [c for c in raw.columns if c]]
    raw = raw.rename(columns=_ID_COLUMNS)
    for c in _ID_COLUMNS.values():
        raw[c] = raw[c].str.strip().str.replace(r"\s*\[note \d+\]", "", regex=True)
    raw = raw[raw["pfa_code"] != ""]
    offence_cols = [c for c in raw.columns if c not in _ID_COLUMNS.values() and c != "row"]
    raw["row_type"] = np.select(
        [raw["csp_code"] != "", raw["csp_name"].str.startswith("Unassigned"),
         raw["csp_name"] == ""],
        ["csp", "unassigned", "force_total"], "other",
    )
    csp = raw[raw["row_type"] == "csp"]
    repeat = csp.duplicated("csp_code", keep="first")
    first_row = csp.groupby("csp_code")["row"].transform("first")
    problems += [Problem(file, int(r.row), "Community Safety Partnership code",
                         f"{r.csp_code} ({r.csp_name}) already appears on row {int(f)}; "
                         "expected one row per CSP")
                 for r, f in zip(csp[repeat].itertuples(), first_row[repeat], strict=True)]
    long = raw.melt(id_vars=[*_ID_COLUMNS.values(), "row_type", "row"], value_vars=offence_cols,
                    var_name="offence_group", value_name="text")
    text = long["text"].str.strip().str.replace(",", "", regex=False)
    is_x = text.isin(["[x]", "[z]", "[c]", ""])
    bad = ~is_x & ~text.str.fullmatch(r"\d+")
    big = ~is_x & ~bad & _too_many_digits(text)
    if (bad | big).any():
        rows_bad = long[bad | big].assign(big=big).sort_values("row").head(10)
        problems += [
            Problem(file, int(r.row), r.offence_group,
                    f"{r.csp_name or r.pfa_name}: {quoted(r.text.strip())} "
                    + (f"is too large for a count (expected a whole number below "
                       f"{COUNT_LIMIT_TEXT}, or [x] for unavailable)" if r.big else
                       "is not a count (expected a whole number >= 0, or [x] for unavailable)"))
            for r in rows_bad.itertuples()]
    if problems:
        raise DataValidationError(problems)
    long["offences"] = pd.array(np.where(is_x, None, text), dtype="Int64") if len(long) else []
    long["period"] = period
    cols = ["period", "pfa_code", "pfa_name", "row_type", "csp_code", "csp_name", "la_code",
            "la_name", "offence_group", "offences"]
    return long[cols].reset_index(drop=True)


def _title_period(records: list[list[str]]) -> str:
    """``year ending <Month YYYY>`` from a Table C2's title line ("" when it has none)."""
    head = [",".join(r) for r in records[:12]]
    m = re.search(r"year ending (\w+ \d{4})", head[0] if head else "")
    return f"year ending {m.group(1)}" if m else ""


def period_end_month(period: str) -> pd.Period | None:
    """The last month of a ``year ending <Month YYYY>`` period (None when it is not one).

    Examples
    --------
    >>> period_end_month("year ending June 2025")
    Period('2025-06', 'M')
    >>> period_end_month("") is None
    True
    """
    m = re.fullmatch(r"year ending ([A-Za-z]+) (\d{4})", period.strip())
    if not m:
        return None
    try:
        return pd.Period(pd.Timestamp(f"1 {m.group(1)} {m.group(2)}"), "M")
    except ValueError:
        return None


def csp_table_period(path: str | Path) -> str:
    """The period a Table C2 export covers, from its title line (``year ending June 2025``).

    Raises
    ------
    DataValidationError
        The file cannot be read, or its title line names no ``year ending <Month YYYY>``.

    Examples
    --------
    >>> csp_table_period(CSP_TABLE)
    'year ending June 2025'
    """
    path = Path(path)
    period = _title_period(_csv_records(path, "Police Force"))
    if period_end_month(period) is None:
        raise DataValidationError([Problem(str(path), 1, None, (
            "the title line names no period; expected the ONS Table C2 title, e.g. '... "
            "England and Wales, year ending June 2025', to choose the table nearest the "
            "review window"))])
    return period


def csp_table_files(paths: list[Path]) -> list[Path]:
    """The Table C2 files among ``paths``: a file as given, a folder's ``*.csv``/``*.csv.gz``.

    Examples
    --------
    >>> [p.name for p in csp_table_files([CSP_TABLE.parent])]
    ['policeforceareatablesyejune25final_TableC2_csp.csv']
    """
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.iterdir() if f.is_file()
                          and f.name.lower().endswith((".csv", ".csv.gz")))
        else:
            out.append(p)
    return list(dict.fromkeys(out))


def nearest_csp_table(paths: list[Path], window_end: pd.Period) -> tuple[Path, str] | None:
    """The Table C2 whose 12 months end nearest ``window_end``, and its period.

    One file is used as given; among several, each title line must name its period
    (``year ending <Month YYYY>``), and the table ending nearest the review window's
    last month wins (on a tie, the earlier one: its months are ones the report
    reviews).  ``None`` when the folders hold no table.

    Raises
    ------
    DataValidationError
        Among several tables, one whose title names no period.

    Examples
    --------
    >>> path, period = nearest_csp_table([CSP_TABLE], pd.Period("2022-10", "M"))
    >>> period
    'year ending June 2025'
    """
    files = csp_table_files(paths)
    if not files:
        return None
    if len(files) == 1:
        return files[0], _title_period(_csv_records(files[0], "Police Force"))
    periods = [(f, csp_table_period(f)) for f in files]
    ends = [period_end_month(p) for _, p in periods]
    best = min(range(len(periods)), key=lambda i: (abs((ends[i] - window_end).n),  # type: ignore[operator]
                                                   ends[i] > window_end))  # type: ignore[operator]
    return periods[best]


def _csv_records(path: Path, header_prefix: str = "") -> list[list[str]]:
    """Every CSV record of a (possibly gzipped) UTF-8 or Windows-1252 file, checked.

    Raises DataValidationError for a missing, empty or undecodable file, a file that is not
    CSV text whatever its name (a workbook, UTF-16, PDF, a gzip file not named ``.gz``...)
    and for malformed CSV (unbalanced quotes), naming the row and column as a spreadsheet
    shows them.
    """
    file = str(path)
    if not path.is_file():
        raise DataValidationError([Problem(file, None, None, "file not found")])
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataValidationError([Problem(file, None, None, f"cannot be read: "
                                           f"{exc.strerror or exc}")]) from None
    # A gzipped table is read when its name says so (the bundled population file is
    # .csv.gz); its content is then checked like any other file's.
    gzipped = raw[:2] == b"\x1f\x8b" and path.name.lower().endswith(".gz")
    if gzipped:
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as fh:
                raw = fh.read(_MAX_TABLE_BYTES + 1)  # bounded: a gzip bomb is not unpacked
        except (OSError, EOFError, zlib.error) as exc:
            raise DataValidationError([Problem(file, None, None,
                                               f"is not a readable gzip file: {exc}")]) from None
        if len(raw) > _MAX_TABLE_BYTES:
            raise DataValidationError([Problem(file, None, None, (
                f"decompresses to more than {_MAX_TABLE_BYTES >> 20} MB; expected an ONS table "
                "of a few MB (is this the right file?)"))])
    not_csv = not_csv_problem(file, raw, gzip_allowed=True, decompressed=gzipped)
    if not_csv is not None:
        raise DataValidationError([not_csv])
    text, _, problems = decode_csv_bytes(raw, file, header_prefix)
    if text is None:
        raise DataValidationError(problems)
    if not text.strip():
        raise DataValidationError([Problem(file, None, None, "file is empty; expected a header "
                                           "row and one row per record")])
    records, problems = csv_records(text, file)
    if problems:
        raise DataValidationError(problems)
    return records


def _too_many_digits(digits: pd.Series) -> pd.Series:
    """Whole numbers (text of digits) of :data:`COUNT_LIMIT` or more, decided on the text."""
    return digits.str.lstrip("0").str.len() > len(str(COUNT_LIMIT)) - 1


def read_population(path: str | Path | None = None) -> pd.DataFrame:
    """ONS mid-year population estimates by area and year (tidy).

    Returns
    -------
    DataFrame
        ``area_code, area_name, geography, year, population``.

    Raises
    ------
    DataValidationError
        Every problem at once, naming the file, row (header = row 1) and column: a
        missing, empty, header-only or undecodable file, a missing column, a
        truncated row, a year that is not ``yyyy``, a population that is not a
        whole number >= 0, an area and year given twice.

    Examples
    --------
    >>> p = read_population()
    >>> int(p[(p.area_code == "E07000110") & (p.year == 2024)]["population"].item())
    187767
    """
    path = Path(path) if path else POPULATION_TABLE
    file = str(path)
    records = _csv_records(path)
    header = [h.strip() for h in records[0]]
    need = ["area_code", "area_name", "year", "population"]
    problems = [Problem(file, 1, c, f"required column {c!r} is missing (expected columns "
                        f"{', '.join(need)}; geography optional)") for c in need if c not in header]
    body = records[1:]
    for r, rec in enumerate(body, start=2):
        if len(rec) != len(header) and "".join(rec).strip():
            problems.append(Problem(file, r, header[len(rec)] if len(rec) < len(header) else None,
                                    f"has {len(rec)} field(s) but the header has {len(header)} "
                                    "(is the last line truncated?)"))
    if problems:
        raise DataValidationError(problems)
    rows = np.array([r for r, rec in enumerate(body, start=2) if len(rec) == len(header)])
    if not len(rows):
        raise DataValidationError([Problem(file, None, None, "has a header but no data rows; "
                                           "expected one row per area and year")])
    p = pd.DataFrame([body[r - 2] for r in rows], columns=header, dtype=str)
    p = p.apply(lambda c: c.str.strip())
    p["row"] = rows
    if "geography" not in p:
        p["geography"] = ""
    year = pd.to_numeric(p["year"].where(p["year"].str.fullmatch(r"\d{4}")), errors="coerce")
    pop = pd.to_numeric(p["population"].str.replace(",", "", regex=False)
                        .where(lambda v: v.str.fullmatch(r"\d+")), errors="coerce")
    problems += [Problem(file, int(r), "year", f"{quoted(v)} is not a year (expected yyyy, e.g. 2024)")
                 for r, v in zip(p["row"][year.isna()], p["year"][year.isna()], strict=True)][:10]
    problems += [Problem(file, int(r), "population", f"{quoted(v)} is not a population (expected "
                         "a whole number >= 0)")
                 for r, v in zip(p["row"][pop.isna()], p["population"][pop.isna()],
                                 strict=True)][:10]
    big = pop.notna() & _too_many_digits(p["population"].str.replace(",", "", regex=False))
    problems += [Problem(file, int(r), "population", f"{quoted(v)} is too large for a population "
                         f"(expected a whole number below {COUNT_LIMIT_TEXT})")
                 for r, v in zip(p["row"][big], p["population"][big], strict=True)][:10]
    problems += [Problem(file, int(r), "area_code", "is blank; expected an ONS area code")
                 for r in p["row"][p["area_code"] == ""]][:10]
    key = pd.DataFrame({"area_code": p["area_code"], "year": year})
    repeat = key.duplicated(keep="first") & year.notna()
    if repeat.any():
        first = p["row"].groupby([key["area_code"], key["year"]]).transform("first")
        problems += [Problem(file, int(r), "year", f"{a} {int(y)} already appears on row {int(f)}; "
                             "expected one estimate per area and year")
                     for r, a, y, f in zip(p["row"][repeat], key["area_code"][repeat],
                                           key["year"][repeat], first[repeat], strict=True)][:10]
    if problems:
        raise DataValidationError(problems)
    out = pd.DataFrame({"area_code": p["area_code"], "area_name": p["area_name"],
                        "geography": p["geography"], "year": year.astype("int64"),
                        "population": pop.astype("int64")})
    return out.reset_index(drop=True)


def population_year(window: Window) -> int:
    """The mid-year estimate a window's rates use: the year of its middle month.

    Examples
    --------
    >>> from sa_lib.periods import rolling_window
    >>> population_year(rolling_window("2016-10")), population_year(rolling_window("2025-06"))
    (2016, 2024)
    """
    return (window.start + (window.n_months - 1) // 2).year


def area_population(
    area_codes: list[str], year: int, population: pd.DataFrame | None = None
) -> tuple[int, int]:
    """Total population of some local authorities for ``year``.

    Falls back to the latest earlier year when ``year`` is not yet published.

    Returns
    -------
    (population, year_used)

    Examples
    --------
    >>> area_population(["E07000107", "E07000109"], 2024)
    (235682, 2024)
    >>> area_population(["E07000110"], 2025)
    (187767, 2024)
    """
    pop = population if population is not None else read_population()
    sel = pop[pop["area_code"].isin(area_codes)]
    found = set(sel["area_code"])
    if set(area_codes) - found:
        raise OptionError(f"no population estimates for {sorted(set(area_codes) - found)}")
    years = sel.groupby("year")["area_code"].nunique()
    usable = years[(years == len(set(area_codes))) & (years.index <= year)]
    if usable.empty:
        raise OptionError(f"no population estimate for {area_codes} in or before {year}")
    y = int(usable.index.max())
    return int(sel.loc[sel["year"] == y, "population"].sum()), y


def csp_rates(
    crime: pd.DataFrame | None = None,
    offence_group: str = TOTAL_RECORDED_CRIME,
    year: int = 2024,
    population: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Offences per 1,000 residents for every CSP, with its rank and the overall rate.

    Every partnership gets its own population once (:func:`sa_lib.data.csp_population.
    csp_populations`): a district's estimate, the sum of a combined partnership's
    districts, or, for partnerships that are former districts of a reorganised council
    (Buckinghamshire, the Northamptonshires, Cumberland...), the council's estimate split
    in proportion to the former districts' populations.  The overall rate is the table's
    partnership total (every CSP row) over the population of England and Wales.
    ``year`` falls back to the latest earlier estimate when it is not yet published.

    Returns
    -------
    DataFrame
        ``csp_code, csp_name, pfa_name, offences, population, population_year,
        rate_per_1000, rank`` (1 = highest rate among ranked CSPs), ``n_ranked`` and
        ``population_basis`` (how the population was made).  ``attrs``:
        ``overall_rate`` (per 1,000), ``partnership_total``,
        ``england_wales_population``, ``population_year``, ``unassigned`` (pieces of
        population in no partnership) and ``no_population`` (partnerships without one).

    Examples
    --------
    >>> r = csp_rates()
    >>> m = r[r.csp_code == "E22000142"].iloc[0]
    >>> round(float(m.rate_per_1000), 2), int(m.population)
    (78.14, 187767)
    >>> round(r.attrs["overall_rate"], 2), int(r.attrs["partnership_total"])
    (82.56, 5102703)
    """
    from sa_lib.data.csp_population import csp_populations

    crime = crime if crime is not None else read_csp_recorded_crime()
    if offence_group not in set(crime["offence_group"]):
        raise OptionError(f"offence_group {offence_group!r} not in the table; choose from "
                          f"{sorted(set(crime['offence_group']))}")
    pop = population if population is not None else read_population()
    c = crime[(crime["row_type"] == "csp") & (crime["offence_group"] == offence_group)].copy()
    p = csp_populations(c, pop, year, load_csp_lookup())
    c["population"] = p["population"].to_numpy()
    c["population_basis"] = p["population_basis"].to_numpy()
    c["population_year"] = p.attrs["population_year"]
    c["rate_per_1000"] = c["offences"].astype(float) / c["population"] * 1000
    c["rank"] = c["rate_per_1000"].rank(ascending=False, method="min").astype("Int64")
    c["n_ranked"] = int(c["rate_per_1000"].notna().sum())
    out = c[["csp_code", "csp_name", "pfa_name", "offences", "population", "population_year",
             "rate_per_1000", "rank", "n_ranked", "population_basis"]].reset_index(drop=True)
    total = float(c["offences"].astype(float).sum())
    out.attrs.update({
        "partnership_total": total,
        "overall_rate": total / p.attrs["england_wales_population"] * 1000,
        **p.attrs,
    })
    return out
