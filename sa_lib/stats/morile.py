"""MoRiLE thematic matrix: score themes by harm, likelihood and organisational position.

MoRiLE ("Management of Risk in Law Enforcement") is the NPCC's prioritisation
matrix.  Its numeric scales are not public, so they live in a versioned YAML
file (``parameters/morile_scales.yaml``); the default there is illustrative,
labelled "illustrative scales, not NPCC values", and every table this module
derives carries the scales' ``label`` and ``version`` (``scales_label``,
``scales_version`` columns).

Arithmetic, per scorer and theme:

* ``harm`` = sum (or max, ``harm.combine``) of the harm dimensions' points;
* ``likelihood`` = frequency points x victim-vulnerability multiplier;
* ``risk`` = harm x likelihood;
* ``priority_score`` = risk x organisational-position multiplier;
* ``confidence`` is carried alongside and never multiplied.

Input layout (the only one accepted): **tidy long sheets**, one CSV per scorer
with columns ``theme, field, value`` and optional ``rationale`` and ``scorer``
(default: the file's stem).  ``field`` is a harm dimension (``physical``,
``psychological``... as the scales list them), ``frequency``,
``vulnerability``, ``organisational_position`` or ``confidence``; ``value`` is
a label of that field's scale (case-insensitive) or the number it scores
(``4`` for "Substantial"; confidence takes labels only).  A scorer who scores a
theme must score every field of it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import yaml

from sa_lib.data.csv_text import csv_records, decode_csv_bytes
from sa_lib.errors import MoRiLEError, OptionError, ParameterError, Problem
from sa_lib.paths import PARAMETERS_DIR

__all__ = [
    "MoRiLEScale",
    "MoRiLEScales",
    "DEFAULT_MORILE_SCALES",
    "load_morile_scales",
    "validate_morile_scores",
    "read_morile_sheets",
    "score_morile",
    "aggregate_morile",
    "rank_stability",
    "morile_matrix",
]

#: Where :func:`load_morile_scales` looks when no path is given.
DEFAULT_MORILE_SCALES: Path = PARAMETERS_DIR / "morile_scales.yaml"

LIKELIHOOD_FIELDS = ("frequency", "vulnerability")
ORG_FIELD = "organisational_position"
CONFIDENCE_FIELD = "confidence"
SHEET_COLUMNS = ("theme", "field", "value")
# Harm dimension names become column names beside these, so they may not clash.
_RESERVED = {
    "scorer", "theme", "field", "value", "rationale", "sheet", "row", "step", "points",
    "harm", "likelihood", "risk", "priority_score", "rank", "n_scorers", "scales_label",
    "scales_version", *LIKELIHOOD_FIELDS, ORG_FIELD, CONFIDENCE_FIELD,
}
_TOP_KEYS = ("version", "label", "harm", "frequency", "vulnerability", ORG_FIELD, "confidence")
ORG_MULTIPLIER_RANGE = (0.5, 2.0)
# Scores are ranked after rounding to this many decimals, so two themes whose
# scores are equal on paper (3 x 22.5 vs 4.5 x 15) tie despite float error.
_RANK_DECIMALS = 9


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
        The file is missing, is not valid YAML (a duplicated key counts as
        invalid), or a key is missing, unknown or has a bad value; the message
        names every bad key.

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
    raw = path.read_bytes()
    try:
        # A SafeLoader subclass: a tag such as !!python/object/apply is refused, never run.
        data = yaml.load(raw.decode("utf-8"), Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise ParameterError(f"{path}: not valid YAML: {exc}") from None
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ParameterError(f"{path}: not UTF-8 text: byte 0x{raw[exc.start]:02x} on line "
                             f"{line} cannot be read; expected a UTF-8 file") from None
    return _parse_scales(data, str(path))


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe loader that refuses duplicated mapping keys (PyYAML keeps the last silently)."""


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if isinstance(key, str | int | float | bool) and key in seen:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark, f"duplicated key {key!r}",
                key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                 _construct_unique_mapping)


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


# --------------------------------------------------------------------------- sheets


def _text(s: pd.Series) -> np.ndarray:
    """Cells as stripped text; missing cells become ''."""
    obj = s.astype(object)
    return obj.where(obj.notna(), "").astype(str).str.strip().to_numpy(dtype=object)


