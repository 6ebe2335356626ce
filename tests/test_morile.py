"""Tests for the MoRiLE scales, scoring sheets, scoring, aggregation and rank stability."""

from __future__ import annotations

import copy
import gzip
import statistics
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from sa_lib.data.morile_scales import DEFAULT_MORILE_SCALES, MoRiLEScales, load_morile_scales
from sa_lib.data.morile_sheets import read_morile_sheets, validate_morile_scores
from sa_lib.errors import DataValidationError, MoRiLEError, OptionError, ParameterError
from sa_lib.stats.morile import (
    aggregate_morile,
    morile_matrix,
    rank_stability,
    score_morile,
)

FIXTURES = Path(__file__).parent / "fixtures" / "morile"
ILLUSTRATIVE = "illustrative scales, not NPCC values"

# The worked example of the research notes (§1.4): the scales that make its
# arithmetic come out, built here so the test does not depend on the default file.
WORKED_EXAMPLE_SCALES = {
    "version": "worked-example",
    "label": ILLUSTRATIVE,
    "harm": {
        "dimensions": ["physical", "psychological", "financial", "community"],
        "combine": "sum",
        "points": {"None": 0, "Low": 1, "Moderate": 2, "Substantial": 4, "Critical": 8},
    },
    "frequency": {"points": {"Rare": 1, "Occasional": 2, "Frequent": 3, "Very frequent": 4}},
    "vulnerability": {"multipliers": {"Low": 1.0, "Medium": 1.5, "High": 2.0}},
    "organisational_position": {
        "multipliers": {"Full": 0.75, "Partial": 1.25, "Limited": 1.5, "None": 2.0}
    },
    "confidence": {"levels": ["Low", "Medium", "High"]},
}
WORKED_EXAMPLE = {
    "Domestic abuse": {"physical": "Substantial", "psychological": "Critical", "financial": "Low",
                       "community": "Moderate", "frequency": "Frequent", "vulnerability": "Medium",
                       "organisational_position": "Partial", "confidence": "Medium"},
    "Cycle theft": {"physical": "None", "psychological": "Low", "financial": "Moderate",
                    "community": "Low", "frequency": "Very frequent", "vulnerability": "Low",
                    "organisational_position": "Full", "confidence": "High"},
}


@pytest.fixture
def worked_scales() -> MoRiLEScales:
    return MoRiLEScales.from_dict(WORKED_EXAMPLE_SCALES)


@pytest.fixture(scope="module")
def default_scales() -> MoRiLEScales:
    return load_morile_scales()


def tidy(spec: dict[str, dict[str, dict[str, object]]]) -> pd.DataFrame:
    """{scorer: {theme: {field: value}}} -> tidy scores frame."""
    rows = [(s, t, f, v) for s, themes in spec.items() for t, fields in themes.items()
            for f, v in fields.items()]
    return pd.DataFrame(rows, columns=["scorer", "theme", "field", "value"])


def theme_scores(scales: MoRiLEScales, harm: str | list[str], frequency: str = "Frequent",
                 vulnerability: str = "Low", org: str = "Full",
                 confidence: str = "High") -> dict[str, object]:
    """One theme's fields: ``harm`` for every dimension (or a list, one per dimension)."""
    harms = [harm] * len(scales.harm_dimensions) if isinstance(harm, str) else harm
    return {**dict(zip(scales.harm_dimensions, harms, strict=True)), "frequency": frequency,
            "vulnerability": vulnerability, "organisational_position": org,
            "confidence": confidence}


