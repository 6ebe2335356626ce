"""Ingest benchmark: police.uk street files, cold (CSV) and warm (Parquet cache), vs pandas.read_csv.

    python benchmarks/ingest.py            # bundled Maidstone, all Kent (if ../shared), national year
    python benchmarks/ingest.py --quick    # 1.2 million-row national year, one process each

Cases: (a) the bundled Maidstone files (``data/police_uk/maidstone``, gzip);
(b) every Kent file in ``../shared/data/police_uk/kent`` (skipped, and said so,
when that folder is absent); (c) a synthetic national year of about 6 million
rows in the real police.uk layout, written by this script with a fixed seed to a
temporary folder (12 monthly files).

Every measurement runs in a fresh Python process, so its peak memory (``VmHWM``)
is its own and one case cannot inflate another:

* ``pandas.read_csv`` (default C engine) on every file, concatenated;
* ``read_police_uk(..., cache=False)``: cold, every CSV parsed, nothing cached;
* ``read_police_uk`` with an empty cache folder: first run, CSV parsed and the
  Parquet cache written;
* ``read_police_uk`` again on that cache: warm.

Two floors show the best any implementation of each path could do here:
``pyarrow.csv.read_csv`` + ``to_pandas`` with nothing else (no checks, no hash,
no load report), and ``pyarrow.parquet.read_table`` of the cache files with no
pandas frame made.

Times are the median of ``--repeats`` processes per method (default 5; the
methods are interleaved so a slow spell of a shared machine hits all alike), peak
memory the largest.  Targets on 2 cores, as ratios within one run: cold at least
2.5x faster than ``pandas.read_csv``, warm at least 10x faster than cold, the
national year under 2 GiB peak.  Nothing is written to ``outputs/``, ``data/`` or
``.cache/`` (everything goes to a temporary folder).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine, peak_rss_mb

MAIDSTONE = ROOT / "data" / "police_uk" / "maidstone"
SHARED_KENT = (ROOT.parent / "shared" / "data" / "police_uk" / "kent").resolve()

# The header line exactly as data.police.uk writes it (copied from 2024-01-kent-street.csv).
HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
          "LSOA name,Crime type,Last outcome category,Context")
# Shares of the 14 categories, close to a recent year of England and Wales street-level data
# (violence and sexual offences about a third, anti-social behaviour about 15%).
CRIME_SHARES = {
    "Violence and sexual offences": 0.355, "Anti-social behaviour": 0.150,
    "Criminal damage and arson": 0.085, "Shoplifting": 0.075, "Other theft": 0.070,
    "Public order": 0.065, "Vehicle crime": 0.060, "Burglary": 0.040, "Other crime": 0.025,
    "Drugs": 0.030, "Possession of weapons": 0.010, "Robbery": 0.012, "Bicycle theft": 0.010,
    "Theft from the person": 0.013,
}
# Last outcome of crimes (blank for anti-social behaviour), shares as in the Kent files.
OUTCOMES = {
    "Unable to prosecute suspect": 0.40, "Investigation complete; no suspect identified": 0.35,
    "Under investigation": 0.055, "Status update unavailable": 0.045,
    "Court result unavailable": 0.044, "Awaiting court outcome": 0.03, "Local resolution": 0.027,
    "Action to be taken by another organisation": 0.026, "Offender given a caution": 0.01,
    "Further investigation is not in the public interest": 0.007,
    "Further action is not in the public interest": 0.003,
    "Offender given a drugs possession warning": 0.002, "Offender sent to prison": 0.001,
}
PLACES = ["Parking Area", "Supermarket", "Shopping Area", "Petrol Station", "Sports/Recreation Area",
          "Nightclub", "Police Station", "Hospital", "Further/Higher Educational Building",
          "Conference/Exhibition Centre", "Theatre/Concert Hall", "Bus/Coach Station"]
WORDS = ["High", "Church", "Station", "Mill", "Park", "London", "Victoria", "Green", "Manor",
         "Queens", "Kings", "Grange", "North", "South", "West", "East", "School", "New", "Albert",
         "York", "Windsor", "Springfield", "Chapel", "Brook", "Meadow", "Oak", "Ash", "Beech",
         "Elm", "Willow", "Cedar", "Holly", "Orchard", "Castle", "Bridge", "Market", "Abbey",
         "Priory", "Richmond", "Stanley", "Clarence", "Nelson", "Wellington", "Charles", "George",
         "Hill", "Valley", "Field", "Common", "Forest", "Cross", "Well", "Moor", "Heath", "Marsh",
         "Water", "River", "Canal", "Dock", "Quarry"]
SUFFIXES = ["Road", "Street", "Lane", "Close", "Avenue", "Drive", "Way", "Gardens", "Place",
            "Crescent", "Court", "Terrace"]


# --- the synthetic national year ---------------------------------------------------------------
def _hex_ids(rng: np.random.Generator, n: int) -> pa.Array:
    """``n`` random 64-character lower-case hex crime IDs (as police.uk's SHA-256 IDs)."""
    raw = np.frombuffer(rng.bytes(32 * n), dtype=np.uint8).reshape(n, 32)
    digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    hexed = np.empty((n, 64), dtype=np.uint8)
    hexed[:, 0::2] = digits[raw >> 4]
    hexed[:, 1::2] = digits[raw & 15]
    offsets = np.arange(0, 64 * (n + 1), 64, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(hexed.tobytes()))


def _pick(rng: np.random.Generator, shares: dict[str, float], n: int) -> tuple[np.ndarray, list]:
    p = np.array(list(shares.values()))
    return rng.choice(len(p), size=n, p=p / p.sum()), list(shares)


def national_year(folder: Path, rows: int, seed: int = 2025) -> list[Path]:
    """Write 12 monthly street files (``2025-MM/2025-MM-national-street.csv``) with ``rows``
    rows in all, in the real police.uk layout, from a fixed seed.

    Every England LSOA of the bundled 2011 lookup gets a centroid and a busyness (gamma), so a
    few LSOAs have many rows and most have a handful; "Falls within"/"Reported by" is the
    LSOA's force; about 1.3% of rows have no location (blank coordinates and LSOA, "No
    Location"); anti-social behaviour rows have no Crime ID and no outcome; Context is blank.
    """
    from sa_lib.data.geography import load_lsoa_lookup

    rng = np.random.default_rng(seed)
    lk = load_lsoa_lookup()
    n_lsoa = len(lk)
    force = lk["police_force"].to_numpy(dtype=object)
    blank = force == ""
    named = np.unique(force[~blank])
    force[blank] = named[rng.integers(0, len(named), int(blank.sum()))]
    force_name = np.array([
        "Metropolitan Police Service" if f == "Metropolitan Police"
        else "City of London Police" if f == "City of London" else f"{f} Police" for f in force])
    lon0 = rng.uniform(-5.5, 1.7, n_lsoa)
    lat0 = rng.uniform(50.1, 55.7, n_lsoa)
    weight = rng.gamma(1.2, 1.0, n_lsoa)
    weight /= weight.sum()
    # 60 x 60 x 12 = 43,200 street names ("On or near Oak Meadow Road"), then the places.
    streets = np.array([f"On or near {a} {b} {c}" if a != b else f"On or near {a} {c}"
                        for a in WORDS for b in WORDS for c in SUFFIXES]
                       + [f"On or near {p}" for p in PLACES])
    n_streets = len(WORDS) ** 2 * len(SUFFIXES)
    codes = pa.array(lk["lsoa_code"].to_numpy(dtype=object), pa.string())
    names = pa.array(lk["lsoa_name"].to_numpy(dtype=object), pa.string())
    forces = pa.array(force_name, pa.string())
    street_arr = pa.array(streets, pa.string())
    files = []
    sizes = np.full(12, rows // 12)
    sizes[: rows % 12] += 1
    for m, n in enumerate(sizes, start=1):
        lsoa = rng.choice(n_lsoa, size=n, p=weight)
        ctype, ctypes = _pick(rng, CRIME_SHARES, n)
        asb = ctype == ctypes.index("Anti-social behaviour")
        outcome, outcomes = _pick(rng, OUTCOMES, n)
        no_loc = rng.random(n) < 0.013
        # Each LSOA has 20 streets of its own; a fifth of rows are at a place (car park, ...).
        street = (lsoa * 37 + rng.integers(0, 20, n) * 1009) % n_streets
        place = rng.random(n) < 0.2
        street = np.where(place, n_streets + rng.integers(0, len(PLACES), n), street)
        loc_mask = pa.array(no_loc)
        lsoa_idx = pa.array(lsoa)
        table = pa.table({
            "Crime ID": pc.if_else(pa.array(asb), "", _hex_ids(rng, n)),
            "Month": pa.array(np.full(n, f"2025-{m:02d}"), pa.string()),
            "Reported by": forces.take(lsoa_idx),
            "Falls within": forces.take(lsoa_idx),
            "Longitude": pa.array((lon0[lsoa] + rng.normal(0, 0.004, n)).round(6),
                                  mask=no_loc),
            "Latitude": pa.array((lat0[lsoa] + rng.normal(0, 0.003, n)).round(6), mask=no_loc),
            "Location": pc.if_else(loc_mask, "No Location", street_arr.take(pa.array(street))),
            "LSOA code": pc.if_else(loc_mask, "", codes.take(lsoa_idx)),
            "LSOA name": pc.if_else(loc_mask, "", names.take(lsoa_idx)),
            "Crime type": pa.array(np.array(ctypes, dtype=object)[ctype], pa.string()),
            "Last outcome category": pc.if_else(
                pa.array(asb), "", pa.array(np.array(outcomes, dtype=object)[outcome], pa.string())),
            "Context": pa.array(np.full(n, ""), pa.string()),
        })
        sub = folder / f"2025-{m:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"2025-{m:02d}-national-street.csv"
        with path.open("wb") as fh:
            fh.write((HEADER + "\n").encode())
            # No quotes, empty strings as empty fields: the same bytes police.uk writes.
            pacsv.write_csv(table, fh, pacsv.WriteOptions(include_header=False,
                                                           quoting_style="none"))
        files.append(path)
    return files


# --- one measurement, run in a fresh child process ---------------------------------------------
METHODS = {
    "pandas": "`pandas.read_csv` (C engine), concatenated",
    "csv_floor": "floor: `pyarrow.csv.read_csv` + `to_pandas` only",
    "cold": "`read_police_uk(cache=False)`: cold, CSV",
    "fill": "`read_police_uk`, empty cache: CSV + cache written",
    "warm": "`read_police_uk`, warm: from the cache",
    "parquet_floor": "floor: `pyarrow.parquet.read_table` of the cache files only",
}


def measure(method: str, folder: str, cache: str) -> dict[str, float]:
    import pandas as pd

    from sa_lib.data.police_uk import find_street_files, read_police_uk

    files = find_street_files(folder)
    base_mb = peak_rss_mb()
    t0 = time.perf_counter()
    if method == "pandas":
        frame = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    elif method == "csv_floor":  # what parsing alone costs: no checks, no hashing, no report
        opts = pacsv.ReadOptions(block_size=4 << 20)
        frame = pa.concat_tables([pacsv.read_csv(f, read_options=opts) for f in files]).to_pandas()
    elif method == "parquet_floor":  # what reading the cache alone costs: no pandas frame
        import pyarrow.parquet as pq

        frame = pa.concat_tables([pq.read_table(f) for f in sorted(Path(cache).glob("*.parquet"))])
    elif method == "cold":
        frame = read_police_uk(files, area=None, cache=False)
    else:  # fill (cache folder empty) or warm (cache folder filled)
        frame = read_police_uk(files, area=None, cache_dir=cache)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows": len(frame), "peak_mb": peak_rss_mb(), "base_mb": base_mb}


def in_child(method: str, folder: Path, cache: Path) -> dict[str, float]:
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--measure", method,
                          str(folder), str(cache)], capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(f"measurement {method} on {folder} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_case(folder: Path, work: Path, repeats: int) -> dict[str, dict[str, float]]:
    """Each method ``repeats`` times, interleaved (pandas, cold, fill, warm, pandas, ...) so a
    slow spell of a shared machine hits every method alike; median time, largest peak."""
    for f in folder.rglob("*street.csv*"):  # every method starts with the files in page cache
        f.read_bytes()
    runs: dict[str, list[dict[str, float]]] = {m: [] for m in METHODS}
    for r in range(repeats):
        cache = work / f"cache{r}"  # empty for "fill", then filled for "warm"
        for m in METHODS:
            runs[m].append(in_child(m, folder, cache))
    out = {}
    for m, rs in runs.items():
        rows = {r["rows"] for r in rs}
        assert len(rows) == 1, f"{m} read different row counts: {rows}"
        out[m] = {"seconds": statistics.median(r["seconds"] for r in rs), "rows": rows.pop(),
                  "peak_mb": max(r["peak_mb"] for r in rs), "base_mb": max(r["base_mb"] for r in rs),
                  "all": [round(r["seconds"], 3) for r in rs]}
    n = {m: out[m]["rows"] for m in out}
    assert len(set(n.values())) == 1, f"methods read different row counts: {n}"
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="a 1.2 million-row national year and one repeat")
    ap.add_argument("--repeats", type=int, default=None, help="processes per method (default 5)")
    ap.add_argument("--measure", nargs=3, metavar=("METHOD", "FOLDER", "CACHE"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return 0
    repeats = args.repeats or (1 if args.quick else 5)
    rows = 1_200_000 if args.quick else 6_000_000
    print(f"machine: {machine()}")
    print(f"command: {Path(sys.executable).name} benchmarks/ingest.py"
          f"{' --quick' if args.quick else ''}; {repeats} process(es) per method and case")
    with tempfile.TemporaryDirectory(prefix="sa-ingest-") as tmp:
        work = Path(tmp)
        cases = [("(a) Maidstone, bundled", MAIDSTONE)]
        if SHARED_KENT.is_dir():
            cases.append(("(b) all Kent", SHARED_KENT))
        else:
            print(f"(b) all Kent: SKIPPED, {SHARED_KENT} not found (the project runs without "
                  "../shared; put the Kent street files there to include this case)")
        nat = work / "national"
        t0 = time.perf_counter()
        national_year(nat, rows)
        size = sum(f.stat().st_size for f in nat.rglob("*.csv")) / 2**20
        print(f"(c) synthetic national year: {rows:,} rows in 12 monthly CSV files ({size:,.0f} MB) "
              f"written in {time.perf_counter() - t0:.0f} s (seed 2025)")
        cases.append((f"(c) national year, {rows / 1e6:.1f} M rows", nat))
        results = []
        for i, (label, folder) in enumerate(cases):
            files = sorted(folder.rglob("*street.csv*"))
            mb = sum(f.stat().st_size for f in files) / 2**20
            print(f"measuring {label}: {len(files)} files, {mb:,.0f} MB ...", flush=True)
            results.append((label, len(files), mb, run_case(folder, work / f"case{i}", repeats)))
    print("\n| case | method | rows | seconds | rows per second | vs pandas | peak RSS (MB) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for label, n_files, mb, res in results:
        pandas_s = res["pandas"]["seconds"]
        for m, name in METHODS.items():
            r = res[m]
            print(f"| {label} ({n_files} files, {mb:,.0f} MB) | {name} | {r['rows']:,} | "
                  f"{r['seconds']:.3f} | {r['rows'] / r['seconds']:,.0f} | "
                  f"{pandas_s / r['seconds']:.1f}x | {r['peak_mb']:,.0f} |")
    print("\nseconds are the median of the processes; each process's times: "
          + "; ".join(f"{label.split(')')[0]}) " + ", ".join(f"{m} {res[m]['all']}" for m in METHODS)
                      for label, _, _, res in results))
    print(f"peak RSS is each process's VmHWM, including about "
          f"{min(r[3]['pandas']['base_mb'] for r in results):,.0f} MB of interpreter and "
          "libraries loaded before the timed call")
    print("\nfloors: `csv_floor` is pyarrow's CSV parser with nothing else (no header, month or "
          "crime-type checks, no SHA-256, no load report), the best a pyarrow-based cold read "
          "can do; `parquet_floor` reads the cache files into Arrow without making a pandas "
          "frame, the best a Parquet-cached warm read can do")
    print("\ntargets (2 cores, ratios within this run):")
    for label, _, _, res in results:
        cold_x = res["pandas"]["seconds"] / res["cold"]["seconds"]
        fill_x = res["pandas"]["seconds"] / res["fill"]["seconds"]
        warm_x = res["cold"]["seconds"] / res["warm"]["seconds"]
        print(f"- {label}: cold {cold_x:.1f}x faster than pandas.read_csv (target 2.5x: "
              f"{'met' if cold_x >= 2.5 else 'NOT met'}; first run with cache writing {fill_x:.1f}x); "
              f"warm {warm_x:.1f}x faster than cold (target 10x: "
              f"{'met' if warm_x >= 10 else 'NOT met'})")
        print(f"  best possible: pyarrow parsing alone is "
              f"{res['pandas']['seconds'] / res['csv_floor']['seconds']:.1f}x pandas; reading "
              f"the Parquet cache alone is {res['cold']['seconds'] / res['parquet_floor']['seconds']:.1f}x "
              "faster than cold")
    label, _, _, res = results[-1]
    peak = max(res[m]["peak_mb"] for m in ("cold", "fill", "warm"))
    print(f"- {label}: read_police_uk peak RSS {peak:,.0f} MB = {peak / 1024:.2f} GiB "
          f"(target under 2 GiB: {'met' if peak < 2048 else 'NOT met'}; "
          f"pandas.read_csv {res['pandas']['peak_mb']:,.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
