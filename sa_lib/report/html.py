"""Executed notebooks -> stakeholder HTML: code hidden, offline, accessible, with a contents list.

nbconvert's lab template loads require.js and MathJax from a CDN; the
``sa_report`` template (``sa_lib/templates``) drops every script and writes each
chart's alt text into its ``<img>``.  As a second guard, any remaining tag that
would fetch from the internet is removed.

The built line
--------------
Every page the runner writes (``report.html`` and one page per notebook) ends
with exactly one line saying when it was built, on a line of its own just
before ``</main>``::

    <p class="sa-built">Built 2026-12-02 05:40 UTC</p>

It is the only line that may differ between two runs on the same inputs: the
rest of each page is a pure function of the executed notebooks, and nothing
else in a build (tables, workbook, charts, notebooks, manifest) holds the time.
:func:`without_built_line` removes it, which is how the tests compare two runs.
The runner takes the time from ``SOURCE_DATE_EPOCH`` when that is set (the
reproducible-builds convention), which makes two runs byte-identical.
"""

from __future__ import annotations

import copy
import html
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from sa_lib.report.chapters.common import SYNTHETIC_NOTE
from sa_lib.report.commentary import with_commentary
from sa_lib.report.marking import notebook_audience, with_marking
from sa_lib.report.publish import markdown_escape
from sa_lib.report.spc_icons import add_spc_icons

__all__ = ["notebook_html", "combined_report", "one_synthetic_note_per_section", "strip_remote_resources", "built_line",
           "without_built_line", "BUILT_LINE", "Cover", "unique_ids", "reading_order",
           "ANNEX_TAG", "FRONT"]

TEMPLATE_DIR = Path(__file__).parent / "templates"
_HEADING = re.compile(r"^(#{1,3})\s+(.+?)\s*#*\s*$", re.MULTILINE)
_REMOTE = re.compile(
    r"<script\b[^>]*\bsrc=[\"']?(https?:)?//[^>]*>\s*</script>|"
    r"<link\b[^>]*\bhref=[\"']?(https?:)?//[^>]*>|"
    r"<script\b[^>]*\bsrc=[\"'][\"'][^>]*>\s*</script>",
    re.IGNORECASE,
)
_SKIP_TAGS = {"parameters", "injected-parameters", "remove-cell"}
#: Cells with this tag are moved from their chapter to the annex at the end of report.html.
ANNEX_TAG = "annex"
#: A notebook whose metadata has ``{"sa_report": {"place": FRONT}}`` (the executive
#: summary) comes first in report.html, straight after the cover.
FRONT = "front"
#: Headings down to this level are listed in the contents (all levels 1-3 get an anchor).
_TOC_LEVELS = 2
ANNEX_HEADING = "# Annex A. Data quality and file provenance"
_ID = re.compile(r'\b(id|href)="(#?)([^"]*)"')
#: The one line of a page that says when it was built (see the module docstring).
BUILT_LINE = re.compile(r'^<p class="sa-built">Built \d{4}-\d\d-\d\d \d\d:\d\d UTC</p>\n', re.MULTILINE)


def _exporter() -> HTMLExporter:
    exp = HTMLExporter(template_name="sa_report", extra_template_basedirs=[str(TEMPLATE_DIR)])
    exp.exclude_input = True
    exp.exclude_input_prompt = True
    exp.exclude_output_prompt = True
    exp.embed_images = True
    return exp


def strip_remote_resources(page: str) -> str:
    """Remove any ``<script src>``/``<link href>`` that points at the internet.

    Examples
    --------
    >>> strip_remote_resources('<script src="https://cdn.x/a.js"></script><p>ok</p>')
    '<p>ok</p>'
    """
    return _REMOTE.sub("", page)


