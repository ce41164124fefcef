"""Map tiles: vector tiles (MVT) of villages, townships, hazard points, shelters, stations,
issued warnings, rivers and county and city outlines; the rainfall grids as PNG tiles with their
legend and the time slider's periods; terrain heights as Terrarium PNG tiles (MapLibre
``raster-dem``); and TileJSON 3.0.0.

Conventions (documented for map clients):

* XYZ scheme, Web Mercator; z 0–24. A z/x/y that is not a number is 400; a tile outside the
  pyramid (x or y ≥ 2^z, z > 24) is 404.
* An empty vector tile is ``204 No Content`` (MapLibre and Mapbox GL draw nothing for it); an
  empty rain tile is a transparent PNG (raster sources need an image).
* ``ETag`` is a hash of the tile bytes; ``If-None-Match`` with it gives ``304``.
  ``Cache-Control`` is ``public`` for the public layers (below), ``private`` for the rest, 60 s.
* Auth: the warnings, rivers and counties layers and the terrain tiles are public (a public
  visitor's basemap; terrain is not sensitive) and the same for everyone. Every other layer
  (and the rain tiles, legend and periods) needs a viewer token, and a token bound to an area
  (a city or county, ``api/areas.py``) gets that area's features only: those tiles are cached
  per area (the area is part of the cache key), public ones once for all. Map clients cannot
  easily send a bearer header for tile requests, so tile and TileJSON requests also accept
  ``?token=…``; a TileJSON requested that way keeps the token in its tile URL template, so a
  MapLibre source pointed at the TileJSON URL just works. Nothing else in the API accepts tokens
  in the query string (they end up in logs and histories).
* No compression here: vector tiles compress well and a reverse proxy (gzip) is the usual place.
* Terrain tiles (``api/tiles/terrain.py``) are opaque 256-pixel Terrarium PNGs; outside the DEMs
  the nearest DEM edge's height continues flat (no cliff for the hillshade). A MapLibre style
  sets ``"encoding": "terrarium"`` and ``"tileSize": 256`` on its ``raster-dem`` source itself:
  the TileJSON carries both, but TileJSON has no field for a DEM encoding.
* Rain time slider: ``/tiles/rain/periods.json?product=qpe|qpf`` lists grids oldest first;
  ``?period=<valid_end>`` (as listed, UTC with ``Z``) on the rain tiles and legend draws exactly
  that grid.

The vector tile handler is ``async``: a tile found in the worker's cache (``api/tiles/cache.py``)
with a token check found in the worker's token cache (``api/auth.py``), both emptied by database
notifications, is answered without a thread or a query; a tile not found renders on the worker's
async connection pool (no thread). A token check or outline rebuild runs in a thread once for
all concurrent requests that need it. With the usual sync dependencies (connection, then
principal, then handler, each its own thread hop) 50 concurrent map clients filled the thread
pool with requests waiting for a connection while the requests holding connections waited for a
thread.

Every tile request passes the worker's admission first (``api/tiles/admission.py``): while a
write request runs in any worker of the instance, new tile requests wait (writes first, at most
``RISKMAP_TILE_WRITE_PAUSE_MS``); rain and terrain tiles, which hold a pooled connection and a
thread, run at most ``RISKMAP_TILE_CONCURRENCY`` at once per worker; beyond
``RISKMAP_TILE_QUEUE`` waiting requests the answer is 503 with ``Retry-After``.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from psycopg.rows import dict_row
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from riskmap.api.areas import scope
from riskmap.api.auth import known, lookup, unauthorised
from riskmap.api.deps import Connection
from riskmap.api.params import Instant
from riskmap.api.tiles import mvt, raster, terrain
from riskmap.api.tiles.access import (
    TILE_ERRORS,
    TOKEN_ERRORS,
    TilePrincipal,
    TileReader,
    Token,
    X,
    Y,
    Z,
    admit,
)
from riskmap.api.tiles.cache import CLOCK_LAYERS, TileCache
from riskmap.api.tiles.serving import (
    MAX_AGE,
    bearer_of,
    once,
    respond,
    start_cache,
    terrain_tiles,
    tile_xyz,
)

router = APIRouter(prefix="/tiles", tags=["tiles"])

MVT_TYPE = "application/vnd.mapbox-vector-tile"
RAIN = "rain"
TERRAIN = "terrain"


def _layer(layer: str) -> mvt.VectorLayer:
    found = mvt.LAYERS.get(layer)
    if found is None:
        known = ", ".join([*mvt.LAYERS, RAIN])
        raise HTTPException(404, f"no tile layer {layer!r}; layers: {known}")
    return found


def _base(request: Request) -> str:
    public_url = request.app.state.settings.public_url
    return (public_url or str(request.base_url)).rstrip("/")


def _with_token(url: str, token: str | None) -> str:
    return f"{url}?token={quote(token, safe='')}" if token else url


@router.get("", summary="Tile layers")
def layers(request: Request, token: Token) -> list[dict[str, Any]]:
    """Every tile layer: id, titles, vector or raster, whether public, TileJSON and tile URLs."""
    base = _base(request)
    out = [
        {
            "id": layer.id,
            "title_zh": layer.title_zh,
            "title_en": layer.title_en,
            "type": "vector",
            "public": layer.public,
            "tilejson": _with_token(f"{base}/tiles/{layer.id}.json", token),
            "tiles": _with_token(f"{base}/tiles/{layer.id}/{{z}}/{{x}}/{{y}}.mvt", token),
        }
        for layer in mvt.LAYERS.values()
    ]
    out.append(
        {
            "id": RAIN,
            "title_zh": "最新降水格点",
            "title_en": "latest rainfall grid",
            "type": "raster",
            "public": False,
            "tilejson": _with_token(f"{base}/tiles/{RAIN}.json", token),
            "tiles": _with_token(f"{base}/tiles/{RAIN}/{{z}}/{{x}}/{{y}}.png", token),
            "legend": f"{base}/tiles/{RAIN}/legend.json",
            "periods": f"{base}/tiles/{RAIN}/periods.json",
        }
    )
    out.append(
        {
            "id": TERRAIN,
            "title_zh": "地形（高程）",
            "title_en": "terrain heights",
            "type": "raster-dem",
            "encoding": "terrarium",
            "public": True,
            "tilejson": f"{base}/tiles/{TERRAIN}.json",
            "tiles": f"{base}/tiles/{TERRAIN}/{{z}}/{{x}}/{{y}}.png",
        }
    )
    return out


@router.get("/rain/legend.json", summary="Rainfall legend", responses={404: TILE_ERRORS[404]})
def rain_legend(
    conn: Connection,
    who: TileReader,
    period: Annotated[Instant | None, Query(description="grid period ending at or before")] = None,
    product: Literal["qpe", "qpf"] = "qpe",
) -> dict[str, Any]:
    """Classes (mm), colours and labels zh/en of the scale the rain tiles use for that grid."""
    return raster.legend(raster.find_grid(conn, product, period))


@router.get("/rain/periods.json", summary="Rainfall grid periods (time slider)")
def rain_periods(
    response: Response,
    conn: Connection,
    who: TileReader,
    product: Literal["qpe", "qpf"] = "qpe",
) -> list[raster.RainPeriod]:
    """The time slider's steps, oldest first: analyses (``qpe``) of the 24 h up to the latest,
    or every period of the latest forecast (``qpf``). Send a step's ``valid_end`` as
    ``?period=`` to the rain tiles and legend to draw exactly that grid. Empty: no grid."""
    response.headers["Cache-Control"] = f"private, max-age={MAX_AGE}"
    return raster.periods(conn, product)


@router.get(
    "/rain/{z}/{x}/{y}.png",
    summary="Rainfall grid tile (PNG)",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}} | TILE_ERRORS | TOKEN_ERRORS,
)
async def rain_tile(
    request: Request,
    z: Z,
    x: X,
    y: Y,
    period: Annotated[Instant | None, Query(description="grid period ending at or before")] = None,
    product: Literal["qpe", "qpf"] = "qpe",
    token: Annotated[str | None, Query(description="API token (map clients)")] = None,
) -> Response:
    """The latest (or ``period``'s) rainfall grid in the tile; dry and nodata transparent."""
    raw = bearer_of(request) or token
    if raw is None:
        admit(False, None)
    zi, xi, yi = tile_xyz(z, x, y)
    async with request.app.state.tile_admission.tile(raster=True):  # api/tiles/admission.py
        body = await run_in_threadpool(_rain_tile, request, raw, product, period, (zi, xi, yi))
    return respond(request, body, "image/png", public=False)


def _rain_tile(
    request: Request,
    raw_token: str,
    product: str,
    period: datetime | None,
    zxy: tuple[int, int, int],
) -> bytes:
    """Auth, grid lookup and rendering in one thread (see the module docstring)."""
    with request.app.state.pool.connection() as conn:
        conn.row_factory = dict_row
        admit(False, known(request, raw_token, conn))
        grid = raster.find_grid(conn, product, period)
    return raster.render(grid, *zxy)


@router.get(
    "/terrain/{z}/{x}/{y}.png",
    summary="Terrain heights tile (Terrarium PNG)",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}} | TILE_ERRORS,
)
async def terrain_tile(request: Request, z: Z, x: X, y: Y) -> Response:
    """Heights (m) = R × 256 + G + B / 256 − 32768, bilinear from the catalogued DEMs; beyond
    them the nearest edge's height. Public; for MapLibre's ``raster-dem`` source."""
    zxy = tile_xyz(z, x, y)
    tiles = terrain_tiles(request.app)
    async with request.app.state.tile_admission.tile(raster=True):  # api/tiles/admission.py
        key, body, dems = await run_in_threadpool(tiles.lookup, *zxy)
        if body is None:  # rendered once for every concurrent request of this tile
            render = partial(run_in_threadpool, tiles.render, key, dems)
            body = await once(request.app, (TERRAIN, key), render)
    return respond(request, body, "image/png", public=True)


