"""Small-number suppression for tables that go into public documents.

The OFFICIAL strategic assessment can show every count; the public plan must
not let a reader identify a victim from a small number (notes, section 2.6).
:func:`suppress` hides the small counts of a table and whatever would give them
back; :func:`sa_lib.stats.disclosure.render_table` applies it for
``audience="public"``, and :mod:`sa_lib.stats.disclosure_audit` checks the result.

Rules
-----
Tables are *wide*: one row per category, one column per count ("value
columns"), optionally a total column (``row_total``, each row's total) and a
total row (``column_total_row``, each column's total).  Totals are assumed to
be the sums of their cells, which is the cautious assumption.

1. **Primary suppression.**  Every count cell, totals included, holding
   ``1 .. threshold-1`` (default 1-4) is suppressed.  Zero is *not* suppressed
   by default (it is shown, as in the NHS Digital HES rule, and so a symbol
   always means "not zero"); ``suppress_zero=True`` also hides zeros.  Missing
   (NaN) cells are never suppressed.
2. **Secondary (complementary) suppression**, so nothing hidden can be worked
   out from a total by subtraction.  A *line* is a row when the table has a
   total column, and a column when it has a total row; the line's entries are
   its cells plus its total.  A line with exactly one suppressed entry leaks
   that entry (total minus the rest, or the sum of the cells), so one more
   entry of that line is suppressed: the smallest visible non-zero cell that
   is not the total (ties: the first), or the total itself if there is no
   such cell (e.g. a line with a single cell).  Rows are checked top to
   bottom, then columns left to right; after every new suppression the check
   starts again, so a cell hidden to protect a row can in turn force a second
   cell in its column, and so on, until no line has exactly one suppressed
   entry.  The total row and total column are lines too (their entries are
   the column totals and row totals, with the grand total as their total).
   Rows declared as sums of other rows (``sums=``, e.g. a "Total crime
   (excluding ASB)" row that leaves one category out) are lines too, one per
   count column: the sum and its parts.  In these lines the sum itself is
   hidden first (its parts are often shown in other tables, where a hidden
   part would be visible), then the smallest visible part if the sum was the
   lone hidden entry.
   This is the usual "at least two per line" rule: it stops exact recovery by
   subtraction within a line; it does not defend against every combination
   of several lines (e.g. linear programming bounds), which needs
   specialist tools such as tau-ARGUS.
3. **Derived values.**  A column computed from counts (difference,
   percentage change, share of the row total...) is listed in ``derived``
   with its source columns; in any row where a source cell is suppressed the
   derived cell is suppressed too, so ``3 -> 4 (+33%)`` cannot be reversed.

Every suppressed cell, whichever rule hid it, shows the same ``symbol`` so a
reader cannot tell which of two hidden cells is the small one.  The default
symbol ``"<5"`` is therefore literally untrue for complementary and derived
cells; a neutral symbol such as ``"[c]"`` with a footnote avoids that.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sa_lib.errors import OptionError

__all__ = [
    "apply_suppression",
    "suppress",
    "suppression_mask",
]

Derived = Mapping[str, str | Sequence[str]]
#: ``{label of a row that is a sum: [labels of the rows it adds up]}``.
RowSums = Mapping[Hashable, Sequence[Hashable]]


@dataclass(frozen=True)
class _Layout:
    """Where the counts, totals and derived columns are in a table."""

    value_columns: list[str]
    row_total: str | None
    total_row: int | None  # position of the row of column totals
    derived: dict[str, tuple[str, ...]]
    labels: list[str]  # how each row is named in messages
    row_sums: tuple[tuple[int, tuple[int, ...]], ...] = ()  # (sum row, its part rows)

    @property
    def count_columns(self) -> list[str]:
        return self.value_columns + ([self.row_total] if self.row_total is not None else [])


# --------------------------------------------------------------------------- validation
def _check_options(threshold: object, symbol: object, **flags: object) -> str:
    if isinstance(threshold, bool) or not isinstance(threshold, int | np.integer) or threshold < 1:
        raise OptionError(f"threshold must be a whole number >= 1, got {threshold!r}")
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise OptionError(f"{name} must be True or False, got {value!r}")
    if symbol is None:
        return f"<{threshold}"
    if not isinstance(symbol, str) or not symbol.strip():
        raise OptionError(f"symbol must be a non-empty string, got {symbol!r}")
    return symbol


def _is_number(v: object) -> bool:
    return isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool | np.bool_)


def _looks_like_counts(col: pd.Series, symbol: str | None) -> bool:
    if pd.api.types.is_bool_dtype(col):
        return False
    if pd.api.types.is_numeric_dtype(col):
        return True
    if symbol is None:
        return False
    values = [v for v in col.to_numpy(dtype=object) if not _is_nan(v)]
    return bool(values) and all(_is_number(v) or v == symbol for v in values)


def _is_nan(v: object) -> bool:
    return v is None or v is pd.NA or (isinstance(v, float | np.floating) and np.isnan(v))


def _layout(
    table: pd.DataFrame,
    value_columns: Sequence[str] | None,
    row_total: str | None,
    column_total_row: Hashable | None,
    label_column: str | None,
    derived: Derived | None,
    symbol: str | None,
    sums: RowSums | None = None,
) -> _Layout:
    """Validate the table's shape options; ``symbol`` set means suppressed cells may appear."""
    if not isinstance(table, pd.DataFrame):
        raise OptionError(f"table must be a pandas DataFrame, got {type(table).__name__}")
    if not table.columns.is_unique:
        dupes = sorted({str(c) for c in table.columns[table.columns.duplicated()]})
        raise OptionError(f"table has duplicate column names: {dupes}")
    columns = list(table.columns)

    def need(col: object, argument: str) -> None:
        if col not in columns:
            raise OptionError(f"{argument}={col!r} is not a column; columns are {columns}")

    if label_column is not None:
        need(label_column, "label_column")
    if row_total is not None:
        need(row_total, "row_total")

    derived_map: dict[str, tuple[str, ...]] = {}
    if derived is not None:
        if not isinstance(derived, Mapping):
            raise OptionError("derived must map each derived column to its source column(s)")
        for target, sources in derived.items():
            need(target, "derived")
            srcs = (sources,) if isinstance(sources, str) else tuple(sources)
            if not srcs:
                raise OptionError(f"derived column {target!r} needs at least one source column")
            derived_map[target] = srcs

    excluded = {label_column, row_total, *derived_map}
    if value_columns is None:
        values = [c for c in columns if c not in excluded and _looks_like_counts(table[c], symbol)]
        if not values:
            raise OptionError("no count columns found; pass value_columns=[...]")
    else:
        if isinstance(value_columns, str):
            value_columns = [value_columns]
        values = list(value_columns)
        if not values:
            raise OptionError("value_columns must list at least one column")
        for col in values:
            need(col, "value_columns")
            if col in excluded:
                raise OptionError(
                    f"value_columns must not include {col!r}: it is the label, total or a "
                    "derived column"
                )
        if len(set(values)) != len(values):
            raise OptionError(f"value_columns lists a column twice: {values}")

    counts = values + ([row_total] if row_total is not None else [])
    for target, srcs in derived_map.items():
        for src in srcs:
            if src not in counts and src not in derived_map:
                raise OptionError(
                    f"derived column {target!r} names source {src!r}, which is neither a count "
                    f"column {counts} nor another derived column"
                )

    if label_column is not None:
        labels = [str(v) for v in table[label_column].to_numpy(dtype=object)]
    else:
        labels = [str(v) for v in table.index]

    total_row = None
    if column_total_row is not None:
        where = table[label_column] if label_column is not None else pd.Series(table.index)
        hits = np.flatnonzero((where == column_total_row).to_numpy(dtype=bool))
        place = f"column {label_column!r}" if label_column is not None else "the index"
        if hits.size != 1:
            found = "not found" if hits.size == 0 else f"found {hits.size} times"
            raise OptionError(
                f"column_total_row={column_total_row!r} {found} in {place}; it must name "
                "exactly one row (use label_column if the labels are in a column)"
            )
        total_row = int(hits[0])
    return _Layout(values, row_total, total_row, derived_map, labels,
                   _resolve_sums(sums, labels, label_column))


