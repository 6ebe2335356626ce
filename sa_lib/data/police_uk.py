"""Loader for data.police.uk street-level crime files (``YYYY-MM-<force>-street.csv``).

Files are parsed with pyarrow's CSV reader (several files side by side) and each
parsed file is cached as Parquet keyed by the file's SHA-256, so a rerun never
parses the same CSV twice; the digest itself is remembered by file size, times and
inode, so a warm run reads no CSV at all.  Area selection happens in Arrow, and
everything is converted to pandas once, at the end: the text columns with few distinct
values become sorted categoricals (a national year's frame is 0.6 GiB instead of 1.9 GiB),
the crime ID stays Arrow-backed text.  The whole result of a read (files, area, columns)
is kept too, as one uncompressed Arrow file that a repeat read memory-maps.

Counting rules that matter:

* anti-social behaviour rows have no Crime ID by design, so everything is counted
  by **row** and crime type, never by Crime ID;
* rows with no location (blank LSOA) cannot belong to any area; they are left out
  of area selections but counted in the load report;
* police.uk street data are location-anonymised and are not the force's
  recorded-crime total.

The format and parsing of one file are in :mod:`sa_lib.data.police_uk_file`, the
on-disk cache in :mod:`sa_lib.data.police_uk_cache`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sa_lib.data.geography import Area, resolve_area
from sa_lib.data.police_uk_cache import (
    _load_file,
    _read_result,
    _result_key,
    _write_result,
    default_cache_dir,
)
from sa_lib.data.police_uk_file import (  # the file format's constants are the loader's too
    _CATEGORY_COLUMNS,
    _CATEGORY_TYPE,
    _FILE_PATTERN,
    _SNAKE,
    CRIME_TYPES,
    POLICE_UK_COLUMNS,
    _count_blank,
    _encode_categories,
    _on_values,
    _stats,
    refuse_misnamed_gzip,
)
from sa_lib.errors import DataValidationError, OptionError, Problem
from sa_lib.paths import PROJECT_ROOT

__all__ = [
    "POLICE_UK_COLUMNS",
    "CRIME_TYPES",
    "find_street_files",
    "read_police_uk",
    "load_report",
    "monthly_counts",
]


def find_street_files(paths: str | Path | Iterable[str | Path],
                      allow_repeats: bool = False) -> list[Path]:
    """Every street-level file in a folder tree, a single file, or a list of either.

    Parameters
    ----------
    paths : path, or list of paths
        Folders (searched recursively), files, or a list mixing both.
    allow_repeats : bool, default False
        Accept two files for the same month and force (for a caller that resolves the
        overlap itself, as the explorer does); by default that is an error, because the
        month's records would be counted twice.

    Raises
    ------
    DataValidationError
        A path is missing, a folder holds no street files, or (unless ``allow_repeats``) a
        month and force has two files.

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
    by_target = {f.resolve(): f for f in reversed(found)}  # the same file named twice: once
    found = [f for f in found if by_target[f.resolve()] is f]
    # One file per month and force: a month found twice (a re-download in a subfolder, or
    # both the .csv and the .csv.gz) would be counted twice.
    seen: dict[str, Path] = {}
    for f in sorted(found, key=lambda f: (f.name, str(f))):
        key = f.name.removesuffix(".gz")
        if key in seen and _FILE_PATTERN.match(f.name) and not allow_repeats:
            problems.append(Problem(str(f), None, None,
                                    f"is a second file for the month and force of {seen[key]}; "
                                    "expected one street file per month and force (remove one, "
                                    "or its records are counted twice)"))
        seen.setdefault(key, f)
    if problems:
        raise DataValidationError(problems)
    return sorted(found, key=lambda f: (f.name, str(f)))


def _month_ordinal(month: str) -> int:
    return (int(month[:4]) - 1970) * 12 + int(month[5:7]) - 1


