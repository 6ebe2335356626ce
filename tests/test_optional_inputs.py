"""Every input but police.uk is optional (issue #12, items 2 and 3).

Parameters files written in a temporary folder (named in ``$SA_EXTRA_DATA_DIRS``), based on
``parameters/2025.yaml`` with an input taken away: no ``data.partner``, an empty partner
folder, no MoRiLE sheets, no action plan or survey, no Home Office table, and the minimal
file ``sa init`` writes when nothing but police.uk exists.  Each opens, every call the
notebooks make runs (the notebooks' own code cells, executed), and the chapter that lacks
the input says so in one sentence.  The Home Office table nearest the review window is
chosen among tables built here from the bundled one with their title's period changed.
"""

from __future__ import annotations

import ast
import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml

import sa_lib as sa
import sa_lib.run.runner as runner
from sa_lib.data.home_office import CSP_TABLE, nearest_csp_table, period_end_month
from sa_lib.data.inputs import absent_inputs, check_inputs, csp_table_choice
from sa_lib.data.parameters import load_parameters
from sa_lib.errors import DataValidationError, ParameterError
from sa_lib.paths import DATA_DIR, NOTEBOOKS_DIR, PARAMETERS_DIR, PROJECT_ROOT

SYN = DATA_DIR / "synthetic"
BASE = yaml.safe_load((PARAMETERS_DIR / "2025.yaml").read_text(encoding="utf-8"))
NO_PARTNER = "No partner returns were given (data.partner)"
NO_MORILE = "No MoRiLE scoring sheets were given (data.morile_sheets)"
NO_TABLE = "No Home Office table was given (data.csp_table is null)"
NO_PLAN = "No action-plan return was found"
NO_SURVEY = "No residents' survey return was found (data.partner)"


def _plain(x: object) -> str:
    """Displayed text without Markdown escapes."""
    return str(getattr(x, "data", x)).replace("\\", "")


@pytest.fixture(scope="module")
def extra_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("optional_inputs").resolve()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SA_EXTRA_DATA_DIRS", str(root))
        yield root


def _write(root: Path, name: str, change: Callable[[dict, Path], None]) -> Path:
    """parameters/2025.yaml with absolute paths and a copy of the synthetic returns, edited."""
    folder = root / name
    partner = folder / "partner"
    shutil.copytree(SYN, partner)
    raw = yaml.safe_load(yaml.safe_dump(BASE))
    raw["data"]["partner"] = str(partner)
    raw["data"]["morile_sheets"] = str(partner)
    for key in ("morile_scales", "csp_table", "population"):
        raw["data"][key] = str(PROJECT_ROOT / raw["data"][key])
    raw["data"]["police_uk"] = [str(PROJECT_ROOT / p) for p in raw["data"]["police_uk"]]
    change(raw, partner)
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def _minimal(root: Path) -> Path:
    """The file ``sa init`` writes when only police.uk exists (its contract with this change)."""
    text = f"""\
year: 2025
title: Strategic Assessment 2025
run_date: 2026-01-15
area: {{code: E22000142, name: Maidstone}}
window: {{end: "2025-12", months: 12}}
data:
  police_uk: [{PROJECT_ROOT / "data/police_uk/maidstone"}]
themes:
  - name: Violence and sexual offences
    crime_types: [Violence and sexual offences]
  - name: Acquisitive crime
    crime_types: [Burglary, Robbery, Vehicle crime, Shoplifting]
  - name: Anti-social behaviour
    crime_types: [Anti-social behaviour]
"""
    (root / "minimal").mkdir(exist_ok=True)
    path = root / "minimal" / "minimal.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _notebook_cells() -> list[tuple[str, str]]:
    """Every code cell of the report notebooks after their parameters cell, in order."""
    out = []
    for nb in sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        code = [c for c in cells if c["cell_type"] == "code"]
        out += [(nb.name, "".join(c["source"])) for c in code
                if "parameters" not in c.get("metadata", {}).get("tags", [])]
    return out


