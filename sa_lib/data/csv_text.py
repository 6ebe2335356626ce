"""Reading CSV text as analysts' files come: the encoding, the records, where a byte is.

Shared by every loader of hand-made files (partner returns, MoRiLE sheets, the Home Office
and ONS tables, police.uk messages), so they accept the same encodings and name rows and
columns the same way: row 1 is the header, as a spreadsheet shows it.
"""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from sa_lib.errors import Problem

__all__ = ["decode_csv_bytes", "byte_position", "csv_records", "file_kind", "not_csv_problem",
           "FILE_KINDS", "COUNT_LIMIT", "COUNT_LIMIT_TEXT", "quoted"]


def decode_csv_bytes(raw: bytes, file: str,
                     header_prefix: str = "") -> tuple[str | None, str, list[Problem]]:
    """CSV bytes as text: UTF-8 (with or without BOM) or Windows-1252, as Excel saves them.

    Returns ``(text, encoding, problems)``; ``text`` is ``None`` when the bytes are not
    text: a file that is something else (a workbook, gzip, UTF-16, PDF...: see
    :func:`not_csv_problem`, which names what it is), or bytes neither encoding can read
    (with a problem naming the row and column of the first bad byte).

    Examples
    --------
    >>> decode_csv_bytes("a,b\\n1,é\\n".encode("cp1252"), "f.csv")[1]
    'cp1252'
    >>> print(decode_csv_bytes(b"a,b\\n1,\\x81\\x8d\\n", "f.csv")[2][0])
    f.csv, row 2, column 'b': byte 0x81 is not text: the file is neither UTF-8 nor Windows-1252; expected UTF-8 text (in Excel: Save As 'CSV UTF-8 (Comma delimited)')
    """
    not_csv = not_csv_problem(file, raw)
    if not_csv is not None:
        return None, "", [not_csv]
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


# --------------------------------------------------------------------------- what a file is

#: A count above this is refused: no count in a return comes near it, every count below it
#: is exact as a float (and as int64), and sums of thousands of them still fit in int64.
COUNT_LIMIT = 10**15
COUNT_LIMIT_TEXT = "1,000,000,000,000,000"

_SNIFF_BYTES = 1024
# Magic numbers, checked in order (the UTF-32 BOM before UTF-16's, which it starts with).
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07", "rar"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"PK\x03\x04", "zip"),
    (b"PK\x05\x06", "zip"),
    (b"PK\x07\x08", "zip"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "xls"),
    (b"%PDF-", "pdf"),
    (b"SQLite format 3\x00", "sqlite"),
    (b"\x89PNG\r\n\x1a\n", "image"),
    (b"\xff\xd8\xff", "image"),
    (b"GIF87a", "image"),
    (b"GIF89a", "image"),
    (b"\x7fELF", "program"),
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
_SAVE_AS_CSV = "open it in Excel and use File > Save As > 'CSV UTF-8 (Comma delimited)' (.csv)"
_EXTRACT = "extract the CSV file from it and use that file"
#: kind -> (what the file is, what to do); ``gzip`` advice depends on the input (see below).
FILE_KINDS: dict[str, tuple[str, str]] = {
    "gzip": ("gzip-compressed", "decompress it (e.g. with 7-Zip or gunzip) and use the .csv "
             "file inside"),
    "xz": ("xz-compressed", _EXTRACT),
    "7z": ("a 7-Zip archive", _EXTRACT),
    "rar": ("a RAR archive", _EXTRACT),
    "zstd": ("zstd-compressed", _EXTRACT),
    "bzip2": ("bzip2-compressed", _EXTRACT),
    "xlsx": ("an Excel workbook (.xlsx)", _SAVE_AS_CSV),
    "xls": ("an Excel 97-2003 workbook (.xls) or another legacy Office file", _SAVE_AS_CSV),
    "ods": ("an OpenDocument spreadsheet (.ods)", "in LibreOffice use File > Save As > "
            "'Text CSV (.csv)' with the UTF-8 character set"),
    "docx": ("a Word document (.docx)", "copy the table into Excel and save it as "
             "'CSV UTF-8 (Comma delimited)'"),
    "pptx": ("a PowerPoint presentation (.pptx)", "copy the table into Excel and save it as "
             "'CSV UTF-8 (Comma delimited)'"),
    "opendocument": ("an OpenDocument file", "export the table as CSV with the UTF-8 "
                     "character set"),
    "zip": ("a zip archive", _EXTRACT),
    "zip-or-workbook": ("a zip archive or an Excel workbook (a damaged one, or only its start)",
                        "if it is a workbook, " + _SAVE_AS_CSV + "; if a zip, extract the CSV "
                        "file from it"),
    "utf-16": ("UTF-16 text (Excel's 'Unicode Text')", "save it as UTF-8: in Excel use File > "
               "Save As > 'CSV UTF-8 (Comma delimited)', or choose UTF-8 in a text editor"),
    "utf-32": ("UTF-32 text", "save it as UTF-8 (in a text editor, choose the UTF-8 encoding)"),
    "pdf": ("a PDF document", "export the table from its source as 'CSV UTF-8'; a PDF cannot "
            "be read as data"),
    "html": ("an HTML web page (a failed download, or a login or error page?)",
             "download the CSV file again"),
    "excel-xml": ("an Excel XML spreadsheet (XML Spreadsheet 2003)", _SAVE_AS_CSV),
    "xml": ("an XML document", "export the table as CSV UTF-8"),
    "rtf": ("a Rich Text (RTF) document", "copy the table into Excel and save it as "
            "'CSV UTF-8 (Comma delimited)'"),
    "sqlite": ("an SQLite database", "export the table as CSV UTF-8"),
    "image": ("an image", "check that this is the right file; expected CSV text"),
    "program": ("a program (executable)", "check that this is the right file; expected CSV "
                "text"),
    "binary": ("binary data", "check that this is the right file; expected CSV text saved as "
               "'CSV UTF-8 (Comma delimited)'"),
}


