"""Partial partner data never crash the report (issue #16, item 2).

Partner returns that end before the review window ends, an annual return in a window that
is not a calendar year, an action plan without the review year or with no file at all: every
chapter still builds, a measure with no value reads "no data for <window>" (never NaN), the
chapters name the returns that end early, and the priority matrix scores what cannot be
measured as a neutral 3 and says so.

The inputs are the bundled synthetic returns copied into a temporary folder (named in
``$SA_EXTRA_DATA_DIRS``, as tests/test_bad_inputs.py does) with rows cut off.
"""

from __future__ import annotations

import csv
import math
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml

import sa_lib as sa
import sa_lib.run.runner as runner
from sa_lib.paths import DATA_DIR, PARAMETERS_DIR, PROJECT_ROOT
from sa_lib.report.chapters.common import TableSpec

SYN = DATA_DIR / "synthetic"
BASE = yaml.safe_load((PARAMETERS_DIR / "2025.yaml").read_text(encoding="utf-8"))
#: The domestic abuse and council ASB returns lose Oct-Dec 2025; the KSI return is kept.
TRUNCATED = ("synthetic_domestic_abuse.csv", "synthetic_asb_council.csv")
UNKNOWN_INDICATOR = "Hate crime reports"


def _month(date: str) -> str:
    """yyyy-mm of a return's date cell (ISO or dd/mm/yyyy)."""
    if "/" in date:
        _, mm, yyyy = date.split("/")
        return f"{yyyy}-{mm}"
    return date[:7]


def _truncate(path: Path, last: str) -> int:
    """Drop the rows of an incident return dated after month ``last``; how many were dropped."""
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    keep = [r for r in rows if _month(r["date"]) <= last]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(keep)
    return len(rows) - len(keep)


def _inputs(root: Path, change: Callable[[dict, Path], None]) -> Path:
    """A copy of the synthetic returns and of parameters/2025.yaml pointed at it, edited."""
    partner = root / "partner"
    shutil.copytree(SYN, partner)
    raw = yaml.safe_load(yaml.safe_dump(BASE))
    raw["data"]["partner"] = str(partner)
    raw["data"]["morile_sheets"] = str(partner)
    for key in ("morile_scales", "csp_table", "population"):
        raw["data"][key] = str(PROJECT_ROOT / raw["data"][key])
    raw["data"]["police_uk"] = [str(PROJECT_ROOT / p) for p in raw["data"]["police_uk"]]
    change(raw, partner)
    path = root / "partial.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def _truncated_returns(raw: dict, partner: Path) -> None:
    for name in TRUNCATED:
        assert _truncate(partner / name, "2025-09") > 0
    # An indicator the action plan does not hold: named, left out, no crash.
    raw["review"]["indicators"][UNKNOWN_INDICATOR] = {"measure": "Needle finds",
                                                     "monthly_target": 10}


