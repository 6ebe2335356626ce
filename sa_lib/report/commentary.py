"""The analyst's own words: a commentary file merged under the report's sections.

An analyst explains figures ("the fall in vehicle crime follows the operation in the
town centre") in ``parameters/<stem>_commentary.md`` (or the file the parameters'
``commentary:`` key names), never in a notebook, which the next run overwrites::

    ## 2.3 Monthly total: SPC chart

    The fall since June follows the town-centre operation.

Headings are matched on their section id, the number the report's heading starts
with (``## 2.3`` or ``## 2.3 Monthly total: SPC chart``); the title after it is only a
reminder.  Each section's commentary is shown at the end of that section, in an
"Analyst's commentary" box, in ``report.html`` and in the chapter's own page.

The text is rendered safely: every character is escaped (HTML in the file is shown as
text, as data are everywhere in the report); paragraphs, ``- `` lists, ``**bold**``
and ``*italic*`` are kept.  HTML comments (the skeleton's placeholders) are dropped.

:func:`commentary_warnings` is what ``sa run`` prints: a heading whose id is no section
of the report, and every paragraph quoting a number its section no longer shows (the
figures moved on, or the public build suppresses them).
"""

from __future__ import annotations

import copy
import html
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import nbformat

from sa_lib.data.commentary_files import SECTION_ID, commentary_file
from sa_lib.errors import ParameterError
from sa_lib.rounding import round_half_up

__all__ = ["Commentary", "parse_commentary", "load_commentary", "commentary_html",
           "with_commentary", "section_texts", "stale_numbers", "commentary_warnings",
           "COMMENTARY_LABEL"]

COMMENTARY_LABEL = "Analyst's commentary"
_COMMENT = re.compile(r"<!--.*?(-->|\Z)", re.DOTALL)
_ANY_HEADING = re.compile(r"^#{1,6}[ \t]+(.*)$", re.MULTILINE)
#: A number as written in prose: 12, 12.5, 1,234, 12% (a leading minus is not kept).
_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![\w])")
_YEAR = re.compile(r"^(19|20)\d\d$")
_TAG = re.compile(r"<[^>]*>")
_LEADING_ANCHORS = re.compile(r'(?:<a id="[^"<>]*"></a>\s*)*\Z')
_BOX_STYLE = ("border-left:4px solid #005eb8;background:#f0f4f5;padding:0.4rem 1rem;"
              "margin:1rem 0")


@dataclass
class Commentary:
    """The commentary of one assessment: section id -> Markdown text, and where it was read.

    ``problems`` lists headings that carry no section id.
    """

    sections: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    problems: list[str] = field(default_factory=list)


def parse_commentary(text: str, path: Path | None = None) -> Commentary:
    """Read a commentary file's text: the text under each numbered heading, comments dropped.

    Sections left empty (the skeleton's placeholder only) are not kept.  A heading
    without a section id is a problem, named; text before the first heading is a
    preamble and not shown.

    Examples
    --------
    >>> c = parse_commentary("# Notes\\n## 2.3 SPC\\nFell by 12%.\\n## 2.4\\n<!-- todo -->\\n")
    >>> c.sections
    {'2.3': 'Fell by 12%.'}
    >>> parse_commentary("## Overview\\ntext").problems
    ["heading 'Overview' has no section id; expected one like '## 2.3'"]
    """
    text = _COMMENT.sub("", text.replace("\r\n", "\n"))
    out = Commentary(path=path)
    heads = list(_ANY_HEADING.finditer(text))
    for i, m in enumerate(heads):
        body = text[m.end(): heads[i + 1].start() if i + 1 < len(heads) else len(text)].strip()
        sid = SECTION_ID.match(m.group(0))
        if sid is None:
            if i > 0 or body:  # the file's own title (first heading, nothing under it) is fine
                out.problems.append(f"heading {m.group(1).strip()!r} has no section id; "
                                    "expected one like '## 2.3'")
            continue
        if body:
            key = sid.group(1)
            out.sections[key] = (out.sections[key] + "\n\n" + body) if key in out.sections \
                else body
    return out