@router.get("/terrain.json", summary="TileJSON 3.0.0 of the terrain tiles")
def terrain_tilejson(request: Request, conn: Connection) -> JSONResponse:
    """Bounds of the catalogued DEMs, ``maxzoom`` where a tile pixel is the finest DEM's cell,
    ``encoding: terrarium``, ``tileSize: 256``. Public."""
    url = f"{_base(request)}/tiles/{TERRAIN}/{{z}}/{{x}}/{{y}}.png"
    doc = terrain.tilejson(url, terrain.catalogue(conn))
    return JSONResponse(doc, headers={"Cache-Control": f"public, max-age={MAX_AGE}"})


@router.get("/{layer}.json", summary="TileJSON 3.0.0 of a layer", responses=TOKEN_ERRORS)
def tilejson(
    request: Request, conn: Connection, principal: TilePrincipal, layer: str, token: Token
) -> JSONResponse:
    """TileJSON with an absolute tile URL template (carrying ``?token=`` if it was given)."""
    base = _base(request)
    if layer == RAIN:
        admit(False, principal)
        grid = raster.find_grid(conn, "qpe", None)
        doc = raster.tilejson(
            _with_token(f"{base}/tiles/{RAIN}/{{z}}/{{x}}/{{y}}.png", token), grid
        )
        return JSONResponse(doc, headers={"Cache-Control": "private, max-age=60"})
    found = _layer(layer)
    admit(found.public, principal)
    mvt.ensure_fresh(conn, request.app.state)
    url = _with_token(f"{base}/tiles/{found.id}/{{z}}/{{x}}/{{y}}.mvt", token)
    doc = mvt.tilejson(found, url, mvt.bounds(conn).get(found.id))
    scope = "public" if found.public else "private"
    return JSONResponse(doc, headers={"Cache-Control": f"{scope}, max-age={MAX_AGE}"})


