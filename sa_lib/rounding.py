"""Rounding for publication: half-up (ties away from zero), on the number as written.

Every table, sentence and chart label of the report rounds through this module,
so a figure reads the same wherever it appears.  Python's ``round``, numpy's and
pandas' ``.round`` and ``f"{x:.1f}"`` round ties to even (57.25 -> 57.2) and act
on the binary value (2.675 -> 2.67); ONS and most readers expect half-up on the
decimal number (57.25 -> 57.3, 2.675 -> 2.68).  A tie is taken away from zero,
so -57.25 -> -57.3 (the magnitude rounds as it would for +57.25).
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar, overload

import numpy as np
import pandas as pd

from sa_lib.errors import OptionError

__all__ = ["round_half_up", "format_number"]

_Array = TypeVar("_Array", pd.Series, pd.DataFrame, np.ndarray)


def _decimal(x: float, decimals: int) -> Decimal:
    # Decimal(repr(x)) is the shortest text that gives x back, i.e. the number as written.
    return Decimal(repr(float(x))).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def _check_decimals(decimals: object) -> int:
    if isinstance(decimals, bool) or not isinstance(decimals, (int, np.integer)) or decimals < 0:
        raise OptionError(f"decimals must be a whole number >= 0, got {decimals!r}")
    return int(decimals)


def _scalar(x: float, decimals: int) -> float:
    if x is None or pd.isna(x) or math.isinf(float(x)):
        return x if x is None else float(x)
    return float(_decimal(x, decimals))


@overload
def round_half_up(values: float, decimals: int = 0) -> float: ...
@overload
def round_half_up(values: _Array, decimals: int = 0) -> _Array: ...


def round_half_up(values: float | _Array | None, decimals: int = 0) -> float | _Array | None:
    """Round half-up (ties away from zero) on the decimal number, keeping NaN.

    Parameters
    ----------
    values : float, Series, DataFrame or ndarray
        Numbers to round; non-numeric DataFrame columns are left as they are.
    decimals : int, default 0
        Decimal places to keep.

    Returns
    -------
    float, Series, DataFrame or ndarray
        Same shape and type (floats; NaN and None stay missing).

    Examples
    --------
    >>> round_half_up(57.25, 1), round(57.25, 1)
    (57.3, 57.2)
    >>> round_half_up(2.675, 2), round_half_up(-0.5)
    (2.68, -1.0)
    >>> import pandas as pd
    >>> round_half_up(pd.Series([0.125, 1.5, None]), 2).tolist()
    [0.13, 1.5, nan]
    """
    decimals = _check_decimals(decimals)
    if isinstance(values, pd.DataFrame):
        out = values.copy()
        for col in out.columns:
            if pd.api.types.is_numeric_dtype(out[col]) and not pd.api.types.is_bool_dtype(out[col]):
                out[col] = round_half_up(out[col], decimals)
        return out
    if isinstance(values, pd.Series):
        if pd.api.types.is_integer_dtype(values):
            return values.copy()
        nums = pd.to_numeric(values, errors="coerce").astype(float)
        return pd.Series([_scalar(x, decimals) for x in nums.to_numpy()], index=values.index,
                         name=values.name, dtype=float)
    if isinstance(values, np.ndarray):
        flat = [_scalar(x, decimals) for x in values.astype(float).ravel()]
        return np.asarray(flat, dtype=float).reshape(values.shape)
    if values is None:
        return None
    return _scalar(values, decimals)


def format_number(x: float, decimals: int = 1, thousands: bool = True,
                  trim_zeros: bool = False) -> str:
    """A number as text, rounded half-up to ``decimals`` places (``"1,234.5"``).

    Missing values give ``""``.  With ``trim_zeros`` trailing zeros of the
    decimals are dropped (``4.0 -> "4"``, ``1.50 -> "1.5"``).

    Examples
    --------
    >>> format_number(57.25), format_number(1234.5, 0), format_number(78.14, 1)
    ('57.3', '1,235', '78.1')
    >>> format_number(50.625, 2, trim_zeros=True), format_number(4.0, 2, trim_zeros=True)
    ('50.63', '4')
    >>> format_number(float("nan"))
    ''
    """
    decimals = _check_decimals(decimals)
    if x is None or pd.isna(x):
        return ""
    if math.isinf(float(x)):
        return str(float(x))
    d = _decimal(x, decimals)
    if d == 0:
        d = abs(d)  # no "-0.0"
    if trim_zeros:
        d = d.normalize() if d != d.to_integral_value() else d.quantize(Decimal(1))
    return f"{d:,}" if thousands else f"{d}"
