"""NHS *Making Data Count* variation and assurance icons, drawn as small inline SVG.

SPC status must not be shown by colour alone (WCAG 1.4.1): each icon carries a letter
(``H``/``L`` for a special cause high or low, ``P``/``F``/``?`` for assurance pass, fail
or hit-and-miss) and a text alternative (``role="img"``, ``aria-label`` and ``<title>``).
Nothing is fetched: the icons are markup in the page.

:func:`add_spc_icons` puts them into a finished report page: in the cells of the SPC
summary tables (the "latest month" and "review window" readings and the review's "SPC
assurance" column) and beside each SPC chart, read from the chart's alt text.
"""

from __future__ import annotations

import html
import re

__all__ = ["variation_icon", "assurance_icon", "variation_of", "add_spc_icons"]

# (fill colour, label) in the Making Data Count palette: grey common cause, orange
# concern, blue improvement, purple neither.
_VARIATION = {
    "common": ("#a6a6a6", "Common cause variation"),
    "concern": ("#ed8b00", "Special cause variation of concern"),
    "improvement": ("#41b6e6", "Special cause variation of improvement"),
    "neutral": ("#7030a0", "Special cause variation, neither improvement nor concern"),
}
_ASSURANCE = {
    "pass": ("#41b6e6", "P", "Assurance: the target will be met consistently"),
    "fail": ("#ed8b00", "F", "Assurance: the target will not be met without change"),
    "inconsistent": ("#a6a6a6", "?", "Assurance: hit and miss, the target lies within the "
                     "limits"),
}


def _svg(fill: str, letter: str, label: str) -> str:
    e = html.escape(label)
    mark = (f'<text x="12" y="16.5" text-anchor="middle" font-size="12" font-weight="bold" '
            f'font-family="Arial, sans-serif" fill="#fff">{html.escape(letter)}</text>'
            if letter else '<path d="M5 12h14" stroke="#fff" stroke-width="2.5"/>')
    return (f'<svg class="sa-spc-icon" role="img" aria-label="{e}" width="20" height="20" '
            f'viewBox="0 0 24 24"><title>{e}</title><circle cx="12" cy="12" r="11" '
            f'fill="{fill}"/>{mark}</svg>')


def variation_icon(kind: str, side: str = "") -> str:
    """The variation icon for ``kind`` (common, concern, improvement, neutral), with ``H``
    or ``L`` for a special cause ``side`` of "high" or "low".

    Examples
    --------
    >>> 'aria-label="Special cause variation of concern (high)"' in variation_icon("concern", "high")
    True
    >>> ">H</text>" in variation_icon("concern", "high")
    True
    """
    fill, label = _VARIATION[kind]
    letter = {"high": "H", "low": "L"}.get(side, "") if kind != "common" else ""
    return _svg(fill, letter, f"{label} ({side})" if letter else label)


def assurance_icon(kind: str) -> str:
    """The assurance icon: ``pass``, ``fail`` or ``inconsistent``.

    Examples
    --------
    >>> ">P</text>" in assurance_icon("pass")
    True
    """
    fill, letter, label = _ASSURANCE[kind]
    return _svg(fill, letter, label)


def variation_of(text: str) -> tuple[str, str] | None:
    """(kind, side) of an SPC reading in words, or None when the text is not one.

    Examples
    --------
    >>> variation_of("Dec 2025: within the limits (common cause)")
    ('common', '')
    >>> variation_of("one point above the upper limit (concern): July 2025")
    ('concern', 'high')
    >>> variation_of("no special-cause points")
    ('common', '')
    >>> variation_of("Burglary") is None
    True
    """
    t = text.lower()
    side = ("high" if re.search(r"\b(above|higher|rising|high)\b", t) else
            "low" if re.search(r"\b(below|lower|falling|low)\b", t) else "")
    if "(concern)" in t or "of concern" in t:
        return "concern", side
    if "(improvement)" in t or "of improvement" in t:
        return "improvement", side
    if "unusually high" in t or "unusually low" in t:
        return "neutral", side
    if ("(common cause)" in t or t.startswith("no special-cause points")
            or "all points show common-cause variation" in t):
        return "common", ""
    return None


_CELL = re.compile(r"<td>([^<]*)</td>")
_IMG = re.compile(r'(<img\b[^>]*\balt="(SPC chart of [^"]*)"[^>]*>)')


def add_spc_icons(page: str) -> str:
    """A report page with Making Data Count icons beside SPC readings and SPC charts.

    Examples
    --------
    >>> out = add_spc_icons("<td>no special-cause points</td><td>pass</td><td>Robbery</td>")
    >>> out.count("<svg"), out.endswith("<td>Robbery</td>")
    (2, True)
    """
    def cell(m: re.Match[str]) -> str:
        text = html.unescape(m.group(1)).strip()
        if text in _ASSURANCE:
            return f"<td>{assurance_icon(text)} {m.group(1)}</td>"
        v = variation_of(text)
        return f"<td>{variation_icon(*v)} {m.group(1)}</td>" if v else m.group(0)

    def chart(m: re.Match[str]) -> str:
        # The review window's reading (its first signal), else the chart as a whole.
        alt = html.unescape(m.group(2))
        window = alt.partition("The shaded review window")[2].partition(" shows ")[2]
        v = variation_of(window.split(";")[0]) if window else None
        if v is None:
            v = variation_of(alt)
        if v is None:
            return m.group(0)
        fill, label = _VARIATION[v[0]]
        return (f'{m.group(1)}<p class="sa-spc-status">{variation_icon(*v)} '
                f"{html.escape(label)}{' (' + v[1] + ')' if v[1] else ''}</p>")

    return _IMG.sub(chart, _CELL.sub(cell, page))
