"""2011 Census usual residents per LSOA (England and Wales), bundled in ``data/population``.

Built by ``tools/bundle_shared_data.py`` (``write_lsoa_population``); see data/README.md.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from sa_lib.errors import DataValidationError, Problem
from sa_lib.paths import DATA_DIR

__all__ = ["LSOA_POPULATION_TABLE", "read_lsoa_population"]

LSOA_POPULATION_TABLE = DATA_DIR / "population" / "lsoa_population_2011.csv.gz"


@lru_cache(maxsize=4)
def _read(path: str) -> pd.Series:
    try:
        df = pd.read_csv(path, dtype={"lsoa_code": str, "lad_code": str})
    except (OSError, ValueError) as exc:
        raise DataValidationError([Problem(path, None, None, f"cannot read: {exc}")]) from exc
    need = ["lsoa_code", "residents"]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise DataValidationError([Problem(path, 1, c, "required column is missing")
                                   for c in missing])
    res = pd.to_numeric(df["residents"], errors="coerce")
    bad = res.isna() | (res < 0)
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0]) + 2
        raise DataValidationError([Problem(path, row, "residents",
                                           "must be a whole number >= 0")])
    return pd.Series(res.astype(int).to_numpy(), index=df["lsoa_code"].str.strip(),
                     name="residents")


def read_lsoa_population(path: str | Path | None = None) -> pd.Series:
    """Usual residents (2011 Census) indexed by 2011 LSOA code.

    Examples
    --------
    >>> pop = read_lsoa_population()
    >>> int(pop["E01000001"]), len(pop)
    (1465, 34753)
    """
    return _read(str(path or LSOA_POPULATION_TABLE)).copy()