def _select_file(path: Path, cache_dir: Path | None, sel: Area | None,
                 wanted: list[str] | None, loaded: tuple[pa.Table, str] | None = None
                 ) -> tuple[pa.Table, np.ndarray, dict]:
    """One file's selected rows (no ``month`` column), their month ordinals and report row.

    ``loaded``: the file's whole table and digest, already read by :func:`_load_checked`
    (a batch reads a force's files once and cuts every area from them).
    """
    table, digest = loaded or _load_checked(path, cache_dir, wanted, sel is None)
    meta = table.schema.metadata or {}
    file_months = json.loads(meta[b"sa_file_months"])
    rows_in_file = table.num_rows
    if b"sa_rows_no_location" in meta:
        n_no_loc = int(meta[b"sa_rows_no_location"])
    else:
        n_no_loc = _count_blank(table["lsoa_code"])
    if sel is not None:
        table = table.filter(_area_mask(table, sel))
    if sel is None and b"sa_file_stats" in meta:  # every row kept: the whole-file figures
        stats = json.loads(meta[b"sa_file_stats"])
    else:
        stats = _stats(table)
    if table.num_rows == 0:
        first, ordinals = None, np.zeros(0, dtype=np.int64)
    elif len(file_months) == 1:
        first = file_months[0]
        ordinals = np.full(table.num_rows, _month_ordinal(first), dtype=np.int64)
    else:
        present = pc.unique(table["month"])
        first = present[0].as_py()
        lookup = np.array([_month_ordinal(m) for m in present.to_pylist()], dtype=np.int64)
        idx = pc.index_in(table["month"], value_set=present)
        ordinals = lookup[np.asarray(idx.to_numpy(zero_copy_only=False), dtype=np.int64)]
    name_month = _FILE_PATTERN.match(path.name)
    row = {
        "file": str(path.relative_to(PROJECT_ROOT)) if path.is_relative_to(PROJECT_ROOT)
        else str(path),
        "sha256": digest,
        "month": pd.Period(first if first else name_month.group(1), "M")
        if (first or name_month) else pd.NaT,
        "rows_in_file": rows_in_file,
        "rows_selected": table.num_rows,
        "rows_no_location": n_no_loc,
        **stats,
    }
    if "month" in table.column_names:
        table = table.drop_columns(["month"])
    table = _encode_categories(table)  # a cached file's columns come back with ``string`` values
    return table.replace_schema_metadata(None).unify_dictionaries(), ordinals, row


def _load_checked(path: Path, cache_dir: Path | None, wanted: list[str] | None,
                  whole_file_stats: bool) -> tuple[pa.Table, str]:
    """One file's table and SHA-256 (see ``police_uk_cache._load_file``), gzip name checked."""
    # The cache is keyed by content, so a gzip file renamed to .csv is refused here too.
    try:
        with path.open("rb") as fh:
            refuse_misnamed_gzip(path, fh.read(2))
    except OSError as exc:
        raise DataValidationError([Problem(str(path), None, None, f"cannot be read: "
                                           f"{exc.strerror or exc}")]) from None
    return _load_file(path, cache_dir, wanted, whole_file_stats=whole_file_stats)


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
        Reuse parsed months from the Parquet cache (keyed by file hash; the hash of an
        unchanged file is remembered by its size, modification and change times and inode),
        and a repeated read (same files, area and columns) from its saved result.
    cache_dir : path, optional
        Cache folder (default ``$SA_CACHE_DIR`` or ``<project>/.cache``).

    Returns
    -------
    DataFrame
        One row per record: ``crime_id`` (str), ``month`` (Period[M]), ``reported_by,
        falls_within``, ``longitude, latitude`` (float), ``location, lsoa_code, lsoa_name,
        crime_type, last_outcome_category, context, source_file, area``.  The text
        columns other than ``crime_id`` are categoricals whose categories are the values
        present, sorted.
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
    if cdir is None:
        return _read_records(files, sel, None, wanted, columns)
    key = _result_key(cdir, files, sel, columns)
    records = _read_result(cdir, key) if key else None
    if records is None:
        records = _read_records(files, sel, cdir, wanted, columns)
        key = key or _result_key(cdir, files, sel, columns)  # the digests are remembered now
        if key:
            _write_result(cdir, key, records)
    return records


