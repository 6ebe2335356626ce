"""``sa init``: a first parameters file for any partnership, from the data it has."""

from __future__ import annotations

import gzip
import io
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from ruamel.yaml import YAML

import sa_lib.run.runner as runner
from sa_lib.data.area_search import find_partnership
from sa_lib.data.init_parameters import comparison_months, survey_police_uk
from sa_lib.data.init_text import THEME_GROUPS
from sa_lib.data.parameters import load_parameters
from sa_lib.data.safe_yaml import read_yaml
from sa_lib.errors import OptionError
from sa_lib.paths import DATA_DIR
from sa_lib.run.cli import main

LEICS = "data/police_uk/leicestershire_sample"
MAIDSTONE = "data/police_uk/maidstone"
HEADER = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
          "LSOA name,Crime type,Last outcome category,Context")


def _init(tmp_path: Path, *args: str, name: str = "p.yaml") -> tuple[int, Path]:
    out = tmp_path / name
    return main(["init", *args, "--out", str(out)]), out


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    return err


def _street_file(folder: Path, month: str, rows: list[tuple[str, str, str]],
                 newline: str = "\n", force: str = "Test Police") -> Path:
    """A street file with (LSOA code, LSOA name, crime type) rows."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [HEADER] + [f"{'' if t == 'Anti-social behaviour' else 'x' + str(i)},{month},"
                        f"{force},{force},-1.0,52.0,On or near X,{code},{name},{t},,"
                        for i, (code, name, t) in enumerate(rows)]
    path = folder / f"{month}-test-street.csv"
    path.write_bytes(newline.join(lines).encode() + newline.encode())
    return path


# --------------------------------------------------------------------------- the area


def test_a_csp_code_gives_the_lookups_name_the_force_and_the_last_month(tmp_path: Path) -> None:
    code, out = _init(tmp_path, "--area", "E22000169", "--police-uk", LEICS)
    assert code == 0
    doc = read_yaml(out)
    assert doc["area"] == {"name": "Melton", "code": "E22000169", "police_force": "Leicestershire"}
    assert doc["window"] == {"end": "2022-10", "months": 12}
    assert doc["year"] == 2022 and doc["title"] == "Strategic Assessment 2022"
    assert "comparison" not in doc  # 2020-11..2021-10 are held
    assert doc["data"]["police_uk"] == [LEICS]
    text = out.read_text(encoding="utf-8")
    assert f"sa init --area E22000169 --police-uk {LEICS}" in text
    assert "/work" not in text.replace(str(out), "")  # no absolute path but the one given


def test_a_name_or_district_code_finds_the_partnership(tmp_path: Path) -> None:
    assert _init(tmp_path, "--area", "charnwood", "--police-uk", LEICS)[0] == 0
    assert read_yaml(tmp_path / "p.yaml")["area"]["code"] == "E22000165"
    assert find_partnership("E07000130").code == "E22000165"
    assert find_partnership(" LEICESTER ").name == "Leicester"
    assert find_partnership("Shepway").name == "Folkestone and Hythe"  # a former name


@pytest.mark.parametrize(("area", "expected"), [
    ("Charnwod", ["did you mean", "Charnwood (E22000165)"]),
    ("Newcastle", ["more than one partnership", "Newcastle upon Tyne (E22000245)",
                   "Newcastle-under-Lyme (E22000266)"]),
    ("Leicestershire", ["Leicester (E22000168)", "North West Leicestershire (E22000170)"]),
    ("E22999999", ["not a CSP or local authority code"]),
])
def test_an_unknown_or_ambiguous_area_is_refused_with_suggestions(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], area: str, expected: list[str]) -> None:
    code, out = _init(tmp_path, "--area", area, "--police-uk", LEICS)
    err = _error(capsys)
    assert code == 2 and not out.exists()
    for words in expected:
        assert words in err


def test_an_area_without_records_in_the_files_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = _init(tmp_path, "--area", "Maidstone", "--police-uk", LEICS)
    assert code == 2 and not out.exists()
    assert f"no records for Maidstone (E22000142) in {LEICS}; is this the right force?" in \
        _error(capsys)
    # the Maidstone folder holds one partnership only
    assert _init(tmp_path, "--area", "Tonbridge and Malling", "--police-uk", MAIDSTONE)[0] == 2
    assert "no records for Tonbridge and Malling" in _error(capsys)


@pytest.mark.parametrize(("args", "words"), [
    (["--end", "2023-01"], "--end 2023-01: outside the police.uk data"),
    (["--end", "2019-06"], "they cover Dec 2019 to Oct 2022"),
    (["--end", "2022-13"], "expected a month written YYYY-MM"),
    (["--end", "2020-06", "--months", "12"], "Expected --months at most 7 for --end 2020-06"),
])
def test_a_window_outside_the_data_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              args: list[str], words: str) -> None:
    code, out = _init(tmp_path, "--area", "Melton", "--police-uk", LEICS, *args)
    assert code == 2 and not out.exists()
    assert words in _error(capsys)


def test_an_existing_file_is_kept_unless_forced(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "p.yaml"
    out.write_text("mine\n")
    assert _init(tmp_path, "--area", "Melton", "--police-uk", LEICS)[0] == 2
    assert "already exists; pass --force" in _error(capsys)
    assert out.read_text() == "mine\n"
    assert _init(tmp_path, "--area", "Melton", "--police-uk", LEICS, "--force")[0] == 0
    assert read_yaml(out)["area"]["name"] == "Melton"


# --------------------------------------------------------------------------- the file


@pytest.fixture(scope="module")
def charnwood(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Charnwood with the bundled synthetic partner returns and MoRiLE sheets."""
    out = tmp_path_factory.mktemp("init") / "charnwood.yaml"
    assert main(["init", "--area", "Charnwood", "--police-uk", LEICS, "--partner",
                 "data/synthetic", "--out", str(out)]) == 0
    return out


