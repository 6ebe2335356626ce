"""Every priority traceable: the section that evidences it, or what its scores rest on.

The parameters' ``priorities.evidence`` maps a priority (a MoRiLE / priority-matrix
theme) to the chapter-3 theme whose section is its evidence (``null``: no data
section).  A priority it does not name is evidenced by the theme of the same name, if
there is one.  The themes chapter puts an anchor, :func:`evidence_anchor`, before each
theme's heading; the recommendation links to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sa_lib.data.parameters import Parameters
from sa_lib.data.slugs import file_slug
from sa_lib.report.chapters.common import join_words
from sa_lib.report.publish import markdown_escape

__all__ = ["evidence_anchor", "evidence_theme", "evidence_sentences"]

_KIND_WORDS = {"measured": "measured", "hand-set": "hand-set", "missing": "not measured "
               "(the neutral 3)"}


def evidence_anchor(theme: str) -> str:
    """The HTML id of a theme's section (put before its heading by the themes chapter).

    Examples
    --------
    >>> evidence_anchor("Violence and domestic abuse")
    'evidence-violence_and_domestic_abuse'
    """
    return f"evidence-{file_slug(theme)}"


def evidence_theme(params: Parameters, priority: str) -> str | None:
    """The chapter-3 theme that evidences ``priority``, or None when it has no data section.

    Examples
    --------
    >>> from sa_lib.data.parameters import load_parameters
    >>> p = load_parameters("parameters/2025.yaml")
    >>> evidence_theme(p, "Domestic abuse"), evidence_theme(p, "Organised crime groups")
    ('Violence and domestic abuse', None)
    """
    evidence = params.priorities.evidence
    if priority in evidence:
        return evidence[priority]
    return priority if priority in {t.name for t in params.themes} else None


def _basis(theme: str, kinds: Mapping[tuple[str, str], str],
           unscored: Mapping[str, Iterable[str]], morile: bool) -> str:
    """What one theme's scores rest on, in words."""
    vt = [kinds.get((theme, f), "missing") for f in ("volume", "trend")]
    if vt[0] == vt[1]:
        parts = [f"its volume and trend scores are {_KIND_WORDS[vt[0]]}"]
    else:
        parts = [f"its volume score is {_KIND_WORDS[vt[0]]}, its trend score {_KIND_WORDS[vt[1]]}"]
    parts.append("its perception score is " + ("not given (the neutral 3)"
                 if theme in set(unscored.get("perception", ())) else
                 "the residents' concern (priorities.perception, from the residents' survey)"))
    parts.append("its influence score is " + ("not given (the neutral 3)"
                 if theme in set(unscored.get("influence", ())) else
                 "hand-set by the partnership (priorities.influence)"))
    if morile:
        parts.append("its MoRiLE rank comes from the MoRiLE scoring sheets")
    return join_words(parts)


def evidence_sentences(params: Parameters, priorities: list[str],
                       kinds: Mapping[tuple[str, str], str],
                       unscored: Mapping[str, Iterable[str]],
                       morile_themes: Iterable[str] = ()) -> list[str]:
    """Markdown: a link to each priority's evidence, and for the others what their scores rest on.

    Examples
    --------
    >>> from sa_lib.data.parameters import load_parameters
    >>> p = load_parameters("parameters/2025.yaml")
    >>> out = evidence_sentences(p, ["Domestic abuse", "Organised crime groups"],
    ...                          {("Organised crime groups", "volume"): "hand-set",
    ...                           ("Organised crime groups", "trend"): "hand-set"}, {})
    >>> print(out[0])
    Evidence for each priority: **Domestic abuse**, in [Violence and domestic abuse](#evidence-violence_and_domestic_abuse).
    >>> out[1].startswith("**Organised crime groups** has no data section in this report: its volume")
    True
    """
    morile = set(morile_themes)
    linked, bare = [], []
    for p in priorities:
        theme = evidence_theme(params, p)
        if theme is None:
            bare.append(f"**{markdown_escape(p)}** has no data section in this report: "
                        f"{_basis(p, kinds, unscored, p in morile)}.")
        else:
            linked.append(f"**{markdown_escape(p)}**, in "
                          f"[{markdown_escape(theme)}](#{evidence_anchor(theme)})")
    out = [f"Evidence for each priority: {'; '.join(linked)}."] if linked else []
    return out + bare
