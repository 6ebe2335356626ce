"""Batch runs: many areas from one parameters file, on local threads or a Dask cluster.

To stay quick these tests run only the first notebook of the series, on the
bundled all-Kent sample month (Jan 2025).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

import sa_lib.run.batch as batch_run
import sa_lib.run.execute as execute
import sa_lib.run.runner as runner
from sa_lib.paths import PARAMETERS_DIR
from sa_lib.run.cli import main

AREAS = ["E22000142", "E22000149"]  # Maidstone, Tunbridge Wells


@pytest.fixture
def one_notebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    shutil.copy(runner.report_notebooks()[0], nb_dir)
    out = tmp_path / "outputs"
    monkeypatch.setattr(runner, "NOTEBOOKS_DIR", nb_dir)
    monkeypatch.setattr(execute, "NOTEBOOKS_DIR", nb_dir)
    monkeypatch.setattr(runner, "OUTPUTS_DIR", out)
    raw = yaml.safe_load((PARAMETERS_DIR / "2025.yaml").read_text(encoding="utf-8"))
    raw["data"]["police_uk"] = ["data/police_uk/kent_sample"]
    raw["window"] = {"end": "2025-01", "months": 1}
    raw.pop("comparison")
    params = tmp_path / "kent.yaml"
    params.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return params


def _check(batch: batch_run.BatchResult, out: Path) -> None:
    assert not batch.failures, batch.failures
    assert sorted(batch.results) == sorted(AREAS)
    for slug in ("maidstone", "tunbridge-wells"):
        page = out / slug / "2025-01_2025-01" / "official" / "report.html"
        assert page.exists()
    tw = (out / "tunbridge-wells" / "2025-01_2025-01" / "official" / "report.html").read_text()
    assert "Tunbridge Wells" in tw and "E22000149" in tw


def test_batch_on_threads_builds_every_area(one_notebook: Path) -> None:
    batch = batch_run.run_batch(one_notebook, AREAS, workers=2, progress=False)
    _check(batch, runner.OUTPUTS_DIR)


def test_batch_on_a_local_dask_cluster(one_notebook: Path) -> None:
    distributed = pytest.importorskip("distributed")
    # In-process workers, so the test's notebook folder applies to them too.
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        batch = batch_run.run_batch(one_notebook, AREAS, scheduler="dask",
                                 dask_address=cluster.scheduler_address, progress=False)
    _check(batch, runner.OUTPUTS_DIR)


def test_batch_keeps_going_when_one_area_has_no_data(one_notebook: Path,
                                                     capsys: pytest.CaptureFixture) -> None:
    # Medway's records are in the Kent files too, but a made-up area has none: it fails alone.
    batch = batch_run.run_batch(one_notebook, ["E22000142", "E22000143"], workers=2, progress=False)
    assert "E22000142" in batch.results
    rc = main(["run", str(one_notebook), "--area", "E22000142", "--area", "E99999999",
               "--no-progress"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "E99999999" in err and "Traceback" not in err


def test_batch_refused_before_any_area_runs(one_notebook: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture) -> None:
    """A shared output folder, a district code or an unknown code refuses the whole batch."""
    from sa_lib.errors import SAError

    def no_run(*args: object, **kwargs: object) -> None:
        raise AssertionError("an area ran although the batch should have been refused")

    monkeypatch.setattr(batch_run, "_run_area", no_run)
    # Maidstone's CSP and Maidstone district would both write outputs/maidstone/.
    with pytest.raises(SAError) as info:
        batch_run.run_batch(one_notebook, ["E22000142", "E07000110", "E99999999"], workers=2,
                            progress=False)
    message = str(info.value)
    assert "no area was run" in message
    assert "E22000142 (Maidstone) and E07000110 (Maidstone) would both write outputs/maidstone/" \
        in message
    assert "E07000110 is the local authority code of Maidstone" in message
    assert "expected its CSP's code E22000142" in message
    assert "'E99999999' is not a CSP code" in message
    assert not runner.OUTPUTS_DIR.exists()
    rc = main(["run", str(one_notebook), "--area", "E22000149", "--area", "E07000110",
               "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("error:") == 1 and "Traceback" not in err
    assert "E07000110" in err and "E22000149" not in err
    assert not runner.OUTPUTS_DIR.exists()
