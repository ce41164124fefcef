"""Rainfall grids as 256-pixel PNG map tiles, coloured by a rainfall scale with a legend.

The grid is the file catalogued by the ingest pipeline (``grid_file``, migration 0012); it is
read with the ingest readers (so units and nodata are handled exactly as for village rainfall),
decoded once per file and period and kept in a small per-process cache, then warped into the
Web Mercator tile with ``rasterio.warp.reproject`` (nearest neighbour: each pixel keeps the value
of the cell under it, so the map shows the grid's real cells). Cells below the scale's first
class (dry) and nodata are transparent.

The map's time slider steps through :func:`periods`: each listed period is the grid that
:func:`find_grid` picks for ``at`` = its ``valid_end`` (both SQL files order ties the same way:
the latest issue, then the shortest period).

numpy, Pillow, affine and morecantile (with pyproj) are imported by the functions that draw
pixels, on the first tile: every API worker imports this module at its start for the catalogue
and legend, and most never draw a rain tile.
"""

from __future__ import annotations

import io
import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import psycopg
from pydantic import BaseModel, Field

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.errors import DataError, NotFoundError

if TYPE_CHECKING:
    import morecantile
    import numpy as np
    from affine import Affine

SQL = SqlFiles("riskmap.api.sql")

TILE_SIZE = 256
Product = Literal["qpe", "qpf"]


@dataclass(frozen=True)
class GridRef:
    """One catalogued period of a grid file, with its grid definition."""

    id: str
    path: str
    step: int
    to_mm: float
    product: str
    valid_start: datetime
    valid_end: datetime
    crs_wkt: str
    transform: tuple[float, ...]
    bounds: tuple[float, float, float, float]  # west, south, east, north (EPSG:4326)
    issued_at: datetime | None = None  # forecasts: the run; analyses: valid_end

    @property
    def hours(self) -> float:
        return (self.valid_end - self.valid_start).total_seconds() / 3600.0


def find_grid(conn: psycopg.Connection, product: Product, at: datetime | None) -> GridRef:
    """The latest period of ``product`` ending at or before ``at`` (None: the latest)."""
    row = conn.execute(SQL("tiles_rain_grid.sql"), {"product": product, "at": at}).fetchone()
    conn.commit()
    if row is None:
        when = f" ending by {at.isoformat()}" if at else ""
        raise NotFoundError(f"no {product} rainfall grid{when} in the catalogue")
    return GridRef(
        row["id"],
        row["path"],
        row["step"],
        row["to_mm"],
        row["product"],
        row["valid_start"],
        row["valid_end"],
        row["crs"],
        tuple(row["transform"]),
        (row["west"], row["south"], row["east"], row["north"]),
        row["issued_at"],
    )


class RainPeriod(BaseModel):
    """One step of the map's time slider: a catalogued grid, times in UTC (``Z``)."""

    product: Product
    valid_start: datetime
    valid_end: datetime = Field(description="send as ?period= to draw exactly this grid")
    issued_at: datetime = Field(description="forecasts: the run; analyses: valid_end")
    hours: float = Field(description="length of the period")
    max_mm: float = Field(description="the grid's largest cell value (mm)")


def periods(conn: psycopg.Connection, product: Product) -> list[RainPeriod]:
    """The time slider's steps, oldest first: for analyses (qpe) the grids of the 24 h up to
    the latest one, for forecasts (qpf) those of the latest issue; each is the grid the tiles
    draw for ``period=valid_end`` (one per period end, see ``tiles_rain_periods.sql``)."""
    rows = conn.execute(SQL("tiles_rain_periods.sql"), {"product": product}).fetchall()
    conn.commit()
    return [
        RainPeriod(
            product=r["product"],
            valid_start=r["valid_start"].astimezone(UTC),
            valid_end=r["valid_end"].astimezone(UTC),
            issued_at=r["issued_at"].astimezone(UTC),
            hours=(r["valid_end"] - r["valid_start"]).total_seconds() / 3600.0,
            max_mm=r["max_mm"],
        )
        for r in rows
    ]


# netCDF4/HDF5 is not thread-safe: rain tiles of a period not yet read, requested together by
# one map, read the file from several threadpool threads at once and killed the worker with a
# bus error. Reads are serialised (each period is read once, then served from the cache).
_READ_LOCK = threading.Lock()


def _decoded(path: str, step: int, factor: float) -> np.ndarray:
    """The period's values in mm (float32, NaN = no data), read once per process."""
    with _READ_LOCK:
        return _decoded_once(path, step, factor)


@lru_cache(maxsize=32)
def _decoded_once(path: str, step: int, factor: float) -> np.ndarray:
    import numpy as np

    from riskmap.geo.grids.geotiff import read_geotiff
    from riskmap.geo.grids.netcdf import read_netcdf
    from riskmap.geo.grids.units import to_mm

    file = Path(path)
    if not file.exists():
        raise DataError(f"grid file {file.name} is catalogued but missing from the data store")
    reader = read_geotiff if file.suffix.lower() in (".tif", ".tiff") else read_netcdf
    mm, _ = to_mm(reader(file).read(step), factor)
    return mm.astype(np.float32)


@cache
def scales() -> dict[str, Any]:
    """The rainfall colour scales (``rain_scale.json``: classes, colours, labels zh/en)."""
    text = (resources.files("riskmap.api.tiles") / "rain_scale.json").read_text(encoding="utf-8")
    return json.loads(text)


