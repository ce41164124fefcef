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
"""

from __future__ import annotations

import io
import math
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from affine import Affine
from PIL import Image
from psycopg.rows import dict_row

from riskmap.api.tiles import raster
from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.errors import DataError, NotFoundError

SQL = SqlFiles("riskmap.api.sql")

TILE_SIZE = raster.TILE_SIZE
OFFSET_M = 32768.0  # Terrarium: stored value − 32768 = metres
EQUATOR_M = 40075016.686  # Web Mercator's equator (2π × 6378137 m)
MAX_ZOOM = 24
_FAR = 1e9  # DEM pixel coordinate standing in for a point the DEM's CRS cannot place


@dataclass(frozen=True)
class DemRef:
    """One catalogued DEM (``raster_layer`` kind 'dem')."""

    id: str
    path: str
    sha256: str
    crs: str
    transform: tuple[float, ...]
    width: int
    height: int
    bounds: tuple[float, float, float, float]  # footprint (west, south, east, north), EPSG:4326
    attribution: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        """What identifies the DEM's heights in a cache key."""
        return self.id, self.sha256


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


# -- heights ---------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _transformer(crs: str):
    """Web Mercator → the DEM's CRS (x east, y north)."""
    from pyproj import CRS, Transformer

    return Transformer.from_crs(CRS.from_epsg(3857), CRS.from_user_input(crs), always_xy=True)


_LATTICE = np.arange(0, TILE_SIZE + 1, 8, dtype=np.float64)  # every 8th pixel edge
_AT = (np.arange(TILE_SIZE) + 0.5) / 8  # pixel centres in lattice steps
_I0 = np.floor(_AT).astype(np.int64)
_F = _AT - _I0


def _pixel_centres_in(crs: str, to_tile: Affine) -> tuple[np.ndarray, np.ndarray]:
    """The tile's pixel centres in ``crs``: projected exactly on a lattice of every 8th pixel
    edge and interpolated bilinearly between (as GDAL's approximate transformer does). Error
    for a lon/lat DEM: under 0.1 tile pixel at zoom 0, under 0.001 from zoom 8 on; ten times
    faster than projecting all 65,536 centres."""
    mx, my = to_tile @ tuple(np.meshgrid(_LATTICE, _LATTICE))
    lx, ly = _transformer(crs).transform(mx, my)
    return _lerp2(np.asarray(lx)), _lerp2(np.asarray(ly))


def _lerp2(lattice: np.ndarray) -> np.ndarray:
    rows = lattice[_I0] * (1 - _F)[:, None] + lattice[_I0 + 1] * _F[:, None]
    return rows[:, _I0] * (1 - _F)[None, :] + rows[:, _I0 + 1] * _F[None, :]


def _read(path: str) -> tuple[np.ndarray, np.ndarray]:
    """Band 1 in metres (float32) with nodata filled from the nearest cell with data, and the
    mask of cells with data (float32, 1 or 0)."""
    import rasterio
    from scipy.ndimage import distance_transform_edt

    file = Path(path)
    if not file.exists():
        raise DataError(f"DEM {file.name} is catalogued but missing from the data store")
    with rasterio.open(file) as src:
        band = src.read(1, masked=True)
    heights = band.astype(np.float32).filled(np.nan)
    valid = np.isfinite(heights)
    if not valid.any():
        raise DataError(f"DEM {file.name} holds no heights")
    if not valid.all():
        _, (rows, cols) = distance_transform_edt(~valid, return_indices=True)
        heights = heights[rows, cols]
    return heights, valid.astype(np.float32)


def _block_mean(a: np.ndarray, factor: int) -> np.ndarray:
    rows, cols = a.shape[0] // factor, a.shape[1] // factor
    blocks = a[: rows * factor, : cols * factor].reshape(rows, factor, cols, factor)
    return blocks.mean(axis=(1, 3), dtype=np.float64).astype(np.float32)


