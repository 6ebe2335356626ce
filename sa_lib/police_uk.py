"""Loader for data.police.uk street-level crime files (``YYYY-MM-<force>-street.csv``).

Files are parsed with pyarrow's CSV reader and each parsed file is cached as
Parquet keyed by the file's SHA-256, so a rerun never parses the same CSV
twice.  Area selection happens in Arrow before anything is converted to pandas.

Counting rules that matter:

* anti-social behaviour rows have no Crime ID by design, so everything is counted
  by **row** and crime type, never by Crime ID;
* rows with no location (blank LSOA) cannot belong to any area; they are left out
  of area selections but counted in the load report;
* police.uk street data are location-anonymised and are not the force's
  recorded-crime total.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from sa_lib.errors import DataValidationError, OptionError, Problem
from sa_lib.geography import Area, load_lsoa_lookup, resolve_area
from sa_lib.paths import PROJECT_ROOT

__all__ = [
    "POLICE_UK_COLUMNS",
    "CRIME_TYPES",
    "find_street_files",
    "read_police_uk",
    "load_report",
    "monthly_counts",
]

POLICE_UK_COLUMNS = (
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
    "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context",
)
_SNAKE = {c: re.sub(r"[^a-z]+", "_", c.lower()).strip("_") for c in POLICE_UK_COLUMNS}
#: The 14 police.uk street-level crime categories.
CRIME_TYPES = (
    "Anti-social behaviour", "Bicycle theft", "Burglary", "Criminal damage and arson", "Drugs",
    "Other crime", "Other theft", "Possession of weapons", "Public order", "Robbery",
    "Shoplifting", "Theft from the person", "Vehicle crime", "Violence and sexual offences",
)
_FILE_PATTERN = re.compile(r"^(\d{4}-\d{2})-[a-z0-9-]+-street\.csv(\.gz)?$")
# Bump when the parsed layout changes, so old cache files are not reused.
_PARSER_VERSION = 2


def default_cache_dir() -> Path:
    """Where parsed months are cached: ``$SA_CACHE_DIR`` or ``<project>/.cache``."""
    return Path(os.environ.get("SA_CACHE_DIR", PROJECT_ROOT / ".cache")) / "police_uk"


def find_street_files(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    """Every street-level file in a folder tree, a single file, or a list of either.

    Examples
    --------
    >>> from sa_lib.paths import DATA_DIR
    >>> files = find_street_files(DATA_DIR / "police_uk" / "maidstone")
    >>> files[0].name
    '2018-10-kent-street.csv.gz'
    """
    items = [paths] if isinstance(paths, str | Path) else list(paths)
    if not items:
        raise OptionError("no police.uk paths were given")
    found: list[Path] = []
    problems = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            hits = sorted(f for f in p.rglob("*") if f.is_file() and _FILE_PATTERN.match(f.name))
            if not hits:
                problems.append(Problem(str(p), None, None,
                                        "folder holds no YYYY-MM-<force>-street.csv(.gz) files"))
            found.extend(hits)
        elif p.is_file():
            found.append(p)
        else:
            problems.append(Problem(str(p), None, None, "file or folder not found"))
    if problems:
        raise DataValidationError(problems)
    return sorted(dict.fromkeys(found), key=lambda f: (f.name, str(f)))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _parse_csv(path: Path) -> pa.Table:
    """Parse and validate one street file into an Arrow table with snake_case columns."""
    with path.open("rb") as fh:
        head = fh.read(2)
    compression = "gzip" if head == b"\x1f\x8b" else None
    try:
        stream = pa.input_stream(str(path), compression=compression)
        first = stream.read(1 << 16).decode("utf-8-sig", errors="replace").splitlines()
    except OSError as exc:
        raise DataValidationError([Problem(str(path), None, None, f"cannot be read: {exc}")]) from None
    if not first or not first[0].strip():
        raise DataValidationError([Problem(str(path), None, None, "file is empty")])
    # csv.reader, so a quoted header ("Crime ID","Month",...) is read as well as a plain one.
    cols = [c.strip() for c in next(csv.reader([first[0]]))]
    missing = [c for c in POLICE_UK_COLUMNS if c not in cols]
    extra = [c for c in cols if c not in POLICE_UK_COLUMNS]
    if missing or extra:
        msg = []
        if missing:
            msg.append(f"missing column(s) {missing}")
        if extra:
            msg.append(f"unexpected column(s) {extra}")
        raise DataValidationError([Problem(
            str(path), 1, None,
            "; ".join(msg) + f" (a police.uk street file has {list(POLICE_UK_COLUMNS)})",
        )])
    types = {c: pa.string() for c in POLICE_UK_COLUMNS}
    types["Longitude"] = pa.float64()
    types["Latitude"] = pa.float64()
    try:
        table = pacsv.read_csv(
            pa.input_stream(str(path), compression=compression),
            convert_options=pacsv.ConvertOptions(
                column_types=types, strings_can_be_null=False, quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise DataValidationError([Problem(str(path), _row_from_arrow(str(exc)), None,
                                           f"malformed CSV: {exc}")]) from None
    if table.num_rows == 0:
        raise DataValidationError([Problem(str(path), None, None,
                                           "has a header but no rows (expected one row per crime)")])
    table = table.rename_columns([_SNAKE[c] for c in table.column_names])
    _validate_table(table, path)
    return table


def _row_from_arrow(message: str) -> int | None:
    m = re.search(r"Row #(\d+)", message)
    return int(m.group(1)) if m else None


def _validate_table(table: pa.Table, path: Path) -> None:
    problems: list[Problem] = []
    month = table["month"]
    ok = pc.match_substring_regex(month, r"^\d{4}-(0[1-9]|1[0-2])$")
    bad = np.flatnonzero(~np.asarray(ok.to_numpy(zero_copy_only=False), dtype=bool))
    for i in bad[:10]:
        problems.append(Problem(str(path), int(i) + 2, "Month",
                                f"{month[int(i)].as_py()!r} is not a month (expected YYYY-MM)"))
    if len(bad) > 10:
        problems.append(Problem(str(path), None, "Month", f"... {len(bad) - 10} more bad months"))
    m = _FILE_PATTERN.match(path.name)
    if m and not len(bad):
        other = pc.not_equal(month, m.group(1))
        wrong = np.flatnonzero(np.asarray(other.to_numpy(zero_copy_only=False), dtype=bool))
        for i in wrong[:5]:
            problems.append(Problem(str(path), int(i) + 2, "Month",
                                    f"{month[int(i)].as_py()!r} does not match the file's month "
                                    f"{m.group(1)}"))
    ctype = table["crime_type"]
    unknown = np.flatnonzero(~np.asarray(
        pc.is_in(ctype, pa.array(CRIME_TYPES)).to_numpy(zero_copy_only=False), dtype=bool))
    for i in unknown[:10]:
        problems.append(Problem(str(path), int(i) + 2, "Crime type",
                                f"unknown crime type {ctype[int(i)].as_py()!r} "
                                f"(expected one of the {len(CRIME_TYPES)} police.uk categories)"))
    if problems:
        raise DataValidationError(problems)


def _file_stats(table: pa.Table) -> dict[str, int]:
    """Whole-file figures for the load report (the costly ones: distinct IDs and LSOAs)."""
    codes = pc.unique(table["lsoa_code"])
    ids = pc.filter(table["crime_id"], pc.not_equal(table["crime_id"], ""))
    return {
        "duplicate_crime_ids": len(ids) - len(pc.unique(ids)),
        "lsoa_codes": len(codes),
        "lsoa_codes_not_in_2011_lookup":
            int(pc.sum(pc.invert(pc.is_in(codes, _lookup_2011_codes()))).as_py() or 0),
    }


def _with_file_stats(table: pa.Table) -> pa.Table:
    """The table with its whole-file stats in the schema metadata (kept in the cache)."""
    meta = dict(table.schema.metadata or {})
    meta[b"sa_file_stats"] = json.dumps(_file_stats(table)).encode()
    return table.replace_schema_metadata(meta)


def _read_cached(path: Path, cache_dir: Path | None) -> tuple[pa.Table, str]:
    digest = _sha256(path)
    if cache_dir is None:
        return _with_file_stats(_parse_csv(path)), digest
    target = cache_dir / f"{digest[:40]}-v{_PARSER_VERSION}.parquet"
    if target.exists():
        try:
            return pq.read_table(target), digest
        except (pa.ArrowInvalid, OSError):
            target.unlink(missing_ok=True)  # a damaged cache entry is rebuilt, never trusted
    table = _with_file_stats(_parse_csv(path))
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Unique per process and thread: areas of a batch may parse the same file at once.
    tmp = target.with_suffix(f".tmp{os.getpid()}-{threading.get_ident()}")
    pq.write_table(table, tmp, compression="lz4")  # lz4: about twice as fast to read as zstd
    tmp.replace(target)  # atomic: a killed run never leaves a half-written cache file
    return table, digest


def read_police_uk(
    paths: str | Path | Iterable[str | Path],
    area: str | Sequence[str] | Area | None = None,
    columns: Sequence[str] | None = None,
    cache: bool = True,
    cache_dir: str | Path | None = None,
) -> pd.DataFrame:
    """Read police.uk street-level files into one record-level frame.

    Parameters
    ----------
    paths : path, or list of paths
        Folders (searched recursively for ``YYYY-MM-<force>-street.csv`` or
        ``.csv.gz``), single files, or a list mixing both; any force, any months.
    area : str, list of str or Area, optional
        Local authority or CSP code (through the bundled lookups, both LSOA
        vintages), a list of LSOA codes, or an LSOA name prefix such as
        ``"Maidstone"``.  ``None`` keeps every row.
    columns : list of str, optional
        Only these (snake_case) columns; ``month``, ``crime_type`` and ``area``
        are always included.
    cache : bool, default True
        Reuse parsed months from the Parquet cache (keyed by file hash).
    cache_dir : path, optional
        Cache folder (default ``$SA_CACHE_DIR`` or ``<project>/.cache``).

    Returns
    -------
    DataFrame
        One row per record: ``crime_id, month`` (Period[M]), ``reported_by,
        falls_within, longitude, latitude, location, lsoa_code, lsoa_name,
        crime_type, last_outcome_category, context, area, source_file``.
        ``attrs["load_report"]`` holds one row per file (see :func:`load_report`).

    Raises
    ------
    DataValidationError
        A path is missing, or a file is empty, has the wrong columns, bad months
        or unknown crime types (file, row and column named).

    Examples
    --------
    >>> from sa_lib.paths import DATA_DIR
    >>> rec = read_police_uk(DATA_DIR / "police_uk" / "maidstone", area="E07000110")
    >>> str(rec["month"].min()), str(rec["month"].max())
    ('2018-10', '2025-12')
    >>> int((rec["month"] == pd.Period("2025-01", "M")).sum())
    1337
    """
    files = find_street_files(paths)
    sel = area if isinstance(area, Area) or area is None else resolve_area(area)
    cdir = (Path(cache_dir) if cache_dir else default_cache_dir()) if cache else None
    wanted = None
    if columns is not None:
        unknown = [c for c in columns if c not in _SNAKE.values() and c not in ("area", "source_file")]
        if unknown:
            raise OptionError(f"unknown column(s) {unknown}; choose from {list(_SNAKE.values())}")
        wanted = list(dict.fromkeys(["month", "crime_type", "lsoa_code", "lsoa_name", "crime_id",
                                     *[c for c in columns if c in _SNAKE.values()]]))
    lookup_codes = _lookup_2011_codes()
    frames, report = [], []
    for f in files:
        table, digest = _read_cached(f, cdir)
        if wanted is not None:
            table = table.select(wanted)
        rows_in_file = table.num_rows
        no_loc = pc.equal(table["lsoa_code"], "")
        n_no_loc = int(pc.sum(no_loc).as_py() or 0)
        if sel is not None:
            table = table.filter(_area_mask(table, sel))
        meta = (table.schema.metadata or {}).get(b"sa_file_stats")
        if sel is None and meta is not None:  # every row kept: the cached whole-file figures
            stats = json.loads(meta)
        else:
            codes = pc.unique(table["lsoa_code"])
            ids = pc.filter(table["crime_id"], pc.not_equal(table["crime_id"], ""))
            stats = {"duplicate_crime_ids": len(ids) - len(pc.unique(ids)),
                     "lsoa_codes": len(codes),
                     "lsoa_codes_not_in_2011_lookup":
                         int(pc.sum(pc.invert(pc.is_in(codes, lookup_codes))).as_py() or 0)}
        months = pc.unique(table["month"]).to_pylist() if table.num_rows else []
        name_month = _FILE_PATTERN.match(f.name)
        report.append({
            "file": str(f.relative_to(PROJECT_ROOT)) if f.is_relative_to(PROJECT_ROOT) else str(f),
            "sha256": digest,
            "month": pd.Period(months[0] if months else name_month.group(1), "M")
            if (months or name_month) else pd.NaT,
            "rows_in_file": rows_in_file,
            "rows_selected": table.num_rows,
            "rows_no_location": n_no_loc,
            **stats,
        })
        df = table.to_pandas()
        df["source_file"] = f.name
        frames.append(df)
    records = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    # Parse each distinct month once: building Periods row by row is the slowest step by far.
    codes, uniques = pd.factorize(records["month"]) if len(records) else ([], [])
    records["month"] = pd.PeriodIndex(uniques, freq="M").take(codes) if len(records) else \
        pd.PeriodIndex([], freq="M")
    records["area"] = sel.name if sel is not None else records.get("falls_within", "all")
    if wanted is not None:
        keep = list(dict.fromkeys(["month", "crime_type", "area", *columns]))
        records = records[keep]
    rep = pd.DataFrame(report)
    records.attrs["load_report"] = rep
    records.attrs["area"] = sel.describe() if sel is not None else "all rows"
    return records


def _lookup_2011_codes() -> pa.Array:
    return pa.array(load_lsoa_lookup()["lsoa_code"].to_numpy(dtype=object), type=pa.string())


def _area_mask(table: pa.Table, area: Area) -> pa.ChunkedArray:
    mask = pc.is_in(table["lsoa_code"], pa.array(sorted(area.lsoa_codes), type=pa.string()))
    for prefix in area.name_prefixes:
        mask = pc.or_(mask, pc.starts_with(table["lsoa_name"], prefix))
    return mask


def load_report(records: pd.DataFrame) -> pd.DataFrame:
    """The per-file load report of a frame from :func:`read_police_uk`.

    Columns: ``file, sha256, month, rows_in_file, rows_selected, rows_no_location`` (rows of the
    whole file with no location, which no area can include),
    ``duplicate_crime_ids`` (non-blank IDs seen twice among selected rows),
    ``lsoa_codes`` and ``lsoa_codes_not_in_2011_lookup`` (greater than zero
    means 2021 LSOA codes).

    Examples
    --------
    >>> from sa_lib.paths import DATA_DIR
    >>> rec = read_police_uk(DATA_DIR / "police_uk" / "maidstone", area="Maidstone")
    >>> rep = load_report(rec)
    >>> int(rep.loc[rep.month == pd.Period("2025-01", "M"), "rows_selected"].item())
    1337
    """
    rep = records.attrs.get("load_report")
    if rep is None:
        raise OptionError("this frame has no load report; it did not come from read_police_uk()")
    return rep


def monthly_counts(
    records: pd.DataFrame,
    by: Sequence[str] = ("area", "crime_type"),
    months: Sequence[pd.Period] | None = None,
) -> pd.DataFrame:
    """Count records per month and group, with explicit zeros.

    Every month that was loaded (from the load report, so a month whose file
    had no rows for the area still appears) is crossed with every observed
    group, so a crime type with no records in a loaded month is a real ``0``.
    Months that were never loaded do not appear: they are missing, not zero.

    Parameters
    ----------
    records : DataFrame
        From :func:`read_police_uk`.
    by : list of str, default ("area", "crime_type")
        Grouping columns besides ``month``.
    months : list of Period, optional
        The months loaded; defaults to the load report's months (or the months
        present in ``records``).

    Returns
    -------
    DataFrame
        ``month`` (Period[M]), the ``by`` columns and ``count`` (int), sorted.

    Examples
    --------
    >>> from sa_lib.paths import DATA_DIR
    >>> rec = read_police_uk(DATA_DIR / "police_uk" / "maidstone", area="Maidstone")
    >>> mc = monthly_counts(rec)
    >>> list(mc.columns)
    ['month', 'area', 'crime_type', 'count']
    >>> row = mc[(mc.month == pd.Period("2016-10", "M"))]
    >>> len(row)
    0
    """
    by = list(by)
    for c in ["month", *by]:
        if c not in records.columns:
            raise OptionError(f"column {c!r} not in the records; columns are {list(records.columns)}")
    if months is None:
        rep = records.attrs.get("load_report")
        if rep is not None and len(rep):
            months = sorted(set(rep["month"].dropna()))
        else:
            months = sorted(set(records["month"]))
    counts = records.groupby(["month", *by], observed=True, dropna=False).size().rename("count")
    groups = records[by].drop_duplicates().sort_values(by)
    grid = pd.MultiIndex.from_frame(
        pd.merge(pd.DataFrame({"month": pd.PeriodIndex(months, freq="M")}), groups, how="cross")
    )
    out = counts.reindex(grid, fill_value=0).reset_index()
    out["count"] = out["count"].astype("int64")
    return out.sort_values(["month", *by], ignore_index=True)
