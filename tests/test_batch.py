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


# --------------------------------------------------------------------------- --area all
# A small force built in the test from the bundled files: Jan 2025 keeps three partnerships'
# rows from the all-Kent sample, two rows in Bexley (a neighbouring force's LSOAs) and the rows
# with no location; Feb 2025 is the bundled Maidstone file (Maidstone plus no-location rows).
KEPT = ("Maidstone ", "Tunbridge Wells ", "Sevenoaks ")
BORDER = "Bexley "


def _street_tree(root: Path, force: str = "kent") -> Path:
    import pandas as pd

    from sa_lib.paths import DATA_DIR

    jan = pd.read_csv(DATA_DIR / "police_uk" / "kent_sample" / "2025-01-kent-street.csv.gz",
                      dtype=str, keep_default_na=False)
    name = jan["LSOA name"]
    keep = name.str.startswith(KEPT) | name.str.startswith(BORDER) | (name == "")
    assert name.str.startswith(BORDER).sum() >= 1  # the sample holds border rows
    feb = pd.read_csv(DATA_DIR / "police_uk" / "maidstone" / "2025-02-kent-street.csv.gz",
                      dtype=str, keep_default_na=False)
    folder = root / "police_uk" / force
    folder.mkdir(parents=True)
    jan[keep].to_csv(folder / f"2025-01-{force}-street.csv", index=False)
    feb.to_csv(folder / f"2025-02-{force}-street.csv", index=False)
    return folder


def _rows_by_prefix(folder: Path) -> dict[str, int]:
    import pandas as pd

    names = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False)["LSOA name"]
                       for f in sorted(folder.glob("*.csv"))])
    return {p: int(names.str.startswith(p).sum()) for p in (*KEPT, BORDER)}


@pytest.fixture
def force_tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SA_EXTRA_DATA_DIRS", str(tmp_path / "extra"))
    monkeypatch.setenv("SA_CACHE_DIR", str(tmp_path / "cache"))
    return _street_tree(tmp_path / "extra")


def _template(tmp_path: Path, police_uk: Path) -> Path:
    raw = yaml.safe_load((PARAMETERS_DIR / "2025.yaml").read_text(encoding="utf-8"))
    raw["data"]["police_uk"] = [str(police_uk)]
    raw["window"] = {"end": "2025-02", "months": 1}  # Feb 2025 against Jan 2025
    raw.pop("comparison")
    params = tmp_path / "force.yaml"
    params.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return params


def test_area_all_finds_the_partnerships_and_not_the_border_rows(force_tree: Path,
                                                                 tmp_path: Path) -> None:
    from sa_lib.data.geography import load_csp_lookup
    from sa_lib.data.police_uk_force import partnerships_in_files, read_force

    found = partnerships_in_files(read_force(force_tree))
    lk = load_csp_lookup()
    code_of = dict(zip(lk["lad_name"], lk["csp_code"], strict=True))
    expected = {code_of[p.strip()]: n for p, n in _rows_by_prefix(force_tree).items()}
    included = found[found["included"]]
    assert dict(zip(included["csp_code"], included["rows"], strict=True)) == {
        code: n for code, n in expected.items() if code != code_of["Bexley"]}
    bexley = found[found["csp_code"] == code_of["Bexley"]].iloc[0]
    assert bexley["rows"] == expected[code_of["Bexley"]] and not bexley["included"]
    assert not bexley["in_force_area"]
    assert found.attrs["rows_no_location"] > 0
    # Files of a force that is no police force area of the lookup (British Transport Police):
    # a partnership needs 1% of the located rows, which the two Bexley rows are not.
    btp = _street_tree(tmp_path / "btp", force="btp")
    found = partnerships_in_files(read_force(btp))
    assert set(found.loc[found["included"], "csp_code"]) == set(expected) - {code_of["Bexley"]}
    assert not found["in_force_area"].any()


def test_one_read_gives_each_area_what_its_own_read_gives(force_tree: Path) -> None:
    import pandas as pd

    from sa_lib.data.police_uk import load_report, read_police_uk
    from sa_lib.data.police_uk_force import area_records, read_force

    force = read_force(force_tree)
    for code in ("E22000142", "E22000149"):
        cut = area_records(force, code)
        own = read_police_uk(force_tree, area=code, cache=False)
        pd.testing.assert_frame_equal(cut, own)
        pd.testing.assert_frame_equal(load_report(cut), load_report(own))
        assert cut.attrs["area"] == own.attrs["area"]


def test_batch_parses_and_reads_each_file_once(force_tree: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture) -> None:
    """Every area's input check and notebook kernels find their records ready: no file is
    read again, and one area's unexpected error stops nothing."""
    import sa_lib.data.police_uk as police_uk
    import sa_lib.data.police_uk_cache as police_uk_cache
    from sa_lib.data.inputs import check_inputs
    from sa_lib.data.parameters import load_parameters
    from sa_lib.data.police_uk import read_police_uk

    monkeypatch.setattr(runner, "OUTPUTS_DIR", tmp_path / "outputs")
    parsed, loaded = [], []
    parse, load = police_uk_cache._parse_csv, police_uk._load_file
    monkeypatch.setattr(police_uk_cache, "_parse_csv",
                        lambda path, *a, **k: parsed.append(path.name) or parse(path, *a, **k))
    monkeypatch.setattr(police_uk, "_load_file",
                        lambda path, *a, **k: loaded.append(path.name) or load(path, *a, **k))

    def area_run(parameters: str, workers: int, replace: bool = False,
                 built_from: str | None = None) -> runner.RunResult:
        params = load_parameters(parameters)
        check_inputs(params)  # what run_assessment does before any kernel starts
        for _ in range(2):  # what each notebook kernel (a fresh process) does
            read_police_uk(params.police_uk_paths(), area=params.area.code)
        if params.area.name == "Sevenoaks":
            raise RuntimeError("planted bug")
        return runner.RunResult(tmp_path / params.area.name)

    monkeypatch.setattr(batch_run, "_run_area", area_run)
    params = _template(tmp_path, force_tree)
    batch = batch_run.run_batch(params, "all", workers=2, progress=False)
    files = sorted(f.name for f in force_tree.glob("*.csv"))
    assert sorted(parsed) == files and sorted(loaded) == files
    assert sorted(batch.results) == ["E22000142", "E22000149"]
    assert batch.unexpected == {"E22000144"}
    assert "RuntimeError: planted bug" in batch.failures["E22000144"]
    page = batch.index.read_text(encoding="utf-8")
    assert "Sevenoaks" in page and "planted bug" in page
    capsys.readouterr()
    rc = main(["run", str(params), "--area", "all", "--no-progress"])
    captured = capsys.readouterr()
    assert rc == 1 and "Traceback" not in captured.err  # an unexpected error exits 1
    assert sorted(parsed) == files  # the second batch parses nothing


