"""Forest cover under points (satellite hotspots), from the forest rasters the risk maps use.

A hotspot on forest is a possible forest fire; one on open land in the farming valleys is far
more often straw burning (秸秆焚烧). The risk maps catalogue a forest-cover fraction grid
(``raster_layer`` kind ``forest``, see ``geo/risk/catalogue.py``; synthetic in the demo), and
the hotspot rules read it here. Where no layer covers a point the cover is unknown (NaN) and
the rules treat the hotspot as possibly a forest fire: the safe side.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import psycopg

from riskmap.geo.db.sqlfiles import SqlFiles

SQL = SqlFiles("riskmap.geo.rules.sql")
FOREST_MIN = 0.5  # forest fraction from which a hotspot's pixel counts as forest ⚠ (a choice)


def forest_fraction(conn: psycopg.Connection, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Forest-cover fraction (0–1) at each point, NaN where no forest layer covers it (the
    last catalogued layer covering a point wins)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    out = np.full(len(lon), np.nan)
    if not len(lon):
        return out
    for path, crs in SQL.rows(conn, "forest_layers.sql", shape="tuple"):
        if not Path(path).is_file():
            continue  # a layer moved or deleted: unknown cover, not an error in a rules run
        got = _sample(Path(path), crs, lon, lat)
        out = np.where(np.isnan(got), out, got)
    return out


def _sample(path: Path, crs: str, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    import rasterio  # here, not at the top: the API's workers import the rules but seldom sample
    from pyproj import Transformer

    with rasterio.open(path) as src:
        xs, ys = lon, lat
        if crs and crs.upper() not in ("EPSG:4326", "OGC:CRS84"):
            xs, ys = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
        rows, cols = rasterio.transform.rowcol(src.transform, xs, ys)
        rows, cols = np.asarray(rows), np.asarray(cols)
        inside = (rows >= 0) & (rows < src.height) & (cols >= 0) & (cols < src.width)
        out = np.full(len(lon), np.nan)
        if inside.any():
            band = src.read(1, masked=True)
            vals = band[rows[inside], cols[inside]]
            out[inside] = np.ma.filled(vals.astype(float), np.nan)
    return out