def _cells_with_import(params: Path) -> str:
    """Run every notebook's cells on ``params`` (nothing written); the text the cells show.

    The cells of one notebook share a namespace (each notebook opens the assessment
    itself); a cell's last expression is what the notebook shows.
    """
    out, spaces = [], {}
    for name, src in _notebook_cells():
        ns = spaces.setdefault(name, {"parameters_file": str(params), "audience": "official",
                                      "output_dir": ""})
        tree = ast.parse(src)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, name, "exec"), ns)  # the project's own notebooks
        if last is not None:
            value = eval(compile(ast.Expression(last.value), name, "eval"), ns)
            if value is not None:
                out.append(_plain(value))
    return "\n".join(out)


def _no_nan_words(text: str) -> None:
    for word in (" nan", "nan%", "NaN", "<NA>", " None"):
        assert word not in text, word


# ------------------------------------------------------------------------------- parameters
def test_minimal_file_validates_and_builds(extra_dirs: Path) -> None:
    path = _minimal(extra_dirs)
    params = load_parameters(path)
    assert params.data.partner is None and params.data.morile_sheets is None
    assert params.input_paths("partner") == [] and params.input_paths("morile_sheets") == []
    assert params.data.csp_table is not None  # absent: the bundled table, as before
    check_inputs(params)
    assert absent_inputs(params) == ["partner", "morile_sheets"]
    text = _cells_with_import(path)
    _no_nan_words(text)
    assert NO_PARTNER in text and NO_MORILE in text
    ctx = sa.open_assessment(path)
    # No MoRiLE, no priorities section: the priority matrix scores the file's themes from
    # their police.uk totals; perception and influence are missing and said to be.
    scores = ctx.priorities.priority_scores.set_index("theme")
    assert list(scores.index) == [t.name for t in ctx.params.themes]
    assert scores.loc["Acquisitive crime", "measure"] == "Acquisitive crime: all types"
    assert (scores["perception"] == 3).all() and (scores["influence"] == 3).all()
    note = ctx.priorities.priority_matrix_table().note
    assert "No perception or influence scores are given" in note
    rec = ctx.priorities.recommendations_table()
    assert "MoRiLE rank" not in rec.df.columns and "priority matrix alone" in rec.note
    assert set(rec.df["theme"]) == set(scores.index)
    assert ctx.priorities.morile_table() is None and ctx.priorities.morile_heatmap_chart() is None
    findings = _plain(ctx.summary.key_findings())
    assert "Read with care" in findings and NO_PARTNER in findings and NO_MORILE in findings


def test_null_keys_and_an_empty_list(extra_dirs: Path) -> None:
    def nulls(raw: dict, partner: Path) -> None:
        raw["data"].update(partner=None, morile_sheets=None, morile_scales=None, csp_table=None)

    params = load_parameters(_write(extra_dirs, "nulls", nulls))
    assert params.data.morile_scales == "parameters/morile_scales.yaml"  # the bundled scales
    assert params.input_paths("csp_table") == [] and csp_table_choice(params) is None
    check_inputs(params)
    assert absent_inputs(params) == ["partner", "morile_sheets", "csp_table"]

    def empty_list(raw: dict, partner: Path) -> None:
        raw["data"]["csp_table"] = []

    with pytest.raises(ParameterError, match=r"data\.csp_table: is an empty list"):
        load_parameters(_write(extra_dirs, "empty_list", empty_list))


def test_unknown_measure_is_still_an_error_without_partner_data(extra_dirs: Path) -> None:
    """A measure nobody defines is an error; a defined one with no return is missing input."""
    def change(raw: dict, partner: Path) -> None:
        del raw["data"]["partner"]
        raw["priorities"]["measures"]["Domestic abuse"] = "Domestic abuse incidentz"

    with pytest.raises(ParameterError, match="Domestic abuse incidentz"):
        load_parameters(_write(extra_dirs, "unknown_measure", change))


def test_a_missing_folder_is_still_an_error(extra_dirs: Path) -> None:
    def change(raw: dict, partner: Path) -> None:
        raw["data"]["partner"] = str(partner.parent / "no_such_folder")

    with pytest.raises(ParameterError, match=r"data\.partner: .* does not exist"):
        load_parameters(_write(extra_dirs, "no_folder", change))


