"""Auditing tables for disclosure: could a reader work out a small count?

:func:`check_disclosure` lists every way a (public) table breaks the rules of
:mod:`sa_lib.stats.suppression`.  :func:`find_sum_rows`, :func:`find_sum_columns`
and :func:`recoverable_cells` go further: they find the rows and columns that
add up others, whatever their labels say, and the suppressed cells that
subtraction from them gives back.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

from sa_lib.errors import OptionError
from sa_lib.stats.suppression import (
    Derived,
    RowSums,
    _check_options,
    _check_values,
    _derived_mask,
    _is_nan,
    _is_number,
    _layout,
    _numeric_counts,
    _primary,
)

__all__ = [
    "check_disclosure",
    "find_sum_columns",
    "find_sum_rows",
    "recoverable_cells",
]


def check_disclosure(
    table: pd.DataFrame,
    threshold: int = 5,
    value_columns: Sequence[str] | None = None,
    row_total: str | None = None,
    column_total_row: Hashable | None = None,
    *,
    label_column: str | None = None,
    derived: Derived | None = None,
    symbol: str | None = None,
    suppress_zero: bool = False,
    sums: RowSums | None = None,
) -> list[str]:
    """List every way a (public) table could disclose a small count.

    A cell counts as suppressed when it equals ``symbol``.  Three kinds of
    problem are reported:

    * a visible count in ``1 .. threshold-1`` (or 0 with ``suppress_zero``);
    * a row with a total column, or a column with a total row, in which
      exactly one entry (cell or total) is suppressed, so it can be recovered
      by subtraction or addition (a missing cell is taken as visible);
    * a visible derived value in a row where one of its sources is suppressed;
    * a column of a ``sums`` row in which exactly one of the sum and its parts
      is suppressed.

    Parameters
    ----------
    table : DataFrame
        A raw or rendered table (numbers and ``symbol`` strings).
    threshold, value_columns, row_total, column_total_row, label_column, derived, suppress_zero, sums
        As for :func:`~sa_lib.stats.suppression.suppression_mask`.  With
        ``value_columns`` omitted, the count columns are those holding only
        numbers and ``symbol``.
    symbol : str, optional
        Default ``f"<{threshold}"``.

    Returns
    -------
    list of str
        One message per problem; empty when the table is safe by these rules.

    Raises
    ------
    OptionError
        For bad options, or a count column holding text other than ``symbol``.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"A": [3, 12, 15], "B": [10, 15, 25], "Total": [13, 27, 40]},
    ...                  index=["r1", "r2", "Total"])
    >>> check_disclosure(t, row_total="Total", column_total_row="Total")
    ["row 'r1', column 'A': count 3 is visible (below the threshold of 5)"]
    >>> from sa_lib.stats.suppression import suppress
    >>> public = suppress(t, row_total="Total", column_total_row="Total")
    >>> check_disclosure(public, row_total="Total", column_total_row="Total")
    []
    """
    symbol = _check_options(threshold, symbol, suppress_zero=suppress_zero)
    layout = _layout(table, value_columns, row_total, column_total_row, label_column, derived, symbol,
                     sums)
    cols = layout.count_columns
    raw = table[cols].to_numpy(dtype=object)
    s = np.vectorize(lambda v: isinstance(v, str) and v == symbol, otypes=[bool])(raw)
    s = s.reshape(raw.shape)
    ok = np.vectorize(lambda v: _is_nan(v) or _is_number(v), otypes=[bool])(raw).reshape(raw.shape)
    odd = ~s & ~ok
    if odd.any():
        i, j = (int(x[0]) for x in np.nonzero(odd))
        raise OptionError(
            f"count column {cols[j]!r} holds {raw[i, j]!r} in row {layout.labels[i]!r}; "
            f"expected a number or {symbol!r}"
        )
    a = np.where(s, np.nan, raw).astype("float64")
    _check_values(a, cols)

    problems: list[str] = []
    small = ~s & _primary(a, int(threshold), suppress_zero)
    for i, j in zip(*np.nonzero(small), strict=True):
        problems.append(
            f"row {layout.labels[i]!r}, column {cols[j]!r}: count {a[i, j]:g} is visible "
            f"(below the threshold of {threshold})"
        )
    if layout.row_total is not None:
        for i in np.flatnonzero(s.sum(axis=1) == 1):
            j = int(np.flatnonzero(s[i])[0])
            problems.append(
                f"row {layout.labels[i]!r}: only {cols[j]!r} is suppressed, so it can be "
                f"recovered from the rest of the row and its total {layout.row_total!r}"
            )
    if layout.total_row is not None:
        for j in np.flatnonzero(s.sum(axis=0) == 1):
            i = int(np.flatnonzero(s[:, j])[0])
            problems.append(
                f"column {cols[j]!r}: only row {layout.labels[i]!r} is suppressed, so it can be "
                f"recovered from the rest of the column and its total row "
                f"{layout.labels[layout.total_row]!r}"
            )
    for t, parts in layout.row_sums:
        rows = list(parts)
        for j in np.flatnonzero(s[rows].sum(axis=0) + s[t] == 1):
            problems.append(
                f"column {cols[j]!r}: only one of row {layout.labels[t]!r} and the rows it adds "
                f"up ({[layout.labels[i] for i in rows]}) is suppressed, so it can be recovered "
                "by subtraction"
            )
    hidden = pd.DataFrame(False, index=range(len(table)), columns=table.columns)
    for j, col in enumerate(cols):
        hidden[col] = s[:, j]
    for target in layout.derived:
        hidden[target] = table[target].map(lambda v: isinstance(v, str) and v == symbol).to_numpy(
            dtype=bool
        )
    needed = _derived_mask(hidden.copy(), layout.derived)
    for target in layout.derived:
        leaks = needed[target].to_numpy() & ~hidden[target].to_numpy()
        for i in np.flatnonzero(leaks):
            problems.append(
                f"row {layout.labels[i]!r}, column {target!r}: visible although it is derived "
                f"from a suppressed value in {list(layout.derived[target])}"
            )
    return problems


_MAX_SUBSET_ROWS = 24  # subset search beyond this many rows is left to declared sums


def _subset_summing_to(parts: np.ndarray, target: np.ndarray) -> tuple[int, ...] | None:
    """Positions of rows of ``parts`` (whole numbers >= 0) adding up to ``target``, if any.

    A depth-first search over rows, pruned as soon as a partial sum exceeds the
    target in any column (counts are never negative), so it stays fast on the
    tables a report holds.
    """
    order = np.argsort(-parts.sum(axis=1), kind="stable")
    rest = np.cumsum(parts[order][::-1], axis=0)[::-1]  # what the remaining rows can still add

    def go(k: int, acc: np.ndarray, chosen: tuple[int, ...]) -> tuple[int, ...] | None:
        if np.array_equal(acc, target):
            return chosen
        if k == len(order) or (acc + rest[k] < target).any():
            return None
        row = parts[order[k]]
        if not (acc + row > target).any():
            hit = go(k + 1, acc + row, (*chosen, int(order[k])))
            if hit is not None:
                return hit
        return go(k + 1, acc, chosen)

    return go(0, np.zeros_like(target), ())


def find_sum_rows(
    table: pd.DataFrame, value_columns: Sequence[str], label_column: str | None = None,
) -> dict[str, list[str]]:
    """Rows of a full (unsuppressed) count table that equal the sum of two or more others.

    Whatever the labels say: a reader who notices that a row adds up the rows
    below it can subtract, so every such row is a total for disclosure
    purposes.  Rows of zeros are never counted as parts.

    Parameters
    ----------
    table : DataFrame
        The full table (e.g. the official build's), counts as whole numbers.
    value_columns : list of str
        The count columns compared.
    label_column : str, optional
        Column naming the rows (default: the index).

    Returns
    -------
    dict
        ``{sum row label: [part row labels]}``, one decomposition per sum row.

    Raises
    ------
    OptionError
        If a column is missing or holds something other than whole numbers >= 0.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"type": ["All", "A", "B", "C"], "n": [30, 10, 20, 7],
    ...                   "m": [9, 4, 5, 1]})
    >>> find_sum_rows(t, ["n", "m"], "type")
    {'All': ['A', 'B']}
    """
    layout = _layout(table, value_columns, None, None, label_column, None, None)
    a = _numeric_counts(table, layout)
    out: dict[str, list[str]] = {}
    for t in range(a.shape[0]):
        target = a[t]
        cols = ~np.isnan(target)
        if not cols.any() or not (target[cols] > 0).any():
            continue
        others = [i for i in range(a.shape[0]) if i != t and not np.isnan(a[i, cols]).any()
                  and (a[i, cols] > 0).any()]
        if len(others) < 2 or len(others) > _MAX_SUBSET_ROWS:
            continue
        hit = _subset_summing_to(a[np.ix_(others, np.flatnonzero(cols))], target[cols])
        if hit is not None and len(hit) >= 2:
            out[layout.labels[t]] = [layout.labels[others[k]] for k in sorted(hit)]
    return out


def find_sum_columns(table: pd.DataFrame, value_columns: Sequence[str]) -> dict[str, list[str]]:
    """Count columns that equal, in every row, the sum of two or more other count columns.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"a": [1, 2], "b": [3, 4], "total": [4, 6]})
    >>> find_sum_columns(t, ["a", "b", "total"])
    {'total': ['a', 'b']}
    """
    layout = _layout(table, value_columns, None, None, None, None, None)
    a = _numeric_counts(table, layout)
    found = find_sum_rows(pd.DataFrame(a.T, index=layout.value_columns), list(range(a.shape[0])))
    return found


def recoverable_cells(
    published: pd.DataFrame,
    full: pd.DataFrame,
    value_columns: Sequence[str],
    *,
    label_column: str | None = None,
    symbol: str = "<5",
    sums: RowSums | None = None,
) -> list[str]:
    """Suppressed cells of a published table that subtraction from its totals gives back.

    The sums a reader can use are the declared ``sums`` plus every row and
    column that :func:`find_sum_rows` / :func:`find_sum_columns` find in the
    full table, whether or not it is labelled a total.  A suppressed cell is
    recovered when it is the only unknown entry of such a line (the sum and
    its parts in one column, or in one row); recovered cells count as known,
    and the search repeats until nothing more comes out, so chains of
    subtractions are followed too.

    Parameters
    ----------
    published : DataFrame
        The table as published: numbers and ``symbol`` (e.g. read from the
        public build's CSV).
    full : DataFrame
        The same table unsuppressed (the official build's), same rows in the
        same order.
    value_columns : list of str
        The count columns.
    label_column : str, optional
        Column naming the rows (default: the index).
    symbol : str, default "<5"
        The suppression marker.
    sums : mapping, optional
        Declared sum rows, as for :func:`~sa_lib.stats.suppression.suppression_mask`.

    Returns
    -------
    list of str
        One message per recoverable cell; empty when none is.

    Raises
    ------
    OptionError
        If the two tables do not have the same shape, or as :func:`find_sum_rows`.

    Examples
    --------
    >>> import pandas as pd
    >>> full = pd.DataFrame({"type": ["All", "A", "B"], "n": [12, 3, 9]})
    >>> leaky = pd.DataFrame({"type": ["All", "A", "B"], "n": [12, "<5", 9]})
    >>> recoverable_cells(leaky, full, ["n"], label_column="type")
    ["row 'A', column 'n': 3 = row 'All' minus the other rows it adds up"]
    >>> from sa_lib.stats.suppression import suppress
    >>> recoverable_cells(suppress(full, value_columns=["n"], label_column="type",
    ...                            sums={"All": ["A", "B"]}), full, ["n"], label_column="type")
    []
    """
    if published.shape != full.shape or list(published.columns) != list(full.columns):
        raise OptionError("published and full must have the same rows and columns")
    layout = _layout(full, value_columns, None, None, label_column, None, None, sums)
    a = _numeric_counts(full, layout)
    cols = layout.value_columns
    known = ~np.vectorize(lambda v: isinstance(v, str) and v == symbol, otypes=[bool])(
        published[cols].to_numpy(dtype=object)).reshape(a.shape)
    where = {lab: i for i, lab in enumerate(layout.labels)}
    row_lines = {(t, tuple(p)) for t, p in layout.row_sums}
    row_lines |= {(where[t], tuple(where[x] for x in p))
                  for t, p in find_sum_rows(full, cols, label_column).items()}
    col_lines = {(cols.index(t), tuple(cols.index(x) for x in p))
                 for t, p in find_sum_columns(full, cols).items()}
    problems: list[str] = []
    changed = True
    while changed:
        changed = False
        for t, parts in sorted(row_lines):
            for j in range(len(cols)):
                line = [t, *parts]
                unknown = [i for i in line if not known[i, j]]
                if len(unknown) == 1 and not np.isnan(a[unknown[0], j]):
                    i = unknown[0]
                    known[i, j], changed = True, True
                    how = ("the sum of the rows it adds up" if i == t else
                           f"row {layout.labels[t]!r} minus the other rows it adds up")
                    problems.append(f"row {layout.labels[i]!r}, column {cols[j]!r}: "
                                    f"{a[i, j]:g} = {how}")
        for t, parts in sorted(col_lines):
            for i in range(a.shape[0]):
                unknown = [j for j in (t, *parts) if not known[i, j]]
                if len(unknown) == 1 and not np.isnan(a[i, unknown[0]]):
                    j = unknown[0]
                    known[i, j], changed = True, True
                    problems.append(f"row {layout.labels[i]!r}, column {cols[j]!r}: {a[i, j]:g} "
                                    f"follows from column {cols[t]!r} being the sum of "
                                    f"{[cols[k] for k in parts]}")
    return problems
