"""The analyst's own words (issue #14 item 5): a commentary file per assessment, merged under
each section and marked as commentary, rendered safely, stale numbers and unknown sections
reported by ``sa run``, and a skeleton written by ``sa init`` and ``sa new-year``."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup

import sa_lib.run.runner as runner
from sa_lib.data.commentary_files import PLACEHOLDER, commentary_file, section_headings
from sa_lib.data.new_year import new_year
from sa_lib.data.parameters import load_parameters
from sa_lib.errors import ParameterError
from sa_lib.paths import PARAMETERS_DIR
from sa_lib.report.commentary import (
    COMMENTARY_LABEL,
    Commentary,
    commentary_html,
    commentary_warnings,
    load_commentary,
    parse_commentary,
    stale_numbers,
)
from sa_lib.run.cli import main
from tests.test_confidential import IMG, JS_LINK, MARKDOWN, SCRIPT

LEICS = "data/police_uk/leicestershire_sample"
KEPT = "The fall since June follows the town-centre operation."
STALE = "Crime fell by 97.3% to 1,234,567 offences."


# --------------------------------------------------------------------------- parsing
def test_sections_are_keyed_by_the_heading_number_and_comments_are_dropped() -> None:
    c = parse_commentary("# Commentary\n\n<!-- help -->\n\n## 2.3 Monthly total: SPC chart\n\n"
                         "First.\n\n<!-- not shown -->\nSecond.\n\n## 2.4\n\n" + PLACEHOLDER
                         + "\n\n### 5 Prioritisation\n\nTop.\n")
    assert c.sections == {"2.3": "First.\n\n\nSecond.", "5": "Top."}
    assert c.problems == []


def test_a_heading_without_a_section_id_is_a_problem_named() -> None:
    c = parse_commentary("# Title\n\n## Overview\n\nText.\n")
    assert c.problems == ["heading 'Overview' has no section id; expected one like '## 2.3'"]


def test_the_commentary_file_sits_beside_the_parameters(tmp_path: Path) -> None:
    assert commentary_file(tmp_path / "2025.yaml") == tmp_path / "2025_commentary.md"
    assert load_commentary(tmp_path / "2025.yaml").sections == {}  # no file: no commentary
    (tmp_path / "words.md").write_text("## 1\n\nHello.\n", encoding="utf-8")
    assert load_commentary(tmp_path / "2025.yaml", "words.md").sections == {"1": "Hello."}


def test_the_commentary_key_is_validated(tmp_path: Path) -> None:
    raw = yaml.safe_load((PARAMETERS_DIR / "2025.yaml").read_text(encoding="utf-8"))
    raw["commentary"] = "notes.txt"
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    with pytest.raises(ParameterError, match="commentary"):
        load_parameters(path)


# --------------------------------------------------------------------------- rendering
@pytest.mark.parametrize("payload", [SCRIPT, IMG, MARKDOWN, JS_LINK, "</aside><script>x</script>"])
def test_commentary_is_rendered_as_text_never_as_markup(payload: str) -> None:
    page = commentary_html(f"Before {payload} after.\n\n- {payload}")
    soup = BeautifulSoup(page, "html.parser")
    assert {t.name for t in soup.find_all(True)} <= {"aside", "p", "strong", "em", "ul", "li"}
    assert not soup.find_all(["script", "img", "a"]) and "href" not in page
    assert soup.get_text().count(payload.replace("**", "")) == 2  # shown as written (emphasis kept)
    assert soup.aside["aria-label"] == COMMENTARY_LABEL and COMMENTARY_LABEL in soup.get_text()


def test_bold_italic_and_lists_are_kept() -> None:
    soup = BeautifulSoup(commentary_html("A **big** and *small* point.\n\n- one\n- two"),
                         "html.parser")
    assert soup.find("strong", string="big") and soup.find("em", string="small")
    assert [li.get_text() for li in soup.find_all("li")] == ["one", "two"]


# --------------------------------------------------------------------------- stale numbers
def test_a_number_is_current_when_the_section_shows_it_to_its_rounding() -> None:
    assert stale_numbers("Fell by 12% (to 1,234) in 2025, over 12 months.",
                         "down -12.3%; 1,234 crimes; 12 months") == []
    assert stale_numbers("Fell by 15%, to 1,200.", "down 12.3%; 1,234 crimes") == ["15%", "1,200"]


def test_unknown_sections_and_stale_numbers_are_one_line_each(tmp_path: Path) -> None:
    c = Commentary({"2.3": f"{KEPT}\n\n{STALE}", "9.9": "Lost."}, tmp_path / "c.md")
    nb = tmp_path / "nb.ipynb"
    import nbformat

    nbformat.write(nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("## 2.3 Monthly total\n\nTotal fell 12%."),
        nbformat.v4.new_markdown_cell("## 2.4 Types\n\n1,234,567")]), nb)
    lines = commentary_warnings(c, {"official": [nb], "public": [nb]})
    assert len(lines) == 2, lines
    assert "section 2.3 quotes 97.3%, 1,234,567" in lines[0]  # 2.4's text is not 2.3's
    assert "'9.9' is not a section of the report" in lines[1]


# --------------------------------------------------------------------------- skeletons
def test_the_skeleton_has_one_heading_per_section_and_no_text() -> None:
    params = load_parameters(PARAMETERS_DIR / "2025.yaml")
    text = commentary_file(PARAMETERS_DIR / "2025.yaml").read_text(encoding="utf-8")
    ids = [m.group(1) for m in re.finditer(r"^## (\S+)", text, re.MULTILINE)]
    assert ids == [sid for sid, _ in section_headings([t.name for t in params.themes])]
    assert {"1", "2.3", "3.1", "3.8", "5.3"} <= set(ids)
    assert load_commentary(PARAMETERS_DIR / "2025.yaml").sections == {}  # nothing invented


def test_sa_init_writes_the_skeleton_and_never_replaces_one(tmp_path: Path) -> None:
    out = tmp_path / "melton.yaml"
    assert main(["init", "--area", "Melton", "--police-uk", LEICS, "--out", str(out)]) == 0
    skeleton = tmp_path / "melton_commentary.md"
    themes = [t.name for t in load_parameters(out).themes]
    text = skeleton.read_text(encoding="utf-8")
    assert all(f"## 3.{i} {t}" in text for i, t in enumerate(themes, start=1))
    skeleton.write_text("## 2\n\nMine.\n", encoding="utf-8")
    assert main(["init", "--area", "Melton", "--police-uk", LEICS, "--out", str(out),
                 "--force"]) == 0
    assert skeleton.read_text(encoding="utf-8") == "## 2\n\nMine.\n"


def test_sa_new_year_writes_a_fresh_skeleton_and_says_so(tmp_path: Path) -> None:
    notes: list[str] = []
    out = new_year(PARAMETERS_DIR / "2025.yaml", tmp_path / "2026.yaml", notes=notes)
    fresh = tmp_path / "2026_commentary.md"
    assert fresh.exists() and load_commentary(out).sections == {}
    said = [n for n in notes if "commentary" in n]
    assert len(said) == 1 and "2026_commentary.md" in said[0]
    assert "2025_commentary.md" in said[0] and "not carried over" in said[0]


# --------------------------------------------------------------------------- end to end
@pytest.fixture(scope="module")
def commented(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """(period folder, warning lines) of the bundled report built with a commentary file."""
    folder = tmp_path_factory.mktemp("commented")
    params = folder / "2025.yaml"
    params.write_text((PARAMETERS_DIR / "2025.yaml").read_text(encoding="utf-8"),
                      encoding="utf-8")
    (folder / "2025_commentary.md").write_text(
        f"# Commentary\n\n## 2.3 Monthly total: SPC chart\n\n{KEPT}\n\n{STALE}\n\n"
        f"## 3.8\n\n- {SCRIPT}\n\n## 9.9 Gone\n\nLost.\n", encoding="utf-8")
    out = tmp_path_factory.mktemp("commented_out")
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger(runner.__name__).addHandler(handler)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner, "OUTPUTS_DIR", out)
        try:
            build = runner.run_assessment(params, progress=False).output_dir
        finally:
            logging.getLogger(runner.__name__).removeHandler(handler)
    return build, [r.getMessage() for r in records if r.levelno >= logging.WARNING]


def _between(page: str, start: str, end: str) -> str:
    text = BeautifulSoup(page, "html.parser").get_text(" ")
    a = text.rindex(start)  # the heading, not the contents list
    return text[a: text.index(end, a)]


@pytest.mark.parametrize("audience", ["official", "public"])
def test_commentary_appears_in_its_section_marked(commented: tuple[Path, list[str]],
                                                  audience: str) -> None:
    build, _ = commented
    for page in (build / audience / "report.html", build / audience / "02_total_recorded_crime.html"):
        html_ = page.read_text(encoding="utf-8")
        section = _between(html_, "2.3 Monthly total", "2.4 Major crime types")
        assert KEPT in section and COMMENTARY_LABEL in section, page
        assert SCRIPT not in html_ or "&lt;script&gt;" in html_
    report = (build / audience / "report.html").read_text(encoding="utf-8")
    assert report.count('class="sa-commentary"') == 2  # 2.3 and 3.8; 9.9 is no section
    assert SCRIPT in _between(report, "3.8 Reoffending", "Review of last year")
    assert "<script>alert" not in report


def test_sa_run_reports_stale_numbers_and_unknown_sections(
        commented: tuple[Path, list[str]]) -> None:
    _, lines = commented
    said = [ln for ln in lines if "commentary" in ln]
    assert any("section 2.3 quotes 97.3%, 1,234,567" in ln for ln in said), said
    assert any("'9.9' is not a section of the report" in ln for ln in said), said
    assert not any(KEPT[:30] in ln for ln in said), said  # no number: nothing to report
    assert len(said) == 2, said


def test_the_manifest_records_the_commentary_file(commented: tuple[Path, list[str]]) -> None:
    build, _ = commented
    manifest = json.loads((build / "manifest.json").read_text(encoding="utf-8"))
    assert any(i["path"].endswith("2025_commentary.md") and len(i["sha256"]) == 64
               for i in manifest["inputs"])
