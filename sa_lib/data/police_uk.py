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
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from sa_lib.data.csv_text import byte_position
from sa_lib.data.geography import Area, load_lsoa_lookup, resolve_area
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
_PARSER_VERSION = 3


def default_cache_dir() -> Path:
    """Where parsed months are cached: ``$SA_CACHE_DIR`` or ``<project>/.cache``."""
    return Path(os.environ.get("SA_CACHE_DIR", PROJECT_ROOT / ".cache")) / "police_uk"


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


# large_string: the type pandas' str columns hold, so converting to pandas copies nothing.
_TYPES = {c: pa.large_string() for c in POLICE_UK_COLUMNS} | {"Longitude": pa.float64(),
                                                                "Latitude": pa.float64()}
# Few distinct values per file: dictionary-encoded in the Parquet cache (smaller, faster to read).
_DICTIONARY_COLUMNS = ["month", "reported_by", "falls_within", "location", "lsoa_code",
                       "lsoa_name", "crime_type", "last_outcome_category", "context"]
# Returned as pandas categoricals: a national year's frame is a third of the size with them
# (about 0.6 GiB instead of 1.9 GiB), and a warm read decodes no text for them.
_CATEGORY_COLUMNS = [c for c in _DICTIONARY_COLUMNS if c != "month"]
_CATEGORY_TYPE = pa.dictionary(pa.int32(), pa.large_string())
_MONTH_RE = r"^\d{4}-(0[1-9]|1[0-2])$"
# CSV blocks parsed in parallel: 4 MB keeps both cores busy on a national month (100+ MB) and
# costs less per block than the 1 MB default.
_BLOCK_SIZE = 4 << 20


def _file_bytes(path: Path) -> pa.Buffer:
    """The file's bytes: memory-mapped (no copy into fresh memory) where possible."""
    try:
        if path.stat().st_size == 0:
            return pa.py_buffer(b"")
        return pa.memory_map(str(path)).read_buffer()  # the buffer keeps the mapping alive
    except (OSError, ValueError) as exc:
        raise DataValidationError([Problem(str(path), None, None, f"cannot be read: {exc}")]) from None


def _sha256(data: pa.Buffer) -> str:
    return hashlib.sha256(memoryview(data)).hexdigest()  # releases the GIL: files hash in parallel


