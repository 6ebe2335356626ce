"""Executed notebooks -> stakeholder HTML: code hidden, offline, accessible, with a contents list.

nbconvert's lab template loads require.js and MathJax from a CDN; the
``sa_report`` template (``sa_lib/templates``) drops every script and writes each
chart's alt text into its ``<img>``.  As a second guard, any remaining tag that
would fetch from the internet is removed.
"""

from __future__ import annotations

import copy
import html
import re
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

__all__ = ["notebook_html", "combined_report", "strip_remote_resources"]

TEMPLATE_DIR = Path(__file__).parent / "templates"
_HEADING = re.compile(r"^(#{1,3})\s+(.+?)\s*#*\s*$", re.MULTILINE)
_REMOTE = re.compile(
    r"<script\b[^>]*\bsrc=[\"']?(https?:)?//[^>]*>\s*</script>|"
    r"<link\b[^>]*\bhref=[\"']?(https?:)?//[^>]*>|"
    r"<script\b[^>]*\bsrc=[\"'][\"'][^>]*>\s*</script>",
    re.IGNORECASE,
)
_SKIP_TAGS = {"parameters", "injected-parameters", "remove-cell"}


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


def notebook_html(path: Path, title: str | None = None) -> str:
    """One executed notebook as a self-contained HTML page with the code hidden."""
    nb = _clean(nbformat.read(path, as_version=4))
    nb.metadata["title"] = title or _first_heading(nb) or path.stem
    body, _ = _exporter().from_notebook_node(nb)
    return strip_remote_resources(body)


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


def combined_report(paths: list[Path], title: str, audience: str) -> str:
    """All executed notebooks as one stakeholder report with a linked table of contents.

    Every level-1 to level-3 heading (in markdown cells and in generated markdown
    output) gets an explicit anchor ``sec-N``; the contents list links to them.
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
        nb = _clean(nbformat.read(p, as_version=4))
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = anchor(cell.source)
            else:
                for out in cell.get("outputs", []):
                    if "text/markdown" in out.get("data", {}):
                        out["data"]["text/markdown"] = anchor(out["data"]["text/markdown"])
            merged.cells.append(cell)
    items = "\n".join(
        f'<li style="margin-left:{(level - 1) * 1.2}rem"><a href="#{aid}">{html.escape(text)}</a></li>'
        for level, text, aid in toc
    )
    label = "OFFICIAL" if audience == "official" else "PUBLIC (disclosure control applied)"
    head = nbformat.v4.new_markdown_cell(
        f"# {html.escape(title)}\n\n<p class='sa-banner'>{label}</p>\n\n"
        f"<nav class='sa-toc' aria-label='Contents'><h2>Contents</h2><ul>{items}</ul></nav>"
    )
    merged.cells.insert(0, head)
    merged.metadata["title"] = title
    body, _ = _exporter().from_notebook_node(_clean(merged))
    return strip_remote_resources(body)
