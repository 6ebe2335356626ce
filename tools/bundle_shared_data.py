"""Rebuild the bundled open data in data/ from the research copies in ../shared/data.

Run by hand (it is not part of the report): ``python tools/bundle_shared_data.py``.
Gzip files are written with mtime=0 so a rebuild is byte-identical.  See data/README.md
for what each output is and where it came from.
"""

from __future__ import annotations

import csv
import gzip
import io
import random
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
OUT = ROOT / "data"
# Local authority districts abolished in the April 2019, 2020, 2021 and 2023 reorganisations
# of England, and the council that replaced each: ONS Code History Database (the "changes"
# of each year's LAD codes), as made by the Bournemouth, Dorset and Poole (Structural Changes)
# Order 2018, the Suffolk (Local Government Changes) Order 2018, the Somerset West and Taunton
# (Local Government Changes) Order 2018, the Buckinghamshire (Structural Changes) Order 2019,
# the Northamptonshire (Structural Changes) Order 2020, and the Cumbria, North Yorkshire and
# Somerset (Structural Changes) Orders 2022.  (code, name, successor code, successor name,
# date abolished.)  Somerset West and Taunton is itself a former district (2019-2023).
FORMER_DISTRICTS = (
    ("E06000028", "Bournemouth", "E06000058", "Bournemouth, Christchurch and Poole", "2019-04-01"),
    ("E07000048", "Christchurch", "E06000058", "Bournemouth, Christchurch and Poole",
     "2019-04-01"),
    ("E06000029", "Poole", "E06000058", "Bournemouth, Christchurch and Poole", "2019-04-01"),
    ("E07000049", "East Dorset", "E06000059", "Dorset", "2019-04-01"),
    ("E07000050", "North Dorset", "E06000059", "Dorset", "2019-04-01"),
    ("E07000051", "Purbeck", "E06000059", "Dorset", "2019-04-01"),
    ("E07000052", "West Dorset", "E06000059", "Dorset", "2019-04-01"),
    ("E07000053", "Weymouth and Portland", "E06000059", "Dorset", "2019-04-01"),
    ("E07000205", "Suffolk Coastal", "E07000244", "East Suffolk", "2019-04-01"),
    ("E07000206", "Waveney", "E07000244", "East Suffolk", "2019-04-01"),
    ("E07000201", "Forest Heath", "E07000245", "West Suffolk", "2019-04-01"),
    ("E07000204", "St Edmundsbury", "E07000245", "West Suffolk", "2019-04-01"),
    ("E07000190", "Taunton Deane", "E07000246", "Somerset West and Taunton", "2019-04-01"),
    ("E07000191", "West Somerset", "E07000246", "Somerset West and Taunton", "2019-04-01"),
    ("E07000004", "Aylesbury Vale", "E06000060", "Buckinghamshire", "2020-04-01"),
    ("E07000005", "Chiltern", "E06000060", "Buckinghamshire", "2020-04-01"),
    ("E07000006", "South Bucks", "E06000060", "Buckinghamshire", "2020-04-01"),
    ("E07000007", "Wycombe", "E06000060", "Buckinghamshire", "2020-04-01"),
    ("E07000150", "Corby", "E06000061", "North Northamptonshire", "2021-04-01"),
    ("E07000152", "East Northamptonshire", "E06000061", "North Northamptonshire", "2021-04-01"),
    ("E07000153", "Kettering", "E06000061", "North Northamptonshire", "2021-04-01"),
    ("E07000156", "Wellingborough", "E06000061", "North Northamptonshire", "2021-04-01"),
    ("E07000151", "Daventry", "E06000062", "West Northamptonshire", "2021-04-01"),
    ("E07000154", "Northampton", "E06000062", "West Northamptonshire", "2021-04-01"),
    ("E07000155", "South Northamptonshire", "E06000062", "West Northamptonshire", "2021-04-01"),
    ("E07000026", "Allerdale", "E06000063", "Cumberland", "2023-04-01"),
    ("E07000028", "Carlisle", "E06000063", "Cumberland", "2023-04-01"),
    ("E07000029", "Copeland", "E06000063", "Cumberland", "2023-04-01"),
    ("E07000027", "Barrow-in-Furness", "E06000064", "Westmorland and Furness", "2023-04-01"),
    ("E07000030", "Eden", "E06000064", "Westmorland and Furness", "2023-04-01"),
    ("E07000031", "South Lakeland", "E06000064", "Westmorland and Furness", "2023-04-01"),
    ("E07000163", "Craven", "E06000065", "North Yorkshire", "2023-04-01"),
    ("E07000164", "Hambleton", "E06000065", "North Yorkshire", "2023-04-01"),
    ("E07000165", "Harrogate", "E06000065", "North Yorkshire", "2023-04-01"),
    ("E07000166", "Richmondshire", "E06000065", "North Yorkshire", "2023-04-01"),
    ("E07000167", "Ryedale", "E06000065", "North Yorkshire", "2023-04-01"),
    ("E07000168", "Scarborough", "E06000065", "North Yorkshire", "2023-04-01"),
    ("E07000169", "Selby", "E06000065", "North Yorkshire", "2023-04-01"),
    ("E07000187", "Mendip", "E06000066", "Somerset", "2023-04-01"),
    ("E07000188", "Sedgemoor", "E06000066", "Somerset", "2023-04-01"),
    ("E07000189", "South Somerset", "E06000066", "Somerset", "2023-04-01"),
    ("E07000246", "Somerset West and Taunton", "E06000066", "Somerset", "2023-04-01"),
)
#: Leicestershire partnerships bundled (LSOA-name prefixes, both LSOA vintages): Leicester
#: (E22000168, unitary, the force's largest), Charnwood (E22000165) and Melton (E22000169,
#: the smallest district), so one force's files hold several partnerships.
LEICESTERSHIRE_DISTRICTS = ("Leicester ", "Charnwood ", "Melton ")
KENT_DISTRICTS = ("Ashford", "Canterbury", "Dartford", "Dover", "Folkestone", "Shepway",
                  "Gravesham", "Maidstone", "Medway", "Sevenoaks", "Swale", "Thanet",
                  "Tonbridge", "Tunbridge")


