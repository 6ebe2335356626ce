"""A force's street files read once for a batch: which partnerships they hold, and each one's rows.

A batch (``sa run FILE --area all`` or ``--area CODE ...``) builds one report per partnership
from the same street files.  :func:`read_force` reads every file once (through the per-file
Parquet cache, so a CSV is parsed at most once); :func:`partnerships_in_files` says which
partnerships the rows belong to; :func:`prepare_area_reads` cuts each area's records from the
tables already in memory and keeps them as the saved result of
``read_police_uk(paths, area=code)``, so each area's check and each notebook kernel finds its
records ready instead of reading the files again.

Which partnerships a force's files hold
---------------------------------------
Each row with a location is given the partnership of its LSOA through the bundled lookups
(LSOA -> local authority -> CSP: a 2011 LSOA by its code, a 2021 LSOA by its name, which
starts with the district's name, as :func:`sa_lib.data.geography.resolve_area` selects them).
A force's files also hold a few rows in its neighbours' LSOAs (locations that anonymisation
placed just over the force boundary: in the Leicestershire and Kent files under 0.05% of the
rows for any one neighbour).  So a partnership is built when

* it lies in the police force area of the files (the force in the file names, matched to the
  ONS lookup's police force areas) and holds at least one row, or
* it holds at least :data:`MIN_SHARE` (1%) of the located rows of one force's files (the
  rule for files whose force is not a police force area of the lookup, such as British
  Transport Police, and for a lookup that places a partnership in another force).

Every other partnership's rows are *left out* (counted, and listed by the ``sa`` command).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa

from sa_lib.data.geography import Area, load_csp_lookup, load_lsoa_lookup, resolve_area
from sa_lib.data.police_uk import _load_checked, _read_records, find_street_files
from sa_lib.data.police_uk_cache import (
    _read_result,
    _result_key,
    _write_result,
    default_cache_dir,
)

__all__ = ["ForceFiles", "MIN_SHARE", "read_force", "partnerships_in_files", "area_records",
           "prepare_area_reads", "force_slug"]

#: The share of a force's located rows that makes a partnership outside its force area count.
MIN_SHARE = 0.01
_FORCE_IN_NAME = re.compile(r"^\d{4}-\d{2}-(?P<force>[a-z0-9-]+)-street\.csv(\.gz)?$")
_LSOA_SUFFIX = re.compile(r"\s+\S+$")  # "Charnwood 001A" -> "Charnwood"


@dataclass(frozen=True)
class ForceFiles:
    """Every street file of a batch, read once: paths as given, files found, their tables.

    ``tables`` holds each file's whole Arrow table and SHA-256, in the order of ``files``.
    """

    paths: tuple[Path, ...]
    files: tuple[Path, ...]
    tables: tuple[tuple[pa.Table, str], ...]
    cache_dir: Path | None

    @property
    def rows(self) -> int:
        """Rows in all the files."""
        return sum(t.num_rows for t, _ in self.tables)


def read_force(paths: str | Path | Iterable[str | Path], cache: bool = True,
               cache_dir: str | Path | None = None) -> ForceFiles:
    """Read every street file under ``paths`` once (all rows, all columns).

    Parameters
    ----------
    paths : path, or list of paths
        As ``data.police_uk`` (folders searched recursively, or files).
    cache : bool, default True
        Use (and fill) the per-file Parquet cache, so a CSV is parsed at most once.
    cache_dir : path, optional
        Cache folder (default ``$SA_CACHE_DIR`` or ``<project>/.cache``).

    Raises
    ------
    DataValidationError
        A path is missing or a file is invalid (file, row and column named).

    Examples
    --------
    >>> from sa_lib.paths import DATA_DIR
    >>> force = read_force(DATA_DIR / "police_uk" / "kent_sample")
    >>> len(force.files), force.rows
    (2, 1538)
    """
    given = [paths] if isinstance(paths, str | Path) else list(paths)
    files = find_street_files(given)
    cdir = (Path(cache_dir) if cache_dir else default_cache_dir()) if cache else None

    def one(f: Path) -> tuple[pa.Table, str]:
        return _load_checked(f, cdir, None, True)

    workers = min(len(files), os.cpu_count() or 1)
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            tables = list(pool.map(one, files))
    else:
        tables = [one(f) for f in files]
    return ForceFiles(tuple(Path(p) for p in given), tuple(files), tuple(tables), cdir)


def force_slug(name: str) -> str:
    """A police force's name as data.police.uk spells it in file names.

    Examples
    --------
    >>> force_slug("Devon & Cornwall"), force_slug("London, City of")
    ('devon-and-cornwall', 'city-of-london')
    >>> force_slug("Metropolitan Police"), force_slug("Leicestershire Police")
    ('metropolitan', 'leicestershire')
    """
    text = name.lower().replace("&", " and ")
    if "," in text:  # "London, City of" -> "City of London"
        head, tail = text.split(",", 1)
        text = f"{tail} {head}"
    words = [w for w in re.split(r"[^a-z0-9]+", text)
             if w and w not in ("police", "constabulary", "service")]
    return "-".join(words)


def _lsoa_partnerships() -> tuple[dict[str, str], dict[str, str]]:
    """LSOA code -> CSP code, and district name (as LSOA names start) -> CSP code.

    The same codes and names :func:`sa_lib.data.geography.resolve_area` selects an area by.
    """
    csp, lsoa = load_csp_lookup(), load_lsoa_lookup()
    lad_csp = dict(zip(csp["lad_code"], csp["csp_code"], strict=True))
    known = lsoa[lsoa["lad_code"].isin(lad_csp)]
    by_code = dict(zip(known["lsoa_code"], known["lad_code"].map(lad_csp), strict=True))
    by_name: dict[str, str] = {}
    names = [*zip(csp["lad_name"], csp["csp_code"], strict=True),
             *((n, c) for former, c in zip(csp["lad_former_names"], csp["csp_code"], strict=True)
               for n in former.split(";") if n),
             *zip(known["lad_name"], known["lad_code"].map(lad_csp), strict=True)]
    for name, code in names:
        by_name.setdefault(name.removesuffix(" UA").strip(), code)
    return by_code, by_name


def partnerships_in_files(force: ForceFiles, min_share: float = MIN_SHARE) -> pd.DataFrame:
    """The partnerships whose LSOAs appear in a force's files, with their rows.

    The rule (module docstring): a partnership counts when it lies in the files' police force
    area and holds a row, or holds at least ``min_share`` of one force's located rows.

    Parameters
    ----------
    force : ForceFiles
        From :func:`read_force`.
    min_share : float, default :data:`MIN_SHARE`
        Share (0-1) of a force's located rows that makes any partnership count.

    Returns
    -------
    DataFrame
        One row per partnership with rows: ``csp_code, csp_name, force`` (file-name slug),
        ``rows``, ``share`` (of that force's located rows), ``in_force_area`` (bool) and
        ``included`` (bool), the included first, most rows first.  ``attrs``: ``rows``,
        ``rows_no_location`` and ``rows_unmatched`` (located rows in no partnership of the
        lookup).

    Examples
    --------
    >>> from sa_lib.paths import DATA_DIR
    >>> found = partnerships_in_files(read_force(DATA_DIR / "police_uk" / "kent_sample"))
    >>> found.loc[found.included, "csp_name"].head(3).tolist()
    ['Medway', 'Dartford and Gravesham', 'Thanet']
    >>> bool(found.loc[found.csp_name == "Bexley", "included"].item())
    False
    """
    if not 0 <= min_share <= 1:
        from sa_lib.errors import OptionError

        raise OptionError(f"min_share must be a share between 0 and 1, got {min_share!r}")
    parts = []
    for f, (table, _) in zip(force.files, force.tables, strict=True):
        m = _FORCE_IN_NAME.match(f.name)
        pairs = pa.table({c: table[c].cast(pa.string()) for c in ("lsoa_code", "lsoa_name")})
        counts = pairs.group_by(["lsoa_code", "lsoa_name"]).aggregate([([], "count_all")])
        frame = counts.to_pandas()
        frame["force"] = m.group("force") if m else "unknown"
        parts.append(frame)
    lsoas = (pd.concat(parts, ignore_index=True)
             .groupby(["force", "lsoa_code", "lsoa_name"], dropna=False)["count_all"].sum()
             .rename("rows").reset_index())
    code = lsoas["lsoa_code"].fillna("").astype(str).str.strip()
    name = lsoas["lsoa_name"].fillna("").astype(str).str.strip()
    located = (code != "") | (name != "")
    by_code, by_name = _lsoa_partnerships()
    stems = name.str.replace(_LSOA_SUFFIX, "", regex=True)
    lsoas["csp_code"] = code.map(by_code).fillna(stems.map(by_name))
    for i in lsoas.index[located & lsoas["csp_code"].isna()]:  # a name only a prefix matches
        hit = next((c for n, c in by_name.items() if name[i].startswith(n + " ")), None)
        lsoas.loc[i, "csp_code"] = hit
    csp = load_csp_lookup().drop_duplicates("csp_code").set_index("csp_code")
    matched = lsoas[located & lsoas["csp_code"].notna()]
    out = matched.groupby(["csp_code", "force"], as_index=False)["rows"].sum()
    force_rows = lsoas[located].groupby("force")["rows"].sum()
    out["share"] = out["rows"] / out["force"].map(force_rows)
    out["csp_name"] = out["csp_code"].map(csp["csp_name"])
    out["in_force_area"] = out["csp_code"].map(csp["pfa_name"]).map(force_slug) == out["force"]
    out["included"] = (out["in_force_area"] & (out["rows"] > 0)) | (out["share"] >= min_share)
    # A partnership in two forces' files (a batch over two forces) is listed once.
    out = (out.sort_values(["included", "rows"], ascending=False)
           .groupby("csp_code", as_index=False, sort=False)
           .agg(csp_name=("csp_name", "first"), force=("force", "first"), rows=("rows", "sum"),
                share=("share", "max"), in_force_area=("in_force_area", "any"),
                included=("included", "any")))
    out = out.sort_values(["included", "rows", "csp_name"], ascending=[False, False, True],
                          ignore_index=True)
    out["rows"] = out["rows"].astype("int64")
    out = out[["csp_code", "csp_name", "force", "rows", "share", "in_force_area", "included"]]
    out.attrs = {"rows": int(lsoas["rows"].sum()),
                 "rows_no_location": int(lsoas.loc[~located, "rows"].sum()),
                 "rows_unmatched": int(lsoas.loc[located & lsoas["csp_code"].isna(), "rows"].sum())}
    return out


def area_records(force: ForceFiles, area: str | Sequence[str] | Area) -> pd.DataFrame:
    """One area's records cut from the files already read: ``read_police_uk(paths, area=...)``.

    The same frame and load report as :func:`sa_lib.data.police_uk.read_police_uk` gives for
    these files and area, without reading a file again.

    Examples
    --------
    >>> from sa_lib.paths import DATA_DIR
    >>> force = read_force(DATA_DIR / "police_uk" / "kent_sample")
    >>> len(area_records(force, "E22000142"))
    103
    """
    sel = area if isinstance(area, Area) else resolve_area(area)
    return _read_records(list(force.files), sel, force.cache_dir, None, None,
                         loaded=force.tables)


def prepare_area_reads(force: ForceFiles, areas: Sequence[str]) -> dict[str, int]:
    """Keep each area's records as the saved result of ``read_police_uk(paths, area=code)``.

    Every later read of those files for one of these areas (the area's input check, each
    notebook's kernel) then maps the saved result instead of reading the files: the files
    are read once for the whole batch.  Without a cache (``read_force(..., cache=False)``)
    nothing is kept.

    Returns
    -------
    dict
        Rows selected, by area code.

    Examples
    --------
    >>> from sa_lib.paths import DATA_DIR
    >>> force = read_force(DATA_DIR / "police_uk" / "kent_sample")
    >>> prepare_area_reads(force, ["E22000142", "E22000149"])
    {'E22000142': 103, 'E22000149': 56}
    """
    rows: dict[str, int] = {}
    files = list(force.files)
    for code in areas:
        sel = resolve_area(code)
        key = _result_key(force.cache_dir, files, sel, None) if force.cache_dir else None
        saved = _read_result(force.cache_dir, key) if key else None
        if saved is not None:
            rows[code] = len(saved)
            continue
        records = area_records(force, sel)
        rows[code] = len(records)
        if key:
            _write_result(force.cache_dir, key, records, keep=len(areas))
    return rows
