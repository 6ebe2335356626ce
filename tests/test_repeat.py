"""Tests for repeat victimisation / repeat visits / repeat locations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sa_lib.errors import OptionError
from sa_lib.stats.repeat import flag_repeats, repeat_definition, repeat_victim_rate

DAY = pd.Timedelta(days=1)


def _incidents(rows: list[tuple[str, str]], **extra: list) -> pd.DataFrame:
    return pd.DataFrame({"victim_id": [v for v, _ in rows], "date": [d for _, d in rows], **extra})


# --------------------------------------------------------------------------- flag_repeats
def test_lookback_boundary_365_counts_366_does_not() -> None:
    first = pd.Timestamp("2024-11-01")
    df = pd.DataFrame({
        "victim_id": ["A", "A", "B", "B"],
        "date": [first, first + 365 * DAY, first, first + 366 * DAY],
    })
    assert flag_repeats(df)["is_repeat"].tolist() == [False, True, False, False]


def test_lookback_boundary_uses_calendar_days_not_times() -> None:
    # 23:00 on day 0 to 01:00 on day 365 is under 365 x 24 hours but 365 calendar days: counts.
    df = pd.DataFrame({
        "victim_id": ["A", "A"],
        "date": pd.to_datetime(["2024-11-01 23:00", "2025-11-01 01:00"]),
    })
    assert flag_repeats(df)["is_repeat"].tolist() == [False, True]


def test_custom_lookback() -> None:
    df = _incidents([("A", "2025-01-01"), ("A", "2025-01-31"), ("A", "2025-03-03")])
    assert flag_repeats(df, lookback_days=30)["is_repeat"].tolist() == [False, True, False]
    assert flag_repeats(df, lookback_days=31)["is_repeat"].tolist() == [False, True, True]


def test_only_most_recent_previous_incident_matters() -> None:
    # Third incident is 400 days after the first but 200 after the second: a repeat.
    start = pd.Timestamp("2023-01-01")
    df = pd.DataFrame({"victim_id": ["A"] * 3,
                       "date": [start, start + 200 * DAY, start + 400 * DAY]})
    assert flag_repeats(df)["is_repeat"].tolist() == [False, True, True]


def test_same_day_second_row_is_repeat() -> None:
    df = _incidents([("A", "2025-03-01"), ("A", "2025-03-01"), ("B", "2025-03-01")])
    assert flag_repeats(df)["is_repeat"].tolist() == [False, True, False]


def test_same_day_ordered_by_time_then_order_by_column() -> None:
    by_time = pd.DataFrame({"victim_id": ["A", "A"],
                            "date": ["2025-03-01T18:00", "2025-03-01T09:00"]})
    # The 09:00 incident (second row) came first, so the first row is the repeat.
    assert flag_repeats(by_time)["is_repeat"].tolist() == [True, False]

    by_ref = _incidents([("A", "2025-03-01"), ("A", "2025-03-01")], ref=[20, 10])
    assert flag_repeats(by_ref)["is_repeat"].tolist() == [False, True]  # row order
    assert flag_repeats(by_ref, order_by="ref")["is_repeat"].tolist() == [True, False]


def test_rows_need_not_be_sorted_and_index_is_kept() -> None:
    df = _incidents(
        [("B", "2025-02-01"), ("A", "2025-05-01"), ("B", "2025-01-01"), ("A", "2024-01-01")]
    )
    df.index = [10, 10, 7, 3]  # duplicate labels must not confuse anything
    out = flag_repeats(df)
    assert out["is_repeat"].tolist() == [True, False, False, False]
    assert list(out.index) == [10, 10, 7, 3]
    assert list(out.columns) == ["victim_id", "date", "is_repeat"]


def test_input_not_mutated() -> None:
    df = _incidents([("A", "2025-01-01"), ("A", "2025-01-02")])
    before = df.copy()
    flag_repeats(df)
    repeat_victim_rate(df, by=None)
    pd.testing.assert_frame_equal(df, before)


def test_datetime_and_iso_strings_agree() -> None:
    text = _incidents([("A", "2025-01-01"), ("A", "2025-06-01"), ("B", "2023-01-01")])
    dated = text.assign(date=pd.to_datetime(text["date"]))
    aware = text.assign(date=pd.to_datetime(text["date"]).dt.tz_localize("Europe/London"))
    expected = [False, True, False]
    for df in (text, dated, aware):
        assert flag_repeats(df)["is_repeat"].tolist() == expected


def test_keys_of_any_type_for_visitors_and_locations() -> None:
    visits = pd.DataFrame({"visitor": [7, 7, 8], "when": ["2025-01-01", "2025-01-20", "2025-01-20"]})
    out = flag_repeats(visits, key="visitor", date="when", lookback_days=28)
    assert out["is_repeat"].tolist() == [False, True, False]


def test_empty_input() -> None:
    df = pd.DataFrame({"victim_id": pd.Series([], dtype=str),
                       "date": pd.Series([], dtype="datetime64[ns]")})
    assert flag_repeats(df)["is_repeat"].tolist() == []
    t = repeat_victim_rate(df)
    assert t.loc[0, "incidents"] == 0 and np.isnan(t.loc[0, "rate"])


def _brute_force(victims: list[str], days: list[int], lookback: int) -> list[bool]:
    """Reference: position-ordered pairwise comparison (row order breaks same-day ties)."""
    out = []
    for i, (v, d) in enumerate(zip(victims, days, strict=True)):
        earlier = [
            d2 for j, (v2, d2) in enumerate(zip(victims, days, strict=True))
            if v2 == v and (d2 < d or (d2 == d and j < i))
        ]
        out.append(any(d - d2 <= lookback for d2 in earlier))
    return out


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.tuples(st.sampled_from("ABCD"), st.integers(0, 60)), max_size=25),
    lookback=st.integers(1, 30),
)
def test_matches_brute_force_reference(rows, lookback) -> None:
    victims = [v for v, _ in rows]
    days = [d for _, d in rows]
    df = pd.DataFrame({"victim_id": victims,
                       "date": pd.Timestamp("2025-01-01") + pd.to_timedelta(days, unit="D")})
    got = flag_repeats(df, lookback_days=lookback)["is_repeat"].tolist()
    assert got == _brute_force(victims, days, lookback)


# --------------------------------------------------------------------------- validation
@pytest.mark.parametrize("bad", [0, -5, 1.5, 365.0, True, "365", None])
def test_bad_lookback_rejected(bad) -> None:
    df = _incidents([("A", "2025-01-01")])
    with pytest.raises(OptionError, match="lookback_days"):
        flag_repeats(df, lookback_days=bad)
    with pytest.raises(OptionError, match="lookback_days"):
        repeat_victim_rate(df, lookback_days=bad)


def test_bad_base_and_subject_rejected() -> None:
    df = _incidents([("A", "2025-01-01")])
    with pytest.raises(OptionError, match="base"):
        repeat_victim_rate(df, base="people")
    with pytest.raises(OptionError, match="subject"):
        repeat_victim_rate(df, subject="offender")


def test_missing_victim_ids_reported_with_count() -> None:
    df = _incidents([("A", "2025-01-01"), (None, "2025-01-02"), ("", "2025-01-03"),
                     ("B", "2025-01-04")])
    with pytest.raises(OptionError, match=r"'victim_id' has 2 row\(s\)"):
        repeat_victim_rate(df)


def test_missing_dates_reported_with_count() -> None:
    df = _incidents([("A", "2025-01-01"), ("B", None)])
    with pytest.raises(OptionError, match=r"'date' has 1 row\(s\) with no date"):
        flag_repeats(df)
    dated = pd.DataFrame({"victim_id": ["A", "B", "C"],
                          "date": pd.to_datetime(["2025-01-01", None, None])})
    with pytest.raises(OptionError, match=r"'date' has 2 row\(s\)"):
        repeat_victim_rate(dated)


def test_unparseable_dates_rejected() -> None:
    df = _incidents([("A", "2025-01-01"), ("B", "01/02/2025"), ("C", "2025-13-01")])
    with pytest.raises(OptionError, match=r"'date' has 2 value\(s\) that are not ISO dates"):
        repeat_victim_rate(df)


def test_unknown_columns_and_clashes_rejected() -> None:
    df = _incidents([("A", "2025-01-01")], area=["X"])
    with pytest.raises(OptionError, match="victim='person'"):
        repeat_victim_rate(df, victim="person")
    with pytest.raises(OptionError, match="by='ward'"):
        repeat_victim_rate(df, by="ward")
    with pytest.raises(OptionError, match="order_by"):
        flag_repeats(df, order_by="ref")
    with pytest.raises(OptionError, match="is_repeat"):
        flag_repeats(df.assign(is_repeat=True))
    with pytest.raises(OptionError, match="clashes"):
        repeat_victim_rate(df.assign(incidents=1), by="incidents")


def test_start_after_end_rejected() -> None:
    df = _incidents([("A", "2025-01-01")])
    with pytest.raises(OptionError, match="start"):
        repeat_victim_rate(df, start="2025-10-31", end="2024-11-01")
    with pytest.raises(OptionError, match="start"):
        repeat_victim_rate(df, start="not a date")


# --------------------------------------------------------------------------- repeat_victim_rate
WINDOW = {"start": "2024-11-01", "end": "2025-10-31"}


def test_history_before_start_counts_as_lookback_only() -> None:
    df = _incidents([
        ("A", "2024-10-15"),  # history: makes the next one a repeat, not counted itself
        ("A", "2024-11-10"),  # repeat
        ("B", "2023-10-01"),  # history, but more than 365 days before B's next
        ("B", "2024-11-02"),  # not a repeat
        ("C", "2025-10-31"),  # last day counts (inclusive end)
        ("C", "2025-11-01"),  # after the window: not counted
    ])
    t = repeat_victim_rate(df, **WINDOW)
    row = t.iloc[0]
    assert (row["incidents"], row["repeat_incidents"]) == (3, 1)
    assert (row["victims"], row["repeat_victims"]) == (3, 1)
    assert row["rate"] == pytest.approx(1 / 3)
    # Without the history the first incident in the window would not be a repeat.
    window_only = df[pd.to_datetime(df["date"]) >= "2024-11-01"]
    assert repeat_victim_rate(window_only, **WINDOW).loc[0, "repeat_incidents"] == 0


def test_end_is_inclusive_for_timestamps_during_the_day() -> None:
    df = pd.DataFrame({"victim_id": ["A", "A"],
                       "date": pd.to_datetime(["2025-10-01 00:00", "2025-10-31 23:59"])})
    t = repeat_victim_rate(df, **WINDOW)
    assert t.loc[0, "incidents"] == 2 and t.loc[0, "repeat_incidents"] == 1


def test_victims_base_versus_incidents_base() -> None:
    # A: 4 incidents (3 repeats); B and C: one each.  Incidents base 3/6; victims base 1/3.
    df = _incidents([
        ("A", "2025-01-01"), ("A", "2025-02-01"), ("A", "2025-03-01"), ("A", "2025-04-01"),
        ("B", "2025-01-01"), ("C", "2025-01-01"),
    ])
    inc = repeat_victim_rate(df, base="incidents", **WINDOW).iloc[0]
    vic = repeat_victim_rate(df, base="victims", **WINDOW).iloc[0]
    assert (inc["incidents"], inc["repeat_incidents"], inc["victims"], inc["repeat_victims"]) == (
        6, 3, 3, 1)
    assert inc["rate"] == pytest.approx(3 / 6)
    assert vic["rate"] == pytest.approx(1 / 3)
    assert inc["base"] == "incidents" and vic["base"] == "victims"
    assert "repeat incidents as a share of all incidents" in inc["definition"]
    assert "victims with at least one repeat incident as a share of all victims" in vic["definition"]


def test_by_groups_follow_victims_across_groups() -> None:
    df = _incidents(
        [("A", "2025-01-01"), ("A", "2025-02-01"), ("B", "2025-01-01"), ("C", "2025-01-05"),
         ("C", "2025-01-06"), ("D", "2025-03-01")],
        area=["North", "South", "North", "South", "South", None],
    )
    t = repeat_victim_rate(df, by="area", **WINDOW)
    assert list(t.columns) == ["area", "incidents", "repeat_incidents", "victims",
                               "repeat_victims", "rate", "base", "lookback_days", "definition"]
    north = t[t["area"] == "North"].iloc[0]
    south = t[t["area"] == "South"].iloc[0]
    assert (north["incidents"], north["repeat_incidents"], north["victims"]) == (2, 0, 2)
    # A's South incident is a repeat of its North one; C repeats within South.
    assert (south["incidents"], south["repeat_incidents"], south["victims"],
            south["repeat_victims"]) == (3, 2, 2, 2)
    assert south["rate"] == pytest.approx(2 / 3)
    # The incident with no area is kept as its own group, not silently dropped.
    assert t["incidents"].sum() == 6 and t["area"].isna().sum() == 1


def test_by_several_columns() -> None:
    df = _incidents(
        [("A", "2025-01-01"), ("A", "2025-02-01"), ("B", "2025-01-01"), ("B", "2025-01-02")],
        area=["N", "N", "N", "S"], risk=["high", "high", "standard", "standard"],
    )
    t = repeat_victim_rate(df, by=["area", "risk"], base="victims", **WINDOW)
    assert t[["area", "risk"]].values.tolist() == [["N", "high"], ["N", "standard"],
                                                   ["S", "standard"]]
    assert t["rate"].tolist() == pytest.approx([1.0, 0.0, 1.0])


def test_result_columns_and_types() -> None:
    df = _incidents([("A", "2025-01-01"), ("A", "2025-01-01")])
    t = repeat_victim_rate(df, lookback_days=28, **WINDOW)
    assert list(t.columns) == ["incidents", "repeat_incidents", "victims", "repeat_victims",
                               "rate", "base", "lookback_days", "definition"]
    assert t["rate"].dtype == np.float64 and t.loc[0, "lookback_days"] == 28
    assert t.loc[0, "definition"] == (
        "A repeat incident is one where the same victim had at least one earlier incident in "
        "the 28 days before it. Rate = repeat incidents as a share of all incidents "
        "(1 Nov 2024 \u2013 31 Oct 2025)."
    )


def test_definition_defaults_to_the_data_period() -> None:
    df = _incidents([("A", "2025-01-03"), ("A", "2025-02-01")])
    assert repeat_victim_rate(df).loc[0, "definition"].endswith("(3 Jan 2025 \u2013 1 Feb 2025).")


def test_seed_vector_2683_incidents_26_4_percent_repeat() -> None:
    # Synthetic: 1,975 victims with a first incident in the window, 708 of them with one
    # follow-up 30 days later (still inside the window): 708 / 2,683 = 26.4%.
    rng = np.random.default_rng(1)
    n_victims, n_repeat = 1975, 708
    first = pd.Timestamp("2024-11-01") + pd.to_timedelta(rng.integers(0, 300, n_victims), "D")
    ids = [f"V{i:04d}" for i in range(n_victims)]
    df = pd.concat([
        pd.DataFrame({"victim_id": ids, "date": first}),
        pd.DataFrame({"victim_id": ids[:n_repeat], "date": first[:n_repeat] + 30 * DAY}),
    ]).sample(frac=1, random_state=2)
    t = repeat_victim_rate(df, **WINDOW).iloc[0]
    assert t["incidents"] == 2683 and t["repeat_incidents"] == 708
    assert round(t["rate"] * 100, 1) == 26.4
    assert t["rate"] == pytest.approx(708 / 2683)  # full precision kept


# --------------------------------------------------------------------------- repeat_definition
def test_definition_wording_for_each_subject() -> None:
    assert repeat_definition(365, "incidents", "location") == (
        "A repeat incident is one where the same location had at least one earlier incident "
        "in the 365 days before it. Rate = repeat incidents as a share of all incidents."
    )
    assert repeat_definition(1, "victims", "visitor", end="2025-10-31") == (
        "A repeat visit is one where the same visitor had at least one earlier visit in the "
        "1 day before it. Rate = visitors with at least one repeat visit as a share of all "
        "visitors with a visit (up to 31 Oct 2025)."
    )
    assert repeat_definition(365, "victims", start="2024-11-01").endswith(
        "all victims with an incident (from 1 Nov 2024)."
    )


def test_definition_validates() -> None:
    with pytest.raises(OptionError, match="base"):
        repeat_definition(365, "incident")
    with pytest.raises(OptionError, match="subject"):
        repeat_definition(365, "incidents", subject="offender")
    with pytest.raises(OptionError, match="lookback_days"):
        repeat_definition(0, "incidents")


def test_categorical_groups_keep_their_order() -> None:
    levels = pd.CategoricalDtype(["standard", "medium", "high"], ordered=True)
    df = _incidents(
        [("A", "2025-01-01"), ("A", "2025-02-01"), ("B", "2025-01-01"), ("C", "2025-01-01")],
        risk=pd.Series(["high", "high", "standard", "medium"], dtype=levels),
    )
    t = repeat_victim_rate(df, by="risk", **WINDOW)
    assert t["risk"].tolist() == ["standard", "medium", "high"]
    assert t["repeat_incidents"].tolist() == [0, 0, 1]