def write_gz(path: Path, rows: list[list[str]], newline: str = "\n") -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator=newline).writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.GzipFile(path, "wb", mtime=0) as fh:
        fh.write(buf.getvalue().encode())


def main() -> int:
    if not SHARED.is_dir():
        print(f"{SHARED} not found: nothing to rebuild from", file=sys.stderr)
        return 1
    police = SHARED / "police_uk"
    # 1. Maidstone street files: rows in Maidstone LSOAs plus Kent's no-location rows
    #    (kept so the loader's no-location count is the real one).
    for src in sorted((police / "kent").glob("*/*-kent-street.csv")):
        with src.open(newline="") as fh:
            rows = list(csv.reader(fh))
        keep = [rows[0]] + [r for r in rows[1:] if r[8].startswith("Maidstone ") or r[7] == ""]
        write_gz(OUT / "police_uk" / "maidstone" / f"{src.name}.gz", keep)
    # 2. Whole-Kent sample (two months, two LSOA vintages) for area-selection tests:
    #    a 4% sample of Kent districts' rows plus every row outside them.
    rng = random.Random(20251122)
    for month in ("2018-11", "2025-01"):
        src = police / "kent" / month / f"{month}-kent-street.csv"
        with src.open(newline="") as fh:
            rows = list(csv.reader(fh))
        keep = [rows[0]] + [r for r in rows[1:]
                            if not r[8].startswith(KENT_DISTRICTS) or rng.random() < 0.04]
        write_gz(OUT / "police_uk" / "kent_sample" / f"{src.name}.gz", keep)
    # 2b. Leicestershire street files (a second force, 2011 LSOAs, COVID-era months): rows of
    #     LEICESTERSHIRE_DISTRICTS plus every row with no location, line endings kept (CRLF).
    for src in sorted((police / "leicestershire").glob("*/*-leicestershire-street.csv")):
        raw = src.read_bytes()
        with src.open(newline="") as fh:
            rows = list(csv.reader(fh))
        keep = [rows[0]] + [r for r in rows[1:]
                            if r[8].startswith(LEICESTERSHIRE_DISTRICTS) or r[7] == ""]
        write_gz(OUT / "police_uk" / "leicestershire_sample" / f"{src.name}.gz", keep,
                 newline="\r\n" if b"\r\n" in raw[:4096] else "\n")
    # 3. Lookups
    with (police / "lookups" / "PoliceforceLSOA.csv").open(newline="") as fh:
        rows = list(csv.reader(fh))
    write_gz(OUT / "lookups" / "lsoa11_lad_police_force.csv.gz",
             [["lsoa_code", "lsoa_name", "lad_code", "lad_name", "region_code", "region_name",
               "police_force"]] + [[r[7], r[8], r[3], r[4], r[1], r[2], r[9]] for r in rows[1:]])
    lad_csp = next((police / "lookups").glob("Local_Authority_District_to_Community*.csv"))
    (OUT / "lookups" / "lad17_csp17_pfa17.csv").write_text(lad_csp.read_text(encoding="utf-8-sig"))
    # 4. Population and current LA names
    pop = SHARED / "home_office" / "population" / "la_population_mye_2001_2024.csv"
    with gzip.GzipFile(OUT / "population" / "la_population_mye_2001_2024.csv.gz", "wb",
                       mtime=0) as fh:
        fh.write(pop.read_bytes())
    latest: dict[str, tuple[int, str]] = {}
    with pop.open(newline="") as fh:
        for r in csv.DictReader(fh):
            code = r["area_code"]
            if code[:3] in ("E06", "E07", "E08", "E09", "W06"):
                if code not in latest or int(r["year"]) >= latest[code][0]:
                    latest[code] = (int(r["year"]), r["area_name"])
    with (OUT / "lookups" / "lad_names.csv").open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["lad_code", "lad_name"])
        w.writerows([c, latest[c][1]] for c in sorted(latest))
    # 5. ONS Table C2 (recorded crime by CSP), unmodified
    shutil.copy(SHARED / "home_office" / "ons" / "policeforceareatablesyejune25final_TableC2_csp.csv",
                OUT / "home_office" / "policeforceareatablesyejune25final_TableC2_csp.csv")
    # 6. Former districts (abolished 2019-2023) with their 2011 Census usual residents,
    #    summed from the LSOA table (a district formed after 2011 sums its predecessors').
    write_former_districts(police / "population" / "census_2011_population_hh.csv",
                           OUT / "lookups" / "former_districts_2019_2023.csv")
    # 7. 2011 Census usual residents per LSOA (England and Wales), for crime rates by LSOA.
    write_lsoa_population(police / "population" / "census_2011_population_hh.csv",
                          OUT / "population" / "lsoa_population_2011.csv.gz")
    return 0


