"""Checks of the parameters file's text and names (used by :mod:`sa_lib.data.parameters`).

Text the user writes reaches file names, chart titles, tables and the HTML report,
so it is checked when the parameters are read: one line without control or
bidirectional-override characters, names that give non-empty and distinct file
names (:mod:`sa_lib.data.slugs`), and measure names that exist (with a "did you
mean" suggestion).  Each check returns messages naming the key; the caller raises.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable, Sequence
from typing import Any

from sa_lib.data.slugs import file_slug

__all__ = ["check_text", "suggest", "measure_problems", "check_names_and_slugs", "check_month"]

_MONTH = re.compile(r"^(20\d\d|2100)-(0[1-9]|1[0-2])$")

# C0 and C1 controls, line and paragraph separators, zero-width space, byte-order mark and
# the bidirectional embeddings, overrides and isolates ("Trojan source" reordering).
_BAD_IN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b\ufeff\u202a-\u202e"
                          "\u2066-\u2069]")
_BAD_IN_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u200b\ufeff"
                          "\u202a-\u202e\u2066-\u2069]")


def check_text(value: str, multiline: bool = False) -> str:
    """Refuse control characters (and line breaks, unless ``multiline``) and blank text.

    Raises
    ------
    ValueError
        Naming the character and its position (1-based); pydantic names the key.

    Examples
    --------
    >>> check_text("Safer Maidstone")
    'Safer Maidstone'
    >>> check_text("Safer\\u202eenotsdiaM")
    Traceback (most recent call last):
    ...
    ValueError: character 6 is U+202E, a control or text-direction character; expected plain text on one line
    """
    bad = (_BAD_IN_TEXT if multiline else _BAD_IN_LINE).search(value)
    if bad:
        raise ValueError(f"character {bad.start() + 1} is U+{ord(bad.group()):04X}, a control "
                         "or text-direction character; expected plain text"
                         + ("" if multiline else " on one line"))
    if value and not value.strip():
        raise ValueError("is blank; expected some text")
    return value


def suggest(unknown: Iterable[str], known: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` for the first unknown name with a close known one, else ``""``.

    Examples
    --------
    >>> suggest(["Burglry"], ["Burglary", "Robbery"])
    " (did you mean 'Burglary'?)"
    """
    folded = {k.casefold(): k for k in known}
    for name in unknown:
        if not isinstance(name, str):
            continue
        close = difflib.get_close_matches(name.casefold(), list(folded), n=1, cutoff=0.6)
        if close:
            return f" (did you mean {folded[close[0]]!r}?)"
    return ""


def measure_problems(params: Any, measures: Sequence[str]) -> list[str]:
    """``improvement`` and ``rebase`` keys that are no measure the report draws.

    ``measures`` are the police.uk crime types, the police.uk total and the partner
    measures; a theme of more than one crime type adds its total, ``<theme>: all types``.
    """
    known = list(measures) + [f"{t.name}: all types" for t in params.themes
                              if len(t.crime_types) > 1]
    problems = []
    for key in ("improvement", "rebase"):
        for name in getattr(params, key):
            if name not in known:
                problems.append(
                    f"{key}: {name!r} is not a measure the report draws{suggest([name], known)}; "
                    "expected a police.uk crime type, 'Total crime (excluding ASB)', a partner "
                    "measure or '<theme name>: all types'")
    return problems


def _collisions(names: list[str], where_of: Any, prefix: str) -> list[str]:
    """Names that give an empty or an already used file name (``where_of(i, name)``, 1-based)."""
    problems: list[str] = []
    first: dict[str, str] = {}
    for i, name in enumerate(names, start=1):
        slug = file_slug(name)
        where = where_of(i, name)
        if not slug:
            problems.append(f"{where} has no letter or digit (a-z, 0-9), so its tables and "
                            "charts would have no file name; expected a name with at least one "
                            "letter or digit")
        elif slug in first:
            problems.append(f"{where} and {first[slug]} give the same file name "
                            f"'{prefix}{slug}' (one would overwrite the other); expected names "
                            "that differ in their letters or digits")
        else:
            first[slug] = where
    return problems


def check_names_and_slugs(params: Any) -> list[str]:
    """Theme and review-indicator names must give distinct, non-empty file names.

    Theme tables and charts are ``theme_<slug>_...`` and review charts
    ``review_<slug>`` (:func:`sa_lib.data.slugs.file_slug`); two names with the same
    slug would write the same file.
    """
    return (_collisions([t.name for t in params.themes],
                        lambda i, name: f"themes[{i}].name {name!r}", "theme_")
            + _collisions(list(params.review.indicators),
                          lambda i, name: f"review.indicators {name!r}", "review_"))


def check_month(v: Any) -> str:
    """A month written ``YYYY-MM`` (a date is turned into one), else ValueError for pydantic.

    Examples
    --------
    >>> check_month("2025-12")
    '2025-12'
    """
    if isinstance(v, dt.date):
        v = v.strftime("%Y-%m")
    if not isinstance(v, str) or not _MONTH.match(v):
        raise ValueError("expected a month written YYYY-MM (e.g. 2025-12) between 2000-01 "
                         f"and 2100-12, got {v!r:.40}")
    return v
