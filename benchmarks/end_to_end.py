"""End-to-end benchmark: the README's report command, cold and warm, and a batch of Kent districts.

    python benchmarks/end_to_end.py            # everything (about 10 minutes on 2 cores)
    python benchmarks/end_to_end.py --quick    # the single report only, cold and warm

Each run is a separate ``sa run`` process; wall time is measured around it and
peak memory is the largest resident set of any process it started (the runner or
one of its kernels: ``getrusage(RUSAGE_CHILDREN)``).  Cold = an empty police.uk
Parquet cache (``SA_CACHE_DIR`` pointed at a new folder); warm = the same
command again with that cache filled.  Outputs go to a temporary copy of the
outputs folder, so the real ``outputs/`` is untouched.

The batch builds every Kent partnership from one parameters file.  With
``../shared/data/police_uk/kent`` present (all 22 months of Kent street files)
it uses that folder (allowed through ``SA_EXTRA_DATA_DIRS``); without it, the
bundled one-month Kent sample.  Scaling efficiency = T(1 worker) / (2 × T(2
workers)) on the same areas.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import machine  # noqa: E402

from sa_lib.data.geography import load_csp_lookup  # noqa: E402
from sa_lib.paths import PARAMETERS_DIR  # noqa: E402

SHARED_KENT = (ROOT / ".." / "shared" / "data" / "police_uk" / "kent").resolve()
SA = str(Path(sys.executable).with_name("sa"))


def _peak_children_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def run(args: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall seconds, peak MB (largest process so far) and exit code of one ``sa`` command."""
    t0 = time.perf_counter()
    proc = subprocess.run([SA, *args, "--no-progress"], cwd=ROOT, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        print(proc.stderr[-2000:], file=sys.stderr)
    return wall, _peak_children_mb(), proc.returncode




def single_report(env: dict[str, str]) -> dict[str, tuple[float, float]]:
    out = {}
    for label in ("cold", "warm"):
        wall, peak, rc = run(["run", "parameters/2025.yaml"], env)
        if rc:
            raise SystemExit(f"sa run failed ({label})")
        out[label] = (wall, peak)
    return out


def kent_template(folder: Path) -> tuple[Path, list[str], str]:
    """A parameters file for Kent districts and the area codes to build."""
    raw = yaml.safe_load((PARAMETERS_DIR / "2025.yaml").read_text(encoding="utf-8"))
    if SHARED_KENT.exists():
        raw["data"]["police_uk"] = [str(SHARED_KENT)]
        source = f"{SHARED_KENT} (22 months, all Kent)"
    else:
        raw["data"]["police_uk"] = ["data/police_uk/kent_sample"]
        raw["window"] = {"end": "2025-01", "months": 1}
        raw.pop("comparison", None)
        source = "data/police_uk/kent_sample (Jan 2025 only; ../shared not found)"
    path = folder / "kent.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    lk = load_csp_lookup()
    areas = sorted(lk.loc[lk["pfa_name"] == "Kent", "csp_code"].unique())
    return path, areas, source


def batch(env: dict[str, str], folder: Path, efficiency_areas: int) -> dict[str, object]:
    params, areas, source = kent_template(folder)
    env = {**env, "SA_EXTRA_DATA_DIRS": str(SHARED_KENT.parent)}
    area_args = [a for code in areas for a in ("--area", code)]
    wall_all, peak_all, rc_all = run(["run", str(params), *area_args, "--workers", "2"], env)
    subset = [a for code in areas[:efficiency_areas] for a in ("--area", code)]
    t1, _, rc1 = run(["run", str(params), *subset, "--workers", "1"], env)
    t2, _, rc2 = run(["run", str(params), *subset, "--workers", "2"], env)
    return {"source": source, "areas": len(areas), "wall_all": wall_all, "peak_all": peak_all,
            "ok": rc_all == rc1 == rc2 == 0, "t1": t1, "t2": t2, "n_eff": efficiency_areas,
            "efficiency": t1 / (2 * t2)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="only the single report, cold and warm")
    ap.add_argument("--efficiency-areas", type=int, default=4,
                    help="areas in the 1-worker vs 2-worker scaling run (default 4)")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="sa-bench-") as tmp:
        tmp_path = Path(tmp)
        env = {**os.environ, "SA_CACHE_DIR": str(tmp_path / "cache"),
               "SA_OUTPUTS_DIR": str(tmp_path / "outputs")}
        res = single_report(env)
        print("\n| run | wall (s) | peak memory, largest process (MB) | target |")
        print("|---|---|---|---|")
        for label, target in (("cold", 60), ("warm", 30)):
            wall, peak = res[label]
            verdict = "met" if wall < target else "NOT met"
            print(f"| `sa run parameters/2025.yaml`, {label} | {wall:.1f} | {peak:.0f} | "
                  f"< {target} s: {verdict} |")
        if args.quick:
            return 0
        b = batch(env, tmp_path, args.efficiency_areas)
        print(f"\nbatch data: {b['source']}")
        print("\n| run | wall (s) | peak memory, largest process (MB) | note |")
        print("|---|---|---|---|")
        print(f"| batch, all {b['areas']} Kent partnerships, 2 workers | {b['wall_all']:.1f} | "
              f"{b['peak_all']:.0f} | {b['wall_all'] / b['areas']:.1f} s per area; "
              f"{'all built' if b['ok'] else 'FAILURES (see stderr)'} |")
        print(f"| batch, {b['n_eff']} areas, 1 worker | {b['t1']:.1f} | | |")
        print(f"| batch, {b['n_eff']} areas, 2 workers | {b['t2']:.1f} | | scaling efficiency "
              f"{b['efficiency']:.0%} (T1 / (2 × T2)) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
