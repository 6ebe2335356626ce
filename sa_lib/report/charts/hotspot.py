"""Hotspot map: a hex-bin density of records' snapped locations, with no basemap.

Coordinates are projected onto a local plane (equirectangular, longitude scaled
by the cosine of the mean latitude), which over a district is within a fraction
of a per cent of true distances, so hexagons are regular and the axes are in km.
LSOA boundaries are drawn when a GeoJSON of polygons is given (read with the
``json`` module).  Cells with fewer than ``min_count`` records are not drawn
(the public build passes the disclosure threshold), and ``Chart.counts`` holds
exactly the drawn cells' counts.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter, StrMethodFormatter

from sa_lib.errors import OptionError
from sa_lib.report.charts.base import (
    _INK,
    Chart,
    _check_frame,
    _footnote,
    _join,
    _numbers,
    _wrap,
    plain_text_chart,
)
from sa_lib.stats.change import format_count

__all__ = ["hotspot_chart", "read_boundaries", "project_km"]

_KM_PER_DEGREE = 111.32
SNAPPING_CAVEAT = ("Locations are police.uk's anonymised points: each record is snapped to the "
                   "centre of a nearby street or to a public place, so a cell shows where records "
                   "were mapped, not exact addresses.")


def project_km(lon: np.ndarray, lat: np.ndarray, lat0: float, lon0: float
               ) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude to km east and north of (lon0, lat0), equirectangular.

    Examples
    --------
    >>> x, y = project_km(np.array([1.0]), np.array([51.0]), lat0=51.0, lon0=0.0)
    >>> round(float(x[0]), 1), float(y[0])
    (70.1, 0.0)
    """
    scale = np.cos(np.radians(lat0))
    return ((np.asarray(lon) - lon0) * _KM_PER_DEGREE * scale,
            (np.asarray(lat) - lat0) * _KM_PER_DEGREE)


