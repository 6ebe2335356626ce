"""The bad-input corpus (tests/bad_inputs/): every malformed input fails cleanly and early.

For each case of ``tests/bad_inputs/cases.yaml`` the command line (``sa run`` with the bad
input swapped into a copy of ``parameters/2025.yaml``, and ``sa validate`` for partner
returns) must exit 2 with one ``error:`` message naming the file (or parameters key), row,
column and what was expected, without a traceback and before any kernel starts; the
``sa_lib`` function named by the case must raise the documented exception type; and the
previous report in the outputs folder must be byte-for-byte unchanged.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

import sa_lib.run.runner as runner
from sa_lib import errors
from sa_lib.data.home_office import read_csp_recorded_crime, read_population
from sa_lib.data.inputs import check_inputs
from sa_lib.data.morile_scales import load_morile_scales
from sa_lib.data.morile_sheets import read_morile_sheets
from sa_lib.data.parameters import EXTRA_DATA_DIRS_ENV, load_parameters
from sa_lib.data.partner import read_partner
from sa_lib.data.police_uk import read_police_uk
from sa_lib.paths import DATA_DIR, PARAMETERS_DIR, PROJECT_ROOT
from sa_lib.run import cli

CORPUS = Path(__file__).parent / "bad_inputs"
CASES = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))
BASE = yaml.safe_load((PARAMETERS_DIR / "2025.yaml").read_text(encoding="utf-8"))
KEY = "bad-inputs-test-key-0123456789"
MORILE_THEMES = list(BASE["priorities"]["perception"])
AREA = BASE["area"]["code"]


def _ids(case: dict) -> str:
    return case["id"]


# --------------------------------------------------------------------------- set-up


def _bad_input(case: dict, tmp_path: Path) -> Path:
    """The case's bad file or folder copied into tmp_path (symlinks kept as symlinks)."""
    src = CORPUS / case["path"]
    dest = tmp_path / "inputs" / case["id"]
    if case["input"] == "morile_sheets":
        # The three bundled scorers' sheets, with the case's sheet(s) in place of theirs.
        dest.mkdir(parents=True)
        for sheet in sorted(DATA_DIR.glob("synthetic/*morile*.csv")):
            shutil.copy(sheet, dest)
        for sheet in src.iterdir():
            shutil.copy(sheet, dest / sheet.name)
        return dest
    if src.is_dir():
        shutil.copytree(src, dest, symlinks=True)
        return dest
    if case["input"] == "partner":  # a partner folder holding the bad return
        dest.mkdir(parents=True)
        shutil.copy(src, dest)
        return dest
    dest.mkdir(parents=True)
    shutil.copy(src, dest / src.name, follow_symlinks=False)
    return dest / src.name