def built_line(when: datetime) -> str:
    """The documented "built" line for a page built at ``when`` (shown in UTC, to the minute).

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> built_line(datetime(2026, 12, 2, 5, 40, 31, tzinfo=UTC))
    '<p class="sa-built">Built 2026-12-02 05:40 UTC</p>'
    """
    if when.tzinfo is None:
        raise ValueError("built_line needs an aware datetime (e.g. datetime.now(UTC))")
    return f'<p class="sa-built">Built {when.astimezone(UTC):%Y-%m-%d %H:%M} UTC</p>'


def without_built_line(page: str) -> str:
    """A page with its "built" line removed: what must be identical between two runs.

    Examples
    --------
    >>> without_built_line('<main>\\n<p class="sa-built">Built 2026-12-02 05:40 UTC</p>\\n</main>')
    '<main>\\n</main>'
    """
    return BUILT_LINE.sub("", page)


def _with_built_line(page: str, built: datetime | None) -> str:
    """Put the built line on its own line just before ``</main>`` (or ``</body>``)."""
    if built is None:
        return page
    at = page.rfind("</main>")
    if at < 0:
        at = page.rfind("</body>")
    if at < 0:
        raise ValueError("the page has neither </main> nor </body>: nowhere to put the built line")
    before = page[:at] if page[:at].endswith("\n") else page[:at] + "\n"
    return f"{before}{built_line(built)}\n{page[at:]}"


def _clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drop parameter cells and papermill's volatile metadata, so the HTML is stable."""
    nb = copy.deepcopy(nb)
    nb.cells = [c for c in nb.cells if not (_SKIP_TAGS & set(c.get("metadata", {}).get("tags", [])))]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i}"
        cell.get("metadata", {}).pop("papermill", None)
        cell.get("metadata", {}).pop("execution", None)
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    return nb


def notebook_html(path: Path, title: str | None = None, built: datetime | None = None) -> str:
    """One executed notebook as a self-contained HTML page with the code hidden.

    Parameters
    ----------
    path : Path
        An executed notebook.
    title : str, optional
        The page title (default: the notebook's first heading).
    built : datetime, optional
        When the report was built: adds the documented built line (module
        docstring).  Without it the page is a pure function of the notebook.

    Examples
    --------
    >>> page = notebook_html(executed_notebook)  # doctest: +SKIP
    """
    nb = _clean(with_commentary(nbformat.read(path, as_version=4)))
    nb.metadata["title"] = title or _first_heading(nb) or path.stem
    body, _ = _exporter().from_notebook_node(nb)
    body = with_marking(body, notebook_audience(path))  # the build's marking, top and bottom
    return _with_built_line(add_spc_icons(strip_remote_resources(body)), built)


def _first_heading(nb: nbformat.NotebookNode) -> str | None:
    for cell in nb.cells:
        for text in _markdown_texts(cell):
            m = _HEADING.search(text)
            if m:
                return m.group(2)
    return None


def _markdown_texts(cell: nbformat.NotebookNode) -> list[str]:
    if cell.cell_type == "markdown":
        return [cell.source]
    return [out["data"]["text/markdown"] for out in cell.get("outputs", [])
            if "text/markdown" in out.get("data", {})]


def _toc_text(heading: str) -> str:
    """A Markdown heading as contents-list text: its backslash escapes and entities undone
    (they were put there by ``markdown_escape``), then escaped once for HTML."""
    return html.escape(html.unescape(re.sub(r"\\(.)", r"\1", heading)), quote=False)


def _toc_depths(toc: list[tuple[int, str, str]]) -> list[tuple[int, str, str]]:
    """Contents entries indented at most one step deeper than the entry before them
    (a chapter whose sections are ``###`` headings is not indented twice)."""
    out: list[tuple[int, str, str]] = []
    open_levels: list[int] = []  # heading levels of the entries this one sits under
    for level, text, aid in toc:
        while open_levels and open_levels[-1] >= level:
            open_levels.pop()
        open_levels.append(level)
        out.append((len(open_levels), text, aid))
    return out