def scale_for(hours: float) -> dict[str, Any]:
    """The scale for a period of ``hours`` (1 h, 12 h or 24 h grades)."""
    for scale in scales()["scales"]:
        if scale["max_hours"] is None or hours <= scale["max_hours"]:
            return scale
    raise AssertionError("the last scale has no max_hours")  # pragma: no cover


@lru_cache(maxsize=8)
def _palette(scale_id: str) -> tuple[np.ndarray, np.ndarray]:
    """Class lower bounds and an RGBA table whose row 0 (dry, below the first class) is clear."""
    import numpy as np

    scale = next(s for s in scales()["scales"] if s["id"] == scale_id)
    mins = np.array([c["min"] for c in scale["classes"]], dtype=np.float32)
    rgba = np.zeros((len(mins) + 1, 4), dtype=np.uint8)
    for i, c in enumerate(scale["classes"], start=1):
        rgba[i] = [int(c["colour"][k : k + 2], 16) for k in (1, 3, 5)] + [200]
    return mins, rgba


def _tile_png(rgba: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue()


@cache
def empty_png() -> bytes:
    """A fully transparent tile (outside the grid or no rain)."""
    import numpy as np

    return _tile_png(np.zeros((TILE_SIZE, TILE_SIZE, 4), dtype=np.uint8))


@cache
def _tms() -> morecantile.TileMatrixSet:
    import morecantile

    return morecantile.tms.get("WebMercatorQuad")


def tile_transform(z: int, x: int, y: int) -> Affine:
    """Affine from (column, row) of a TILE_SIZE-pixel tile to Web Mercator metres (EPSG:3857)
    of that pixel's upper-left corner; the rain and terrain tiles share it."""
    from affine import Affine
    from morecantile import Tile

    left, bottom, right, top = _tms().xy_bounds(Tile(x, y, z))
    return Affine.translation(left, top) @ Affine.scale(
        (right - left) / TILE_SIZE, (bottom - top) / TILE_SIZE
    )


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """(west, south, east, north) of the tile in degrees (EPSG:4326)."""
    from morecantile import Tile

    return tuple(_tms().bounds(Tile(x, y, z)))


def render(grid: GridRef, z: int, x: int, y: int) -> bytes:
    """PNG of the tile (z, x, y): the grid's rain coloured by its scale, dry cells clear."""
    import numpy as np
    from affine import Affine
    from rasterio.crs import CRS
    from rasterio.warp import Resampling, reproject

    west, south, east, north = tile_bounds(z, x, y)
    gw, gs, ge, gn = grid.bounds
    if west > ge or east < gw or south > gn or north < gs:
        return empty_png()
    dst = np.full((TILE_SIZE, TILE_SIZE), np.nan, dtype=np.float32)
    reproject(
        source=_decoded(grid.path, grid.step, grid.to_mm),
        destination=dst,
        src_transform=Affine(*grid.transform),
        src_crs=CRS.from_wkt(grid.crs_wkt),
        src_nodata=np.nan,
        dst_transform=tile_transform(z, x, y),
        dst_crs=CRS.from_epsg(3857),
        dst_nodata=np.nan,
        resampling=Resampling.nearest,
    )
    mins, rgba = _palette(scale_for(grid.hours)["id"])
    classes = np.searchsorted(mins, np.nan_to_num(dst, nan=-1.0), side="right")
    if not classes.any():
        return empty_png()
    return _tile_png(rgba[classes])


def legend(grid: GridRef | None, hours: float | None = None) -> dict[str, Any]:
    """Legend of the scale used for ``grid`` (or for a period of ``hours``): classes, colours,
    units and labels in Chinese and English."""
    period_hours = grid.hours if grid is not None else (hours or 1.0)
    scale = scale_for(period_hours)
    doc = scales()
    out: dict[str, Any] = {
        "title_zh": "降水量",
        "title_en": "Rainfall",
        "units": doc["units"],
        "scale": scale["id"],
        "standard": scale["standard"],
        "note_zh": doc["note_zh"],
        "note_en": doc["note_en"],
        "classes": [
            {
                **c,
                "label": f"{c['label_zh']} {_range(c)} mm",
            }
            for c in scale["classes"]
        ],
        "transparent": "no data, or less than the first class (dry)",
    }
    if grid is not None:
        out["grid"] = {
            "id": grid.id,
            "product": grid.product,
            "valid_start": grid.valid_start.isoformat(),
            "valid_end": grid.valid_end.isoformat(),
            "issued_at": grid.issued_at.isoformat() if grid.issued_at else None,
            "hours": grid.hours,
        }
    return out


def _range(c: dict[str, Any]) -> str:
    return f"≥ {c['min']:g}" if c["max"] is None else f"{c['min']:g}–{c['max']:g}"


def tilejson(url: str, grid: GridRef) -> dict[str, Any]:
    """TileJSON 3.0.0 of the rain tiles of ``grid`` at ``url``."""
    west, south, east, north = grid.bounds
    return {
        "tilejson": "3.0.0",
        "name": "rain",
        "description": f"降水量 (rainfall, mm) {grid.valid_start:%Y-%m-%d %H:%M}–"
        f"{grid.valid_end:%H:%M} UTC",
        "scheme": "xyz",
        "tiles": [url],
        "minzoom": 0,
        "maxzoom": 14,
        "bounds": [round(v, 6) for v in (west, south, east, north)],
        "center": [round((west + east) / 2, 6), round((south + north) / 2, 6), 9],
    }