def test_with_partner_data_the_file_validates_and_is_checked(charnwood: Path) -> None:
    from sa_lib.data.inputs import check_inputs

    params = load_parameters(charnwood)
    check_inputs(params)  # every input, as `sa run` checks them before any notebook
    doc = read_yaml(charnwood)
    assert doc["data"]["partner"] == doc["data"]["morile_sheets"] == "data/synthetic"
    # priorities score exactly the MoRiLE sheets' themes
    assert set(doc["priorities"]["perception"]) == set(doc["priorities"]["influence"]) == {
        "Domestic abuse", "Substance misuse", "Organised crime groups",
        "Gangs and child sexual exploitation", "Mental health", "Anti-social behaviour",
        "Road safety (KSI)", "Reoffending"}
    assert doc["priorities"]["measures"]["Substance misuse"] == "Drugs"
    assert "Organised crime groups" in doc["priorities"]["volume"]  # no measure: hand-set
    # the action plan's 2022 priorities and indicators, with monthly targets
    assert "Mental health" in doc["last_year_priorities"]
    ind = doc["review"]["indicators"]
    assert ind["Needle finds collected by street scene"] == {"measure": "Needle finds",
                                                             "monthly_target": 83.3}
    assert ind["Repeat victims (% of domestic abuse incidents)"]["monthly_target"] == 25
    assert "OCGs subject to partnership disruption" not in ind  # no measure for it
    names = [t["name"] for t in doc["themes"]]
    assert "Road safety" in names and "Reoffending" in names


def test_the_file_round_trips(charnwood: Path) -> None:
    y = YAML()
    y.preserve_quotes = True
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    text = charnwood.read_text(encoding="utf-8")
    buf = io.StringIO()
    y.dump(y.load(text), buf)
    assert read_yaml(charnwood) == YAML(typ="safe").load(buf.getvalue())
    assert "# SYNTHETIC partner data" in text


def test_without_partner_data_the_optional_sections_are_commented_examples(
        tmp_path: Path) -> None:
    _, out = _init(tmp_path, "--area", "Melton", "--police-uk", LEICS)
    doc, text = read_yaml(out), out.read_text(encoding="utf-8")
    for key in ("priorities", "review", "last_year_priorities", "measures"):
        assert key not in doc and f"# {key}:" in text
    assert "partner" not in doc["data"] and "morile_sheets" not in doc["data"]
    assert "# partner: data/partner" in text
    assert all("partner_measures" not in t for t in doc["themes"])
    assert "#   partner_measures: [Section 136 detentions]" in text


