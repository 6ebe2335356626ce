"""The index page of the outputs folder: every area's report, with its headline change.

After every batch (``sa run FILE --area all`` or ``--area CODE ...``) the runner writes
``outputs/index.html``: one row per area and review window with a report in the outputs
folder, linking its official and public ``report.html`` (relative links, so the folder can be
copied or served as it is), with the headline change of total crime from the area's
``official/tables/crime_change.csv`` (previous and current counts, % change, significance),
and one row per area whose last build failed, with the message.  Areas built by earlier
batches or single runs that are still in the folder are listed too; a failed area whose
previous report is still there keeps its links, marked as the previous report.

The page is offline (no script, no remote resource), has a language, a title and one table
with a caption and header scopes, and is replaced atomically (written beside, then renamed)
through the outputs folder's :class:`~sa_lib.output_gate.OutputGate`.
"""

from __future__ import annotations

import csv
import html
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

from sa_lib.data.parameters import TOTAL_CRIME
from sa_lib.errors import OutputError
from sa_lib.output_gate import OutputGate
from sa_lib.report.html import built_line

__all__ = ["Headline", "IndexEntry", "read_headline", "index_entries", "index_html",
           "write_index", "INDEX_NAME"]

INDEX_NAME = "index.html"
AUDIENCES = ("official", "public")


@dataclass(frozen=True)
class Headline:
    """The total-crime row of an area's change table, as published (text, not re-rounded)."""

    measure: str
    previous_label: str
    current_label: str
    previous: str
    current: str
    pct_change: str
    significance: str

    def sentence(self) -> str:
        """One line for the index, e.g. ``12,701 to 14,714 (+15.8%), statistically significant``.

        Examples
        --------
        >>> Headline("Total crime (excluding ASB)", "Nov 2020 – Oct 2021", "Nov 2021 – Oct 2022",
        ...          "12701", "14714", "15.8", "statistically significant").sentence()
        '12,701 (Nov 2020 – Oct 2021) to 14,714 (Nov 2021 – Oct 2022): +15.8%, statistically significant'
        """
        change = f"{_signed(self.pct_change)}%" if self.pct_change else "no % change"
        what = f": {change}" + (f", {self.significance}" if self.significance else "")
        return (f"{_count(self.previous)} ({self.previous_label}) to {_count(self.current)} "
                f"({self.current_label}){what}")


@dataclass(frozen=True)
class IndexEntry:
    """One row of the index: an area's report for one review window, or its failure."""

    code: str
    name: str
    period: str
    window: str = ""
    reports: tuple[str, ...] = ()  # links relative to the outputs folder, official first
    headline: Headline | None = None
    error: str | None = None


def _count(text: str) -> str:
    try:
        return f"{int(float(text)):,}" if float(text) == int(float(text)) else text
    except (ValueError, OverflowError):
        return text


def _signed(text: str) -> str:
    try:
        return f"{float(text):+.1f}"
    except ValueError:
        return text


def _cell(text: str) -> str:
    # Published cells that look like formulas carry a leading "'" (spreadsheet_safe).
    text = text.strip()
    return text[1:] if text.startswith("'") else text


def read_headline(table: Path) -> Headline | None:
    """The total-crime row of a published ``crime_change.csv``; None when it is not there.

    Examples
    --------
    >>> import tempfile
    >>> f = Path(tempfile.mkdtemp()) / "crime_change.csv"
    >>> _ = f.write_text("crime type,Jan 24,Jan 25,difference,% change,significance,test\\n"
    ...                  "Total crime (excluding ASB),100,90,-10,-10.0,within normal variation,"
    ...                  "Poisson\\n")
    >>> read_headline(f).sentence()
    '100 (Jan 24) to 90 (Jan 25): -10.0%, within normal variation'
    """
    try:
        with table.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    if len(rows) < 2 or len(rows[0]) < 6:
        return None
    head = rows[0]
    col = {name: i for i, name in enumerate(head)}
    for row in rows[1:]:
        if len(row) == len(head) and _cell(row[0]) == TOTAL_CRIME:
            def get(name: str, row: list[str] = row) -> str:
                return _cell(row[col[name]]) if name in col else ""

            return Headline(TOTAL_CRIME, head[1], head[2], _cell(row[1]), _cell(row[2]),
                            get("% change"), get("significance"))
    return None


