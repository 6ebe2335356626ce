"""The partner-measure registry: built-ins as declarative specs, and measures declared in YAML.

The built-ins must give exactly the observations of the hand-written code they
replaced: the frozen figures below were computed by that code on data/synthetic
(rows, first and last month, sums, and a sha256 of each measure's CSV rows).
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

import sa_lib as sa
from sa_lib.data.inputs import check_inputs
from sa_lib.data.measures import (
    BUILTIN_MEASURES,
    PARTNER_MEASURES,
    MeasureSpec,
    load_partner_data,
)
from sa_lib.data.parameters import EXTRA_DATA_DIRS_ENV, load_parameters
from sa_lib.errors import DataValidationError, ParameterError
from sa_lib.paths import DATA_DIR, PROJECT_ROOT
from sa_lib.periods import calendar_year
from sa_lib.stats.observations import (
    measure_window_values,
    monthly_measure,
    partner_observations,
)

SYN = DATA_DIR / "synthetic"
KEY = "test-key-0123456789abcdef"

# Frozen from the hand-written partner_observations (before the registry) on data/synthetic.
FROZEN = {
    "Council ASB incidents": (60, "2021-01", "2025-12", 18928.0, 0.0, "dc776278749030dc"),
    "Domestic abuse incidents": (60, "2021-01", "2025-12", 12306.0, 0.0, "1d6eb449455c2ef6"),
    "Domestic abuse repeat rate": (48, "2022-01", "2025-12", 2660.0, 10086.0, "b5eb108cd11cd4ea"),
    "High-risk domestic abuse incidents": (60, "2021-01", "2025-12", 1082.0, 0.0,
                                           "de02d37ede8c406c"),
    "KSI casualties": (5, "2021-01", "2025-12", 311.0, 0.0, "f59b98b2230c1e9c"),
    "Needle exchanges": (60, "2021-01", "2025-12", 2847.0, 0.0, "47088a6569704351"),
    "Needle finds": (60, "2021-01", "2025-12", 3542.0, 0.0, "04c73cbd7fd989ae"),
    "One-stop-shop visits": (60, "2021-01", "2025-12", 1925.0, 0.0, "3f1ddf8926bb32eb"),
    "Proven reoffending rate": (20, "2021-01", "2025-12", 1207.0, 5218.0, "c0fc4888d74a11e1"),
    "Section 136 detentions": (60, "2021-01", "2025-12", 260.0, 0.0, "b04d0800bf816cea"),
    "Substance misuse admissions": (5, "2021-01", "2025-12", 3700.0, 0.0, "f02f6d672f758005"),
}
FROZEN_ALL = "030955f8682a4b877be54600a68ef6727e72dd6ad2b1972be1db1af31ec0af14"


@pytest.fixture(scope="module")
def builtin_obs() -> pd.DataFrame:
    return partner_observations(load_partner_data(SYN, pseudonymise_key=KEY,
                                                  measures=BUILTIN_MEASURES), BUILTIN_MEASURES)


def test_every_builtin_is_a_registry_entry() -> None:
    assert list(BUILTIN_MEASURES) == list(PARTNER_MEASURES)[:11]
    assert set(BUILTIN_MEASURES) == set(FROZEN)
    assert all(isinstance(s, MeasureSpec) and not s.declared for s in BUILTIN_MEASURES.values())


@pytest.mark.parametrize("measure", sorted(FROZEN))
def test_builtin_gives_the_frozen_observations(builtin_obs: pd.DataFrame, measure: str) -> None:
    g = builtin_obs[builtin_obs["measure"] == measure]
    n, first, last, num, den, digest = FROZEN[measure]
    assert (len(g), str(g["start"].min()), str(g["end"].max())) == (n, first, last)
    assert float(g["numerator"].sum()) == num and float(g["denominator"].sum()) == den
    assert hashlib.sha256(g.to_csv(index=False).encode()).hexdigest()[:16] == digest


def test_builtins_give_the_frozen_frame(builtin_obs: pd.DataFrame) -> None:
    assert hashlib.sha256(builtin_obs.to_csv(index=False).encode()).hexdigest() == FROZEN_ALL
    assert str(builtin_obs["start"].dtype) == "period[M]"


# --------------------------------------------------------------------------- declared measures
HATE_CSV = (
    "Incident ref,Date,Category,Victim ID,Officers\n"
    "HC-1,03/01/2025,Racial,V1,2\n"
    "HC-2,2025-01-20,religious,V2,1\n"
    "HC-3,14/03/2025,racial ,V1,3\n"
    "HC-4,2025-03-30,Disability,V3,1\n"
)
HATE = {
    "file": "*hate_crime*.csv", "date": "Date", "count": "rows", "unit": "count",
    "frequency": "monthly", "improvement": "neutral",
    "description": "Hate crime incidents reported to the council", "noun": "incidents",
}


def _project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, measures: dict,
             csv: str = HATE_CSV, edit: object = None) -> Path:
    """A parameters copy whose data.partner is a tmp folder: the synthetic returns + hate crime."""
    partner = tmp_path / "inputs" / "partner"
    shutil.copytree(SYN, partner)
    (partner / "council_hate_crime.csv").write_text(csv, encoding="utf-8")
    monkeypatch.setenv(EXTRA_DATA_DIRS_ENV, str((tmp_path / "inputs").resolve()))
    raw = yaml.safe_load((PROJECT_ROOT / "parameters" / "2025.yaml").read_text(encoding="utf-8"))
    raw["data"]["partner"] = str(partner)
    raw["data"]["morile_sheets"] = str(partner)
    raw["measures"] = measures
    raw["themes"].append({"name": "Hate crime", "partner_measures": list(measures)})
    if callable(edit):
        edit(raw)
    path = tmp_path / "parameters.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _restore_registry():
    yield
    PARTNER_MEASURES.declare({})


def test_declared_measure_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    racial = {**HATE, "count": {"column": "Category", "equals": "racial"},
              "description": "Racial hate crime incidents"}
    path = _project(tmp_path, monkeypatch, {"Hate crime incidents": HATE,
                                            "Racial hate crime incidents": racial},
                    edit=lambda raw: raw["review"]["indicators"].update(
                        {"Hate crime": {"measure": "Hate crime incidents", "monthly_target": 2}}))
    params = load_parameters(path)
    assert params.improvement["Hate crime incidents"] == "neutral"
    assert "Hate crime incidents" in PARTNER_MEASURES
    check_inputs(params)
    data = load_partner_data(params.path("partner"), pseudonymise_key=KEY)
    assert list(data["*hate_crime*.csv"].columns) == ["date", "category"]
    obs = partner_observations(data)
    m = monthly_measure(obs, "Hate crime incidents")
    assert [str(x) for x in m["month"]] == ["2025-01", "2025-02", "2025-03"]
    assert m["value"].tolist() == [2.0, 0.0, 2.0]  # explicit zero for February
    r = monthly_measure(obs, "Racial hate crime incidents")
    assert r["value"].tolist() == [1.0, 0.0, 1.0]
    v = measure_window_values(obs, calendar_year(2025), ["Hate crime incidents"]).iloc[0]
    assert v["months_covered"] == 3 and not v["complete"]
    tables = sa.open_assessment(path).themes.theme_partner_tables("Hate crime")
    text = " ".join(str(t.frame.to_dict()) if hasattr(t, "frame") else str(t) for t in tables)
    assert "Hate crime incidents" in text and "Racial hate crime incidents" in text


def test_declared_repeat_rate_and_sum(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rate = {"file": "*hate_crime*.csv", "date": "date", "unit": "percent",
            "numerator": "repeats", "denominator": "rows", "victim": "Victim ID",
            "lookback_days": 30, "description": "Repeat hate crime victims"}
    officers = {"file": "*hate_crime*.csv", "date": "date", "count": {"sum": "Officers"},
                "description": "Officers attending hate crime"}
    path = _project(tmp_path, monkeypatch, {"Hate crime repeat rate": rate,
                                            "Hate crime officers": officers})
    params = load_parameters(path)
    obs = partner_observations(load_partner_data(params.path("partner"), pseudonymise_key=KEY))
    o = monthly_measure(obs, "Hate crime officers")
    assert o["value"].tolist() == [3.0, 0.0, 4.0]
    rr = obs[obs["measure"] == "Hate crime repeat rate"]
    # First incident 2025-01-03 + 30 days = 2025-02-02: March is the first month whose every
    # incident has a full look-back (as for the domestic abuse repeat rate).
    assert [str(s) for s in rr["start"]] == ["2025-03"]
    assert rr["numerator"].tolist() == [0.0]  # V1 again after 70 days: not within 30
    assert rr["denominator"].tolist() == [2.0]


@pytest.mark.parametrize("bad, expected", [
    ({"count": "all rows"}, "measures.Hate crime incidents: count: 'all rows' is not a counting "
                            "rule"),
    ({"colour": "red"}, "measures.Hate crime incidents.colour: unknown key"),
    ({"date": None, "month": None}, "expected exactly one of date, month or year"),
    ({"unit": "percent"}, "unit percent needs numerator"),
    ({"file": "../secret/*.csv"}, "is not a file-name pattern"),
    ({"frequency": "annual"}, "frequency: 'annual' does not fit date"),
    ({"improvement": "up"}, "measures.Hate crime incidents.improvement"),
])
def test_bad_declarations_name_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       bad: dict, expected: str) -> None:
    decl = {k: v for k, v in {**HATE, **bad}.items() if v is not None}
    path = _project(tmp_path, monkeypatch, {"Hate crime incidents": decl})
    with pytest.raises(ParameterError) as err:
        load_parameters(path)
    assert expected in str(err.value)
    assert "Value error" not in str(err.value)


def test_unknown_declared_name_in_a_theme_suggests(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    def edit(raw: dict) -> None:
        raw["themes"][-1]["partner_measures"] = ["Hate crime incident"]
    path = _project(tmp_path, monkeypatch, {"Hate crime incidents": HATE}, edit=edit)
    with pytest.raises(ParameterError) as err:
        load_parameters(path)
    msg = str(err.value)
    assert "themes[9] ('Hate crime').partner_measures" in msg
    assert "did you mean 'Hate crime incidents'?" in msg


def test_declared_name_may_not_shadow_a_builtin(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    path = _project(tmp_path, monkeypatch, {"Needle finds": HATE})
    with pytest.raises(ParameterError, match="'Needle finds' is already a built-in measure"):
        load_parameters(path)


@pytest.mark.parametrize("csv, row, column, words", [
    ("Ref,When\nHC-1,2025-01-03\n", 1, "date", "required column 'date' is missing"),
    ("Ref,Dat\nHC-1,2025-01-03\n", 1, "Dat", "did you mean 'date'?"),
    ("Ref,Date\nHC-1,2025-01-03\nHC-2,31/02/2025\n", 3, "Date", "31/02/2025"),
])
def test_bad_return_names_file_row_column(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          csv: str, row: int, column: str, words: str) -> None:
    path = _project(tmp_path, monkeypatch, {"Hate crime incidents": HATE}, csv=csv)
    params = load_parameters(path)
    with pytest.raises(DataValidationError) as err:
        check_inputs(params)
    p = err.value.problems[0]
    assert p.file.endswith("council_hate_crime.csv") and (p.row, p.column) == (row, column)
    assert words in p.message


def test_non_numeric_sum_and_missing_counted_column(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    decl = {**HATE, "count": {"sum": "Officers"}}
    racial = {**HATE, "count": {"column": "Strand", "equals": "racial"}}
    csv = "Date,Officers\n2025-01-03,2\n2025-01-04,two\n"
    path = _project(tmp_path, monkeypatch, {"Hate crime officers": decl, "Racial": racial},
                    csv=csv)
    with pytest.raises(DataValidationError) as err:
        check_inputs(load_parameters(path))
    found = {(p.row, p.column) for p in err.value.problems}
    assert (3, "Officers") in found and (1, "strand") in found


def test_no_file_for_a_declared_pattern(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _project(tmp_path, monkeypatch, {"Hate crime incidents": {**HATE,
                                                                     "file": "*prevent*.csv"}})
    with pytest.raises(DataValidationError, match=r"no file matches measures.Hate crime "
                                                  r"incidents.file '\*prevent\*.csv'"):
        check_inputs(load_parameters(path))


# --------------------------------------------------------------------------- priority flag
def test_priority_flag_lists_every_missing_score(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    def edit(raw: dict) -> None:
        raw["themes"][-1]["priority"] = True
    path = _project(tmp_path, monkeypatch, {"Hate crime incidents": HATE}, edit=edit)
    params = load_parameters(path)
    assert params.priorities.measures["Hate crime"] == "Hate crime incidents"
    with pytest.raises(ParameterError) as err:
        check_inputs(params)
    msg = str(err.value)
    assert "3 score(s) missing" in msg
    for words in ("no priorities.perception score", "no priorities.influence score",
                  "no MoRiLE score"):
        assert f"themes[9] ('Hate crime', priority: true): {words}" in msg


def test_priority_flag_scored_in_the_matrix(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    def edit(raw: dict) -> None:
        raw["themes"][-1]["priority"] = True
        raw["priorities"]["perception"]["Hate crime"] = 3
        raw["priorities"]["influence"]["Hate crime"] = 4
    year = "Date,Category\n" + "".join(f"2025-{m:02d}-1{m % 9},racial\n" for m in range(1, 13))
    path = _project(tmp_path, monkeypatch, {"Hate crime incidents": HATE}, csv=year, edit=edit)
    partner = tmp_path / "inputs" / "partner"
    sheet = partner / "synthetic_morile_scorer_police.csv"
    rows = [r for r in sheet.read_text(encoding="utf-8").splitlines() if r.startswith("Reoffending,")]
    with sheet.open("a", encoding="utf-8") as f:
        f.write("\n".join(r.replace("Reoffending,", "Hate crime,", 1) for r in rows) + "\n")
    params = load_parameters(path)
    check_inputs(params)
    ranked = sa.open_assessment(path).priorities.priority_ranked
    row = ranked[ranked["theme"] == "Hate crime"].iloc[0]
    assert row["measure"] == "Hate crime incidents"