def write_sheet(folder: Path, name: str, rows: list[tuple[str, ...]],
                header: str = "theme,field,value,rationale") -> Path:
    path = folder / name
    lines = [header] + [",".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def sheet_rows(scales: MoRiLEScales, theme: str, **overrides: str) -> list[tuple[str, ...]]:
    values = theme_scores(scales, "Low")
    values.update(overrides)
    return [(theme, f, str(v), "") for f, v in values.items()]


# --------------------------------------------------------------------------- scales


def test_default_scales_are_labelled_illustrative_and_match_the_notes(default_scales) -> None:
    s = default_scales
    assert s.label == ILLUSTRATIVE
    assert s.version
    assert s.source == str(DEFAULT_MORILE_SCALES)
    assert s.harm_dimensions == ("physical", "psychological", "financial", "community",
                                 "environmental")
    assert s.harm_combine == "sum"
    assert s.harm.labels == ("None", "Low", "Moderate", "Substantial", "Critical")
    assert s.harm.values == (0, 1, 2, 4, 8)
    assert s.frequency.values == (1, 2, 3, 4)
    assert dict(zip(s.vulnerability.labels, s.vulnerability.values, strict=True)) == {
        "Low": 1.0, "Medium": 1.5, "High": 2.0}
    assert dict(zip(s.organisational_position.labels, s.organisational_position.values,
                    strict=True)) == {"Full": 0.75, "Partial": 1.25, "Limited": 1.5, "None": 2.0}
    assert s.confidence == ("Low", "Medium", "High")
    assert s.fields == (*s.harm_dimensions, "frequency", "vulnerability",
                        "organisational_position", "confidence")


def test_fixture_yaml_loads_to_the_same_scales_as_the_dict(worked_scales) -> None:
    loaded = load_morile_scales(FIXTURES / "worked_example_scales.yaml")
    assert loaded.harm == worked_scales.harm
    assert loaded.harm_dimensions == worked_scales.harm_dimensions
    assert loaded.organisational_position == worked_scales.organisational_position
    assert loaded.label == ILLUSTRATIVE


def test_missing_scales_file_names_the_path(tmp_path) -> None:
    with pytest.raises(ParameterError, match="nope.yaml"):
        load_morile_scales(tmp_path / "nope.yaml")


def _broken(path: str, value: object) -> dict:
    data = copy.deepcopy(WORKED_EXAMPLE_SCALES)
    *parents, last = path.split(".")
    target = data
    for p in parents:
        target = target[p]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("harm.combine", "mean", "harm.combine: must be 'sum' or 'max'"),
        ("harm.points", {"None": 0, "Low": 2, "High": 1}, "harm.points: numbers must increase"),
        ("harm.points", {"None": 0}, "harm.points: must map at least two labels"),
        ("harm.points", {"None": 0, "Low": "one"}, "harm.points.Low: must be a number"),
        ("harm.points", {"None": 0, False: 1}, "quote labels"),
        ("harm.points", {"None": 0, "low": 1, "Low": 2}, "labels must differ"),
        ("harm.dimensions", ["physical", "harm"], "harm.dimensions: 'harm'"),
        ("harm.dimensions", ["physical", "physical"], "harm.dimensions: names must differ"),
        ("harm.dimensions", KeyError, "harm.dimensions: missing"),
        ("frequency.points", {"Rare": 1, "Often": -2}, "frequency.points.Often: must be >= 0"),
        ("vulnerability.multipliers", {"Low": 0, "High": 2}, "vulnerability.multipliers.Low: must be > 0"),
        ("organisational_position.multipliers", {"Full": 0.75, "None": 3},
         "organisational_position.multipliers.None: must lie in [0.5, 2.0]"),
        ("organisational_position.multipliers", {"Full": 1.0, "None": 1.0}, "numbers must all differ"),
        ("confidence.levels", ["Low", 2], "confidence.levels"),
        ("label", KeyError, "label: missing"),
        ("version", 1.1, "version: must be non-empty text"),
        ("colour", "red", "unknown key 'colour'"),
        ("frequency.weights", {"a": 1}, "frequency.weights: unknown key"),
    ],
)
def test_invalid_scales_name_the_key(path, value, expected) -> None:
    with pytest.raises(ParameterError) as info:
        MoRiLEScales.from_dict(_broken(path, value), source="my_scales.yaml")
    assert expected in str(info.value)
    assert "my_scales.yaml" in str(info.value)


def test_scales_errors_are_all_reported_at_once() -> None:
    data = _broken("harm.combine", "mean")
    data["organisational_position"]["multipliers"]["None"] = 5
    del data["label"]
    with pytest.raises(ParameterError) as info:
        MoRiLEScales.from_dict(data)
    msg = str(info.value)
    assert "harm.combine" in msg and "organisational_position.multipliers.None" in msg
    assert "label: missing" in msg


def test_yaml_with_a_duplicated_label_is_refused(tmp_path) -> None:
    text = (FIXTURES / "worked_example_scales.yaml").read_text()
    text = text.replace('"Low": 1.0, "Medium": 1.5', '"Low": 1.0, "Low": 1.5')
    path = tmp_path / "dup.yaml"
    path.write_text(text)
    with pytest.raises(ParameterError, match="line 13, key vulnerability.multipliers.Low: duplicate key 'Low'"):
        load_morile_scales(path)


