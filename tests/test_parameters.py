"""Tests for the parameters file: validation errors name the key; new-year moves dates."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sa_lib.data.parameters import load_parameters, new_year
from sa_lib.errors import ParameterError
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
        (lambda d: d.update(run_date="2025-11-30"), r"window\.end '2025-12' is after run_date"),
        (lambda d: d["comparison"].update(current_end="2026-01"),
         r"comparison\.current_end '2026-01' is after window\.end"),
        (lambda d: d["comparison"].update(previous_end="2025-02"),
         r"comparison\.previous_end '2025-02' is not before comparison\.current_start"),
        (lambda d: d["comparison"].update(current_start="2025-05"), r"starts after it ends"),
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


def test_non_utf8_parameters_name_the_line(tmp_path: Path) -> None:
    p = tmp_path / "p.yaml"
    p.write_bytes(yaml.safe_dump(BASE).encode("utf-8").replace(b"Maidstone", b"Maid\x81stone", 1))
    with pytest.raises(ParameterError, match=r"byte 0x81 on line \d+"):
        load_parameters(p)


def test_files_inside_data_folders_cannot_link_outside(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from sa_lib.data.parameters import EXTRA_DATA_DIRS_ENV, check_inside_data_roots

    monkeypatch.setenv(EXTRA_DATA_DIRS_ENV, str(tmp_path))
    (tmp_path / "passwd.csv").symlink_to("/etc/passwd")
    (tmp_path / "ok.csv").write_text("a\n1\n", encoding="utf-8")
    assert check_inside_data_roots(tmp_path / "ok.csv", "data.partner").name == "ok.csv"
    with pytest.raises(ParameterError, match=r"data\.partner: .*passwd\.csv points to /etc/passwd"):
        check_inside_data_roots(tmp_path / "passwd.csv", "data.partner")
