"""Geography lookups: LSOA -> local authority -> Community Safety Partnership -> police force.

Police.uk files carry LSOA codes and names of two vintages (2011 LSOAs up to
2019, 2021 LSOAs from 2024).  The bundled lookup covers the 2011 codes; 2021 codes
are matched by LSOA *name*, which always starts with the local authority's name
("Maidstone 014C").  Selecting by code **or** name prefix therefore works for both
vintages, including renamed districts (Shepway became Folkestone and Hythe in 2018:
both names are used).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import pandas as pd

from sa_lib.errors import OptionError
from sa_lib.paths import DATA_DIR

__all__ = ["Area", "load_lsoa_lookup", "load_csp_lookup", "resolve_area"]

LSOA_LOOKUP = DATA_DIR / "lookups" / "lsoa11_lad_police_force.csv.gz"
CSP_LOOKUP = DATA_DIR / "lookups" / "lad17_csp17_pfa17.csv"
LAD_NAMES = DATA_DIR / "lookups" / "lad_names.csv"


@dataclass(frozen=True)
class Area:
    """Which police.uk rows belong to an area.

    A row belongs to the area when its LSOA code is in ``lsoa_codes`` or its
    LSOA name starts with one of ``name_prefixes`` (each ending in a space).
    """

    name: str
    code: str | None = None
    lsoa_codes: frozenset[str] = field(default_factory=frozenset)
    name_prefixes: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line saying how the area was selected, for the data-sources section."""
        bits = []
        if self.name_prefixes:
            bits.append("LSOA names starting " + " or ".join(f"'{p}'" for p in self.name_prefixes))
        if self.lsoa_codes:
            bits.append(f"{len(self.lsoa_codes)} listed LSOA codes")
        how = " or ".join(bits) if bits else "all rows"
        return f"{self.name}{f' ({self.code})' if self.code else ''}: {how}"


@lru_cache(maxsize=1)
def load_lsoa_lookup() -> pd.DataFrame:
    """The bundled 2011 LSOA -> local authority -> police force lookup (England).

    Returns
    -------
    DataFrame
        ``lsoa_code, lsoa_name, lad_code, lad_name, region_code, region_name,
        police_force``.

    Examples
    --------
    >>> lk = load_lsoa_lookup()
    >>> int((lk["lad_code"] == "E07000110").sum())
    95
    """
    return pd.read_csv(LSOA_LOOKUP, dtype=str, keep_default_na=False)


@lru_cache(maxsize=1)
def load_csp_lookup() -> pd.DataFrame:
    """The ONS local authority -> CSP -> police force area lookup, with current LA names.

    Returns
    -------
    DataFrame
        ``lad_code, lad_name`` (current name), ``lad_former_names`` (``;``-separated),
        ``csp_code, csp_name, pfa_code, pfa_name``.

    Examples
    --------
    >>> lk = load_csp_lookup()
    >>> lk.loc[lk.csp_code == "E22000352", "lad_name"].tolist()
    ['Dartford', 'Gravesham']
    """
    lk = pd.read_csv(CSP_LOOKUP, dtype=str, keep_default_na=False).rename(columns={
        "LAD17CD": "lad_code", "LAD17NM": "lad_name_2017", "CSP17CD": "csp_code",
        "CSP17NM": "csp_name", "PFA17CD": "pfa_code", "PFA17NM": "pfa_name",
    })
    names = pd.read_csv(LAD_NAMES, dtype=str, keep_default_na=False)
    lk = lk.merge(names, on="lad_code", how="left")
    lk["lad_name"] = lk["lad_name"].where(lk["lad_name"] != "", lk["lad_name_2017"])
    lk["lad_name"] = lk["lad_name"].fillna(lk["lad_name_2017"])
    former = lk["lad_name_2017"].where(lk["lad_name_2017"] != lk["lad_name"], "")
    lk["lad_former_names"] = former
    # CSPs renamed with their district (Shepway -> Folkestone and Hythe)
    renamed = (lk["csp_name"] == lk["lad_name_2017"]) & (lk["lad_name"] != lk["lad_name_2017"])
    lk.loc[renamed, "csp_name"] = lk.loc[renamed, "lad_name"]
    return lk[["lad_code", "lad_name", "lad_former_names", "csp_code", "csp_name",
               "pfa_code", "pfa_name"]]


def resolve_area(area: str | Sequence[str]) -> Area:
    """Turn what the user names into an :class:`Area`.

    Parameters
    ----------
    area : str or list of str
        * a local authority code (``"E07000110"``) or a CSP code (``"E22000142"``):
          resolved through the bundled lookups to every LSOA of its district(s),
          matched by 2011 code or by LSOA name prefix (both vintages);
        * a list of LSOA codes: exactly those LSOAs;
        * any other text: an LSOA name prefix, e.g. ``"Maidstone"`` (a trailing
          space is added so "Maidstone" does not also match "Maidstonebury").

    Examples
    --------
    >>> a = resolve_area("E22000352")
    >>> a.name, a.name_prefixes
    ('Dartford and Gravesham', ('Dartford ', 'Gravesham '))
    >>> resolve_area("Maidstone").name_prefixes
    ('Maidstone ',)
    """
    if isinstance(area, str):
        code = area.strip()
        if len(code) == 9 and code[:3] in {"E06", "E07", "E08", "E09", "W06"}:
            return _area_from_lads(code, [code], code)
        if len(code) == 9 and code[:3] in {"E22", "W22", "W14"}:  # Welsh CSPs: W14
            lk = load_csp_lookup()
            lads = lk.loc[lk["csp_code"] == code, "lad_code"].tolist()
            if not lads:
                raise OptionError(f"CSP code {code!r} is not in the bundled CSP lookup ({CSP_LOOKUP.name})")
            name = lk.loc[lk["csp_code"] == code, "csp_name"].iloc[0]
            return _area_from_lads(name, lads, code)
        if not code:
            raise OptionError("area must not be empty")
        prefix = code if area.endswith(" ") else code + " "
        return Area(name=code, name_prefixes=(prefix,))
    codes = [str(c).strip() for c in area]
    if not codes:
        raise OptionError("area: the list of LSOA codes is empty")
    bad = [c for c in codes if not (len(c) == 9 and c[:3] in {"E01", "W01"})]
    if bad:
        raise OptionError(f"area: {bad[:5]} are not LSOA codes (expected e.g. 'E01024333')")
    return Area(name=f"{len(codes)} LSOAs", lsoa_codes=frozenset(codes))


def _area_from_lads(name: str, lad_codes: list[str], code: str) -> Area:
    csp = load_csp_lookup()
    lsoa = load_lsoa_lookup()
    rows = csp[csp["lad_code"].isin(lad_codes)]
    names = list(rows["lad_name"]) + [n for n in rows["lad_former_names"] if n]
    names += list(lsoa.loc[lsoa["lad_code"].isin(lad_codes), "lad_name"].unique())
    if not names:
        raise OptionError(f"local authority code {code!r} is not in the bundled lookups")
    if name == code and len(rows):
        name = rows["lad_name"].iloc[0]
    prefixes = tuple(dict.fromkeys(f"{_clean_lad_name(n)} " for n in names))
    codes = frozenset(lsoa.loc[lsoa["lad_code"].isin(lad_codes), "lsoa_code"])
    return Area(name=name, code=code, lsoa_codes=codes, name_prefixes=prefixes)


def _clean_lad_name(name: str) -> str:
    # The LSOA lookup writes unitary authorities as "Medway UA"; LSOA names say "Medway".
    for suffix in (" UA",):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name