def test_scales_yaml_must_be_a_mapping(tmp_path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text(yaml.safe_dump([1, 2]))
    with pytest.raises(ParameterError, match="must be a mapping"):
        load_morile_scales(path)


# --------------------------------------------------------------------------- worked example


def test_worked_example_from_the_notes(worked_scales) -> None:
    scored = score_morile(tidy({"analyst": WORKED_EXAMPLE}), worked_scales)
    da = scored.set_index("theme").loc["Domestic abuse"]
    assert (da["physical"], da["psychological"], da["financial"], da["community"]) == (4, 8, 1, 2)
    assert da["harm"] == 15
    assert da["frequency"] == 3 and da["vulnerability"] == 1.5
    assert da["likelihood"] == 4.5
    assert da["risk"] == 67.5
    assert da["organisational_position"] == 1.25
    assert da["priority_score"] == 84.375  # 84.4 in the notes: rounded only for text
    assert da["confidence"] == "Medium"
    ct = scored.set_index("theme").loc["Cycle theft"]
    assert (ct["physical"], ct["psychological"], ct["financial"], ct["community"]) == (0, 1, 2, 1)
    assert ct["harm"] == 4
    assert ct["likelihood"] == 4.0
    assert ct["risk"] == 16
    assert ct["priority_score"] == 12.0
    assert ct["confidence"] == "High"
    agg = aggregate_morile(scored)
    assert agg["theme"].tolist() == ["Domestic abuse", "Cycle theft"]
    assert agg["rank"].tolist() == [1, 2]
    assert (agg["scales_label"] == ILLUSTRATIVE).all()


def test_worked_example_from_the_csv_fixture(worked_scales) -> None:
    sheets = read_morile_sheets(FIXTURES / "worked_example", worked_scales,
                                themes=["Domestic abuse", "Cycle theft"])
    assert set(sheets["scorer"]) == {"analyst"}
    assert sheets.loc[sheets["field"] == "psychological", "rationale"].iloc[0] == (
        "coercive control; long-term trauma")
    scored = score_morile(sheets, worked_scales).set_index("theme")
    assert scored.loc["Domestic abuse", "priority_score"] == 84.375
    assert scored.loc["Cycle theft", "priority_score"] == 12.0


def test_worked_example_with_the_default_scales(default_scales) -> None:
    # The default adds "environmental"; scored None (0 points) it changes nothing.
    example = {t: {**fields, "environmental": "None"} for t, fields in WORKED_EXAMPLE.items()}
    scored = score_morile(tidy({"analyst": example}), default_scales).set_index("theme")
    assert scored.loc["Domestic abuse", ["harm", "likelihood", "risk", "priority_score"]].tolist() \
        == [15, 4.5, 67.5, 84.375]
    assert scored.loc["Cycle theft", ["harm", "likelihood", "risk", "priority_score"]].tolist() \
        == [4, 4, 16, 12.0]


def test_numbers_and_any_case_work_as_well_as_labels(worked_scales) -> None:
    numeric = {"Domestic abuse": {"physical": 4, "psychological": "8", "financial": " low ",
                                  "community": 2.0, "frequency": 3, "vulnerability": "1.5",
                                  "organisational_position": 1.25, "confidence": "medium"}}
    scored = score_morile(tidy({"a": numeric}), worked_scales)
    assert scored["priority_score"].tolist() == [84.375]
    assert scored["confidence"].tolist() == ["Medium"]
    assert scored["financial_label"].tolist() == ["Low"]


def test_harm_combine_max(worked_scales) -> None:
    scales = MoRiLEScales.from_dict(_broken("harm.combine", "max"))
    scored = score_morile(tidy({"a": WORKED_EXAMPLE}), scales).set_index("theme")
    assert scored.loc["Domestic abuse", "harm"] == 8
    assert scored.loc["Domestic abuse", "priority_score"] == 8 * 4.5 * 1.25
    assert scored.loc["Cycle theft", "harm"] == 2


def test_inverted_organisational_position_is_allowed() -> None:
    data = _broken("organisational_position.multipliers",
                   {"Full": 2.0, "Partial": 1.5, "Limited": 1.0, "None": 0.5})
    scales = MoRiLEScales.from_dict(data)
    scored = score_morile(tidy({"a": WORKED_EXAMPLE}), scales).set_index("theme")
    assert scored.loc["Cycle theft", "priority_score"] == 16 * 2.0


def test_score_morile_does_not_mutate_its_input(worked_scales) -> None:
    scores = tidy({"a": WORKED_EXAMPLE})
    before = scores.copy()
    score_morile(scores, worked_scales)
    pd.testing.assert_frame_equal(scores, before)


# --------------------------------------------------------------------------- validation


def _problems(exc: pytest.ExceptionInfo) -> list:
    assert isinstance(exc.value, DataValidationError)
    return exc.value.problems


def test_unknown_label_names_sheet_row_theme_and_field(tmp_path, worked_scales) -> None:
    rows = sheet_rows(worked_scales, "Domestic abuse", psychological="Severe")
    write_sheet(tmp_path, "alice.csv", rows)
    with pytest.raises(MoRiLEError) as info:
        read_morile_sheets(tmp_path / "alice.csv", worked_scales)
    [p] = _problems(info)
    assert p.file == "alice.csv"
    assert p.row == 3  # header is row 1; psychological is the second data row
    assert p.column == "psychological"
    assert "theme 'Domestic abuse'" in p.message and "field 'psychological'" in p.message
    assert "unknown label 'Severe'" in p.message
    assert "Substantial (4)" in p.message
    assert "alice.csv, row 3, column 'psychological'" in str(info.value)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("physical", "9", "score 9 is out of range (0 to 8)"),
        ("physical", "-1", "score -1 is out of range (0 to 8)"),
        ("physical", "3", "score 3 is not on the scale"),
        ("frequency", "0", "score 0 is out of range (1 to 4)"),
        ("vulnerability", "1.2", "score 1.2 is not on the scale"),
        ("organisational_position", "Some", "unknown label 'Some'"),
        ("confidence", "2", "unknown label '2'"),  # confidence takes labels only
        ("community", "", "missing value"),
    ],
)
def test_bad_values_are_named(tmp_path, worked_scales, field, value, expected) -> None:
    write_sheet(tmp_path, "bob.csv", sheet_rows(worked_scales, "ASB", **{field: value}))
    with pytest.raises(MoRiLEError) as info:
        read_morile_sheets([tmp_path / "bob.csv"], worked_scales)
    [p] = _problems(info)
    assert (p.file, p.column) == ("bob.csv", field)
    assert expected in p.message
    assert "theme 'ASB'" in p.message


