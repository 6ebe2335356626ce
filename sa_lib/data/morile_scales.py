"""MoRiLE scales: each field's labels and the points or multipliers they score.

The numeric scales of MoRiLE (the NPCC's prioritisation matrix) are not
public, so they live in a versioned YAML file (``parameters/morile_scales.yaml``,
read by :func:`load_morile_scales`); the default there is illustrative,
labelled "illustrative scales, not NPCC values".  Scoring with them is
:mod:`sa_lib.stats.morile`; the scoring sheets are :mod:`sa_lib.data.morile_sheets`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from sa_lib.data.safe_yaml import read_yaml
from sa_lib.errors import OptionError, ParameterError
from sa_lib.paths import PARAMETERS_DIR

__all__ = [
    "MoRiLEScale",
    "MoRiLEScales",
    "DEFAULT_MORILE_SCALES",
    "load_morile_scales",
]

#: Where :func:`load_morile_scales` looks when no path is given.
DEFAULT_MORILE_SCALES: Path = PARAMETERS_DIR / "morile_scales.yaml"

LIKELIHOOD_FIELDS = ("frequency", "vulnerability")
ORG_FIELD = "organisational_position"
CONFIDENCE_FIELD = "confidence"
# Harm dimension names become column names beside these, so they may not clash.
_RESERVED = {
    "scorer", "theme", "field", "value", "rationale", "sheet", "row", "step", "points",
    "harm", "likelihood", "risk", "priority_score", "rank", "n_scorers", "scales_label",
    "scales_version", *LIKELIHOOD_FIELDS, ORG_FIELD, CONFIDENCE_FIELD,
}
_TOP_KEYS = ("version", "label", "harm", "frequency", "vulnerability", ORG_FIELD, "confidence")
ORG_MULTIPLIER_RANGE = (0.5, 2.0)


# --------------------------------------------------------------------------- scales


@dataclass(frozen=True)
class MoRiLEScale:
    """One ordinal scale: its labels, lowest first, and the number each label scores.

    One *step* on the scale is a move to the neighbouring label.

    Examples
    --------
    >>> s = MoRiLEScale("frequency", ("Rare", "Frequent"), (1.0, 3.0))
    >>> s.n_levels, s.value_of("Frequent")
    (2, 3.0)
    """

    name: str
    labels: tuple[str, ...]
    values: tuple[float, ...]

    @property
    def n_levels(self) -> int:
        """Number of labels on the scale."""
        return len(self.labels)

    def value_of(self, label: str) -> float:
        """The number a label scores (exact label, as written in the scales)."""
        return self.values[self.labels.index(label)]


@dataclass(frozen=True)
class MoRiLEScales:
    """The MoRiLE scales: harm points, likelihood and organisational-position multipliers.

    Build it with :func:`load_morile_scales` (from YAML) or
    :meth:`MoRiLEScales.from_dict`; both validate every key.

    Attributes
    ----------
    version, label : str
        Carried into every derived table (``scales_version``, ``scales_label``).
    harm_dimensions : tuple of str
        Harm fields, all scored on ``harm``.
    harm_combine : {"sum", "max"}
        How the harm dimensions' points combine into ``harm``.
    harm, frequency, vulnerability, organisational_position : MoRiLEScale
        Points (harm, frequency) or multipliers (vulnerability, organisational position).
    confidence : tuple of str
        Confidence labels, lowest first; never multiplied.
    source : str
        Where the scales came from (file path or ``"<dict>"``).

    Examples
    --------
    >>> scales = load_morile_scales()
    >>> scales.label
    'illustrative scales, not NPCC values'
    >>> scales.fields[-4:]
    ('frequency', 'vulnerability', 'organisational_position', 'confidence')
    """

    version: str
    label: str
    harm_dimensions: tuple[str, ...]
    harm_combine: Literal["sum", "max"]
    harm: MoRiLEScale
    frequency: MoRiLEScale
    vulnerability: MoRiLEScale
    organisational_position: MoRiLEScale
    confidence: tuple[str, ...]
    source: str = "<dict>"

    @property
    def scored_fields(self) -> tuple[str, ...]:
        """Fields that enter the score: harm dimensions, frequency, vulnerability, org position."""
        return (*self.harm_dimensions, *LIKELIHOOD_FIELDS, ORG_FIELD)

    @property
    def fields(self) -> tuple[str, ...]:
        """Every field a sheet must give per theme: the scored fields and confidence."""
        return (*self.scored_fields, CONFIDENCE_FIELD)

    def scale_for(self, field: str) -> MoRiLEScale:
        """The scale a field is scored on (confidence: its labels with ordinal 0, 1, 2...)."""
        if field in self.harm_dimensions:
            return self.harm
        if field == CONFIDENCE_FIELD:
            return MoRiLEScale(CONFIDENCE_FIELD, self.confidence,
                               tuple(float(i) for i in range(len(self.confidence))))
        if field in (*LIKELIHOOD_FIELDS, ORG_FIELD):
            return getattr(self, field)
        raise OptionError(f"unknown MoRiLE field {field!r}; expected one of {', '.join(self.fields)}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "<dict>") -> MoRiLEScales:
        """Validate a parsed scales mapping (the YAML's structure) and build the scales.

        Parameters
        ----------
        data : mapping
            Keys ``version``, ``label``, ``harm`` (``dimensions``, ``combine``,
            ``points``), ``frequency`` (``points``), ``vulnerability``
            (``multipliers``), ``organisational_position`` (``multipliers``) and
            ``confidence`` (``levels``); see ``parameters/morile_scales.yaml``.
        source : str
            Named in error messages.

        Raises
        ------
        ParameterError
            Listing every invalid key at once.

        Examples
        --------
        >>> s = MoRiLEScales.from_dict({
        ...     "version": "t1", "label": "test scales",
        ...     "harm": {"dimensions": ["physical"], "combine": "max",
        ...              "points": {"Low": 1, "High": 5}},
        ...     "frequency": {"points": {"Rare": 1, "Often": 2}},
        ...     "vulnerability": {"multipliers": {"Low": 1, "High": 2}},
        ...     "organisational_position": {"multipliers": {"Full": 1, "None": 2}},
        ...     "confidence": {"levels": ["Low", "High"]}})
        >>> s.harm.labels, s.harm_combine
        (('Low', 'High'), 'max')
        """
        return _parse_scales(data, source)


def load_morile_scales(path: str | Path | None = None) -> MoRiLEScales:
    """Read and validate the MoRiLE scales YAML file.

    Parameters
    ----------
    path : str or Path, optional
        Defaults to ``parameters/morile_scales.yaml`` (:data:`DEFAULT_MORILE_SCALES`).

    Returns
    -------
    MoRiLEScales

    Raises
    ------
    ParameterError
        The file is missing, is not valid YAML or is refused by the hardened
        loader (:mod:`sa_lib.data.safe_yaml`: a duplicated key, a tag, too many
        aliases, a huge number; the message names the line and key), or a key is
        missing, unknown or has a bad value; the message names every bad key.

    Examples
    --------
    >>> scales = load_morile_scales()
    >>> scales.harm.labels
    ('None', 'Low', 'Moderate', 'Substantial', 'Critical')
    >>> scales.harm.values
    (0.0, 1.0, 2.0, 4.0, 8.0)
    """
    path = Path(path) if path is not None else DEFAULT_MORILE_SCALES
    if not path.is_file():
        raise ParameterError(f"{path}: MoRiLE scales file not found")
    # The hardened loader: duplicate keys, tags (never run), alias bombs, huge numbers and
    # deep nesting are refused with the line and key.
    data = read_yaml(path)
    return _parse_scales(data, str(path))


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse_scales(data: object, source: str) -> MoRiLEScales:
    errors: list[str] = []
    if not isinstance(data, Mapping):
        raise ParameterError(f"{source}: the MoRiLE scales must be a mapping of keys "
                             f"({', '.join(_TOP_KEYS)}), got {type(data).__name__}")
    for key in data:
        if key not in _TOP_KEYS:
            errors.append(f"unknown key {key!r}; expected {', '.join(_TOP_KEYS)}")
    for key in _TOP_KEYS:
        if key not in data:
            errors.append(f"{key}: missing")

    def text(key: str) -> str:
        v = data.get(key)
        if key in data and not (isinstance(v, str) and v.strip()):
            errors.append(f"{key}: must be non-empty text (quote it), got {v!r}")
        return str(v).strip() if v is not None else ""

    def section(key: str, allowed: tuple[str, ...]) -> Mapping[str, Any]:
        sec = data.get(key)
        if key not in data:
            return {}
        if not isinstance(sec, Mapping):
            errors.append(f"{key}: must be a mapping with keys {', '.join(allowed)}")
            return {}
        for k in sec:
            if k not in allowed:
                errors.append(f"{key}.{k}: unknown key; expected {', '.join(allowed)}")
        for k in allowed:
            if k not in sec:
                errors.append(f"{key}.{k}: missing")
        return sec

    def scale(key: str, values_key: str, *, increasing: bool, positive: bool,
              bounds: tuple[float, float] | None = None,
              other_keys: tuple[str, ...] = ()) -> MoRiLEScale:
        where = f"{key}.{values_key}"
        levels = section(key, (*other_keys, values_key)).get(values_key)
        if levels is None:
            return MoRiLEScale(key, (), ())
        if not isinstance(levels, Mapping) or len(levels) < 2:
            errors.append(f"{where}: must map at least two labels to numbers, lowest first")
            return MoRiLEScale(key, (), ())
        labels, values, ok = [], [], True
        for label, value in levels.items():
            if not (isinstance(label, str) and label.strip()) or _looks_numeric(str(label)):
                errors.append(f"{where}: label {label!r} must be non-numeric text "
                              "(quote labels such as 'None' or 'No')")
                ok = False
            if not _is_number(value):
                errors.append(f"{where}.{label}: must be a number, got {value!r}")
                ok = False
            elif (positive and value <= 0) or value < 0:
                errors.append(f"{where}.{label}: must be {'> 0' if positive else '>= 0'}, got {value!r}")
                ok = False
            elif bounds is not None and not bounds[0] <= value <= bounds[1]:
                errors.append(f"{where}.{label}: must lie in [{bounds[0]}, {bounds[1]}], got {value!r}")
                ok = False
            labels.append(str(label).strip())
            values.append(float(value) if _is_number(value) else math.nan)
        folded = [lab.casefold() for lab in labels]
        if len(set(folded)) != len(folded):
            errors.append(f"{where}: labels must differ (ignoring case), got {labels}")
            ok = False
        if ok and increasing and any(b <= a for a, b in zip(values, values[1:], strict=False)):
            errors.append(f"{where}: numbers must increase strictly from the first (lowest) "
                          f"label to the last, got {values}")
        elif ok and len(set(values)) != len(values):
            errors.append(f"{where}: numbers must all differ, got {values}")
        return MoRiLEScale(key, tuple(labels), tuple(values))

    version, label = text("version"), text("label")
    harm = scale("harm", "points", increasing=True, positive=False,
                 other_keys=("dimensions", "combine"))
    harm_sec = data.get("harm") if isinstance(data.get("harm"), Mapping) else {}
    dims = harm_sec.get("dimensions")
    dimensions: tuple[str, ...] = ()
    if "dimensions" in harm_sec:
        if (not isinstance(dims, list) or not dims
                or not all(isinstance(d, str) for d in dims)):
            errors.append(f"harm.dimensions: must be a non-empty list of names, got {dims!r}")
        else:
            dimensions = tuple(d.strip() for d in dims)
            for d in dimensions:
                if not re.fullmatch(r"[a-z][a-z0-9_]*", d) or d in _RESERVED:
                    errors.append(f"harm.dimensions: {d!r} must be a lower-case name "
                                  f"(letters, digits, _) and not one of {sorted(_RESERVED)}")
            if len(set(dimensions)) != len(dimensions):
                errors.append(f"harm.dimensions: names must differ, got {list(dimensions)}")
    combine = harm_sec.get("combine")
    if "combine" in harm_sec and combine not in ("sum", "max"):
        errors.append(f"harm.combine: must be 'sum' or 'max', got {combine!r}")
    frequency = scale("frequency", "points", increasing=True, positive=False)
    vulnerability = scale("vulnerability", "multipliers", increasing=True, positive=True)
    org = scale(ORG_FIELD, "multipliers", increasing=False, positive=True,
                bounds=ORG_MULTIPLIER_RANGE)
    conf_levels = section("confidence", ("levels",)).get("levels")
    confidence: tuple[str, ...] = ()
    if conf_levels is not None:
        if (not isinstance(conf_levels, list) or not conf_levels
                or not all(isinstance(c, str) and c.strip() for c in conf_levels)
                or any(_looks_numeric(c) for c in conf_levels)):
            errors.append("confidence.levels: must be a non-empty list of text labels, "
                          f"lowest confidence first, got {conf_levels!r}")
        else:
            confidence = tuple(c.strip() for c in conf_levels)
            if len({c.casefold() for c in confidence}) != len(confidence):
                errors.append(f"confidence.levels: labels must differ, got {list(confidence)}")
    if errors:
        shown = "\n".join(f"  - {e}" for e in errors)
        raise ParameterError(f"{source}: invalid MoRiLE scales:\n{shown}")
    return MoRiLEScales(version=version, label=label, harm_dimensions=dimensions,
                        harm_combine=combine, harm=harm, frequency=frequency,
                        vulnerability=vulnerability, organisational_position=org,
                        confidence=confidence, source=source)