def _zip_kind(data: bytes) -> str:
    """Which Office format a zip file is, from the names of its members."""
    listed = True
    try:
        names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        blob = "\n".join(names).encode("utf-8", errors="replace")
        head = data[:200]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError):
        listed = False
        blob = head = data[:1 << 16]  # a cut zip: the member names in its local headers
    if b"application/vnd.oasis.opendocument.spreadsheet" in head:
        return "ods"
    if b"application/vnd.oasis.opendocument" in head:
        return "opendocument"
    if b"[Content_Types].xml" in blob or b"xl/" in blob:
        for marker, kind in ((b"xl/", "xlsx"), (b"word/", "docx"), (b"ppt/", "pptx")):
            if marker in blob:
                return kind
    return "zip" if listed else "zip-or-workbook"


def _nul_kind(head: bytes) -> str | None:
    """UTF-16 or UTF-32 text without a byte-order mark, other binary data, or None."""
    nul = head.count(0)
    if not nul:
        return None
    n = len(head) - len(head) % 4
    if n >= 8 and nul >= n // 4:
        by_lane = [head[i:n:4].count(0) / (n // 4) for i in range(4)]
        if sum(lane > 0.9 for lane in by_lane) == 3 and min(by_lane) < 0.5:
            return "utf-32"
        even, odd = (by_lane[0] + by_lane[2]) / 2, (by_lane[1] + by_lane[3]) / 2
        if max(even, odd) > 0.6 and min(even, odd) < 0.2:
            return "utf-16"
    return "binary"


def file_kind(data: bytes) -> str | None:
    """What a file is when its first bytes show it is not plain CSV text, else ``None``.

    Recognised whatever the file's name: compressed files and archives (gzip, zip, xz, 7z,
    RAR, zstd, bzip2), Office files (an ``.xlsx`` workbook is a zip holding
    ``[Content_Types].xml`` and ``xl/``; ``.docx``, ``.pptx``, ``.ods``, the legacy
    ``.xls``), UTF-16 and UTF-32 text (by byte-order mark, or by the NUL bytes between
    characters), PDF, HTML and XML documents, RTF, SQLite, images and programs, and any
    other binary data (NUL or control bytes in the first KB).  UTF-8 and Windows-1252 text,
    with or without a byte-order mark, is ``None``.

    Parameters
    ----------
    data : bytes
        The file's bytes, or at least its first KB (a zip's member names are read from the
        whole file when it is given, else from its local headers).

    Returns
    -------
    str or None
        A key of :data:`FILE_KINDS` (``"gzip"``, ``"xlsx"``, ``"utf-16"``, ``"binary"``...).

    Examples
    --------
    >>> file_kind(b"month,finds\\n2025-01,3\\n") is None
    True
    >>> file_kind(b"\\x1f\\x8b\\x08\\x00"), file_kind("a,b\\n".encode("utf-16"))
    ('gzip', 'utf-16')
    >>> file_kind("a,b\\n1,2\\n".encode("utf-16-le")), file_kind(b"%PDF-1.7\\n")
    ('utf-16', 'pdf')
    """
    head = bytes(data[:_SNIFF_BYTES])
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return _zip_kind(bytes(data)) if kind == "zip" else kind
    if head[:3] == b"BZh" and head[4:10] == b"1AY&SY":
        return "bzip2"
    nul = _nul_kind(head)
    if nul:
        return nul
    start = head.removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    if start.startswith((b"<!doctype html", b"<html")):
        return "html"
    if start.startswith(b"<?xml"):
        return "excel-xml" if b"urn:schemas-microsoft-com:office:spreadsheet" in head else "xml"
    if start.startswith(b"{\\rtf"):
        return "rtf"
    if _control_bytes(head) * 10 > len(head):
        return "binary"
    return None


def not_csv_problem(file: str, data: bytes, *, gzip_allowed: bool = False,
                    decompressed: bool = False) -> Problem | None:
    """A problem naming what a file is when it is not CSV text (see :func:`file_kind`).

    Also finds a NUL byte anywhere in ``data`` (a file that is otherwise text), naming its
    row and column.

    Parameters
    ----------
    file : str
        The file as messages name it.
    data : bytes
        Its bytes (after decompression when ``decompressed``); at least the first KB.
    gzip_allowed : bool, default False
        The input may be a gzipped CSV when its name ends in ``.gz``: a gzip file by any
        other name is told to be renamed.  Otherwise it is told to be decompressed.
    decompressed : bool, default False
        ``data`` is the content of a gzip file ("once decompressed, this file is...").

    Returns
    -------
    Problem or None
        ``None`` when the bytes look like CSV text.

    Examples
    --------
    >>> print(not_csv_problem("2025-01-kent-street.csv", b"\\x1f\\x8b\\x08", gzip_allowed=True))
    2025-01-kent-street.csv: this file is gzip-compressed, not CSV text; rename it to 2025-01-kent-street.csv.gz (a gzipped file must end in .gz), or decompress it
    >>> print(not_csv_problem("f.csv", b"a,b\\n1,\\x002\\n"))
    f.csv, row 2, column 'b': byte 0x00 (NUL) is not text: a damaged cell, or a binary file; expected CSV text (in Excel: Save As 'CSV UTF-8 (Comma delimited)')
    >>> not_csv_problem("f.csv", b"a,b\\n1,2\\n") is None
    True
    """
    kind = file_kind(data)
    raw = bytes(data)
    nul = raw.find(b"\x00") if kind in (None, "binary") else -1
    if nul >= 0 and (kind is None or _looks_like_text(raw[:_SNIFF_BYTES])):
        row, column = byte_position(raw, nul)
        return Problem(file, row, column, "byte 0x00 (NUL) is not text: a damaged cell, or a "
                       "binary file; expected CSV text (in Excel: Save As 'CSV UTF-8 (Comma "
                       "delimited)')")
    if kind is None:
        return None
    what, advice = FILE_KINDS[kind]
    if kind == "gzip" and gzip_allowed and not decompressed:
        name = Path(file).name
        advice = (f"rename it to {name}.gz (a gzipped file must end in .gz), or decompress it")
    elif kind == "gzip" and decompressed:
        what = "still gzip-compressed (compressed twice)"
    where = "once decompressed, this file is" if decompressed else "this file is"
    return Problem(file, None, None, f"{where} {what}, not CSV text; {advice}")


def _looks_like_text(head: bytes) -> bool:
    """Few NUL and control bytes, in what is otherwise text: a damaged cell, not a binary file."""
    return _control_bytes(head) <= max(4, len(head) // 50)


def _control_bytes(head: bytes) -> int:
    """How many bytes are control characters other than tab, line ends and form feed."""
    return sum(head.count(c) for c in (*range(0, 9), 11, *range(14, 32)))


def quoted(value: str, limit: int = 60) -> str:
    """A cell's text quoted for a message, cut short when long (a 5,000-digit "number").

    Examples
    --------
    >>> quoted("17.5")
    "'17.5'"
    >>> quoted("9" * 5000)
    "'999999999999999999999999999999...' (5,000 characters)"
    """
    text = str(value)
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit // 2] + '...'!r} ({len(text):,} characters)"
