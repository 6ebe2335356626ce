"""Tables as they may be shown to each audience, and percentages that are safe to publish.

One table feeds both builds: :func:`render_table` returns it unchanged for
``audience="official"`` and suppressed (:func:`sa_lib.stats.suppression.suppress`)
for ``audience="public"``.  :func:`safe_percentage` and :func:`change_table_derived`
keep computed values (percentages, changes) from giving a suppressed count back.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from sa_lib.errors import OptionError
from sa_lib.stats.suppression import (
    Derived,
    RowSums,
    _check_options,
    _layout,
    _numeric_counts,
    suppress,
)

__all__ = [
    "AUDIENCES",
    "CHANGE_TABLE_DERIVED_COLUMNS",
    "change_table_derived",
    "render_table",
    "safe_percentage",
]

AUDIENCES: tuple[str, ...] = ("official", "public")

#: Columns of :func:`sa_lib.stats.change.change_table` that are computed from the two counts.
CHANGE_TABLE_DERIVED_COLUMNS: tuple[str, ...] = (
    "difference",
    "pct_change",
    "direction",
    "small_base",
    "p_value",
    "significance",
    "test",
    "dispersion",
    "sentence",
)


def render_table(
    table: pd.DataFrame,
    audience: Literal["official", "public"] = "official",
    threshold: int = 5,
    value_columns: Sequence[str] | None = None,
    row_total: str | None = None,
    column_total_row: Hashable | None = None,
    *,
    label_column: str | None = None,
    derived: Derived | None = None,
    secondary: bool = True,
    symbol: str | None = None,
    suppress_zero: bool = False,
    sums: RowSums | None = None,
) -> pd.DataFrame:
    """The table as it may be shown to ``audience``.

    Parameters
    ----------
    table : DataFrame
        The full table.  Not modified.
    audience : {"official", "public"}, default "official"
        ``"official"``: the numbers unchanged (a copy).  ``"public"``: the
        output of :func:`~sa_lib.stats.suppression.suppress`.  Options are validated for both, so a
        mistake is caught before the public build.
    threshold, value_columns, row_total, column_total_row, label_column, derived, secondary, symbol, suppress_zero, sums
        As for :func:`~sa_lib.stats.suppression.suppress`.

    Returns
    -------
    DataFrame

    Raises
    ------
    OptionError
        For an unknown ``audience`` or any error :func:`~sa_lib.stats.suppression.suppress`
        raises.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"category": ["Robbery", "Burglary"],
    ...                   "previous": [6, 120], "current": [3, 98]})
    >>> t["difference"] = t["current"] - t["previous"]
    >>> render_table(t, "public", label_column="category",
    ...              derived={"difference": ["previous", "current"]})
       category  previous current difference
    0   Robbery         6      <5         <5
    1  Burglary       120      98        -22
    """
    if audience not in AUDIENCES:
        raise OptionError(f"audience must be one of {AUDIENCES}, got {audience!r}")
    options = {
        "label_column": label_column, "derived": derived, "suppress_zero": suppress_zero,
        "sums": sums,
    }
    if audience == "public":
        return suppress(
            table, threshold, value_columns, row_total, column_total_row, secondary, symbol,
            **options,  # type: ignore[arg-type]
        )
    _check_options(threshold, symbol, secondary=secondary, suppress_zero=suppress_zero)
    layout = _layout(table, value_columns, row_total, column_total_row, label_column, derived, None,
                     sums)
    _numeric_counts(table, layout)
    return table.copy()


def safe_percentage(
    numerator: Sequence[float] | np.ndarray | pd.Series,
    denominator: Sequence[float] | np.ndarray | pd.Series,
    mask_numerator: Sequence[bool] | np.ndarray | pd.Series | None = None,
    mask_denominator: Sequence[bool] | np.ndarray | pd.Series | None = None,
    symbol: str = "<5",
) -> pd.Series:
    """Percentages ``100 * numerator / denominator`` that never reveal a suppressed count.

    Use for percentages the ``derived`` option cannot express, e.g. a share of
    a column total held in another row.

    Parameters
    ----------
    numerator, denominator : array-like of numbers
        Same length; a zero denominator gives NaN.
    mask_numerator, mask_denominator : array-like of bool, optional
        ``True`` where that count is suppressed; the percentage is then
        ``symbol`` too.
    symbol : str, default "<5"
        Text shown for a suppressed percentage.

    Returns
    -------
    Series
        Full-precision percentages (float64) when nothing is suppressed,
        otherwise object dtype with ``symbol`` in the suppressed places.  The
        index is the numerator's when it is a Series.

    Raises
    ------
    OptionError
        If lengths differ or ``symbol`` is empty.

    Examples
    --------
    >>> safe_percentage([3, 50], [40, 200], mask_numerator=[True, False]).tolist()
    ['<5', 25.0]
    """
    _check_options(1, symbol)
    index = numerator.index if isinstance(numerator, pd.Series) else None
    num = np.asarray(numerator, dtype="float64")
    den = np.asarray(denominator, dtype="float64")
    if num.shape != den.shape or num.ndim != 1:
        raise OptionError(
            f"numerator and denominator must be 1-D and the same length, got {num.shape} "
            f"and {den.shape}"
        )
    hide = np.zeros(num.shape, dtype=bool)
    for name, m in (("mask_numerator", mask_numerator), ("mask_denominator", mask_denominator)):
        if m is not None:
            arr = np.asarray(m, dtype=bool)
            if arr.shape != num.shape:
                raise OptionError(f"{name} must have the same length as numerator")
            hide = hide | arr
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(den == 0, np.nan, num / den * 100)
    if not hide.any():
        return pd.Series(pct, index=index, dtype="float64")
    values = pct.astype(object)
    values[hide] = symbol
    return pd.Series(values, index=index, dtype=object)


def change_table_derived(
    table: pd.DataFrame, previous: str = "previous", current: str = "current"
) -> dict[str, tuple[str, str]]:
    """The ``derived`` mapping for a change table (see :func:`sa_lib.stats.change.change_table`).

    Every column of ``table`` named in :data:`CHANGE_TABLE_DERIVED_COLUMNS`
    (difference, pct_change, direction, small_base, p_value, significance,
    test, dispersion, sentence) is derived from ``previous`` and ``current``, so when either
    count is suppressed the whole change (including the sentence, which
    quotes the numbers) is suppressed too.

    Parameters
    ----------
    table : DataFrame
        A change table.
    previous, current : str
        The two count columns.

    Returns
    -------
    dict
        ``{column: (previous, current)}`` for the derived columns present.

    Raises
    ------
    OptionError
        If ``previous`` or ``current`` is not a column.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame(columns=["category", "previous", "current", "difference", "pct_change"])
    >>> change_table_derived(t)
    {'difference': ('previous', 'current'), 'pct_change': ('previous', 'current')}
    """
    for name, col in (("previous", previous), ("current", current)):
        if col not in table.columns:
            raise OptionError(f"{name}={col!r} is not a column; columns are {list(table.columns)}")
    return {c: (previous, current) for c in CHANGE_TABLE_DERIVED_COLUMNS if c in table.columns}
