"""Where an assessment's commentary file lives, and its skeleton (``sa init``, ``sa new-year``).

The analyst's own words are kept out of the notebooks (a run would overwrite them):
each parameters file has a Markdown file beside it, ``parameters/<stem>_commentary.md``
(or the path its ``commentary:`` key names), with one ``## <section id>`` heading per
section of the report.  :mod:`sa_lib.report.commentary` reads it and merges it into
the report; this module only names the file and writes an empty skeleton, so that the
data layer (which writes parameters files) can make one without the report layer.

The section ids are the numbers of the report's headings: the numbered headings of
the notebooks (``## 2.3 Monthly total: SPC chart``) and one ``3.N`` per theme, in the
order of the parameters file's ``themes`` (the themes chapter numbers its sections so).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path

from sa_lib.paths import NOTEBOOKS_DIR

__all__ = ["commentary_file", "section_headings", "commentary_skeleton", "write_skeleton",
           "SECTION_ID", "PLACEHOLDER"]

#: A report heading that starts with a section id: ``# 2.``, ``## 2.3 Title``, ``## 3.1``.
SECTION_ID = re.compile(r"^#{1,4}[ \t]+(\d{1,3}(?:\.\d{1,3})*)\.?(?:[ \t]+(.*?))?[ \t]*#*[ \t]*$",
                        re.MULTILINE)
#: What the skeleton puts under each heading: an HTML comment, never shown in the report.
PLACEHOLDER = "<!-- Your commentary on this section, or leave empty. -->"
_THEMES_CHAPTER = "3"


def commentary_file(parameters_file: str | Path, named: str | None = None) -> Path:
    """The commentary file of a parameters file: ``<stem>_commentary.md`` beside it.

    Parameters
    ----------
    parameters_file : path
        The assessment's parameters file.
    named : str, optional
        The parameters' ``commentary:`` value; a relative path is read from the
        parameters file's folder.

    Examples
    --------
    >>> commentary_file("parameters/2025.yaml").as_posix()
    'parameters/2025_commentary.md'
    >>> commentary_file("parameters/2025.yaml", "notes/board.md").as_posix()
    'parameters/notes/board.md'
    """
    p = Path(parameters_file)
    if named:
        q = Path(named)
        return q if q.is_absolute() else p.parent / q
    return p.with_name(f"{p.stem}_commentary.md")


def _notebook_headings(folder: Path) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for nb in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8")).get("cells", [])
        for cell in cells:
            if cell.get("cell_type") != "markdown":
                continue
            source = cell.get("source", "")
            text = "".join(source) if isinstance(source, list) else source
            out.extend((m.group(1), (m.group(2) or "").strip()) for m in SECTION_ID.finditer(text))
    return out


def section_headings(theme_names: Iterable[str],
                     notebooks: Path = NOTEBOOKS_DIR) -> list[tuple[str, str]]:
    """The report's section ids and titles, in report order, without running anything.

    Examples
    --------
    >>> heads = section_headings(["Violence", "Road safety"])
    >>> ("3.2", "Road safety") in heads and heads.index(("3.1", "Violence")) > 0
    True
    """
    heads = _notebook_headings(notebooks)
    themes = [(f"{_THEMES_CHAPTER}.{i}", str(n)) for i, n in enumerate(theme_names, start=1)]
    at = next((i + 1 for i, (sid, _) in enumerate(heads) if sid == _THEMES_CHAPTER), len(heads))
    return heads[:at] + themes + heads[at:]


def commentary_skeleton(theme_names: Iterable[str], title: str = "",
                        notebooks: Path = NOTEBOOKS_DIR) -> str:
    """An empty commentary file: one heading per section id, a placeholder comment under each.

    Examples
    --------
    >>> text = commentary_skeleton(["Violence"])
    >>> "## 3.1 Violence" in text and PLACEHOLDER in text
    True
    """
    lines = [f"# Analyst's commentary{': ' + title if title else ''}", "",
             "<!-- Write under a section's heading; the report shows it under that section,",
             "     marked as commentary. Headings are matched on their number (\"## 2.3\"); the",
             "     title after it is only a reminder. Comments like this one are never shown.",
             "     Plain text, paragraphs, **bold**, *italic* and '- ' lists; HTML is shown as",
             "     text. `sa run` warns when a number you quote no longer appears in the",
             "     section. -->", ""]
    for sid, heading in section_headings(theme_names, notebooks):
        lines += [f"## {sid} {heading}".rstrip(), "", PLACEHOLDER, ""]
    return "\n".join(lines)


def write_skeleton(target: Path, theme_names: Iterable[str], title: str = "") -> bool:
    """Write the skeleton at ``target`` unless a file is already there; True when written.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "x_commentary.md"
    >>> write_skeleton(p, ["Violence"]), write_skeleton(p, ["Violence"])
    (True, False)
    """
    try:
        with open(target, "x", encoding="utf-8", newline="\n") as fh:
            fh.write(commentary_skeleton(theme_names, title))
    except FileExistsError:
        return False
    return True