async def _render(app, cache: TileCache, found: mvt.VectorLayer, key, generation: int) -> bytes:
    if cache.outlines_stale or not cache.active:
        await once(app, "outlines", partial(run_in_threadpool, _refresh_outlines, app))
    area = None if found.public else key[-1]  # see _vector_tile: the area ends the key
    body = await app.state.tile_batcher.render(found, *key[1:4], area)
    cache.put(key, body, generation)
    return body


def _learn_expiry(app, cache: TileCache) -> None:
    with app.state.pool.connection() as conn:
        cache.learn_expiry(conn)


def _refresh_outlines(app) -> None:
    with app.state.pool.connection() as conn:
        mvt.ensure_fresh(conn, app.state)


@router.get(
    "/{layer}/{z}/{x}/{y}.mvt",
    summary="Vector tile (MVT)",
    response_class=Response,
    responses={200: {"content": {MVT_TYPE: {}}}, 204: {"description": "empty tile"}}
    | TILE_ERRORS
    | TOKEN_ERRORS,
)
async def vector_tile(
    request: Request,
    layer: str,
    z: Z,
    x: X,
    y: Y,
    token: Annotated[str | None, Query(description="API token (map clients)")] = None,
) -> Response:
    """One Mapbox Vector Tile (extent 4096, buffer 64) of ``layer``.

    Send the token as ``Authorization: Bearer …`` or ``?token=…`` (not public layers)."""
    return await _vector_tile(request, layer, z, x, y, token)


