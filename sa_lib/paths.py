"""The one place project paths come from.

Paths are built from the package location, never from the working directory,
so a notebook run by papermill, JupyterLab or pytest finds the same files.
``SA_OUTPUTS_DIR`` (an absolute folder) moves the reports elsewhere, e.g. for a
benchmark that must not touch ``outputs/``.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT: Path = Path(__file__).resolve().parents[1]
DATA_DIR: Path = PROJECT_ROOT / "data"
PARAMETERS_DIR: Path = PROJECT_ROOT / "parameters"
NOTEBOOKS_DIR: Path = PROJECT_ROOT / "notebooks"
_outputs = os.environ.get("SA_OUTPUTS_DIR", "")
OUTPUTS_DIR: Path = Path(_outputs) if os.path.isabs(_outputs) else PROJECT_ROOT / "outputs"
