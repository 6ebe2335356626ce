"""A year-on-year comparison shorter than the review window is said, with the missing months.

Issue #13 item 6: the bundled Jan-Apr 2025 vs Jan-Apr 2024 comparison used to be presented as
"year-on-year" with its reason only in a YAML comment.
"""

from __future__ import annotations

import html

import pandas as pd
import pytest

from sa_lib.data.measures import PARTNER_MEASURES
from sa_lib.data.parameters import load_parameters
from sa_lib.report.assessment import open_assessment
from sa_lib.report.chapters.common import short_comparison_note
from sa_lib.report.publish import markdown_escape

P2025 = "parameters/2025.yaml"


def months(*spans: tuple[str, str]) -> list[pd.Period]:
    return [m for a, b in spans for m in pd.period_range(a, b, freq="M")]


def test_no_note_when_the_comparison_is_the_whole_window() -> None:
    p = load_parameters(P2025)
    p = p.model_copy(update={"comparison": None})
    assert short_comparison_note(p, months(("2024-01", "2025-12"))) is None


def test_note_names_the_missing_months_of_the_year_before() -> None:
    p = load_parameters(P2025)
    note = short_comparison_note(p, months(("2024-01", "2024-04"), ("2025-01", "2025-12")))
    assert note.startswith("The year-on-year comparison covers 4 months, Jan 2025 – Apr 2025 against "
                           "Jan 2024 – Apr 2024, not the whole 12-month review window (Jan 2025 – Dec 2025)")
    assert "police.uk has no data for May 2024 – Dec 2024" in note


def test_note_says_the_parameters_chose_it_when_no_month_is_missing() -> None:
    p = load_parameters(P2025)
    note = short_comparison_note(p, months(("2024-01", "2025-12")))
    assert "the parameters file's comparison section sets these months" in note
    assert "no data" not in note


def test_missing_months_inside_the_review_window_are_named_too() -> None:
    p = load_parameters(P2025)
    note = short_comparison_note(p, months(("2024-01", "2024-12"), ("2025-01", "2025-06")))
    assert "police.uk has no data for Jul 2025 – Dec 2025" in note


@pytest.fixture(scope="module")
def ctx():
    return open_assessment(P2025, "official", "")


def test_chapter_2_opens_with_the_note_and_key_findings_repeat_it(ctx) -> None:
    note = ctx.context.short_comparison
    assert note and "May 2024 – Dec 2024" in note
    assert ctx.crime.crime_change_text().data.startswith(markdown_escape(note))
    # in the summary's one caveat box (HTML, so escaped for HTML)
    assert html.escape(note, quote=False) in ctx.summary.key_findings().data


def test_police_uk_trend_scores_from_the_short_comparison_say_so(ctx) -> None:
    s = ctx.priorities.priority_scores
    kinds = s.attrs["score_kinds"]
    said = "from 4 months only, Jan 2025 – Apr 2025 against Jan 2024 – Apr 2024"
    police = [r for r in s.itertuples() if r.measure not in PARTNER_MEASURES
              and kinds[(r.theme, "trend")] == "measured"]
    partner = [r for r in s.itertuples() if r.measure in PARTNER_MEASURES]
    assert police, "the bundled assessment scores some trends from police.uk"
    assert all(said in r._6 or "comparison withheld" in r._6 for r in police)
    assert not any(said in r._6 for r in partner)
