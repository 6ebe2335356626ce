"""Every priority traceable (issue #14 item 6): ``priorities.evidence`` maps each priority to
the theme whose section evidences it (validated), a recommended priority links to that
section, and one with no data section says what its scores rest on."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import sa_lib as sa
from sa_lib.data.parameters import load_parameters
from sa_lib.errors import ParameterError
from sa_lib.paths import PARAMETERS_DIR
from sa_lib.report.chapters.evidence import evidence_anchor, evidence_theme

NO_SECTION = ("Organised crime groups", "Gangs and child sexual exploitation")


def _with(tmp_path: Path, evidence: dict) -> Path:
    raw = yaml.safe_load((PARAMETERS_DIR / "2025.yaml").read_text(encoding="utf-8"))
    raw["priorities"]["evidence"] = evidence
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def test_the_bundled_map_names_every_priority() -> None:
    params = load_parameters(PARAMETERS_DIR / "2025.yaml")
    pr = params.priorities
    assert set(pr.evidence) == set(pr.perception)
    themes = {t.name for t in params.themes}
    for priority in pr.perception:
        theme = evidence_theme(params, priority)
        assert (theme is None) == (priority in NO_SECTION), priority
        assert theme is None or theme in themes
    assert evidence_theme(params, "Domestic abuse") == "Violence and domestic abuse"


@pytest.mark.parametrize(("evidence", "named"), [
    ({"Domestic abuse": "Violence and domestic abus"}, "'Violence and domestic abus'"),
    ({"Domestic abuse": "Violence and domestic abus"}, "did you mean 'Violence and domestic abuse'"),
    ({"Domestic abus": "Violence and domestic abuse"}, "'Domestic abus' is not a priority theme"),
])
def test_names_must_exist(tmp_path: Path, evidence: dict, named: str) -> None:
    with pytest.raises(ParameterError, match="priorities.evidence") as err:
        load_parameters(_with(tmp_path, evidence))
    assert named in str(err.value)


def test_without_a_map_a_priority_is_evidenced_by_the_theme_of_its_name(tmp_path: Path) -> None:
    params = load_parameters(_with(tmp_path, {}))
    assert evidence_theme(params, "Substance misuse") == "Substance misuse"
    assert evidence_theme(params, "Domestic abuse") is None  # names differ, nothing mapped


@pytest.fixture(scope="module")
def text() -> str:
    ctx = sa.open_assessment(PARAMETERS_DIR / "2025.yaml")
    return ctx.priorities.recommendations_text().data


def test_each_recommended_priority_links_to_its_evidence_or_says_what_it_rests_on(
        text: str) -> None:
    ctx = sa.open_assessment(PARAMETERS_DIR / "2025.yaml")
    r = ctx.priorities.recommendations
    recommended = list(r.loc[r["recommendation"] == "priority", "theme"])
    assert recommended
    for priority in recommended:
        theme = evidence_theme(ctx.params, priority)
        if theme is None:
            assert f"**{priority}** has no data section in this report: its volume and trend " \
                   "scores are hand-set" in text, priority
            assert "residents' survey" in text and "MoRiLE scoring sheets" in text
        else:
            assert f"**{priority}**, in [{theme}](#{evidence_anchor(theme)})" in text, priority


def test_the_themes_chapter_has_the_anchors_and_the_summary_the_links() -> None:
    ctx = sa.open_assessment(PARAMETERS_DIR / "2025.yaml")
    for t in ctx.params.themes:
        heading = ctx.themes.theme_heading(t.name).data
        assert heading.startswith(f'<a id="{evidence_anchor(t.name)}"></a>\n\n## 3.')
    summary = ctx.summary.key_findings().data
    assert f"(#{evidence_anchor('Violence and domestic abuse')})" in summary
    assert "has no data section in this report" in summary
