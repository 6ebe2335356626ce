"""Validating loaders for partner data (never public data), and their pseudonyms.

A strategic assessment draws on data that partners export from their own
systems: police domestic-abuse incidents, council ASB cases, one-stop-shop
visits, needle finds, hospital admissions, Section 136 detentions, KSI road
casualties, reoffending cohorts, the residents' survey, the action plan and the
MoRiLE scoring sheets.  Each *kind* has one documented CSV template
(:data:`~sa_lib.data.partner_schema.PARTNER_KINDS`, written to ``data/templates/``
by :func:`~sa_lib.data.partner_templates.write_templates`) and one loader,
:func:`read_partner`, which checks the file against it and returns a tidy,
typed frame.  :func:`validate_partner` runs the same checks and returns the
problems instead of raising.  The cell parsers are in
:mod:`sa_lib.data.partner_values`.

What a file may contain (the same for every kind):

* **Encoding**: UTF-8 with or without a byte-order mark, or Windows-1252 (what
  Excel's plain "CSV (Comma delimited)" writes); UTF-8 is tried first.
  Line endings LF or CRLF.  A file is recognised by its content, whatever its name:
  an Excel workbook (``.xlsx`` or ``.xls``), UTF-16 text, a gzip or zip file, a PDF, a
  web page or other binary data is refused, naming what it is and how to re-save it
  (:func:`~sa_lib.data.csv_text.not_csv_problem`).
* **Header**: one header row; names are matched ignoring case, spaces and
  punctuation (``Incident ID`` is ``incident_id``).  Optional columns may be left
  out; unknown columns are ignored (and dropped) unless they look like a misspelt
  template column, which is reported with the likely intended name.
* **Rows**: every row has as many fields as the header.  Unbalanced quotes, a row
  with too few or too many fields and a truncated last line are refused, naming
  the row.  Completely blank rows (spreadsheet padding) are skipped.
* **Blank cells**: a blank cell is "no value"; allowed only in optional columns.
  Text such as ``n/a`` is *not* read as blank.
* **Dates** (``date``): ``yyyy-mm-dd`` (ISO), ``dd/mm/yyyy`` (as UK Excel
  writes it; always day first, never US order) or an Excel serial day number of
  five digits (``45658`` is 2025-01-01).  A time of day after the date
  (``2025-01-31 14:05``) is allowed and dropped.  Two-digit years, impossible
  dates (``2025-02-30``), dates before 1990 and dates after today are refused.
* **Months** (``month``): ``yyyy-mm``; also ``Jan-25``, ``Jan 2025`` or
  ``January 2025`` (what Excel writes once it has turned a month into a date) and
  any accepted date falling on the 1st.  Months after the current one are refused.
* **Counts**: whole numbers >= 0 (``1,234`` with thousands separators is read);
  negative, fractional and non-numeric counts are refused, and so is a count of
  10^15 or more (``99999999999999999999999``: past int64, or not exact as a float).
  Other numbers lie between -10^15 and 10^15.
* **Allowed values**: compared ignoring case and surrounding spaces, and
  returned in lower case.
* **Flags**: ``yes`` / ``no`` (also ``y``/``n``, ``true``/``false``, ``1``/``0``).

Every problem in a file is reported at once as a :class:`~sa_lib.errors.Problem`
naming the file, the spreadsheet row (header = row 1), the column as written in
the file and what was expected.

Personal identifiers (``victim_id``, ``visitor_id``) are replaced on load by a
keyed hash (HMAC-SHA256, first 16 hex characters) so the raw identifiers never
reach a frame; the key comes from ``pseudonymise_key=`` or the
``SA_PSEUDONYM_KEY`` environment variable and must never be committed.  The same
key gives the same pseudonym for the same identifier, so repeats can still be
counted.
"""

from __future__ import annotations

import difflib
import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from sa_lib.data.csv_text import csv_records as _records
from sa_lib.data.csv_text import decode_csv_bytes as _decode
from sa_lib.data.partner_schema import PartnerSchema, _schema
from sa_lib.data.partner_values import _PARSERS, _extra_columns
from sa_lib.errors import DataValidationError, OptionError, Problem

