"""Ingest benchmark: police.uk street files, cold (CSV) and warm (Parquet cache), vs pandas.read_csv.

    python benchmarks/ingest.py            # bundled Maidstone, all Kent (if ../shared), national year
    python benchmarks/ingest.py --quick    # national year of 1.2 million rows instead of 6 million

Cases: (a) the bundled Maidstone files (``data/police_uk/maidstone``, gzip);
(b) every Kent file in ``../shared/data/police_uk/kent`` (skipped, and said so,
when that folder is absent); (c) a synthetic national year of about 6 million
rows in the real police.uk layout, written by this script with a fixed seed to a
temporary folder (12 monthly files).

Each measurement runs in its own Python process, so its peak memory
(``VmHWM``) is its own: ``pandas.read_csv`` (default C engine) on every file,
concatenated; ``read_police_uk(..., area=None)`` with an empty cache (cold: CSV
parsed and cached); the same again (warm: read from the cache).  Targets on 2
cores: cold at least 2.5x faster than ``pandas.read_csv``, warm at least 10x
faster than cold, the national year under 2 GiB peak.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import machine  # noqa: E402

from sa_lib.geography import load_lsoa_lookup  # noqa: E402
from sa_lib.police_uk import CRIME_TYPES, POLICE_UK_COLUMNS, find_street_files  # noqa: E402

SHARED_KENT = (ROOT / ".." / "shared" / "data" / "police_uk" / "kent").resolve()
# Rough national shares of the 14 categories (ASB about a third of rows).
SHARES = np.array([0.30, 0.01, 0.05, 0.08, 0.03, 0.02, 0.06, 0.01, 0.06, 0.01, 0.06, 0.02,
                   0.07, 0.22])
OUTCOMES = ["Investigation complete; no suspect identified", "Unable to prosecute suspect",
            "Under investigation", "Status update unavailable", "Local resolution",
            "Offender given a caution", "Awaiting court outcome"]


# --- one measurement, run in a child process -------------------------------------------------
def measure(method: str, folder: str, cache: str) -> dict[str, float]:
    files = find_street_files(folder)
    t0 = time.perf_counter()
    if method == "pandas":
        rows = len(pd.concat([pd.read_csv(f) for f in files], ignore_index=True))
    else:
        from sa_lib.police_uk import read_police_uk

        rows = len(read_police_uk(files, area=None, cache_dir=cache))
    seconds = time.perf_counter() - t0
    peak_mb = _peak_mb()
    return {"seconds": seconds, "rows": rows, "peak_mb": peak_mb}


def _peak_mb() -> float:
    """This process's peak resident memory: VmHWM, which (unlike ru_maxrss) does not carry
    over the parent's high-water mark across exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_child(method: str, folder: Path, cache: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--measure", method, str(folder), str(cache)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- the synthetic national year ---------------------------------------------------------------
def national_year(folder: Path, rows: int, seed: int = 2025) -> Path:
    """Write 12 monthly street files with ``rows`` rows in all, in the real column layout."""
    rng = np.random.default_rng(seed)
    lk = load_lsoa_lookup()
    codes, names = lk["lsoa_code"].to_numpy(), lk["lsoa_name"].to_numpy()
    forces = np.array([f"Force {i:02d} Police" for i in range(43)])
    per_month = rows // 12
    for m in range(1, 13):
        n = per_month
        ctype = rng.choice(np.array(CRIME_TYPES), size=n, p=SHARES / SHARES.sum())
        asb = ctype == "Anti-social behaviour"
        ids = np.array([f"{x:064x}" for x in rng.integers(0, 2**62, size=n)], dtype=object)
        ids[asb] = ""
        lsoa = rng.integers(0, len(codes), size=n)
        no_loc = rng.random(n) < 0.02
        force = forces[rng.integers(0, len(forces), size=n)]
        outcome = np.array(OUTCOMES, dtype=object)[rng.integers(0, len(OUTCOMES), size=n)]
        outcome[asb] = ""
        table = pa.table({
            "Crime ID": ids,
            "Month": np.full(n, f"2025-{m:02d}"),
            "Reported by": force,
            "Falls within": force,
            "Longitude": np.where(no_loc, np.nan, rng.uniform(-3.0, 1.5, n).round(6)),
            "Latitude": np.where(no_loc, np.nan, rng.uniform(50.5, 54.5, n).round(6)),
            "Location": np.where(no_loc, "No Location",
                                 np.char.add("On or near Street ",
                                             rng.integers(1, 5000, n).astype(str))),
            "LSOA code": np.where(no_loc, "", codes[lsoa]),
            "LSOA name": np.where(no_loc, "", names[lsoa]),
            "Crime type": ctype,
            "Last outcome category": outcome,
            "Context": np.full(n, ""),
        })
        assert table.column_names == list(POLICE_UK_COLUMNS)
        pacsv.write_csv(table, folder / f"2025-{m:02d}-national-street.csv")
    return folder




def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a 1.2 million-row national year")
    ap.add_argument("--measure", nargs=3, metavar=("METHOD", "FOLDER", "CACHE"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return 0
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="sa-ingest-") as tmp:
        tmp_path = Path(tmp)
        cases = [("(a) bundled Maidstone, 22 gzip files", ROOT / "data" / "police_uk" / "maidstone")]
        if SHARED_KENT.exists():
            cases.append(("(b) all Kent, 22 CSV files", SHARED_KENT))
        else:
            print(f"(b) skipped: {SHARED_KENT} not found (the project runs without ../shared)")
        rows = 1_200_000 if args.quick else 6_000_000
        nat = tmp_path / "national"
        nat.mkdir()
        t0 = time.perf_counter()
        national_year(nat, rows)
        print(f"(c) national year: {rows:,} rows written in {time.perf_counter() - t0:.0f} s")
        cases.append((f"(c) synthetic national year, {rows / 1e6:.1f} M rows, 12 CSV files", nat))
        print("\n| case | method | rows | seconds | rows per second | peak memory (MB) |")
        print("|---|---|---|---|---|---|")
        verdicts = []
        for i, (label, folder) in enumerate(cases):
            cache = tmp_path / f"cache{i}"
            res = {m: in_child(m if m == "pandas" else "sa", folder, cache)
                   for m in ("pandas", "cold", "warm")}
            for m, name in (("pandas", "`pandas.read_csv` (C engine)"),
                            ("cold", "`read_police_uk`, cold (CSV)"),
                            ("warm", "`read_police_uk`, warm (cache)")):
                r = res[m]
                print(f"| {label} | {name} | {r['rows']:,} | {r['seconds']:.2f} | "
                      f"{r['rows'] / r['seconds']:,.0f} | {r['peak_mb']:,.0f} |")
            cold_x = res["pandas"]["seconds"] / res["cold"]["seconds"]
            warm_x = res["cold"]["seconds"] / res["warm"]["seconds"]
            verdicts.append(f"{label}: cold {cold_x:.1f}x pandas (target 2.5x: "
                            f"{'met' if cold_x >= 2.5 else 'NOT met'}); warm {warm_x:.1f}x cold "
                            f"(target 10x: {'met' if warm_x >= 10 else 'NOT met'})")
            if folder == nat:
                peak = max(res["cold"]["peak_mb"], res["warm"]["peak_mb"])
                verdicts.append(f"{label}: peak {peak:,.0f} MB (target < 2,048 MB: "
                                f"{'met' if peak < 2048 else 'NOT met'})")
        print()
        for v in verdicts:
            print("- " + v)
    return 0


if __name__ == "__main__":
    sys.exit(main())
