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
KENT_DISTRICTS = ("Ashford", "Canterbury", "Dartford", "Dover", "Folkestone", "Shepway",
                  "Gravesham", "Maidstone", "Medway", "Sevenoaks", "Swale", "Thanet",
                  "Tonbridge", "Tunbridge")


def write_gz(path: Path, rows: list[list[str]]) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
