"""``report.docx``: the assembled ``report.html`` as an editable Word document (python-docx).

Read in document order from the report page:

- ``h1``-``h4`` become Word's Heading 1-3 styles (``h4`` and deeper: Heading 3);
- paragraphs and list items become paragraphs (list items in the List Bullet style);
- every published table (``table.sa-table``) becomes a Word table with the same
  cell text, its caption (``p.sa-caption``) kept above it;
- every chart (an embedded PNG) becomes a picture with its alt text as the
  picture's description (``descr``) and as a caption under it.

The build's marking (:func:`~sa_lib.report.marking.marking`) is in the header and
the footer of every page, and the document opens with a cover line (title and
marking).  The contents list of the HTML is left out (Word builds its own).
"""

from __future__ import annotations

import base64
import io
import re
from html.parser import HTMLParser

from sa_lib.report.marking import marking

__all__ = ["report_docx"]

_SKIP = {"script", "style", "nav", "head", "title", "svg"}
_BLOCKS = {"p", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "blockquote", "div"}


class _Reader(HTMLParser):
    """Collects the report as a list of blocks: (kind, payload)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, object]] = []
        self._skip = 0
        self._text: list[str] = []
        self._kind: str | None = None
        self._table: list[list[str]] | None = None
        self._cell: list[str] | None = None
        self._skip_tag = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in _SKIP:
            self._skip += 1
            return
        if self._skip:
            return
        if tag == "a" and "anchor-link" in (a.get("class") or ""):
            self._skip += 1  # nbconvert's pilcrow
            self._skip_tag = True
            return
        if tag == "table":
            self._flush()
            self._table = []
        elif tag == "tr" and self._table is not None:
            self._table.append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = []
        elif tag == "img" and (a.get("src") or "").startswith("data:image/png;base64,"):
            self._flush()
            self.blocks.append(("img", (a["src"].split(",", 1)[1], a.get("alt") or "")))
        elif tag in _BLOCKS and self._table is None:
            self._flush()
            self._kind = tag
            if tag == "p" and "sa-caption" in (a.get("class") or ""):
                self._kind = "caption"
        elif tag == "br" and self._table is None:
            self._text.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self._skip -= 1
            return
        if tag == "a" and self._skip_tag:
            self._skip -= 1
            self._skip_tag = False
            return
        if self._skip:
            return
        if tag in ("td", "th") and self._cell is not None and self._table:
            self._table[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table" and self._table is not None:
            self.blocks.append(("table", [r for r in self._table if r]))
            self._table = None
        elif tag in _BLOCKS and self._table is None:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._cell is not None:
            self._cell.append(data)
        elif self._table is None:
            self._text.append(data)

    def _flush(self) -> None:
        text = " ".join("".join(self._text).split())
        if text:
            self.blocks.append((self._kind or "p", text))
        self._text, self._kind = [], None


def _blocks(page: str) -> list[tuple[str, object]]:
    reader = _Reader()
    reader.feed(page)
    reader.close()
    reader._flush()
    return reader.blocks


def _set_descr(picture_run: object, descr: str) -> None:
    """Write the alt text into the picture's ``wp:docPr/@descr`` (what Word reads aloud)."""
    from docx.oxml.ns import qn

    for doc_pr in picture_run._r.iter(qn("wp:docPr")):  # type: ignore[attr-defined]
        doc_pr.set("descr", descr)


def _keep_rows(table: object) -> None:
    """No row split across pages, and the header row repeated on each page of a long table."""
    from docx.oxml import OxmlElement

    for i, row in enumerate(table.rows):  # type: ignore[attr-defined]
        tr_pr = row._tr.get_or_add_trPr()
        tr_pr.append(OxmlElement("w:cantSplit"))
        if i == 0:
            tr_pr.append(OxmlElement("w:tblHeader"))


def report_docx(page: str, title: str, audience: str) -> bytes:
    """``report.docx`` for a build (see the module docstring).

    Parameters
    ----------
    page : str
        The assembled ``report.html``.
    title : str
        The report's title, for the cover line.
    audience : {"official", "public"}
        Chooses the marking in the header and footer.

    Returns
    -------
    bytes
        The Word document; the same page gives the same bytes.

    Examples
    --------
    >>> data = report_docx("<h2>A</h2><table class='sa-table'><tr><th>x</th></tr>"
    ...                    "<tr><td>1</td></tr></table>", "T", "official")
    >>> data[:2]
    b'PK'
    """
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    label = marking(audience)
    doc = Document()
    section = doc.sections[0]
    section.page_height, section.page_width = Cm(29.7), Cm(21.0)  # A4
    for part in (section.header, section.footer):
        para = part.paragraphs[0]
        para.text = label
        para.alignment = WD_ALIGN_PARAGRAPH.CENTER
        para.runs[0].bold = True
    doc.core_properties.title = title
    doc.core_properties.author = ""
    cover = doc.add_paragraph(style="Title")
    cover.add_run(title)
    doc.add_paragraph().add_run(label).bold = True
    width = section.page_width - section.left_margin - section.right_margin
    blocks = _blocks(page)
    if blocks and blocks[0] == ("h1", title):  # the page's own title: on the cover already
        blocks = blocks[1:]
    for kind, payload in blocks:
        if kind in ("h1", "h2", "h3", "h4", "h5", "h6"):
            level = min(int(kind[1]), 3)
            doc.add_heading(str(payload), level=level)
        elif kind == "table":
            rows = payload if isinstance(payload, list) else []
            ncols = max((len(r) for r in rows), default=0)
            if not ncols:
                continue
            table = doc.add_table(rows=len(rows), cols=ncols)
            table.style = "Table Grid"
            _keep_rows(table)
            for i, row in enumerate(rows):
                for j, text in enumerate(row):
                    cell = table.cell(i, j)
                    cell.text = text
                    if i == 0:
                        for run in cell.paragraphs[0].runs:
                            run.bold = True
                    for run in cell.paragraphs[0].runs:
                        run.font.size = Pt(8)
        elif kind == "img":
            data, alt = payload  # type: ignore[misc]
            run = doc.add_paragraph().add_run()
            run.add_picture(io.BytesIO(base64.b64decode(data)), width=width)
            _set_descr(run, alt)
            if alt:
                doc.add_paragraph(alt, style="Caption")
        elif kind == "caption":
            doc.add_paragraph().add_run(str(payload)).bold = True
        elif kind == "li":
            doc.add_paragraph(str(payload), style="List Bullet")
        elif payload != label:  # the HTML's own marking banner is on the cover already
            doc.add_paragraph(str(payload))
    out = io.BytesIO()
    doc.save(out)
    return _normalise(out.getvalue())


def _normalise(data: bytes) -> bytes:
    """The same document gives the same bytes: fixed zip times, no created/modified dates."""
    import zipfile

    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename == "docProps/core.xml":
                body = re.sub(rb"<dcterms:(created|modified)[^>]*>[^<]*</dcterms:\1>", b"", body)
                body = re.sub(rb"<cp:lastModifiedBy>[^<]*</cp:lastModifiedBy>", b"", body)
            info = zipfile.ZipInfo(item.filename, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, body)
    return out.getvalue()
