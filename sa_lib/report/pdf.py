"""``report.pdf``: the assembled ``report.html`` printed to A4 with WeasyPrint.

The print stylesheet (:data:`PRINT_CSS`) gives every page:

- A4 with margins, the build's marking (:func:`~sa_lib.report.marking.marking`) at
  the top and bottom centre and "Page N of M" at the bottom right;
- a contents list whose entries end with the page they point to
  (``target-counter``);
- no table row, chart or table that fits on a page split across two pages, a
  table's caption kept with it, and no heading left at the bottom of a page.

Nothing is fetched: the report embeds its charts as ``data:`` URLs and the URL
fetcher refuses every other scheme (no network, no local file).
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from weasyprint import Document

from sa_lib.report.marking import marking

__all__ = ["PRINT_CSS", "print_css", "report_pdf", "render_report"]

#: The contents' anchor, alone in a paragraph before its heading (see ``sa_lib.report.html``).
_ANCHOR_BEFORE_HEADING = re.compile(r'<p><a id="(sec-\d+)"></a></p>\s*(<h[1-6]\b[^>]*>)')

#: The print stylesheet; ``{marking}`` is filled in by :func:`print_css`.
PRINT_CSS = """
@page {
  size: A4;
  margin: 20mm 15mm 20mm 15mm;
  @top-center { content: "{marking}"; font: bold 9pt Arial, Helvetica, sans-serif; }
  @bottom-center { content: "{marking}"; font: bold 9pt Arial, Helvetica, sans-serif; }
  @bottom-right { content: "Page " counter(page) " of " counter(pages);
                  font: 8pt Arial, Helvetica, sans-serif; }
}
html, body { font-size: 10pt; max-width: none; background: white; }
.jp-Notebook { padding: 0; }
.jp-Cell, .jp-OutputArea, .jp-OutputArea-child, .jp-Cell-outputWrapper,
.jp-OutputArea-output { overflow: visible !important; }
.jp-InputPrompt, .jp-OutputPrompt, .jp-Collapser { display: none !important; }
h1, h2, h3, h4, h5, h6 { break-after: avoid; break-inside: avoid; }
/* A heading ends its notebook cell or output: that stays with the next one (its table or chart). */
.jp-Cell:has(h1:last-child, h2:last-child, h3:last-child, h4:last-child, h5:last-child,
             h6:last-child),
.jp-OutputArea-child:has(h1:last-child, h2:last-child, h3:last-child, h4:last-child,
                         h5:last-child, h6:last-child) { break-after: avoid; }
h1 { font-size: 18pt; } h2 { font-size: 15pt; } h3 { font-size: 12pt; }
.sa-caption { break-after: avoid; }
table, table.sa-table { break-inside: avoid; font-size: 7.5pt !important; max-width: 100%; }
tr, td, th { break-inside: avoid; }
thead { display: table-header-group; }
td, th { overflow-wrap: break-word; }
.jp-RenderedHTMLCommon table.sa-table th, .jp-RenderedHTMLCommon table.sa-table td,
.sa-table th, .sa-table td { padding: 1pt 3pt !important; }
a.anchor-link { display: none; }
img, figure, .jp-RenderedImage { break-inside: avoid; max-width: 100%; }
img { height: auto; }
p, li { orphans: 3; widows: 3; }
nav.sa-toc { break-after: page; }
nav.sa-toc ul, nav.sa-toc li { list-style: none; padding-left: 0; }
nav.sa-toc a { color: inherit; text-decoration: none; }
nav.sa-toc a::after { content: leader('.') target-counter(attr(href), page); }
.sa-marking { display: none; }
a[href^="http"]::after { content: " (" attr(href) ")"; font-size: 8pt; }
"""


def print_css(audience: str) -> str:
    """The print stylesheet with the build's marking in the page margins.

    Examples
    --------
    >>> '@top-center { content: "OFFICIAL"' in print_css("official")
    True
    """
    return PRINT_CSS.replace("{marking}", marking(audience).replace('"', r"\""))


def render_report(page: str, audience: str) -> Document:
    """Lay ``report.html`` out on A4 pages (a WeasyPrint ``Document``; nothing written).

    Parameters
    ----------
    page : str
        The assembled ``report.html``.
    audience : {"official", "public"}

    Examples
    --------
    >>> doc = render_report("<html><body><h1>T</h1></body></html>", "public")
    >>> len(doc.pages)
    1
    """
    from weasyprint import CSS, HTML
    from weasyprint.urls import URLFetcher

    # Only the charts embedded in the page (data: URLs); nothing remote, no local file.
    fetcher = URLFetcher(allowed_protocols=("data",))
    # WeasyPrint warns about every screen-only CSS property of the notebook theme.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    css = CSS(string=print_css(audience), url_fetcher=fetcher)
    # The anchor moves into its heading, so the contents give the heading's page (an empty
    # paragraph could stay at the bottom of the page before).
    page = _ANCHOR_BEFORE_HEADING.sub(r'\2<a id="\1"></a>', page)
    return HTML(string=page, base_url=None, url_fetcher=fetcher).render(stylesheets=[css])


def report_pdf(page: str, audience: str) -> bytes:
    """``report.pdf`` for a build: ``report.html`` printed to A4 (see the module docstring).

    Parameters
    ----------
    page : str
        The assembled ``report.html``.
    audience : {"official", "public"}
        Chooses the marking printed at the top and bottom of every page.

    Returns
    -------
    bytes
        The PDF.

    Examples
    --------
    >>> report_pdf("<html><body><h1>T</h1></body></html>", "official")[:5]
    b'%PDF-'
    """
    return render_report(page, audience).write_pdf()
