"""The assessment a notebook opens: one shared context and the chapters built on it.

Each notebook starts with ``ctx = sa.open_assessment(parameters_file, audience,
output_dir)`` and then calls its chapter's methods (``ctx.crime.crime_change_text()``,
``ctx.themes.theme_chapters()`` ...) and ``sa_lib`` functions, so no notebook
reads a file or builds a path itself.  The chapters do not inherit from one
another: each is an object holding the shared :class:`AssessmentContext` (and,
where it needs them, the objects whose results it quotes).
"""

from __future__ import annotations

import ast
import difflib
from dataclasses import dataclass, field
from pathlib import Path

from sa_lib.data.parameters import Parameters, load_parameters
from sa_lib.errors import OptionError
from sa_lib.paths import PROJECT_ROOT
from sa_lib.report.chapters.crime import CrimeChapter
from sa_lib.report.chapters.partners import PartnerMeasures
from sa_lib.report.chapters.places import PlacesChapter
from sa_lib.report.chapters.priorities import PriorityChapter
from sa_lib.report.chapters.review import ReviewChapter
from sa_lib.report.chapters.seasonal import SeasonalChapter
from sa_lib.report.chapters.sources import SourcesChapter
from sa_lib.report.chapters.summary import SummaryChapter
from sa_lib.report.chapters.themes import ThemeChapter
from sa_lib.report.context import AssessmentContext
from sa_lib.report.publish import Publisher

__all__ = ["Assessment", "open_assessment"]


@dataclass
class Assessment:
    """One assessment: the shared context and a chapter object per notebook.

    ========================  ===============================================
    attribute                 notebook
    ========================  ===============================================
    ``sources``               01 data quality and sources
    ``crime``                 02 total recorded crime
    ``themes``                03 themes (one section per parameters theme)
    ``review``                04 review of last year's priorities
    ``priorities``            05 prioritisation (MoRiLE, priority matrix)
    ``summary``               06 key findings
    ========================  ===============================================

    ``seasonal`` holds chapter 2's seasonal charts (built on ``crime``);
    ``places`` chapter 2's LSOAs, hotspot maps and area profile (built on ``crime``);
    ``partners`` holds the partner measures that chapters 3 and 5 both use;
    ``params``, ``publish`` and the loaded inputs are on ``context``.
    """

    context: AssessmentContext
    sources: SourcesChapter = field(init=False)
    crime: CrimeChapter = field(init=False)
    partners: PartnerMeasures = field(init=False)
    themes: ThemeChapter = field(init=False)
    review: ReviewChapter = field(init=False)
    priorities: PriorityChapter = field(init=False)
    summary: SummaryChapter = field(init=False)
    seasonal: SeasonalChapter = field(init=False)
    places: PlacesChapter = field(init=False)

    def __post_init__(self) -> None:
        ctx = self.context
        self.sources = SourcesChapter(ctx)
        self.crime = CrimeChapter(ctx)
        self.partners = PartnerMeasures(ctx)
        self.themes = ThemeChapter(ctx, self.partners)
        self.review = ReviewChapter(ctx)
        self.priorities = PriorityChapter(ctx, self.partners)
        self.summary = SummaryChapter(ctx, self.crime, self.themes, self.review, self.priorities)
        self.seasonal = SeasonalChapter(ctx, self.crime)
        self.places = PlacesChapter(ctx, self.crime)

    @property
    def params(self) -> Parameters:
        """The validated parameters file."""
        return self.context.params

    @property
    def publish(self) -> Publisher:
        """Writes the build's tables and charts and says what to display."""
        return self.context.publish


#: The parameters every notebook of the series declares (its cell tagged ``parameters``).
NOTEBOOK_PARAMETERS = ("parameters_file", "audience", "output_dir")


def _check_injected_parameters() -> None:
    """Refuse a parameter papermill injected that no notebook declares (``-p audiense public``).

    papermill only warns about an unknown name and runs on, so a misspelt
    ``audience`` would build the official, unsuppressed report under a public
    name.  The injected cell is the latest input starting ``# Parameters`` in the
    kernel's history; outside a kernel there is nothing to check.
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return
    shell = get_ipython()
    history = shell.user_ns.get("In", []) if shell is not None else []
    injected = next((src for src in reversed(history) if isinstance(src, str)
                     and src.lstrip().startswith("# Parameters")), None)
    if injected is None:
        return
    try:
        tree = ast.parse(injected)
    except SyntaxError:
        return
    names = [t.id for node in tree.body if isinstance(node, ast.Assign | ast.AnnAssign)
             for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
             if isinstance(t, ast.Name)]
    unknown = [n for n in names if n not in NOTEBOOK_PARAMETERS]
    if unknown:
        hints = [f"{n!r} (did you mean {close[0]!r}?)" if (close := difflib.get_close_matches(
            n, NOTEBOOK_PARAMETERS, n=1)) else repr(n) for n in unknown]
        raise OptionError(f"unknown notebook parameter {', '.join(hints)}; the notebooks take "
                          f"{', '.join(NOTEBOOK_PARAMETERS)} (e.g. papermill -p audience public)")


def open_assessment(
    parameters_file: str | Path,
    audience: str = "official",
    output_dir: str | Path | None = None,
) -> Assessment:
    """Open the assessment a notebook is part of.

    Parameters
    ----------
    parameters_file : path
        The parameters file (relative to the project root, or absolute).
    audience : {"official", "public"}
        Which build is being made.
    output_dir : path, optional
        The build folder; empty or None when exploring interactively (nothing is written).

    Examples
    --------
    >>> ctx = open_assessment("parameters/2025.yaml")
    >>> ctx.params.area.name
    'Maidstone'
    >>> type(ctx.crime).__name__
    'CrimeChapter'
    """
    _check_injected_parameters()
    if audience not in ("official", "public"):
        raise OptionError(f"audience {audience!r}: expected 'official' or 'public' (the public "
                          "build applies disclosure control)")
    params = load_parameters(parameters_file)
    out = Path(output_dir) if output_dir else None
    if out is not None and not out.is_absolute():
        out = PROJECT_ROOT / out
    publisher = Publisher(out, audience=audience,  # type: ignore[arg-type]
                          threshold=params.thresholds.disclosure)
    return Assessment(AssessmentContext(params, publisher))
