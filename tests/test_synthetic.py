"""Seeded synthetic partner data (sa_lib.data.synthetic)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

import sa_lib.data.synthetic as synthetic
from sa_lib.data.partner import read_partner, validate_partner
from sa_lib.data.partner_schema import PARTNER_KINDS
from sa_lib.data.synthetic import MORILE_SCORERS, MORILE_THEMES, generate_partner_data
from sa_lib.errors import OptionError

KEY = "test-key-not-secret-0123456789"
SEED = 2017


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("synthetic")


@pytest.fixture(scope="module")
def files(folder: Path) -> dict[str, Path]:
    return generate_partner_data(folder, seed=SEED)


@pytest.fixture(scope="module")
def data(files: dict[str, Path]) -> dict[str, pd.DataFrame]:
    return {k: read_partner(p, k.split(":")[0], pseudonymise_key=KEY) for k, p in files.items()}


def per_year(frame: pd.DataFrame, column: str = "date") -> pd.Series:
    return frame.groupby(frame[column].dt.year).size()


def repeat_incidents(da: pd.DataFrame, lookback_days: int = 365) -> pd.Series:
    """Incident involves a victim with another incident in the previous ``lookback_days``."""
    ordered = da.sort_values(["victim_id", "date"], kind="stable")
    gap = ordered["date"] - ordered.groupby("victim_id")["date"].shift()
    return gap.dt.days.le(lookback_days).reindex(da.index)


# --------------------------------------------------------------------------- files


def test_one_file_per_kind_all_labelled_synthetic(files: dict[str, Path], folder: Path) -> None:
    kinds = {k.split(":")[0] for k in files}
    assert kinds == set(PARTNER_KINDS)
    assert {k for k in files if k.startswith("morile_sheet:")} == {
        f"morile_sheet:{s}" for s in MORILE_SCORERS}
    assert files["morile_sheet:police"].name == "synthetic_morile_scorer_police.csv"
    assert all(p.parent == folder and p.name.startswith("synthetic_") for p in files.values())
    readme = (folder / "README.md").read_text()
    assert "SYNTHETIC" in readme and "NOT REAL DATA" in readme
    assert f"seed: {SEED}" in readme and f"version {synthetic.GENERATOR_VERSION}" in readme
    assert all(p.name in readme for p in files.values())


def test_every_file_passes_validation(files: dict[str, Path], data: dict) -> None:
    for key, path in files.items():
        assert validate_partner(path, key.split(":")[0]) == [], key
        assert len(data[key]) > 0
        assert path.read_bytes().startswith(
            ",".join(c for c in PARTNER_KINDS[key.split(":")[0]].column_names).encode())


def test_same_seed_gives_identical_bytes_and_another_seed_differs(
        files: dict[str, Path], folder: Path, tmp_path: Path) -> None:
    again = generate_partner_data(tmp_path / "again", seed=SEED)
    assert list(again) == list(files)
    for key, path in files.items():
        assert again[key].read_bytes() == path.read_bytes(), key
    assert (tmp_path / "again" / "README.md").read_bytes() == (folder / "README.md").read_bytes()
    other = generate_partner_data(tmp_path / "other", seed=SEED + 1)
    for key in ("domestic_abuse", "asb_council", "one_stop_shop", "needle_finds",
                "morile_sheet:police"):
        assert other[key].read_bytes() != files[key].read_bytes(), key


# --------------------------------------------------------------------------- calibration


def test_domestic_abuse_volume_and_repeat_share(data: dict) -> None:
    da = data["domestic_abuse"]
    counts = per_year(da)
    assert list(counts.index) == [2021, 2022, 2023, 2024, 2025]
    assert abs(counts[2025] / 2683 - 1) <= 0.05
    assert counts[2021] < counts[2025]  # rising, as reporting rose
    repeat = repeat_incidents(da)
    latest = da["date"].dt.year == 2025
    assert 0.22 <= repeat[latest].mean() <= 0.30
    # the file's repeat_flag says the same, except in the first year, whose history
    # (the burn-in year) is not in the file
    later = da["date"].dt.year > 2021
    assert (repeat[later] == da.loc[later, "repeat_flag"]).all()
    assert (da["risk_level"] == "standard").mean() > 0.6
    assert da["victim_id"].nunique() < len(da)


def test_domestic_abuse_seasonality(data: dict) -> None:
    da = data["domestic_abuse"]
    daily = da.groupby("date").size().reindex(
        pd.date_range("2021-01-01", "2025-12-31"), fill_value=0)
    month = daily.index.month
    summer = daily[(month == 7) | (month == 8)].mean()
    spring = daily[(month == 3) | (month == 4)].mean()
    festive = daily[(month == 12) & (daily.index.day >= 20)].mean()
    november = daily[month == 11].mean()
    assert summer > spring * 1.05
    assert festive > november * 1.1


def test_asb_volumes_and_categories(data: dict) -> None:
    asb = data["asb_council"]
    counts = per_year(asb)
    assert abs(counts[2025] / 3697 - 1) <= 0.03
    assert abs(counts[2024] / 3588 - 1) <= 0.03
    assert set(asb["category"].unique()) == {"personal", "nuisance", "environmental"}
    assert "High Street" in set(asb["ward"])


def test_needles_s136_ksi_admissions(data: dict) -> None:
    needles = data["needle_finds"]
    year = needles["month"].dt.year
    assert (needles.groupby(year)["finds"].sum() < 1000).all()
    exchanges = needles.groupby(year)["needle_exchanges"].sum()
    assert exchanges[2025] == 422 and exchanges[2024] == 538
    s136 = data["section_136"].groupby(data["section_136"]["month"].dt.year)["detentions"].sum()
    assert s136[2025] == 66 and s136.is_monotonic_increasing
    assert 1.3 <= s136[2025] / s136[2022] <= 1.6  # ~46% over three years
    ksi = data["ksi"]
    total = ksi["killed"] + ksi["seriously_injured"]
    assert total.between(50, 74).all() and list(ksi["year"]) == [2021, 2022, 2023, 2024, 2025]
    admissions = data["substance_admissions"].set_index(
        data["substance_admissions"]["period_end"].dt.year)["admissions"]
    assert admissions[2025] == 637 and admissions[2024] == 734


def test_one_stop_shop_repeat_visitors(data: dict) -> None:
    oss = data["one_stop_shop"]
    latest = oss[oss["date"].dt.year == 2025]
    visits = latest.groupby("visitor_id").size()
    assert 0.10 <= (visits > 1).mean() <= 0.14
    home = latest.drop_duplicates("visitor_id")["from_district"].mean()
    assert 0.88 <= home <= 0.97


def test_reoffending_cohorts_are_quarterly(data: dict) -> None:
    reoff = data["reoffending"]
    assert len(reoff) == 20
    assert ((reoff["cohort_end"] - reoff["cohort_start"]).apply(lambda d: d.n) == 2).all()
    rate = reoff["reoffenders"].sum() / reoff["cohort_size"].sum()
    assert 0.2 <= rate <= 0.32
    per_reoffender = reoff["reoffences"].sum() / reoff["reoffenders"].sum()
    assert 3.5 <= per_reoffender <= 4.3


def test_resident_survey_matches_the_published_shares(data: dict) -> None:
    survey = data["resident_survey"]
    latest = survey[survey["year"] == 2025]
    assert (latest["base"] == 2350).all()
    top = latest["response"].isin(["Very safe", "Fairly safe", "Very worried", "Fairly worried"])
    share = latest[top].groupby("question")["count"].sum() / 2350
    expected = {"in your home": 0.93, "during the day": 0.94, "after dark": 0.60,
                "broken into": 0.46, "fraud": 0.56, "attacked": 0.29, "pestered": 0.38}
    for fragment, value in expected.items():
        (question,) = [q for q in share.index if fragment in q]
        assert share[question] == pytest.approx(value, abs=0.005), question


def test_action_plan_has_met_missed_and_missing_indicators(data: dict) -> None:
    plan = data["action_plan"]
    latest = plan[plan["period"] == "2025"]
    better = latest["direction"].eq("decrease")
    met = (better & (latest["value"] <= latest["target"])) | (
        ~better & (latest["value"] >= latest["target"]))
    has_value = latest["value"].notna()
    assert met[has_value].any() and (~met[has_value]).any()
    assert (~has_value).sum() == 1
    assert plan["period"].str.fullmatch(r"\d{4}-\d{2}").any()  # a monthly indicator too
    needles = latest.loc[latest["indicator"].str.contains("Needle finds"), "value"].item()
    finds = data["needle_finds"]
    assert needles == finds.loc[finds["month"].dt.year == 2025, "finds"].sum()


def test_morile_sheets(data: dict, files: dict[str, Path]) -> None:
    fields = {"physical", "psychological", "financial", "community", "environmental",
              "frequency", "vulnerability", "organisational_position", "confidence"}
    for scorer in MORILE_SCORERS:
        sheet = data[f"morile_sheet:{scorer}"]
        assert list(sheet["theme"].unique()) == list(MORILE_THEMES)
        assert set(sheet["field"]) == fields and len(sheet) == len(MORILE_THEMES) * len(fields)
        assert (sheet["scorer"] == scorer).all()
    from sa_lib.data.morile_scales import load_morile_scales
    from sa_lib.data.morile_sheets import read_morile_sheets
    sheets = read_morile_sheets([p for k, p in files.items() if k.startswith("morile")],
                                load_morile_scales(), themes=list(MORILE_THEMES))
    assert set(sheets["scorer"]) == set(MORILE_SCORERS)


# --------------------------------------------------------------------------- options and clock


def test_current_year_stops_at_the_last_complete_month(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    monkeypatch.setattr(synthetic, "_today", lambda: date(2025, 11, 15))
    files = generate_partner_data(tmp_path, seed=3, start_year=2025, end_year=2025)
    for key, path in files.items():
        assert validate_partner(path, key.split(":")[0], as_of="2025-11-15") == [], key
    da = read_partner(files["domestic_abuse"], "domestic_abuse", pseudonymise_key=KEY)
    assert da["date"].max() <= pd.Timestamp("2025-10-31")
    assert abs(len(da) / (2683 * 10 / 12) - 1) <= 0.05
    s136 = read_partner(files["section_136"], "section_136")
    assert str(s136["month"].max()) == "2025-10"
    assert "October 2025" in (tmp_path / "README.md").read_text()


def test_other_area_gets_generic_wards(tmp_path: Path) -> None:
    files = generate_partner_data(tmp_path, seed=1, start_year=2024, end_year=2024, area="Ashford")
    asb = read_partner(files["asb_council"], "asb_council")
    assert asb["ward"].str.startswith("Ashford ward ").all()
    da = read_partner(files["domestic_abuse"], "domestic_abuse", pseudonymise_key=KEY)
    assert (da["area"] == "Ashford").all()


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"seed": -1}, "seed"),
    ({"seed": 1.5}, "seed"),
    ({"start_year": 2025, "end_year": 2024}, "start_year"),
    ({"end_year": 2999}, "end_year"),
    ({"area": " "}, "area"),
])
def test_bad_options(kwargs: dict, match: str, tmp_path: Path) -> None:
    with pytest.raises(OptionError, match=match):
        generate_partner_data(tmp_path, **kwargs)
