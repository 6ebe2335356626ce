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

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from sa_lib.data.parameter_checks import check_month, check_text, suggest

__all__ = ["Evidence", "CommentaryPath", "PublicationParameters", "SpcBaselineMonths",
           "SpcParameters", "BenchmarkParameters", "evidence_problems"]

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


class PublicationParameters(BaseModel):
    """The cover's edition details: version, and owner (default: the partnership)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Annotated[str, Field(min_length=1, max_length=40), AfterValidator(check_text)] = "1.0"
    owner: Annotated[str, Field(max_length=300), AfterValidator(check_text)] = ""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)



class SpcBaselineMonths(_Strict):
    """An explicit SPC baseline: the months ``start`` to ``end`` (inclusive)."""

    start: str
    end: str

    _check = field_validator("start", "end", mode="before")(check_month)

    @model_validator(mode="after")
    def _in_order(self) -> SpcBaselineMonths:
        if self.start > self.end:
            raise ValueError(f"spc.baseline starts after it ends ({self.start} > {self.end}); "
                             "expected start <= end")
        return self


class SpcParameters(_Strict):
    """SPC charts: how much history they show and which points give their limits.

    ``baseline``: ``auto`` (the points before the review window when there are at
    least 20, else all), ``all``, ``before_window``, or ``{start, end}`` months
    (see :mod:`sa_lib.stats.spc_history`).
    """

    #: Default 36, or the review window's length when that is longer.
    history_months: int = Field(default=36, ge=1, le=240)
    baseline: Literal["auto", "all", "before_window"] | SpcBaselineMonths = "auto"

    @property
    def baseline_rule(self) -> str | tuple[str, str]:
        """The baseline as :func:`sa_lib.stats.spc_history.history_xmr` takes it."""
        b = self.baseline
        return b if isinstance(b, str) else (b.start, b.end)


class BenchmarkParameters(_Strict):
    """The comparison with every partnership in England and Wales (chapter 2)."""

    funnel: Literal["overdispersed", "poisson"] = Field(
        default="overdispersed",
        description="funnel-plot limits: allowing for over-dispersion between partnerships "
        "(Spiegelhalter 2005; DerSimonian-Laird, 10% winsorised), or exact Poisson limits")
