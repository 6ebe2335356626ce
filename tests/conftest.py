"""Shared fixtures: the bundled report is built once per test session and reused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import sa_lib.run.runner as runner
from sa_lib.paths import PARAMETERS_DIR


@pytest.fixture(autouse=True, scope="session")
def _draft_builds() -> Iterator[None]:
    """Test builds skip report.pdf/report.docx (seconds each), except the session builds
    below, which tests/test_print_outputs.py reads."""
    mp = pytest.MonkeyPatch()
    mp.setenv(runner.PRINT_COPIES_ENV, "0")
    yield
    mp.undo()


def _build(out: Path, parameters: str | Path) -> Path:
    mp = pytest.MonkeyPatch()
    mp.setattr(runner, "OUTPUTS_DIR", out)
    mp.setenv(runner.PRINT_COPIES_ENV, "1")
    try:
        return runner.run_assessment(parameters, progress=False).output_dir
    finally:
        mp.undo()


def previous_year_parameters(folder: Path) -> Path:
    """parameters/2025.yaml with the year changed to 2024, as an analyst would edit it."""
    raw = yaml.safe_load((PARAMETERS_DIR / "2025.yaml").read_text(encoding="utf-8"))
    raw.update(year=2024, title="Strategic Assessment 2024", run_date="2025-01-15")
    raw["window"]["end"] = "2024-12"
    raw.pop("comparison")  # the 12 months before; the bundled data have no 2023 months
    path = folder / "2024.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def report_builds(tmp_path_factory: pytest.TempPathFactory,
                  _draft_builds: None) -> tuple[Path, Path]:
    """The bundled Maidstone report for 2025, and the same with the year changed to 2024."""
    first = _build(tmp_path_factory.mktemp("outputs_2025"), "parameters/2025.yaml")
    params_2024 = previous_year_parameters(tmp_path_factory.mktemp("params"))
    second = _build(tmp_path_factory.mktemp("outputs_2024"), params_2024)
    return first, second


@pytest.fixture(scope="session")
def built(report_builds: tuple[Path, Path]) -> Path:
    """The period folder of the 2025 build (``.../maidstone/2025-01_2025-12``)."""
    return report_builds[0]