def _parse_csv(path: Path, data: pa.Buffer) -> tuple[pa.Table, list[str]]:
    """Parse and validate one street file into an Arrow table with snake_case columns.

    Returns the table and the distinct months it holds (in order of first appearance).
    """
    gzipped = data.size >= 2 and data.slice(0, 2).to_pybytes() == b"\x1f\x8b"

    def stream() -> pa.NativeFile:
        raw = pa.BufferReader(data)
        return pa.CompressedInputStream(raw, "gzip") if gzipped else raw

    try:
        first = stream().read(1 << 16).decode("utf-8-sig", errors="replace").splitlines()
    except (OSError, pa.ArrowInvalid) as exc:
        raise DataValidationError([Problem(str(path), None, None, f"cannot be read: {exc}")]) from None
    if not first or not first[0].strip():
        raise DataValidationError([Problem(str(path), None, None, "file is empty")])
    # csv.reader, so a quoted header ("Crime ID","Month",...) is read as well as a plain one.
    cols = [c.strip() for c in next(csv.reader([first[0]]))]
    missing = [c for c in POLICE_UK_COLUMNS if c not in cols]
    extra = [c for c in cols if c not in POLICE_UK_COLUMNS]
    if missing or extra:
        expected = f"expected the police.uk street file columns {list(POLICE_UK_COLUMNS)}"
        problems = [Problem(str(path), 1, c, f"unexpected column {c!r}"
                            + (f"; did you mean {close[0]!r}?" if close else "") + f" ({expected})")
                    for c in extra
                    for close in [difflib.get_close_matches(c, missing, n=1, cutoff=0.6)]]
        problems += [Problem(str(path), 1, c, f"missing column {c!r}, which is required "
                             f"({expected})") for c in missing]
        raise DataValidationError(problems)
    try:
        table = pacsv.read_csv(
            stream(),
            read_options=pacsv.ReadOptions(block_size=_BLOCK_SIZE),
            convert_options=pacsv.ConvertOptions(
                column_types=_TYPES, strings_can_be_null=False, quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        # Arrow names neither the row nor (always) the column: find them with a slow scan,
        # which only a broken file pays for.
        raw = stream().read()
        raise DataValidationError([_locate_csv_problem(path, raw, cols) or Problem(
            str(path), _row_from_arrow(str(exc)), None, f"malformed CSV: {exc}")]) from None
    if table.num_rows == 0:
        raise DataValidationError([Problem(str(path), None, None,
                                           "has a header but no rows (expected one row per crime)")])
    table = table.rename_columns([_SNAKE[c] for c in table.column_names])
    months = _validate_table(table, path)
    return _encode_categories(table), months


def _encode_categories(table: pa.Table) -> pa.Table:
    """The low-cardinality text columns dictionary-encoded, as the cache and pandas hold them.

    Done once per file straight after parsing: the load-report figures, the area selection
    and the Parquet writer then work on each column's few distinct values.
    """
    for c in _CATEGORY_COLUMNS:
        if c in table.column_names:
            col = table[c]
            if not pa.types.is_dictionary(col.type):
                col = pc.dictionary_encode(col.combine_chunks())
            # one type whether parsed or read from the cache (Parquet gives ``string`` values)
            table = table.set_column(table.column_names.index(c), c, col.cast(_CATEGORY_TYPE))
    return table


def _locate_csv_problem(path: Path, raw: bytes, header: list[str]) -> Problem | None:
    """The first row a strict reading of a street file refuses: non-UTF-8 bytes, a wrong
    number of fields or a coordinate that is not a number (row 1 is the header)."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        row, column = byte_position(raw, exc.start)
        return Problem(str(path), row, column, f"byte 0x{raw[exc.start]:02x} is not UTF-8 "
                       "text; expected a UTF-8 file as data.police.uk publishes it")
    numbers = [j for j, c in enumerate(header) if c in ("Longitude", "Latitude")]
    n = len(header)
    records = csv.reader(io.StringIO(text, newline=""))
    next(records, None)
    try:
        for row, rec in enumerate(records, start=2):
            if not rec:
                continue
            if len(rec) != n:
                n_lines = text.rstrip("\r\n").count("\n") + 1
                last = row >= n_lines and not text.endswith(("\n", "\r"))
                return Problem(str(path), row, header[len(rec)] if len(rec) < n else None,
                               f"malformed CSV: has {len(rec)} field(s) but the header "
                               f"has {n}" + (" (the last line looks truncated)" if last else ""))
            for j in numbers:
                value = rec[j].strip()
                try:
                    float(value) if value else None
                except ValueError:
                    return Problem(str(path), row, header[j], f"{rec[j]!r} is not a number "
                                   "(expected a decimal coordinate, e.g. 0.5217, or blank)")
    except csv.Error as exc:
        return Problem(str(path), None, None, f"malformed CSV: {exc}")
    return None


def _row_from_arrow(message: str) -> int | None:
    m = re.search(r"Row #(\d+)", message)
    return int(m.group(1)) if m else None


def _validate_table(table: pa.Table, path: Path) -> list[str]:
    """Check months and crime types; return the distinct months (first appearance order).

    Checks run on the distinct values (a file has one month and 14 types); rows are only
    searched to name them when something is wrong.
    """
    problems: list[Problem] = []
    month = table["month"]
    months = pc.unique(month)
    bad_any = not pc.all(pc.match_substring_regex(months, _MONTH_RE)).as_py()
    bad = np.zeros(0, dtype=np.int64)
    if bad_any:
        ok = pc.match_substring_regex(month, _MONTH_RE)
        bad = np.flatnonzero(~np.asarray(ok.to_numpy(zero_copy_only=False), dtype=bool))
    for i in bad[:10]:
        problems.append(Problem(str(path), int(i) + 2, "Month",
                                f"{month[int(i)].as_py()!r} is not a month (expected YYYY-MM)"))
    if len(bad) > 10:
        problems.append(Problem(str(path), None, "Month", f"... {len(bad) - 10} more bad months"))
    m = _FILE_PATTERN.match(path.name)
    if m and not len(bad) and months.to_pylist() != [m.group(1)]:
        other = pc.not_equal(month, m.group(1))
        wrong = np.flatnonzero(np.asarray(other.to_numpy(zero_copy_only=False), dtype=bool))
        for i in wrong[:5]:
            problems.append(Problem(str(path), int(i) + 2, "Month",
                                    f"{month[int(i)].as_py()!r} does not match the file's month "
                                    f"{m.group(1)}"))
    if not problems:
        this_month = np.datetime64("today", "M").astype(str)
        future = [m for m in months.to_pylist() if m > this_month]
        if future:
            first = int(np.flatnonzero(np.asarray(pc.equal(month, future[0]).to_numpy(
                zero_copy_only=False), dtype=bool))[0])
            problems.append(Problem(str(path), first + 2, "Month",
                                    f"{future[0]!r} is in the future (after this month, "
                                    f"{this_month}); expected a month police.uk has published"))
    problems += _mixed_vintages(table, path)
    ctype = table["crime_type"]
    known = pa.array(CRIME_TYPES)
    if not pc.all(pc.is_in(pc.unique(ctype), known)).as_py():
        unknown = np.flatnonzero(~np.asarray(
            pc.is_in(ctype, known).to_numpy(zero_copy_only=False), dtype=bool))
        for i in unknown[:10]:
            problems.append(Problem(str(path), int(i) + 2, "Crime type",
                                    f"unknown crime type {ctype[int(i)].as_py()!r} "
                                    f"(expected one of the {len(CRIME_TYPES)} police.uk categories)"))
    if problems:
        raise DataValidationError(problems)
    return months.to_pylist()


def _mixed_vintages(table: pa.Table, path: Path) -> list[Problem]:
    """Rows that put one map point in two LSOAs: the month mixes LSOA vintages.

    A police.uk snap point lies in exactly one LSOA of a vintage, so within one month's
    file a (longitude, latitude) with two LSOA codes means rows geocoded to 2011 LSOAs and
    rows geocoded to 2021 LSOAs were put together (e.g. an old extract pasted into a new
    month); per-LSOA figures for that month would be wrong.
    """
    located = table.filter(pc.not_equal(_plain(table["lsoa_code"]), ""))
    if located.num_rows == 0:
        return []
    points = located.select(["longitude", "latitude", "lsoa_code"]).group_by(
        ["longitude", "latitude"]).aggregate([("lsoa_code", "count_distinct")])
    if pc.max(points["lsoa_code_count_distinct"]).as_py() <= 1:
        return []
    # Rare: name the rows (a slow pass over this file only).
    frame = table.select(["longitude", "latitude", "lsoa_code", "lsoa_name"]).to_pandas()
    frame["row"] = np.arange(2, len(frame) + 2)
    frame = frame[frame["lsoa_code"].astype(str) != ""]
    first = frame.drop_duplicates(["longitude", "latitude", "lsoa_code"])
    clash = first[first.duplicated(["longitude", "latitude"], keep="first")]
    old = set(_lookup_2011_codes().to_pylist())
    problems = []
    for r in clash.head(5).itertuples():
        other = first[(first["longitude"] == r.longitude) & (first["latitude"] == r.latitude)].iloc[0]
        vintages = {c: "2011" if c in old else "2021" for c in (str(other.lsoa_code), str(r.lsoa_code))}
        problems.append(Problem(str(path), int(r.row), "LSOA code", (
            f"{r.lsoa_code} ({r.lsoa_name}, a {vintages[str(r.lsoa_code)]} LSOA code) is given "
            f"for the map point {r.longitude}, {r.latitude}, which row {int(other.row)} puts in "
            f"{other.lsoa_code} ({other.lsoa_name}, {vintages[str(other.lsoa_code)]}); expected "
            "one LSOA vintage per month (this month mixes LSOA vintages: were rows from another "
            "download pasted in?)")))
    return problems


def _duplicate_ids(ids: pa.ChunkedArray) -> int:
    """Non-blank crime IDs seen more than once (IDs seen, less distinct IDs).

    police.uk IDs are 64 hex characters: they are compared by a 64-bit key from their first 16
    characters, and only IDs whose keys collide are compared in full (much faster than hashing
    every whole ID).  Any other ID shape falls back to Arrow's hash table.
    """
    keys, rows = [], []
    for chunk in ids.chunks:
        if len(chunk) == 0:
            continue
        if chunk.type not in (pa.string(), pa.large_string()) or chunk.null_count:
            return _duplicate_ids_arrow(ids)
        width = np.int32 if chunk.type == pa.string() else np.int64
        offsets = np.frombuffer(chunk.buffers()[1], dtype=width)[
            chunk.offset: chunk.offset + len(chunk) + 1]
        lengths = np.diff(offsets)
        if not ((lengths == 0) | (lengths == 64)).all():
            return _duplicate_ids_arrow(ids)
        n = int(np.count_nonzero(lengths))
        if n == 0:
            continue
        # Blank IDs take no bytes, so the non-blank ones are back to back, 64 bytes each.
        data = np.frombuffer(chunk.buffers()[2], dtype=np.uint8)[offsets[0]: offsets[-1]]
        block = data.reshape(n, 64)
        k = np.ascontiguousarray(block[:, :16]).view(np.uint64)
        keys.append(k[:, 0] ^ (k[:, 1] * np.uint64(0x9E3779B97F4A7C15)))
        rows.append(block)
    if not keys:
        return 0
    key = np.concatenate(keys)
    order = np.argsort(key, kind="stable")
    sk = key[order]
    same = np.flatnonzero(sk[1:] == sk[:-1])
    if not len(same):
        return 0
    candidates = np.unique(np.concatenate([order[same], order[same + 1]]))
    starts = np.cumsum([0] + [len(r) for r in rows])
    full = set()
    for i in candidates:
        part = int(np.searchsorted(starts, i, side="right")) - 1
        full.add(rows[part][i - starts[part]].tobytes())
    return len(candidates) - len(full)


def _duplicate_ids_arrow(ids: pa.ChunkedArray) -> int:
    nz = pc.filter(ids, pc.not_equal(ids, ""))
    return len(nz) - len(pc.unique(nz))


def _stats(table: pa.Table) -> dict[str, int]:
    """Load-report figures of a table (the costly ones: distinct IDs and LSOAs)."""
    codes = _plain(pc.unique(table["lsoa_code"]))
    return {
        "duplicate_crime_ids": _duplicate_ids(table["crime_id"]),
        "lsoa_codes": len(codes),
        "lsoa_codes_not_in_2011_lookup":
            int(pc.sum(pc.invert(pc.is_in(codes, _lookup_2011_codes()))).as_py() or 0),
    }


def _with_file_info(table: pa.Table, months: list[str]) -> pa.Table:
    """The table with its whole-file figures in the schema metadata (kept in the cache)."""
    n_no_loc = _count_blank(table["lsoa_code"])
    return table.replace_schema_metadata({
        b"sa_file_stats": json.dumps(_stats(table)).encode(),
        b"sa_file_months": json.dumps(months).encode(),
        b"sa_rows_no_location": str(n_no_loc).encode(),
    })


def _digest_memo(cache_dir: Path, path: Path) -> Path | None:
    """Where the SHA-256 of ``path`` is remembered, keyed by its size, times and inode.

    A warm run then reads no CSV at all.  Any write to the file changes its ``ctime``
    (which cannot be set back), so a changed file is always hashed again.
    """
    try:
        st = path.stat()
    except OSError:
        return None
    sig = f"{path.resolve()}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\0{st.st_ino}"
    return cache_dir / "digests" / hashlib.sha256(sig.encode()).hexdigest()[:40]


def _remembered_digest(memo: Path | None) -> str | None:
    """The SHA-256 kept at ``memo`` (see :func:`_digest_memo`), or None when there is none."""
    if memo is None:
        return None
    try:
        text = memo.read_text().strip()
    except OSError:
        return None
    return text if re.fullmatch(r"[0-9a-f]{64}", text) else None


def _atomic_write(target: Path, write: Callable[[Path], None]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    # Unique per process and thread: areas of a batch may write the same file at once.
    tmp = target.with_name(f"{target.name}.tmp{os.getpid()}-{threading.get_ident()}")
    try:
        write(tmp)
        tmp.replace(target)  # atomic: a killed run never leaves a half-written cache file
    finally:
        tmp.unlink(missing_ok=True)


def _load_file(path: Path, cache_dir: Path | None, columns: list[str] | None,
               whole_file_stats: bool) -> tuple[pa.Table, str]:
    """One file as an Arrow table (``columns`` only) with its whole-file info in the metadata.

    From the Parquet cache when it holds the file (no CSV is read when the digest is
    remembered), else parsed (and cached).  Without a cache the costly whole-file figures are
    only computed when ``whole_file_stats``.
    """
    if cache_dir is None:
        data = _file_bytes(path)
        digest = _sha256(data)
        table, months = _parse_csv(path, data)
        if whole_file_stats:
            table = _with_file_info(table, months)
        else:
            table = table.replace_schema_metadata({b"sa_file_months": json.dumps(months).encode()})
        return (table.select(columns) if columns else table), digest
    memo = _digest_memo(cache_dir, path)
    digest, data = _remembered_digest(memo), None
    if digest is None:
        data = _file_bytes(path)
        digest = _sha256(data)
    target = cache_dir / f"{digest[:40]}-v{_PARSER_VERSION}.parquet"
    if target.exists():
        try:
            schema = pq.read_schema(target)
            meta = schema.metadata or {}
            if b"sa_file_months" not in meta:
                raise OSError("cache file without the loader's metadata")
            # A one-month file's month column is not read: its months come from the metadata.
            one_month = len(json.loads(meta[b"sa_file_months"])) == 1
            read = [c for c in (columns or schema.names) if not (one_month and c == "month")]
            table = pq.read_table(target, columns=read,
                                  read_dictionary=[c for c in _CATEGORY_COLUMNS if c in read])
            if memo is not None and data is not None:
                _atomic_write(memo, lambda p: p.write_text(digest))
            return table.replace_schema_metadata(meta), digest
        except (pa.ArrowInvalid, OSError):
            target.unlink(missing_ok=True)  # a damaged cache entry is rebuilt, never trusted
    if data is None:
        data = _file_bytes(path)
        if _sha256(data) != digest:  # the remembered digest is stale: start again
            memo.unlink(missing_ok=True)
            return _load_file(path, cache_dir, columns, whole_file_stats)
    parsed, months = _parse_csv(path, data)
    table = _with_file_info(parsed, months)
    _atomic_write(target, lambda p: pq.write_table(
        table, p, compression="lz4",  # lz4: about twice as fast to read as zstd
        use_dictionary=_DICTIONARY_COLUMNS, write_statistics=False))
    if memo is not None:
        _atomic_write(memo, lambda p: p.write_text(digest))
    return (table.select(columns) if columns else table), digest


def _month_ordinal(month: str) -> int:
    return (int(month[:4]) - 1970) * 12 + int(month[5:7]) - 1


def _select_file(path: Path, cache_dir: Path | None, sel: Area | None,
                 wanted: list[str] | None) -> tuple[pa.Table, np.ndarray, dict]:
    """One file's selected rows (no ``month`` column), their month ordinals and report row."""
    table, digest = _load_file(path, cache_dir, wanted, whole_file_stats=sel is None)
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
                  wanted: list[str] | None, columns: Sequence[str] | None) -> pd.DataFrame:
    """The record frame, built file by file (from the per-file Parquet cache where it holds them)."""

    def one(f: Path) -> tuple[pa.Table, np.ndarray, dict]:
        return _select_file(f, cdir, sel, wanted)

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


# The whole result of a read is also kept, as one uncompressed Arrow file that a warm read
# memory-maps: no Parquet decoding, no dictionary unification, and the text columns are not
# copied (about 15x faster than building the frame from the per-file Parquet cache).
_RESULT_VERSION = 1
_RESULTS_KEPT = 24  # most recently used results kept; older ones are deleted


def _result_key(cache_dir: Path, files: list[Path], sel: Area | None,
                columns: Sequence[str] | None) -> str | None:
    """Key of a read: every file's remembered SHA-256 with its path, the area and the columns.

    ``None`` when a file's digest is not remembered (new or changed since the last read).
    """
    digests = []
    for f in files:
        digest = _remembered_digest(_digest_memo(cache_dir, f))
        if digest is None:
            return None
        digests.append([str(f.resolve()), digest])
    area = None if sel is None else [sel.name, sel.code, sorted(sel.lsoa_codes),
                                     list(sel.name_prefixes), sel.describe()]
    spec = [_PARSER_VERSION, _RESULT_VERSION, pd.__version__, str(PROJECT_ROOT), digests, area,
            None if columns is None else list(columns)]
    return hashlib.sha256(json.dumps(spec).encode()).hexdigest()[:40]


def _read_result(cache_dir: Path, key: str) -> pd.DataFrame | None:
    target = cache_dir / "results" / f"{key}.arrow"
    try:
        with pa.memory_map(str(target)) as source:
            table = pa.ipc.open_file(source).read_all()
        meta = table.schema.metadata or {}
        report = pa.ipc.open_stream(meta[b"sa_load_report"]).read_all().to_pandas()
        records = table.to_pandas()
        records.attrs["load_report"] = report
        records.attrs["area"] = meta[b"sa_area"].decode()
        os.utime(target)  # most recently used
    except FileNotFoundError:
        return None
    except (pa.ArrowInvalid, OSError, KeyError):
        target.unlink(missing_ok=True)  # damaged: rebuilt from the per-file cache
        return None
    return records


def _write_result(cache_dir: Path, key: str, records: pd.DataFrame) -> None:
    bare = records.copy(deep=False)
    bare.attrs = {}  # kept in the metadata below
    table = pa.Table.from_pandas(bare, preserve_index=False)
    report = pa.Table.from_pandas(records.attrs["load_report"], preserve_index=False)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, report.schema) as writer:
        writer.write_table(report)
    table = table.replace_schema_metadata({
        **(table.schema.metadata or {}),
        b"sa_load_report": sink.getvalue().to_pybytes(),
        b"sa_area": records.attrs["area"].encode(),
    })

    def write(path: Path) -> None:
        with pa.OSFile(str(path), "wb") as out, pa.ipc.new_file(out, table.schema) as writer:
            writer.write_table(table)

    folder = cache_dir / "results"
    try:
        _atomic_write(folder / f"{key}.arrow", write)
        old = sorted(folder.glob("*.arrow"), key=lambda f: f.stat().st_mtime, reverse=True)
        for f in old[_RESULTS_KEPT:]:
            f.unlink(missing_ok=True)
    except OSError:
        pass  # a cache that cannot be written only makes the next read slower