# ------------------------------------------------------------------------------ no partner
@pytest.fixture(scope="module", params=["absent", "empty_folder"])
def no_partner(request: pytest.FixtureRequest, extra_dirs: Path) -> Path:
    def change(raw: dict, partner: Path) -> None:
        # MoRiLE sheets stay, in a folder of their own.
        morile = partner.parent / "morile"
        morile.mkdir()
        for f in partner.glob("*morile*.csv"):
            shutil.move(f, morile / f.name)
        raw["data"]["morile_sheets"] = str(morile)
        if request.param == "absent":
            del raw["data"]["partner"]
        else:
            for f in partner.iterdir():
                f.unlink()

    return _write(extra_dirs, f"no_partner_{request.param}", change)


def test_no_partner_data_every_chapter_says_so(no_partner: Path) -> None:
    params = load_parameters(no_partner)
    check_inputs(params)  # priorities and review naming partner measures are not errors
    assert absent_inputs(params) == ["partner"]
    text = _cells_with_import(no_partner)
    _no_nan_words(text)
    ctx = sa.open_assessment(no_partner)
    # Chapter 1: no partner table, the list of what is missing.
    assert ctx.sources.partner_sources_table() is None
    assert NO_PARTNER in _plain(ctx.sources.partner_sources_text())
    assert ctx.sources.partner_gaps() == []
    # Chapter 3: police.uk parts stay; partner tables and charts give way to one sentence.
    theme = "Violence and domestic abuse"
    assert ctx.themes.theme_crime_tables(theme)
    assert ctx.themes.theme_partner_tables(theme) == []
    assert ctx.themes.theme_partner_charts(theme) == []
    said = _plain(ctx.themes.theme_partner_text(theme))
    assert said.count(".") >= 1 and said.startswith(f"*{NO_PARTNER}, so this theme shows "
                                                    "police.uk data only")
    road = _plain(ctx.themes.theme_partner_text("Road safety"))
    assert "this theme has no figures (KSI casualties is a partner measure)" in road
    assert [n for n, _ in ctx.themes.theme_charts("Road safety")] == []
    # Chapter 4: one sentence, no table or chart.
    assert ctx.review.review_tables() == [] and ctx.review.review_charts() == []
    assert NO_PARTNER in _plain(ctx.review.review_text())
    # Chapter 5: partner measures score the neutral 3 and say so; MoRiLE is there.
    scores = ctx.priorities.priority_scores.set_index("theme")
    assert scores.loc["Domestic abuse", "volume basis"].startswith("no data for Jan 2025 – Dec 2025")
    assert ctx.priorities.morile_table() is not None
    assert "Domestic abuse (volume and trend)" in ctx.priorities.priority_matrix_table().note
    # Chapter 6.
    findings = _plain(ctx.summary.key_findings())
    assert "**Road safety:** no figures (no partner returns were given)." in findings
    assert "no partner returns were given (data.partner)" in findings
    assert "Read with care" in findings  # the summary's one caveat box


# ---------------------------------------------------------------- no MoRiLE, plan, survey
def test_no_morile_sheets(extra_dirs: Path) -> None:
    def change(raw: dict, partner: Path) -> None:
        for f in partner.glob("*morile*.csv"):
            f.unlink()  # the key names a folder with no sheet: the same as absent

    path = _write(extra_dirs, "no_morile", change)
    params = load_parameters(path)
    check_inputs(params)
    assert absent_inputs(params) == ["morile_sheets"]
    text = _cells_with_import(path)
    _no_nan_words(text)
    ctx = sa.open_assessment(path)
    p = ctx.priorities
    assert not p.has_morile and not p.morile_synthetic
    assert _plain(p.morile_text()).startswith(f"*{NO_MORILE}, so the themes are ranked by the "
                                              "priority matrix alone")
    # The priority matrix alone, on the priorities section's themes.
    pr = ctx.params.priorities
    assert set(p.priority_scores["theme"]) == set(pr.perception)
    rec = p.recommendations
    ranked = p.priority_ranked.set_index("theme")["rank"]
    assert (rec.set_index("theme")["combined_rank"] == ranked.reindex(rec["theme"])).all()
    assert set(rec.loc[rec["recommendation"] == "cross-cutting theme", "theme"]) == \
        set(pr.cross_cutting)
    assert "Ranked by the priority matrix alone: no MoRiLE scoring sheets were given" in \
        _plain(p.recommendations_text())


