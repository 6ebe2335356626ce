"""Write the bad-input corpus: one small malformed input per case, from the bundled data.

Run from the project root (``.venv/bin/python tests/bad_inputs/make_corpus.py``) only to
rebuild the corpus after the bundled data or the parameters file changed; the files it
writes are committed and reviewed like code.  Every file starts from real rows of
``data/police_uk/maidstone``, ``data/synthetic``, ``data/home_office``, ``data/population``
or ``parameters/2025.yaml`` and has exactly one thing wrong; ``cases.yaml`` says what,
and what the error message must name.  ``README.md`` is generated from ``cases.yaml``.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import shutil
import zipfile
from pathlib import Path

import pandas as pd
import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DATA = ROOT / "data"


def _write(rel: str, data: str | bytes) -> None:
    path = HERE / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def _lines(path: Path, n: int) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as fh:
        return [next(fh) for _ in range(n)]


# --------------------------------------------------------------------------- not CSV text
# Files that are something else under a .csv name (or inside a .csv.gz).  All are made here,
# byte for byte the same on every run: gzip with mtime 0, workbooks and zips with fixed member
# dates.  The .xls is a stub (the OLE2 signature and zero padding: the loaders recognise a
# file by its first bytes, so a whole legacy workbook is not needed), the PDF a minimal
# one-page document written by hand.


def _gzip(text: str | bytes) -> bytes:
    return gzip.compress(text.encode("utf-8") if isinstance(text, str) else text, mtime=0)


def _fixed_zip(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return out.getvalue()


def _xlsx(text: str) -> bytes:
    """An Excel workbook of the CSV text's cells (as Excel's Save As .xlsx would hold them)."""
    import csv
    from datetime import datetime

    import openpyxl

    wb = openpyxl.Workbook()
    for record in csv.reader(io.StringIO(text)):
        wb.active.append(record)
    wb.properties.created = wb.properties.modified = datetime(2025, 1, 1)
    raw = io.BytesIO()
    wb.save(raw)
    with zipfile.ZipFile(raw) as z:
        members = [(n, z.read(n)) for n in z.namelist()]
    # openpyxl stamps the save time into docProps/core.xml: pin it.
    return _fixed_zip([(n, re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2025-01-01T00:00:00Z",
                                  data)) for n, data in members])


def _xls_stub() -> bytes:
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1528)


def _pdf() -> bytes:
    return (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n"
            b"2 0 obj <</Type /Pages /Kids [3 0 R] /Count 1>> endobj\n"
            b"3 0 obj <</Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]>> endobj\n"
            b"trailer <</Root 1 0 R>>\n%%EOF\n")


def _binary() -> bytes:
    return bytes(range(256)) * 8


def _html() -> str:
    return ("<!DOCTYPE html>\n<html><head><title>Sign in</title></head>\n"
            "<body><form action=\"/login\"><input name=\"user\"></form></body></html>\n")


def police() -> None:
    """police.uk street files: header + real rows of March 2025 (and February 2019)."""
    rows = _lines(DATA / "police_uk/maidstone/2025-03-kent-street.csv.gz", 9)
    header, body = rows[0], rows[1:]
    name = "2025-03-kent-street.csv"

    def case(folder: str, text: str | bytes, file: str = name) -> None:
        _write(f"police_uk/{folder}/{file}", text)

    case("missing_column", "".join(",".join(r.rstrip("\n").split(",")[:9] + r.rstrip("\n")
                                            .split(",")[10:]) + "\n" for r in rows))
    case("misnamed_column", header.replace("LSOA code", "LSOA cd") + "".join(body))
    bad = body[:]
    bad[3] = bad[3].replace(",2025-03,", ",2025-13,")
    case("impossible_month", header + "".join(bad))
    bad = body[:]
    bad[2] = bad[2].replace(",2025-03,", ",2025-02-30,")
    case("impossible_date", header + "".join(bad))
    case("future_month", header + "".join(r.replace(",2025-03,", ",2099-03,") for r in body),
         "2099-03-kent-street.csv")
    bad = body[:]
    bad[4] = bad[4].replace("0.5", "east of 0.5", 1)
    case("wrong_type_longitude", header + "".join(bad))
    case("empty_file", b"")
    case("header_only", header)
    raw = (header + "".join(body)).encode("utf-8")
    raw = raw.replace(b"On or near Timber Tops", b"On or near Timber \x81\x8d\xffTops")
    case("non_utf8", raw)
    case("truncated_last_line", header + "".join(body[:-1]) + body[-1][:60])
    bad = body[:]
    k = next(i for i, r in enumerate(bad) if ",Vehicle crime," in r)
    bad[k] = bad[k].replace(",Vehicle crime,", ",Car crime,")
    case("unknown_crime_type", header + "".join(bad))
    case("month_not_in_file_name", header + "".join(body),
         "2025-04-kent-street.csv")
    # A row of February 2019 (2011 LSOAs) pasted into March 2025 (2021 LSOAs): the same
    # snap point is in E01024389 (2011) on one row and E01034996 (2021) on another.
    old_rows = pd.read_csv(DATA / "police_uk/maidstone/2019-02-kent-street.csv.gz", dtype=str,
                           keep_default_na=False)
    new_rows = pd.read_csv(DATA / "police_uk/maidstone/2025-03-kent-street.csv.gz", dtype=str,
                           keep_default_na=False)
    both = old_rows.merge(new_rows, on=["Longitude", "Latitude"], suffixes=("", "_new"))
    both = both[(both["LSOA code"] == "E01024389") & (both["LSOA code_new"] == "E01034996")]
    point = both.iloc[0][["Longitude", "Latitude"]]

    def at_point(frame: pd.DataFrame) -> list[str]:
        hit = frame[(frame["Longitude"] == point["Longitude"])
                    & (frame["Latitude"] == point["Latitude"])].head(1)
        return hit.to_csv(index=False, header=False, lineterminator="\n").splitlines(True)

    old, new = at_point(old_rows), at_point(new_rows)
    case("mixed_lsoa_vintages", header + "".join(body[:4]) + "".join(new)
         + "".join(r.replace(",2019-02,", ",2025-03,") for r in old))
    # The same month twice: the bundled gzip file and an uncompressed copy (double counting).
    data = gzip.decompress((DATA / "police_uk/maidstone/2025-03-kent-street.csv.gz").read_bytes())
    lines = data.decode("utf-8").splitlines(keepends=True)
    case("duplicate_month", "".join(lines[:9]))
    case("duplicate_month", "".join(lines[:9]), "nested/2025-03-kent-street.csv")
    # Not CSV text: a gzip file named .csv, a workbook, UTF-16, a .csv.gz holding a PDF.
    good = header + "".join(body)
    case("gzip_named_csv", _gzip(good))
    case("xlsx_named_csv", _xlsx(good))
    case("utf16", good.encode("utf-16"))
    case("gzipped_pdf", _gzip(_pdf()), "2025-03-kent-street.csv.gz")
    bad = body[:]
    parts = bad[2].split(",")
    parts[4] = "1e999"  # overflows a float: infinite
    bad[2] = ",".join(parts)
    case("infinite_longitude", header + "".join(bad))


def partner() -> None:
    """Partner returns: header + real rows of the SYNTHETIC bundled returns."""
    syn = DATA / "synthetic"

    def base(kind: str, n: int = 8) -> list[str]:
        return _lines(syn / f"synthetic_{kind}.csv", n)

    def case(stem: str, kind: str, text: str | bytes) -> None:
        _write(f"partner/{stem}_{kind}.csv", text)

    da = base("domestic_abuse")
    case("missing_column", "domestic_abuse", "".join(
        ",".join(p for i, p in enumerate(r.rstrip("\n").split(",")) if i != 2) + "\n" for r in da))
    case("misnamed_column", "domestic_abuse", da[0].replace("risk_level", "risk_levl")
         + "".join(da[1:]))
    bad = da[:]
    bad[4] = bad[4].replace("2021-01-01", "2021-02-30")
    case("impossible_date", "domestic_abuse", "".join(bad))
    bad = da[:]
    bad[3] = bad[3].replace("2021-01-01", "2099-01-01")
    case("future_date", "domestic_abuse", "".join(bad))
    bad = da[:]
    bad[5] = bad[5].replace(",standard,", ",very high,")
    case("unknown_risk_level", "domestic_abuse", "".join(bad))
    case("duplicate_row", "domestic_abuse", "".join(da[:6] + [da[3]] + da[6:]))
    bad = da[:]
    bad[6] = bad[6].replace("DA-2021-000006", "DA-2021-000002")
    case("duplicate_id", "domestic_abuse", "".join(bad))
    raw = "".join(da).encode("utf-8").replace(b"V000004", b"V00\x81\x8d04")
    case("non_utf8", "domestic_abuse", raw)

    asb = base("asb_council")
    case("empty_file", "asb_council", b"")
    case("header_only", "asb_council", asb[0])
    bad = asb[:]
    bad[2] = bad[2].replace(",personal,", ",noise,")
    case("unknown_category", "asb_council", "".join(bad))
    bad = asb[:]
    bad[3] = bad[3].replace("01/01/2021", "13/13/2021")
    case("impossible_uk_date", "asb_council", "".join(bad))

    oss = base("one_stop_shop")
    case("truncated_last_line", "one_stop_shop", "".join(oss[:-1]) + oss[-1][:22])
    bad = oss[:]
    bad[4] = bad[4].replace(",yes", ",maybe")
    case("bad_flag", "one_stop_shop", "".join(bad))

    nf = base("needle_finds")
    bad = nf[:]
    bad[3] = "2021-03,-17,40\n"
    case("negative_count", "needle_finds", "".join(bad))
    bad = nf[:]
    bad[2] = bad[2].replace(",17,", ",17.5,")
    case("non_integer_count", "needle_finds", "".join(bad))
    bad = nf[:]
    bad[5] = bad[5].replace("2021-05", "2021-13")
    case("impossible_month", "needle_finds", "".join(bad))

    s136 = base("section_136")
    case("future_month", "section_136", "".join(s136) + "2099-01,4\n")
    bad = s136[:]
    bad[2] = "2021-02,one\n"
    case("wrong_type", "section_136", "".join(bad))

    adm = base("substance_admissions", 4)
    bad = adm[:]
    bad[2] = bad[2].replace("2022-01-01,2022-12-31", "2022-12-31,2022-01-01")
    case("end_before_start", "substance_admissions", "".join(bad))

    ksi = base("ksi", 6)
    bad = ksi[:]
    bad[3] = bad[3].replace("2023,", "2023.5,", 1)
    case("non_integer_year", "ksi", "".join(bad))

    reo = base("reoffending", 6)
    bad = reo[:]
    bad[2] = "Apr 21 - Jun 21,238,264,249\n"
    case("reoffenders_above_cohort", "reoffending", "".join(bad))

    sv = base("resident_survey", 6)
    bad = sv[:]
    parts = bad[1].rstrip("\n").split(",")
    parts[3] = "2500"
    bad[1] = ",".join(parts) + "\n"
    case("count_above_base", "resident_survey", "".join(bad))

    ap = base("action_plan", 6)
    case("value_for_future_period", "action_plan", "".join(ap)
         + "Substance misuse,Needle finds collected by street scene,2099,700,1000,decrease\n")
    bad = ap[:]
    bad[2] = bad[2].replace(",decrease", ",lower")
    case("unknown_direction", "action_plan", "".join(bad))

    # Not CSV text, whatever the name says.
    case("gzip_named_csv", "needle_finds", _gzip("".join(nf)))
    case("xlsx_named_csv", "domestic_abuse", _xlsx("".join(da)))
    case("xls_named_csv", "asb_council", _xls_stub())
    case("utf16", "section_136", "".join(s136).encode("utf-16"))
    case("utf16_no_bom", "ksi", "".join(ksi).encode("utf-16-le"))
    case("pdf_named_csv", "one_stop_shop", _pdf())
    case("binary_named_csv", "reoffending", _binary())
    case("html_named_csv", "substance_admissions", _html())
    bad = sv[:]
    bad[3] = bad[3].replace(",", ",\x00", 1)
    case("nul_byte", "resident_survey", "".join(bad))
    # Numbers too large for a count (int64 stops at 9,223,372,036,854,775,807).
    bad = nf[:]
    bad[3] = "2021-03,99999999999999999999999,40\n"
    case("huge_count", "needle_finds", "".join(bad))
    bad = s136[:]
    bad[4] = bad[4].split(",")[0] + "," + "9" * 5000 + "\n"
    case("count_of_5000_digits", "section_136", "".join(bad))
    bad = ap[:]
    parts = bad[1].rstrip("\n").split(",")
    parts[4] = "1e300"
    bad[1] = ",".join(parts) + "\n"
    case("huge_target", "action_plan", "".join(bad))


def morile() -> None:
    """MoRiLE sheets (a folder of three scorers, one sheet bad) and scales files."""
    syn = DATA / "synthetic"
    sheets = sorted(syn.glob("synthetic_morile_scorer_*.csv"))
    police_sheet = syn / "synthetic_morile_scorer_police.csv"
    text = police_sheet.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)

    def case(folder: str, content: str | bytes, name: str = police_sheet.name) -> None:
        _write(f"morile_sheets/{folder}/{name}", content)

    case("score_out_of_range", text.replace("Domestic abuse,physical,Substantial",
                                            "Domestic abuse,physical,9", 1))
    case("unknown_label", text.replace("Domestic abuse,financial,Low",
                                       "Domestic abuse,financial,Severe", 1))
    case("missing_column", "".join(",".join(p for i, p in enumerate(line.rstrip("\n").split(","))
                                            if i != 2) + "\n" for line in lines[:12]))
    case("scored_twice", "".join(lines[:5] + [lines[2]] + lines[5:]))
    case("field_missing", "".join(lines[:4] + lines[5:]))
    case("non_utf8", text.encode("utf-8").replace(b"coercive control", b"coercive \x81control", 1))
    case("truncated_last_line", text.rstrip("\n")[:-12])
    case("gzip_named_csv", _gzip(text))
    case("xlsx_named_csv", _xlsx(text))
    case("utf16", text.encode("utf-16"))
    case("huge_score", text.replace("Domestic abuse,physical,Substantial",
                                    "Domestic abuse,physical,99999999999999999999999", 1))
    for sheet in sheets:  # no scorer scored "Mental health"
        kept = [line for line in sheet.read_text(encoding="utf-8").splitlines(keepends=True)
                if not line.startswith("Mental health,")]
        case("theme_scored_by_nobody", "".join(kept), sheet.name)

    scales = (ROOT / "parameters/morile_scales.yaml").read_text(encoding="utf-8")

    def scales_case(stem: str, content: str) -> None:
        _write(f"morile_scales/{stem}.yaml", content)

    assert 'label: "illustrative scales, not NPCC values"' in scales
    scales_case("unsafe_yaml", scales.replace(
        'label: "illustrative scales, not NPCC values"',
        "label: !!python/object/apply:os.system ['echo owned > /tmp/owned']", 1))
    scales_case("unknown_key", scales + "\nweights: {harm: 2}\n")
    assert '"Moderate": 2' in scales
    scales_case("wrong_type", scales.replace('"Moderate": 2', '"Moderate": two', 1))
    scales_case("duplicate_key", scales.replace('"Moderate": 2', '"Moderate": 2\n    "Moderate": 9', 1))
    scales_case("huge_integer", scales.replace('"Moderate": 2', '"Moderate": ' + "7" * 400, 1))


def csp_table() -> None:
    """ONS Table C2: the bundled preamble and header, then the Kent rows."""
    path = DATA / "home_office/policeforceareatablesyejune25final_TableC2_csp.csv"
    text = path.read_text(encoding="utf-8-sig")
    lines = text.splitlines(keepends=True)
    head = "".join(lines[:13])  # the 7 preamble lines and the 6-line quoted header
    kent = [line for line in lines if line.startswith("E23000032,Kent,")]
    good = head + "".join(kent)

    def case(stem: str, content: str | bytes) -> None:
        _write(f"csp_table/{stem}_TableC2_csp.csv", content)

    total = re.search(r'"Total recorded crime\s+\(excluding fraud\)"', good)
    assert total
    case("missing_column", good.replace(total.group(0), '"Total crime"', 1))
    case("negative_count", good.replace('E22000142,Maidstone,E07000110,Maidstone,"14,672 "',
                                        'E22000142,Maidstone,E07000110,Maidstone,"-14,672 "', 1))
    case("non_integer_count", good.replace('E22000142,Maidstone,E07000110,Maidstone,"14,672 "',
                                           'E22000142,Maidstone,E07000110,Maidstone,14672.5', 1))
    case("non_utf8", good.encode("utf-8").replace(b"Maidstone,E07000110,Maidstone,",
                                                  b"Maidstone,E07000110,Maidst\x81one,", 1))
    case("area_missing", head + "".join(k for k in kent if ",E22000142," not in k))
    mdst = next(k for k in kent if ",E22000142," in k)
    case("duplicate_row", head + "".join(kent) + mdst)
    case("empty_file", b"")
    case("truncated_last_line", good.rstrip("\n")[:-40])
    case("gzip_named_csv", _gzip(good))
    case("xlsx_named_csv", _xlsx(good))
    _write("csp_table/gzipped_utf16_TableC2_csp.csv.gz", _gzip(good.encode("utf-16")))
    case("huge_count", good.replace('E22000142,Maidstone,E07000110,Maidstone,"14,672 "',
                                    'E22000142,Maidstone,E07000110,Maidstone,'
                                    '"99,999,999,999,999,999,999,999"', 1))


def population() -> None:
    """ONS mid-year estimates: the bundled header and Kent districts' rows for 2020-2024."""
    df = pd.read_csv(DATA / "population/la_population_mye_2001_2024.csv.gz", dtype=str,
                     keep_default_na=False)
    kent = df[df["area_code"].isin(["E07000105", "E07000110", "E07000111"])
              & (df["year"].astype(int) >= 2020)]
    good = kent.to_csv(index=False, lineterminator="\n")
    lines = good.splitlines(keepends=True)

    def case(stem: str, content: str | bytes) -> None:
        _write(f"population/{stem}_population.csv", content)

    case("missing_column", kent.drop(columns="population").to_csv(index=False,
                                                                  lineterminator="\n"))
    i = next(i for i, line in enumerate(lines) if line.startswith("E07000110") and ",2024," in line)
    bad = lines[:]
    bad[i] = bad[i].replace(",2024,", ",2024,-", 1)
    case("negative_population", "".join(bad))
    bad = lines[:]
    j = next(i for i, line in enumerate(lines) if line.startswith("E07000110") and ",2023," in line)
    bad[j] = bad[j].replace(",2023,", ",2023.5,", 1)
    case("non_integer_year", "".join(bad))
    case("duplicate_row", "".join(lines[: i + 1] + [lines[i]] + lines[i + 1:]))
    case("area_missing", "".join(line for line in lines if not line.startswith("E07000110")))
    case("header_only", lines[0])
    case("non_utf8", good.encode("utf-8").replace(b"Maidstone", b"Maid\x81stone", 1))
    case("truncated_last_line", good.rstrip("\n")[:-30])
    case("gzip_named_csv", _gzip(good))
    case("pdf_named_csv", _pdf())
    case("zip_named_csv", _fixed_zip([("population.csv", good.encode("utf-8"))]))
    bad = lines[:]
    bad[i] = bad[i].replace(",2024,", ",2024,99999999999999999999", 1)
    case("huge_population", "".join(bad))


