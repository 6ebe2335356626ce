"""Tests for reporting windows."""

from __future__ import annotations

import pandas as pd
import pytest

from sa_lib.errors import OptionError
from sa_lib.periods import (
    calendar_year,
    financial_year,
    missing_months,
    month_window,
    previous_window,
    rolling_window,
    window_totals,
    year_to_date,
)


def test_rolling_window_seed_label() -> None:
    w = rolling_window("2016-10")
    assert w.label == "Nov 2015 – Oct 2016"
    assert (str(w.start), str(w.end), w.n_months) == ("2015-11", "2016-10", 12)
    assert w.long_label == "November 2015 to October 2016"
    assert w.start_date == pd.Timestamp("2015-11-01")
    assert w.end_date == pd.Timestamp("2016-10-31")


def test_previous_comparable_window() -> None:
    assert previous_window(rolling_window("2016-10")).label == "Nov 2014 – Oct 2015"
    assert previous_window(rolling_window("2025-12", 3)).label == "Oct 2024 – Dec 2024"
    assert previous_window(rolling_window("2025-12", 18)).label == "Jul 2022 – Dec 2023"
    assert previous_window(financial_year(2024)).label == "2023/24"
    assert previous_window(calendar_year(2025)).label == "2024"
    assert previous_window(rolling_window("2025-12"), lag_months=1).label == "Dec 2024 – Nov 2025"


def test_financial_and_calendar_year() -> None:
    fy = financial_year("2024/25")
    assert (str(fy.start), str(fy.end), fy.label) == ("2024-04", "2025-03", "2024/25")
    assert financial_year(2024) == fy
    cy = calendar_year(2025)
    assert (str(cy.start), str(cy.end), cy.n_months) == ("2025-01", "2025-12", 12)


def test_year_to_date() -> None:
    assert year_to_date("2025-10").label == "Apr 2025 – Oct 2025"
    assert year_to_date("2025-02").n_months == 11
    assert year_to_date("2025-04").n_months == 1
    assert year_to_date("2025-10", year_start_month=1).label == "Jan 2025 – Oct 2025"


def test_contains_and_months() -> None:
    w = rolling_window("2025-12", 3)
    assert "2025-11" in w and "2025-09" not in w
    assert [str(m) for m in w.months] == ["2025-10", "2025-11", "2025-12"]


def test_bad_windows_rejected() -> None:
    with pytest.raises(OptionError, match="not a month"):
        rolling_window("Oct 2016x")
    with pytest.raises(OptionError, match="months"):
        rolling_window("2016-10", 0)
    with pytest.raises(OptionError, match="before"):
        month_window("2016-10", "2016-01")
    with pytest.raises(OptionError, match="year"):
        financial_year("twenty")


def test_missing_months_are_reported_not_zero() -> None:
    w = rolling_window("2025-04", 4)
    assert [str(m) for m in missing_months(w, ["2025-02", "2025-04"])] == ["2025-01", "2025-03"]


def test_window_totals_by_group_keeps_real_zeros() -> None:
    c = pd.DataFrame({
        "month": ["2025-01", "2025-01", "2025-02", "2024-12"],
        "crime_type": ["Drugs", "Robbery", "Drugs", "Robbery"],
        "count": [5, 1, 6, 100],
    })
    t = window_totals(c, month_window("2025-01", "2025-03"), by="crime_type")
    assert t.set_index("crime_type")["total"].to_dict() == {"Drugs": 11, "Robbery": 1}
    assert (t["missing_months"] == "2025-03").all()
    assert not t["complete"].any()
    # a group with no rows in the window gets a real zero, not a dropped row
    t2 = window_totals(c, month_window("2024-12", "2024-12"), by="crime_type")
    assert t2.set_index("crime_type")["total"].to_dict() == {"Drugs": 0, "Robbery": 100}
    assert t2["complete"].all()


def test_window_totals_accepts_timestamps_and_periods() -> None:
    c = pd.DataFrame({"month": pd.to_datetime(["2025-01-01", "2025-02-01"]), "count": [1, 2]})
    assert window_totals(c, month_window("2025-01", "2025-02"))["total"].item() == 3
    c["month"] = c["month"].dt.to_period("M")
    assert window_totals(c, month_window("2025-01", "2025-02"))["complete"].item()
