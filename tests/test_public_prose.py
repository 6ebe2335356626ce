"""The public build never quotes a small count in prose (tables are suppressed by the publisher)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import yaml

import sa_lib as sa
from sa_lib.paths import PARAMETERS_DIR
from sa_lib.report.chapters.common import redact_small_counts


def _params_with_threshold(tmp_path: Path, threshold: int) -> Path:
    raw = yaml.safe_load((PARAMETERS_DIR / "2025.yaml").read_text(encoding="utf-8"))
    raw["thresholds"]["disclosure"] = threshold
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def test_redact_small_counts_only_in_public() -> None:
    t = pd.DataFrame({"category": ["A", "B", "C"], "previous": [3, 50, 0],
                      "current": [7, 60, 0], "sentence": ["a", "b", "c"]})
    assert redact_small_counts(t, public=False, threshold=5)["sentence"].tolist() == ["a", "b", "c"]
    out = redact_small_counts(t, public=True, threshold=5)
    assert out["sentence"].tolist()[1:] == ["b", "c"]  # zero is not a small count
    assert out["sentence"].iloc[0].startswith("A: fewer than 5")
    assert out["small_count"].tolist() == [True, False, False]


def test_public_prose_quotes_no_count_below_the_threshold(tmp_path: Path) -> None:
    # With a threshold of 40, Robbery (33 -> 28) and Theft from the person (25 -> 24) are small.
    params = _params_with_threshold(tmp_path, 40)
    public = sa.open_assessment(params, audience="public")
    official = sa.open_assessment(params, audience="official")
    texts = [public.crime.crime_change_text().data, public.summary.key_findings().data,
             public.themes.theme_crime_text("Acquisitive crime").data]
    for text in texts:
        assert not re.search(r"from 33 to 28|from 25 to 24|\(33 → 28\)|\(25 → 24\)", text), text
    assert "Robbery: fewer than 40" in public.themes.theme_crime_text("Acquisitive crime").data \
        or "Robbery" not in public.themes.theme_crime_text("Acquisitive crime").data
    official_text = official.crime.crime_change_table()
    assert {33, 28} <= set(official_text.iloc[:, 1:3].to_numpy().ravel())
