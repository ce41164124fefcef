"""Mapbox Vector Tiles straight from PostGIS (ST_AsMVT) and their TileJSON 3.0.0 documents.

Each layer is one parameterised SQL file (``api/sql/tiles_<layer>.sql``). Township and village
outlines come pre-simplified per zoom band in Web Mercator (migration 0019_tiles); point layers
and warning areas are transformed per request (few features). Only the attributes a map style
needs travel in the tiles; the feature APIs carry the rest.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import psycopg

from geo.db.sqlfiles import load_sql

EXTENT = 4096  # tile units per side (MVT default)
BUFFER = 64  # tile units kept beyond each edge so strokes and labels join across tiles
MAX_ZOOM = 24
REFRESH_EVERY_S = 2.0  # how often a worker looks for changed outlines to rebuild


@dataclass(frozen=True)
class VectorLayer:
    """One vector tile layer: its SQL, who may read it, its zooms and its attribute types."""

    id: str
    title_zh: str
    title_en: str
    public: bool
    minzoom: int
    maxzoom: int
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def sql(self) -> str:
        return load_sql("api.sql", f"tiles_{self.id.replace('-', '_')}.sql")


_RISK = "Number: risk level 1 low … 4 very high"
LAYERS: dict[str, VectorLayer] = {
    layer.id: layer
    for layer in (
        VectorLayer(
            "villages",
            "行政村（风险等级、预警）",
            "villages (risk levels, warnings)",
            public=False,
            minzoom=6,
            maxzoom=16,
            fields={
                "code": "String: 12-digit village code",
                "name": "String",
                "township": "String: township name",
                "flash_flood": _RISK,
                "geohazard": _RISK,
                "forest_fire": _RISK,
                "risk": "Number: highest risk level of the three hazards",
                "warning": "String: colour of the highest issued warning (blue/yellow/orange/red)",
            },
        ),
        VectorLayer(
            "townships",
            "乡镇",
            "townships",
            public=False,
            minzoom=4,
            maxzoom=16,
            fields={"code": "String: 9-digit township code", "name": "String", "kind": "String"},
        ),
        VectorLayer(
            "hazard-points",
            "地质灾害隐患点",
            "geohazard points",
            public=False,
            minzoom=8,
            maxzoom=16,
            fields={
                "id": "String",
                "name": "String",
                "kind": "String: landslide, collapse, debris_flow, …",
                "scale": "String: small, medium, large, very_large",
                "threatened_people": "Number",
                "village_code": "String",
            },
        ),
        VectorLayer(
            "shelters",
            "避难场所",
            "shelters",
            public=False,
            minzoom=8,
            maxzoom=16,
            fields={
                "id": "String",
                "name": "String",
                "kind": "String",
                "capacity": "Number: people",
                "occupancy": "Number: people",
                "admin_code": "String",
            },
        ),
        VectorLayer(
            "stations",
            "雨水情测站",
            "rain, river and reservoir stations",
            public=False,
            minzoom=8,
            maxzoom=16,
            fields={
                "stcd": "String: SL 323 station code",
                "stnm": "String: name",
                "sttp": "String: PP rain, ZZ/ZQ river, RR reservoir, …",
                "rvnm": "String: river",
            },
        ),
        VectorLayer(
            "warnings",
            "生效预警",
            "issued warnings",
            public=True,
            minzoom=4,
            maxzoom=16,
            fields={
                "id": "Number",
                "hazard": "String",
                "colour": "String: blue, yellow, orange, red",
                "level": "String: 四级 … 一级",
                "action": "String: prepare_evacuation or evacuate_now",
                "cap_status": "String: Actual, Exercise, Test",
                "expires": "String: ISO 8601 UTC",
            },
        ),
    )
}


def valid_tile(z: int, x: int, y: int) -> bool:
    """Is (z, x, y) a tile of the Web Mercator pyramid (XYZ scheme, y down)?"""
    return 0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z


def ensure_fresh(conn: psycopg.Connection, state: Any) -> None:
    """Rebuild outlines queued by the admin-unit triggers before rendering.

    With a listening tile cache, only after an ``outlines`` notification (exact, no query
    otherwise); without one, at most every REFRESH_EVERY_S per worker."""
    cache = getattr(state, "tile_cache", None)
    if cache is not None and cache.active:
        if not cache.outlines_stale:
            return
        cache.outlines_stale = False  # a notification during the rebuild sets it again
    else:
        now = time.monotonic()
        if now - getattr(state, "tiles_checked_at", -1e9) < REFRESH_EVERY_S:
            return
        state.tiles_checked_at = now
    try:
        conn.execute(load_sql("api.sql", "tiles_refresh.sql"))
        conn.commit()
    except psycopg.Error:
        if cache is not None:
            cache.outlines_stale = True  # try again on the next render
        raise


def params(z: int, x: int, y: int) -> dict[str, Any]:
    """The query parameters of one tile."""
    return {"z": z, "x": x, "y": y, "extent": EXTENT, "buffer": BUFFER, "margin": BUFFER / EXTENT}


def render(conn: psycopg.Connection, layer: VectorLayer, z: int, x: int, y: int) -> bytes:
    """The tile's bytes (empty when no feature reaches it)."""
    row = conn.execute(layer.sql, params(z, x, y)).fetchone()
    conn.commit()  # end the transaction (it may hold the token check's last-used touch)
    return bytes(row["tile"] or b"")


async def render_async(
    conn: psycopg.AsyncConnection, layer: VectorLayer, z: int, x: int, y: int
) -> bytes:
    """:func:`render` on an autocommit async connection: no worker thread, no pool hand-off
    between threads (the cost of a cold tile was mostly that, not PostGIS)."""
    cur = await conn.execute(layer.sql, params(z, x, y))
    row = await cur.fetchone()
    return bytes(row[0] or b"")


def bounds(conn: psycopg.Connection) -> dict[str, tuple[float, float, float, float]]:
    """Data extent (west, south, east, north) of every non-empty layer."""
    rows = conn.execute(load_sql("api.sql", "tiles_bounds.sql")).fetchall()
    conn.commit()
    return {r["layer"]: (r["west"], r["south"], r["east"], r["north"]) for r in rows}


def tilejson(
    layer: VectorLayer, tiles_url: str, extent: tuple[float, float, float, float] | None
) -> dict[str, Any]:
    """TileJSON 3.0.0 for ``layer`` served at ``tiles_url`` (absolute, with {z}/{x}/{y})."""
    west, south, east, north = extent or (-180.0, -85.0511, 180.0, 85.0511)
    center_zoom = min(layer.maxzoom, max(layer.minzoom, 9 if extent else layer.minzoom))
    return {
        "tilejson": "3.0.0",
        "name": layer.id,
        "description": f"{layer.title_zh} ({layer.title_en})",
        "version": "1.0.0",
        "scheme": "xyz",
        "tiles": [tiles_url],
        "minzoom": layer.minzoom,
        "maxzoom": layer.maxzoom,
        "bounds": [round(v, 6) for v in (west, south, east, north)],
        "center": [round((west + east) / 2, 6), round((south + north) / 2, 6), center_zoom],
        "vector_layers": [
            {
                "id": layer.id,
                "description": layer.title_en,
                "minzoom": layer.minzoom,
                "maxzoom": layer.maxzoom,
                "fields": dict(layer.fields),
            }
        ],
    }
