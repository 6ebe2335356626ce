"""Import benchmark: ``import sa_lib`` against ``import pandas, matplotlib.pyplot``.

    python benchmarks/import_time.py            # 15 fresh interpreters per statement
    python benchmarks/import_time.py --quick    # 5 each

Each statement runs in a new interpreter (``python -c``), alternating with the
others so that a busy moment on the machine hits them all alike; the figure is
the median wall time of the whole process, interpreter start included.  The
target: ``import sa_lib`` takes at most 1.5 times ``import pandas,
matplotlib.pyplot``, because ``sa_lib``'s public names load lazily (PEP 562) and
a script that needs only :func:`sa_lib.xmr` never loads the runner, the
widgets or the synthetic generator.  For reference it also times what a
notebook pays on first use: ``sa_lib.xmr`` and ``sa_lib.open_assessment``.
Runs from any working directory; writes nothing.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine

ROOT = Path(__file__).resolve().parents[1]
TARGET = 1.5
STATEMENTS = {
    "baseline": "import pandas, matplotlib.pyplot",
    "sa_lib": "import sa_lib",
    "sa_lib.xmr": "import sa_lib; sa_lib.xmr",
    "sa_lib.open_assessment": "import sa_lib; sa_lib.open_assessment",
    "python": "pass",
}


def run_once(statement: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", statement], cwd=ROOT, check=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="5 runs per statement instead of 15")
    args = ap.parse_args(argv)
    repeats = 5 if args.quick else 15
    for statement in STATEMENTS.values():  # warm the file cache and the .pyc files
        run_once(statement)
    times: dict[str, list[float]] = {name: [] for name in STATEMENTS}
    for _ in range(repeats):
        for name, statement in STATEMENTS.items():
            times[name].append(run_once(statement))
    median = {name: statistics.median(ts) for name, ts in times.items()}
    print(machine())
    print(f"median of {repeats} fresh interpreters each:")
    for name, statement in STATEMENTS.items():
        print(f"  {statement:<40} {median[name]:.3f} s")
    ratio = median["sa_lib"] / median["baseline"]
    verdict = "met" if ratio <= TARGET else "NOT met"
    print(f"import sa_lib / import pandas, matplotlib.pyplot = {ratio:.2f} "
          f"(target <= {TARGET}: {verdict})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