def load_commentary(parameters_file: str | Path, named: str | None = None) -> Commentary:
    """The commentary of a parameters file (empty when its commentary file does not exist).

    Examples
    --------
    >>> load_commentary("parameters/no_such.yaml").sections
    {}
    """
    path = commentary_file(parameters_file, named)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Commentary(path=path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ParameterError(f"cannot read the commentary file {path}: {exc}") from None
    return parse_commentary(text, path)


def _inline(text: str) -> str:
    s = html.escape(text, quote=False)
    s = re.sub(r"\*\*(?=\S)(.+?)(?<=\S)\*\*", r"<strong>\1</strong>", s)
    return re.sub(r"(?<![*\w])\*(?=\S)([^*]+?)(?<=\S)\*(?![*\w])", r"<em>\1</em>", s)


def commentary_html(markdown: str) -> str:
    """A section's commentary as one line of HTML: the marked box, every character escaped.

    Examples
    --------
    >>> print(commentary_html("Fell by **12%**.\\n\\n- one\\n- <b>two</b>"))  # doctest: +ELLIPSIS
    <aside class="sa-commentary" ...><p>Fell by <strong>12%</strong>.</p><ul><li>one</li><li>&lt;b&gt;two&lt;/b&gt;</li></ul></aside>
    """
    blocks = []
    for para in re.split(r"\n[ \t]*\n", markdown.strip()):
        lines = [ln.strip() for ln in para.strip().splitlines() if ln.strip()]
        if lines and all(re.match(r"[-*+][ \t]", ln) for ln in lines):
            items = "".join(f"<li>{_inline(ln[2:].strip())}</li>" for ln in lines)
            blocks.append(f"<ul>{items}</ul>")
        elif lines:
            blocks.append(f"<p>{_inline(' '.join(lines))}</p>")
    return (f'<aside class="sa-commentary" role="note" aria-label="{COMMENTARY_LABEL}" '
            f'style="{_BOX_STYLE}"><p class="sa-commentary-label"><strong>{COMMENTARY_LABEL}'
            f"</strong></p>{''.join(blocks)}</aside>")


@lru_cache(maxsize=8)
def _cached(parameters_file: str, mtime: float) -> Commentary:
    from sa_lib.data.parameters import load_parameters

    params = load_parameters(parameters_file)
    return load_commentary(params.source or parameters_file, params.commentary)


def _notebook_commentary(nb: nbformat.NotebookNode) -> Commentary:
    """The commentary of the parameters file papermill ran this notebook with."""
    pm = nb.get("metadata", {}).get("papermill", {})
    source = (pm.get("parameters") or {}).get("parameters_file")
    if not source or not Path(source).is_file():
        return Commentary()
    return _cached(str(source), Path(source).stat().st_mtime)


def _markdown_with_boxes(text: str, sections: dict[str, str],
                         pending: list[str | None]) -> str:
    """``text`` with the due commentary put before each numbered heading it holds."""
    out, at = [], 0
    for m in SECTION_ID.finditer(text):
        # Before the anchors that lead the heading (a link to the section lands on them).
        start = m.start() - len(_LEADING_ANCHORS.search(text[at:m.start()]).group(0))
        out.append(text[at:start])
        due = pending[0]
        if due is not None and due in sections:
            out.append(f"\n\n{commentary_html(sections[due])}\n\n")
        pending[0] = m.group(1)
        at = start
    out.append(text[at:])
    return "".join(out)


def with_commentary(nb: nbformat.NotebookNode,
                    commentary: Commentary | None = None) -> nbformat.NotebookNode:
    """A copy of an executed notebook with each section's commentary at the end of it.

    ``commentary`` defaults to the one of the parameters file the notebook was run
    with (papermill records it).  A section ends where the next numbered heading
    starts (in a Markdown cell or in generated Markdown) or where the notebook ends.

    Examples
    --------
    >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("## 2.3 SPC\\n\\nx"),
    ...                                      nbformat.v4.new_markdown_cell("## 2.4 Next")])
    >>> out = with_commentary(nb, Commentary({"2.3": "Up."}))
    >>> "Up." in out.cells[1].source and out.cells[1].source.endswith("## 2.4 Next")
    True
    """
    commentary = commentary if commentary is not None else _notebook_commentary(nb)
    if not commentary.sections:
        return nb
    nb = copy.deepcopy(nb)
    pending: list[str | None] = [None]
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = _markdown_with_boxes(cell.source, commentary.sections, pending)
            continue
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "text/markdown" in data:
                data["text/markdown"] = _markdown_with_boxes(data["text/markdown"],
                                                             commentary.sections, pending)
    if pending[0] in commentary.sections:
        nb.cells.append(nbformat.v4.new_markdown_cell(
            commentary_html(commentary.sections[pending[0]])))  # type: ignore[index]
    return nb


def _cell_texts(cell: nbformat.NotebookNode) -> list[tuple[str, bool]]:
    """(text, is Markdown) pieces of a cell, in order: what a reader sees."""
    if cell.cell_type == "markdown":
        return [(cell.source, True)]
    pieces = []
    for out in cell.get("outputs", []):
        data = out.get("data", {})
        if "text/markdown" in data:
            pieces.append((data["text/markdown"], True))
        elif "text/html" in data:
            pieces.append((html.unescape(_TAG.sub(" ", data["text/html"])), False))
        alt = (out.get("metadata", {}).get("image/png") or {}).get("alt") \
            if isinstance(out.get("metadata", {}).get("image/png"), dict) else None
        alt = alt or out.get("metadata", {}).get("alt")
        if alt:
            pieces.append((str(alt), False))
    return pieces


def section_texts(paths: list[Path]) -> dict[str, str]:
    """The text a reader sees in each numbered section of executed notebooks.

    Examples
    --------
    >>> section_texts(executed)["2.3"]  # doctest: +SKIP
    """
    texts: dict[str, list[str]] = {}
    current: str | None = None
    for p in paths:
        nb = nbformat.read(p, as_version=4)
        for cell in nb.cells:
            for text, is_md in _cell_texts(cell):
                at = 0
                if is_md:
                    for m in SECTION_ID.finditer(text):
                        if current is not None:
                            texts[current].append(text[at:m.start()])
                        current, at = m.group(1), m.start()
                        texts.setdefault(current, [])
                if current is not None:
                    texts[current].append(text[at:])
    return {k: "\n".join(v) for k, v in texts.items()}


def _numbers(text: str) -> list[tuple[str, float, int]]:
    """(as written, value, decimals) of every number in prose; years left out."""
    out = []
    for m in _NUMBER.finditer(text):
        whole, frac = m.group(1), m.group(2) or ""
        if not frac and _YEAR.match(whole):
            continue
        out.append((m.group(0), float(whole.replace(",", "") + frac), len(frac) - 1 if frac else 0))
    return out


def stale_numbers(paragraph: str, section_text: str) -> list[str]:
    """The numbers ``paragraph`` quotes that ``section_text`` does not show (to their rounding).

    Examples
    --------
    >>> stale_numbers("Fell by 12% to 1,234 in 2025.", "down 12.3%; 1,234 crimes")
    []
    >>> stale_numbers("Fell by 15%, to 1,200.", "down 12.3%; 1,234 crimes")
    ['15%', '1,200']
    """
    shown = [v for _, v, _ in _numbers(section_text)]
    stale = []
    for written, value, decimals in _numbers(paragraph):
        if not any(round_half_up(v, decimals) == value for v in shown):
            rest = paragraph[paragraph.find(written) + len(written):]
            stale.append(written + ("%" if rest.startswith("%") else ""))
    return list(dict.fromkeys(stale))


def _in_section(sid: str, texts: dict[str, str]) -> str:
    return "\n".join(t for k, t in texts.items() if k == sid or k.startswith(sid + "."))


def _shown(path: Path) -> str:
    from sa_lib.paths import PROJECT_ROOT

    try:
        return Path(path).resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


def commentary_warnings(commentary: Commentary, builds: dict[str, list[Path]]) -> list[str]:
    """What ``sa run`` warns about a commentary: bad headings, unknown ids, stale numbers.

    ``builds`` maps each audience to its executed notebooks.  One line per problem: a
    heading with no id, an id that is no section of the report (named), and one line
    per paragraph quoting a number its section (with its subsections) does not show,
    naming the build when only one build lacks it (the public build suppresses small
    counts: a number quoted there is one the public report must not show).

    Examples
    --------
    >>> commentary_warnings(Commentary({"9.9": "x"}, Path("c.md")), {"official": []})
    ["commentary c.md: section '9.9' is not a section of the report; its text is not shown"]
    """
    where = f"commentary {_shown(commentary.path)}" if commentary.path else "commentary"
    lines = [f"{where}: {p}" for p in commentary.problems]
    if not commentary.sections:
        return lines
    texts = {audience: section_texts(paths) for audience, paths in builds.items()}
    known = set().union(*(t.keys() for t in texts.values())) if texts else set()
    for sid, body in commentary.sections.items():
        if sid not in known:
            lines.append(f"{where}: section {sid!r} is not a section of the report; its text "
                         "is not shown")
            continue
        for para in re.split(r"\n[ \t]*\n", body):
            stale = {a: stale_numbers(para, _in_section(sid, t)) for a, t in texts.items()}
            start = " ".join(para.split())[:60]
            if len({tuple(v) for v in stale.values()}) == 1:
                stale = {"": next(iter(stale.values()))}
            for audience, numbers in stale.items():
                if numbers:
                    build = f" ({audience} build)" if audience else ""
                    lines.append(f"{where}: section {sid}{build} quotes {', '.join(numbers)}, "
                                 f"which the section no longer shows, in: \"{start}\"")
    return lines