def test_missing_field_is_named(tmp_path, worked_scales) -> None:
    rows = [r for r in sheet_rows(worked_scales, "ASB") if r[1] != "vulnerability"]
    write_sheet(tmp_path, "carol.csv", rows)
    with pytest.raises(MoRiLEError) as info:
        read_morile_sheets(tmp_path / "carol.csv", worked_scales)
    [p] = _problems(info)
    assert (p.file, p.row, p.column) == ("carol.csv", None, "vulnerability")
    assert "theme 'ASB', field 'vulnerability': missing" in p.message


def test_duplicate_score_names_both_rows(tmp_path, worked_scales) -> None:
    rows = sheet_rows(worked_scales, "ASB")
    rows.append(("ASB", "physical", "Moderate", "second go"))
    write_sheet(tmp_path, "dan.csv", rows)
    with pytest.raises(MoRiLEError) as info:
        read_morile_sheets(tmp_path / "dan.csv", worked_scales)
    [p] = _problems(info)
    assert (p.file, p.row, p.column) == ("dan.csv", len(rows) + 1, "physical")
    assert "scored more than once (first at row 2 of dan.csv)" in p.message


def test_duplicate_across_two_sheets_of_one_scorer(tmp_path, worked_scales) -> None:
    header = "scorer,theme,field,value"
    write_sheet(tmp_path, "a.csv", [("eve", *r[:3]) for r in sheet_rows(worked_scales, "ASB")],
                header)
    write_sheet(tmp_path, "b.csv", [("eve", "ASB", "physical", "Low")], header)
    with pytest.raises(MoRiLEError) as info:
        read_morile_sheets(tmp_path, worked_scales)
    [p] = _problems(info)
    assert p.file == "b.csv" and "scorer 'eve'" in p.message
    assert "first at row 2 of a.csv" in p.message


def test_expected_theme_scored_by_nobody_and_unexpected_theme(tmp_path, worked_scales) -> None:
    write_sheet(tmp_path, "fay.csv", sheet_rows(worked_scales, "ASB")
                + sheet_rows(worked_scales, "Robbry"))
    with pytest.raises(MoRiLEError) as info:
        read_morile_sheets(tmp_path, worked_scales, themes=["ASB", "Robbery"])
    problems = _problems(info)
    typo = [p for p in problems if "'Robbry'" in p.message]
    assert len(typo) == len(worked_scales.fields)  # every row of the misspelt theme
    assert all(p.file == "fay.csv" and "not one of the expected themes" in p.message
               for p in typo)
    [nobody] = [p for p in problems if "'Robbery'" in p.message]
    assert nobody.column == "theme" and "fay.csv" in nobody.file
    assert "theme 'Robbery' was expected but no scorer scored it" in nobody.message


