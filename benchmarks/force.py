"""Whole-force benchmark: every partnership of a force in one ``sa run FILE --area all``.

    python benchmarks/force.py                  # Leicestershire, 2 workers, cold cache
    python benchmarks/force.py --warm           # and again with the police.uk cache filled
    python benchmarks/force.py --police-uk DIR --end YYYY-MM --workers N

The parameters file is ``parameters/2025.yaml`` turned into a template for the force: the
police.uk folder (default ``../shared/data/police_uk/leicestershire``, 2019-12..2022-10, nine
partnerships), a 12-month review window ending ``--end`` (default 2022-10) compared with the
12 months before, no ``comparison`` block, and by default no partner data or MoRiLE sheets
(``--partner none``: police.uk files alone, the case of a partnership starting out), or
``--partner synthetic``: SYNTHETIC partner data generated for the years of the files into a
temporary folder (``sa synth``; the bundled ``data/synthetic`` starts in 2021, too late for a
2022 assessment's comparison window), or a folder of partner returns.

Prints the machine, the whole-force wall time, the time per area (wall over areas, and each
area's own build time), the workers, and where the time went: the police.uk read (the files
read once for the batch, against reading them once per area as before) and the notebooks'
seconds summed over every area (from each area's run journal).  Cold = an empty police.uk
cache (``SA_CACHE_DIR`` pointed at a new folder).  Reports go to a temporary outputs folder.
Not a test: pytest does not collect it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _common import machine  # noqa: E402

from sa_lib.paths import PARAMETERS_DIR  # noqa: E402

LEICESTERSHIRE = (ROOT / ".." / "shared" / "data" / "police_uk" / "leicestershire").resolve()
SA = str(Path(sys.executable).with_name("sa"))
GOAL_SECONDS = 180


def template(folder: Path, police_uk: Path, end: str, partner: str) -> tuple[Path, str]:
    """The force's template parameters file, and a line describing its partner data."""
    from sa_lib.data.geography import load_csp_lookup
    from sa_lib.data.police_uk import find_street_files
    from sa_lib.data.police_uk_force import partnerships_in_files, read_force
    from sa_lib.data.synthetic import generate_partner_data

    files = find_street_files(police_uk)
    found = partnerships_in_files(read_force(police_uk, cache=False))
    first = found[found["included"]].iloc[0]
    lk = load_csp_lookup()
    force = lk.loc[lk["csp_code"] == first["csp_code"], "pfa_name"].iloc[0]
    raw = yaml.safe_load((PARAMETERS_DIR / "2025.yaml").read_text(encoding="utf-8"))
    raw["year"] = int(end[:4])
    raw["title"] = f"Strategic Assessment {end[:4]}"
    raw["area"] = {"name": str(first["csp_name"]), "code": str(first["csp_code"]),
                   "police_force": str(force)}
    raw["window"] = {"end": end, "months": 12}
    raw.pop("comparison", None)
    raw["data"]["police_uk"] = [str(police_uk)]
    if partner == "synthetic":
        years = [int(f.name[:4]) for f in files]
        generate_partner_data(folder / "partner", seed=2025, start_year=min(years),
                              end_year=min(int(end[:4]), time.localtime().tm_year - 1))
        raw["data"]["partner"] = raw["data"]["morile_sheets"] = str(folder / "partner")
        described = (f"SYNTHETIC partner data, seed 2025, {min(years)}-{end[:4]} "
                     "(generated into a temporary folder)")
    elif partner == "none":
        raw["data"].pop("partner", None)
        raw["data"].pop("morile_sheets", None)
        described = "no partner data or MoRiLE sheets (data.partner, data.morile_sheets left out)"
    else:
        raw["data"]["partner"] = raw["data"]["morile_sheets"] = partner
        described = f"partner data from {partner}"
    path = folder / "force.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path, described


def read_phase(police_uk: Path, areas: list[str], cache: Path) -> tuple[float, float]:
    """Seconds to read the police.uk files for every area: once for the batch (as now), and
    once per area (as before: each area's own ``read_police_uk``), each on an empty cache."""
    from sa_lib.data.police_uk import read_police_uk
    from sa_lib.data.police_uk_force import prepare_area_reads, read_force

    t0 = time.perf_counter()
    prepare_area_reads(read_force(police_uk, cache_dir=cache / "once"), areas)
    once = time.perf_counter() - t0
    t0 = time.perf_counter()
    for code in areas:
        read_police_uk(police_uk, area=code, cache_dir=cache / "per-area")
    return once, time.perf_counter() - t0