def test_no_action_plan_and_no_survey(extra_dirs: Path) -> None:
    def change(raw: dict, partner: Path) -> None:
        (partner / "synthetic_action_plan.csv").unlink()
        (partner / "synthetic_resident_survey.csv").unlink()

    path = _write(extra_dirs, "no_plan_survey", change)
    params = load_parameters(path)
    check_inputs(params)
    assert absent_inputs(params) == ["action_plan", "resident_survey"]
    text = _cells_with_import(path)
    _no_nan_words(text)
    assert NO_PLAN in text and NO_SURVEY in text
    ctx = sa.open_assessment(path)
    assert ctx.review.review_tables() == [] and ctx.review.review_charts() == []
    assert ctx.sources.partner_sources_table() is not None


# ------------------------------------------------------------------------- Home Office table
def test_no_csp_table(extra_dirs: Path) -> None:
    def change(raw: dict, partner: Path) -> None:
        raw["data"]["csp_table"] = None

    path = _write(extra_dirs, "no_table", change)
    ctx = sa.open_assessment(path)
    said = _plain(ctx.crime.csp_comparison_text())
    assert said.startswith(f"{NO_TABLE}, so Maidstone is not compared with the other "
                           "partnerships in England and Wales")
    assert ctx.crime.csp_funnel_chart() is None
    assert ctx.publish.chart(ctx.crime.csp_funnel_chart(), "funnel_csp_rates") is None
    assert ctx.crime.crime_rates()["crime type"].notna().all()  # the area's own rates stay
    text = _cells_with_import(path)
    _no_nan_words(text)
    assert NO_TABLE in _plain(ctx.summary.key_findings())


def _table_for(folder: Path, month_year: str) -> Path:
    """The bundled Table C2 with its title's period changed to ``year ending <month_year>``."""
    folder.mkdir(parents=True, exist_ok=True)
    text = CSP_TABLE.read_bytes().decode("utf-8")
    assert "year ending June 2025" in text.splitlines()[0]
    first, rest = text.split("\n", 1)
    out = folder / f"table_c2_{month_year.replace(' ', '_').lower()}.csv"
    out.write_bytes((first.replace("year ending June 2025", f"year ending {month_year}")
                     + "\n" + rest).encode("utf-8"))
    return out


def test_nearest_table_is_chosen(tmp_path: Path) -> None:
    for when in ("March 2021", "June 2022", "March 2023", "June 2025"):
        _table_for(tmp_path, when)
    pick = lambda end: nearest_csp_table([tmp_path], pd.Period(end, "M"))[1]  # noqa: E731
    assert pick("2022-10") == "year ending June 2022"       # 4 months before vs 5 after
    assert pick("2022-12") == "year ending March 2023"      # 3 after vs 6 before
    assert pick("2024-01") == "year ending March 2023"      # 10 before vs 17 after
    assert pick("2019-01") == "year ending March 2021"
    assert pick("2025-12") == "year ending June 2025"
    # A tie goes to the earlier table (months the report reviews).
    tie = tmp_path / "tie"
    _table_for(tie, "June 2022")
    _table_for(tie, "December 2022")
    assert nearest_csp_table([tie], pd.Period("2022-09", "M"))[1] == "year ending June 2022"
    assert period_end_month("year ending March 2023") == pd.Period("2023-03", "M")
    (tmp_path / "empty").mkdir()
    assert nearest_csp_table([tmp_path / "empty"], pd.Period("2022-10", "M")) is None


def test_a_table_without_a_period_is_refused_among_several(tmp_path: Path) -> None:
    _table_for(tmp_path, "June 2022")
    bad = tmp_path / "no_period.csv"
    lines = CSP_TABLE.read_text(encoding="utf-8").split("\n", 1)
    bad.write_text("Table C2 by partnership\n" + lines[1], encoding="utf-8")
    with pytest.raises(DataValidationError, match="no_period.csv.*title line names no period"):
        nearest_csp_table([tmp_path], pd.Period("2022-10", "M"))