def _resolve_sums(
    sums: RowSums | None, labels: list[str], label_column: str | None
) -> tuple[tuple[int, tuple[int, ...]], ...]:
    """Row positions of each ``{sum row: [part rows]}`` entry; every label must name one row."""
    if sums is None:
        return ()
    if not isinstance(sums, Mapping):
        raise OptionError("sums must map each sum row's label to the labels of its parts")
    place = f"column {label_column!r}" if label_column is not None else "the index"

    def where(label: object) -> int:
        hits = [i for i, v in enumerate(labels) if v == str(label)]
        if len(hits) != 1:
            found = "not found" if not hits else f"found {len(hits)} times"
            raise OptionError(f"sums: row {label!r} {found} in {place}; it must name exactly "
                              "one row")
        return hits[0]

    out = []
    for total, parts in sums.items():
        t = where(total)
        idx = tuple(where(p) for p in ([parts] if isinstance(parts, str) else parts))
        if not idx or t in idx:
            raise OptionError(f"sums: row {total!r} needs at least one part other than itself")
        out.append((t, idx))
    return tuple(out)


def _numeric_counts(table: pd.DataFrame, layout: _Layout) -> np.ndarray:
    """Count cells as a float matrix (NaN = missing); rejects anything that is not a count."""
    cols = layout.count_columns
    for col in cols:
        if not _looks_like_counts(table[col], None):
            raise OptionError(
                f"count column {col!r} is not numeric (dtype {table[col].dtype}); suppress the raw "
                "counts, not an already-suppressed table"
            )
    a = table[cols].to_numpy(dtype="float64", na_value=np.nan)
    _check_values(a, cols)
    return a


