"""Tests for sa_lib.data.csv_text: what a file is by its content, decoding, quoting cells."""

from __future__ import annotations

import gzip
import io
import zipfile

import pytest

from sa_lib.data.csv_text import (
    FILE_KINDS,
    decode_csv_bytes,
    file_kind,
    not_csv_problem,
    quoted,
)

CSV = "month,finds,needle_exchanges\n2021-01,89,39\n2021-02,17,56\n"


def _zip(*names: str, first: bytes = b"") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        if first:
            z.writestr("mimetype", first)
        for name in names:
            z.writestr(name, "<x/>")
    return out.getvalue()


XLSX = _zip("[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/worksheets/sheet1.xml")


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (gzip.compress(CSV.encode()), "gzip"),
        (XLSX, "xlsx"),
        (XLSX[:300], "xlsx"),  # only the start of a workbook: its first member names
        (_zip("[Content_Types].xml", "word/document.xml"), "docx"),
        (_zip("[Content_Types].xml", "ppt/presentation.xml"), "pptx"),
        (_zip("content.xml", first=b"application/vnd.oasis.opendocument.spreadsheet"), "ods"),
        (_zip("population.csv"), "zip"),
        (b"PK\x03\x04rest-of-a-zip", "zip-or-workbook"),
        (b"PK\x05\x06" + bytes(18), "zip"),  # an empty zip
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "xls"),
        (CSV.encode("utf-16"), "utf-16"),
        (CSV.encode("utf-16-le"), "utf-16"),  # no byte-order mark: NUL after every letter
        (CSV.encode("utf-16-be"), "utf-16"),
        (CSV.encode("utf-32"), "utf-32"),
        (CSV.encode("utf-32-le"), "utf-32"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "pdf"),
        (b"\xfd7zXZ\x00\x00", "xz"),
        (b"BZh91AY&SY" + bytes(10), "bzip2"),
        (b"\x89PNG\r\n\x1a\n" + bytes(20), "image"),
        (b"SQLite format 3\x00" + bytes(84), "sqlite"),
        (b"\xef\xbb\xbf  <!DOCTYPE html>\n<html><body>Sign in</body></html>", "html"),
        (b"<?xml version='1.0'?><Workbook xmlns='urn:schemas-microsoft-com:office:spreadsheet'>",
         "excel-xml"),
        (b"{\\rtf1\\ansi a,b}", "rtf"),
        (bytes(range(256)) * 4, "binary"),
        (bytes(range(1, 9)) * 100, "binary"),  # control bytes, no NUL
    ],
)
def test_file_kind_recognises_what_is_not_csv(data: bytes, kind: str) -> None:
    assert file_kind(data) == kind
    assert kind in FILE_KINDS
    problem = not_csv_problem("f.csv", data)
    assert problem is not None and problem.row is None
    assert problem.message.startswith(f"this file is {FILE_KINDS[kind][0]}, not CSV text; ")


@pytest.mark.parametrize(
    "data",
    [
        CSV.encode(),
        b"\xef\xbb\xbf" + CSV.encode(),  # UTF-8 with a byte-order mark
        "area,name\nE1,Caf\u00e9 \u2013 Zo\u00eb\n".encode(),
        "area,name\r\nE1,Caf\u00e9\r\n".encode("cp1252"),
        b"note\n\tindented,\x0cform feed\n",
        b"",
        b"PK,BZh9\n1,2\n",  # magic-like letters in a header are still text
    ],
)
def test_text_is_not_flagged(data: bytes) -> None:
    assert file_kind(data) is None
    assert not_csv_problem("f.csv", data) is None


def test_gzip_advice_depends_on_the_input() -> None:
    data = gzip.compress(CSV.encode())
    plain = not_csv_problem("dir/needles.csv", data)
    assert plain is not None and "decompress it" in plain.message
    renamed = not_csv_problem("dir/2025-01-kent-street.csv", data, gzip_allowed=True)
    assert renamed is not None
    assert "rename it to 2025-01-kent-street.csv.gz" in renamed.message
    inside = not_csv_problem("x.csv.gz", XLSX, gzip_allowed=True, decompressed=True)
    assert inside is not None
    assert inside.message.startswith("once decompressed, this file is an Excel workbook (.xlsx)")
    twice = not_csv_problem("x.csv.gz", data, gzip_allowed=True, decompressed=True)
    assert twice is not None and "still gzip-compressed" in twice.message


def test_a_nul_byte_in_text_is_located() -> None:
    data = (CSV + "2021-03,4\x00,5\n").encode()
    assert file_kind(data) == "binary"
    problem = not_csv_problem("f.csv", data)  # but text apart from one byte: where is it?
    assert problem is not None
    assert (problem.row, problem.column) == (4, "finds")
    assert "byte 0x00 (NUL) is not text" in problem.message
    far = (CSV * 200 + "2021-03,4,\x005\n").encode()
    assert file_kind(far) is None  # beyond the first KB
    problem = not_csv_problem("f.csv", far)
    assert problem is not None and problem.column == "needle_exchanges"


def test_decode_refuses_what_is_not_text_naming_it() -> None:
    text, _, problems = decode_csv_bytes(XLSX, "book.csv")
    assert text is None
    assert [str(p) for p in problems] == [
        "book.csv: this file is an Excel workbook (.xlsx), not CSV text; open it in Excel and "
        "use File > Save As > 'CSV UTF-8 (Comma delimited)' (.csv)"]
    text, encoding, problems = decode_csv_bytes(CSV.encode(), "f.csv")
    assert (text, encoding, problems) == (CSV, "utf-8", [])


def test_quoted_cuts_long_cells() -> None:
    assert quoted("17") == "'17'"
    assert quoted("x" * 60) == repr("x" * 60)
    long = quoted("9" * 5000)
    assert long.endswith("(5,000 characters)") and len(long) < 60