def _validate(scores: pd.DataFrame, scales: MoRiLEScales,
              themes: Iterable[str] | None) -> tuple[pd.DataFrame, list[Problem]]:
    """Normalise a tidy scores frame and list every problem (no exception)."""
    if not isinstance(scales, MoRiLEScales):
        raise OptionError(f"scales must be MoRiLEScales (see load_morile_scales), "
                          f"got {type(scales).__name__}")
    if not isinstance(scores, pd.DataFrame):
        raise OptionError(f"scores must be a DataFrame, got {type(scores).__name__}")
    needed = ("scorer", *SHEET_COLUMNS)
    missing = [c for c in needed if c not in scores.columns]
    if missing:
        raise OptionError(f"scores is missing column(s) {missing}; a MoRiLE scores frame needs "
                          f"{', '.join(needed)} (rationale, sheet and row optional)")
    expected = None
    if themes is not None:
        if isinstance(themes, str):
            raise OptionError("themes must be a list of theme names, not one string")
        expected = [str(t).strip() for t in themes]

    scorer, theme = _text(scores["scorer"]), _text(scores["theme"])
    field, value = _text(scores["field"]), _text(scores["value"])
    field_key = np.array([f.casefold() for f in field], dtype=object)
    rationale = (_text(scores["rationale"]) if "rationale" in scores.columns
                 else np.full(len(scores), "", dtype=object))
    sheet = _text(scores["sheet"]) if "sheet" in scores.columns else scorer.copy()
    sheet = np.where(sheet == "", scorer, sheet)
    if "row" in scores.columns:
        row = [None if pd.isna(r) else int(r) for r in scores["row"].to_numpy(dtype=object)]
    else:
        row = [None] * len(scores)

    # Blank lines (theme, field and value all empty) are spreadsheet padding: drop them.
    keep = (theme != "") | (field != "") | (value != "")
    n = len(scores)
    canonical = np.full(n, "", dtype=object)
    step = np.full(n, -1, dtype=np.int64)
    points = np.full(n, np.nan)
    msg = np.full(n, "", dtype=object)  # one problem message per row, at most
    known_field = np.isin(field_key, list(scales.fields))

    for f in scales.fields:
        rows = keep & (field_key == f) & (value != "")
        if not rows.any():
            continue
        sc = scales.scale_for(f)
        lookup = {lab.casefold(): i for i, lab in enumerate(sc.labels)}
        vals = value[rows]
        idx = (pd.Series(vals, dtype=object).str.casefold().map(lookup)
               .fillna(-1).to_numpy(np.int64))
        if f != CONFIDENCE_FIELD:
            # Not a label: maybe the number the label scores (4 for "Substantial").
            num = pd.to_numeric(pd.Series(vals, dtype=object), errors="coerce").to_numpy(float)
            table = np.asarray(sc.values)
            hit = np.isclose(num[:, None], table[None, :], rtol=0, atol=1e-9)
            by_number = np.where(hit.any(axis=1), hit.argmax(axis=1), -1)
            idx = np.where(idx >= 0, idx, by_number)
        else:
            num = np.full(len(vals), np.nan)
        choices = ", ".join(f"{lab} ({_fmt(v)})" if f != CONFIDENCE_FIELD else lab
                            for lab, v in zip(sc.labels, sc.values, strict=True))
        lo, hi = min(sc.values), max(sc.values)
        where = np.flatnonzero(rows)
        for pos, i, v, x in zip(where, idx, vals, num, strict=True):
            if i >= 0:
                continue
            if math.isnan(x):
                msg[pos] = f"unknown label {v!r}; expected one of {choices}"
            elif not lo <= x <= hi:
                msg[pos] = f"score {v} is out of range ({_fmt(lo)} to {_fmt(hi)}); expected one of {choices}"
            else:
                msg[pos] = f"score {v} is not on the scale; expected one of {choices}"
        ok = where[idx >= 0]
        step[ok] = idx[idx >= 0]
        canonical[ok] = np.asarray(sc.labels, dtype=object)[idx[idx >= 0]]
        if f != CONFIDENCE_FIELD:
            points[ok] = np.asarray(sc.values)[idx[idx >= 0]]

    fields_text = ", ".join(scales.fields)
    msg = np.where(keep & known_field & (value == ""), "missing value", msg)
    msg = np.where(keep & ~known_field,
                   [f"unknown field {f!r}; expected one of {fields_text}" if f else
                    f"missing field; expected one of {fields_text}" for f in field], msg)
    if expected is not None:
        unexpected = keep & (theme != "") & ~np.isin(theme, expected)
        msg = np.where(unexpected & (msg == ""),
                       [f"theme {t!r} is not one of the expected themes" for t in theme], msg)
    msg = np.where(keep & (theme == ""), "missing theme", msg)
    msg = np.where(keep & (scorer == ""), "missing scorer", msg)

    problems: list[Problem] = []

    def describe_row(pos: int) -> str:
        parts = []
        if scorer[pos] and sheet[pos] != scorer[pos]:
            parts.append(f"scorer {scorer[pos]!r}")
        if theme[pos]:
            parts.append(f"theme {theme[pos]!r}")
        if field[pos]:
            parts.append(f"field {field_key[pos]!r}")
        return ", ".join(parts)

    def problem_column(pos: int) -> str:
        return field_key[pos] if known_field[pos] else "field"

    # Duplicates among rows whose key is usable.
    usable = keep & (scorer != "") & (theme != "") & known_field
    key = pd.DataFrame({"scorer": scorer, "theme": theme, "field": field_key})
    dup = np.zeros(n, dtype=bool)
    dup[usable] = key[usable].duplicated(keep=False).to_numpy()
    first_seen: dict[tuple[str, str, str], int] = {}
    dup_msg: dict[int, str] = {}
    for pos in np.flatnonzero(dup):
        k = (scorer[pos], theme[pos], field_key[pos])
        if k in first_seen:
            f0 = first_seen[k]
            at = f" (first at row {row[f0]} of {sheet[f0]})" if row[f0] is not None else ""
            dup_msg[pos] = f"scored more than once{at}"
        else:
            first_seen[k] = pos

    has_problem = keep & (msg != "")
    has_problem[list(dup_msg)] = True
    for pos in np.flatnonzero(has_problem):
        texts = [m for m in (msg[pos], dup_msg.get(pos, "")) if m]
        if texts:
            where = describe_row(pos)
            problems.append(Problem(sheet[pos], row[pos], problem_column(pos),
                                    f"{where}: {'; '.join(texts)}" if where else "; ".join(texts)))

    # Every (scorer, theme) scored must have every field.
    have = key[usable].drop_duplicates()
    pairs = have[["scorer", "theme"]].drop_duplicates()
    if len(pairs):
        full = pairs.merge(pd.DataFrame({"field": list(scales.fields)}), how="cross")
        absent = full.merge(have, how="left", indicator=True)
        absent = absent[absent["_merge"] == "left_only"]
        first_pos = (pd.Series(np.flatnonzero(usable), dtype="int64")
                     .groupby([scorer[usable], theme[usable]]).first())
        for s, t, f in absent[["scorer", "theme", "field"]].itertuples(index=False):
            pos = int(first_pos[(s, t)])
            who = f"scorer {s!r}, " if sheet[pos] != s else ""
            problems.append(Problem(sheet[pos], None, f,
                                    f"{who}theme {t!r}, field {f!r}: missing; a scorer who "
                                    "scores a theme must score every field"))
    # Themes that were expected but nobody scored.
    if expected is not None:
        scored_themes = set(theme[keep & (theme != "")])
        sheets = list(dict.fromkeys(sheet[keep]))
        names = ", ".join(sheets) if sheets else "no sheets"
        for t in dict.fromkeys(expected):
            if t not in scored_themes:
                problems.append(Problem(f"all sheets ({names})", None, "theme",
                                        f"theme {t!r} was expected but no scorer scored it"))

    clean = keep & ~has_problem
    out = pd.DataFrame({
        "scorer": scorer, "theme": theme, "field": field_key, "value": canonical,
        "step": step, "points": points, "rationale": rationale, "sheet": sheet,
        "row": pd.array(row, dtype="Int64"),
    })[clean].reset_index(drop=True)
    out.attrs["morile_scales"] = scales
    return out, problems


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def validate_morile_scores(scores: pd.DataFrame, scales: MoRiLEScales,
                           themes: Iterable[str] | None = None) -> pd.DataFrame:
    """Check a tidy frame of MoRiLE scores and return it normalised.

    Parameters
    ----------
    scores : DataFrame
        Columns ``scorer, theme, field, value``; optional ``rationale``,
        ``sheet`` (named in errors; default the scorer) and ``row`` (line
        number in the sheet).
    scales : MoRiLEScales
    themes : list of str, optional
        Themes that must be scored by at least one scorer; a theme not in this
        list is then also an error (a typo would otherwise become a new theme).

    Returns
    -------
    DataFrame
        ``scorer, theme, field, value`` (the label as the scales spell it),
        ``step`` (0 = lowest level), ``points`` (the number the label scores;
        NaN for confidence), ``rationale``, ``sheet``, ``row``.

    Raises
    ------
    MoRiLEError
        Listing every problem: unknown field or label, score out of range or
        not on the scale, missing value/scorer/theme, a field missing for a
        theme a scorer scored, a (scorer, theme, field) scored twice, an
        expected theme nobody scored.  Each names the sheet, row, theme and field.
    OptionError
        ``scores`` lacks a required column or ``scales`` is not MoRiLEScales.

    Examples
    --------
    >>> import pandas as pd
    >>> scales = load_morile_scales()
    >>> fields = scales.fields
    >>> df = pd.DataFrame({"scorer": "police", "theme": "ASB", "field": fields,
    ...                    "value": ["low", 2, 0, 4, "None", "Frequent", "Low", "Full", "High"]})
    >>> validate_morile_scores(df, scales)[["field", "value", "points"]].head(3)
               field     value  points
    0       physical       Low     1.0
    1  psychological  Moderate     2.0
    2      financial      None     0.0
    """
    out, problems = _validate(scores, scales, themes)
    if problems:
        raise MoRiLEError(problems)
    return out


