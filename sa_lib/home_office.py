"""Loaders for ONS/Home Office recorded crime by CSP and ONS mid-year population.

* ONS "Police force area data tables", Table C2: police recorded crime for 23
  headline offence groups by Community Safety Partnership, England and Wales
  (year ending June 2025 is bundled).  Sub-groups are nested: never sum all columns.
* ONS mid-year population estimates by local authority, 2001-2024.

Caveats carried into the report (see ``data/README.md``): combined CSPs
(e.g. Dartford and Gravesham) cover several local authorities, so their
population is the sum of their districts'; 2012-2020 estimates are the
original, pre-Census-2021 series, so rates across 2020/21 have a step; later
Home Office CSP releases record several Kent districts under "Unassigned Kent"
from 2024, so any Kent CSP series from 2024 must be checked for that break.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from sa_lib.errors import DataValidationError, OptionError, Problem
from sa_lib.geography import load_csp_lookup
from sa_lib.paths import DATA_DIR
from sa_lib.periods import Window

__all__ = [
    "TOTAL_RECORDED_CRIME",
    "read_csp_recorded_crime",
    "read_population",
    "population_year",
    "area_population",
    "csp_rates",
]

CSP_TABLE = DATA_DIR / "home_office" / "policeforceareatablesyejune25final_TableC2_csp.csv"
POPULATION_TABLE = DATA_DIR / "population" / "la_population_mye_2001_2024.csv.gz"
TOTAL_RECORDED_CRIME = "Total recorded crime (excluding fraud)"
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

    Examples
    --------
    >>> t = read_csp_recorded_crime()
    >>> m = t[(t.csp_code == "E22000142") & (t.offence_group == TOTAL_RECORDED_CRIME)]
    >>> int(m["offences"].item())
    14672
    """
    path = Path(path) if path else CSP_TABLE
    if not path.exists():
        raise DataValidationError([Problem(str(path), None, None, "file not found")])
    with path.open(encoding="utf-8-sig", errors="replace") as fh:
        head = [next(fh, "") for _ in range(12)]
    m = re.search(r"year ending (\w+ \d{4})", head[0] if head else "")
    period = f"year ending {m.group(1)}" if m else ""
    skip = next((i for i, line in enumerate(head) if line.startswith('"Police Force')), None)
    if skip is None:
        raise DataValidationError([Problem(str(path), None, None,
                                           "no header row starting 'Police Force Area code' in the "
                                           "first 12 lines (expected the ONS Table C2 layout)")])
    raw = pd.read_csv(path, skiprows=skip, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    raw.columns = [_clean_header(c) for c in raw.columns]
    missing = [c for c in _ID_COLUMNS if c not in raw.columns]
    if missing or TOTAL_RECORDED_CRIME not in raw.columns:
        raise DataValidationError([Problem(str(path), skip + 1, None,
                                           f"missing column(s) {missing or [TOTAL_RECORDED_CRIME]}")])
    raw = raw.rename(columns=_ID_COLUMNS)
    for c in _ID_COLUMNS.values():
        raw[c] = raw[c].str.strip().str.replace(r"\s*\[note \d+\]", "", regex=True)
    raw = raw[raw["pfa_code"] != ""]
    offence_cols = [c for c in raw.columns if c not in _ID_COLUMNS.values() and c]
    raw["row_type"] = np.select(
        [raw["csp_code"] != "", raw["csp_name"].str.startswith("Unassigned"),
         raw["csp_name"] == ""],
        ["csp", "unassigned", "force_total"], "other",
    )
    long = raw.melt(id_vars=[*_ID_COLUMNS.values(), "row_type"], value_vars=offence_cols,
                    var_name="offence_group", value_name="text")
    text = long["text"].str.strip().str.replace(",", "", regex=False)
    is_x = text.isin(["[x]", "[z]", "[c]", ""])
    bad = ~is_x & ~text.str.fullmatch(r"\d+")
    if bad.any():
        rows = long[bad].head(10)
        raise DataValidationError([
            Problem(str(path), None, r.offence_group,
                    f"{r.csp_name or r.pfa_name}: {r.text!r} is not a count") for r in rows.itertuples()
        ])
    long["offences"] = pd.array(np.where(is_x, None, text), dtype="Int64") if len(long) else []
    long["period"] = period
    cols = ["period", "pfa_code", "pfa_name", "row_type", "csp_code", "csp_name", "la_code",
            "la_name", "offence_group", "offences"]
    return long[cols].reset_index(drop=True)


def read_population(path: str | Path | None = None) -> pd.DataFrame:
    """ONS mid-year population estimates by area and year (tidy).

    Returns
    -------
    DataFrame
        ``area_code, area_name, geography, year, population``.

    Examples
    --------
    >>> p = read_population()
    >>> int(p[(p.area_code == "E07000110") & (p.year == 2024)]["population"].item())
    187767
    """
    path = Path(path) if path else POPULATION_TABLE
    if not path.exists():
        raise DataValidationError([Problem(str(path), None, None, "file not found")])
    p = pd.read_csv(path, dtype={"area_code": str, "area_name": str, "geography": str})
    need = {"area_code", "area_name", "year", "population"}
    if not need <= set(p.columns):
        raise DataValidationError([Problem(str(path), 1, None,
                                           f"missing column(s) {sorted(need - set(p.columns))}")])
    return p[["area_code", "area_name", "geography", "year", "population"]]


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
    """Offences per 1,000 residents for every CSP, with its rank.

    Combined CSPs take the sum of their districts' populations (through the
    bundled LAD -> CSP lookup); CSPs whose districts have no estimate for
    ``year`` (the former Cumbria districts after 2023) get no rate and no rank.

    Returns
    -------
    DataFrame
        ``csp_code, csp_name, pfa_name, offences, population, population_year,
        rate_per_1000, rank`` (1 = highest rate among ranked CSPs) and ``n_ranked``.

    Examples
    --------
    >>> r = csp_rates()
    >>> m = r[r.csp_code == "E22000142"].iloc[0]
    >>> round(float(m.rate_per_1000), 2), int(m.population)
    (78.14, 187767)
    """
    crime = crime if crime is not None else read_csp_recorded_crime()
    if offence_group not in set(crime["offence_group"]):
        raise OptionError(f"offence_group {offence_group!r} not in the table; choose from "
                          f"{sorted(set(crime['offence_group']))}")
    pop = population if population is not None else read_population()
    c = crime[(crime["row_type"] == "csp") & (crime["offence_group"] == offence_group)].copy()
    lk = load_csp_lookup()
    lads = lk.groupby("csp_code")["lad_code"].apply(list)
    # A CSP that is one district names that district's code; only combined CSPs
    # ("Combined Local Authorities") need the LAD -> CSP lookup for their members.
    members = [[la] if la.startswith(("E0", "W0")) else lads.get(code, [])
               for code, la in zip(c["csp_code"], c["la_code"], strict=True)]
    year_pop = pop[pop["year"] == year].set_index("area_code")["population"]
    c["population"] = [
        int(year_pop.reindex(m).sum()) if m and year_pop.reindex(m).notna().all() else np.nan
        for m in members
    ]
    c["population_year"] = year
    c["rate_per_1000"] = c["offences"].astype(float) / c["population"] * 1000
    c["rank"] = c["rate_per_1000"].rank(ascending=False, method="min").astype("Int64")
    c["n_ranked"] = int(c["rate_per_1000"].notna().sum())
    return c[["csp_code", "csp_name", "pfa_name", "offences", "population", "population_year",
              "rate_per_1000", "rank", "n_ranked"]].reset_index(drop=True)