@pytest.fixture(scope="module")
def extra_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder for the copied inputs, allowed through $SA_EXTRA_DATA_DIRS."""
    root = tmp_path_factory.mktemp("partial_inputs").resolve()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SA_EXTRA_DATA_DIRS", str(root))
        yield root


@pytest.fixture(scope="module")
def truncated_params(extra_dirs: Path) -> Path:
    root = extra_dirs / "truncated"
    root.mkdir()
    return _inputs(root, _truncated_returns)


def _scenario(extra_dirs: Path, name: str, change: Callable[[dict, Path], None]) -> sa.Assessment:
    root = extra_dirs / name
    root.mkdir()
    return sa.open_assessment(_inputs(root, change))


def _text(x: object) -> str:
    return str(getattr(x, "data", x))


def _table_cells(spec: TableSpec | pd.DataFrame) -> list[object]:
    df = spec.df if isinstance(spec, TableSpec) else spec
    return [v for col in df.columns for v in df[col].tolist()]


def _every_chapter(ctx: sa.Assessment) -> tuple[str, list[TableSpec]]:
    """Call every chapter method a notebook calls; all prose joined, and every table."""
    texts, tables = [], []
    s = ctx.sources
    texts += [_text(s.coverage_text()), _text(s.quality_text()), _text(s.partner_sources_text())]
    tables += [s.partner_sources_table()]
    s.quality_table()
    s.sources_table()
    ctx.themes.theme_chapters()  # displays and publishes (nothing is written: no output_dir)
    for t in ctx.params.themes:
        texts += [_text(ctx.themes.theme_crime_text(t.name)),
                  _text(ctx.themes.theme_partner_text(t.name))]
        tables += ctx.themes.theme_crime_tables(t.name) + ctx.themes.theme_partner_tables(t.name)
        ctx.themes.theme_charts(t.name)
    r = ctx.review
    texts += [_text(r.review_text()), r.review_summary_text()]
    tables += r.review_tables()
    r.review_charts()
    p = ctx.priorities
    texts += [_text(p.morile_text()), _text(p.recommendations_text())]
    tables += [p.morile_table(), p.priority_matrix_table(), p.recommendations_table()]
    p.morile_heatmap_chart()
    p.priority_matrix_chart()
    texts.append(_text(ctx.summary.key_findings()))
    return "\n".join(texts), tables


def _no_nan_words(text: str) -> None:
    for word in (" nan", "nan%", "NaN", "<NA>"):
        assert word not in text, word


# --------------------------------------------------------------------------- returns end early
@pytest.fixture(scope="module")
def truncated(truncated_params: Path) -> sa.Assessment:
    return sa.open_assessment(truncated_params)


@pytest.fixture(scope="module")
def truncated_outputs(truncated: sa.Assessment) -> tuple[str, list[TableSpec]]:
    return _every_chapter(truncated)


def test_every_chapter_builds_and_says_no_data(truncated_outputs) -> None:
    text, _ = truncated_outputs
    _no_nan_words(text)
    assert "Domestic abuse incidents (SYNTHETIC): no data for Jan 2025 – Dec 2025" \
        in text.replace("\\", "")
    assert "Council ASB incidents (SYNTHETIC): no data for Jan 2025 – Dec 2025" \
        in text.replace("\\", "")


def test_sources_chapter_names_the_returns_that_end_early(truncated) -> None:
    gaps = truncated.sources.partner_gaps()
    assert len(gaps) == 2
    da = next(g for g in gaps if "domestic abuse return" in g)
    assert "synthetic_domestic_abuse.csv" in da
    assert "ends in Sep 2025, 3 months before the review window ends" in da
    assert "no data for Jan 2025 – Dec 2025" in da
    assert "Domestic abuse repeat rate" in da
    asb = next(g for g in gaps if "asb council return" in g)
    assert "ends in Sep 2025" in asb and "Council ASB incidents" in asb
    text = truncated.sources.partner_sources_text().data.replace("\\", "")
    assert "ends in Sep 2025, 3 months before the review window ends" in text


def test_themes_chapter_names_the_gap_and_tables_say_no_data(truncated) -> None:
    text = truncated.themes.theme_partner_text("Violence and domestic abuse").data.replace("\\", "")
    assert "The domestic abuse return (synthetic_domestic_abuse.csv) ends in Sep 2025" in text
    # SPC uses the months that exist, and says which: the latest is Sep 2025, not Dec.
    assert ("In September 2025, the monthly figure for Domestic abuse incidents was "
            in text)
    assert "(the latest month with figures; none for Oct 2025 – Dec 2025). Over Jan 2025 – " \
        "Dec 2025: " in text
    specs = {s.name: s for s in truncated.themes.theme_partner_tables("Violence and domestic abuse")}
    counts = specs["theme_violence_and_domestic_abuse_partner"].df.set_index("measure")
    da = counts.loc["Domestic abuse incidents"]
    assert da["significance"] == "no data for Jan 2025 – Dec 2025"
    assert pd.isna(da["Jan 2025 – Dec 2025"]) and da["Jan 2024 – Dec 2024"] > 0
    assert counts.loc["One-stop-shop visits", "significance"] != "no data for Jan 2025 – Dec 2025"
    rates = specs["theme_violence_and_domestic_abuse_partner_rates"].df
    current = rates[rates["window"] == "Jan 2025 – Dec 2025"].iloc[0]
    # No part-window cases or base pass for the whole window's.
    assert pd.isna(current["cases"]) and pd.isna(current["base"]) and pd.isna(current["%"])
    assert current["significance of the change"] == "no data for Jan 2025 – Dec 2025"
    # Nine months of a window are not the window: no repeat-victim table for it.
    assert "domestic_abuse_repeat_victims" not in specs


def test_tables_hold_no_nan_text(truncated_outputs) -> None:
    _, tables = truncated_outputs
    for spec in tables:
        for v in _table_cells(spec):
            if isinstance(v, str):
                assert v.lower() not in ("nan", "<na>", "none"), spec.name


def test_priority_matrix_scores_missing_data_as_3(truncated) -> None:
    s = truncated.priorities.priority_scores.set_index("theme")
    da = s.loc["Domestic abuse"]
    assert (da["volume"], da["trend"]) == (3, 3)
    assert da["volume basis"] == ("no data for Jan 2025 – Dec 2025: scored 3; give a hand score in "
                                  "priorities.volume")
    assert da["trend basis"].startswith("no data for Jan 2025 – Dec 2025: scored 3")
    assert truncated.priorities.missing_scores() == {"Domestic abuse": ["volume", "trend"]}
    note = truncated.priorities.priority_matrix_table().note
    assert "set to the neutral 3: Domestic abuse (volume and trend)" in note
    assert "Set by hand:" in note and "Measured:" in note
    # The other measured volumes are ranked among themselves (quintiles of 4 themes).
    measured = s[s["volume basis"].str.contains(" in Jan 2025 – Dec 2025$")]
    assert sorted(measured["volume"]) == [2, 3, 4, 5]


def test_review_names_the_unknown_indicator_and_carries_on(truncated) -> None:
    notes = truncated.review.review_notes
    assert len(notes) == 1 and repr(UNKNOWN_INDICATOR) in notes[0] and "left out" in notes[0]
    assert UNKNOWN_INDICATOR not in set(truncated.review.review["indicator"])
    assert "left out of the review" in truncated.review.review_text().data


def test_sa_run_with_truncated_returns_exits_0(truncated_params: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's "done when": the rerun with partner returns ending early builds."""
    from sa_lib.run.cli import main

    monkeypatch.setattr(runner, "OUTPUTS_DIR", tmp_path / "outputs")
    # papermill runs each notebook inside a chdir to notebooks/; two at once in threads can
    # leave the process there, so put the working directory back afterwards.
    monkeypatch.chdir(Path.cwd())
    assert main(["run", str(truncated_params)]) == 0
    html = next((tmp_path / "outputs").rglob("official/report.html")).read_text(encoding="utf-8")
    assert "ends in Sep 2025, 3 months before the review window ends" in html
    assert "no data for Jan 2025 – Dec 2025" in html


