"""report.pdf, report.docx and the marking on every document and sheet a build writes (#14).

Uses the session build of the bundled 2025 report (``built``, tests/conftest.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from sa_lib.report.marking import SYNTHETIC_SHEET_LINE, marking
from sa_lib.report.publish import table_metadata

AUDIENCES = ("official", "public")
_CONTENT_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "table", "img", "pre"}


def _number(text: str) -> float | str:
    """A cell as shown (``1,234``, ``12.3``) or as in the CSV (``1234``, ``12.30``), compared."""
    text = text.strip().removeprefix("'")
    try:
        return round(float(text.replace(",", "")), 1)
    except ValueError:
        return " ".join(text.split())


@pytest.mark.parametrize("audience", AUDIENCES)
def test_pdf_has_the_marking_and_a_page_number_on_every_page(built: Path, audience: str) -> None:
    from pypdf import PdfReader

    pdf = built / audience / "report.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    pages = PdfReader(pdf).pages
    assert len(pages) > 1
    label = marking(audience)
    for n, page in enumerate(pages, start=1):
        text = page.extract_text()
        assert text.count(label) >= 2, f"page {n}: the marking is not at top and bottom"
        assert f"Page {n} of {len(pages)}" in text, f"page {n}: no page number"
    contents = "\n".join(page.extract_text() for page in pages[:6])  # after the summary
    # The contents list gives each section's page number.
    assert re.search(r"1\. Data and sources\s*\.+\s*\d+", contents), contents[:500]


def test_pdf_splits_no_table_or_chart_and_keeps_tables_inside_the_page(built: Path) -> None:
    """Laid out again (WeasyPrint's boxes): no table, table row or chart spans two pages,
    no table is wider than the page's text area, and no page ends with a heading."""
    from sa_lib.report.pdf import print_css, render_report

    css = print_css("official")
    for rule in ("break-inside: avoid", "break-after: avoid", "target-counter(attr(href), page)",
                 "counter(pages)", "size: A4"):
        assert rule in css
    doc = render_report((built / "official" / "report.html").read_text(encoding="utf-8"),
                        "official")
    pages_of: dict[int, set[int]] = {}
    tables = 0
    stranded = []
    for n, page in enumerate(doc.pages):
        root = page._page_box
        width = root.width  # the page's content width
        body = [c for c in root.children if type(c).__name__ != "MarginBox"]  # not the marking
        blocks = [b for c in body for b in c.descendants()
                  if type(b).__name__ in ("BlockBox", "TableBox", "BlockReplacedBox",
                                          "InlineReplacedBox")
                  and getattr(b, "element_tag", None) in _CONTENT_TAGS]
        last = max(blocks, key=lambda b: b.position_y + b.margin_height())
        if getattr(last, "element_tag", "") in ("h1", "h2", "h3", "h4", "h5", "h6"):
            stranded.append(n + 1)
        for box in root.descendants():
            tag = getattr(box, "element_tag", None)
            if tag not in ("table", "tr", "img"):
                continue
            if type(box).__name__ in ("TableBox", "TableRowBox", "InlineReplacedBox",
                                      "BlockReplacedBox"):
                pages_of.setdefault(id(box.element), set()).add(n)
                if tag == "table":
                    tables += 1
                    assert box.margin_width() <= width + 1, f"a table overflows page {n + 1}"
    assert tables > 5
    assert not stranded, f"a heading ends page(s) {stranded}"
    split = [p for p in pages_of.values() if len(p) > 1]
    assert not split, f"{len(split)} tables, rows or charts are split across pages: {split}"


@pytest.mark.parametrize("audience", AUDIENCES)
def test_docx_holds_headings_tables_pictures_and_the_marking(built: Path, audience: str) -> None:
    import docx
    from docx.oxml.ns import qn

    build = built / audience
    doc = docx.Document(str(build / "report.docx"))
    label = marking(audience)
    section = doc.sections[0]
    assert label in section.header.paragraphs[0].text
    assert label in section.footer.paragraphs[0].text
    styles = {p.style.name for p in doc.paragraphs}
    assert {"Title", "Heading 1", "Heading 2"} <= styles
    headings = [p.text for p in doc.paragraphs if p.style.name == "Heading 1"]
    assert "1. Data and sources" in headings

    # Every published table is a Word table with the same cells.
    words = [[[c.text for c in row.cells] for row in t.rows] for t in doc.tables]
    page = (build / "report.html").read_text(encoding="utf-8")
    assert len(words) == page.count('<table class="sa-table">')
    unmatched = []
    for csv in sorted((build / "tables").glob("*.csv")):
        try:
            frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
        except pd.errors.EmptyDataError:
            continue
        want = [[_number(c) for c in frame.columns]] + [
            [_number(v) for v in row] for row in frame.itertuples(index=False, name=None)]
        if not any([[_number(c) for c in row] for row in w] == want for w in words):
            unmatched.append(csv.name)
    assert not unmatched, f"no Word table equals {unmatched}"
    rows = [row._tr for t in doc.tables for row in t.rows]
    assert all(r.trPr is not None and r.trPr.find(qn("w:cantSplit")) is not None for r in rows)

    # Every chart is a picture with its alt text as descr, and a caption.
    pictures = list(doc.element.body.iter(qn("wp:docPr")))
    charts = re.findall(r"<img\b[^>]*\bsrc=\"data:image/png", page)
    assert len(pictures) == len(doc.inline_shapes) == len(charts)
    assert pictures and all(p.get("descr") for p in pictures)
    assert sum(p.style.name == "Caption" for p in doc.paragraphs) == len(pictures)


@pytest.mark.parametrize("audience", AUDIENCES)
def test_each_chapter_page_carries_the_marking_at_top_and_bottom(built: Path,
                                                               audience: str) -> None:
    banner = f'<p class="sa-marking" role="note">{marking(audience)}</p>'
    chapters = sorted(p for p in (built / audience).glob("*.html") if p.name != "report.html")
    assert chapters
    for page in chapters:
        text = page.read_text(encoding="utf-8")
        main = text[text.index("<main"):text.rindex("</main>")]
        assert main.count(banner) == 2, page.name
        assert main.split(">", 1)[1].lstrip().startswith(banner), page.name
        assert main.rstrip().rsplit("\n", 1)[0].rstrip().endswith(banner) or \
            re.search(re.escape(banner) + r'\n<p class="sa-built">', main), page.name


@pytest.mark.parametrize("audience", AUDIENCES)
def test_every_sheet_is_marked_and_synthetic_sheets_say_so(built: Path, audience: str) -> None:
    from sa_lib.run.xlsx import read_tables_xlsx

    build = built / audience
    book = load_workbook(build / "tables.xlsx")
    contents = read_tables_xlsx(build / "tables.xlsx")["contents"]
    sheets = dict(zip(contents["sheet"], contents["table (tables/*.csv)"], strict=True))
    assert book.worksheets[0].title == "contents"
    synthetic = 0
    for ws in book.worksheets:
        assert ws["A1"].value == marking(audience), ws.title
        if ws.title == "contents":
            continue
        meta = table_metadata(build / "tables" / sheets[ws.title])
        says = ws["A2"].value == SYNTHETIC_SHEET_LINE
        assert says == meta["synthetic"], ws.title
        synthetic += says
    assert synthetic > 0  # the bundled partner data are synthetic


def test_the_tables_read_back_from_the_workbook_equal_the_csvs(built: Path) -> None:
    from sa_lib.run.xlsx import read_tables_xlsx

    build = built / "official"
    book = read_tables_xlsx(build / "tables.xlsx")
    contents = book.pop("contents")
    for sheet, name in zip(contents["sheet"], contents["table (tables/*.csv)"], strict=True):
        pd.testing.assert_frame_equal(book[sheet], pd.read_csv(build / "tables" / name),
                                      check_dtype=False)


def test_pdf_fetches_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """A remote image or stylesheet in the page is never requested."""
    import urllib.request

    from sa_lib.report.pdf import report_pdf

    opened: list[str] = []
    real = urllib.request.OpenerDirector.open

    def spy(self: urllib.request.OpenerDirector, url: object, *a: object, **k: object) -> object:
        opened.append(str(getattr(url, "full_url", url)))
        return real(self, url, *a, **k)

    monkeypatch.setattr(urllib.request.OpenerDirector, "open", spy)
    page = ("<html><head><link rel='stylesheet' href='http://example.invalid/a.css'></head>"
            "<body><h1>T</h1><img src='https://example.invalid/x.png' alt='x'>"
            "<img src='file:///etc/hostname' alt='y'></body></html>")
    assert report_pdf(page, "public")[:5] == b"%PDF-"
    assert not [u for u in opened if not u.startswith("data:")], opened


def test_docx_is_the_same_for_the_same_page() -> None:
    from sa_lib.report.docx_report import report_docx

    page = "<h1>T</h1><h2>A</h2><p>x</p><table class='sa-table'><tr><th>a</th></tr></table>"
    assert report_docx(page, "T", "public") == report_docx(page, "T", "public")


def test_a_draft_build_skips_the_print_copies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`sa run --no-print` sets SA_PRINT_COPIES=0: no report.pdf or report.docx is written."""
    from sa_lib.output_gate import OutputGate
    from sa_lib.run.runner import PRINT_COPIES_ENV, _write_print_copies

    gate = OutputGate(tmp_path)
    monkeypatch.setenv(PRINT_COPIES_ENV, "0")
    _write_print_copies(tmp_path, "<html><body><h1>x</h1></body></html>", "x", "official", gate)
    assert not list(tmp_path.iterdir())
    monkeypatch.setenv(PRINT_COPIES_ENV, "1")
    _write_print_copies(tmp_path, "<html><body><h1>x</h1></body></html>", "x", "official", gate)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.docx", "report.pdf"]