def parameters() -> None:
    """Copies of parameters/2025.yaml with one key wrong."""
    text = (ROOT / "parameters/2025.yaml").read_text(encoding="utf-8")

    def case(stem: str, content: str | bytes) -> None:
        _write(f"parameters/{stem}.yaml", content)

    def sub(old: str, new: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)

    case("unknown_key", sub("year: 2025\n", "year: 2025\nyeer: 2025\n"))
    case("unknown_nested_key", sub("  months: 12\n", "  months: 12\n  lenght: 12\n"))
    case("wrong_type", sub("  months: 12\n", "  months: twelve\n"))
    case("impossible_month", sub('  end: "2025-12"', '  end: "2025-13"'))
    case("unsafe_yaml", "!!python/object/apply:os.system ['echo owned > /tmp/owned']\n")
    case("unsafe_yaml_tag_in_value", sub("title: \"Strategic Assessment 2025\"",
                                         "title: !!python/object/apply:os.getcwd []"))
    case("path_escape_relative", sub("  population: data/population/la_population_mye_2001_2024"
                                     ".csv.gz", "  population: ../../etc/passwd"))
    case("path_escape_absolute", sub("  csp_table: data/home_office/policeforceareatablesyejune25"
                                     "final_TableC2_csp.csv", "  csp_table: /etc/passwd"))
    case("missing_file", sub("  morile_scales: parameters/morile_scales.yaml",
                             "  morile_scales: parameters/morile_scales_2025.yaml"))
    case("window_no_data", sub('  end: "2025-12"', '  end: "2023-06"').replace(
        text[text.index("comparison:"):text.index("data:")], ""))
    case("window_after_run_date", sub("run_date: 2026-01-15", "run_date: 2025-06-30"))
    case("comparison_after_window", sub('  current_end: "2025-04"', '  current_end: "2026-04"'))
    case("non_utf8", text.encode("utf-8").replace(b"Maidstone", b"Maid\x81stone", 1))
    case("empty_file", b"")
    case("not_a_mapping", "- year: 2025\n- window: 2025-12\n")
    # Refused by the hardened YAML loader (sa_lib/data/safe_yaml.py), with line and key.
    case("duplicate_key_top", text + "\nthresholds:\n  disclosure: 1\n")
    case("duplicate_key_nested", sub("  disclosure: 5 ", "  disclosure: 5\n  disclosure: 1 "))
    bomb = "".join(f"{a}: &{a} [" + ", ".join([f"*{p}" if p else '"lol"'] * 9) + "]\n"
                   for p, a in zip([""] + list("abcdefgh"), "abcdefghi", strict=True))
    case("alias_bomb", sub("year: 2025\n", "year: 2025\n" + bomb))
    case("deep_nesting", sub('title: "Strategic Assessment 2025"',
                             "title: " + "[" * 60 + "]" * 60))
    case("huge_integer", sub("  months: 12\n", "  months: " + "9" * 5000 + "\n"))
    case("impossible_run_date", sub("run_date: 2026-01-15", "run_date: 2026-13-15"))
    case("local_authority_code", sub("  code: E22000142", "  code: E07000110"))
    case("unknown_improvement", sub("  Domestic abuse incidents: neutral",
                                    "  Domestic abuse incident: neutral"))
    case("unknown_rebase", sub("rebase: {}", 'rebase: {Burglarly: ["2025-06"]}'))
    case("infinite_target", sub("monthly_target: 83.3}", "monthly_target: .inf}"))
    case("theme_slug_collision", sub("  - name: Reoffending\n", "  - name: Road Safety!\n"))
    case("empty_area_slug", sub("  name: Maidstone\n", '  name: "★ — ★"\n'))
    case("window_longer_than_data", sub("  months: 12\n", "  months: 100\n"))
    case("window_longer_than_partner_data", sub("  months: 12\n", "  months: 72\n"))
    case("control_character_title", sub('title: "Strategic Assessment 2025"',
                                        'title: "Strategic Assessment\\u202e5202"'))
    case("custom_tag", sub("  partner: data/synthetic ", "  partner: !include data/synthetic "))

    # Symlinks inside an allowed data folder that point outside it.
    for rel in ("symlink_escape/population.csv", "partner_symlink/synthetic_ksi.csv"):
        link = HERE / rel
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink() or link.exists():
            link.unlink()
        os.symlink("/etc/passwd", link)