def write_lsoa_population(census: Path, out: Path) -> None:
    """Write ``lsoa_code,lad_code,residents`` (2011 Census usual residents), sorted by code."""
    rows: list[list[str]] = []
    with census.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        lsoa, la = header.index("LSOA Code"), header.index("Local authority code")
        persons = header.index("Persons")  # the first "Persons" is all usual residents
        for r in reader:
            if r and r[lsoa]:
                rows.append([r[lsoa], r[la], str(int(r[persons].replace(",", "")))])
    write_gz(out, [["lsoa_code", "lad_code", "residents"], *sorted(rows)])


def write_former_districts(census: Path, out: Path) -> None:
    """Write FORMER_DISTRICTS with each district's 2011 Census usual residents."""
    residents: dict[str, int] = {}
    with census.open(newline="", encoding="utf-8-sig") as fh:
        rows = csv.reader(fh)
        header = next(rows)
        la, persons = header.index("Local authority code"), header.index("Persons")
        for r in rows:
            if r and r[la]:
                residents[r[la]] = residents.get(r[la], 0) + int(r[persons].replace(",", ""))

    def census_2011(code: str) -> int:
        if code in residents:
            return residents[code]
        parts = [row[0] for row in FORMER_DISTRICTS if row[2] == code]
        if not parts:
            raise SystemExit(f"{code}: not in {census.name} and no predecessor listed")
        return sum(census_2011(c) for c in parts)

    with out.open("w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["code", "name", "successor_code", "successor_name", "abolished",
                    "census_2011_residents"])
        w.writerows([*row, census_2011(row[0])] for row in FORMER_DISTRICTS)


if __name__ == "__main__":
    raise SystemExit(main())