def _parameters(case: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """(parameters file to run, the bad input); data folders outside data/ allowed by env."""
    if case["input"] == "parameters":
        path = CORPUS / case["path"]
        return path, path
    bad = _bad_input(case, tmp_path)
    monkeypatch.setenv(EXTRA_DATA_DIRS_ENV, str((tmp_path / "inputs").resolve()))
    raw = yaml.safe_load(yaml.safe_dump(BASE))
    key = case["input"]
    raw["data"][key] = [str(bad)] if key == "police_uk" else str(bad)
    path = tmp_path / "parameters.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path, bad


PREVIOUS_REPORT = {
    "maidstone/2025-01_2025-12/official/report.html": b"<html>last good report</html>\n",
    "maidstone/2025-01_2025-12/official/tables/change.csv": b"category,count\nDrugs,282\n",
    "maidstone/2025-01_2025-12/public/report.html": b"<html>last good public report</html>\n",
    "maidstone/2025-01_2025-12/manifest.json": b'{"run": "previous"}\n',
}


def _previous_report(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    out = tmp_path / "outputs"
    for rel, data in PREVIOUS_REPORT.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_bytes(data)
    monkeypatch.setattr(runner, "OUTPUTS_DIR", out)
    return out


def _tree_digest(folder: Path) -> dict[str, str]:
    """Every path under ``folder`` (files and folders) with the sha256 of each file's bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            if p.is_file() else "folder" for p in sorted(folder.rglob("*"))}


# --------------------------------------------------------------------------- direct calls


def _direct(case: dict, params: Path, bad: Path) -> Callable[[], object]:
    """A call of the case's sa_lib function on the bad input."""
    call = case["call"]
    if call == "read_police_uk":
        return lambda: read_police_uk(bad, area=AREA, cache=False)
    if call == "read_partner":
        return lambda: read_partner(next(bad.glob("*.csv")), case["kind"], pseudonymise_key=KEY)
    if call == "read_morile_sheets":
        return lambda: read_morile_sheets(sorted(bad.glob("*.csv")), load_morile_scales(),
                                          themes=MORILE_THEMES)
    if call == "load_morile_scales":
        return lambda: load_morile_scales(bad)
    if call == "read_csp_recorded_crime":
        return lambda: read_csp_recorded_crime(bad)
    if call == "read_population":
        return lambda: read_population(bad)
    if call == "load_parameters":
        return lambda: load_parameters(params)
    if call == "check_inputs":
        return lambda: check_inputs(load_parameters(params))
    raise AssertionError(f"unknown call {call!r} in cases.yaml")


FUNCTIONS = {"read_police_uk": read_police_uk, "read_partner": read_partner,
             "read_morile_sheets": read_morile_sheets, "load_morile_scales": load_morile_scales,
             "read_csp_recorded_crime": read_csp_recorded_crime,
             "read_population": read_population, "load_parameters": load_parameters,
             "check_inputs": check_inputs}


def _documented_raises(func: Callable) -> set[str]:
    """Exception names listed in the numpydoc "Raises" section of a docstring."""
    doc = func.__doc__ or ""
    m = re.search(r"\n\s*Raises\n\s*-+\n(.*?)(?:\n\s*\n\s*[A-Z][a-z]+\n\s*-+\n|\Z)", doc, re.S)
    assert m, f"{func.__name__} has no Raises section"
    return set(re.findall(r"^\s{4}(\w+)\s*$", m.group(1), re.M))


def _assert_one_message(text: str, case: dict) -> None:
    assert text.count("error:") == 1, text
    assert "Traceback" not in text, text
    for needle in case["expect"]:
        assert needle in text, f"{case['id']}: {needle!r} not in the message:\n{text}"


# --------------------------------------------------------------------------- the tests


def test_corpus_is_complete() -> None:
    """Every case's file exists in git, the README lists every case, and every input is covered."""
    assert len(CASES) >= 40
    assert len({c["id"] for c in CASES}) == len(CASES)
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    for c in CASES:
        path = CORPUS / c["path"]
        assert path.exists() or path.is_symlink(), c["path"]
        assert f"| {c['id']} |" in readme, f"README.md does not list {c['id']}"
        assert c["call"] in FUNCTIONS and hasattr(errors, c["raises"])
    inputs = {c["input"] for c in CASES}
    assert inputs == {"police_uk", "partner", "morile_sheets", "morile_scales", "csp_table",
                      "population", "parameters"}
    from sa_lib.data.partner_schema import PARTNER_KINDS

    kinds = {c.get("kind") for c in CASES}
    assert set(PARTNER_KINDS) - {"morile_sheet"} <= kinds, "a partner kind has no bad input"


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_bad_input_fails_cleanly(case: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture) -> None:
    params, bad = _parameters(case, tmp_path, monkeypatch)
    out = _previous_report(tmp_path, monkeypatch)
    before = _tree_digest(out)

    code = cli.main(["run", str(params), "--no-progress"])
    captured = capsys.readouterr()
    assert code == 2, captured
    _assert_one_message(captured.err, case)
    assert "Traceback" not in captured.out
    # Refused before any kernel started: not even a staging folder was made.
    assert _tree_digest(out) == before

    if case["input"] == "partner" and case["call"] == "read_partner":
        code = cli.main(["validate", str(next(bad.glob("*.csv"))), "--kind", case["kind"]])
        captured = capsys.readouterr()
        assert code == 2
        _assert_one_message(captured.err, case)

    expected = getattr(errors, case["raises"])
    with pytest.raises(expected) as info:
        _direct(case, params, bad)()
    assert type(info.value) is expected, info.value
    assert case["raises"] in _documented_raises(FUNCTIONS[case["call"]])
    assert "Traceback" not in str(info.value)
    assert _tree_digest(out) == before


# A few cases through a real `sa` process (each pays the interpreter and sa_lib imports),
# started side by side.
PROCESS_CASES = [
    ("police_non_utf8", ["run", "{params}", "--no-progress"]),
    ("parameters_unsafe_yaml", ["run", "{params}"]),
    ("partner_future_date", ["validate", "{bad}", "--kind", "domestic_abuse"]),
]


def test_real_processes_exit_2_without_traceback(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    out = _previous_report(tmp_path, monkeypatch)
    before = _tree_digest(out)
    running = []
    for case_id, argv in PROCESS_CASES:
        case = next(c for c in CASES if c["id"] == case_id)
        params, bad = _parameters(case, tmp_path / case_id, monkeypatch)
        file = next(bad.glob("*.csv")) if bad.is_dir() else bad
        args = [a.format(params=params, bad=file) for a in argv]
        env = {**os.environ, "SA_OUTPUTS_DIR": str(out)}
        running.append((case, subprocess.Popen(
            [sys.executable, "-m", "sa_lib.run.cli", *args], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True, cwd=PROJECT_ROOT, env=env)))
    for case, proc in running:
        stdout, stderr = proc.communicate(timeout=180)
        assert proc.returncode == 2, (case["id"], stderr)
        _assert_one_message(stderr, case)
        assert "Traceback" not in stdout
    assert _tree_digest(out) == before


def test_yaml_is_read_with_safe_loaders_only(tmp_path: Path) -> None:
    """No module reads YAML with an unsafe loader, and a python tag is refused, never run."""
    unsafe = re.compile(r"yaml\.(unsafe_load|full_load|load_all|load|safe_load)\("
                        r"|Loader=yaml\.(Unsafe|Full)?Loader")
    for path in (PROJECT_ROOT / "sa_lib").rglob("*.py"):
        # sa_lib reads YAML only through the hardened loader (sa_lib.data.safe_yaml).
        assert not unsafe.search(path.read_text(encoding="utf-8")), path
    for path in (PROJECT_ROOT / "tools").glob("*.py"):
        assert not re.search(r"yaml\.(unsafe_load|full_load|load)\(|Loader=yaml\.(Unsafe|Full)",
                             path.read_text(encoding="utf-8")), path
    from sa_lib.data.safe_yaml import SafeYAMLLoader

    assert issubclass(SafeYAMLLoader, yaml.SafeLoader)
    marker = tmp_path / "ran"
    bad = tmp_path / "unsafe.yaml"
    bad.write_text(f"version: !!python/object/apply:os.system ['touch {marker}']\n",
                   encoding="utf-8")
    for load in (load_parameters, load_morile_scales):
        with pytest.raises(errors.ParameterError, match="not valid YAML"):
            load(bad)
    assert not marker.exists()


def test_paths_cannot_escape_through_symlinks(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A symlink inside an allowed folder pointing outside is refused for files and folders."""
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    monkeypatch.setenv(EXTRA_DATA_DIRS_ENV, str(allowed))
    (allowed / "csp.csv").symlink_to(DATA_DIR.parent / "pyproject.toml")
    (allowed / "partner").symlink_to(tmp_path, target_is_directory=True)
    (allowed / "ok.csv").symlink_to(DATA_DIR / "home_office"
                                    / "policeforceareatablesyejune25final_TableC2_csp.csv")
    from sa_lib.data.parameters import resolve_data_path

    with pytest.raises(errors.ParameterError, match="data.csp_table.*outside"):
        resolve_data_path(str(allowed / "csp.csv"), "data.csp_table")
    with pytest.raises(errors.ParameterError, match="data.partner.*outside"):
        resolve_data_path(str(allowed / "partner"), "data.partner")
    # A symlink that stays inside the allowed folders is fine.
    assert resolve_data_path(str(allowed / "ok.csv"), "data.csp_table").name.endswith(".csv")
    # Without SA_EXTRA_DATA_DIRS a real file in that folder is outside.
    (allowed / "plain.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    assert resolve_data_path(str(allowed / "plain.csv"), "data.csp_table").exists()
    monkeypatch.delenv(EXTRA_DATA_DIRS_ENV)
    with pytest.raises(errors.ParameterError, match="outside"):
        resolve_data_path(str(allowed / "plain.csv"), "data.csp_table")
