"""Exception types raised by ``sa_lib``.

Every error a user can cause derives from :class:`SAError`, so the command line
can catch that one type, print its message and exit non-zero without a Python
traceback.  Messages name the file, row, column (or parameter key) and what was
expected, because the reader is an analyst fixing a spreadsheet, not a developer.
"""

from __future__ import annotations

from dataclasses import dataclass


class SAError(Exception):
    """Base class for every error the workbook reports to a user."""


class OptionError(SAError, ValueError):
    """A function was called with an invalid option (bad column name, unknown choice...)."""


class ParameterError(SAError):
    """The parameters file is invalid: unknown key, wrong type, missing file."""


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file.

    ``row`` is the 1-based line number in the file as a spreadsheet shows it
    (the header is row 1), or ``None`` when the problem concerns the whole file.
    """

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        return f"{', '.join(where)}: {self.message}"


class DataValidationError(SAError):
    """An input file failed validation; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem], max_shown: int = 50) -> None:
        if not problems:
            raise ValueError("DataValidationError needs at least one problem")
        self.problems = list(problems)
        shown = "\n".join(f"  - {p}" for p in self.problems[:max_shown])
        more = len(self.problems) - max_shown
        tail = f"\n  ... and {more} more" if more > 0 else ""
        n = len(self.problems)
        super().__init__(f"{n} problem{'s' if n != 1 else ''} found:\n{shown}{tail}")


class MoRiLEError(DataValidationError):
    """A MoRiLE scoring sheet is invalid (unknown label, score out of range, theme missing)."""


class OutputError(SAError):
    """The report could not be written: disk full, folder not writable or not creatable.

    Raised by :func:`sa_lib.run.runner.run_assessment`; the message names the folder and
    what was being written.  Nothing is swapped in, so the previous report is unchanged.
    """