async def _vector_tile(request: Request, layer: str, z: str, x: str, y: str, token: str | None):
    # writes first: none of this worker's time goes to tiles while it serves a write
    async with request.app.state.tile_admission.tile():  # api/tiles/admission.py
        return await _admitted_vector_tile(request, layer, z, x, y, token)


async def _admitted_vector_tile(
    request: Request, layer: str, z: str, x: str, y: str, token: str | None
) -> Response:
    found = _layer(layer)
    raw = bearer_of(request) or token
    if not found.public and raw is None:
        admit(False, None)
    key: tuple = (found.id, *tile_xyz(z, x, y))
    app = request.app
    cache = getattr(app.state, "tile_cache", None)
    if cache is None:
        cache = await run_in_threadpool(start_cache, app)
    if found.id in CLOCK_LAYERS and cache.active and not cache.clock_fresh():
        # warnings end by the clock, not only by a write that notifies: the cache drops these
        # layers when the next one ends (api/tiles/cache.py)
        await once(app, "warning-expiry", partial(run_in_threadpool, _learn_expiry, app, cache))
    if not found.public:
        tokens = getattr(app.state, "tokens", None)  # api/auth.py: every route's token checks
        principal = tokens.cached(raw) if tokens is not None else None
        if principal is None:
            check = partial(run_in_threadpool, lookup, app, raw)
            principal = await once(app, ("token", raw), check)
            if principal is None:
                raise unauthorised("token unknown, revoked or expired")
        request.state.user = principal.name
        admit(False, principal)
        # a county's tiles are not its city's: area-restricted layers are cached per area
        key += (scope(principal),)
    body = cache.get(key)
    if body is None:
        # a render started after a change to its layer is a new one (api/tiles/cache.py)
        generation = cache.generation(found.id)
        render = partial(_render, app, cache, found, key, generation)
        body = await once(app, ("tile", key, generation), render)
    return respond(request, body, MVT_TYPE, found.public)


VECTOR_TILE_PATH = f"{router.prefix}/{{layer}}/{{z}}/{{x}}/{{y}}.mvt"


class _PlainVectorTile:
    """:func:`vector_tile` as a plain ASGI app, routed in front of FastAPI's route for it.

    Why: FastAPI's per-route machinery (parameter solving and validation, the request wrapper,
    matching past every other route) cost as much CPU as serving a cached tile; map clients
    send tens of tile requests per screen. The FastAPI route stays for the OpenAPI document;
    the middleware (request ids, metrics, logs) and exception handlers are the app's own."""

    async def __call__(self, scope, receive, send) -> None:
        scope["route"] = ROUTE  # for the metrics' route label, as FastAPI sets it
        request = Request(scope, receive)
        p = scope["path_params"]
        token = request.query_params.get("token")
        response = await _vector_tile(request, p["layer"], p["z"], p["x"], p["y"], token)
        await response(scope, receive, send)


ROUTE = Route(VECTOR_TILE_PATH, _PlainVectorTile(), methods=["GET"], name="vector_tile_plain")


def route_vector_tiles_first(app) -> None:
    """Put the plain vector tile route ahead of every other route of ``app``."""
    app.router.routes.insert(0, ROUTE)