def _read_json(gate: OutputGate, path: Path) -> dict | None:
    try:
        p = gate.check(path)
        data = json.loads(p.read_text(encoding="utf-8")) if p.is_file() else None
    except (OSError, OutputError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _link(outputs: Path, target: Path) -> str:
    return "/".join(quote(part) for part in target.relative_to(outputs).parts)


def index_entries(outputs: Path, failures: dict[str, tuple[str, str, str]] | None = None
                  ) -> list[IndexEntry]:
    """Every report in the outputs folder, and every failure, as index rows (sorted by name).

    Parameters
    ----------
    outputs : path
        The outputs folder.
    failures : dict, optional
        This batch's failures: area code -> (area name, period folder, message).  An area
        whose last run in its journal (``<area>/runs/<period>.json``) failed is listed as
        failed too.

    Examples
    --------
    >>> import tempfile
    >>> index_entries(Path(tempfile.mkdtemp()), {"E22000142": ("Maidstone", "2025-01_2025-12",
    ...                                                     "no data")})[0].error
    'no data'
    """
    gate = OutputGate(outputs)
    entries: dict[tuple[str, str], IndexEntry] = {}
    errors: dict[tuple[str, str], str] = {}
    area_dirs = sorted(p for p in outputs.iterdir() if p.is_dir() and not p.is_symlink()
                       and not p.name.startswith(".")) if outputs.is_dir() else []
    for area_dir in area_dirs:
        for manifest in sorted(area_dir.glob("*/manifest.json")):
            data = _read_json(gate, manifest)
            if data is None:
                continue
            period = manifest.parent
            area = data.get("parameters", {}).get("area", {}) if isinstance(
                data.get("parameters"), dict) else {}
            reports = tuple(_link(outputs, period / a / "report.html") for a in AUDIENCES
                            if (period / a / "report.html").is_file())
            if not reports:
                continue
            code = str(area.get("code", ""))
            entries[(code, period.name)] = IndexEntry(
                code=code, name=str(data.get("area") or area.get("name") or area_dir.name),
                period=period.name, window=str(data.get("review_window", "")), reports=reports,
                headline=read_headline(period / "official" / "tables" / "crime_change.csv"))
        for journal in sorted((area_dir / "runs").glob("*.json")):
            record = _read_json(gate, journal)
            if record and record.get("status") in ("failed", "interrupted"):
                errors[(area_dir.name, journal.stem)] = str(record.get("error") or "failed")
    for (code, period), entry in list(entries.items()):
        slug = Path(entry.reports[0]).parts[0] if entry.reports else ""
        if (slug, period) in errors:
            entries[(code, period)] = _failed(entry, errors[(slug, period)])
    for code, (name, period, message) in (failures or {}).items():
        old = entries.get((code, period))
        entries[(code, period)] = _failed(old, message) if old else IndexEntry(
            code=code, name=name, period=period, error=message)
    newest_first = sorted(entries.values(), key=lambda e: e.period, reverse=True)
    return sorted(newest_first, key=lambda e: (e.name.lower(), e.code))  # stable: by area


def _failed(entry: IndexEntry, message: str) -> IndexEntry:
    return IndexEntry(entry.code, entry.name, entry.period, entry.window, entry.reports,
                      entry.headline, message)


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;margin:2rem auto;
max-width:72rem;padding:0 1rem;line-height:1.5;color:#1a1a1a;background:#fff}
table{border-collapse:collapse;width:100%}caption{text-align:left;font-weight:600;
padding:.5rem 0}th,td{border:1px solid #767676;padding:.4rem .6rem;text-align:left;
vertical-align:top}thead th{background:#f0f0f0}td.failed{color:#8a1c1c}
a{color:#0b4f9c}a:focus{outline:3px solid #f9a825;outline-offset:2px}
.sa-built{color:#444;font-size:.9rem}
"""


def index_html(entries: list[IndexEntry], title: str = "Strategic assessments",
               built: datetime | None = None) -> str:
    """The index page for these rows (text escaped; no script; nothing fetched from elsewhere).

    Examples
    --------
    >>> page = index_html([IndexEntry("E22000142", "Maidstone", "2025-01_2025-12",
    ...                               error="no months in the window")])
    >>> '<html lang="en">' in page and "<caption>" in page and 'scope="col"' in page
    True
    """
    esc = html.escape
    built_ok = sum(1 for e in entries if e.error is None)
    rows = []
    failed_class = ' class="failed"'
    for e in entries:
        links = " ".join(f'<a href="{esc(link)}">{esc(link.split("/")[-2])} report'
                         f'<span class="visually-hidden"> for {esc(e.name)}</span></a>'
                         for link in e.reports)
        if e.error and e.reports:
            links = f"previous report (unchanged): {links}"
        status = "built" if e.error is None else "failed"
        if e.error is None:
            change = esc(e.headline.sentence()) if e.headline else "no total-crime table"
        else:
            change = f"failed: {esc(e.error)}"
        rows.append(
            f'<tr><th scope="row">{esc(e.name)}</th><td>{esc(e.code)}</td>'
            f"<td>{esc(e.window or e.period)}</td><td>{status}</td><td>{links or '–'}</td>"
            f"<td{failed_class if e.error else ''}>{change}</td></tr>")
    caption = (f"{len(entries)} report(s): {built_ok} built, {len(entries) - built_ok} failed. "
               "Headline: police.uk street-level total crime (excluding anti-social behaviour), "
               "previous to current comparison window, from each area's crime change table.")
    body = "\n".join(rows) or '<tr><td colspan="6">No reports in this folder yet.</td></tr>'
    built_text = f"\n{built_line(built)}" if built is not None else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<style>{_STYLE}.visually-hidden{{position:absolute;width:1px;height:1px;overflow:hidden;
clip:rect(0 0 0 0);white-space:nowrap}}</style>
</head>
<body>
<main>
<h1>{esc(title)}</h1>
<p>Every partnership's strategic assessment in this folder. The official report is for the
partnership; the public report has disclosure control applied.</p>
<table>
<caption>{esc(caption)}</caption>
<thead><tr><th scope="col">Partnership</th><th scope="col">Code</th>
<th scope="col">Review window</th><th scope="col">Status</th><th scope="col">Reports</th>
<th scope="col">Total crime change</th></tr></thead>
<tbody>
{body}
</tbody>
</table>{built_text}
</main>
</body>
</html>
"""


def write_index(outputs: Path, entries: list[IndexEntry], built: datetime | None = None,
                title: str = "Strategic assessments") -> Path:
    """Write ``index.html`` in the outputs folder, replacing the old one atomically.

    Raises
    ------
    OutputError
        The gate refused the path (a link on the way) or the folder is not writable.

    Examples
    --------
    >>> import tempfile
    >>> write_index(Path(tempfile.mkdtemp()), []).name
    'index.html'
    """
    gate = OutputGate(outputs)
    target = gate.root / INDEX_NAME
    tmp = gate.root / f".{INDEX_NAME}.tmp-{os.getpid()}"
    try:
        gate.write_text(tmp, index_html(entries, title=title, built=built))
        gate.replace(tmp, target)
    except OSError as exc:
        raise OutputError(f"could not write {target}: {exc.strerror or exc}") from None
    finally:
        if os.path.lexists(tmp):
            gate.unlink(tmp)
    return target
