"""MoRiLE scoring sheets: reading one CSV per scorer and checking the scores.

Input layout (the only one accepted): **tidy long sheets**, one CSV per scorer
with columns ``theme, field, value`` and optional ``rationale`` and ``scorer``
(default: the file's stem).  ``field`` is a harm dimension (``physical``,
``psychological``... as the scales list them), ``frequency``,
``vulnerability``, ``organisational_position`` or ``confidence``; ``value`` is
a label of that field's scale (case-insensitive) or the number it scores
(``4`` for "Substantial"; confidence takes labels only).  A scorer who scores a
theme must score every field of it.

:func:`read_morile_sheets` reads the sheets; :func:`validate_morile_scores`
checks a tidy frame of scores against the scales
(:class:`~sa_lib.data.morile_scales.MoRiLEScales`) and normalises it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from sa_lib.data.csv_text import csv_records, decode_csv_bytes, quoted
from sa_lib.data.morile_scales import CONFIDENCE_FIELD, MoRiLEScales
from sa_lib.errors import MoRiLEError, OptionError, Problem

__all__ = [
    "validate_morile_scores",
    "read_morile_sheets",
]

SHEET_COLUMNS = ("theme", "field", "value")
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


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
            num = np.array(pd.to_numeric(pd.Series(vals, dtype=object), errors="coerce"),
                           dtype=float)
            # pandas gives NaN for a number too long to parse (5,000 digits): float() gives inf.
            for k in np.flatnonzero(np.isnan(num)):
                if _NUMBER.fullmatch(vals[k]):
                    num[k] = float(vals[k])
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
                msg[pos] = f"unknown label {quoted(v)}; expected one of {choices}"
            elif not lo <= x <= hi:
                msg[pos] = (f"score {v if len(v) <= 60 else quoted(v)} is out of "
                            f"range ({_fmt(lo)} to {_fmt(hi)}); expected one of {choices}")
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
    >>> from sa_lib.data.morile_scales import load_morile_scales
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
    >>> from sa_lib.data.morile_scales import load_morile_scales
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
