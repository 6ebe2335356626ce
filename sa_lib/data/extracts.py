"""Every police.uk record the analyst's explorer can show, with its partnership.

* :func:`explore_records` loads every police.uk file the parameters file names
  plus the bundled ``data/police_uk`` folder and gives each record its
  Community Safety Partnership (CSP) from its LSOA;
* :func:`explore_areas` lists the partnerships with the months and records each has.

They feed :mod:`sa_lib.report.explore` (the explorer widget) and
:mod:`sa_lib.report.explore_view` (one view of it).

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

import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from sa_lib.data.geography import load_csp_lookup, load_lsoa_lookup
from sa_lib.data.parameters import load_parameters
from sa_lib.data.police_uk import find_street_files, read_police_uk
from sa_lib.errors import OptionError
from sa_lib.paths import DATA_DIR, PROJECT_ROOT

__all__ = [
    "UNKNOWN_AREA",
    "explore_records",
    "explore_areas",
]

#: Area of records with no location or an LSOA the bundled lookups cannot map.
UNKNOWN_AREA = "Unknown / no location"


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