# --------------------------------------------------------------------------- other windows
def test_window_not_a_calendar_year(extra_dirs: Path) -> None:
    def change(raw: dict, partner: Path) -> None:
        raw["window"]["end"] = "2025-09"

    ctx = _scenario(extra_dirs, "september", change)
    text, _ = _every_chapter(ctx)
    _no_nan_words(text)
    s = ctx.priorities.priority_scores.set_index("theme")
    ksi = s.loc["Road safety (KSI)"]
    assert (ksi["volume"], ksi["trend"]) == (3, 3)
    assert ksi["volume basis"].startswith("no data for Oct 2024 – Sep 2025: scored 3")
    # police.uk has no Oct-Dec 2024: a nine-month count is not a twelve-month volume.
    assert s.loc["Substance misuse", "volume basis"].startswith(
        "police.uk has no data for Oct 2024 – Dec 2024 (3 of the 12 months")
    assert "Road safety (KSI) (volume and trend)" in ctx.priorities.priority_matrix_table().note
    gaps = ctx.sources.partner_gaps()
    ksi_gap = next(g for g in gaps if "synthetic_ksi.csv" in g)
    assert "annual figures" in ksi_gap and "no data for Oct 2024 – Sep 2025" in ksi_gap


def test_window_after_the_returns_and_plan_year(extra_dirs: Path) -> None:
    """Apr 25 - Mar 26: every return ends in Dec 2025, the plan has no 2026 row."""
    def change(raw: dict, partner: Path) -> None:
        raw["window"]["end"] = "2026-03"
        raw["run_date"] = "2026-04-20"

    ctx = _scenario(extra_dirs, "april", change)
    text, _ = _every_chapter(ctx)
    _no_nan_words(text)
    plain = text.replace("\\", "")
    assert ("The domestic abuse return (synthetic_domestic_abuse.csv) ends in Dec 2025, 3 months "
            "before the review window ends") in plain
    assert "no data for Apr 2025 – Mar 2026" in plain
    assert ctx.review.review.empty and ctx.review.review_tables() == []
    assert "has no row for 2026" in ctx.review.review_notes[0]
    basis = ctx.priorities.priority_scores.set_index("theme").loc["Mental health", "volume basis"]
    assert basis == "no data for Apr 2025 – Mar 2026: scored 3; give a hand score in priorities.volume"


def test_no_action_plan(extra_dirs: Path) -> None:
    def change(raw: dict, partner: Path) -> None:
        (partner / "synthetic_action_plan.csv").unlink()

    ctx = _scenario(extra_dirs, "no_plan", change)
    text = ctx.review.review_text().data.replace("\\", "")
    assert "No action-plan return was found in data.partner" in text
    assert "action_plan.csv" in text and "priority, indicator, period, value, target" in text
    assert ctx.review.review_tables() == [] and ctx.review.review_charts() == []
    assert "no action-plan return" in ctx.summary.key_findings().data


def test_short_monthly_series_is_reported_not_charted(extra_dirs: Path) -> None:
    """A monthly return with 6 months in the SPC window: a sentence, no SPC chart."""
    def change(raw: dict, partner: Path) -> None:
        path = partner / "synthetic_section_136.csv"
        with open(path, newline="", encoding="utf-8") as f:
            rows = [r for r in csv.DictReader(f) if "2025-07" <= r["month"] <= "2025-12"]
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=["month", "detentions"])
            w.writeheader()
            w.writerows(rows)

    ctx = _scenario(extra_dirs, "short", change)
    theme = "Mental health and vulnerability"
    assert ctx.partners.spc_too_short(["Section 136 detentions"]) == {"Section 136 detentions": 6}
    assert ctx.partners.partner_spc(["Section 136 detentions"]).empty
    assert not any(n.endswith("_spc") for n, _ in ctx.themes.theme_partner_charts(theme))
    text = ctx.themes.theme_partner_text(theme).data
    assert "6 months with figures in Jan 2023 – Dec 2025, fewer than the 12 an SPC chart needs" in text
    s = ctx.priorities.priority_scores.set_index("theme").loc["Mental health"]
    assert s["volume"] == 3 and s["volume basis"].startswith("no data for Jan 2025 – Dec 2025")
    assert not math.isnan(float(s["trend"]))
