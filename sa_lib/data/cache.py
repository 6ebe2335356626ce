"""Inputs loaded once per kernel: the runner reuses kernels from notebook to notebook.

A notebook run opens a fresh :class:`sa_lib.report.assessment.Assessment`, but loading
and validating the same police.uk and partner files again would cost more than
most notebooks' own work.  Results are kept per kernel, keyed by the files'
paths, sizes and modification times, so a changed file is read again; callers
get copies, so no notebook can change another's inputs.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

__all__ = ["cached_load", "file_signature", "clear_input_cache"]

T = TypeVar("T")
_CACHE: dict[tuple, Any] = {}
_MAX_ENTRIES = 8


def file_signature(paths: Iterable[Path]) -> tuple:
    """(path, size, mtime) of every file under the given files or folders, sorted.

    Examples
    --------
    >>> from sa_lib.paths import DATA_DIR
    >>> len(file_signature([DATA_DIR / "synthetic"])) > 10
    True
    """
    files: list[Path] = []
    for p in paths:
        p = Path(p)
        files += sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
    return tuple((str(f), st.st_size, st.st_mtime_ns) for f in files for st in [f.stat()])


def cached_load(key: tuple, paths: Iterable[Path], load: Callable[[], T]) -> T:
    """``load()``, or a deep copy of its earlier result for the same key and unchanged files.

    Examples
    --------
    >>> from sa_lib.paths import DATA_DIR
    >>> calls = []
    >>> f = lambda: calls.append(1) or [1, 2]
    >>> a = cached_load(("doc",), [DATA_DIR / "README.md"], f)
    >>> b = cached_load(("doc",), [DATA_DIR / "README.md"], f)
    >>> a == b, len(calls)
    (True, 1)
    """
    paths = list(paths)
    full = (key, file_signature(paths))
    if full not in _CACHE:
        if len(_CACHE) >= _MAX_ENTRIES:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[full] = load()
    return copy.deepcopy(_CACHE[full])


def clear_input_cache() -> None:
    """Forget every cached input (e.g. in a long JupyterLab session, to free memory)."""
    _CACHE.clear()