def test_all_problems_in_all_sheets_are_reported_together(tmp_path, worked_scales) -> None:
    write_sheet(tmp_path, "g.csv", sheet_rows(worked_scales, "ASB", physical="Huge",
                                              frequency="7"))
    rows = sheet_rows(worked_scales, "ASB")
    rows[0] = ("ASB", "colour", "red", "")
    write_sheet(tmp_path, "h.csv", rows)
    (tmp_path / "i.csv").write_text("theme,field\nASB,physical\n")
    with pytest.raises(MoRiLEError) as info:
        read_morile_sheets(sorted(tmp_path.glob("*.csv")) + [tmp_path / "missing.csv"],
                           worked_scales)
    got = {(p.file, p.column) for p in _problems(info)}
    assert got == {
        ("g.csv", "physical"), ("g.csv", "frequency"),
        ("h.csv", "field"),  # unknown field 'colour'
        ("h.csv", "physical"),  # so physical is then missing
        ("i.csv", "value"),  # missing column
        ("missing.csv", None),  # file not found
    }
    assert "unknown field 'colour'" in str(info.value)
    assert "missing column 'value'" in str(info.value)


def test_sheet_details(tmp_path, worked_scales) -> None:
    # Header case and spaces, a BOM, blank padding rows, a scorer column.
    rows = sheet_rows(worked_scales, "ASB")
    text = "\ufeffScorer , THEME,Field,Value,Rationale\n" + "\n".join(
        ",".join(("Kent Police", *r)) for r in rows) + "\n,,,,\n"
    (tmp_path / "police_sheet.csv").write_text(text, encoding="utf-8")
    sheets = read_morile_sheets(tmp_path, worked_scales)
    assert len(sheets) == len(worked_scales.fields)
    assert set(sheets["scorer"]) == {"Kent Police"}
    assert sheets["row"].tolist() == list(range(2, 2 + len(rows)))


def test_scorer_defaults_to_file_stem(tmp_path, worked_scales) -> None:
    write_sheet(tmp_path, "community_safety_unit.csv", sheet_rows(worked_scales, "ASB"))
    assert set(read_morile_sheets(tmp_path, worked_scales)["scorer"]) == {"community_safety_unit"}


def test_dataframe_input_errors_name_the_scorer(worked_scales) -> None:
    scores = tidy({"alice": {"ASB": theme_scores(worked_scales, "Low", frequency="Daily")}})
    with pytest.raises(MoRiLEError) as info:
        validate_morile_scores(scores, worked_scales)
    [p] = _problems(info)
    assert (p.file, p.row, p.column) == ("alice", None, "frequency")


def test_missing_columns_and_bad_arguments_are_option_errors(worked_scales, tmp_path) -> None:
    with pytest.raises(OptionError, match="scorer"):
        validate_morile_scores(pd.DataFrame({"theme": [], "field": [], "value": []}),
                               worked_scales)
    with pytest.raises(OptionError, match="MoRiLEScales"):
        validate_morile_scores(tidy({"a": WORKED_EXAMPLE}), {"harm": 1})
    with pytest.raises(OptionError, match="no \\*.csv"):
        read_morile_sheets(tmp_path, worked_scales)


# --------------------------------------------------------------------------- aggregation


def three_scorers(scales: MoRiLEScales) -> pd.DataFrame:
    dims = scales.harm_dimensions  # physical, psychological, financial, community
    assert dims == ("physical", "psychological", "financial", "community")
    return tidy({
        "a": {"ASB": theme_scores(scales, ["Low", "Low", "None", "Moderate"], "Frequent",
                                  "Low", "Full", "Low")},
        "b": {"ASB": theme_scores(scales, ["Moderate", "Low", "None", "Moderate"], "Frequent",
                                  "Low", "Partial", "High")},
        "c": {"ASB": theme_scores(scales, ["Substantial", "Moderate", "None", "Substantial"],
                                  "Very frequent", "Medium", "Full", "High")},
    })


def test_aggregate_medians_inputs_then_recomputes(worked_scales) -> None:
    scored = score_morile(three_scorers(worked_scales), worked_scales)
    # Scorers: harm 4, 5, 10; likelihood 3, 3, 6; org 0.75, 1.25, 0.75.
    assert scored["priority_score"].tolist() == [9.0, 18.75, 45.0]
    [row] = aggregate_morile(scored).to_dict("records")
    assert row["n_scorers"] == 3
    assert (row["physical"], row["psychological"], row["financial"], row["community"]) == (
        2, 1, 0, 2)
    assert row["harm"] == 5  # sum of the medians, not the median harm total (5 here too)
    assert (row["frequency"], row["vulnerability"], row["likelihood"]) == (3, 1.0, 3)
    assert row["risk"] == 15
    assert row["organisational_position"] == 0.75
    # Default: the median of the scorers' own scores (9, 18.75, 45), never outside them.
    assert row["priority_score"] == 18.75
    assert row["median_scorer_priority_score"] == 18.75
    assert row["answer_median_priority_score"] == 11.25  # 5 x 3 x 0.75 from the median answers
    assert row["priority_method"] == "scorer" and not row["outside_scorer_range"]
    assert (row["min_priority_score"], row["max_priority_score"]) == (9.0, 45.0)
    assert row["priority_score_range"] == 36.0
    assert row["priority_score_iqr"] == pytest.approx(31.875 - 13.875)
    assert row["wide_disagreement"]
    # Low..Substantial = 2 steps; confidence Low..High = 2 steps; others 1 step at most.
    assert row["wide_disagreement_fields"] == "physical, confidence"
    assert row["confidence"] == "Low"  # the lowest any scorer gave
    assert row["confidence_most_common"] == "High"
    assert row["rank"] == 1
    assert row["scales_label"] == ILLUSTRATIVE
    assert row["scales_version"] == "worked-example"


