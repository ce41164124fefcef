"""Mapbox Vector Tiles straight from PostGIS (ST_AsMVT) and their TileJSON 3.0.0 documents.

Each layer is one parameterised SQL file (``api/sql/tiles_<layer>.sql``). Township and village
outlines come pre-simplified per zoom band in Web Mercator (migration 0019_tiles) and, at zooms
4–14, pre-cut per tile (0024_tile_cut: a county-wide low-zoom tile no longer clips thousands of
outlines per request); point layers, warning areas, rivers and the county and city outlines are
transformed and simplified per request (few features: a city's dozen outlines, a county's few
hundred river lines). Only the attributes a map style needs travel in the tiles; the feature
APIs carry the rest.

The basemap layers (rivers, counties) are public, like the warnings: a public visitor's map
needs them; the others take the caller's area prefix (``area``, api/areas.py) and draw only that
area's features, so a county user's tiles differ from a city user's (the tile cache keys them
by area). Freshness: every tiled table notifies the workers' tile caches (api/tiles/cache.py:
migrations 0019, 0030 and 0054 — a change drops the tiles of the layers drawn from that table
that can touch the changed rows; a change to admin_unit drops every tile and the outlines).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from riskmap.geo.db.sqlfiles import SqlFiles

SQL = SqlFiles("riskmap.api.sql")

EXTENT = 4096  # tile units per side (MVT default)
BUFFER = 64  # tile units kept beyond each edge so strokes and labels join across tiles
MAX_ZOOM = 24
CUT_ZOOMS = range(4, 15)  # zooms whose outlines are pre-cut per tile (0024_tile_cut)
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
        return SQL(f"tiles_{self.id.replace('-', '_')}.sql")


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
            "rivers",
            "河流",
            "rivers",
            public=True,  # basemap for public visitors
            minzoom=6,
            maxzoom=16,
            fields={
                "id": "Number",
                "name": "String (absent for unnamed streams)",
                "strahler": "Number: Strahler stream order, 1 = headwater",
                "upstream_area_km2": "Number: area draining to the line's downstream end (km²)",
            },
        ),
        VectorLayer(
            "counties",
            "区县与地级市界",
            "county and city outlines",
            public=True,  # basemap for public visitors
            minzoom=4,
            maxzoom=16,
            fields={
                "code": "String: 6-digit GB/T 2260 code",
                "name": "String",
                "level": "String: county or city",
            },
        ),
        VectorLayer(
            "admin-labels",
            "乡镇与村名称注记点",
            "township and village label points",
            public=False,  # as the township and village outlines they name
            minzoom=8,
            maxzoom=16,
            fields={
                "code": "String: 9-digit township or 12-digit village code",
                "name": "String",
                "level": "String: township or village",
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
        conn.execute(SQL("tiles_refresh.sql"))
        conn.commit()
    except psycopg.Error:
        if cache is not None:
            cache.outlines_stale = True  # try again on the next render
        raise


Tile = tuple[int, int, int]  # z, x, y


def params(
    tiles: Sequence[Tile], *, pre_cut: bool = True, area: str | None = None
) -> dict[str, Any]:
    """The parameters of one batched tile statement (``pre_cut=False``: clip outlines live;
    ``area``: only the features of that area prefix, api/areas.py; public layers ignore it)."""
    return {
        "area": area,
        "zs": [z for z, _, _ in tiles],
        "xs": [x for _, x, _ in tiles],
        "ys": [y for _, _, y in tiles],
        "cuts": [pre_cut and z in CUT_ZOOMS for z, _, _ in tiles],
        "extent": EXTENT,
        "buffer": BUFFER,
        "margin": BUFFER / EXTENT,
    }


def _bodies(rows: Sequence[Sequence[Any]], n: int) -> list[bytes]:
    if len(rows) != n:
        raise RuntimeError(f"tile statement gave {len(rows)} rows for {n} tiles")
    return [bytes(tile or b"") for _, tile in rows]


def render_many(
    conn: psycopg.Connection,
    layer: VectorLayer,
    tiles: Sequence[Tile],
    *,
    pre_cut: bool = True,
    area: str | None = None,
) -> list[bytes]:
    """Each tile's bytes, in order (empty when no feature reaches it). Binary results: tiles
    arrive as raw bytes, not as hex text twice their size."""
    cur = conn.execute(layer.sql, params(tiles, pre_cut=pre_cut, area=area), binary=True)
    return _bodies(cur.fetchall(), len(tiles))


def render(
    conn: psycopg.Connection,
    layer: VectorLayer,
    z: int,
    x: int,
    y: int,
    *,
    pre_cut: bool = True,
    area: str | None = None,
) -> bytes:
    """One tile's bytes (empty when no feature reaches it)."""
    return render_many(conn, layer, [(z, x, y)], pre_cut=pre_cut, area=area)[0]


async def render_many_async(
    conn: psycopg.AsyncConnection,
    layer: VectorLayer,
    tiles: Sequence[Tile],
    area: str | None = None,
) -> list[bytes]:
    """:func:`render_many` on an autocommit async connection (api/tiles/batch.py)."""
    cur = await conn.execute(layer.sql, params(tiles, area=area), binary=True)
    return _bodies(await cur.fetchall(), len(tiles))


def bounds(conn: psycopg.Connection) -> dict[str, tuple[float, float, float, float]]:
    """Data extent (west, south, east, north) of every non-empty layer."""
    rows = conn.execute(SQL("tiles_bounds.sql")).fetchall()
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