def read_morile_sheets(paths: str | Path | Iterable[str | Path], scales: MoRiLEScales,
                       themes: Iterable[str] | None = None) -> pd.DataFrame:
    """Read one CSV scoring sheet per scorer and validate them together.

    Each sheet has columns ``theme, field, value`` and optionally
    ``rationale`` and ``scorer`` (headers are case-insensitive); without a
    ``scorer`` column the scorer is the file's stem (``police.csv`` ->
    ``police``).  Rows whose theme, field and value are all blank are skipped.

    Parameters
    ----------
    paths : path, directory or list of paths
        A directory means every ``*.csv`` in it (sorted by name).
    scales : MoRiLEScales
    themes : list of str, optional
        See :func:`validate_morile_scores`.

    Returns
    -------
    DataFrame
        As :func:`validate_morile_scores`; ``sheet`` is the file name and
        ``row`` the line number (header = row 1).

    Raises
    ------
    MoRiLEError
        Every problem in every sheet at once (missing file or column, plus all
        of :func:`validate_morile_scores`'s checks).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> scales = load_morile_scales()
    >>> values = ["Low", "Low", "Low", "Moderate", "None", "Frequent", "Low", "Full", "High"]
    >>> pd.DataFrame({"theme": "ASB", "field": scales.fields, "value": values}).to_csv(
    ...     folder / "police.csv", index=False)
    >>> sheets = read_morile_sheets(folder, scales, themes=["ASB"])
    >>> sheets.loc[0, "scorer"], sheets.loc[0, "sheet"], int(sheets.loc[0, "row"])
    ('police', 'police.csv', 2)
    """
    files = _sheet_paths(paths)
    frames, problems = [], []
    for path in files:
        name = path.name
        if not path.is_file():
            problems.append(Problem(name, None, None, f"sheet not found at {path}"))
            continue
        df, trouble = _read_sheet(path)
        if trouble:
            problems.extend(trouble)
            continue
        assert df is not None
        if "scorer" not in df.columns:
            df["scorer"] = path.stem
        frames.append(df)
    cols = ["scorer", *SHEET_COLUMNS, "rationale", "sheet", "row"]
    combined = (pd.concat([f.reindex(columns=cols) for f in frames], ignore_index=True)
                if frames else pd.DataFrame({c: pd.Series(dtype=object) for c in cols}))
    out, more = _validate(combined, scales, themes)
    problems.extend(more)
    if problems:
        raise MoRiLEError(problems)
    return out