def _check_values(a: np.ndarray, cols: list[str]) -> None:
    bad = ~np.isnan(a) & ((a < 0) | (a != np.floor(a)))
    if bad.any():
        j = int(np.flatnonzero(bad.any(axis=0))[0])
        example = a[np.flatnonzero(bad[:, j])[0], j]
        raise OptionError(
            f"count column {cols[j]!r} holds {example:g}; counts must be whole numbers >= 0 "
            "(list computed columns such as differences or percentages in derived=)"
        )


# --------------------------------------------------------------------------- algorithm
def _primary(a: np.ndarray, threshold: int, suppress_zero: bool) -> np.ndarray:
    low = 0 if suppress_zero else 1
    with np.errstate(invalid="ignore"):
        return (a >= low) & (a < threshold)  # NaN compares False: never suppressed


def _complement(a: np.ndarray, s: np.ndarray, layout: _Layout) -> np.ndarray:
    """Add complementary suppressions until no line has exactly one suppressed entry."""
    s = s.copy()
    n_rows = a.shape[0]
    tcol = len(layout.value_columns)  # position of the total column, when there is one
    trow = layout.total_row
    stuck: set[tuple[str, int]] = set()  # lines with nothing left to hide
    # Lines: rows (with a total column), columns (with a total row), then each column of
    # each declared sum row; partial sums (a total that leaves a category out) need these.
    while True:
        line = None
        if layout.row_total is not None:
            lone = [i for i in np.flatnonzero(s.sum(axis=1) == 1) if ("row", i) not in stuck]
            if lone:
                i = int(lone[0])
                line = (("row", i), np.full(tcol, i), np.arange(tcol), (i, tcol))
        if line is None and trow is not None:
            lone = [j for j in np.flatnonzero(s.sum(axis=0) == 1) if ("col", j) not in stuck]
            if lone:
                j = int(lone[0])
                rows = np.array([k for k in range(n_rows) if k != trow], dtype=int)
                line = (("col", j), rows, np.full(rows.size, j), (trow, j))
        if line is None:
            for k, (t, parts) in enumerate(layout.row_sums):
                rows = np.array(parts, dtype=int)
                lone = [j for j in range(a.shape[1])
                        if s[rows, j].sum() + s[t, j] == 1 and (f"sum{k}", j) not in stuck]
                if lone:
                    j = lone[0]
                    line = ((f"sum{k}", j), rows, np.full(rows.size, j), (t, j))
                    break
        if line is None:
            return s
        name, rows_at, cols_at, total = line
        if isinstance(name[0], str) and name[0].startswith("sum") and not s[total]:
            # A sum row's parts usually appear in other tables too (a theme's crime types
            # are in the main change table), where a complementary cell would be shown
            # and give the small one back; the sum row is this table's own, so hide it.
            s[total] = True
            continue
        if not _hide_one(a, s, rows_at, cols_at, total):
            stuck.add(name)


