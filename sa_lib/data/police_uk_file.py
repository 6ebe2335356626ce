"""One police.uk street file: its format, parsed with Arrow and validated.

The columns, crime types and file-name pattern of a data.police.uk street file
(``YYYY-MM-<force>-street.csv``, optionally gzipped), reading one file's bytes into an
Arrow table with snake_case columns (the low-cardinality text columns dictionary-encoded),
the checks every file must pass (header, CSV shape, months, crime types, one LSOA vintage
per month), and the whole-file figures of the load report.  Used by
:mod:`sa_lib.data.police_uk` (the loader) and :mod:`sa_lib.data.police_uk_cache`.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import json
import re
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from sa_lib.data.csv_text import byte_position, not_csv_problem
from sa_lib.data.geography import load_lsoa_lookup
from sa_lib.errors import DataValidationError, Problem

__all__ = [
    "POLICE_UK_COLUMNS",
    "CRIME_TYPES",
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
# Bump when the parsed layout or the checks change, so old cache files are not reused
# (4: files recognised by content, coordinates range-checked).
_PARSER_VERSION = 4


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


def refuse_misnamed_gzip(path: Path, magic: bytes) -> None:
    """Refuse a gzip file whose name does not end in ``.gz`` (``magic``: its first 2 bytes).

    A street file may be gzipped (``2025-01-kent-street.csv.gz``), but only when its name
    says so: a gzip file named ``.csv`` is refused rather than read, as every other CSV
    loader refuses it.  Cheap (two bytes), so it runs even when the cache holds the file.
    """
    if magic == b"\x1f\x8b" and not path.name.lower().endswith(".gz"):
        problem = not_csv_problem(str(path), magic, gzip_allowed=True)
        assert problem is not None
        raise DataValidationError([problem])


def _sha256(data: pa.Buffer) -> str:
    return hashlib.sha256(memoryview(data)).hexdigest()  # releases the GIL: files hash in parallel


def _parse_csv(path: Path, data: pa.Buffer) -> tuple[pa.Table, list[str]]:
    """Parse and validate one street file into an Arrow table with snake_case columns.

    Returns the table and the distinct months it holds (in order of first appearance).
    """
    magic = data.slice(0, min(2, data.size)).to_pybytes()
    gzipped = magic == b"\x1f\x8b"
    refuse_misnamed_gzip(path, magic)

    def stream() -> pa.NativeFile:
        raw = pa.BufferReader(data)
        return pa.CompressedInputStream(raw, "gzip") if gzipped else raw

    try:
        head = stream().read(1 << 16)
    except (OSError, pa.ArrowInvalid) as exc:
        raise DataValidationError([Problem(str(path), None, None, f"cannot be read: {exc}")]) from None
    # A workbook, UTF-16 text, a PDF... under a street file's name: say what it is.
    not_csv = not_csv_problem(str(path), head, gzip_allowed=True, decompressed=gzipped)
    if not_csv is not None:
        raise DataValidationError([not_csv])
    first = head.decode("utf-8-sig", errors="replace").splitlines()
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
    problems += _bad_coordinates(table, path)
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


def _bad_coordinates(table: pa.Table, path: Path) -> list[Problem]:
    """Longitudes and latitudes that are not finite or not on the globe (``1e999``, ``400``).

    One vectorised test per column; rows are only searched when one fails.
    """
    problems = []
    for column, shown, limit in (("longitude", "Longitude", 180), ("latitude", "Latitude", 90)):
        col = table[column]
        outside = pc.invert(pc.less_equal(pc.abs(col), limit))  # NaN and inf too; nulls stay null
        if not pc.any(outside).as_py():
            continue
        rows = np.flatnonzero(np.asarray(pc.fill_null(outside, False).to_numpy(
            zero_copy_only=False), dtype=bool))
        for i in rows[:5]:
            problems.append(Problem(str(path), int(i) + 2, shown, (
                f"'{col[int(i)].as_py():g}' is not a {shown.lower()} (expected a decimal "
                f"coordinate between -{limit} and {limit}, or blank)")))
        if len(rows) > 5:
            problems.append(Problem(str(path), None, shown, f"... {len(rows) - 5} more rows "
                                    f"with a {shown.lower()} off the globe"))
    return problems


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