def _read_sheet(path: Path) -> tuple[pd.DataFrame | None, list[Problem]]:
    """One scoring sheet as text cells with ``sheet`` and ``row`` (header = row 1).

    Read with the partner loaders' rules (UTF-8 or Windows-1252, strict CSV), so an
    undecodable byte, unbalanced quotes or a truncated line name their row.
    """
    name = path.name
    text, _, problems = decode_csv_bytes(path.read_bytes(), name)
    if text is None:
        return None, problems
    if not text.strip():
        return None, [Problem(name, None, None, "file is empty; expected a header row (theme, "
                              "field, value, rationale, scorer) and one row per theme and field")]
    records, problems = csv_records(text, name)
    if problems:
        return None, problems
    header = [str(c).strip().lower() for c in records[0]]
    absent = [c for c in SHEET_COLUMNS if c not in header]
    if absent:
        return None, [Problem(name, 1, c, f"missing column {c!r}; a MoRiLE sheet needs "
                              "columns theme, field, value (rationale, scorer optional)")
                      for c in absent]
    rows, body = [], []
    for r, rec in enumerate(records[1:], start=2):
        if not "".join(rec).strip():
            continue  # blank spreadsheet rows
        if len(rec) != len(header):
            short = len(rec) < len(header)
            problems.append(Problem(name, r, header[len(rec)] if short else None,
                                    f"has {len(rec)} field(s) but the header has {len(header)}"
                                    + (" (the last line looks truncated)"
                                       if r == len(records) and short else "")))
            continue
        rows.append(r)
        body.append(rec)
    if problems:
        return None, problems
    df = pd.DataFrame(body, columns=header, dtype=str) if body else \
        pd.DataFrame(columns=header, dtype=str)
    return df.assign(sheet=name, row=np.array(rows, dtype=np.int64)), []


