"""Where crime happens: LSOA counts, rates, shares, concentration, changes and hotspot maps."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from sa_lib.data.lsoa_population import read_lsoa_population
from sa_lib.errors import OptionError
from sa_lib.periods import month_window
from sa_lib.report.assessment import open_assessment
from sa_lib.report.charts import hotspot_chart
from sa_lib.report.charts.hotspot import read_boundaries
from sa_lib.stats.places import (
    concentration,
    lsoa_counts,
    lsoa_profile,
    significant_lsoa_changes,
)

CUR = month_window("2025-01", "2025-02")
PREV = month_window("2024-01", "2024-02")


def records() -> pd.DataFrame:
    """A: 2 now, 1 before; B: 1 now, 3 before; C: 1 now; D: only outside the windows."""
    rows = [("2025-01", "A"), ("2025-02", "A"), ("2024-01", "A"),
            ("2025-02", "B"), ("2024-01", "B"), ("2024-02", "B"), ("2024-02", "B"),
            ("2025-01", "C"), ("2023-06", "D"), ("2025-01", "")]
    return pd.DataFrame({"month": pd.PeriodIndex([m for m, _ in rows], freq="M"),
                         "lsoa_code": [c for _, c in rows],
                         "lsoa_name": [f"name {c}" for _, c in rows]})


def test_counts_rates_and_shares_by_hand() -> None:
    c = lsoa_counts(records(), CUR, PREV)
    assert c.to_dict("list") == {"lsoa_code": ["A", "B", "C", "D"],
                                 "lsoa_name": ["name A", "name B", "name C", "name D"],
                                 "previous": [1, 3, 0, 0], "current": [2, 1, 1, 0]}
    # C has a 2021-style code with no 2011 residents: no rate.
    p = lsoa_profile(c, pd.Series({"A": 1000, "B": 500, "D": 2000}))
    assert p["share_pct"].tolist() == [50.0, 25.0, 25.0, 0.0]  # 2, 1, 1, 0 of 4
    assert p["rate_per_1000"].tolist()[:2] == [2.0, 2.0]  # 2/1000, 1/500 per 1,000
    assert np.isnan(p.loc[p["lsoa_code"] == "C", "rate_per_1000"]).all()
    assert p.loc[p["lsoa_code"] == "D", "rate_per_1000"].item() == 0.0


def test_concentration_by_hand() -> None:
    assert concentration([5, 3, 2]) == (1, 3, 50.0)  # ceil(0.05*3) = 1 LSOA of 10 crimes
    k, n, share = concentration(list(range(1, 41)))  # 40 LSOAs: top 2 = 40 + 39 of 820
    assert (k, n) == (2, 40) and share == pytest.approx(79 / 820 * 100)
    assert np.isnan(concentration([0, 0])[2])
    with pytest.raises(OptionError):
        concentration([1], top_share=0)


def test_only_changes_surviving_holm_are_reported() -> None:
    # 20 LSOAs: each borderline change is significant alone (p < 0.05) but not after Holm.
    base = pd.DataFrame({"lsoa_code": [f"L{i:02d}" for i in range(20)],
                         "lsoa_name": [f"n{i}" for i in range(20)],
                         "previous": [10] * 20, "current": [10] * 20})
    base.loc[0, "current"] = 24  # p about 0.02 alone
    from sa_lib.stats.significance import exact_poisson_test
    assert exact_poisson_test(10, 24)[0] < 0.05
    assert significant_lsoa_changes(base, 2, 2).empty
    base.loc[1, ["previous", "current"]] = [5, 60]  # a real change survives
    out = significant_lsoa_changes(base, 2, 2)
    assert out["lsoa_code"].tolist() == ["L01"]
    assert out["p_adjusted"].iloc[0] == pytest.approx(min(1.0, 20 * out["p_value"].iloc[0]))
    # Benjamini-Hochberg may be chosen instead.
    assert significant_lsoa_changes(base, 2, 2, method="fdr_bh")["lsoa_code"].tolist() == ["L01"]


def points(n: int = 400, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"longitude": 0.52 + rng.normal(0, 0.02, n),
                         "latitude": 51.27 + rng.normal(0, 0.015, n),
                         "lsoa_name": rng.choice(["Maidstone 001A", "Maidstone 002B"], n)})


def test_hotspot_map_is_deterministic_and_suppresses_small_cells() -> None:
    pts = points()
    a = hotspot_chart(pts, "Total crime", min_count=5, gridsize=12)
    b = hotspot_chart(pts, "Total crime", min_count=5, gridsize=12)
    assert a.to_png() == b.to_png()
    assert a.counts and min(a.counts) >= 5
    full = hotspot_chart(pts, "Total crime", gridsize=12)
    assert sum(full.counts) == len(pts)  # every record is in one drawn cell
    assert min(full.counts) < 5  # so the public rule has cells to drop
    assert sum(a.counts) == sum(c for c in full.counts if c >= 5)
    assert "Maidstone 00" in a.alt_text and "busiest cells" in a.alt_text
    none = hotspot_chart(pts.head(3), "Few", min_count=5)
    assert none.counts == () and "no cell" in none.alt_text
    with pytest.raises(OptionError):
        hotspot_chart(pts.assign(longitude=np.nan), "None")


def test_boundaries_are_drawn_from_geojson(tmp_path) -> None:
    ring = [[0.50, 51.25], [0.55, 51.25], [0.55, 51.30], [0.50, 51.25]]
    gj = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon",
                                                           "coordinates": [ring]}},
        {"type": "Feature", "properties": {}, "geometry": {"type": "MultiPolygon",
                                                           "coordinates": [[ring], [ring]]}}]}
    path = tmp_path / "lsoa.geojson"
    path.write_text(json.dumps(gj))
    rings = read_boundaries(path)
    assert len(rings) == 3
    with_lines = hotspot_chart(points(), "T", gridsize=12, boundaries=rings)
    assert with_lines.to_png() != hotspot_chart(points(), "T", gridsize=12).to_png()


def test_2011_and_2021_codes_for_rates() -> None:
    pop = read_lsoa_population()
    assert "E01024333" in pop.index  # a 2011 Maidstone LSOA
    assert "E01034991" not in pop.index  # Maidstone 004H, created in 2021
    ctx = open_assessment("parameters/2025.yaml")
    t = ctx.places.top_lsoas_table(n=200)
    row = t[t["LSOA code"] == "E01034991"].iloc[0]
    assert row["residents (2011)"] == "no 2011 figure" and np.isnan(row["per 1,000 residents"])
    assert "not a 2011 code" in ctx.places.places_note()
    assert "E01034991" not in set(ctx.places.top_rate_table(n=200)["LSOA code"])


def test_chapter_on_maidstone_matches_a_direct_count() -> None:
    ctx = open_assessment("parameters/2025.yaml")
    p = ctx.params
    r = ctx.context.records
    w = p.review_window  # where crime is: the whole review window
    sel = r[(r["crime_type"] != "Anti-social behaviour") & (r["month"] >= w.start)
            & (r["month"] <= w.end) & r["lsoa_code"].notna()]
    direct = sel.groupby("lsoa_code", observed=True).size().sort_values(ascending=False)
    t = ctx.places.top_lsoas_table()
    assert len(t) == 10
    got = dict(zip(t["LSOA code"], t[w.label], strict=True))
    assert all(direct[code] == n for code, n in got.items())
    assert sorted(got.values(), reverse=True) == sorted(direct.head(10).tolist(), reverse=True)
    assert "Concentration" in ctx.places.places_text().data
    assert "Holm" in ctx.places.lsoa_changes_text().data
    assert "residents in mid-" in ctx.places.area_profile_text().data


def test_public_maps_hold_no_cell_below_the_threshold() -> None:
    ctx = open_assessment("parameters/2025.yaml", "public")
    charts = ctx.places.hotspot_charts()
    assert charts and charts[0][0] == "hotspot_total_crime_excluding_asb"
    for _name, chart in charts:
        assert chart.counts is not None
        assert all(c >= ctx.params.thresholds.disclosure for c in chart.counts)
    assert "fewer than" in ctx.places.hotspot_text().data
