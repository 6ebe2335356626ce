"""Tests for the parameters file: validation errors name the key; new-year moves dates."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from sa_lib.data.new_year import new_year
from sa_lib.data.parameters import load_parameters
from sa_lib.errors import ParameterError
from sa_lib.paths import PARAMETERS_DIR

BASE = yaml.safe_load((PARAMETERS_DIR / "2025.yaml").read_text())


def write(tmp_path: Path, data: dict) -> Path:
    p = tmp_path / "p.yaml"
    p.write_text(yaml.safe_dump(data))
    return p


def test_bundled_parameters_load() -> None:
    p = load_parameters("parameters/2025.yaml")
    assert p.review_window.label == "Jan 2025 – Dec 2025"
    assert p.current_window.label == "Jan 2025 – Apr 2025"
    assert p.previous_window.label == "Jan 2024 – Apr 2024"
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


# --------------------------------------------------------------------------- the YAML loader


def test_bundled_yaml_files_load_unchanged() -> None:
    """The hardened loader reads the bundled files exactly as PyYAML's safe_load does."""
    from sa_lib.data.safe_yaml import read_yaml

    for name in ("2025.yaml", "morile_scales.yaml"):
        path = PARAMETERS_DIR / name
        assert read_yaml(path) == yaml.safe_load(path.read_text(encoding="utf-8")), name


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("a: 1\na: 2\n", r"p\.yaml: line 2, key a: duplicate key 'a' \(first on line 1\)"),
        ("t:\n  x: {d: 5}\n  x: {d: 1}\n", r"line 3, key t\.x: duplicate key 'x'"),
        ("l:\n  - name: a\n    name: b\n", r"line 3, key l\[1\]\.name: duplicate key 'name'"),
        ("a: {1: x, 0x1: y}\n", r"key a\.0x1: duplicate key '0x1'"),
        ("a: {'k': 1, k: 2}\n", r"duplicate key 'k'"),
        ("a: &a [1, 2]\n" + "".join(f"b{i}: *a\n" for i in range(21)),
         r"line 22, key b20: more than 20 aliases \(\*a\); expected"),
        ("a: &a [" + ", ".join(["x"] * 9000) + "]\n" + "".join(f"b{i}: *a\n" for i in range(12)),
         r"more than 100,000 values"),
        ("a: &a [1, *a]\n", r"key a\[2\]: the alias \*a refers to the list or mapping that holds it"),
        ("a: " + "[" * 25 + "]" * 25 + "\n", r"line 1, key a\[1\].*nested more than 20 levels"),
        ("a:\n  b: " + "9" * 5000 + "\n", r"line 2, key a\.b: a whole number with 5,000 digits"),
        ("a: -0x" + "f" * 19 + "\n", r"a whole number with 19 digits"),
        ("a: .inf\n", r"key a: '\.inf' is not a finite number"),
        ("a: [-.INF]\n", r"key a\[1\]: '-\.INF' is not a finite number"),
        ("a: .nan\n", r"'\.nan' is not a finite number"),
        ("a: 1.5e+999\n", r"'1\.5e\+999' is not a finite number"),
        ("run_date: 2026-02-31\n", r"line 1, key run_date: '2026-02-31' is not a real date"),
        ("run_date: 2025-13-01\n", r"'2025-13-01' is not a real date; expected a real date"),
        ("a: !!python/object/apply:os.system ['true']\n",
         r"key a: not valid YAML.*tag !!python/object/apply:os\.system is not allowed"),
        ("a: !!binary aGk=\n", r"tag !!binary is not allowed"),
        ("a: !!set {x}\n", r"tag !!set is not allowed"),
        ("a: !env HOME\n", r"tag !env is not allowed"),
        ("b: &b {x: 1}\nc:\n  <<: *b\n", r"line 3, key c.*merge key '<<' is not supported"),
        ("? [a]\n: 1\n", r"a list or mapping used as a key"),
        ("a: [1, 2\nb: 3\n", r"line 2: not valid YAML"),
        ("a: \x07\n", r"line 1: not valid YAML: the character U\+0007 is not allowed"),
        ("a: 1\n---\nb: 2\n", r"not valid YAML: expected a single document"),
    ],
)
def test_yaml_loader_refuses_with_line_and_key(text: str, match: str) -> None:
    from sa_lib.data.safe_yaml import load_yaml

    with pytest.raises(ParameterError, match=match):
        load_yaml(text.encode("utf-8"), "p.yaml")


