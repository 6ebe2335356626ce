"""Refresh the regression baselines on purpose: `make refresh-golden`.

1. Executes every numbered notebook (official build, nothing written) with
   papermill into ``tests/golden/``; nbval re-runs these in the test suite and
   compares every output with the stored one (``tests/nbval_sanitize.cfg``
   masks what may vary).  Volatile metadata and chart images are dropped:
   nbval never compares images, and the PNGs are checked by the backtests.
2. Builds both reports from the bundled data into a temporary folder and
   copies every table (CSV) into ``tests/expected/<audience>/``; the backtests
   in ``tests/test_backtests.py`` compare a fresh build with these.

Run it only when a change to the figures is intended, then review the diff
(`git diff tests/golden tests/expected`) before committing it.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import nbformat
import papermill as pm

import sa_lib.run.execute as execute
import sa_lib.run.runner as runner
from sa_lib.paths import NOTEBOOKS_DIR, PROJECT_ROOT

GOLDEN = PROJECT_ROOT / "tests" / "golden"
EXPECTED = PROJECT_ROOT / "tests" / "expected"
PARAMETERS = "parameters/2025.yaml"


def clean_golden(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop what changes between identical runs (timings, ids) and the chart images."""
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"golden-{i:02d}"
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "image/png" in data:
                data["image/png"] = ""
            out.get("metadata", {}).pop("image/png", None)
    return nb


def refresh_golden() -> list[Path]:
    """Execute the notebooks into tests/golden/ and clean them."""
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for old in GOLDEN.glob("*.ipynb"):
        old.unlink()
    written = []
    for nb in runner.report_notebooks():
        out = GOLDEN / nb.name
        pm.execute_notebook(str(nb), str(out), kernel_name=execute.KERNEL, cwd=str(GOLDEN),
                            parameters={"parameters_file": PARAMETERS, "audience": "official",
                                        "output_dir": ""},
                            progress_bar=False)
        nbformat.write(clean_golden(nbformat.read(out, as_version=4)), out)
        written.append(out)
    return written


def refresh_expected_tables() -> list[Path]:
    """Build both reports in a temporary folder and keep their tables as the expected ones."""
    with tempfile.TemporaryDirectory() as tmp:
        runner.OUTPUTS_DIR = Path(tmp)
        result = runner.run_assessment(PARAMETERS, progress=False)
        written = []
        for audience in runner.AUDIENCES:
            dest = EXPECTED / audience
            if dest.exists():
                shutil.rmtree(dest)
            dest.mkdir(parents=True)
            for csv in sorted((result.output_dir / audience / "tables").glob("*.csv")):
                written.append(Path(shutil.copy(csv, dest / csv.name)))
    return written


def main() -> int:
    """Refresh both baselines and say what was written."""
    print(f"notebooks: {NOTEBOOKS_DIR}")
    for p in refresh_golden():
        print("golden   ", p.relative_to(PROJECT_ROOT))
    for p in refresh_expected_tables():
        print("expected ", p.relative_to(PROJECT_ROOT))
    print("Review with: git diff --stat tests/golden tests/expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