@dataclass(frozen=True)
class Cover:
    """What the cover of report.html says: who, what, which period, when, which edition.

    Examples
    --------
    >>> from datetime import date
    >>> c = Cover("Maidstone Community Safety Partnership", "Strategic Assessment 2025",
    ...           "Jan 2025 – Dec 2025", date(2026, 1, 15), "1.0")
    >>> "<dt>Version</dt><dd>1.0</dd>" in c.html("OFFICIAL")
    True
    """

    partnership: str  #: e.g. "Maidstone Community Safety Partnership"
    title: str
    period: str
    date: date
    version: str = "1.0"
    owner: str = ""

    def html(self, marking: str) -> str:
        """The cover as one HTML block: marking, partnership, title, then the details."""
        e = html.escape
        owner = self.owner or self.partnership
        rows = [("Period", self.period), ("Date", f"{self.date.day} {self.date:%B %Y}"),
                ("Version", self.version), ("Owner", owner), ("Marking", marking)]
        details = "".join(f"<div><dt>{e(k)}</dt><dd>{e(v)}</dd></div>" for k, v in rows)
        return (f"<header class='sa-cover'><p class='sa-banner'>{e(marking)}</p>"
                f"<p class='sa-partnership'>{e(self.partnership)}</p><h1 id='sa-title'>{e(self.title)}</h1>"
                f"<dl class='sa-cover-details'>{details}</dl></header>")


def reading_order(notebooks: list[nbformat.NotebookNode]) -> list[int]:
    """Indices of ``notebooks`` in the order report.html shows them: front first.

    Examples
    --------
    >>> nbs = [nbformat.v4.new_notebook() for _ in range(3)]
    >>> nbs[2].metadata["sa_report"] = {"place": FRONT}
    >>> reading_order(nbs)
    [2, 0, 1]
    """
    def front(nb: nbformat.NotebookNode) -> bool:
        return nb.metadata.get("sa_report", {}).get("place") == FRONT

    return ([i for i, nb in enumerate(notebooks) if front(nb)]
            + [i for i, nb in enumerate(notebooks) if not front(nb)])


def unique_ids(page: str) -> str:
    """Make every ``id`` in a page unique (WCAG 1.3.1), and point each ``href="#id"`` that
    follows a renamed id at the renamed one (nbconvert's heading anchor links).

    Examples
    --------
    >>> unique_ids('<h4 id="Charts"><a href="#Charts">¶</a></h4><h4 id="Charts">'
    ...            '<a href="#Charts">¶</a></h4>')
    '<h4 id="Charts"><a href="#Charts">¶</a></h4><h4 id="Charts-2"><a href="#Charts-2">¶</a></h4>'
    """
    seen: dict[str, int] = {}
    current: dict[str, str] = {}

    def repl(m: re.Match[str]) -> str:
        attr, hash_, name = m.groups()
        if attr == "id":
            n = seen.get(name, 0) + 1
            seen[name] = n
            new = name if n == 1 else f"{name}-{n}"
            while n > 1 and new in seen:
                n += 1
                new = f"{name}-{n}"
            if new != name:
                seen[new] = 1
            current[name] = new
            return f'id="{new}"'
        if hash_ and name in current:
            return f'href="#{current[name]}"'
        return m.group(0)

    return _ID.sub(repl, page)


#: What a table or chart note says instead of the full synthetic-data note, after the first.
SYNTHETIC_MARKER = "SYNTHETIC data."


def one_synthetic_note_per_section(page: str, note: str = SYNTHETIC_NOTE) -> str:
    """The full synthetic-data ``note`` once per ``<h1>`` section of a page; every later
    one in the same section becomes the short marker :data:`SYNTHETIC_MARKER`.

    Examples
    --------
    >>> page = "<h1>A</h1><p>N. x</p><p>N. y</p><h1>B</h1><p>N. z</p>"
    >>> one_synthetic_note_per_section(page, "N.")
    '<h1>A</h1><p>N. x</p><p>SYNTHETIC data. y</p><h1>B</h1><p>N. z</p>'
    """
    full = html.escape(note, quote=False)
    parts = re.split(r"(?=<h1\b)", page)
    out = []
    for part in parts:
        first = part.find(full)
        if first >= 0:
            at = first + len(full)
            part = part[:at] + part[at:].replace(full, SYNTHETIC_MARKER)
        out.append(part)
    return "".join(out)


