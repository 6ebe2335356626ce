"""File and folder names made from names in the parameters file.

Every table, chart and output folder whose name comes from text the user wrote
(theme names, review indicators, the area's name) is named by one of these two
rules, so the parameters check can refuse names that would give an empty name
or the same name twice (one file silently overwriting another).
:func:`file_slug` is the rule of ``sa_lib.report.publish.file_slug`` (tables and
charts); :func:`folder_slug` is the rule of ``Parameters.area_slug`` (the area's
output folder).  Both keep only ``a``-``z`` and ``0``-``9`` of the lower-cased
text.
"""

from __future__ import annotations

import re

__all__ = ["file_slug", "folder_slug"]

_NOT_KEPT = re.compile(r"[^a-z0-9]+")


def file_slug(text: str) -> str:
    """A table or chart file name from a title: lower case, digits and underscores.

    Examples
    --------
    >>> file_slug("Road safety (KSI)")
    'road_safety_ksi'
    >>> file_slug("$$$")
    ''
    """
    return _NOT_KEPT.sub("_", text.lower()).strip("_")


def folder_slug(text: str) -> str:
    """A folder name from an area's name: lower case, digits and hyphens.

    Examples
    --------
    >>> folder_slug("Tunbridge Wells")
    'tunbridge-wells'
    """
    return _NOT_KEPT.sub("-", text.lower()).strip("-")
