"""Parts of the parameters file kept out of :mod:`sa_lib.data.parameters` (which is at its
size limit): the map from priorities to the themes that evidence them, and the commentary.

``priorities.evidence`` maps a priority (a MoRiLE / priority-matrix theme) to the
chapter-3 theme whose section is its evidence; ``null`` says the priority has no data
section, and the report then says what its scores rest on::

    priorities:
      evidence:
        Domestic abuse: Violence and domestic abuse
        Organised crime groups: null
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from sa_lib.data.parameter_checks import suggest

__all__ = ["Evidence", "CommentaryPath", "evidence_problems"]

_Text = Annotated[str, Field(min_length=1, max_length=300)]
#: ``priorities.evidence``: priority -> chapter-3 theme (``None``: no data section).
Evidence = dict[_Text, _Text | None]
#: ``commentary``: the commentary file, if not ``<stem>_commentary.md`` beside the parameters.
CommentaryPath = Annotated[str, Field(min_length=1, max_length=500, pattern=r"\.md$")] | None


def evidence_problems(params: Any) -> list[str]:
    """What is wrong with ``priorities.evidence``: unknown priorities or themes, named.

    Examples
    --------
    >>> from sa_lib.data.parameters import load_parameters
    >>> evidence_problems(load_parameters("parameters/2025.yaml"))
    []
    """
    pr = params.priorities
    priorities = (set(pr.perception) | set(pr.influence) | set(pr.measures) | set(pr.volume)
                  | set(pr.trend) | set(params.priority_candidates))
    themes = [t.name for t in params.themes]
    problems = []
    for p, theme in pr.evidence.items():
        if p not in priorities:
            problems.append(f"priorities.evidence: {p!r} is not a priority theme"
                            f"{suggest([p], sorted(priorities))}; expected a theme scored in "
                            "the priorities section")
        if theme is not None and theme not in themes:
            problems.append(f"priorities.evidence.{p}: {theme!r} is not a theme of the "
                            f"themes section{suggest([theme], themes)}; expected one of "
                            f"{themes}, or null for a priority with no data section")
    return problems
