"""`sa new-year`: a real handover (comments and order kept, last year's recommendations,
comparison dropped when the data cover the year) and `sa new-year --check`."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

import sa_lib.data.new_year as ny
from sa_lib.data.new_year import missing_inputs, new_year, previous_recommendations
from sa_lib.data.parameters import load_parameters
from sa_lib.paths import DATA_DIR, PARAMETERS_DIR, PROJECT_ROOT
from sa_lib.run.cli import main

SOURCE = PARAMETERS_DIR / "2025.yaml"
TABLE = "maidstone/2025-01_2025-12/official/tables/recommended_priorities.csv"
RECOMMENDED = """combined rank,theme,MoRiLE rank,priority-matrix rank,mean rank,recommendation,last year
1,Domestic abuse,1,3,2.0,priority,priority
2,Gangs and child sexual exploitation,2,4,3.0,priority,priority
3,Substance misuse,4,2,3.0,priority,priority
4,Organised crime groups,3,5,4.0,priority,priority
5,Anti-social behaviour,7,1,4.0,priority,
6,Reoffending,6,5,5.5,cross-cutting theme,
7,Mental health,5,7,6.0,monitor,priority
"""


@pytest.fixture
def outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty outputs folder that new_year reads the previous build from."""
    out = tmp_path / "outputs"
    out.mkdir()
    monkeypatch.setattr(ny, "OUTPUTS_DIR", out)
    return out


@pytest.fixture
def previous_build(outputs: Path) -> Path:
    """A hand-written recommended_priorities.csv where the 2025 build would put it."""
    table = outputs / TABLE
    table.parent.mkdir(parents=True)
    table.write_text(RECOMMENDED, encoding="utf-8")
    return table


def _comments(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith("#")]


def _keys(text: str) -> list[str]:
    return re.findall(r"^([a-z_]+):", text, flags=re.M)


def test_comments_and_key_order_kept_no_absolute_path(previous_build: Path,
                                                       tmp_path: Path) -> None:
    out = new_year(SOURCE, tmp_path / "2026.yaml")
    text, before = out.read_text(encoding="utf-8"), SOURCE.read_text(encoding="utf-8")
    assert set(_comments(before)) <= set(_comments(text))  # every comment kept
    assert _keys(text) == _keys(before)
    assert "# printed on the report; fixed so reruns are identical" in text
    assert str(PROJECT_ROOT) not in text and str(tmp_path) not in text
    assert not re.search(r"(^|\s)/(home|tmp|work|root|Users)/", text)
    assert text.startswith("# Parameters for the 2026 strategic assessment, started from "
                           "parameters/2025.yaml by `sa new-year`.")
    nxt = yaml.safe_load(text)
    assert nxt["year"] == 2026 and nxt["window"] == {"end": "2026-12", "months": 12}
    assert nxt["title"] == "Strategic Assessment 2026" and str(nxt["run_date"]) == "2027-01-15"
    assert load_parameters(out).review_window.label == "Jan 2026 – Dec 2026"


def test_last_year_priorities_are_last_years_recommendations(previous_build: Path,
                                                             tmp_path: Path) -> None:
    notes: list[str] = []
    out = new_year(SOURCE, tmp_path / "2026.yaml", notes=notes)
    text = out.read_text(encoding="utf-8")
    assert yaml.safe_load(text)["last_year_priorities"] == [
        "Domestic abuse", "Gangs and child sexual exploitation", "Substance misuse",
        "Organised crime groups", "Anti-social behaviour"]
    block = text[:text.index("\nlast_year_priorities:")].rsplit("\n\n", 1)[-1]
    assert "the priorities the 2025 assessment recommended" in block
    assert TABLE in block.replace("\n# ", " ")
    # The comment that followed the list (chapter 4's) is still there, before review:.
    assert re.search(r"- Anti-social behaviour\n\n# Chapter 4: action-plan", text)
    assert not any(n.startswith("warning:") for n in notes)


