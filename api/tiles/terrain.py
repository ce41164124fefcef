"""Terrain tiles: the catalogued DEMs as 256-pixel Terrarium PNGs for MapLibre's ``raster-dem``
source (hillshade, 3D terrain), and their TileJSON.

Terrarium: height (m) = R × 256 + G + B / 256 − 32768, in 1/256 m steps. A pixel holds the
height at its centre, interpolated bilinearly between the four nearest DEM cell centres; where
one tile pixel spans two or more DEM cells (low zooms) it is read from a copy of the DEM averaged
over blocks of cells, so the low-zoom hillshade is the terrain and not aliasing noise.

Outside every DEM, and in a DEM's nodata holes, the height is that of the nearest DEM cell with
data (the DEM continued flat beyond its edge), and every pixel is opaque. Not 0 m, and not
transparency: MapLibre decodes raster-dem heights from R, G and B and ignores alpha, so a 0 m
fringe beside a county at 200–900 m is a cliff that the hillshade draws as a dark or bright seam
along the DEM's edge (mapbox-gl-js #7283); and a browser that premultiplies alpha turns the RGB
of a transparent pixel into 0, i.e. −32768 m. Flat ground has no slope: the hillshade draws
nothing there, and the edge cells are shaded against their own height.

Several DEMs (a city's county DEMs): every DEM whose footprint meets the tile is read; where
they overlap, the first with data wins (newest dataset first). A tile no DEM meets (a gap inside
the TileJSON bounds, or a tile asked for far away) is the nearest DEM continued over it.

Rendered tiles are kept per worker in a byte-bounded LRU keyed by the tile and the DEMs' ids and
sha256: a replaced DEM file is a new key, never a stale tile.

This module is the catalogue, TileJSON and cache; the heights and the PNG (numpy, Pillow) are
:mod:`.terrain_heights`, imported by the first render, in a worker thread: every API worker
imports this module at its start, and most never draw a terrain tile.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from typing import Any

import psycopg
from psycopg.rows import dict_row

from riskmap.api.tiles import raster
from riskmap.api.tiles.dem_ref import DemRef
from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.errors import NotFoundError

SQL = SqlFiles("riskmap.api.sql")

TILE_SIZE = raster.TILE_SIZE
EQUATOR_M = 40075016.686  # Web Mercator's equator (2π × 6378137 m)
MAX_ZOOM = 24


def _refs(rows: Sequence[dict[str, Any]]) -> list[DemRef]:
    return [
        DemRef(
            r["id"],
            r["path"],
            r["sha256"],
            r["crs"],
            tuple(r["transform"]),
            r["width"],
            r["height"],
            (r["west"], r["south"], r["east"], r["north"]),
            r["attribution"],
        )
        for r in rows
    ]


def find_dems(conn: psycopg.Connection, z: int, x: int, y: int) -> list[DemRef]:
    """The DEMs terrain tile (z, x, y) is drawn from, in priority order.

    Raises
    ------
    NotFoundError
        If no DEM is catalogued at all.
    """
    rows = conn.execute(SQL("tiles_terrain_dems.sql"), {"z": z, "x": x, "y": y}).fetchall()
    conn.commit()
    if not rows:
        raise NotFoundError("no DEM in raster_layer (kind 'dem'): no terrain tiles")
    return _refs(rows)


def catalogue(conn: psycopg.Connection) -> list[DemRef]:
    """Every catalogued DEM (for the TileJSON); NotFoundError if there is none."""
    rows = conn.execute(SQL("tiles_terrain_catalogue.sql")).fetchall()
    conn.commit()
    if not rows:
        raise NotFoundError("no DEM in raster_layer (kind 'dem'): no terrain tiles")
    return _refs(rows)


# -- TileJSON --------------------------------------------------------------------------------


def cell_metres(dem: DemRef) -> tuple[float, float]:
    """Ground size (m, geometric mean of the two sides) of the DEM's central cell, and that
    cell's latitude."""
    from affine import Affine
    from pyproj import CRS, Geod, Transformer

    to_lonlat = Transformer.from_crs(
        CRS.from_user_input(dem.crs), CRS.from_epsg(4326), always_xy=True
    )
    t = Affine(*dem.transform)
    col, row = dem.width // 2, dem.height // 2
    corners = [t @ (col, row), t @ (col + 1, row), t @ (col, row + 1)]
    (lon0, lat0), (lon1, lat1), (lon2, lat2) = [to_lonlat.transform(*p) for p in corners]
    geod = Geod(ellps="WGS84")
    across = geod.inv(lon0, lat0, lon1, lat1)[2]
    down = geod.inv(lon0, lat0, lon2, lat2)[2]
    return math.sqrt(across * down), lat0


