"""The partner measures the workbook knows, and loading the partner returns behind them.

:data:`PARTNER_MEASURES` names every measure a chapter can report and the
return it comes from; :func:`load_partner_data` validates and loads every return
in a folder.  Turning the returns into tidy observations is
:mod:`sa_lib.stats.observations`.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sa_lib.data.partner import PSEUDONYM_KEY_ENV, read_partner
from sa_lib.data.partner_schema import PARTNER_KINDS
from sa_lib.errors import OptionError

__all__ = [
    "PARTNER_MEASURES",
    "MeasureSpec",
    "find_partner_files",
    "load_partner_data",
]


@dataclass(frozen=True)
class MeasureSpec:
    """What a partner measure is and which return it comes from."""

    kind: str
    unit: str
    frequency: str
    description: str
    noun: str = ""


#: Every measure :func:`partner_observations` can derive, by name.
PARTNER_MEASURES: dict[str, MeasureSpec] = {
    "Domestic abuse incidents": MeasureSpec(
        "domestic_abuse", "count", "monthly", "Domestic abuse incidents recorded by the police", "incidents"),
    "Domestic abuse repeat rate": MeasureSpec(
        "domestic_abuse", "percent", "monthly",
        "% of domestic abuse incidents whose victim had another incident in the previous 365 days"),
    "High-risk domestic abuse incidents": MeasureSpec(
        "domestic_abuse", "count", "monthly", "Domestic abuse incidents assessed as high risk", "incidents"),
    "Council ASB incidents": MeasureSpec(
        "asb_council", "count", "monthly", "Anti-social behaviour reported to the council", "incidents"),
    "One-stop-shop visits": MeasureSpec(
        "one_stop_shop", "count", "monthly", "Visits to the domestic abuse one-stop shop", "visits"),
    "Needle finds": MeasureSpec(
        "needle_finds", "count", "monthly", "Discarded needles collected by street scene", "needles"),
    "Needle exchanges": MeasureSpec(
        "needle_finds", "count", "monthly", "Needle exchange transactions", "exchanges"),
    "Section 136 detentions": MeasureSpec(
        "section_136", "count", "monthly", "Mental Health Act section 136 detentions", "detentions"),
    "Substance misuse admissions": MeasureSpec(
        "substance_admissions", "count", "annual",
        "Hospital admissions for disorders due to psychoactive substances", "admissions"),
    "KSI casualties": MeasureSpec(
        "ksi", "count", "annual", "People killed or seriously injured on the roads", "casualties"),
    "Proven reoffending rate": MeasureSpec(
        "reoffending", "percent", "quarterly",
        "% of the offender cohort who proved to reoffend"),
}


def find_partner_files(folder: str | Path) -> dict[str, Path]:
    """The partner return of each kind in a folder: ``<anything>_<kind>.csv`` or ``<kind>.csv``.

    Raises
    ------
    OptionError
        Two files in the folder claim the same kind (the names are given).

    Examples
    --------
    >>> from sa_lib.paths import DATA_DIR
    >>> sorted(find_partner_files(DATA_DIR / "synthetic"))[:3]
    ['action_plan', 'asb_council', 'domestic_abuse']
    """
    found: dict[str, Path] = {}
    files = sorted(Path(folder).glob("*.csv"))
    # Longest kind names first, so "x_asb_council.csv" is never taken for a shorter kind.
    for kind in sorted((k for k in PARTNER_KINDS if k != "morile_sheet"), key=len, reverse=True):
        hits = [f for f in files if f.stem == kind or f.stem.endswith("_" + kind)]
        hits = [f for f in hits if f not in found.values()]
        if len(hits) > 1:
            raise OptionError(f"{folder}: more than one {kind} file: {[h.name for h in hits]}; "
                              "keep one per kind")
        if hits:
            found[kind] = hits[0]
    return dict(sorted(found.items()))


def load_partner_data(folder: str | Path, pseudonymise_key: str | bytes | None = None,
                      as_of: object = None) -> dict[str, pd.DataFrame]:
    """Load and validate every partner return in a folder, by kind.

    Personal identifiers are pseudonymised with ``pseudonymise_key``, else the
    ``SA_PSEUDONYM_KEY`` environment variable, else a random key made for this
    call: pseudonyms then match within the call (enough to count repeats) but
    cannot be linked to any other run.  A file whose name starts with
    ``synthetic`` is marked ``attrs["synthetic"] = True``.

    Examples
    --------
    >>> from sa_lib.paths import DATA_DIR
    >>> data = load_partner_data(DATA_DIR / "synthetic")
    >>> data["section_136"].attrs["synthetic"], len(data["section_136"])
    (True, 60)
    """
    key = pseudonymise_key or os.environ.get(PSEUDONYM_KEY_ENV) or secrets.token_hex(32)
    out = {}
    for kind, path in find_partner_files(folder).items():
        frame = read_partner(path, kind, pseudonymise_key=key, as_of=as_of)  # type: ignore[arg-type]
        frame.attrs["synthetic"] = path.name.lower().startswith("synthetic")
        out[kind] = frame
    return out
