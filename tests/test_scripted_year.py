"""The analyst's year, scripted as a user runs it (issue #16, "Done when").

`sa new-year` on last year's file, twelve new months of police.uk street files,
partner returns that end three months before the new window does, then `sa run`:
it exits 0, the report names the partner gaps, chapter 4 reviews the priorities
last year's report recommended, and the recommendation does not announce last
year's changes again.  Everything is built in a temporary copy: the new months are
the 2025 street files relabelled 2026, the partner returns the seeded generator's
2021-2026 output, cut at September 2026.
"""

from __future__ import annotations

import csv
import gzip
import re
import shutil
from pathlib import Path

import pytest
import yaml

import sa_lib.data.new_year as ny
import sa_lib.run.runner as runner
from sa_lib.data.parameters import EXTRA_DATA_DIRS_ENV, load_parameters
from sa_lib.data.synthetic import generate_partner_data
from sa_lib.paths import DATA_DIR, PARAMETERS_DIR
from sa_lib.run.cli import main

RECOMMENDED = ["Domestic abuse", "Gangs and child sexual exploitation", "Substance misuse",
               "Organised crime groups", "Anti-social behaviour"]
CUT = "2026-09"  # partner returns end here: three months before the window (2026-12)


def _relabel(src: Path, dest: Path) -> None:
    """A 2025 street file as the same month of 2026 (file name and Month column)."""
    with gzip.open(src, "rt", encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    month = rows[1][1]
    new = month.replace("2025-", "2026-")
    with gzip.open(dest, "wt", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(rows[0])
        w.writerows([r[:1] + [new] + r[2:] for r in rows[1:]])


def _cut(path: Path) -> None:
    """Drop every row dated after CUT (monthly and incident returns; annual ones keep 2025)."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return
    fields = list(rows[0])

    def month(row: dict) -> str | None:
        for col in ("date", "month", "period_end", "cohort_end"):
            value = row.get(col) or ""
            m = re.match(r"(\d{4})-(\d{2})", value) or re.match(r"\d{1,2}/(\d{1,2})/(\d{4})", value)
            if m:
                y, mo = (m.group(1), m.group(2)) if len(m.group(1)) == 4 else (m.group(2), m.group(1))
                return f"{y}-{int(mo):02d}"
        if row.get("year"):
            return f"{row['year']}-12"
        return None

    kept = [r for r in rows if (month(r) or "0000") <= CUT]
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(kept)


@pytest.fixture(scope="module")
def year(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("scripted_year")
    police = root / "police_uk"
    shutil.copytree(DATA_DIR / "police_uk" / "maidstone", police)
    for f in sorted(police.glob("2025-*-street.csv.gz")):
        _relabel(f, police / f.name.replace("2025-", "2026-"))
    partner = root / "partner"
    generate_partner_data(partner, seed=2025, start_year=2021, end_year=2026)
    for f in sorted(partner.glob("synthetic_*.csv")):
        if "morile" not in f.name and "action_plan" not in f.name and "survey" not in f.name:
            _cut(f)
    raw = yaml.safe_load((PARAMETERS_DIR / "2025.yaml").read_text(encoding="utf-8"))
    raw["data"].update(police_uk=[str(police)], partner=str(partner), morile_sheets=str(partner))
    last_year = root / "2025.yaml"
    last_year.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True),
                         encoding="utf-8")
    # Last year's build, as far as the handover reads it: the recommendation table.
    outputs = root / "outputs"
    table = outputs / "maidstone" / "2025-01_2025-12" / "official" / "tables"
    table.mkdir(parents=True)
    lines = ["combined rank,theme,MoRiLE rank,priority-matrix rank,mean rank,recommendation"]
    lines += [f"{i},{t},{i},{i},{i}.0,priority" for i, t in enumerate(RECOMMENDED, start=1)]
    lines += ["6,Mental health,6,7,6.5,monitor"]
    (table / "recommended_priorities.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"root": root, "last_year": last_year, "outputs": outputs}


def test_a_year_scripted_as_a_user_runs_it(year: dict[str, Path], monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(EXTRA_DATA_DIRS_ENV, str(year["root"].resolve()))
    monkeypatch.setattr(ny, "OUTPUTS_DIR", year["outputs"])
    monkeypatch.setattr(runner, "OUTPUTS_DIR", year["outputs"])
    new = year["root"] / "2026.yaml"

    assert main(["new-year", str(year["last_year"]), "--out", str(new)]) == 0
    params = load_parameters(new)
    assert params.review_window.label == "Jan 2026 – Dec 2026"
    assert list(params.last_year_priorities) == RECOMMENDED
    assert params.comparison is None  # the street files now cover 2026 and the year before
    capsys.readouterr()

    assert main(["new-year", "--check", str(new)]) == 1  # the partner returns end early
    assert "Sep 2026" in capsys.readouterr().out

    code = main(["run", str(new), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 0, err
    build = year["outputs"] / "maidstone" / "2026-01_2026-12" / "official"
    page = (build / "report.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", " ", page)
    text = re.sub(r"\s+", " ", text)
    assert "no data for" in text and "Sep 2026" in text  # the partner gaps are named
    assert "Last year's priorities were" in text
    for theme in RECOMMENDED:  # chapter 4 reviews the priorities last year recommended
        assert theme in text
    # The comparison with last year is against last year's recommendation, not 2024's.
    recommendation = re.search(r"Compared with last year's priorities[^.]*\.", text)
    assert recommendation is not None
    assert "no longer a priority: Mental health" not in recommendation.group(0)