def notebook_seconds(outputs: Path) -> dict[str, float]:
    """Each notebook's seconds summed over every area and both builds (from the run journals)."""
    total: dict[str, float] = defaultdict(float)
    for journal in outputs.glob("*/runs/*.json"):
        timings = json.loads(journal.read_text(encoding="utf-8")).get("timings_seconds", {})
        for name, seconds in timings.items():
            if name != "total_seconds":
                total[name.split("/", 1)[-1]] += float(seconds)
    return dict(sorted(total.items(), key=lambda kv: -kv[1]))


def _cpu_children() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_force(params: Path, env: dict[str, str], workers: int) -> tuple[float, float, str, int]:
    """Wall seconds, CPU seconds (the runner and every kernel it started), stdout, exit code."""
    cpu0, t0 = _cpu_children(), time.perf_counter()
    proc = subprocess.run([SA, "run", str(params), "--area", "all", "--workers", str(workers),
                           "--no-progress"], cwd=ROOT, env=env, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - t0, _cpu_children() - cpu0
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
    return wall, cpu, proc.stdout, proc.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--police-uk", type=Path, default=LEICESTERSHIRE,
                    help="the force's street files (default: ../shared/.../leicestershire)")
    ap.add_argument("--end", default="2022-10", help="review window end, YYYY-MM")
    ap.add_argument("--workers", type=int, default=2, help="areas built at once (default 2)")
    ap.add_argument("--partner", default="none",
                    help="'synthetic' (generated for the files' years), 'none', or a folder")
    ap.add_argument("--warm", action="store_true", help="run again with the cache filled")
    args = ap.parse_args()
    police_uk = args.police_uk.resolve()
    if not police_uk.exists():
        print(f"{police_uk} not found: give --police-uk DIR", file=sys.stderr)
        return 2
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="sa-force-") as tmp:
        tmp_path = Path(tmp)
        params, partner = template(tmp_path, police_uk, args.end, args.partner)
        env = {**os.environ, "SA_CACHE_DIR": str(tmp_path / "cache"),
               "SA_OUTPUTS_DIR": str(tmp_path / "outputs"),
               "SA_EXTRA_DATA_DIRS": os.pathsep.join([str(police_uk.parent), str(tmp_path)])}
        print(f"data: {police_uk}; window ending {args.end}; {partner}")
        print(f"command: sa run <template> --area all --workers {args.workers} --no-progress")
        rows = []
        for label in ("cold", "warm") if args.warm else ("cold",):
            load = os.getloadavg()[0]
            wall, cpu, out, rc = run_force(params, env, args.workers)
            print(f"{label}: load average (1 min) {load:.2f} before, {os.getloadavg()[0]:.2f} "
                  "after (other processes share the cores when above 0)")
            built = dict(re.findall(r"^built\s+(.+?) in ([\d.]+) s$", out, re.MULTILINE))
            areas = re.search(r"^(\d+) partnership\(s\) to build", out, re.MULTILINE)
            n = int(areas.group(1)) if areas else 0
            read = re.search(r"police.uk files read once, ([\d.]+) s", out)
            rows.append((label, wall, cpu, n, len(built), built, read.group(1) if read else "?",
                         rc))
        print("\n| run | areas built | wall (s) | per area (s) | workers | CPU (s) | "
              f"police.uk read (s) | goal ≤ {GOAL_SECONDS} s |")
        print("|---|---|---|---|---|---|---|---|")
        for label, wall, cpu, n, ok, _, read, rc in rows:
            verdict = "met" if wall <= GOAL_SECONDS and rc == 0 else "NOT met"
            print(f"| {label} | {ok} of {n} | {wall:.1f} | {wall / max(n, 1):.1f} | "
                  f"{args.workers} | {cpu:.0f} | {read} | {verdict} |")
        print(f"CPU seconds over {os.cpu_count()} cores: at least "
              f"{rows[-1][2] / (os.cpu_count() or 1):.0f} s of wall time on an idle machine")
        print("\neach area's own build time (s), last run:")
        for name, seconds in sorted(rows[-1][5].items(), key=lambda kv: -float(kv[1])):
            print(f"  {name:<45} {float(seconds):6.1f}")
        seconds = notebook_seconds(tmp_path / "outputs")
        print(f"\nnotebook seconds summed over every area and both builds (last run; "
              f"{sum(seconds.values()):.0f} s in all):")
        for name, s in seconds.items():
            print(f"  {name:<45} {s:6.1f}")
        from sa_lib.data.police_uk_force import partnerships_in_files, read_force

        found = partnerships_in_files(read_force(police_uk, cache=False))
        codes = found.loc[found["included"], "csp_code"].tolist()
        once, per_area = read_phase(police_uk, codes, tmp_path / "read-phase")
        print(f"\npolice.uk read for {len(codes)} areas on an empty cache, in this process: "
              f"once for the batch {once:.2f} s; once per area (before) {per_area:.2f} s")
    return 0 if all(r[-1] == 0 for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
