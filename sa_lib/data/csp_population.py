"""The population of every Community Safety Partnership in a Home Office table, each once.

ONS Table C2 lists crimes by partnership on the geography of its own year, while some
partnerships are still the districts abolished in the 2019-2023 reorganisations (the
four Buckinghamshire partnerships, Corby, Kettering, the six Cumbria districts...).  The
table's ``la_code`` names the *council that replaced them* for several partnerships at
once, so joining on it gives each piece the whole council's population.  Here every
population is split into pieces that are each given to one partnership at most:

* a council that was not reorganised is one piece, its mid-year estimate;
* a council formed from former districts (``data/lookups/former_districts_2019_2023.csv``,
  from the ONS code history) has one piece per former district: the council's estimate
  split in proportion to the former districts' populations at the latest year the
  population file shows them separately, else their 2011 Census usual residents;
* a partnership's members are its districts in the January 2017 LAD -> CSP lookup (a
  district merged since then is traced to its successor), kept to those inside the
  council the table names for it; a partnership missing from the lookup is the council
  its ``la_code`` names.

Pieces no partnership claims (e.g. a former district with no row of its own) are
listed, never dropped silently, and so are partnerships that get no population.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from sa_lib.errors import DataValidationError, OptionError, Problem
from sa_lib.paths import DATA_DIR
from sa_lib.rounding import format_number

__all__ = ["ENGLAND_AND_WALES", "FORMER_DISTRICTS", "csp_populations", "load_former_districts"]

FORMER_DISTRICTS = DATA_DIR / "lookups" / "former_districts_2019_2023.csv"
#: The ONS code of England and Wales in the mid-year estimates.
ENGLAND_AND_WALES = "K04000001"
_DISTRICT_PREFIXES = ("E06", "E07", "E08", "E09", "W06")
_FORMER_COLUMNS = ["code", "name", "successor_code", "successor_name", "abolished",
                   "census_2011_residents"]


@lru_cache(maxsize=4)
def load_former_districts(path: str | Path | None = None) -> pd.DataFrame:
    """Local authority districts abolished since 2019, their successor and 2011 population.

    Returns
    -------
    DataFrame
        ``code, name, successor_code, successor_name, abolished`` (date text),
        ``census_2011_residents`` (usual residents, 2011 Census, summed from LSOAs).

    Raises
    ------
    DataValidationError
        A missing file or column, a population that is not a whole number, a district
        listed twice or succeeded by itself.

    Examples
    --------
    >>> f = load_former_districts()
    >>> f.loc[f.code == "E07000004", ["name", "successor_name"]].values.tolist()
    [['Aylesbury Vale', 'Buckinghamshire']]
    """
    path = Path(path) if path else FORMER_DISTRICTS
    file = str(path)
    if not path.is_file():
        raise DataValidationError([Problem(file, None, None, "file not found")])
    f = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in _FORMER_COLUMNS if c not in f.columns]
    if missing:
        raise DataValidationError([Problem(file, 1, c, f"required column {c!r} is missing")
                                   for c in missing])
    residents = pd.to_numeric(f["census_2011_residents"].where(
        f["census_2011_residents"].str.fullmatch(r"\d+")), errors="coerce")
    problems = [Problem(file, i + 2, "census_2011_residents", f"{v!r} is not a whole number")
                for i, v in zip(np.flatnonzero(residents.isna()),
                                f["census_2011_residents"][residents.isna()], strict=True)]
    problems += [Problem(file, i + 2, "code", f"{c} is listed twice")
                 for i, c in zip(np.flatnonzero(f["code"].duplicated()),
                                 f["code"][f["code"].duplicated()], strict=True)]
    problems += [Problem(file, i + 2, "successor_code", f"{c} is its own successor")
                 for i, c in zip(np.flatnonzero(f["code"] == f["successor_code"]),
                                 f["code"][f["code"] == f["successor_code"]], strict=True)]
    if problems:
        raise DataValidationError(problems)
    f["census_2011_residents"] = residents.astype("int64")
    return f[_FORMER_COLUMNS]


def csp_populations(
    csps: pd.DataFrame,
    population: pd.DataFrame,
    year: int,
    lookup: pd.DataFrame,
    former: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Each partnership's population for ``year``, no piece of population used twice.

    Parameters
    ----------
    csps : DataFrame
        One row per partnership: ``csp_code, csp_name, la_code`` (a district code, or
        text such as "Combined Local Authorities").
    population : DataFrame
        From :func:`sa_lib.data.home_office.read_population`.
    year : int
        The mid-year estimate wanted; the latest earlier year is used when it is not in
        ``population`` (``attrs["population_year"]`` says which).
    lookup : DataFrame
        ``lad_code, lad_name, csp_code`` (:func:`sa_lib.data.geography.load_csp_lookup`).
    former : DataFrame, optional
        :func:`load_former_districts` (the bundled table by default).

    Returns
    -------
    DataFrame
        ``csp_code, population`` (float; NaN when the partnership's districts have
        no estimate), ``population_basis`` (how it was made, in words),
        ``population_year``.  ``attrs``: ``population_year``,
        ``england_wales_population`` (``K04000001``, else the sum of all districts),
        ``unassigned`` (tuple of dicts ``code, name, council_code, council_name,
        population``: pieces of a council no partnership claims) and ``no_population``
        (tuple of dicts ``csp_code, csp_name, reason``).

    Examples
    --------
    >>> from sa_lib.data.geography import load_csp_lookup
    >>> from sa_lib.data.home_office import read_population
    >>> csps = pd.DataFrame({"csp_code": ["E22000303", "E22000306", "E22000311", "E22000318"],
    ...                      "csp_name": ["Aylesbury Vale", "Chiltern", "South Bucks", "Wycombe"],
    ...                      "la_code": ["E06000060"] * 4})
    >>> p = csp_populations(csps, read_population(), 2024, load_csp_lookup())
    >>> int(round(p["population"].sum()))  # Buckinghamshire's mid-2024 estimate, once
    578772
    >>> p["population_basis"].iloc[0]
    "Aylesbury Vale's share of Buckinghamshire's mid-2024 estimate (34.5%, by the 2011 Census population)"
    """
    former = load_former_districts() if former is None else former
    for name, frame, cols in (("csps", csps, ["csp_code", "csp_name", "la_code"]),
                              ("population", population, ["area_code", "area_name", "year",
                                                          "population"]),
                              ("lookup", lookup, ["lad_code", "lad_name", "csp_code"])):
        gone = [c for c in cols if c not in frame.columns]
        if gone:
            raise OptionError(f"csp_populations: {name} is missing column(s) {gone}")
    years = population.loc[population["year"] <= year, "year"]
    if years.empty:
        raise OptionError(f"no population estimate in or before {year}")
    used = int(years.max())
    est = population[population["year"] == used].set_index("area_code")["population"]
    names = {**dict(zip(lookup["lad_code"], lookup["lad_name"], strict=True)),
             **dict(zip(former["code"], former["name"], strict=True)),
             **dict(zip(former["successor_code"], former["successor_name"], strict=True)),
             **dict(zip(population["area_code"], population["area_name"], strict=True))}
    geo = _Geography(est, former, names, population)

    members = lookup.groupby("csp_code")["lad_code"].apply(list)
    claims: dict[str, list[str]] = {}  # piece -> partnerships claiming it
    pieces_of: dict[str, list[str]] = {}
    reasons: dict[str, str] = {}
    for code, la in zip(csps["csp_code"], csps["la_code"], strict=True):
        district = la.startswith(_DISTRICT_PREFIXES)
        listed = members.get(code, [])
        if district:
            # Keep the lookup's districts that lie inside the council the table names (the
            # 2017 Dorset CSP listed Christchurch, now in BCP); none fit: the council itself.
            within = set(geo.pieces(la))
            if within:
                listed = [m for m in listed if geo.pieces(m) and set(geo.pieces(m)) <= within]
            listed = listed or [la]
        pieces = sorted({p for m in listed for p in geo.pieces(m)})
        if not listed:
            reasons[code] = "not in the partnership lookup, and the table names no district"
        elif not pieces:
            reasons[code] = (f"no mid-{used} estimate for "
                             + ", ".join(names.get(m, m) for m in listed))
        pieces_of[code] = pieces
        for p in pieces:
            claims.setdefault(p, []).append(code)
    shared = {p: c for p, c in claims.items() if len(c) > 1}
    for p, codes in shared.items():
        for c in codes:
            reasons[c] = (f"{names.get(p, p)} is claimed by {len(codes)} partnerships in the "
                          "table, so its population cannot be given to one")
    csp_name = dict(zip(csps["csp_code"], csps["csp_name"], strict=True))

    pops, bases = [], []
    for code in csps["csp_code"]:
        if code in reasons:
            pops.append(np.nan)
            bases.append("")
            continue
        by_council: dict[str, list[str]] = {}
        for p in pieces_of[code]:
            by_council.setdefault(geo.current(p), []).append(p)
        total, whole, split = 0.0, [], []
        for council, held in by_council.items():
            share, basis = geo.share(council, held)
            total += share * float(est[council])
            if share == 1.0:
                whole.append(names.get(council, council))
            else:
                split.append(f"{_and(sorted(names.get(p, p) for p in held))}'s share of "
                             f"{names.get(council, council)}'s mid-{used} estimate "
                             f"({format_number(100 * share)}%, by the {basis})")
        words = ([f"mid-{used} estimate for {whole[0]}"] if len(whole) == 1 else
                 [f"sum of the mid-{used} estimates for {_and(sorted(whole))}"] if whole else [])
        pops.append(total)
        bases.append("; ".join(words + split))
    out = pd.DataFrame({"csp_code": csps["csp_code"].to_numpy(), "population": pops,
                        "population_basis": bases, "population_year": used})

    # A piece counts as used only when it is in one partnership's population.
    used_pieces = {p for p, c in claims.items() if len(c) == 1 and c[0] not in reasons}
    unassigned = []
    for council in sorted(c for c in est.index if c.startswith(_DISTRICT_PREFIXES)):
        left = [p for p in geo.pieces(council) if p not in used_pieces]
        if not left:
            continue
        share, _ = geo.share(council, left)
        unassigned.append({"code": ",".join(left),
                           "name": ", ".join(names.get(p, p) for p in left),
                           "council_code": council, "council_name": names.get(council, council),
                           "population": share * float(est[council])})
    ew = (float(est[ENGLAND_AND_WALES]) if ENGLAND_AND_WALES in est.index else
          float(est[[c for c in est.index if c.startswith(_DISTRICT_PREFIXES)]].sum()))
    out.attrs.update({
        "population_year": used,
        "england_wales_population": ew,
        "england_wales_basis": ("ONS estimate for England and Wales" if ENGLAND_AND_WALES
                                in est.index else "sum of every district's estimate"),
        "unassigned": tuple(unassigned),
        "no_population": tuple({"csp_code": c, "csp_name": csp_name[c], "reason": r}
                               for c, r in reasons.items()),
    })
    return out


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


