"""The yearly parameters file: schema and validation.

papermill only *warns* about unknown parameters, so the file is validated here,
before any notebook runs: unknown keys, wrong types and missing files are
errors that name the key (next year's file is started by :mod:`sa_lib.data.new_year`).
The file is read with the hardened YAML loader of
:mod:`sa_lib.data.safe_yaml` (no duplicate keys, alias bombs, tags, huge numbers or
impossible dates), every value is range-checked (finite numbers, real dates, text
without control characters, measures that exist, names that give distinct file
names), and every data path must stay inside the project's ``data/`` or
``parameters/`` folders.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    FiniteFloat,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from sa_lib.data.measure_declarations import MeasureDeclaration
from sa_lib.data.parameter_checks import (
    check_month,
    check_names_and_slugs,
    check_text,
    measure_problems,
    suggest,
)
from sa_lib.data.parameter_sections import (
    BenchmarkParameters,
    CommentaryPath,
    Evidence,
    PublicationParameters,
    SpcParameters,
    evidence_problems,
)
from sa_lib.data.safe_yaml import read_yaml
from sa_lib.data.slugs import folder_slug
from sa_lib.errors import ParameterError
from sa_lib.paths import DATA_DIR, PARAMETERS_DIR, PROJECT_ROOT
from sa_lib.periods import Window, month_window, previous_window, rolling_window

__all__ = ["Parameters", "load_parameters", "resolve_data_path", "check_inside_data_roots"]

Improvement = Literal["increase", "decrease", "neutral"]
#: One line of text (a name or title): no control characters, at most 100 characters.
Name = Annotated[str, Field(min_length=1, max_length=300), AfterValidator(check_text)]
#: Text that may span lines (a theme's description).
LongText = Annotated[str, Field(max_length=2000),
                     AfterValidator(lambda v: check_text(v, multiline=True))]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AreaParameters(_Strict):
    """The partnership the assessment is for."""

    name: Name
    code: str = Field(pattern=r"^(E(06|07|08|09|22)|W(06|14|22))\d{6}$",
                      description="CSP code (E22...); a local authority code is accepted "
                      "by the explorer, and refused for the report (with its CSP suggested)")
    police_force: Name = "Kent"

    @field_validator("name")
    @classmethod
    def _folder_name(cls, v: str) -> str:
        if not folder_slug(v):
            raise ValueError(f"{v!r} has no letter or digit (a-z, 0-9), so the area's output "
                             "folder would have no name; expected a name with at least one "
                             "letter or digit")
        return v


class WindowParameters(_Strict):
    """The review window: ``months`` months ending at ``end``."""

    end: str
    months: int = Field(default=12, ge=1, le=120)

    _check_end = field_validator("end", mode="before")(check_month)


class ComparisonParameters(_Strict):
    """The year-on-year comparison (defaults to the review window vs the year before)."""

    current_start: str
    current_end: str
    previous_start: str
    previous_end: str

    _check = field_validator("current_start", "current_end", "previous_start", "previous_end",
                             mode="before")(check_month)


class DataParameters(_Strict):
    """Where the inputs are, relative to the project root (inside data/ or parameters/).

    Only ``police_uk`` is required (README 'Optional inputs'); ``csp_table`` may be one
    Table C2, a folder or list of them, absent (the bundled one) or null (none)."""

    police_uk: list[str] = Field(min_length=1)
    partner: str | None = None
    morile_sheets: str | None = None
    morile_scales: str = "parameters/morile_scales.yaml"
    csp_table: str | list[str] | None = \
        "data/home_office/policeforceareatablesyejune25final_TableC2_csp.csv"
    population: str = "data/population/la_population_mye_2001_2024.csv.gz"
    boundaries: str | None = None  # optional GeoJSON of LSOA polygons for the hotspot maps

    @field_validator("morile_scales", "csp_table", mode="before")
    @classmethod
    def _null_or_empty(cls, v: Any, info: ValidationInfo) -> Any:
        if info.field_name == "morile_scales" and v is None:
            return "parameters/morile_scales.yaml"  # null: the bundled illustrative scales
        if isinstance(v, list) and not v:
            raise ValueError("is an empty list; expected Table C2 files or folders, or null")
        return v


class ThemeParameters(_Strict):
    """A themed chapter: the police.uk crime types and partner measures it covers."""

    name: Name
    crime_types: list[str] = Field(default_factory=list, max_length=20)
    partner_measures: list[str] = Field(default_factory=list, max_length=20)
    description: LongText = ""
    priority: bool = Field(default=False, description="a candidate priority: scored in the "
                           "priority matrix from its first measure (or hand scores)")

    @field_validator("crime_types")
    @classmethod
    def _known_crime_types(cls, v: list[str]) -> list[str]:
        from sa_lib.data.police_uk import CRIME_TYPES

        bad = [c for c in v if c not in CRIME_TYPES]
        if bad:
            raise ValueError(f"unknown police.uk crime type(s) {bad}{suggest(bad, CRIME_TYPES)}; "
                             f"choose from {list(CRIME_TYPES)}")
        return _no_repeats(v)

    @field_validator("partner_measures")
    @classmethod
    def _known_measures(cls, v: list[str]) -> list[str]:
        return _no_repeats(_check_measures(v, police=False))


def _no_repeats(v: list[str]) -> list[str]:
    twice = sorted({x for x in v if v.count(x) > 1})
    if twice:
        raise ValueError(f"{twice} listed more than once; expected each once")
    return v


class ThresholdParameters(_Strict):
    """Numbers that change how results are worded or published."""

    small_base: int = Field(default=10, ge=0, le=1_000_000)
    disclosure: int = Field(default=5, ge=1, le=1_000_000)
    significance: FiniteFloat = Field(default=0.05, gt=0, lt=1)


#: The themes flagged ``priority: true`` in the file being validated: their perception,
#: influence and MoRiLE scores are checked together by sa_lib.data.inputs.check_inputs.
_CANDIDATES: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("candidates",
                                                                            default=())


def _candidates(data: Any) -> tuple[str, ...]:
    themes = data.get("themes") if isinstance(data, dict) else None
    if not isinstance(themes, list):
        return ()
    return tuple(t["name"] for t in themes if isinstance(t, dict) and t.get("priority") is True
                 and isinstance(t.get("name"), str))


def _with_candidates(data: Any) -> Any:
    """The raw file with each flagged theme's first measure in ``priorities.measures``.

    A theme flagged ``priority: true`` is scored from its first partner measure (else
    its first crime type) unless the priorities section gives it a measure or both hand
    volume and trend scores.
    """
    pr = data.get("priorities", {}) if isinstance(data, dict) else None
    if not _candidates(data) or not isinstance(pr, dict) or not all(
            isinstance(pr.get(k, {}), dict) for k in ("measures", "volume", "trend")):
        return data
    measures = dict(pr.get("measures") or {})
    for t in data["themes"]:
        if not (isinstance(t, dict) and t.get("priority") is True):
            continue
        name = t.get("name")
        if name in measures or (name in (pr.get("volume") or {}) and
                                name in (pr.get("trend") or {})):
            continue
        first = [m for key in ("partner_measures", "crime_types")
                 for m in (t.get(key) if isinstance(t.get(key), list) else [])][:1]
        if first and isinstance(first[0], str):
            measures[name] = first[0]
    return {**data, "priorities": {**pr, "measures": measures}}


#: The measure names the parameters file being validated declares (``measures:``).
_DECLARED: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("declared",
                                                                          default=())


def _all_measures(police: bool = True) -> list[str]:
    """Partner measures (built-in and declared), and (``police``) the crime types and total."""
    from sa_lib.data.measures import BUILTIN_MEASURES
    from sa_lib.data.police_uk import CRIME_TYPES

    partner = list(dict.fromkeys([*BUILTIN_MEASURES, *_DECLARED.get()]))
    return partner + (list(CRIME_TYPES) + [TOTAL_CRIME] if police else [])


def _check_measures(v: list[str], police: bool) -> list[str]:
    known = _all_measures(police)
    bad = [m for m in v if m not in known]
    if bad:
        raise ValueError(f"unknown measure(s) {bad}{suggest(bad, known)}; choose from {known}")
    return v


#: The name of the police.uk total (all crime types except anti-social behaviour).
TOTAL_CRIME = "Total crime (excluding ASB)"
Score = Annotated[int, Field(ge=1, le=5)]


class PriorityParameters(_Strict):
    """The priority matrix and the recommendation step.

    Every MoRiLE theme needs a volume and a trend score: from ``measures``
    (theme -> a police.uk crime type, the police.uk total or a partner
    measure), or given by hand in ``volume`` and ``trend`` (themes with no data,
    such as organised crime groups).  A hand score wins over a measure.
    """

    n_priorities: int = Field(default=5, ge=1, le=100)
    cross_cutting: list[Name] = Field(default_factory=list)
    weights: dict[Literal["volume", "trend", "perception", "influence"],
                  Annotated[FiniteFloat, Field(ge=0, le=1_000_000)]] = Field(default_factory=dict)
    perception: dict[Name, Score] = Field(default_factory=dict)
    influence: dict[Name, Score] = Field(default_factory=dict)
    measures: dict[Name, str] = Field(default_factory=dict)
    volume: dict[Name, Score] = Field(default_factory=dict)
    trend: dict[Name, Score] = Field(default_factory=dict)
    evidence: Evidence = Field(default_factory=dict)  # parameter_sections.py

    @field_validator("measures")
    @classmethod
    def _known_measures(cls, v: dict[str, str]) -> dict[str, str]:
        _check_measures(list(v.values()), police=True)
        return v

    @model_validator(mode="after")
    def _every_theme_scored(self) -> PriorityParameters:
        themes = set(self.perception) | set(self.influence) | set(self.measures) | \
            set(self.volume) | set(self.trend)
        problems = []
        for t in sorted(themes - set(_CANDIDATES.get())):
            missing = [k for k in ("perception", "influence") if t not in getattr(self, k)]
            missing += [k for k in ("volume", "trend")
                        if t not in getattr(self, k) and t not in self.measures]
            if missing:
                problems.append(f"{t!r} has no {' / '.join(missing)} score"
                                + (" (give a measure or hand scores)"
                                   if {"volume", "trend"} & set(missing) else ""))
        # A factor left out weighs 1 (sa_lib.stats.priorities); all four at 0 rank nothing.
        if self.weights and sum(self.weights.get(k, 1.0) for k in
                                ("volume", "trend", "perception", "influence")) == 0:
            problems.append("priorities.weights: every factor weighs 0; expected at least one "
                            "weight above 0")
        unknown = [t for t in self.cross_cutting if t not in self.perception]
        if unknown:
            problems.append(f"priorities.cross_cutting: {unknown} are not themes of the priorities "
                            f"section{suggest(unknown, list(self.perception))}; expected themes "
                            "scored in priorities.perception")
        if problems:
            raise ValueError("\n".join(problems))
        return self


class ReviewIndicator(_Strict):
    """How an action-plan indicator is checked with SPC: its monthly measure and target."""

    measure: str
    monthly_target: Annotated[FiniteFloat, Field(ge=0, le=1e12)]

    @field_validator("measure")
    @classmethod
    def _known_measure(cls, v: str) -> str:
        _check_measures([v], police=True)
        return v


class ReviewParameters(_Strict):
    """The review of last year's priorities (chapter 4)."""

    indicators: dict[Annotated[str, Field(min_length=1, max_length=300),
                               AfterValidator(check_text)],
                     ReviewIndicator] = Field(default_factory=dict, max_length=100)