def read_boundaries(path: str | Path) -> list[np.ndarray]:
    """The outer and inner rings of every Polygon/MultiPolygon in a GeoJSON file, as (n, 2).

    Examples
    --------
    >>> import tempfile, os
    >>> gj = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
    ...       "geometry": {"type": "Polygon", "coordinates": [[[0, 51], [1, 51], [1, 52]]]}}]}
    >>> with tempfile.NamedTemporaryFile("w", suffix=".geojson", delete=False) as fh:
    ...     json.dump(gj, fh)
    >>> [r.shape for r in read_boundaries(fh.name)]
    [(3, 2)]
    >>> os.unlink(fh.name)
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise OptionError(f"boundaries {path}: not a readable GeoJSON file ({exc})") from exc
    feats = data.get("features", [data]) if isinstance(data, dict) else []
    rings: list[np.ndarray] = []
    for f in feats:
        geom = f.get("geometry", f) if isinstance(f, dict) else None
        if not isinstance(geom, dict):
            continue
        polys = ([geom.get("coordinates", [])] if geom.get("type") == "Polygon"
                 else geom.get("coordinates", []) if geom.get("type") == "MultiPolygon" else [])
        for poly in polys:
            for ring in poly:
                arr = np.asarray(ring, dtype=float)
                if arr.ndim == 2 and arr.shape[0] >= 3:
                    rings.append(arr[:, :2])
    return rings


@plain_text_chart
def hotspot_chart(
    points: pd.DataFrame,
    title: str,
    min_count: int = 1,
    gridsize: int = 30,
    boundaries: list[np.ndarray] | None = None,
    caption: str | None = None,
    n_hottest: int = 3,
) -> Chart:
    """Draw a hex-bin hotspot map of records' locations.

    Parameters
    ----------
    points : DataFrame
        ``longitude``, ``latitude`` and ``lsoa_name`` of each record (rows
        without a location are dropped).
    title : str
        Chart title; also starts the alt text.
    min_count : int, default 1
        Cells with fewer records are not drawn (pass the disclosure threshold
        in the public build).
    gridsize : int, default 30
        Hexagons across the map's width.
    boundaries : list of (n, 2) arrays, optional
        LSOA boundary rings in longitude, latitude (:func:`read_boundaries`).
    caption : str, optional
        Small text under the map (the snapping caveat is always added).
    n_hottest : int, default 3
        How many of the busiest cells the alt text names (by their most common LSOA).

    Returns
    -------
    Chart
        ``counts`` holds the drawn cells' counts.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> pts = pd.DataFrame({"longitude": 0.52 + rng.normal(0, 0.01, 200),
    ...                     "latitude": 51.27 + rng.normal(0, 0.01, 200),
    ...                     "lsoa_name": ["Maidstone 001A"] * 200})
    >>> chart = hotspot_chart(pts, "Total crime, Maidstone", min_count=5, gridsize=10)
    >>> min(chart.counts) >= 5
    True
    >>> chart.alt_text.split(". ")[0]
    'Hex-bin map of Total crime, Maidstone: 200 records with a location'
    """
    func = "hotspot_chart"
    _check_frame(points, "points", ["longitude", "latitude", "lsoa_name"], func)
    if int(min_count) < 1:
        raise OptionError(f"{func}: min_count must be at least 1")
    lon = _numbers(points, "longitude", func, "points")
    lat = _numbers(points, "latitude", func, "points")
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        raise OptionError(f"{func}: no record has a location; nothing to draw")
    lon, lat = lon[ok], lat[ok]
    names = points["lsoa_name"].astype(str).to_numpy()[ok]
    lat0, lon0 = float(np.mean(lat)), float(np.mean(lon))
    x, y = project_km(lon, lat, lat0, lon0)

    fig = Figure(figsize=(7, 6.2), dpi=110)
    ax = fig.add_subplot()
    # A log colour scale, so one very busy cell (a town centre) does not wash out the rest;
    # the cells' values stay counts.
    hb = ax.hexbin(x, y, gridsize=gridsize, mincnt=int(min_count), cmap="YlOrRd",
                   norm=LogNorm(), linewidths=0.2, edgecolors="#ffffff")
    cell_counts = np.asarray(hb.get_array(), dtype=float)
    centres = np.asarray(hb.get_offsets(), dtype=float)
    if boundaries:
        for ring in boundaries:
            bx, by = project_km(ring[:, 0], ring[:, 1], lat0, lon0)
            ax.plot(bx, by, color="#425563", linewidth=0.4, zorder=3)
        ax.set_xlim(float(x.min()) - 0.5, float(x.max()) + 0.5)
        ax.set_ylim(float(y.min()) - 0.5, float(y.max()) + 0.5)
    ax.set_aspect("equal")
    ax.set_xlabel("km east of the map centre", fontsize=8)
    ax.set_ylabel("km north of the map centre", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.set_title(title, loc="left", fontsize=11, color=_INK)
    if len(cell_counts):
        bar = fig.colorbar(hb, ax=ax, shrink=0.7)
        bar.set_label("Records per cell (log scale)", fontsize=8)
        bar.ax.tick_params(labelsize=7)
        lo, hi = float(cell_counts.min()), float(cell_counts.max())
        nice = [v * m for m in (1, 10, 100, 1000, 10000) for v in (1, 2, 5)]
        bar.set_ticks([v for v in nice if lo <= v <= hi] or [lo, hi])
        bar.ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
        bar.ax.yaxis.set_minor_formatter(NullFormatter())
    rule = (f"Cells with fewer than {min_count} records are not shown (disclosure control)."
            if min_count > 1 else "")
    _footnote(ax, [_wrap(line, 95) for line in (caption or "", SNAPPING_CAVEAT, rule) if line])
    alt = _alt_text(title, x, y, names, centres, cell_counts, min_count, n_hottest)
    return Chart(fig, alt, tuple(float(c) for c in cell_counts))


def _alt_text(title: str, x: np.ndarray, y: np.ndarray, names: np.ndarray,
              centres: np.ndarray, counts: np.ndarray, min_count: int, n_hottest: int) -> str:
    parts = [f"Hex-bin map of {title}: {format_count(len(x))} records with a location"]
    if not len(counts):
        parts.append(f"no cell has {min_count} or more records, so no cell is drawn.")
        return ". ".join(parts)
    parts.append(f"{format_count(len(counts))} cells drawn")
    # Each record belongs to its nearest drawn cell centre; the hottest cells are
    # named by the LSOA most of their records fall in.
    d2 = (x[:, None] - centres[None, :, 0]) ** 2 + (y[:, None] - centres[None, :, 1]) ** 2
    nearest = np.argmin(d2, axis=1)
    order = sorted(range(len(counts)), key=lambda i: (-counts[i], i))[:n_hottest]
    named = []
    for i in order:
        in_cell = names[nearest == i]
        lsoa = pd.Series(in_cell).value_counts().sort_index().sort_values(
            ascending=False, kind="stable").index[0] if len(in_cell) else "unknown LSOA"
        named.append(f"{lsoa} ({format_count(counts[i])} records)")
    parts.append("the busiest cells are in " + _join(named) + ".")
    return ". ".join(parts[:2]) + "; " + parts[2]