def combined_report(paths: list[Path], title: str, audience: str,
                    built: datetime | None = None, cover: Cover | None = None) -> str:
    """All executed notebooks as one stakeholder report with a linked table of contents.

    The order is that of a real assessment: the cover (``cover``; without it, the title
    and marking), the executive summary (the notebook placed :data:`FRONT`), the contents,
    the chapters, and an annex of the cells tagged :data:`ANNEX_TAG` (data quality and
    file provenance), in the order they come.  Every level-1 to level-3 heading (in
    markdown cells and in generated markdown output) gets an explicit anchor ``sec-N``;
    the contents list links to them.  ``built`` adds the documented built line.

    Examples
    --------
    >>> page = combined_report(executed, "Strategic Assessment 2025", "public")  # doctest: +SKIP
    """
    merged = nbformat.v4.new_notebook()
    merged.metadata = nbformat.read(paths[0], as_version=4).metadata if paths else {}
    toc: list[tuple[int, str, str]] = []
    counter = 0

    def anchor(text: str) -> str:
        nonlocal counter

        def repl(m: re.Match[str]) -> str:
            nonlocal counter
            counter += 1
            aid = f"sec-{counter}"
            if len(m.group(1)) <= _TOC_LEVELS:
                toc.append((len(m.group(1)), m.group(2), aid))
            return f'<a id="{aid}"></a>\n\n{m.group(1)} {m.group(2)}'

        return _HEADING.sub(repl, text)

    def anchored(cell: nbformat.NotebookNode) -> nbformat.NotebookNode:
        if cell.cell_type == "markdown":
            cell.source = anchor(cell.source)
        else:
            for out in cell.get("outputs", []):
                if "text/markdown" in out.get("data", {}):
                    out["data"]["text/markdown"] = anchor(out["data"]["text/markdown"])
        return cell

    notebooks = [_clean(with_commentary(nbformat.read(p, as_version=4))) for p in paths]
    order = reading_order(notebooks)
    n_front = sum(1 for nb in notebooks if nb.metadata.get("sa_report", {}).get("place") == FRONT)
    annex: list[nbformat.NotebookNode] = []
    contents_at = 0
    for k, i in enumerate(order):
        if k == n_front:
            contents_at = len(merged.cells)
        for cell in notebooks[i].cells:
            if ANNEX_TAG in cell.get("metadata", {}).get("tags", []):
                annex.append(cell)
            else:
                merged.cells.append(anchored(cell))
    if annex:
        merged.cells.append(anchored(nbformat.v4.new_markdown_cell(ANNEX_HEADING)))
        merged.cells.extend(anchored(c) for c in annex)
    items = "\n".join(
        f'<li style="margin-left:{(depth - 1) * 1.2}rem"><a href="#{aid}">{_toc_text(text)}</a></li>'
        for depth, text, aid in _toc_depths(toc)
    )
    label = "OFFICIAL" if audience == "official" else "PUBLIC (disclosure control applied)"
    contents = nbformat.v4.new_markdown_cell(
        f"<nav class='sa-toc' aria-label='Contents'><h2 id='sa-contents'>Contents</h2>"
        f"<ul>{items}</ul></nav>")
    merged.cells.insert(contents_at, contents)
    head = nbformat.v4.new_markdown_cell(
        cover.html(label) if cover is not None else
        f"# {markdown_escape(title)}\n\n<p class='sa-banner'>{label}</p>")
    merged.cells.insert(0, head)
    merged.metadata["title"] = title
    body, _ = _exporter().from_notebook_node(_clean(merged))
    body = one_synthetic_note_per_section(add_spc_icons(strip_remote_resources(body)))
    return _with_built_line(unique_ids(body), built)