def readme() -> None:
    cases = yaml.safe_load((HERE / "cases.yaml").read_text(encoding="utf-8"))
    out = io.StringIO()
    out.write("# Bad-input corpus\n\n"
              "One small malformed input per case, made by `make_corpus.py` from real rows of the\n"
              "bundled data with exactly one thing wrong. `tests/test_bad_inputs.py` runs every case\n"
              "through `sa run` (and `sa validate` for partner returns) and through the loader named\n"
              "below, and checks: exit code 2, one `error:` message naming the file, row, column\n"
              "(or parameters key) and what was expected, no traceback, the documented exception\n"
              "type, and the previous report byte-for-byte unchanged. The case table is\n"
              "`cases.yaml`; this file is generated from it (`make_corpus.py`).\n\n"
              "Rows are numbered as a spreadsheet shows them (header = row 1; in ONS Table C2 the\n"
              "header is row 8, below the title lines).\n\n"
              "| case | file | input (loader) | what is wrong | the message must name |\n"
              "|---|---|---|---|---|\n")
    for c in cases:
        must = "; ".join(f"`{m}`" for m in c["expect"])
        out.write(f"| {c['id']} | `{c['path']}` | {c['input']} (`{c['call']}`) | {c['wrong']} "
                  f"| {must} |\n")
    (HERE / "README.md").write_text(out.getvalue(), encoding="utf-8")


if __name__ == "__main__":
    for sub_dir in ("police_uk", "partner", "morile_sheets", "morile_scales", "csp_table",
                    "population", "parameters", "symlink_escape", "partner_symlink"):
        shutil.rmtree(HERE / sub_dir, ignore_errors=True)
    police()
    partner()
    morile()
    csp_table()
    population()
    parameters()
    if (HERE / "cases.yaml").exists():
        readme()