def test_table_of_another_year_is_said_plainly(extra_dirs: Path) -> None:
    tables = extra_dirs / "tables"
    far = _table_for(tables / "far", "June 2025")
    near = _table_for(tables / "near", "March 2025")

    def one_far(raw: dict, partner: Path) -> None:
        raw["data"]["csp_table"] = str(far)
        raw["window"]["end"] = "2025-06"  # the table's own year: nothing to say
        raw["comparison"] = None

    ctx = sa.open_assessment(_write(extra_dirs, "same_year", one_far))
    assert ctx.crime.csp_time_base() == ""

    def several(raw: dict, partner: Path) -> None:
        raw["data"]["csp_table"] = [str(tables / "far"), str(near)]
        raw["window"]["end"] = "2024-04"
        raw["comparison"] = None
        raw["run_date"] = "2024-05-20"

    path = _write(extra_dirs, "other_year", several)
    params = load_parameters(path)
    assert csp_table_choice(params) == (near, "year ending March 2025")
    ctx = sa.open_assessment(path)
    sentence = ctx.crime.csp_time_base()
    year = int(ctx.crime.csp_comparison.attrs["population_year"])
    assert sentence == ("The Home Office table nearest this review window is for the year "
                        "ending March 2025, 11 months after the review window ends (April "
                        "2024); this comparison describes that year, not the review window, and "
                        f"its rates use the mid-{year} population, the table's year.")
    assert year == 2024  # Apr 2024 - Mar 2025: its middle month is in 2024
    assert _plain(ctx.crime.csp_comparison_text()).startswith(sentence)
    texts = " ".join(t.get_text() for t in ctx.crime.csp_funnel_chart().figure.texts)
    assert "Table for the year ending March 2025, not the review window (May 2023 – Apr 2024)" \
        in texts


def test_bundled_file_keeps_its_wording() -> None:
    """Maidstone's window ends within 6 months of the table's: no time-base clause."""
    ctx = sa.open_assessment("parameters/2025.yaml")
    assert ctx.context.absent == []
    assert ctx.crime.csp_time_base() == ""
    assert "Inputs not given" not in _plain(ctx.sources.partner_sources_text())


# ---------------------------------------------------------------------------------- sa run
def test_sa_run_with_every_optional_input_absent(extra_dirs: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from sa_lib.run.cli import main

    path = _minimal(extra_dirs)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["data"]["csp_table"] = None
    bare = path.with_name("bare.yaml")
    bare.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    monkeypatch.setattr(runner, "OUTPUTS_DIR", tmp_path / "outputs")
    monkeypatch.chdir(Path.cwd())
    assert main(["run", str(bare)]) == 0
    html = next((tmp_path / "outputs").rglob("official/report.html")).read_text(encoding="utf-8")
    for said in (NO_PARTNER, NO_MORILE, NO_TABLE):
        assert said in html, said
    assert "Read with care" in html
    tables = {p.name for p in (tmp_path / "outputs").rglob("official/tables/*.csv")}
    assert "priority_matrix.csv" in tables and "recommended_priorities.csv" in tables
    assert not {"morile.csv", "sources_partner.csv"} & tables


def test_morile_sheets_without_a_priorities_section(extra_dirs: Path) -> None:
    """MoRiLE given, no priorities section: the MoRiLE themes, every factor missing and named."""
    def change(raw: dict, partner: Path) -> None:
        del raw["priorities"]
        raw["review"] = {"indicators": {}}

    path = _write(extra_dirs, "morile_only", change)
    check_inputs(load_parameters(path))
    ctx = sa.open_assessment(path)
    p = ctx.priorities
    scores = p.priority_scores
    assert set(scores["theme"]) == set(p.morile_ranked["theme"])
    assert (scores[["volume", "trend", "perception", "influence"]] == 3).all().all()
    assert set(p.missing_scores()) == set(scores["theme"])
    assert "No perception or influence scores are given" in p.priority_matrix_table().note
    # The matrix ties every theme, so the MoRiLE ranks decide.
    rec = p.recommendations.set_index("theme")
    assert (rec["matrix_rank"] == 1).all()
    assert (rec["morile_rank"].rank(method="min") == rec["combined_rank"]).all()
    _no_nan_words(_plain(ctx.summary.key_findings()))
