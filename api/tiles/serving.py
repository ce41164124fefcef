"""What the tile routes share: the HTTP answer (ETag, 304, 204), the bearer header read
directly, the worker's caches made on first use, and request collapsing."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from fastapi import HTTPException, Request, Response

from riskmap.api.tiles import mvt, terrain
from riskmap.api.tiles.cache import TileCache

MAX_AGE = 60


def respond(request: Request, body: bytes, media_type: str, public: bool) -> Response:
    """200 with ETag and Cache-Control, 304 when the client holds these bytes, 204 if empty."""
    scope = "public" if public else "private"
    headers = {"Cache-Control": f"{scope}, max-age={MAX_AGE}", "Vary": "Authorization"}
    if not body:
        return Response(status_code=204, headers=headers)
    etag = '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
    headers["ETag"] = etag
    sent = request.headers.get("if-none-match", "")
    if etag in {t.strip().removeprefix("W/") for t in sent.split(",")} or sent.strip() == "*":
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


_TERRAIN_LOCK = threading.Lock()  # not _CACHE_LOCK: held while a listener starts (seconds)


def terrain_tiles(app) -> terrain.TerrainTiles:
    """The worker's terrain tiles (made on first use; called on the event loop: never waits)."""
    tiles = getattr(app.state, "terrain_tiles", None)
    if tiles is not None:
        return tiles
    with _TERRAIN_LOCK:
        tiles = getattr(app.state, "terrain_tiles", None)
        if tiles is None:
            megabytes = app.state.settings.tile_cache_mb
            tiles = terrain.TerrainTiles(app.state.pool, max_bytes=megabytes * 1024 * 1024)
            app.state.terrain_tiles = tiles
            if getattr(app.state, "tile_flights", None) is None:
                app.state.tile_flights = {}
        return tiles


_CACHE_LOCK = threading.Lock()


def start_cache(app) -> TileCache:
    """The worker's vector tile cache, listening from its first use."""
    with _CACHE_LOCK:
        cache = getattr(app.state, "tile_cache", None)
        if cache is None:
            megabytes = app.state.settings.tile_cache_mb
            cache = TileCache(app.state.database_url, max_bytes=megabytes * 1024 * 1024)
            cache.start()
            if getattr(app.state, "tile_flights", None) is None:
                app.state.tile_flights = {}
            app.state.tile_cache = cache
        return cache


async def once(app, key: Hashable, start: Callable[[], Awaitable[Any]]) -> Any:
    """Await ONE run of ``start()`` for every concurrent request with the same key.

    Request collapsing, as tile caches do it: after a change empties the cache, 50 map clients
    cycling over the county ask for each tile again long before its first render is back; each
    asking rendered it anew, the renders queued behind their own duplicates and p99 reached
    0.3–1.8 s. Likewise fifty identical token checks at start-up or when a cached check
    expires."""
    flights: dict[Hashable, asyncio.Future] = app.state.tile_flights
    running = flights.get(key)
    if running is None:
        running = asyncio.ensure_future(start())
        flights[key] = running

        def landed(done: asyncio.Future) -> None:
            if flights.get(key) is done:
                del flights[key]

        running.add_done_callback(landed)
    return await asyncio.shield(running)  # one caller giving up does not cancel the others


def bearer_of(request: Request) -> str | None:
    """The bearer token of the Authorization header (read directly: the hottest route)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def tile_xyz(z: str, x: str, y: str) -> tuple[int, int, int]:
    """z/x/y of a tile URL: 400 when not whole numbers, 404 outside the tile grid."""
    try:
        zi, xi, yi = int(z), int(x), int(y)
    except ValueError:
        raise HTTPException(400, "z, x and y must be whole numbers") from None
    if not mvt.valid_tile(zi, xi, yi):
        raise HTTPException(404, f"no tile {zi}/{xi}/{yi}: x and y run from 0 to 2^z − 1")
    return zi, xi, yi