def _read_records(files: list[Path], sel: Area | None, cdir: Path | None,
                  wanted: list[str] | None, columns: Sequence[str] | None,
                  loaded: Sequence[tuple[pa.Table, str]] | None = None) -> pd.DataFrame:
    """The record frame, built file by file (from the per-file Parquet cache where it holds them).

    ``loaded``: every file's whole table and digest, in the order of ``files``, already read.
    """
    tables = dict(zip(files, loaded, strict=True)) if loaded is not None else {}

    def one(f: Path) -> tuple[pa.Table, np.ndarray, dict]:
        return _select_file(f, cdir, sel, wanted, tables.get(f))

    # Files are read side by side (hashing, gzip, Parquet and most of the parsing release the
    # GIL); pool.map keeps their order and raises the first bad file's error.
    workers = min(len(files), os.cpu_count() or 1)
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(one, files))
    else:
        parts = [one(f) for f in files]
    # One Arrow table, converted to pandas once: the text columns become Arrow-backed str
    # columns without copying the text, and the float columns are not copied twice.
    table = pa.concat_tables([p[0] for p in parts])
    names = pa.array([f.name for f in files], pa.large_string())
    table = table.append_column("source_file", pa.chunked_array(
        [pa.DictionaryArray.from_arrays(pa.array(np.full(p[0].num_rows, i, dtype=np.int32)), names)
         for i, p in enumerate(parts)], _CATEGORY_TYPE))
    records = table.to_pandas(split_blocks=True, self_destruct=True)
    del table
    for c in [*_CATEGORY_COLUMNS, "source_file"]:
        if c in records:
            records[c] = _present_sorted(records[c])
    # Months as Period ordinals, worked out once per file rather than parsed row by row.
    ordinals = np.concatenate([p[1] for p in parts])
    records.insert(records.columns.get_loc("crime_id") + 1 if "crime_id" in records else 0,
                   "month", pd.arrays.PeriodArray(ordinals, dtype=pd.PeriodDtype("M")))
    records["area"] = (pd.Categorical.from_codes(np.zeros(len(records), dtype=np.int8), [sel.name])
                       if sel is not None else records.get("falls_within", "all"))
    if wanted is not None:
        keep = list(dict.fromkeys(["month", "crime_type", "area", *columns]))
        records = records[keep]
    rep = pd.DataFrame([p[2] for p in parts])
    records.attrs["load_report"] = rep
    records.attrs["area"] = sel.describe() if sel is not None else "all rows"
    return records


def _present_sorted(column: pd.Series) -> pd.Series:
    """A categorical with only the values present as categories, sorted (so sorting by the
    column is alphabetical); one pass over the codes (``remove_unused_categories`` sorts them)."""
    codes = column.cat.codes.to_numpy()
    cats = column.cat.categories
    keep = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(cats)))
    if len(keep) == len(cats) and cats.is_monotonic_increasing:
        return column
    kept = cats[keep]
    order = kept.argsort()
    recode = np.full(len(cats) + 1, -1, dtype=np.int64)  # the last slot maps code -1 (missing)
    recode[keep[order]] = np.arange(len(keep))
    return pd.Series(pd.Categorical.from_codes(recode[codes], kept[order]),
                     index=column.index, name=column.name)


def _area_mask(table: pa.Table, area: Area) -> pa.ChunkedArray:
    codes = pa.array(sorted(area.lsoa_codes), type=pa.large_string())
    mask = _on_values(table["lsoa_code"], lambda v: pc.is_in(v, codes))
    for prefix in area.name_prefixes:
        mask = pc.or_(mask, _on_values(table["lsoa_name"], lambda v, p=prefix: pc.starts_with(v, p)))
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
    for c in by:  # the records' categoricals become plain text in this small summary
        if isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].astype(out[c].cat.categories.dtype)
    return out.sort_values(["month", *by], ignore_index=True)
