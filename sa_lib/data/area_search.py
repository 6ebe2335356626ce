"""Finding a Community Safety Partnership from what a user types: a code or a name.

``sa init --area`` takes a CSP code (``E22000165``, Welsh ``W14000011``), a local
authority (district) code (``E07000130``) or a name (``Charnwood``, ``charnwood``,
a district's current or former name such as ``Shepway``), and resolves it through the
bundled ONS lookups (:func:`sa_lib.data.geography.load_csp_lookup`).  A name that matches
no partnership, or several, is refused with the nearest names suggested.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from sa_lib.data.geography import load_csp_lookup
from sa_lib.errors import OptionError

__all__ = ["Partnership", "find_partnership"]

_CODE = re.compile(r"^[EW]\d{8}$")


@dataclass(frozen=True)
class Partnership:
    """A Community Safety Partnership of the bundled lookup.

    ``name`` is the lookup's (current) CSP name, ``lad_codes`` its districts and
    ``force`` the police force area it lies in.
    """

    code: str
    name: str
    lad_codes: tuple[str, ...]
    force: str


def _norm(text: str) -> str:
    text = text.casefold().replace("&", " and ")
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text).split())


def _partnership(code: str) -> Partnership:
    lk = load_csp_lookup()
    rows = lk[lk["csp_code"] == code]
    return Partnership(code=code, name=str(rows["csp_name"].iloc[0]),
                       lad_codes=tuple(sorted(rows["lad_code"])),
                       force=str(rows["pfa_name"].iloc[0]))


def _names() -> dict[str, set[str]]:
    """Every name a partnership answers to (normalised) -> CSP codes."""
    lk = load_csp_lookup()
    out: dict[str, set[str]] = {}
    for col in ("csp_name", "lad_name", "lad_former_names"):
        for name, code in zip(lk[col], lk["csp_code"], strict=True):
            for n in str(name).split(";"):
                if n.strip():
                    out.setdefault(_norm(n), set()).add(code)
    return out


def _shown(codes: set[str]) -> list[str]:
    return sorted(f"{p.name} ({p.code})" for p in map(_partnership, codes))


def find_partnership(area: str) -> Partnership:
    """The partnership a CSP code, district code or name stands for.

    Parameters
    ----------
    area : str
        A CSP code (``E22...``, ``W14...``), a local authority code (its partnership is
        used) or a name, matched ignoring case and punctuation against the partnerships'
        names and their districts' current and former names.

    Returns
    -------
    Partnership

    Raises
    ------
    OptionError
        The code is not in the bundled lookup, or the name matches no partnership or
        several (the nearest names are suggested, with their codes).

    Examples
    --------
    >>> find_partnership("charnwood")
    Partnership(code='E22000165', name='Charnwood', lad_codes=('E07000130',), force='Leicestershire')
    >>> find_partnership("E07000110").name
    'Maidstone'
    >>> find_partnership("Gravesham").name
    'Dartford and Gravesham'
    >>> find_partnership("Newcastle")
    Traceback (most recent call last):
    ...
    sa_lib.errors.OptionError: --area 'Newcastle' matches more than one partnership: Newcastle upon Tyne (E22000245), Newcastle-under-Lyme (E22000266); give the full name or the CSP code
    >>> find_partnership("Charnwod")
    Traceback (most recent call last):
    ...
    sa_lib.errors.OptionError: --area 'Charnwod' is not a partnership in the bundled ONS lookup; did you mean: Charnwood (E22000165)?
    """
    text = area.strip()
    if not text:
        raise OptionError("--area is empty; expected a CSP code (E22...), a district code or a "
                          "partnership's name")
    lk = load_csp_lookup()
    if _CODE.match(text.upper()):
        code = text.upper()
        if code in set(lk["csp_code"]):
            return _partnership(code)
        hit = lk[lk["lad_code"] == code]
        if not hit.empty:
            return _partnership(str(hit["csp_code"].iloc[0]))
        raise OptionError(f"--area {text!r} is not a CSP or local authority code in the bundled "
                          "ONS lookup (data/lookups/lad17_csp17_pfa17.csv); expected e.g. "
                          "E22000165 (a CSP) or E07000130 (a district)")
    names = _names()
    key = _norm(text)
    codes = names.get(key, set())
    if len(codes) == 1:
        return _partnership(next(iter(codes)))
    if len(codes) > 1:
        raise OptionError(f"--area {text!r} names more than one partnership: "
                          f"{', '.join(_shown(codes))}; give the CSP code instead")
    partial = {c for n in names if key in n for c in names[n]}
    if len(partial) > 1:
        raise OptionError(f"--area {text!r} matches more than one partnership: "
                          f"{', '.join(_shown(partial)[:8])}; give the full name or the CSP code")
    near = difflib.get_close_matches(key, list(names), n=5, cutoff=0.75)
    suggested = partial | {c for n in near for c in names[n]}
    hint = (f"; did you mean: {', '.join(_shown(suggested))}?" if suggested else
            "; expected a CSP or district name, or a code (E22..., W14..., E07...)")
    raise OptionError(f"--area {text!r} is not a partnership in the bundled ONS lookup{hint}")
