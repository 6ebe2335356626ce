"""The protective marking every document and sheet of a build carries.

The official build is marked ``OFFICIAL`` (the Government Security Classification
of a partnership's working papers); the public build says that disclosure control
has been applied.  The HTML report, each per-chapter page, ``report.pdf`` (top and
bottom of every page), ``report.docx`` (header and footer) and every sheet of
``tables.xlsx`` show the same words, taken from :func:`marking`.
"""

from __future__ import annotations

import html
import re

import nbformat

__all__ = ["MARKINGS", "marking", "marking_banner", "with_marking", "notebook_audience"]

#: The marking of each build, by audience.
MARKINGS = {"official": "OFFICIAL", "public": "PUBLIC (disclosure control applied)"}
#: Said in a header row of every sheet holding synthetic data.
SYNTHETIC_SHEET_LINE = ("SYNTHETIC: these figures come from the seeded generator "
                        "sa_lib.data.synthetic, not from any real partner return.")
_MAIN_OPEN = re.compile(r"<main\b[^>]*>")


def marking(audience: str) -> str:
    """The marking of a build.

    Parameters
    ----------
    audience : {"official", "public"}

    Returns
    -------
    str

    Examples
    --------
    >>> marking("official")
    'OFFICIAL'
    >>> marking("public")
    'PUBLIC (disclosure control applied)'
    """
    try:
        return MARKINGS[audience]
    except KeyError:
        raise ValueError(f"audience must be one of {tuple(MARKINGS)}, got {audience!r}") from None


def marking_banner(audience: str) -> str:
    """The marking as a small HTML banner (class ``sa-marking``).

    Examples
    --------
    >>> marking_banner("official")
    '<p class="sa-marking" role="note">OFFICIAL</p>'
    """
    return f'<p class="sa-marking" role="note">{html.escape(marking(audience))}</p>'


def notebook_audience(path: object) -> str | None:
    """The audience an executed notebook was built for (its papermill ``audience`` parameter).

    ``None`` for a notebook papermill did not execute.

    Examples
    --------
    >>> notebook_audience(executed_notebook)  # doctest: +SKIP
    'official'
    """
    nb = nbformat.read(path, as_version=4)
    audience = nb.metadata.get("papermill", {}).get("parameters", {}).get("audience")
    return audience if audience in MARKINGS else None


def with_marking(page: str, audience: str | None) -> str:
    """A page with the marking banner at the top and bottom of its ``<main>`` (or ``<body>``).

    ``audience`` ``None`` leaves the page as it is.

    Examples
    --------
    >>> with_marking("<body><main>\\n<p>x</p>\\n</main></body>", "official")
    ... # doctest: +NORMALIZE_WHITESPACE
    '<body><main>\\n<p class="sa-marking" role="note">OFFICIAL</p>\\n<p>x</p>\\n<p
    class="sa-marking" role="note">OFFICIAL</p>\\n</main></body>'
    """
    if audience is None:
        return page
    banner = marking_banner(audience)
    opening = _MAIN_OPEN.search(page) or re.search(r"<body\b[^>]*>", page)
    closing = page.rfind("</main>") if "</main>" in page else page.rfind("</body>")
    if opening is None or closing < 0:
        raise ValueError("the page has no <main> or <body>: nowhere to put the marking")
    start = opening.end()
    return (f"{page[:start]}\n{banner}{page[start:closing].rstrip()}\n{banner}\n"
            f"{page[closing:]}")
