"""``tables.xlsx``: every table of a build in one workbook, with the same bytes each time."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sa_lib.output_gate import OutputGate
from sa_lib.report.marking import MARKINGS, SYNTHETIC_SHEET_LINE, marking
from sa_lib.report.publish import spreadsheet_safe, table_metadata

__all__ = ["read_tables_xlsx"]


def _write_xlsx(build: Path, gate: OutputGate, audience: str | None = None) -> None:
    """All tables in one workbook: a contents sheet, then one sheet per table.

    Excel sheet names are at most 31 characters, so long table names are cut and
    numbered to stay unique; the contents sheet maps each sheet to its CSV.  Every
    sheet opens with the build's marking in its first row (``audience``, default: the
    build folder's name), and a sheet of a table built from synthetic data says so in
    its second row (the table's ``synthetic`` metadata); the table starts after a
    blank row.
    """
    if audience is None:
        audience = build.name if build.name in MARKINGS else "official"
    label = marking(audience)
    tables = sorted((build / "tables").glob("*.csv"))
    sheets = _sheet_names([t.stem for t in tables])
    with gate.open(build / "tables.xlsx", "wb") as fh, \
            pd.ExcelWriter(fh, engine="openpyxl") as xl:
        _sheet(xl, "contents", pd.DataFrame(
            {"sheet": sheets, "table (tables/*.csv)": [t.name for t in tables]}), [label])
        for t, sheet in zip(tables, sheets, strict=True):
            # Text is never a formula (the CSVs already say so; kept here too, as the
            # workbook is what a reader clicks in).
            lines = [label] + ([SYNTHETIC_SHEET_LINE] if _synthetic(t) else [])
            _sheet(xl, sheet, spreadsheet_safe(_read_table(t)), lines)
    _normalise_xlsx(build / "tables.xlsx", gate)


def _sheet(xl: pd.ExcelWriter, name: str, frame: pd.DataFrame, lines: list[str]) -> None:
    """One sheet: the header ``lines`` (marking, SYNTHETIC), a blank row, then the table."""
    frame.to_excel(xl, sheet_name=name, index=False, startrow=len(lines) + 1)
    ws = xl.sheets[name]
    for i, line in enumerate(lines, start=1):
        ws.cell(row=i, column=1, value=line)


def _synthetic(csv_path: Path) -> bool:
    """Whether a published table was built from synthetic data (its metadata says so)."""
    try:
        meta = table_metadata(csv_path)
    except (OSError, ValueError):
        return False
    return bool(meta.get("synthetic", "SYNTHETIC" in str(meta.get("title", ""))))


def read_tables_xlsx(path: str | Path) -> dict[str, pd.DataFrame]:
    """The tables of a ``tables.xlsx``, one frame per sheet, without the header rows.

    Each sheet's marking (and SYNTHETIC) lines and the blank row after them are skipped,
    so each frame is the table as in its CSV.

    Examples
    --------
    >>> book = read_tables_xlsx("outputs/maidstone/2025-01_2025-12/public/tables.xlsx")
    ... # doctest: +SKIP
    >>> list(book)[0]  # doctest: +SKIP
    'contents'
    """
    raw = pd.read_excel(path, sheet_name=None, header=None)
    out = {}
    for name, frame in raw.items():
        blank = next((i for i in range(len(frame)) if frame.iloc[i].isna().all()), -1)
        out[name] = pd.read_excel(path, sheet_name=name, skiprows=blank + 1) \
            if 0 <= blank < len(frame) - 1 else pd.DataFrame()
    return out


def _read_table(path: Path) -> pd.DataFrame:
    """A published table; one with no columns (nothing to show) is an empty sheet."""
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def _sheet_names(names: list[str], limit: int = 31) -> list[str]:
    """Unique Excel sheet names (<= 31 characters) for table names, in order."""
    out: list[str] = []
    for name in names:
        candidate, n = name[:limit], 1
        while candidate in out or candidate == "contents":
            n += 1
            suffix = f"_{n}"
            candidate = name[:limit - len(suffix)] + suffix
        out.append(candidate)
    return out


def _normalise_xlsx(path: Path, gate: OutputGate) -> None:
    """Rewrite the XLSX zip with fixed timestamps so identical tables give identical bytes."""
    import zipfile

    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as src, gate.open(tmp, "wb") as fh, \
            zipfile.ZipFile(fh, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in sorted(src.infolist(), key=lambda i: i.filename):
            data = src.read(item.filename)
            if item.filename == "docProps/core.xml":
                import re

                data = re.sub(rb"<dcterms:(created|modified)[^>]*>[^<]*</dcterms:\1>", b"", data)
            info = zipfile.ZipInfo(item.filename, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, data)
    gate.replace(tmp, path)