def test_answer_median_can_score_above_every_scorer_and_is_flagged(worked_scales) -> None:
    # Each scorer is high on two of harm, frequency and vulnerability and low on the third;
    # the median answer is high on all three, so its product beats every scorer's own score.
    freq, vuln = worked_scales.scale_for("frequency"), worked_scales.scale_for("vulnerability")
    hi_f, lo_f, hi_v, lo_v = freq.labels[-1], freq.labels[0], vuln.labels[-1], vuln.labels[0]
    scores = tidy({
        "a": {"OCG": theme_scores(worked_scales, "Critical", frequency=hi_f, vulnerability=lo_v)},
        "b": {"OCG": theme_scores(worked_scales, "Critical", frequency=lo_f, vulnerability=hi_v)},
        "c": {"OCG": theme_scores(worked_scales, "Low", frequency=hi_f, vulnerability=hi_v)},
    })
    scored = score_morile(scores, worked_scales)
    own = sorted(scored["priority_score"])
    by_answer = aggregate_morile(scored, method="answer").iloc[0]
    by_scorer = aggregate_morile(scored).iloc[0]
    assert by_scorer["priority_score"] == statistics.median(own)
    assert not by_scorer["outside_scorer_range"]
    harm = worked_scales.scale_for(worked_scales.harm_dimensions[0]).values[
        worked_scales.scale_for(worked_scales.harm_dimensions[0]).labels.index("Critical")]
    n = len(worked_scales.harm_dimensions)
    harm_total = harm * n if worked_scales.harm_combine == "sum" else harm
    full = worked_scales.scale_for("organisational_position")
    org = full.values[full.labels.index("Full")]
    expected = harm_total * freq.values[-1] * vuln.values[-1] * org
    assert by_answer["priority_score"] == pytest.approx(expected)
    assert by_answer["answer_median_priority_score"] == pytest.approx(expected)
    assert expected > own[-1]  # the case the issue describes: above every scorer
    assert by_answer["outside_scorer_range"]
    assert by_answer["priority_method"] == "answer"


def test_aggregate_method_is_validated(worked_scales) -> None:
    scored = score_morile(three_scorers(worked_scales), worked_scales)
    with pytest.raises(OptionError, match="method must be 'scorer'"):
        aggregate_morile(scored, method="mean")
    with pytest.raises(OptionError, match="method must be 'scorer'"):
        rank_stability(three_scorers(worked_scales), worked_scales, method="mean")


def test_median_of_two_scorers_can_fall_between_points(worked_scales) -> None:
    scores = tidy({
        "a": {"DA": theme_scores(worked_scales, "Substantial", confidence="High")},
        "b": {"DA": theme_scores(worked_scales, "Critical", confidence="Low")},
    })
    [row] = aggregate_morile(score_morile(scores, worked_scales)).to_dict("records")
    assert row["wide_disagreement"]
    assert row["physical"] == 6 and row["harm"] == 24
    # Adjacent harm labels are one step apart; confidence High vs Low is two.
    assert row["wide_disagreement_fields"] == "confidence"
    assert row["confidence"] == "Low"
    assert row["confidence_most_common"] == "Low"  # a tie goes to the lower level


def test_labels_one_step_apart_are_not_wide_disagreement(worked_scales) -> None:
    scores = tidy({
        "a": {"DA": theme_scores(worked_scales, "Substantial", "Frequent", "Low", "Full", "High")},
        "b": {"DA": theme_scores(worked_scales, "Critical", "Very frequent", "Medium", "Partial",
                                 "Medium")},
    })
    [row] = aggregate_morile(score_morile(scores, worked_scales)).to_dict("records")
    assert not row["wide_disagreement"]
    assert row["wide_disagreement_fields"] == ""
    assert row["priority_score_range"] > 0


def test_ranks_ties_use_min_and_scorers_may_skip_themes(worked_scales) -> None:
    scores = tidy({
        "a": {"A": theme_scores(worked_scales, "Low"), "B": theme_scores(worked_scales, "Low"),
              "C": theme_scores(worked_scales, "None")},
        "b": {"D": theme_scores(worked_scales, "Moderate")},
    })
    agg = aggregate_morile(score_morile(scores, worked_scales))
    assert agg["theme"].tolist() == ["D", "A", "B", "C"]
    assert agg["rank"].tolist() == [1, 2, 2, 4]
    assert agg["n_scorers"].tolist() == [1, 1, 1, 1]