def _sheet_paths(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    if isinstance(paths, str | Path):
        p = Path(paths)
        files = sorted(p.glob("*.csv")) if p.is_dir() else [p]
        if p.is_dir() and not files:
            raise OptionError(f"paths: no *.csv sheets found in {p}")
        return files
    files = [Path(p) for p in paths]
    if not files:
        raise OptionError("paths: no sheets given")
    return files


# --------------------------------------------------------------------------- scoring


def _combine_scores(dims: np.ndarray, frequency: np.ndarray, vulnerability: np.ndarray,
                    org: np.ndarray, combine: str) -> dict[str, np.ndarray]:
    """The MoRiLE arithmetic on arrays; ``dims`` has harm dimensions on its last axis."""
    harm = dims.max(axis=-1) if combine == "max" else dims.sum(axis=-1)
    likelihood = frequency * vulnerability
    risk = harm * likelihood
    return {"harm": harm, "likelihood": likelihood, "risk": risk,
            "priority_score": risk * org}


def _rank_desc(score: np.ndarray) -> np.ndarray:
    """1 = highest score; ties share the best (lowest) rank, as ``method="min"``."""
    key = np.round(score, _RANK_DECIMALS)
    return (key[None, :] > key[:, None]).sum(axis=1) + 1


def _scales_of(frame: pd.DataFrame, scales: MoRiLEScales | None, what: str) -> MoRiLEScales:
    scales = scales if scales is not None else frame.attrs.get("morile_scales")
    if not isinstance(scales, MoRiLEScales):
        raise OptionError(f"{what}: the scales were lost from the frame's attrs; pass scales=")
    return scales


def _tag(frame: pd.DataFrame, scales: MoRiLEScales) -> pd.DataFrame:
    frame["scales_label"] = scales.label
    frame["scales_version"] = scales.version
    frame.attrs["morile_scales"] = scales
    return frame


def score_morile(scores: pd.DataFrame, scales: MoRiLEScales) -> pd.DataFrame:
    """Score every theme for every scorer: harm, likelihood, risk and priority score.

    Parameters
    ----------
    scores : DataFrame
        Tidy scores (``scorer, theme, field, value``), raw or from
        :func:`read_morile_sheets`; validated again here.
    scales : MoRiLEScales

    Returns
    -------
    DataFrame
        One row per scorer and theme (themes in order of first appearance):
        ``scorer, theme``, one column per harm dimension (points), ``harm``
        (their sum or max), ``frequency`` (points), ``vulnerability``
        (multiplier), ``likelihood`` (= frequency x vulnerability), ``risk``
        (= harm x likelihood), ``organisational_position`` (multiplier),
        ``priority_score`` (= risk x organisational position), ``confidence``
        (label), ``<field>_label`` for every scored field, ``scales_label``
        and ``scales_version``.

    Raises
    ------
    MoRiLEError
        As :func:`validate_morile_scores`.

    Examples
    --------
    >>> import pandas as pd
    >>> scales = load_morile_scales()
    >>> values = ["Substantial", "Critical", "Low", "Moderate", "None",
    ...           "Frequent", "Medium", "Partial", "Medium"]
    >>> sheet = pd.DataFrame({"scorer": "police", "theme": "Domestic abuse",
    ...                       "field": scales.fields, "value": values})
    >>> score_morile(sheet, scales)[["harm", "likelihood", "risk", "priority_score"]]
       harm  likelihood  risk  priority_score
    0  15.0         4.5  67.5          84.375
    """
    v = validate_morile_scores(scores, scales)
    if v.empty:
        raise OptionError("scores has no scores to score")
    pairs = v[["scorer", "theme"]].drop_duplicates()
    theme_order = {t: i for i, t in enumerate(pd.unique(v["theme"]))}
    scorer_order = {s: i for i, s in enumerate(pd.unique(v["scorer"]))}
    pairs = pairs.assign(_t=pairs["theme"].map(theme_order), _s=pairs["scorer"].map(scorer_order))
    pairs = pairs.sort_values(["_t", "_s"], kind="stable").drop(columns=["_t", "_s"])
    index = pd.MultiIndex.from_frame(pairs)
    wide_points = v.pivot(index=["scorer", "theme"], columns="field", values="points").reindex(index)
    wide_labels = v.pivot(index=["scorer", "theme"], columns="field", values="value").reindex(index)

    dims = wide_points[list(scales.harm_dimensions)].to_numpy(float)
    freq = wide_points["frequency"].to_numpy(float)
    vuln = wide_points["vulnerability"].to_numpy(float)
    org = wide_points[ORG_FIELD].to_numpy(float)
    calc = _combine_scores(dims, freq, vuln, org, scales.harm_combine)

    out = pairs.reset_index(drop=True)
    for i, d in enumerate(scales.harm_dimensions):
        out[d] = dims[:, i]
    out["harm"] = calc["harm"]
    out["frequency"] = freq
    out["vulnerability"] = vuln
    out["likelihood"] = calc["likelihood"]
    out["risk"] = calc["risk"]
    out[ORG_FIELD] = org
    out["priority_score"] = calc["priority_score"]
    out[CONFIDENCE_FIELD] = wide_labels[CONFIDENCE_FIELD].to_numpy()
    for f in scales.scored_fields:
        out[f"{f}_label"] = wide_labels[f].to_numpy()
    return _tag(out, scales)


def aggregate_morile(scored: pd.DataFrame, scales: MoRiLEScales | None = None) -> pd.DataFrame:
    """Combine several scorers into one row per theme, with their disagreement and a rank.

    What is median'd, exactly: for each theme the **median across scorers of
    each input field's points** (each harm dimension, frequency, vulnerability
    multiplier, organisational-position multiplier) is taken, and the MoRiLE
    arithmetic is recomputed from those medians (so ``harm`` is the sum/max of
    the median dimensions, not the median of scorers' harm totals, and a median
    may fall between two points, e.g. 6 for scores 4 and 8).  ``priority_score``
    and ``rank`` use these recomputed values.  Separately,
    ``median_scorer_priority_score`` is the median of the scorers' own
    priority scores; with one scorer the two agree.

    Parameters
    ----------
    scored : DataFrame
        The output of :func:`score_morile`.
    scales : MoRiLEScales, optional
        Defaults to the scales stored in ``scored.attrs`` by :func:`score_morile`.

    Returns
    -------
    DataFrame
        One row per theme, sorted by rank: ``theme, rank`` (1 = highest
        priority; ties share the lower number, ``method="min"``, after rounding
        scores to 9 decimals), ``n_scorers``, the median of each harm dimension,
        ``harm``, ``frequency``, ``vulnerability``, ``likelihood``, ``risk``,
        ``organisational_position``, ``priority_score``,
        ``median_scorer_priority_score``, ``min_priority_score``,
        ``max_priority_score``, ``priority_score_range`` (max - min),
        ``priority_score_iqr`` (75th - 25th percentile, linear interpolation),
        ``wide_disagreement`` (True when scorers' labels for any field,
        confidence included, are more than one step apart),
        ``wide_disagreement_fields`` (those fields, comma separated),
        ``confidence`` (the lowest any scorer gave:
        a priority is only as well evidenced as its weakest assessment),
        ``confidence_most_common`` (ties go to the lower level),
        ``scales_label``, ``scales_version``.

    Examples
    --------
    >>> import pandas as pd
    >>> scales = load_morile_scales()
    >>> fields = scales.fields
    >>> rows = [("a", "ASB", ["Low"] * 5 + ["Frequent", "Low", "Full", "High"]),
    ...         ("b", "ASB", ["Moderate"] * 5 + ["Frequent", "Low", "Full", "Low"])]
    >>> sheet = pd.DataFrame([(s, t, f, v) for s, t, vals in rows
    ...                       for f, v in zip(fields, vals)],
    ...                      columns=["scorer", "theme", "field", "value"])
    >>> agg = aggregate_morile(score_morile(sheet, scales))
    >>> agg[["theme", "harm", "priority_score", "priority_score_range", "confidence"]]
      theme  harm  priority_score  priority_score_range confidence
    0   ASB   7.5          16.875                 11.25        Low
    """
    scales = _scales_of(scored, scales, "aggregate_morile")
    needed = ["scorer", "theme", *scales.scored_fields, "priority_score", CONFIDENCE_FIELD,
              *(f"{f}_label" for f in scales.scored_fields)]
    missing = [c for c in needed if c not in scored.columns]
    if missing:
        raise OptionError(f"scored is missing column(s) {missing}; pass the output of score_morile")
    if scored.empty:
        raise OptionError("scored has no rows; nothing to aggregate")

    groups = scored.groupby("theme", sort=False)
    fields = list(scales.scored_fields)
    med = groups[fields].median()
    ps = groups["priority_score"]
    calc = _combine_scores(med[list(scales.harm_dimensions)].to_numpy(float),
                           med["frequency"].to_numpy(float), med["vulnerability"].to_numpy(float),
                           med[ORG_FIELD].to_numpy(float), scales.harm_combine)

    out = pd.DataFrame({"theme": med.index.to_numpy()})
    out["rank"] = _rank_desc(calc["priority_score"])
    out["n_scorers"] = groups["scorer"].nunique().to_numpy()
    for d in scales.harm_dimensions:
        out[d] = med[d].to_numpy()
    out["harm"] = calc["harm"]
    out["frequency"] = med["frequency"].to_numpy()
    out["vulnerability"] = med["vulnerability"].to_numpy()
    out["likelihood"] = calc["likelihood"]
    out["risk"] = calc["risk"]
    out[ORG_FIELD] = med[ORG_FIELD].to_numpy()
    out["priority_score"] = calc["priority_score"]
    out["median_scorer_priority_score"] = ps.median().to_numpy()
    out["min_priority_score"] = ps.min().to_numpy()
    out["max_priority_score"] = ps.max().to_numpy()
    out["priority_score_range"] = out["max_priority_score"] - out["min_priority_score"]
    out["priority_score_iqr"] = (ps.quantile(0.75) - ps.quantile(0.25)).to_numpy()

    # Label spread in steps, per field (confidence included): > 1 step means the
    # scorers genuinely disagree rather than sit on neighbouring levels.
    label_columns = {**{f: f"{f}_label" for f in fields}, CONFIDENCE_FIELD: CONFIDENCE_FIELD}
    steps = pd.DataFrame({f: scored[col].map(
        {lab: i for i, lab in enumerate(scales.scale_for(f).labels)})
        for f, col in label_columns.items()})
    if steps.isna().any().any():
        bad = steps.columns[steps.isna().any()].tolist()
        raise OptionError(f"scored has labels not on the scales in {bad}; "
                          "score and aggregate with the same scales")
    steps = steps.astype("int64")
    g = steps.groupby(scored["theme"].to_numpy(), sort=False)
    wide = (g.max() - g.min()).reindex(med.index) > 1
    out["wide_disagreement"] = wide.any(axis=1).to_numpy()
    out["wide_disagreement_fields"] = [", ".join(wide.columns[r]) for r in wide.to_numpy()]

    conf_step = steps[CONFIDENCE_FIELD]
    lowest = conf_step.groupby(scored["theme"].to_numpy(), sort=False).min().reindex(med.index)
    counts = pd.crosstab(scored["theme"].to_numpy(), conf_step.to_numpy()).reindex(med.index)
    counts = counts.reindex(columns=sorted(counts.columns))
    labels = np.asarray(scales.confidence, dtype=object)
    out[CONFIDENCE_FIELD] = labels[lowest.to_numpy()]
    # idxmax returns the first (lowest) level among equally common ones.
    out["confidence_most_common"] = labels[counts.idxmax(axis=1).to_numpy(dtype=np.int64)]
    out = out.sort_values("rank", kind="stable").reset_index(drop=True)
    return _tag(out, scales)


def rank_stability(scores: pd.DataFrame, scales: MoRiLEScales) -> pd.DataFrame:
    """How far each theme's rank moves when any single score moves one step.

    Every score in the matrix (every scorer's every scored field of every
    theme) is moved one step down and one step up its scale, one at a time;
    moves off either end of the scale are skipped.  Confidence is not moved: it
    never changes a score.  After each move the themes are re-aggregated and
    re-ranked exactly as :func:`aggregate_morile` does (median of each field
    across scorers, arithmetic recomputed, rank 1 = highest, ties
    ``method="min"``).  A move of one theme's score can change another theme's
    rank, so every theme is checked against every move.

    Parameters
    ----------
    scores : DataFrame
        Tidy scores, as for :func:`score_morile`.
    scales : MoRiLEScales

    Returns
    -------
    DataFrame
        One row per theme, sorted by rank: ``theme, rank`` (unperturbed),
        ``best_rank``, ``worst_rank`` (over the unperturbed rank and every
        move), ``n_perturbations`` (moves tried; the same for every theme),
        ``n_rank_changes`` (moves that changed this theme's rank), ``stable``
        (no move changed it), ``scales_label``, ``scales_version``.

    Examples
    --------
    >>> import pandas as pd
    >>> scales = load_morile_scales()
    >>> tail = ["Frequent", "Low", "Full", "High"]
    >>> rows = [("ASB", ["Low"] * 5 + tail), ("Robbery", ["Moderate"] * 5 + tail)]
    >>> sheet = pd.DataFrame([("a", t, f, v) for t, vals in rows
    ...                       for f, v in zip(scales.fields, vals)],
    ...                      columns=["scorer", "theme", "field", "value"])
    >>> rank_stability(sheet, scales)[["theme", "rank", "best_rank", "worst_rank", "stable"]]
         theme  rank  best_rank  worst_rank  stable
    0  Robbery     1          1           1    True
    1      ASB     2          2           2    True
    """
    v = validate_morile_scores(scores, scales)
    if v.empty:
        raise OptionError("scores has no scores to rank")
    v = v[v["field"] != CONFIDENCE_FIELD]
    fields = list(scales.scored_fields)
    t_codes, theme_names = pd.factorize(v["theme"])
    r_codes, _ = pd.factorize(v["scorer"])
    f_codes = v["field"].map({f: i for i, f in enumerate(fields)}).to_numpy(np.int64)
    n_t, n_r, n_f = len(theme_names), int(r_codes.max()) + 1, len(fields)

    values = np.full((n_t, n_r, n_f), np.nan)
    values[t_codes, r_codes, f_codes] = v["points"].to_numpy(float)
    scale_list = [scales.scale_for(f) for f in fields]
    n_levels = np.array([s.n_levels for s in scale_list])
    table = np.full((n_f, n_levels.max()), np.nan)
    for i, s in enumerate(scale_list):
        table[i, : s.n_levels] = s.values
    n_dims = len(scales.harm_dimensions)

    def priority(points: np.ndarray) -> np.ndarray:
        med = np.nanmedian(points, axis=-2)  # across scorers
        return _combine_scores(med[..., :n_dims], med[..., n_dims], med[..., n_dims + 1],
                               med[..., n_dims + 2], scales.harm_combine)["priority_score"]

    base = np.round(priority(values), _RANK_DECIMALS)
    greater = (base[None, :] > base[:, None]).sum(axis=1)  # themes scoring above each theme
    base_rank = greater + 1

    step = v["step"].to_numpy(np.int64)
    moves = []
    for delta in (-1, 1):
        new = step + delta
        ok = (new >= 0) & (new < n_levels[f_codes])
        moves.append((t_codes[ok], r_codes[ok], f_codes[ok], table[f_codes[ok], new[ok]]))
    pt, pr, pf, new_value = (np.concatenate(parts) for parts in zip(*moves, strict=True))
    n_moves = len(pt)
    if n_moves:
        perturbed = values[pt].copy()  # (moves, scorers, fields)
        perturbed[np.arange(n_moves), pr, pf] = new_value
        new_score = np.round(priority(perturbed), _RANK_DECIMALS)
        old_score = base[pt]
        # Only the moved theme's score changes, so adjust each theme's count of
        # higher-scoring themes instead of re-sorting every perturbed ranking.
        count = (greater[None, :] - (old_score[:, None] > base[None, :])
                 + (new_score[:, None] > base[None, :]))
        count[np.arange(n_moves), pt] = ((base[None, :] > new_score[:, None]).sum(axis=1)
                                         - (old_score > new_score))
        ranks = count + 1
        changed = ranks != base_rank[None, :]
        best = np.minimum(base_rank, ranks.min(axis=0))
        worst = np.maximum(base_rank, ranks.max(axis=0))
        n_changes = changed.sum(axis=0)
    else:
        best, worst, n_changes = base_rank, base_rank, np.zeros(n_t, dtype=np.int64)

    out = pd.DataFrame({
        "theme": np.asarray(theme_names, dtype=object),
        "rank": base_rank,
        "best_rank": best,
        "worst_rank": worst,
        "n_perturbations": n_moves,
        "n_rank_changes": n_changes,
        "stable": n_changes == 0,
    })
    out = out.sort_values("rank", kind="stable").reset_index(drop=True)
    return _tag(out, scales)


def morile_matrix(aggregated: pd.DataFrame, scales: MoRiLEScales | None = None) -> pd.DataFrame:
    """A long theme x dimension table of the aggregated inputs, ready for a heat map.

    Parameters
    ----------
    aggregated : DataFrame
        The output of :func:`aggregate_morile`.
    scales : MoRiLEScales, optional
        Defaults to the scales stored in ``aggregated.attrs``.

    Returns
    -------
    DataFrame
        ``theme, rank, block`` (``harm``, ``likelihood`` or
        ``organisational_position``), ``dimension`` (each harm dimension,
        ``frequency``, ``vulnerability``, ``organisational_position``),
        ``value`` (median points or multiplier), ``scales_label``,
        ``scales_version``; themes in rank order, dimensions in scale order.

    Examples
    --------
    >>> import pandas as pd
    >>> scales = load_morile_scales()
    >>> values = ["Low"] * 5 + ["Frequent", "Low", "Full", "High"]
    >>> sheet = pd.DataFrame({"scorer": "a", "theme": "ASB", "field": scales.fields,
    ...                       "value": values})
    >>> m = morile_matrix(aggregate_morile(score_morile(sheet, scales)))
    >>> m[["dimension", "block", "value"]].tail(3)
                     dimension                    block  value
    5                frequency               likelihood   3.00
    6            vulnerability               likelihood   1.00
    7  organisational_position  organisational_position   0.75
    """
    scales = _scales_of(aggregated, scales, "morile_matrix")
    dims = list(scales.scored_fields)
    missing = [c for c in ["theme", "rank", *dims] if c not in aggregated.columns]
    if missing:
        raise OptionError(f"aggregated is missing column(s) {missing}; "
                          "pass the output of aggregate_morile")
    block = {**dict.fromkeys(scales.harm_dimensions, "harm"),
             **dict.fromkeys(LIKELIHOOD_FIELDS, "likelihood"), ORG_FIELD: ORG_FIELD}
    ordered = aggregated.sort_values("rank", kind="stable")
    long = ordered[["theme", "rank", *dims]].melt(
        id_vars=["theme", "rank"], value_vars=dims, var_name="dimension", value_name="value")
    # melt stacks dimension by dimension; reorder to theme (rank) then dimension.
    n_t = len(ordered)
    order = np.arange(len(long)).reshape(len(dims), n_t).T.ravel()
    long = long.iloc[order].reset_index(drop=True)
    long.insert(2, "block", long["dimension"].map(block))
    return _tag(long, scales)
