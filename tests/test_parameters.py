"""Tests for the parameters file: validation errors name the key; new-year moves dates."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sa_lib.errors import ParameterError
from sa_lib.parameters import load_parameters, new_year
from sa_lib.paths import PARAMETERS_DIR

BASE = yaml.safe_load((PARAMETERS_DIR / "2025.yaml").read_text())


def write(tmp_path: Path, data: dict) -> Path:
    p = tmp_path / "p.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


def test_bundled_parameters_load() -> None:
    p = load_parameters("parameters/2025.yaml")
    assert p.review_window.label == "Jan 25 – Dec 25"
    assert p.current_window.label == "Jan 25 – Apr 25"
    assert p.previous_window.label == "Jan 24 – Apr 24"
    assert p.period_slug == "2025-01_2025-12" and p.area_slug == "maidstone"


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d.update(windw=d.pop("window")), r"windw: unknown key"),
        (lambda d: d["window"].update(end="Dec 2025"), r"window\.end"),
        (lambda d: d["window"].update(months="twelve"), r"window\.months"),
        (lambda d: d.pop("area"), r"area: required key is missing"),
        (lambda d: d["data"].update(partner="data/nope"), r"data\.partner.*does not exist"),
        (lambda d: d["data"].update(partner="../../etc"), r"data\.partner.*outside"),
        (lambda d: d["thresholds"].update(disclosure=0), r"thresholds\.disclosure"),
        (lambda d: d["area"].update(code="Maidstone"), r"area\.code"),
    ],
)
def test_bad_parameters_name_the_key(tmp_path: Path, change, match: str) -> None:
    data = yaml.safe_load(yaml.safe_dump(BASE))
    change(data)
    with pytest.raises(ParameterError, match=match):
        load_parameters(write(tmp_path, data))


def test_unsafe_yaml_refused(tmp_path: Path) -> None:
    p = tmp_path / "p.yaml"
    p.write_text("!!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(ParameterError, match="not valid YAML"):
        load_parameters(p)


def test_new_year_moves_dates_only(tmp_path: Path) -> None:
    out = new_year("parameters/2025.yaml", tmp_path / "2026.yaml")
    nxt = yaml.safe_load(out.read_text())
    assert nxt["year"] == 2026 and nxt["window"]["end"] == "2026-12"
    assert nxt["comparison"] == {"current_start": "2026-01", "current_end": "2026-04",
                                 "previous_start": "2025-01", "previous_end": "2025-04"}
    assert str(nxt["run_date"]) == "2027-01-15"
    assert nxt["themes"] == BASE["themes"] and nxt["data"] == BASE["data"]
    with pytest.raises(ParameterError, match="already exists"):
        new_year("parameters/2025.yaml", out)