class _IndexRows:
    """The body rows of an index page: name, links, and the text of the last cell."""

    def __init__(self, page: str) -> None:
        from html.parser import HTMLParser

        rows: list[dict] = []
        self.attrs: dict[str, list[dict]] = {}

        class Parser(HTMLParser):
            cell: list[str] | None = None
            in_body = False

            def handle_starttag(self, tag: str, attrs: list) -> None:
                outer.attrs.setdefault(tag, []).append(dict(attrs))
                if tag == "tbody":
                    self.in_body = True
                elif tag == "tr" and self.in_body:
                    rows.append({"cells": [], "links": []})
                elif tag in ("td", "th") and self.in_body:
                    self.cell = []
                elif tag == "a" and self.in_body:
                    rows[-1]["links"].append(dict(attrs)["href"])

            def handle_endtag(self, tag: str) -> None:
                if tag in ("td", "th") and self.in_body and self.cell is not None:
                    rows[-1]["cells"].append("".join(self.cell).strip())
                    self.cell = None

            def handle_data(self, data: str) -> None:
                if self.cell is not None:
                    self.cell.append(data)

        outer = self
        Parser().feed(page)
        self.rows = {r["cells"][0]: r for r in rows}


@pytest.fixture
def two_notebooks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    nb_dir = tmp_path / "notebooks"
    nb_dir.mkdir()
    for nb in runner.report_notebooks()[:2]:  # data quality, and total crime (crime_change)
        shutil.copy(nb, nb_dir)
    monkeypatch.setattr(runner, "NOTEBOOKS_DIR", nb_dir)
    monkeypatch.setattr(execute, "NOTEBOOKS_DIR", nb_dir)
    monkeypatch.setattr(runner, "OUTPUTS_DIR", tmp_path / "outputs")
    return tmp_path / "outputs"


def test_area_all_builds_every_partnership_and_the_index_page(
        force_tree: Path, two_notebooks: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    import csv

    from sa_lib.errors import SAError

    real = batch_run._run_area

    def planted(parameters: str, workers: int, replace: bool = False,
                built_from: str | None = None) -> runner.RunResult:
        if Path(parameters).stem == "sevenoaks":
            raise SAError("planted failure: Sevenoaks has no usable data")
        return real(parameters, workers, replace, built_from)

    monkeypatch.setattr(batch_run, "_run_area", planted)
    rc = main(["run", str(_template(tmp_path, force_tree)), "--area", "all", "--no-progress",
               "--workers", "2"])
    out, err = capsys.readouterr()
    assert rc == 2 and "Traceback" not in err
    counts = _rows_by_prefix(force_tree)
    plan = out[:out.index("built ") if "built " in out else len(out)]
    assert "3 partnership(s) to build" in plan
    for prefix in KEPT:  # listed before building, with their records
        assert any(prefix.strip() in line and f"{counts[prefix]:,}" in line
                   for line in plan.splitlines())
    assert "left out:" in plan and "Bexley" in plan
    assert "FAILED Sevenoaks (E22000144)" in err or "FAILED Sevenoaks (E22000144)" in out
    index = two_notebooks / "index.html"
    page = index.read_text(encoding="utf-8")
    parsed = _IndexRows(page)
    assert parsed.attrs["html"][0]["lang"] == "en" and "<title>" in page
    assert "caption" in parsed.attrs and all(th.get("scope") for th in parsed.attrs["th"])
    assert "script" not in parsed.attrs and "http" not in page
    assert set(parsed.rows) == {"Maidstone", "Tunbridge Wells", "Sevenoaks"}
    assert "planted failure: Sevenoaks has no usable data" in parsed.rows["Sevenoaks"]["cells"][-1]
    assert parsed.rows["Sevenoaks"]["links"] == []
    for name, slug in (("Maidstone", "maidstone"), ("Tunbridge Wells", "tunbridge-wells")):
        row = parsed.rows[name]
        assert [link.split("/")[-2] for link in row["links"]] == ["official", "public"]
        assert all((index.parent / link).is_file() for link in row["links"])
        with (two_notebooks / slug / "2025-02_2025-02" / "official" / "tables"
              / "crime_change.csv").open(encoding="utf-8", newline="") as fh:
            table = list(csv.reader(fh))
        total = next(r for r in table if r[0].startswith("Total crime"))
        headline = row["cells"][-1]
        assert f"{int(total[1]):,} ({table[0][1]})" in headline
        assert f"{int(total[2]):,} ({table[0][2]})" in headline
        assert total[table[0].index("significance")] in headline