@lru_cache(maxsize=24)
def _level(path: str, sha256: str, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """The DEM averaged over ``factor`` × ``factor`` cells (1: as stored; rows and columns that
    do not fill a block are dropped): heights, and each block's share of cells with data. The
    sha256 is part of the cache key: a replaced file is read again."""
    if factor == 1:
        return _read(path)
    heights, valid = _level(path, sha256, 1)
    return _block_mean(heights, factor), _block_mean(valid, factor)


def _factor(dem: DemRef, cols: np.ndarray, rows: np.ndarray) -> int:
    """DEM cells per block for this tile: the largest power of two not above the cells one
    tile pixel spans at the tile's centre (1 when a pixel spans less than two)."""
    mid = TILE_SIZE // 2
    span = math.sqrt(
        abs(cols[mid, mid + 1] - cols[mid, mid]) * abs(rows[mid + 1, mid] - rows[mid, mid])
    )
    if not math.isfinite(span) or span < 2:
        return 1
    factor = 2 ** int(math.log2(span))
    while factor > 1 and (dem.width // factor < 2 or dem.height // factor < 2):
        factor //= 2
    return factor


def _sample(
    dem: DemRef, cols: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """At DEM pixel coordinates (0 = the outer edge of the first cell): the height (bilinear,
    continued flat beyond the edge), whether the point has data from this DEM, and its distance
    (cells) outside the DEM."""
    from scipy.ndimage import map_coordinates

    factor = _factor(dem, cols, rows)
    heights, share = _level(dem.path, dem.sha256, factor)
    n_rows, n_cols = heights.shape
    at = [(rows / factor - 0.5).ravel(), (cols / factor - 0.5).ravel()]  # cell-centre indices
    value = map_coordinates(heights, at, order=1, mode="nearest").reshape(cols.shape)
    width, height = n_cols * factor, n_rows * factor
    outside_x = np.maximum(np.maximum(-cols, cols - width), 0.0)
    outside_y = np.maximum(np.maximum(-rows, rows - height), 0.0)
    distance = np.hypot(outside_x, outside_y)
    r = np.clip((rows // factor).astype(np.int64), 0, n_rows - 1)
    c = np.clip((cols // factor).astype(np.int64), 0, n_cols - 1)
    has_data = (distance == 0) & (share[r, c] >= 0.5)
    return value.astype(np.float64), has_data, distance


def heights(dems: Sequence[DemRef], z: int, x: int, y: int) -> np.ndarray:
    """Heights (m) at the centres of the tile's pixels, shape (TILE_SIZE, TILE_SIZE), row 0 at
    the north; see the module docstring for the edges and for several DEMs."""
    if not dems:
        raise NotFoundError("no DEM to draw terrain from")
    to_tile = raster.tile_transform(z, x, y)
    out = np.full((TILE_SIZE, TILE_SIZE), np.nan)
    fallback = np.zeros((TILE_SIZE, TILE_SIZE))
    gap = np.full((TILE_SIZE, TILE_SIZE), np.inf)
    for dem in dems:
        dx, dy = _pixel_centres_in(dem.crs, to_tile)
        cols, rows = ~Affine(*dem.transform) @ (dx, dy)
        cols = np.nan_to_num(cols, nan=_FAR, posinf=_FAR, neginf=-_FAR).clip(-_FAR, _FAR)
        rows = np.nan_to_num(rows, nan=_FAR, posinf=_FAR, neginf=-_FAR).clip(-_FAR, _FAR)
        value, has_data, distance = _sample(dem, cols, rows)
        take = np.isnan(out) & has_data
        out[take] = value[take]
        nearer = distance < gap
        fallback[nearer] = value[nearer]
        gap[nearer] = distance[nearer]
    return np.where(np.isnan(out), fallback, out)


# -- encoding --------------------------------------------------------------------------------


def encode_terrarium(metres: np.ndarray) -> np.ndarray:
    """RGB (uint8, shape + (3,)) of heights in Terrarium, rounded to the nearest 1/256 m and
    clipped to what it can hold (−32768 … 32767.996 m)."""
    top = OFFSET_M - 1 / 256
    steps = np.rint((np.clip(metres, -OFFSET_M, top) + OFFSET_M) * 256).astype(np.int64)
    rgb = np.stack([steps >> 16, (steps >> 8) & 255, steps & 255], axis=-1)
    return rgb.astype(np.uint8)


def render(dems: Sequence[DemRef], z: int, x: int, y: int) -> bytes:
    """The Terrarium PNG (RGB, opaque) of tile (z, x, y)."""
    buf = io.BytesIO()
    rgb = encode_terrarium(heights(dems, z, x, y))
    # level 1: 10 ms and ~120 kB; level 6 took 50 ms for 9 % less (the B channel is noise)
    Image.fromarray(rgb, "RGB").save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


# -- TileJSON --------------------------------------------------------------------------------


def cell_metres(dem: DemRef) -> tuple[float, float]:
    """Ground size (m, geometric mean of the two sides) of the DEM's central cell, and that
    cell's latitude."""
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
        body = render(dems, *key[:3])
        self.cache.put(key, body)
        return body