def test_scores_equal_on_paper_tie_despite_float_error() -> None:
    scales = MoRiLEScales.from_dict({
        "version": "float", "label": "test",
        "harm": {"dimensions": ["physical"], "combine": "sum",
                 "points": {"None": 0, "Low": 1, "Mid": 2, "High": 3}},
        "frequency": {"points": {"Rare": 1, "Often": 2}},
        "vulnerability": {"multipliers": {"Low": 1.1, "High": 1.7}},
        "organisational_position": {"multipliers": {"A": 0.6, "B": 0.9}},
        "confidence": {"levels": ["Low", "High"]},
    })
    base = {"frequency": "Rare", "vulnerability": "Low", "confidence": "High"}
    scores = tidy({"a": {"X": {"physical": "Mid", "organisational_position": "B", **base},
                         "Y": {"physical": "High", "organisational_position": "A", **base}}})
    scored = score_morile(scores, scales)
    assert scored["priority_score"].iloc[0] != scored["priority_score"].iloc[1]  # 1.98 vs 1.98000...2
    assert aggregate_morile(scored)["rank"].tolist() == [1, 1]
    assert rank_stability(scores, scales)["rank"].tolist() == [1, 1]


def test_aggregate_needs_scales(worked_scales) -> None:
    scored = score_morile(tidy({"a": WORKED_EXAMPLE}), worked_scales)
    scored.attrs.clear()
    with pytest.raises(OptionError, match="pass scales="):
        aggregate_morile(scored)
    assert len(aggregate_morile(scored, worked_scales)) == 2
    with pytest.raises(OptionError, match="score_morile"):
        aggregate_morile(scored.drop(columns="physical_label"), worked_scales)


# --------------------------------------------------------------------------- rank stability


def test_rank_stability_flags_a_theme_one_step_from_a_tie(default_scales) -> None:
    s = default_scales
    scores = tidy({"a": {
        "Far ahead": theme_scores(s, "Critical"),
        "Just above": theme_scores(s, ["Low", "None", "None", "None", "None"]),
        "One step from a tie": theme_scores(s, "None"),
    }})
    out = rank_stability(scores, s).set_index("theme")
    assert out["rank"].to_dict() == {"Far ahead": 1, "Just above": 2, "One step from a tie": 3}
    # Any one of its harm scores up a step (or "Just above"'s physical down a step)
    # makes it tie with "Just above", which shares rank 2.
    assert not out.loc["One step from a tie", "stable"]
    assert out.loc["One step from a tie", "best_rank"] == 2
    assert out.loc["One step from a tie", "worst_rank"] == 3
    assert out.loc["One step from a tie", "n_rank_changes"] == 5 + 1
    assert out.loc["Just above", "stable"]  # ties share the better rank, so it keeps 2
    assert out.loc["Far ahead", "stable"]
    # Moves tried (one step down and up, none off the scale): Far ahead 5 harm down
    # + frequency 2 + vulnerability 1 + org 1 = 9; Just above 2 + 4 + 4 = 10; last 5 + 4 = 9.
    assert (out["n_perturbations"] == 28).all()
    assert (out["scales_label"] == ILLUSTRATIVE).all()


@pytest.mark.parametrize("method", ["scorer", "answer"])
def test_rank_stability_matches_aggregate_ranks(worked_scales, method) -> None:
    scores = pd.concat([three_scorers(worked_scales), tidy({"a": WORKED_EXAMPLE})])
    stab = rank_stability(scores, worked_scales, method=method)
    agg = aggregate_morile(score_morile(scores, worked_scales), method=method)
    assert stab["theme"].tolist() == agg["theme"].tolist()
    assert stab["rank"].tolist() == agg["rank"].tolist()