def _repeat_string(text: str, n: int) -> pa.Array:
    """``text`` ``n`` times as an Arrow large_string array, built from numpy buffers."""
    raw = np.frombuffer(text.encode(), dtype=np.uint8)
    data = np.broadcast_to(raw, (n, len(raw))).reshape(-1)
    offsets = np.arange(0, len(raw) * (n + 1), len(raw) or 1, dtype=np.int64)[: n + 1] \
        if len(raw) else np.zeros(n + 1, dtype=np.int64)
    return pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data))


@lru_cache(maxsize=1)
def _lookup_2011_codes() -> pa.Array:
    return pa.array(load_lsoa_lookup()["lsoa_code"].to_numpy(dtype=object), type=pa.large_string())


def _on_values(column: pa.ChunkedArray, fn: Callable[[pa.Array], pa.Array]) -> pa.ChunkedArray:
    """``fn`` applied to each value of a (possibly dictionary-encoded) text column."""
    if not pa.types.is_dictionary(column.type):
        return fn(column)
    # A dictionary column: apply to each chunk's few distinct values, then spread by index.
    return pa.chunked_array([fn(ch.dictionary).take(ch.indices) for ch in column.chunks],
                            pa.bool_())


def _plain(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """A (small) dictionary-encoded array decoded to plain text."""
    return values.cast(values.type.value_type) if pa.types.is_dictionary(values.type) else values


def _count_blank(column: pa.ChunkedArray) -> int:
    return int(pc.sum(_on_values(column, lambda v: pc.equal(v, ""))).as_py() or 0)


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