def _hide_one(
    a: np.ndarray,
    s: np.ndarray,
    rows_at: np.ndarray,
    cols_at: np.ndarray,
    total: tuple[int, int],
) -> bool:
    """Suppress (in place) the smallest visible non-zero cell of a line, else its total."""
    cells = a[rows_at, cols_at]
    with np.errstate(invalid="ignore"):
        candidate = ~s[rows_at, cols_at] & (cells > 0)
    if candidate.any():
        k = int(np.argmin(np.where(candidate, cells, np.inf)))  # first of equal minima
        s[rows_at[k], cols_at[k]] = True
        return True
    if not s[total]:
        s[total] = True
        return True
    return False  # nothing left to hide; check_disclosure reports the line


def _derived_mask(mask: pd.DataFrame, derived: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    """Suppress derived cells whose row has a suppressed source; repeat for chains."""
    changed = True
    while changed:
        changed = False
        for target, srcs in derived.items():
            new = mask[target].to_numpy() | mask[list(srcs)].to_numpy().any(axis=1)
            if (new != mask[target].to_numpy()).any():
                mask[target] = new
                changed = True
    return mask


# --------------------------------------------------------------------------- public API
def suppression_mask(
    table: pd.DataFrame,
    threshold: int = 5,
    value_columns: Sequence[str] | None = None,
    row_total: str | None = None,
    column_total_row: Hashable | None = None,
    secondary: bool = True,
    *,
    label_column: str | None = None,
    derived: Derived | None = None,
    suppress_zero: bool = False,
    sums: RowSums | None = None,
) -> pd.DataFrame:
    """Which cells of a wide count table must be hidden before publication.

    Applies primary suppression (counts ``1 .. threshold-1``; zero is shown
    unless ``suppress_zero``), secondary suppression along every row/column
    that has a total, then derived columns.  See the module docstring for the
    exact algorithm.

    Parameters
    ----------
    table : DataFrame
        Rows = categories (including the total row, if any); count columns
        hold whole numbers >= 0 (NaN allowed, never suppressed).  Not modified.
    threshold : int, default 5
        Counts below this (and above zero) are suppressed.
    value_columns : list of str, optional
        The count columns other than ``row_total``.  Default: every numeric,
        non-boolean column that is not ``row_total``, ``label_column`` or derived.
    row_total : str, optional
        Column holding each row's total.
    column_total_row : label, optional
        The row holding each column's total: its index label, or its value in
        ``label_column``.
    secondary : bool, default True
        Apply secondary suppression.  ``False`` is for inspection only; a
        table with totals is not safe to publish without it.
    label_column : str, optional
        Column naming the rows (used to find ``column_total_row``).
    derived : mapping of str to str or list of str, optional
        Columns computed from counts, each with its source column(s), e.g.
        ``{"pct_change": ["previous", "current"]}``.  A derived cell is
        suppressed when any of its sources is suppressed in the same row.
    suppress_zero : bool, default False
        Also suppress zero counts.
    sums : mapping of row label to list of row labels, optional
        Rows that are sums of other rows, e.g. ``{"Total crime (excluding ASB)":
        [every crime type]}`` or a theme's "all types" row.  Unlike
        ``column_total_row`` the parts need not be every other row.  Each
        column of each sum is a line for secondary suppression, so a hidden
        part can never be recovered as the sum minus the visible parts.

    Returns
    -------
    DataFrame of bool
        Same index and columns as ``table``; ``True`` = suppress.

    Raises
    ------
    OptionError
        For a bad option, a missing column, a total row that is not found
        exactly once, or a count column holding text, negatives or fractions.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"A": [3, 12, 15], "B": [10, 15, 25], "Total": [13, 27, 40]},
    ...                  index=["r1", "r2", "Total"])
    >>> suppression_mask(t, row_total="Total", column_total_row="Total")
               A      B  Total
    r1      True   True  False
    r2      True   True  False
    Total  False  False  False
    """
    _check_options(threshold, "x", secondary=secondary, suppress_zero=suppress_zero)
    layout = _layout(table, value_columns, row_total, column_total_row, label_column, derived, None,
                     sums)
    a = _numeric_counts(table, layout)
    s = _primary(a, int(threshold), suppress_zero)
    if secondary and (layout.row_total is not None or layout.total_row is not None
                      or layout.row_sums):
        s = _complement(a, s, layout)
    mask = pd.DataFrame(False, index=table.index, columns=table.columns)
    for j, col in enumerate(layout.count_columns):
        mask[col] = s[:, j]
    return _derived_mask(mask, layout.derived)


def apply_suppression(
    table: pd.DataFrame, mask: pd.DataFrame, symbol: str = "<5"
) -> pd.DataFrame:
    """Replace the cells marked in ``mask`` by ``symbol``.

    Parameters
    ----------
    table : DataFrame
        The table to publish.  Not modified.
    mask : DataFrame of bool
        Same index and columns as ``table`` (e.g. from :func:`suppression_mask`).
    symbol : str, default "<5"
        Text shown in place of a suppressed value.

    Returns
    -------
    DataFrame
        A copy; every column with at least one suppressed cell becomes object
        dtype (numbers and ``symbol``); other columns keep their dtype.

    Raises
    ------
    OptionError
        If ``mask`` does not match ``table`` or is not boolean, or ``symbol``
        is empty.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"n": [3, 12]})
    >>> apply_suppression(t, pd.DataFrame({"n": [True, False]}))["n"].tolist()
    ['<5', 12]
    """
    _check_options(1, symbol)
    if not isinstance(table, pd.DataFrame) or not isinstance(mask, pd.DataFrame):
        raise OptionError("table and mask must both be pandas DataFrames")
    if not (mask.columns.equals(table.columns) and mask.index.equals(table.index)):
        raise OptionError("mask must have the same index and columns as table")
    if not all(pd.api.types.is_bool_dtype(dt) for dt in mask.dtypes):
        raise OptionError("mask must be boolean (True = suppress)")
    out = table.copy()
    for j in range(table.shape[1]):
        hide = mask.iloc[:, j].to_numpy(dtype=bool)
        if hide.any():
            values = table.iloc[:, j].to_numpy(dtype=object, copy=True)
            values[hide] = symbol
            out.isetitem(j, pd.Series(values, index=table.index, dtype=object))
    return out


def suppress(
    table: pd.DataFrame,
    threshold: int = 5,
    value_columns: Sequence[str] | None = None,
    row_total: str | None = None,
    column_total_row: Hashable | None = None,
    secondary: bool = True,
    symbol: str | None = None,
    *,
    label_column: str | None = None,
    derived: Derived | None = None,
    suppress_zero: bool = False,
    sums: RowSums | None = None,
) -> pd.DataFrame:
    """Suppress small counts (and what would reveal them) in a wide table.

    Equivalent to ``apply_suppression(table, suppression_mask(...), symbol)``.

    Parameters
    ----------
    table, threshold, value_columns, row_total, column_total_row, secondary
        As for :func:`suppression_mask`.
    symbol : str, optional
        Text shown for a suppressed cell; default ``f"<{threshold}"`` (``"<5"``).
        The same symbol is used for primary, complementary and derived cells.
    label_column, derived, suppress_zero, sums
        As for :func:`suppression_mask`.

    Returns
    -------
    DataFrame
        A copy with suppressed cells replaced by ``symbol``.  Zero stays ``0``
        unless ``suppress_zero``.

    Raises
    ------
    OptionError
        As for :func:`suppression_mask`, or an empty ``symbol``.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"ward": ["North", "South", "Total"],
    ...                   "2024": [3, 20, 23], "2025": [0, 18, 18]})
    >>> suppress(t, column_total_row="Total", label_column="ward")
        ward 2024  2025
    0  North   <5     0
    1  South   <5    18
    2  Total   23    18
    """
    symbol = _check_options(threshold, symbol)
    mask = suppression_mask(
        table, threshold, value_columns, row_total, column_total_row, secondary,
        label_column=label_column, derived=derived, suppress_zero=suppress_zero, sums=sums,
    )
    return apply_suppression(table, mask, symbol)