def test_themes_hold_only_the_crime_types_present(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SA_EXTRA_DATA_DIRS", str(tmp_path))
    folder = tmp_path / "force"
    rows = [("E01025897", "Melton 001A", "Drugs"), ("E01025897", "Melton 001A", "Burglary"),
            ("E01025897", "Melton 001A", "Other crime"),
            ("E01000001", "City of London 001A", "Robbery")]  # another area's row
    for month in ("2024-01", "2024-02"):
        _street_file(folder, month, rows)
    assert _init(tmp_path, "--area", "Melton", "--police-uk", str(folder), "--months", "2")[0] == 0
    doc = read_yaml(tmp_path / "p.yaml")
    assert doc["themes"] == [{"name": "Substance misuse", "crime_types": ["Drugs"]},
                             {"name": "Acquisitive crime", "crime_types": ["Burglary"]}]
    assert doc["area"]["police_force"] == "Test"
    # every crime type the bundled Melton rows hold is in a theme, except 'Other crime'
    survey = survey_police_uk([DATA_DIR / "police_uk" / "leicestershire_sample"], "E22000169")
    grouped = {c for _, crimes, _ in THEME_GROUPS for c in crimes}
    assert set(survey.crime_types) - grouped == {"Other crime"}


# --------------------------------------------------------------------------- the data


def test_2011_and_2021_lsoa_vintages(tmp_path: Path) -> None:
    # Leicestershire 2019-22: 2011 LSOAs (matched by code or name); Kent 2025: 2021 LSOAs
    leics = survey_police_uk([DATA_DIR / "police_uk" / "leicestershire_sample"], "E22000169")
    assert leics.rows == 10850 and len(leics.area_months) == 35
    kent = survey_police_uk([DATA_DIR / "police_uk" / "kent_sample"], "E22000142")
    assert kent.area_months == ("2018-11", "2025-01")
    code, out = _init(tmp_path, "--area", "Maidstone", "--police-uk",
                      "data/police_uk/kent_sample", "--months", "1")
    assert code == 0 and read_yaml(out)["window"]["end"] == "2025-01"
    assert "comparison" not in read_yaml(out)  # no month held a year before: no block
    assert "is missing), so there is no" in out.read_text(encoding="utf-8")


def test_crlf_files_read_as_lf_files(tmp_path: Path) -> None:
    src = DATA_DIR / "police_uk" / "maidstone" / "2025-03-kent-street.csv.gz"
    text = gzip.decompress(src.read_bytes()).decode()
    assert "\r\n" not in text
    (tmp_path / "lf").mkdir()
    (tmp_path / "crlf").mkdir()
    (tmp_path / "lf" / "2025-03-kent-street.csv").write_text(text, newline="\n")
    (tmp_path / "crlf" / "2025-03-kent-street.csv").write_text(text, newline="\r\n")
    assert b"\r\n" in (tmp_path / "crlf" / "2025-03-kent-street.csv").read_bytes()
    lf = survey_police_uk([tmp_path / "lf"], "E22000142")
    crlf = survey_police_uk([tmp_path / "crlf"], "E22000142")
    assert lf == crlf and lf.rows > 1000
    # the bundled Leicestershire files keep their CRLF line endings
    leics = DATA_DIR / "police_uk" / "leicestershire_sample" / "2020-04-leicestershire-street.csv.gz"
    assert b"\r\n" in gzip.decompress(leics.read_bytes())[:2000]


def test_covid_era_window_compares_the_months_held_in_both_years(tmp_path: Path) -> None:
    code, out = _init(tmp_path, "--area", "Leicester", "--police-uk", LEICS, "--end", "2020-12")
    assert code == 0
    doc = read_yaml(out)
    assert doc["area"]["code"] == "E22000168"
    # 2019-12 is the only month held a year before the window Jan-Dec 2020
    assert doc["comparison"] == {"current_start": "2020-12", "current_end": "2020-12",
                                 "previous_start": "2019-12", "previous_end": "2019-12"}
    assert "Dec 2020 to Dec 2020 against the same months" in out.read_text(encoding="utf-8")


def test_comparison_months_takes_the_longest_run_held_in_both_years() -> None:
    held = {f"2024-{m:02d}" for m in (1, 2, 5, 6, 7)} | {f"2025-{m:02d}" for m in range(1, 13)}
    assert comparison_months(held, "2025-12", 12) == ("2025-05", "2025-07")
    assert comparison_months(held, "2025-03", 3) == ("2025-01", "2025-02")
    assert comparison_months({"2025-01"}, "2025-01", 1) is None


def test_one_force_files_hold_several_partnerships() -> None:
    folder = [DATA_DIR / "police_uk" / "leicestershire_sample"]
    counts = {code: survey_police_uk(folder, code).rows
              for code in ("E22000168", "E22000165", "E22000169", "E22000164")}
    # from data/README.md figures: Leicester, Charnwood, Melton; Blaby
    # is not bundled
    assert counts == {"E22000168": 141592, "E22000165": 43972, "E22000169": 10850,
                      "E22000164": 0}
    maidstone = survey_police_uk([DATA_DIR / "police_uk" / "maidstone"], "E22000142")
    assert maidstone.forces == ("Kent Police",)


def test_a_welsh_partnership(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SA_EXTRA_DATA_DIRS", str(tmp_path))
    folder = tmp_path / "south-wales"
    for month in ("2024-01", "2024-02"):
        _street_file(folder, month, [("W01000743", "Swansea 001A", "Burglary")],
                     force="South Wales Police")
    code, out = _init(tmp_path, "--area", "Swansea", "--police-uk", str(folder), "--months", "2",
                      "--partner", "data/synthetic")
    assert code == 0
    params = load_parameters(out)
    assert (params.area.code, params.area.police_force) == ("W14000011", "South Wales")


def test_a_street_file_that_is_not_one_is_refused(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SA_EXTRA_DATA_DIRS", str(tmp_path))
    (tmp_path / "f").mkdir()
    (tmp_path / "f" / "2024-01-test-street.csv").write_text("a,b\n1,2\n")
    assert _init(tmp_path, "--area", "Melton", "--police-uk", str(tmp_path / "f"))[0] == 2
    assert "is not a police.uk street file" in _error(capsys)
    with pytest.raises(OptionError, match="outside the project's data"):
        from sa_lib.data.init_parameters import init_parameters

        monkeypatch.delenv("SA_EXTRA_DATA_DIRS")
        init_parameters("Melton", [str(tmp_path / "f")], out=str(tmp_path / "x.yaml"))


# --------------------------------------------------------------------------- init -> report


def test_backtest_init_to_a_finished_report_for_melton(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """From a fresh clone: `sa init` for Melton from the bundled police.uk files alone (no
    partner returns, MoRiLE sheets or action plan), then `sa run`, with no hand edits."""
    code, params = _init(tmp_path, "--area", "Melton", "--police-uk", LEICS, name="melton.yaml")
    assert code == 0
    monkeypatch.setattr(runner, "OUTPUTS_DIR", tmp_path / "outputs")
    result = runner.run_assessment(params, progress=False)
    assert result.output_dir == tmp_path / "outputs" / "melton" / "2021-11_2022-10"
    for audience in ("official", "public"):
        html = (result.output_dir / audience / "report.html").read_text(encoding="utf-8")
        assert "Melton" in html and "Traceback" not in html
        assert any((result.output_dir / audience / "tables").glob("*.csv"))
        # Chapters without inputs say so in a sentence; nothing reads as a missing number.
        assert "No partner returns were given (data.partner)" in html
        assert "No MoRiLE scoring sheets were given (data.morile_sheets)" in html
        # #14: where crime happens, for a Leicestershire partnership too.
        assert "Where crime happens" in html and "Concentration" in html
        assert any((result.output_dir / audience / "charts").glob("hotspot_*.png"))
        soup = BeautifulSoup(html, "html.parser")
        for hidden in soup(["style", "script"]):
            hidden.decompose()
        assert not re.search(r"\bnan\b|\bNaN\b|\bNone\b", soup.get_text(" "))
    # SPC over the months the data hold: 35 months (Dec 2019 – Oct 2022) are charted.
    spc = (result.output_dir / "official" / "tables" / "spc_major_types.csv").read_text()
    assert ",35," in spc
