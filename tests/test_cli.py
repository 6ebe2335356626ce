"""The sa command line: synth and validate, with clear messages and exit codes."""

from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

import pytest

from sa_lib.paths import DATA_DIR, PROJECT_ROOT
from sa_lib.run.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "partner"


def test_synth_is_deterministic_and_matches_bundled_data(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture) -> None:
    assert main(["synth", "--seed", "2025", "--out", str(tmp_path)]) == 0
    assert "SYNTHETIC" in capsys.readouterr().out
    bundled = sorted(p.name for p in (DATA_DIR / "synthetic").glob("*.csv"))
    assert bundled == sorted(p.name for p in tmp_path.glob("*.csv"))
    for name in bundled:  # data/synthetic is exactly `sa synth --seed 2025`
        assert filecmp.cmp(tmp_path / name, DATA_DIR / "synthetic" / name, shallow=False), name


def test_validate_good_file(capsys: pytest.CaptureFixture) -> None:
    assert main(["validate", str(FIXTURES / "good_domestic_abuse.csv"), "--kind",
                 "domestic_abuse"]) == 0
    assert "OK" in capsys.readouterr().out


def test_validate_bad_file_lists_every_problem(capsys: pytest.CaptureFixture) -> None:
    code = main(["validate", str(FIXTURES / "bad_domestic_abuse_many.csv"), "--kind",
                 "domestic_abuse"])
    err = capsys.readouterr().err
    assert code == 2
    assert "bad_domestic_abuse_many.csv" in err and "row " in err and "column" in err
    assert "Traceback" not in err


def test_validate_unknown_kind(capsys: pytest.CaptureFixture) -> None:
    assert main(["validate", str(FIXTURES / "good_ksi.csv"), "--kind", "nope"]) == 2
    assert "not a partner data kind" in capsys.readouterr().err


def test_console_script_exit_code_from_a_real_process(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    proc = subprocess.run([sys.executable, "-m", "sa_lib.run.cli", "validate", str(missing),
                           "--kind", "ksi"], capture_output=True, text=True, cwd=PROJECT_ROOT)
    assert proc.returncode == 2
    assert str(missing) in proc.stderr and "Traceback" not in proc.stderr