def test_no_previous_build_keeps_the_list_and_says_why(outputs: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "2026.yaml"
    assert main(["new-year", str(SOURCE), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "warning: last_year_priorities could not be updated" in captured.err
    assert "no previous build" in captured.err
    text = out.read_text(encoding="utf-8")
    assert yaml.safe_load(text)["last_year_priorities"] == \
        yaml.safe_load(SOURCE.read_text())["last_year_priorities"]
    assert "# last_year_priorities: NOT updated by `sa new-year` (no previous build" in text


def test_previous_build_is_not_read_through_a_link(outputs: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "2025-01_2025-12" / "official" / "tables").mkdir(parents=True)
    (elsewhere / "2025-01_2025-12" / "official" / "tables" /
     "recommended_priorities.csv").write_text(RECOMMENDED)
    (outputs / "maidstone").symlink_to(elsewhere, target_is_directory=True)
    themes, why = previous_recommendations(load_parameters(SOURCE))
    assert themes is None and "symbolic link" in why


def test_published_formula_quote_is_undone(outputs: Path) -> None:
    table = outputs / TABLE
    table.parent.mkdir(parents=True)
    table.write_text("theme,recommendation\n'=Knife crime,priority\nDrugs,monitor\n")
    assert previous_recommendations(load_parameters(SOURCE))[0] == ["=Knife crime"]


def test_comparison_kept_and_moved_when_the_data_do_not_cover_the_year(
        outputs: Path, tmp_path: Path) -> None:
    out = new_year(SOURCE, tmp_path / "2026.yaml")
    text = out.read_text(encoding="utf-8")
    assert yaml.safe_load(text)["comparison"] == {
        "current_start": "2026-01", "current_end": "2026-04",
        "previous_start": "2025-01", "previous_end": "2025-04"}
    assert "# Year-on-year comparison. The bundled police.uk data hold" in text


def _project_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, months: list[str]) -> Path:
    """parameters/2025.yaml pointing at a police.uk folder (under SA_EXTRA_DATA_DIRS)
    holding street files for ``months`` (file names are all new_year reads)."""
    police = tmp_path / "police"
    police.mkdir()
    sample = next((DATA_DIR / "police_uk" / "maidstone").glob("*-street.csv.gz"))
    for m in months:
        shutil.copyfile(sample, police / f"{m}-kent-street.csv.gz")
    monkeypatch.setenv("SA_EXTRA_DATA_DIRS", str(tmp_path.resolve()))
    text = SOURCE.read_text(encoding="utf-8").replace(
        "    - data/police_uk/maidstone", f"    - {police.resolve()}")
    path = tmp_path / "2025.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_comparison_dropped_with_a_note_when_the_data_cover_both_years(
        outputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    months = [f"{y}-{m:02d}" for y in (2025, 2026) for m in range(1, 13)]
    source = _project_copy(tmp_path, monkeypatch, months)
    notes: list[str] = []
    out = new_year(source, tmp_path / "2026.yaml", notes=notes)
    text = out.read_text(encoding="utf-8")
    assert "comparison" not in yaml.safe_load(text)
    assert "# comparison: dropped by `sa new-year`" in text
    assert "Year-on-year comparison. The bundled" not in text  # its old comment went with it
    assert _keys(text) == [k for k in _keys(source.read_text()) if k != "comparison"]
    assert any("comparison: dropped" in n for n in notes)
    # One month short of the year before: kept and moved on.
    (tmp_path / "police" / "2025-06-kent-street.csv.gz").unlink()
    again = new_year(source, tmp_path / "2026b.yaml")
    assert yaml.safe_load(again.read_text())["comparison"]["current_start"] == "2026-01"


def test_check_on_the_bundled_data(outputs: Path, tmp_path: Path,
                                   capsys: pytest.CaptureFixture) -> None:
    assert main(["new-year", "--check", str(SOURCE)]) == 0
    assert "nothing missing" in capsys.readouterr().out
    out = new_year(SOURCE, tmp_path / "2026.yaml")
    capsys.readouterr()
    assert main(["new-year", "--check", str(out)]) == 1
    lines = capsys.readouterr().out.splitlines()
    missing = [line for line in lines if line.startswith("missing: ")]
    assert missing[0] == ("missing: police.uk street files for 2026-01 to 2026-12 (review window "
                          "Jan 2026 – Dec 2026): add them to data/police_uk/maidstone")
    text = "\n".join(missing)
    assert "partner return 'section_136' (data/synthetic/synthetic_section_136.csv): data end " \
        "Dec 2025, before the review window ends (Dec 2026)" in text
    assert "partner return 'ksi'" in text
    assert "resident survey (data/synthetic/synthetic_resident_survey.csv): no responses for " \
        "2026 (latest is 2025)" in text
    assert "action plan (data/synthetic/synthetic_action_plan.csv): no row with a target for " \
        "2026" in text
    assert "MoRiLE" not in text and "invalid" not in text
    assert lines[-1] == f"{len(missing)} thing(s) still to supply for {out}"


def test_check_lists_invalid_files_and_missing_sheets(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    partner = tmp_path / "partner"
    shutil.copytree(DATA_DIR / "synthetic", partner)
    (partner / "synthetic_section_136.csv").write_text("date,oops\n2025-01-01,1\n")
    for sheet in partner.glob("*morile*.csv"):
        sheet.unlink()
    monkeypatch.setenv("SA_EXTRA_DATA_DIRS", str(tmp_path.resolve()))
    text = SOURCE.read_text(encoding="utf-8")
    text = text.replace("  partner: data/synthetic", f"  partner: {partner.resolve()}")
    text = text.replace("  morile_sheets: data/synthetic", f"  morile_sheets: {partner.resolve()}")
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    lines = missing_inputs(path)
    assert any(line.startswith("partner return 'section_136' (") and ": invalid: " in line
               for line in lines)
    assert any(line.startswith("MoRiLE sheets: none found") for line in lines)
    assert all("\n" not in line for line in lines)


def test_refuses_to_overwrite(outputs: Path, tmp_path: Path) -> None:
    from sa_lib.errors import ParameterError

    out = tmp_path / "2026.yaml"
    out.write_text("keep me")
    with pytest.raises(ParameterError, match="already exists"):
        new_year(SOURCE, out)
    assert out.read_text() == "keep me"


def test_a_chain_of_years_keeps_one_header(previous_build: Path, tmp_path: Path) -> None:
    first = new_year(SOURCE, tmp_path / "2026.yaml")
    second = new_year(first, tmp_path / "2027.yaml")
    text = second.read_text(encoding="utf-8")
    assert text.count("strategic assessment, started from") == 1
    assert text.startswith("# Parameters for the 2027 strategic assessment, started from "
                           "2026.yaml by `sa new-year`.")
    assert yaml.safe_load(text)["window"]["end"] == "2027-12"
    assert text.count("# last_year_priorities:") == 1
