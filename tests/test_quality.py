"""Tests for the data-quality flags."""

from __future__ import annotations

import pandas as pd
import pytest

from sa_lib.data.police_uk import read_police_uk
from sa_lib.data.quality import data_quality, implausible_months
from sa_lib.paths import DATA_DIR
from sa_lib.periods import rolling_window


@pytest.fixture(scope="module")
def dq() -> pd.DataFrame:
    rec = read_police_uk(DATA_DIR / "police_uk" / "maidstone", area="Maidstone", cache=False)
    return data_quality(rec)


def test_incomplete_2018_months_are_flagged(dq: pd.DataFrame) -> None:
    totals = dq[dq.check == "implausible_total"]
    assert sorted(totals["month"].astype(str)) == ["2018-11", "2018-12"]
    assert (totals["severity"] == "warning").all()
    assert "not a real change" in totals["detail"].iloc[0]


def test_seasonal_asb_and_2025_totals_not_flagged(dq: pd.DataFrame) -> None:
    flagged = dq[dq.check.str.startswith("implausible")]
    assert not (flagged["month"] >= pd.Period("2019-01", "M")).any()


def test_missing_months_and_vintage_change(dq: pd.DataFrame) -> None:
    missing = set(dq.loc[dq.check == "missing_month", "month"].astype(str))
    assert "2019-03" in missing and "2024-12" in missing and "2025-01" not in missing
    vintage = dq[dq.check == "lsoa_vintage_change"]
    assert vintage["month"].astype(str).tolist() == ["2024-01"]


def test_missing_months_of_a_window() -> None:
    rec = read_police_uk(DATA_DIR / "police_uk" / "maidstone", area="Maidstone", cache=False)
    dq = data_quality(rec, window=rolling_window("2024-12"))
    missing = dq.loc[dq.check == "missing_month", "month"].astype(str).tolist()
    # Jan 24 - Dec 24: only Jan-Apr were published here
    assert missing == [f"2024-{m:02d}" for m in range(5, 13)]


def test_no_location_counted(dq: pd.DataFrame) -> None:
    nl = dq[dq.check == "no_location"]
    assert len(nl) == 22 and nl["value"].min() > 0


def test_duplicates_and_new_types_detected() -> None:
    rec = read_police_uk(DATA_DIR / "police_uk" / "maidstone", area="Maidstone", cache=False)
    rec = rec[rec.month >= pd.Period("2025-01", "M")].copy()
    rec.attrs = {}
    dup = rec[rec.crime_id != ""].head(2)
    extra = rec[rec.month == pd.Period("2025-06", "M")].head(1).assign(crime_type="New type")
    rec2 = pd.concat([rec, dup, extra], ignore_index=True)
    dq = data_quality(rec2)
    assert (dq.check == "duplicate_crime_id").sum() >= 1
    assert "New type" in set(dq.loc[dq.check.isin(["crime_type_new", "crime_type_missing"]), "crime_type"])


def test_implausible_months_high_and_guarded_by_poisson() -> None:
    months = pd.period_range("2025-01", periods=7, freq="M")
    c = pd.DataFrame({"month": months, "count": [100, 102, 98, 300, 101, 99, 100]})
    out = implausible_months(c)
    assert out["month"].astype(str).tolist() == ["2025-04"]
    small = pd.DataFrame({"month": months, "count": [2, 3, 2, 6, 2, 3, 2]})
    assert implausible_months(small).empty  # 6 vs 2 is not beyond Poisson noise