__all__ = [
    "PSEUDONYM_KEY_ENV",
    "read_partner",
    "read_partner_return",
    "validate_partner",
    "pseudonymise",
]

#: Environment variable holding the pseudonymisation key.
PSEUDONYM_KEY_ENV = "SA_PSEUDONYM_KEY"

_MIN_KEY_LENGTH = 16
_PSEUDONYM_LENGTH = 16


# --------------------------------------------------------------------------- reading text


def _snake(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


# --------------------------------------------------------------------------- validation


@dataclass
class _Checked:
    frame: pd.DataFrame | None
    problems: list[Problem]
    encoding: str = ""
    ignored: tuple[str, ...] = ()


def _as_of(as_of: date | str | None) -> np.datetime64:
    if as_of is None:
        return np.datetime64(date.today(), "D")
    try:
        return np.datetime64(pd.Timestamp(as_of).date(), "D")
    except (ValueError, TypeError) as exc:
        raise OptionError(f"as_of={as_of!r} is not a date (expected e.g. '2025-10-31')") from exc


def _duplicates(keys: pd.DataFrame, rows: pd.Index) -> tuple[pd.Series, pd.Series]:
    """(is a repeat of an earlier row, that earlier row's number) for rows with complete keys."""
    complete = keys.notna().all(axis=1)
    k = keys[complete]
    repeat = pd.Series(False, index=keys.index)
    first_row = pd.Series(0, index=keys.index)
    if k.empty:
        return repeat, first_row
    dup = k.duplicated(keep="first")
    repeat[dup[dup].index] = True
    row_no = pd.Series(rows[complete.to_numpy()], index=k.index)
    first_row[k.index] = row_no.groupby([k[c] for c in k.columns], sort=False, dropna=False
                                        ).transform("first")
    return repeat, first_row


def _check(path: str | Path, schema: PartnerSchema, as_of: np.datetime64) -> _Checked:
    path = Path(path)
    file = str(path)
    if not path.is_file():
        why = "is a folder, not a CSV file" if path.is_dir() else "file not found"
        return _Checked(None, [Problem(file, None, None, why)])
    try:
        raw_bytes = path.read_bytes()
    except OSError as exc:
        return _Checked(None, [Problem(file, None, None, f"cannot be read: {exc.strerror or exc}")])
    text, encoding, problems = _decode(raw_bytes, file)
    if text is None:
        return _Checked(None, problems)
    expected = ", ".join(schema.column_names)
    if not text.strip():
        return _Checked(None, [Problem(file, None, None, "file is empty; expected a header row "
                                       f"({expected}) and one row per record")], encoding)
    records, problems = _records(text, file)
    if problems:
        return _Checked(None, problems, encoding)

    header_raw = [h.strip() for h in records[0]]
    header = [_snake(h) for h in header_raw]
    if not schema.declared and not set(header) & set(schema.column_names):
        # A title line above the header, a blank first row or another kind's file:
        # one clear message instead of a wrong field count on every row.
        found = ", ".join(h for h in header_raw if h) or "a blank row"
        return _Checked(None, [Problem(file, 1, None, f"row 1 is not a {schema.kind} header "
                                       f"(found: {found}); expected columns {expected}. Remove "
                                       "any title rows above the header, or check --kind")],
                        encoding)
    n_fields = len(header)
    body = records[1:]
    row_numbers = np.arange(2, len(body) + 2)
    lengths = np.fromiter(map(len, body), dtype=np.int64, count=len(body))
    blank = np.fromiter((not "".join(r).strip() for r in body), dtype=bool, count=len(body))
    wrong = ~blank & (lengths != n_fields)
    for i in np.flatnonzero(wrong):
        tail = ""
        if i == len(body) - 1 and lengths[i] < n_fields and not text.endswith(("\n", "\r")):
            tail = " (the last line looks truncated)"
        short = lengths[i] < n_fields
        problems.append(Problem(file, int(row_numbers[i]), header_raw[lengths[i]] if short else None,
                                f"has {lengths[i]} field(s) but the header has {n_fields} "
                                f"({', '.join(header_raw)}){tail}"))
    keep = ~blank & ~wrong
    rows = [body[i] for i in np.flatnonzero(keep)]
    index = pd.Index(row_numbers[keep], name="row")
    raw = pd.DataFrame(rows, columns=range(n_fields), index=index, dtype="str") if rows else \
        pd.DataFrame(columns=range(n_fields), index=index, dtype="str")

    # --- header: blank, duplicate, missing, misnamed, unknown columns
    names: dict[str, int] = {}
    for j, name in enumerate(header):
        if not name:
            if raw[j].str.strip().ne("").any():
                problems.append(Problem(file, 1, f"column {j + 1}", "has values but no header; "
                                        f"expected one of {expected}"))
            continue
        if name in names:
            problems.append(Problem(file, 1, header_raw[j], f"column {header_raw[j]!r} appears "
                                    f"twice (columns {names[name] + 1} and {j + 1})"))
            continue
        names[name] = j
    known = set(schema.column_names)
    unknown = [n for n in names if n not in known]
    missing = [c for c in schema.column_names if c not in names]
    misnamed: dict[str, str] = {}
    for n in unknown:
        close = difflib.get_close_matches(n, missing, n=1, cutoff=0.75)
        if close and close[0] not in misnamed.values():
            misnamed[n] = close[0]
    for n, target in misnamed.items():
        problems.append(Problem(file, 1, header_raw[names[n]],
                                f"unknown column {header_raw[names[n]]!r}; did you mean "
                                f"{target!r}? (expected columns: {expected})"))
    for c in missing:
        col = schema.column(c)
        if col.required and c not in misnamed.values():
            problems.append(Problem(file, 1, c, f"required column {c!r} is missing "
                                    f"(expected columns: {expected})"))
    ignored = tuple(header_raw[names[n]] for n in unknown if n not in misnamed)
    if not len(index):
        problems.append(Problem(file, None, None, "has a header but no data rows; expected one "
                                "row per record"))
        return _Checked(None, problems, encoding, ignored)

    # --- values, column by column (vectorised)
    shown = {c: header_raw[j] for c, j in names.items()}
    present = [c for c in schema.column_names if c in names]
    stripped = pd.DataFrame({c: raw[names[c]].str.strip() for c in present}, index=index)
    stripped = stripped.where(stripped != "")
    parsed = pd.DataFrame(index=index)
    errors: dict[str, pd.Series] = {}
    for c in present:
        col = schema.column(c)
        result = _PARSERS[col.type](stripped[c], col, as_of)
        err = result.errors
        if col.required:
            err = err.mask(stripped[c].isna() & err.isna(),
                           f"is blank; {c} is required ({col.rule})")
        parsed[c] = result.values
        for k, v in (result.extra or {}).items():
            parsed[k] = v
        errors[c] = err

    # --- exact duplicate rows, then unique columns and combinations
    canon = stripped.copy()
    for c in present:
        if schema.column(c).type in ("category", "flag"):
            canon[c] = canon[c].str.lower()
    exact = canon.fillna("\x00").duplicated(keep="first")
    if exact.any():
        first = pd.Series(index.to_numpy(), index=index).groupby(
            [canon[c].fillna("\x00") for c in present], sort=False).transform("first")
        for r in exact[exact].index:
            problems.append(Problem(file, int(r), None,
                                    f"duplicate row: identical to row {first[r]}; remove one"))
    key_sets = [(c,) for c in present if schema.column(c).unique]
    if schema.unique_together and all(c in names for c in schema.unique_together):
        key_sets.append(schema.unique_together)
    for keys in key_sets:
        keyframe = parsed[list(keys)].astype(object).where(pd.DataFrame(
            {c: errors[c].isna() for c in keys}))
        repeat, first_row = _duplicates(keyframe, index)
        repeat &= ~exact
        what = keys[0] if len(keys) == 1 else " + ".join(keys)
        for r in repeat[repeat].index:
            shown_value = ", ".join(str(stripped.at[r, c]) for c in keys)
            if any(schema.column(c).type == "pseudonym" for c in keys):
                shown_value = "(value hidden)"
            problems.append(Problem(file, int(r), shown[keys[0]] if len(keys) == 1 else what,
                                    f"{what} {shown_value!r} already appears on row "
                                    f"{first_row[r]}; expected {what} to be unique"))

    # --- rules across columns, on rows whose columns parsed cleanly
    # (exact duplicates are left out: they are reported once and must not count twice)
    distinct = parsed[~exact.to_numpy()]
    distinct.attrs["as_of"] = pd.Timestamp(as_of)
    for column, _, check in schema.rules:
        try:
            messages = check(distinct)
        except KeyError:  # an optional column the rule needs is absent
            continue
        for r, msg in messages.dropna().items():
            problems.append(Problem(file, int(r), shown.get(column, column), msg))

    for c in present:
        for r, msg in errors[c].dropna().items():
            problems.append(Problem(file, int(r), shown[c], msg))
    order = {c: i for i, c in enumerate(shown.values())}
    problems.sort(key=lambda p: (p.row or 0, order.get(p.column or "", -1)))
    return _Checked(parsed, problems, encoding, ignored)


def validate_partner(path: str | Path, kind: str, *, as_of: date | str | None = None
                     ) -> list[Problem]:
    """Check a partner-data file against its template and list every problem.

    Used by ``sa validate FILE --kind KIND``.  Nothing is pseudonymised, so no
    key is needed.

    Parameters
    ----------
    path : str or Path
        The CSV file.
    kind : str
        One of :data:`~sa_lib.data.partner_schema.PARTNER_KINDS` (e.g. ``"domestic_abuse"``).
    as_of : date or str, optional
        "Today" for the future-date check (default: the real today).

    Returns
    -------
    list of Problem
        Empty when the file is valid.  File problems never raise.

    Raises
    ------
    OptionError
        Unknown ``kind`` or bad ``as_of``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "s136.csv"
    >>> _ = f.write_text("month,detentions\\n2025-01,5\\n2025-02,-1\\n")
    >>> [str(p).split(", ", 1)[1] for p in validate_partner(f, "section_136")]
    ["row 3, column 'detentions': '-1' is negative (a count is a whole number >= 0)"]
    """
    schema = _schema(kind)
    return _check(path, schema, _as_of(as_of)).problems


# --------------------------------------------------------------------------- pseudonyms


def _pseudonym_key(key: str | bytes | None) -> bytes:
    if key is None:
        key = os.environ.get(PSEUDONYM_KEY_ENV)
    how = (f"set the environment variable {PSEUDONYM_KEY_ENV} (e.g. to the output of "
           "`python -c \"import secrets; print(secrets.token_hex(32))\"`, kept outside the "
           "repository) or pass pseudonymise_key=")
    if key is None or not str(key if isinstance(key, str) else key.decode(errors="replace")).strip():
        raise OptionError(f"a pseudonymisation key is needed to load personal identifiers: {how}")
    raw = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    if len(raw) < _MIN_KEY_LENGTH:
        raise OptionError(f"pseudonymise_key is too short ({len(raw)} characters; at least "
                          f"{_MIN_KEY_LENGTH} needed): {how}")
    return raw


def pseudonymise(values: pd.Series, key: str | bytes) -> pd.Series:
    """Replace identifiers by a keyed hash: HMAC-SHA256, first 16 hex characters.

    Identifiers are stripped of surrounding spaces first; blanks stay blank.
    The same key always gives the same pseudonym for the same identifier; without
    the key a pseudonym cannot be traced back or recomputed.

    Parameters
    ----------
    values : Series
        Raw identifiers.
    key : str or bytes
        Secret key, at least 16 characters.

    Returns
    -------
    Series
        Pseudonyms (text), same index.

    Raises
    ------
    OptionError
        Missing or too short key.

    Examples
    --------
    >>> p = pseudonymise(pd.Series(["V1", "V2", "V1"]), key="not-a-real-key-0123")
    >>> p[0] == p[2], p[0] == p[1], len(p[0])
    (True, False, 16)
    """
    secret = _pseudonym_key(key)
    text = values.astype("string").str.strip()
    codes, uniques = pd.factorize(text)
    # One HMAC per distinct identifier; hashing cannot be vectorised further.
    hashed = np.array([hmac.new(secret, u.encode("utf-8"), hashlib.sha256).hexdigest()
                       [:_PSEUDONYM_LENGTH] for u in uniques], dtype=object)
    out = np.where(codes >= 0, hashed[np.maximum(codes, 0)] if len(hashed) else None, None)
    return pd.Series(out, index=values.index, dtype="str")


def read_partner(path: str | Path, kind: str, pseudonymise_key: str | bytes | None = None, *,
                 as_of: date | str | None = None) -> pd.DataFrame:
    """Load a partner-data file, validated against its template, as a tidy typed frame.

    Parameters
    ----------
    path : str or Path
        The CSV file (see the module docstring for accepted encodings and formats).
    kind : str
        One of :data:`~sa_lib.data.partner_schema.PARTNER_KINDS`.
    pseudonymise_key : str or bytes, optional
        Key for hashing personal identifiers (``victim_id``, ``visitor_id``);
        default: the ``SA_PSEUDONYM_KEY`` environment variable.  Only needed for
        kinds with such identifiers.
    as_of : date or str, optional
        "Today" for the future-date check (default: the real today).

    Returns
    -------
    DataFrame
        Every template column (absent optional columns are all-missing) with
        snake_case names and proper dtypes: dates ``datetime64``, months
        ``period[M]``, counts and years ``Int64``, numbers ``float64``, allowed
        values lower-case ``category``, flags ``boolean``, text ``str``.
        ``period`` (action plan) adds ``period_start``/``period_end`` and
        ``cohort_period`` (reoffending) adds ``cohort_start``/``cohort_end``.
        Personal identifiers hold pseudonyms, never the raw values.  ``attrs``
        records ``kind``, ``source``, ``encoding``, ``ignored_columns`` and
        ``pseudonymised`` columns.

    Raises
    ------
    DataValidationError
        Every problem in the file at once (file, row, column, what was expected).
    OptionError
        Unknown ``kind``, or a kind with personal identifiers and no key.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "needles.csv"
    >>> _ = f.write_text("Month,Finds\\r\\nJan-25,61\\r\\n2025-02,\\"1,002\\"\\r\\n")
    >>> df = read_partner(f, "needle_finds")
    >>> df["month"].astype(str).tolist(), df["finds"].tolist()
    (['2025-01', '2025-02'], [61, 1002])
    """
    return read_partner_return(path, _schema(kind), pseudonymise_key, as_of=as_of)


def read_partner_return(path: str | Path, schema: PartnerSchema,
                        pseudonymise_key: str | bytes | None = None, *,
                        as_of: date | str | None = None) -> pd.DataFrame:
    """Load a partner return checked against a given template (built-in or generic).

    :func:`read_partner` for a built-in kind; a return declared in the parameters
    file is read with :func:`sa_lib.data.partner_schema.generic_schema`, so it is
    checked by the same rules (file, row and column of every problem).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sa_lib.data.partner_schema import generic_schema
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "hate_crime.csv"
    >>> _ = f.write_text("Date,Category,Notes\\n14/03/2025,Racial,x\\n")
    >>> s = generic_schema("*hate*.csv", "hate crime", {"date": "date", "category": "text"})
    >>> df = read_partner_return(f, s)
    >>> list(df.columns), str(df["date"].iloc[0].date())
    (['date', 'category'], '2025-03-14')
    """
    kind = schema.kind
    day = _as_of(as_of)
    secret = _pseudonym_key(pseudonymise_key) if schema.pseudonymised_columns else None
    checked = _check(path, schema, day)
    if checked.problems:
        raise DataValidationError(checked.problems)
    parsed = checked.frame
    assert parsed is not None
    out = pd.DataFrame(index=parsed.index)
    for col in schema.columns:
        if col.name in parsed:
            values, extra = parsed[col.name], _extra_columns(col, parsed)
        else:  # an absent optional column: all missing, with the column's dtype
            empty = _PARSERS[col.type](pd.Series(pd.NA, index=parsed.index, dtype="str"), col, day)
            values, extra = empty.values, empty.extra or {}
        if col.type == "pseudonym":
            assert secret is not None
            values = pseudonymise(values, secret)
        out[col.name] = values
        for k, v in extra.items():
            out[k] = v
    out = out.reset_index(drop=True)
    out.attrs = {
        "kind": kind,
        "source": str(path),
        "encoding": checked.encoding,
        "ignored_columns": list(checked.ignored),
        "pseudonymised": list(schema.pseudonymised_columns),
    }
    return out