def test_yaml_loader_accepts_ordinary_yaml() -> None:
    from sa_lib.data.safe_yaml import load_yaml

    text = ("a: 123456789012345678\nb: 2026-01-15\nc: [1.5, -3, 1e5]\nd: &d {x: 1}\ne: *d\n"
            "f: =\ng: !!str 2025-12\nh: ~\n")
    assert load_yaml(text, "p.yaml") == {
        "a": 123456789012345678, "b": dt.date(2026, 1, 15), "c": [1.5, -3, "1e5"],
        "d": {"x": 1}, "e": {"x": 1}, "f": "=", "g": "2025-12", "h": None}


def test_yaml_loader_refuses_a_large_file_without_reading_it(tmp_path: Path) -> None:
    from sa_lib.data.safe_yaml import MAX_BYTES, read_yaml

    big = tmp_path / "big.yaml"
    big.write_bytes(b"a: 1\n#" + b"x" * MAX_BYTES + b"\n")
    with pytest.raises(ParameterError, match=r"big\.yaml: the file is larger than 1,048,576"):
        read_yaml(big)
    with pytest.raises(ParameterError, match=r"big\.yaml: the file is larger"):
        load_parameters(big)


def test_morile_scales_use_the_same_loader(tmp_path: Path) -> None:
    from sa_lib.data.morile_scales import load_morile_scales

    text = (PARAMETERS_DIR / "morile_scales.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "scales.yaml"
    bad.write_text(text.replace('    "Low": 1\n', '    "Low": 1\n    "Low": 3\n', 1),
                   encoding="utf-8")
    with pytest.raises(ParameterError, match=r"line \d+, key harm\.points\.Low: duplicate key"):
        load_morile_scales(bad)


# --------------------------------------------------------------------------- value ranges


def _indicator(d: dict, name: str, target: object) -> None:
    d["review"]["indicators"][name] = {"measure": "Needle finds", "monthly_target": target}


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda d: d.update(run_date="2026-02-31"), r"run_date: .*day value is outside"),
        (lambda d: d.update(run_date=dt.date(9999, 1, 1)), r"run_date: .*less than or equal"),
        (lambda d: d["window"].update(end="0001-12"), r"window\.end: expected a month"),
        (lambda d: d["window"].update(months="9" * 5000), r"window\.months: .*\.\.\.\)"),
        (lambda d: _indicator(d, "X", "1e999"), r"indicators\.X\.monthly_target: .*finite"),
        (lambda d: _indicator(d, "X", "nan"), r"indicators\.X\.monthly_target: .*finite"),
        (lambda d: _indicator(d, "X", -1), r"indicators\.X\.monthly_target: .*greater"),
        (lambda d: d["priorities"].update(weights={"volume": "inf"}),
         r"priorities\.weights\.volume: .*finite"),
        (lambda d: d["priorities"].update(weights={"volume": -1}),
         r"priorities\.weights\.volume: .*greater than or equal to 0"),
        (lambda d: d["priorities"].update(weights=dict.fromkeys(
            ("volume", "trend", "perception", "influence"), 0)),
         r"priorities\.weights: every factor weighs 0"),
        (lambda d: d["priorities"].update(weights={"volumes": 1}), r"priorities\.weights"),
        (lambda d: d["priorities"].update(n_priorities=10**6), r"priorities\.n_priorities"),
        (lambda d: d["priorities"].update(cross_cutting=["Reofending"]),
         r"priorities\.cross_cutting: .*did you mean 'Reoffending'"),
        (lambda d: d["thresholds"].update(disclosure=10**15), r"thresholds\.disclosure"),
        (lambda d: d["improvement"].update({"Burglray": "increase"}),
         r"improvement: 'Burglray' is not a measure .*did you mean 'Burglary'"),
        (lambda d: d.update(rebase={"KSI casualty": ["2025-01"]}),
         r"rebase: 'KSI casualty' is not a measure .*did you mean 'KSI casualties'"),
        (lambda d: d["themes"][8 - 1].update(name="Road Safety"),
         r"themes\[8\]\.name 'Road Safety' and themes\[7\]\.name 'Road safety' give the same "
         r"file name 'theme_road_safety'"),
        (lambda d: d["themes"][0].update(name="***"), r"themes\[1\]\.name '\*\*\*' has no letter"),
        (lambda d: _indicator(d, "needle finds collected by street-scene", 1),
         r"review\.indicators 'needle finds collected by street-scene' and review\.indicators "
         r"'Needle finds collected by street scene' give the same file name"),
        (lambda d: d["area"].update(name="$$"), r"area\.name: '\$\$' has no letter or digit"),
        (lambda d: d["area"].update(name="   "), r"area\.name: is blank"),
        (lambda d: d.update(title="A\u202eB"), r"title: character 2 is U\+202E"),
        (lambda d: d.update(title="A\nB"), r"title: character 2 is U\+000A"),
        (lambda d: d.update(title="x" * 301), r"title: String should have at most 300"),
        (lambda d: d["themes"][2].update(crime_types=["Drugs", "Drugs"]),
         r"themes\[3\] \('Substance misuse'\)\.crime_types: \['Drugs'\] listed more than once"),
        (lambda d: d["themes"][8 - 1].update(partner_measures=["KSI casualty"]),
         r"themes\[8\] \('Reoffending'\)\.partner_measures: .*did you mean 'KSI casualties'"),
    ],
)
def test_values_are_range_checked(tmp_path: Path, change, match: str) -> None:
    data = yaml.safe_load(yaml.safe_dump(BASE))
    change(data)
    with pytest.raises(ParameterError, match=match):
        load_parameters(write(tmp_path, data))