def reference_stability(scores: pd.DataFrame, scales: MoRiLEScales,
                        method: str = "scorer") -> dict[str, tuple]:
    """Brute force, independent of sa_lib: move each score, recompute every rank."""
    table = {f: scales.scale_for(f) for f in scales.scored_fields}
    cells = {(r.scorer, r.theme, r.field): table[r.field].labels.index(r.value)
             for r in scores.itertuples() if r.field in table}

    def ranks(c: dict) -> dict[str, int]:
        def product(points: dict) -> float:
            dims = [points[d] for d in scales.harm_dimensions]
            harm = sum(dims) if scales.harm_combine == "sum" else max(dims)
            return harm * (points["frequency"] * points["vulnerability"]) \
                * points["organisational_position"]

        score = {}
        for theme in {t for _, t, _ in c}:
            if method == "answer":
                med = {f: statistics.median(table[f].values[st] for (_, t, f2), st in c.items()
                                            if t == theme and f2 == f) for f in table}
                score[theme] = round(product(med), 9)
            else:
                own = [product({f: table[f].values[c[(r, theme, f)]] for f in table})
                       for r in sorted({r for r, t, _ in c if t == theme})]
                score[theme] = round(statistics.median(own), 9)
        return {t: 1 + sum(v > score[t] for v in score.values()) for t in score}

    base = ranks(cells)
    seen = {t: [r] for t, r in base.items()}
    changes = dict.fromkeys(base, 0)
    n = 0
    for key, step in cells.items():
        for new in (step - 1, step + 1):
            if not 0 <= new < table[key[2]].n_levels:
                continue
            n += 1
            moved = ranks({**cells, key: new})
            for t, r in moved.items():
                seen[t].append(r)
                changes[t] += r != base[t]
    return {t: (base[t], min(seen[t]), max(seen[t]), n, changes[t]) for t in base}


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_rank_stability_matches_brute_force(data) -> None:
    scales = MoRiLEScales.from_dict(WORKED_EXAMPLE_SCALES)
    n_themes = data.draw(st.integers(2, 4))
    scorers = data.draw(st.integers(1, 3))
    spec: dict = {}
    for s in range(scorers):
        for t in range(n_themes):
            if s > 0 and data.draw(st.booleans()):  # scorers after the first may skip a theme
                continue
            spec.setdefault(f"s{s}", {})[f"T{t}"] = {
                f: data.draw(st.sampled_from(scales.scale_for(f).labels)) for f in scales.fields}
    scores = tidy(spec)
    method = data.draw(st.sampled_from(["scorer", "answer"]))
    out = rank_stability(scores, scales, method=method)
    got = {r.theme: (r.rank, r.best_rank, r.worst_rank, r.n_perturbations, r.n_rank_changes)
           for r in out.itertuples()}
    assert got == reference_stability(scores, scales, method)
    assert out["stable"].tolist() == (out["n_rank_changes"] == 0).tolist()


# --------------------------------------------------------------------------- matrix


def test_morile_matrix_is_long_theme_by_dimension(worked_scales) -> None:
    agg = aggregate_morile(score_morile(tidy({"a": WORKED_EXAMPLE}), worked_scales))
    m = morile_matrix(agg)
    dims = ["physical", "psychological", "financial", "community", "frequency", "vulnerability",
            "organisational_position"]
    assert len(m) == 2 * len(dims)
    assert m["theme"].tolist() == ["Domestic abuse"] * 7 + ["Cycle theft"] * 7
    assert m["dimension"].tolist() == dims * 2
    assert m["block"].tolist()[:7] == ["harm"] * 4 + ["likelihood"] * 2 + [
        "organisational_position"]
    assert m["value"].tolist()[:7] == [4, 8, 1, 2, 3, 1.5, 1.25]
    assert (m["scales_label"] == ILLUSTRATIVE).all()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("99999999999999999999999", "score 99999999999999999999999 is out of range (0 to 8)"),
        ("1e999", "score 1e999 is out of range (0 to 8)"),
        ("9" * 5000, "score '999999999999999999999999999999...' (5,000 characters) is out of "
         "range (0 to 8)"),
        ("x" * 100, "unknown label 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...' (100 characters)"),
    ],
)
def test_huge_and_long_values_are_named_shortly(tmp_path, worked_scales, value, expected) -> None:
    write_sheet(tmp_path, "bob.csv", sheet_rows(worked_scales, "ASB", physical=value))
    with pytest.raises(MoRiLEError) as info:
        read_morile_sheets([tmp_path / "bob.csv"], worked_scales)
    [p] = _problems(info)
    assert (p.file, p.row, p.column) == ("bob.csv", 2, "physical")
    assert expected in p.message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (gzip.compress(b"theme,field,value\n"), "this file is gzip-compressed, not CSV text"),
        ("theme,field,value\n".encode("utf-16"), "this file is UTF-16 text"),
        (b"PK\x03\x04" + bytes(26) + b"[Content_Types].xml xl/", "an Excel workbook (.xlsx)"),
    ],
)
def test_sheet_that_is_not_csv_text_is_named(tmp_path, worked_scales, data, expected) -> None:
    (tmp_path / "bob.csv").write_bytes(data)
    with pytest.raises(MoRiLEError) as info:
        read_morile_sheets([tmp_path / "bob.csv"], worked_scales)
    [p] = _problems(info)
    assert (p.file, p.row) == ("bob.csv", None)
    assert expected in p.message