def max_zoom(cell_m: float, latitude: float) -> int:
    """The first zoom whose tile pixels (at ``latitude``) are no larger than ``cell_m``: the
    DEM's own detail; MapLibre over-zooms beyond it."""
    pixel_z0 = EQUATOR_M * math.cos(math.radians(latitude)) / TILE_SIZE
    return min(MAX_ZOOM, max(0, math.ceil(math.log2(pixel_z0 / cell_m) - 1e-9)))


def tilejson(tiles_url: str, dems: Sequence[DemRef]) -> dict[str, Any]:
    """TileJSON 3.0.0 of the terrain tiles at ``tiles_url`` (absolute, with {z}/{x}/{y})."""
    west = min(d.bounds[0] for d in dems)
    south = min(d.bounds[1] for d in dems)
    east = max(d.bounds[2] for d in dems)
    north = max(d.bounds[3] for d in dems)
    maxzoom = max(max_zoom(*cell_metres(d)) for d in dems)  # the finest DEM's
    credits = sorted({d.attribution for d in dems if d.attribution})
    doc = {
        "tilejson": "3.0.0",
        "name": "terrain",
        "description": "地形高程 (terrain heights, m; Terrarium: R×256 + G + B/256 − 32768)",
        "version": "1.0.0",
        "scheme": "xyz",
        "tiles": [tiles_url],
        "encoding": "terrarium",
        "tileSize": TILE_SIZE,
        "minzoom": 0,
        "maxzoom": maxzoom,
        "bounds": [round(v, 6) for v in (west, south, east, north)],
        "center": [round((west + east) / 2, 6), round((south + north) / 2, 6), min(9, maxzoom)],
    }
    if credits:
        doc["attribution"] = "; ".join(credits)
    return doc


# -- cache -----------------------------------------------------------------------------------


class TileLRU:
    """Rendered tiles by key, the least recently used dropped first, at most ``max_bytes``
    (0 keeps nothing); safe across threads."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._tiles: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> bytes | None:
        with self._lock:
            body = self._tiles.get(key)
            if body is not None:
                self._tiles.move_to_end(key)
            return body

    def put(self, key: Hashable, body: bytes) -> None:
        if len(body) > self.max_bytes // 16:
            return
        with self._lock:
            if key in self._tiles:
                return
            self._tiles[key] = body
            self._bytes += len(body)
            while self._bytes > self.max_bytes:
                _, old = self._tiles.popitem(last=False)
                self._bytes -= len(old)

    def __len__(self) -> int:
        return len(self._tiles)


class TerrainTiles:
    """One worker's terrain tiles: DEM look-ups on its connection pool, rendered tiles in an
    LRU of ``max_bytes`` keyed by the tile and its DEMs' ids and sha256."""

    def __init__(self, pool: Any, max_bytes: int) -> None:
        self.pool = pool
        self.cache = TileLRU(max_bytes)

    def lookup(self, z: int, x: int, y: int) -> tuple[Hashable, bytes | None, list[DemRef]]:
        """The tile's cache key, its bytes if kept, and the DEMs to render it from."""
        with self.pool.connection() as conn:
            conn.row_factory = dict_row
            dems = find_dems(conn, z, x, y)
        key = (z, x, y, tuple(d.key for d in dems))
        return key, self.cache.get(key), dems

    def render(self, key: Hashable, dems: Sequence[DemRef]) -> bytes:
        """Render the tile of ``key`` (from :meth:`lookup`) and keep it."""
        from riskmap.api.tiles.terrain_heights import render

        body = render(dems, *key[:3])
        self.cache.put(key, body)
        return body
