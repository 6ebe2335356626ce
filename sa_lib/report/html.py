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
from datetime import UTC, datetime
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

from sa_lib.report.commentary import with_commentary
from sa_lib.report.marking import notebook_audience, with_marking
from sa_lib.report.publish import markdown_escape

__all__ = ["notebook_html", "combined_report", "strip_remote_resources", "built_line",
           "without_built_line", "BUILT_LINE"]

TEMPLATE_DIR = Path(__file__).parent / "templates"
_HEADING = re.compile(r"^(#{1,3})\s+(.+?)\s*#*\s*$", re.MULTILINE)
_REMOTE = re.compile(
    r"<script\b[^>]*\bsrc=[\"']?(https?:)?//[^>]*>\s*</script>|"
    r"<link\b[^>]*\bhref=[\"']?(https?:)?//[^>]*>|"
    r"<script\b[^>]*\bsrc=[\"'][\"'][^>]*>\s*</script>",
    re.IGNORECASE,
)
_SKIP_TAGS = {"parameters", "injected-parameters", "remove-cell"}
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
    return _with_built_line(strip_remote_resources(body), built)


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


def combined_report(paths: list[Path], title: str, audience: str,
                    built: datetime | None = None) -> str:
    """All executed notebooks as one stakeholder report with a linked table of contents.

    Every level-1 to level-3 heading (in markdown cells and in generated markdown
    output) gets an explicit anchor ``sec-N``; the contents list links to them.
    ``built`` adds the documented built line (module docstring).

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
            toc.append((len(m.group(1)), m.group(2), aid))
            return f'<a id="{aid}"></a>\n\n{m.group(1)} {m.group(2)}'

        return _HEADING.sub(repl, text)

    for p in paths:
        nb = _clean(with_commentary(nbformat.read(p, as_version=4)))  # commentary.py
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = anchor(cell.source)
            else:
                for out in cell.get("outputs", []):
                    if "text/markdown" in out.get("data", {}):
                        out["data"]["text/markdown"] = anchor(out["data"]["text/markdown"])
            merged.cells.append(cell)
    items = "\n".join(
        f'<li style="margin-left:{(depth - 1) * 1.2}rem"><a href="#{aid}">{_toc_text(text)}</a></li>'
        for depth, text, aid in _toc_depths(toc)
    )
    label = "OFFICIAL" if audience == "official" else "PUBLIC (disclosure control applied)"
    head = nbformat.v4.new_markdown_cell(
        f"# {markdown_escape(title)}\n\n<p class='sa-banner'>{label}</p>\n\n"
        f"<nav class='sa-toc' aria-label='Contents'><h2>Contents</h2><ul>{items}</ul></nav>"
    )
    merged.cells.insert(0, head)
    merged.metadata["title"] = title
    body, _ = _exporter().from_notebook_node(_clean(merged))
    return _with_built_line(strip_remote_resources(body), built)
