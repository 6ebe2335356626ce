"""Reading CSV text as analysts' files come: the encoding, the records, where a byte is.

Shared by every loader of hand-made files (partner returns, MoRiLE sheets, the Home Office
and ONS tables, police.uk messages), so they accept the same encodings and name rows and
columns the same way: row 1 is the header, as a spreadsheet shows it.
"""

from __future__ import annotations

import csv
import io

from sa_lib.errors import Problem

__all__ = ["decode_csv_bytes", "byte_position", "csv_records"]


def decode_csv_bytes(raw: bytes, file: str,
                     header_prefix: str = "") -> tuple[str | None, str, list[Problem]]:
    """CSV bytes as text: UTF-8 (with or without BOM) or Windows-1252, as Excel saves them.

    Returns ``(text, encoding, problems)``; ``text`` is ``None`` when the bytes are not
    text (a workbook, UTF-16, or bytes neither encoding can read), with a problem naming
    the row and column of the first bad byte.

    Examples
    --------
    >>> decode_csv_bytes("a,b\\n1,é\\n".encode("cp1252"), "f.csv")[1]
    'cp1252'
    >>> print(decode_csv_bytes(b"a,b\\n1,\\x81\\x8d\\n", "f.csv")[2][0])
    f.csv, row 2, column 'b': byte 0x81 is not text: the file is neither UTF-8 nor Windows-1252; expected UTF-8 text (in Excel: Save As 'CSV UTF-8 (Comma delimited)')
    """
    if raw.startswith(b"PK\x03\x04"):
        return None, "", [Problem(file, None, None, "is an Excel workbook or zip file, not CSV; "
                                  "in Excel use File > Save As > 'CSV UTF-8 (Comma delimited)'")]
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None, "", [Problem(file, None, None, "is UTF-16 text ('Unicode Text'); save it as "
                                  "'CSV UTF-8 (Comma delimited)' instead")]
    try:
        return raw.decode("utf-8-sig"), "utf-8", []
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "cp1252", []
    except UnicodeDecodeError as exc:
        row, column = byte_position(raw, exc.start, header_prefix)
        return None, "", [Problem(file, row, column, f"byte 0x{raw[exc.start]:02x} is not text: "
                                  "the file is neither UTF-8 nor Windows-1252; expected UTF-8 "
                                  "text (in Excel: Save As 'CSV UTF-8 (Comma delimited)')")]


def byte_position(raw: bytes, pos: int, header_prefix: str = "") -> tuple[int, str]:
    """(spreadsheet row, column name) of byte ``pos`` of CSV bytes; row 1 is the first line.

    Only for messages: the text up to ``pos`` is decoded leniently and split as CSV, so
    quoted line breaks count as one row, as a spreadsheet shows them.  The header is the
    first row whose first cell starts with ``header_prefix`` (any row when it is empty).
    """
    before = raw[:pos].decode("utf-8", errors="replace")
    records = list(csv.reader(io.StringIO(before + "\x00", newline="")))
    row = len(records)
    every = csv.reader(io.StringIO(raw.decode("utf-8", errors="replace"), newline=""))
    header = next((r for r in every if r and r[0].strip().startswith(header_prefix)), [])
    j = len(records[-1]) - 1 if records else 0
    name = header[j].strip() if j < len(header) and header[j].strip() else f"column {j + 1}"
    return row, " ".join(name.split())


def csv_records(text: str, file: str) -> tuple[list[list[str]], list[Problem]]:
    """Split CSV text into records; stop at the first structural error, naming its row.

    Examples
    --------
    >>> csv_records('a,b\\n1,"2\\n', "f.csv")[1][0].row
    2
    """
    records: list[list[str]] = []
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for rec in reader:
            records.append(rec)
    except csv.Error as exc:
        row = len(records) + 1
        why = str(exc)
        if "unexpected end of data" in why or "EOF" in why:
            why = ("a quoted field is never closed (unbalanced quotes); everything from here to "
                   "the end of the file would be one cell")
        return records, [Problem(file, row, None, f"malformed CSV: {why}")]
    return records, []
