"""The one place project paths come from.

Paths are built from the package location, never from the working directory,
so a notebook run by papermill, JupyterLab or pytest finds the same files.
"""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT: Path = Path(__file__).resolve().parents[1]
DATA_DIR: Path = PROJECT_ROOT / "data"
PARAMETERS_DIR: Path = PROJECT_ROOT / "parameters"
NOTEBOOKS_DIR: Path = PROJECT_ROOT / "notebooks"
OUTPUTS_DIR: Path = PROJECT_ROOT / "outputs"
