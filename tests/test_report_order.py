"""report.html in the order of a real assessment (issue #14, items 1 and 7).

Cover, executive summary (key messages and one caveat box), contents, chapters 1-5, and
an annex with data quality and file provenance; headings in order and every id unique.
The first tests use small hand-made notebooks (no build); the last ones read the bundled
Maidstone build.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from pathlib import Path

import nbformat
import pytest

from sa_lib.report.html import ANNEX_HEADING, ANNEX_TAG, FRONT, Cover, combined_report

COVER = Cover("Testshire Community Safety Partnership", "Strategic Assessment 2025",
              "Jan 2025 – Dec 2025", date(2026, 1, 15), "2.1", "Community safety team")


def _notebook(path: Path, cells: list[tuple[str, list[str]]], front: bool = False) -> Path:
    nb = nbformat.v4.new_notebook()
    for source, tags in cells:
        cell = nbformat.v4.new_markdown_cell(source)
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    if front:
        nb.metadata["sa_report"] = {"place": FRONT}
    nbformat.write(nb, path)
    return path


@pytest.fixture
def page(tmp_path: Path) -> str:
    chapter1 = _notebook(tmp_path / "01.ipynb", [
        ("# 1. Data and sources\n\nWhat was loaded.", []),
        ("## A.1 Files loaded\n\nFILE-HASHES-TABLE", [ANNEX_TAG]),
    ])
    chapter2 = _notebook(tmp_path / "02.ipynb", [
        ("# 2. Themes\n\n## 2.1 One\n\n### Charts\n\nchart one", []),
        ("## 2.2 Two\n\n### Charts\n\nchart two", []),
    ])
    summary = _notebook(tmp_path / "06.ipynb", [
        ("# Executive summary\n\n## Key messages\n\n1. FIRST-MESSAGE", []),
    ], front=True)
    return combined_report([chapter1, chapter2, summary], "Strategic Assessment 2025",
                           "official", cover=COVER)


def _at(page: str, text: str) -> int:
    """Where ``text`` first appears in the page's body (not in its stylesheet)."""
    at = page.find(text, page.find("<main"))
    assert at >= 0, f"{text!r} is not in the page"
    return at


def test_cover_then_summary_then_contents_then_chapters_then_annex(page: str) -> None:
    order = [_at(page, "sa-cover"), _at(page, "FIRST-MESSAGE"), _at(page, "sa-toc"),
             _at(page, "1. Data and sources"), _at(page, "2. Themes"),
             _at(page, ANNEX_HEADING.lstrip("# ")), _at(page, "FILE-HASHES-TABLE")]
    assert order == sorted(order)


def test_the_cover_names_partnership_period_date_version_owner_and_marking(page: str) -> None:
    cover = page[_at(page, "sa-cover"):_at(page, "</header>")]
    for text in ["Testshire Community Safety Partnership", "Strategic Assessment 2025",
                 "Jan 2025 – Dec 2025", "15 January 2026", "2.1", "Community safety team",
                 "OFFICIAL"]:
        assert text in cover


def test_an_annex_cell_leaves_its_chapter(page: str) -> None:
    assert page.count("FILE-HASHES-TABLE") == 1
    assert _at(page, "FILE-HASHES-TABLE") > _at(page, "2. Themes")


def test_ids_are_unique_and_anchor_links_follow(page: str) -> None:
    ids = Counter(re.findall(r"""\bid=["']([^"']+)""", page))
    assert not [i for i, n in ids.items() if n > 1]
    assert 'id="Charts-2"' in page and 'href="#Charts-2"' in page


def test_without_annex_or_cover_nothing_is_lost(tmp_path: Path) -> None:
    only = _notebook(tmp_path / "01.ipynb", [("# 1. Only\n\ntext", [])])
    page = combined_report([only], "Title", "public")
    assert ANNEX_HEADING.lstrip("# ") not in page
    assert _at(page, "PUBLIC") < _at(page, "sa-toc") < _at(page, "1. Only")


# --- the bundled build ---------------------------------------------------------------

def _headings(page: str) -> list[tuple[int, str]]:
    body = page[page.find("<main"):]
    return [(int(m.group(1)), re.sub(r"<[^>]+>|¶", "", m.group(2)).strip())
            for m in re.finditer(r"<h([1-6])\b[^>]*>(.*?)</h\1>", body, re.S)]


@pytest.mark.parametrize("audience", ["official", "public"])
def test_built_report_reads_in_order(built: Path, audience: str) -> None:
    page = (built / audience / "report.html").read_text(encoding="utf-8")
    heads = _headings(page)
    h1 = [t for level, t in heads if level == 1]
    assert h1[1:] == ["Executive summary", "1. Data and sources", "2. Total recorded crime",
                      "3. Themes", "4. Review of last year's priorities", "5. Prioritisation",
                      "Annex A. Data quality and file provenance"]
    # WCAG 1.3.1: no heading is more than one level below the one before it
    jumps = [(a, b) for a, b in zip(heads, heads[1:], strict=False) if b[0] > a[0] + 1]
    assert not jumps
    ids = Counter(re.findall(r"""\bid=["']([^"']+)""", page))
    assert not [i for i, n in ids.items() if n > 1]
    # the file hashes are in the annex only
    assert _at(page, "sha256") > _at(page, "Annex A. Data quality")


@pytest.mark.parametrize("audience", ["official", "public"])
def test_built_summary_opens_with_three_to_five_messages_and_one_caveat_box(
        built: Path, audience: str) -> None:
    page = (built / audience / "report.html").read_text(encoding="utf-8")
    summary = page[_at(page, "Key messages"):_at(page, "sa-toc")]
    messages = summary[:summary.find("</ol>")].count("<li>")
    assert 3 <= messages <= 5
    assert page.count('class="sa-caveat"') == 1
    assert "Jan 2025 – Dec 2025" in summary and "Jan 25 –" not in page
    # no doubled theme labels, no developer hints
    assert not re.search(r"(\b[A-Z][\w ]+): \1:", re.sub(r"<[^>]+>", "", page))
    assert "ctx." not in re.sub(r"<[^>]+>", "", page[page.find("<main"):])


def test_spc_status_has_an_icon_with_a_text_alternative(tmp_path: Path) -> None:
    table = ("<table class='sa-table'><tr><td>Robbery</td>"
             "<td>one point above the upper limit (concern): July 2025</td>"
             "<td>no special-cause points</td><td>pass</td></tr></table>")
    nb = _notebook(tmp_path / "02.ipynb", [(f"# 2. Crime\n\n{table}", [])])
    page = combined_report([nb], "Title", "official")
    labels = re.findall(r'<svg class="sa-spc-icon" role="img" aria-label="([^"]+)"', page)
    assert labels == ["Special cause variation of concern (high)", "Common cause variation",
                      "Assurance: the target will be met consistently"]
    assert "<td>Robbery</td>" in page


@pytest.mark.parametrize("audience", ["official", "public"])
def test_built_spc_charts_carry_their_icon(built: Path, audience: str) -> None:
    page = (built / audience / "report.html").read_text(encoding="utf-8")
    charts = len(re.findall(r'<img\b[^>]*\balt="SPC chart of ', page))
    assert charts and page.count('class="sa-spc-status"') == charts
    assert "http" not in "".join(re.findall(r"<svg.*?</svg>", page))
