"""``tables.xlsx``: every table of a build in one workbook, with the same bytes each time."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sa_lib.output_gate import OutputGate
from sa_lib.report.publish import spreadsheet_safe

__all__: list[str] = []


def _write_xlsx(build: Path, gate: OutputGate) -> None:
    """All tables in one workbook: a contents sheet, then one sheet per table.

    Excel sheet names are at most 31 characters, so long table names are cut and
    numbered to stay unique; the contents sheet maps each sheet to its CSV.
    """
    tables = sorted((build / "tables").glob("*.csv"))
    sheets = _sheet_names([t.stem for t in tables])
    with gate.open(build / "tables.xlsx", "wb") as fh, \
            pd.ExcelWriter(fh, engine="openpyxl") as xl:
        pd.DataFrame({"sheet": sheets, "table (tables/*.csv)": [t.name for t in tables]}) \
            .to_excel(xl, sheet_name="contents", index=False)
        for t, sheet in zip(tables, sheets, strict=True):
            # Text is never a formula (the CSVs already say so; kept here too, as the
            # workbook is what a reader clicks in).
            spreadsheet_safe(_read_table(t)).to_excel(xl, sheet_name=sheet, index=False)
    _normalise_xlsx(build / "tables.xlsx", gate)


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