def test_theme_totals_are_known_measures(tmp_path: Path) -> None:
    """A theme of several crime types adds '<theme>: all types' to the measures."""
    data = yaml.safe_load(yaml.safe_dump(BASE))
    data["improvement"]["Acquisitive crime: all types"] = "increase"
    data["rebase"] = {"Total crime (excluding ASB)": ["2025-06"], "Needle finds": ["2025-03"]}
    p = load_parameters(write(tmp_path, data))
    assert p.improvement["Acquisitive crime: all types"] == "increase"


def test_local_authority_code_is_kept_for_the_explorer_but_refused_for_the_report(
        tmp_path: Path) -> None:
    from sa_lib.data.inputs import check_inputs

    data = yaml.safe_load(yaml.safe_dump(BASE))
    data["area"]["code"] = "E07000110"
    params = load_parameters(write(tmp_path, data))  # the explorer maps a district
    with pytest.raises(ParameterError, match=r"area\.code E07000110 is the local authority code "
                       r"of Maidstone.*area\.code E22000142 \(Maidstone\)"):
        check_inputs(params)
    data["area"]["code"] = "E22999999"
    with pytest.raises(ParameterError, match=r"area\.code E22999999 is not a Community Safety"):
        check_inputs(load_parameters(write(tmp_path, data)))


def test_slug_rules_match_the_publisher() -> None:
    """data.slugs.file_slug is the publisher's rule (tables and charts) and area_slug's."""
    from hypothesis import given
    from hypothesis import strategies as st

    from sa_lib.data.slugs import file_slug, folder_slug
    from sa_lib.report.publish import file_slug as publish_slug

    @given(st.text(max_size=40))
    def same(text: str) -> None:
        assert file_slug(text) == publish_slug(text)
        assert folder_slug(text) == file_slug(text).replace("_", "-")

    same()


@pytest.mark.parametrize(("data", "kind"), [
    ("a: 1\n".encode("utf-16"), "UTF-16 text"),
    (b"\x1f\x8b\x08\x00rest", "gzip-compressed"),
    (b"PK\x03\x04rest", "a zip archive"),
])
def test_yaml_loader_names_binary_files(data: bytes, kind: str) -> None:
    from sa_lib.data.safe_yaml import load_yaml

    with pytest.raises(ParameterError, match=rf"p\.yaml: the file is {kind}"):
        load_yaml(data, "p.yaml")