class Parameters(_Strict):
    """One strategic assessment: area, windows, data, themes and thresholds."""

    year: int = Field(ge=2000, le=2100, description="year of the data reviewed")
    title: Annotated[str, Field(min_length=1, max_length=300),
                     AfterValidator(check_text)] = "Strategic Assessment"
    run_date: dt.date = Field(ge=dt.date(2000, 1, 1), le=dt.date(2100, 12, 31),
                              description="date printed on the report (fixed for reproducibility)")
    area: AreaParameters
    window: WindowParameters
    comparison: ComparisonParameters | None = None
    data: DataParameters
    themes: list[ThemeParameters] = Field(min_length=1, max_length=100)
    measures: dict[Name, MeasureDeclaration] = Field(default_factory=dict, max_length=100)
    improvement: dict[str, Improvement] = Field(default_factory=dict)
    rebase: dict[str, list[str]] = Field(default_factory=dict)
    spc: SpcParameters = Field(default_factory=SpcParameters)
    thresholds: ThresholdParameters = ThresholdParameters()
    priorities: PriorityParameters = PriorityParameters()
    last_year_priorities: list[Name] = Field(default_factory=list)
    review: ReviewParameters = ReviewParameters()
    benchmark: BenchmarkParameters = BenchmarkParameters()
    commentary: CommentaryPath = None  # default: <stem>_commentary.md (parameter_sections.py)
    publication: PublicationParameters = Field(default_factory=PublicationParameters)
    source: str = Field(default="", exclude=True)

    @field_validator("rebase")
    @classmethod
    def _rebase_months(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        return {k: [check_month(m) for m in months] for k, months in v.items()}

    @model_validator(mode="after")
    def _declared_measures(self) -> Parameters:
        from sa_lib.data.measures import BUILTIN_MEASURES
        from sa_lib.data.police_uk import CRIME_TYPES

        taken = {*BUILTIN_MEASURES, *CRIME_TYPES, TOTAL_CRIME}
        problems = [f"measures.{n}: {n!r} is already a built-in measure or police.uk crime "
                    "type; expected a new name" for n in self.measures if n in taken]
        by_file: dict[str, dict[str, tuple[str, ...]]] = {}
        for n, d in self.measures.items():
            spec = d.spec()
            cols = by_file.setdefault(spec.kind, {})
            for how, c in [(spec.time.how, spec.time.columns)] + [(r.how, r.columns)
                                                                 for r in spec.rules]:
                for col in c:
                    seen = cols.setdefault(col, (how, n))
                    if seen[0] != how:
                        problems.append(f"measures.{n}: column {col!r} of {spec.kind!r} is read "
                                        f"as {how}, but measures.{seen[1]} reads it as {seen[0]}; "
                                        "expected each column of a return read one way")
        if problems:
            raise ValueError("\n".join(problems))
        # A declared measure's own direction applies unless `improvement` names it.
        extra = {n: d.improvement for n, d in self.measures.items() if n not in self.improvement}
        if extra:
            object.__setattr__(self, "improvement", {**self.improvement, **extra})
        return self

    @property
    def priority_candidates(self) -> list[str]:
        """The themes flagged ``priority: true``, in order."""
        return [t.name for t in self.themes if t.priority]

    def declared_measures(self) -> dict[str, Any]:
        """The measures this file declares, as registry entries (``MeasureSpec``)."""
        return {n: d.spec() for n, d in self.measures.items()}

    @model_validator(mode="after")
    def _names_and_measures(self) -> Parameters:
        # improvement / rebase name measures that exist; names give distinct file names.
        problems = (measure_problems(self, _all_measures()) + check_names_and_slugs(self)
                    + evidence_problems(self))
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @model_validator(mode="after")
    def _months_not_after_the_report(self) -> Parameters:
        # A window ending after the report is written would read missing months as data to
        # come, and a comparison reaching past the review window compares months the report
        # does not review.  Errors name the key (pydantic prefixes nothing for model checks).
        written = self.run_date.strftime("%Y-%m")
        problems = []
        if self.window.end > written:
            problems.append(f"window.end {self.window.end!r} is after run_date {self.run_date} "
                            "(the month the report is written); expected a window that has ended")
        c = self.comparison
        if c is not None:
            for key in ("current_start", "current_end", "previous_start", "previous_end"):
                if getattr(c, key) > self.window.end:
                    problems.append(f"comparison.{key} {getattr(c, key)!r} is after window.end "
                                    f"{self.window.end!r}; expected comparison months inside or "
                                    "before the review window")
            if c.current_start > c.current_end or c.previous_start > c.previous_end:
                problems.append("comparison: a window starts after it ends; expected "
                                "current_start <= current_end and previous_start <= previous_end")
            elif c.previous_end >= c.current_start:
                problems.append(f"comparison.previous_end {c.previous_end!r} is not before "
                                f"comparison.current_start {c.current_start!r}; expected the "
                                "previous window to end before the current one starts")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @model_validator(mode="after")
    def _spc_history_covers_window(self) -> Parameters:
        if ("history_months" not in self.spc.model_fields_set
                and self.spc.history_months < self.window.months):
            # The default history (36 months) grows to a longer review window; only a
            # history set on purpose shorter than the window is refused.
            # A copy, never the shared default instance.
            object.__setattr__(self, "spc", self.spc.model_copy(
                update={"history_months": self.window.months}))
        if self.spc.history_months < self.window.months:
            raise ValueError(f"spc.history_months {self.spc.history_months} is shorter than the "
                             f"review window's {self.window.months} months; expected at least "
                             f"{self.window.months}")
        return self

    @model_validator(mode="wrap")
    @classmethod
    def _with_declared_measures(cls, data: Any, handler: ModelWrapValidatorHandler[Parameters]
                                ) -> Parameters:
        # Defined last, so it wraps every check above. Themes, priorities, improvement, rebase and review may name the measures this
        # file declares: their checks read the declared names from _DECLARED.
        declared = data.get("measures") if isinstance(data, dict) else None
        names = tuple(n for n in declared if isinstance(n, str)) \
            if isinstance(declared, dict) else ()
        token = _DECLARED.set(names)
        cand = _CANDIDATES.set(_candidates(data))
        try:
            return handler(_with_candidates(data))
        finally:
            _DECLARED.reset(token)
            _CANDIDATES.reset(cand)

    # Derived views the notebooks use -------------------------------------------------
    @property
    def review_window(self) -> Window:
        """The window the assessment reviews (e.g. Jan 2025 – Dec 2025)."""
        return rolling_window(self.window.end, self.window.months)

    @property
    def current_window(self) -> Window:
        """The current side of the year-on-year comparison."""
        if self.comparison is None:
            return self.review_window
        return month_window(self.comparison.current_start, self.comparison.current_end)

    @property
    def previous_window(self) -> Window:
        """The previous side of the year-on-year comparison."""
        if self.comparison is None:
            return previous_window(self.review_window)
        return month_window(self.comparison.previous_start, self.comparison.previous_end)

    def path(self, key: str) -> Path:
        """An input path from the ``data`` section, absolute (ParameterError if not given)."""
        value = getattr(self.data, key)
        if value is None or isinstance(value, list):
            raise ParameterError(f"data.{key} is not one path in {self.source or 'the file'}")
        return resolve_data_path(value, f"data.{key}")

    def input_paths(self, key: str) -> list[Path]:
        """Every path ``data.<key>`` names, absolute (``[]`` when it is not given).

        >>> [p.name for p in load_parameters("parameters/2025.yaml").input_paths("partner")]
        ['synthetic']
        """
        v = getattr(self.data, key)
        named = {f"data.{key}[{i}]": x for i, x in enumerate(v)} if isinstance(v, list) else \
            {f"data.{key}": v} if v is not None else {}
        return [resolve_data_path(x, k) for k, x in named.items()]

    def police_uk_paths(self) -> list[Path]:
        """The police.uk folders/files, absolute."""
        return [resolve_data_path(p, f"data.police_uk[{i}]") for i, p in enumerate(self.data.police_uk)]

    @property
    def period_slug(self) -> str:
        """Folder name for this run's outputs, e.g. ``2025-01_2025-12``."""
        w = self.review_window
        return f"{w.start}_{w.end}"

    @property
    def area_slug(self) -> str:
        """Folder-safe area name, e.g. ``maidstone``."""
        return folder_slug(self.area.name)


_ALLOWED_ROOTS = (DATA_DIR, PARAMETERS_DIR)
#: Extra folders inputs may come from (os.pathsep-separated), e.g. a county's shared drive
#: of police.uk files; nothing outside data/, parameters/ and these is ever read.
EXTRA_DATA_DIRS_ENV = "SA_EXTRA_DATA_DIRS"


def allowed_data_roots() -> tuple[Path, ...]:
    """data/, parameters/ and any folder named in ``$SA_EXTRA_DATA_DIRS``."""
    extra = [Path(p) for p in os.environ.get(EXTRA_DATA_DIRS_ENV, "").split(os.pathsep) if p]
    return _ALLOWED_ROOTS + tuple(p.resolve() for p in extra if p.is_absolute())


def resolve_data_path(value: str, key: str, must_exist: bool = True) -> Path:
    """Resolve a path from the parameters file, refusing anything outside data/ or parameters/.

    Examples
    --------
    >>> resolve_data_path("data/police_uk/maidstone", "data.police_uk").name
    'maidstone'
    """
    p = Path(value)
    full = (p if p.is_absolute() else PROJECT_ROOT / p).resolve()
    if not any(full.is_relative_to(root.resolve()) for root in allowed_data_roots()):
        raise ParameterError(f"{key}: {value!r} is outside the project's data/ and parameters/ "
                             f"folders (and ${EXTRA_DATA_DIRS_ENV}); inputs must live there")
    if must_exist and not full.exists():
        raise ParameterError(f"{key}: {value!r} does not exist (looked for {full})")
    return full


def check_inside_data_roots(path: Path, key: str) -> Path:
    """Refuse a file found inside a data folder that resolves (through a symlink) outside it.

    :func:`resolve_data_path` checks the folders named in the parameters file; this checks
    each file read from them, so a symlink placed in ``data/`` cannot pull in
    ``/etc/passwd`` or another partnership's data.

    Raises
    ------
    ParameterError
        Naming the key, the file and where it really points.

    Examples
    --------
    >>> from sa_lib.paths import DATA_DIR
    >>> check_inside_data_roots(DATA_DIR / "README.md", "data.partner").name
    'README.md'
    """
    real = Path(path).resolve()
    if not any(real.is_relative_to(root.resolve()) for root in allowed_data_roots()):
        raise ParameterError(f"{key}: {path} points to {real}, outside the project's data/ and "
                             f"parameters/ folders (and ${EXTRA_DATA_DIRS_ENV}); expected inputs "
                             "that live there, not symlinks out of them")
    return real


def _loc_text(loc: tuple[Any, ...], raw: object) -> str:
    """``('themes', 8, 'name')`` -> ``themes[9] ('Knife crime').name`` (list items 1-based)."""
    out, node = "", raw
    for part in loc:
        if isinstance(part, int) and isinstance(node, list):
            item = node[part] if 0 <= part < len(node) else None
            name = item.get("name") if isinstance(item, dict) else None
            out += f"[{part + 1}]" + (f" ({name!r:.60})" if isinstance(name, str) else "")
            node = item
        else:
            out += ("." if out else "") + (part if part == "[key]" else str(part)[:60])
            node = node.get(part) if isinstance(node, dict) else None
    return out.replace(".[key]", " (the key)")


def _describe(err: dict[str, Any], raw: object) -> list[str]:
    loc = _loc_text(tuple(err["loc"]), raw)
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return [f"{loc}: unknown key (check the spelling; see parameters/README.md for the keys)"]
    if err["type"] == "missing":
        return [f"{loc}: required key is missing"]
    if err["type"] == "value_error":
        # Checks of a section name their own keys when they begin with the section's name.
        return [line if not loc or line.startswith((f"{loc}.", f"{loc}:")) else f"{loc}: {line}"
                for line in msg.splitlines()]
    got = err.get("input")
    shown = repr(got) if len(repr(got)) <= 80 else repr(got)[:77] + "..."
    return [f"{loc}: {msg} (got {shown})"]


def load_parameters(path: str | Path) -> Parameters:
    """Read and validate a parameters file.

    Parameters
    ----------
    path : path
        e.g. ``parameters/2025.yaml`` (relative to the project root or absolute).

    Raises
    ------
    ParameterError
        Naming every bad key: unknown keys, wrong types, bad months, missing
        files or paths outside the data folders; or naming the line and key of
        YAML the hardened loader refuses (:mod:`sa_lib.data.safe_yaml`).

    Examples
    --------
    >>> p = load_parameters("parameters/2025.yaml")
    >>> p.area.name, p.review_window.label
    ('Maidstone', 'Jan 2025 – Dec 2025')
    """
    path = Path(path)
    full = path if path.is_absolute() else PROJECT_ROOT / path
    if not full.exists():
        raise ParameterError(f"parameters file {path} not found")
    # Refuses duplicate keys, alias bombs, tags (never run), huge numbers, impossible
    # dates, deep nesting and files over 1 MiB, naming the line and key.
    raw = read_yaml(full, str(path))
    if not isinstance(raw, dict):
        raise ParameterError(f"{path}: expected a mapping of keys to values at the top level")
    try:
        params = Parameters.model_validate({**raw, "source": str(full)})
    except ValidationError as exc:
        lines = [line for e in exc.errors() for line in _describe(e, raw)]
        raise ParameterError(f"{path}: {len(lines)} problem(s):\n" +
                             "\n".join(f"  - {line}" for line in lines)) from None
    problems = []
    for key in ("partner", "morile_sheets", "morile_scales", "csp_table", "population",
                "boundaries"):
        try:
            params.input_paths(key)  # optional inputs not given name no path
        except ParameterError as exc:
            problems.append(str(exc))
    try:
        params.police_uk_paths()
    except ParameterError as exc:
        problems.append(str(exc))
    if problems:
        raise ParameterError(f"{path}: {len(problems)} problem(s):\n" +
                             "\n".join(f"  - {p}" for p in problems))
    from sa_lib.data.measures import PARTNER_MEASURES

    # The registry holds the built-ins and the measures of the file loaded last.
    PARTNER_MEASURES.declare(params.declared_measures())
    return params