class _Geography:
    """Districts of one estimate year: which council each code is now, and its pieces."""

    def __init__(self, est: pd.Series, former: pd.DataFrame, names: dict[str, str],
                 population: pd.DataFrame) -> None:
        self.est = est
        self.names = names
        self.population = population
        self.successor = dict(zip(former["code"], former["successor_code"], strict=True))
        self.census = dict(zip(former["code"], former["census_2011_residents"], strict=True))
        self.predecessors: dict[str, list[str]] = {}
        for code, succ in self.successor.items():
            self.predecessors.setdefault(succ, []).append(code)

    def current(self, code: str) -> str:
        """The council ``code`` is part of in the estimate year (itself if it has an estimate)."""
        seen = {code}
        while code not in self.est.index and code in self.successor:
            code = self.successor[code]
            if code in seen:  # a loop in the table: stop rather than spin
                break
            seen.add(code)
        return code

    def pieces(self, code: str) -> list[str]:
        """The smallest areas of the estimate year that make up ``code``, each with a home.

        A council that was never reorganised is its own single piece; a council formed
        from former districts has one piece per former district; a former district of a
        council with an estimate is itself (or its own former districts); a council not
        yet formed in the estimate year is made of its predecessors' pieces.  A code with
        no estimate, no known successor and no predecessor has none.
        """
        if code in self.est.index:
            before = [b for b in self.predecessors.get(code, []) if b not in self.est.index]
            return sorted(p for b in before for p in self._down(b)) if before else [code]
        if self.current(code) in self.est.index:
            return sorted(self._down(code))
        return sorted(p for b in self.predecessors.get(code, []) for p in self.pieces(b))

    def _down(self, code: str) -> list[str]:
        """The former districts with no predecessor inside ``code`` (itself if none)."""
        before = self.predecessors.get(code, [])
        return [p for b in before for p in self._down(b)] if before else [code]

    def share(self, council: str, held: list[str]) -> tuple[float, str]:
        """The share of ``council``'s population in the pieces ``held``, and its basis.

        The basis is the latest year the population file shows every piece of the council
        separately, else the 2011 Census (the former-districts table).
        """
        every = self.pieces(council)
        if set(held) >= set(every):
            return 1.0, ""
        p = self.population[self.population["area_code"].isin(every)]
        counts = p.groupby("year")["area_code"].nunique()
        full = counts[counts == len(every)]
        if len(full):
            y = int(full.index.max())
            w = p[p["year"] == y].set_index("area_code")["population"].astype(float)
            basis = f"mid-{y} estimates"
        else:
            w = pd.Series({c: float(self.census.get(c, np.nan)) for c in every})
            basis = "2011 Census population"
        if w.isna().any() or w.sum() <= 0:
            raise OptionError(f"no population for the former districts of "
                              f"{self.names.get(council, council)} ({', '.join(every)}) to "
                              "split its estimate by")
        return float(w.reindex(held).sum() / w.sum()), basis
