"""The police.uk loader's on-disk cache.

Each parsed street file is kept as Parquet under ``default_cache_dir()``, keyed by the
file's SHA-256; the digest itself is remembered by the file's size, times and inode, so a
warm run reads no CSV at all.  The whole result of a read (files, area, columns) is kept
too, as one uncompressed Arrow file that a repeat read memory-maps.  Every cache file is
written atomically, and a damaged one is rebuilt, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sa_lib.data.geography import Area
from sa_lib.data.police_uk_file import (
    _CATEGORY_COLUMNS,
    _DICTIONARY_COLUMNS,
    _PARSER_VERSION,
    _file_bytes,
    _parse_csv,
    _sha256,
    _with_file_info,
)
from sa_lib.paths import PROJECT_ROOT

__all__ = ["default_cache_dir"]


def default_cache_dir() -> Path:
    """Where parsed months are cached: ``$SA_CACHE_DIR`` or ``<project>/.cache``."""
    return Path(os.environ.get("SA_CACHE_DIR", PROJECT_ROOT / ".cache")) / "police_uk"



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


def _write_result(cache_dir: Path, key: str, records: pd.DataFrame,
                  keep: int = _RESULTS_KEPT) -> None:
    """Keep a read's result; the ``keep`` most recently used results stay (a batch that
    writes one per area first asks for room for all of them)."""
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
        for f in old[max(keep, _RESULTS_KEPT):]:
            f.unlink(missing_ok=True)
    except OSError:
        pass  # a cache that cannot be written only makes the next read slower
