"""How vector tiles are rendered: outlines pre-cut per tile (0024) give the same bytes as
outlines clipped live; batched statements give each tile's own bytes in order; the batcher
renders concurrent requests together, collapses nothing it should not, and hands every waiting
request its error instead of leaving it hanging. Real PostGIS (the service's database)."""

from __future__ import annotations

import asyncio
import time

import httpx
import morecantile
import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from psycopg_pool import AsyncConnectionPool

from riskmap.api.tiles import mvt
from riskmap.api.tiles.batch import MAX_BATCH, TileBatcher
from riskmap.api.tiles.cache import TileCache
from tests.api.test_tiles import (
    FLIP_RISK,
    HAZARDS,
    MAYANG,
    _county_bounds,
    _decode,
    _villages_near,
    fresh_minute,
    minute_left,
)
from tests.dispatch.delivery_setup import wait_until

TMS = morecantile.tms.get("WebMercatorQuad")


def _county_tiles(db_url: str, zooms: range) -> list[morecantile.Tile]:
    """Tiles over the demo county (its outlines built first, as the tile service does)."""
    with psycopg.connect(db_url) as conn:
        conn.execute("SELECT tile_refresh_pending()")
        conn.commit()
    tiles = list(TMS.tiles(*_county_bounds(db_url), zooms=list(zooms)))
    return [t for i, t in enumerate(tiles) if t.z <= 12 or i % 3 == 0]  # fewer at z13–14


@pytest.mark.parametrize("layer", ["villages", "townships"])
def test_pre_cut_tiles_are_the_live_tiles(service, layer: str) -> None:
    """Every county tile at zooms 4–14 from tile_cut equals the one clipped live, byte for
    byte (same outline, envelope, extent and buffer), and most of them hold features."""
    tiles = _county_tiles(service.db_url, mvt.CUT_ZOOMS)
    found = mvt.LAYERS[layer]
    with psycopg.connect(service.db_url, autocommit=True) as conn:
        cut = mvt.render_many(conn, found, [(t.z, t.x, t.y) for t in tiles])
        live = mvt.render_many(conn, found, [(t.z, t.x, t.y) for t in tiles], pre_cut=False)
        rows = conn.execute(
            "SELECT count(*), count(DISTINCT z) FROM tile_cut c JOIN admin_unit a USING (code)"
            " WHERE a.gb2260 = %s AND c.level = %s",
            [MAYANG, layer.removesuffix("s")],
        ).fetchone()
    assert len(tiles) > 100
    assert sum(bool(b) for b in cut) > len(tiles) // 2
    assert [i for i, (a, b) in enumerate(zip(cut, live, strict=True)) if a != b] == []
    assert rows[0] > len(tiles) and rows[1] == len(mvt.CUT_ZOOMS)


def test_pre_cut_follows_a_changed_outline(service) -> None:
    """A rebuilt county gives the changed village's new cut, still equal to the live tile
    (rolled back)."""
    with psycopg.connect(service.db_url) as conn:
        code, lon, lat = conn.execute(
            "SELECT code, ST_X(label_point), ST_Y(label_point) FROM village ORDER BY code LIMIT 1"
        ).fetchone()
        t = TMS.tile(lon, lat, 13)
        before = conn.execute(
            "SELECT ST_AsBinary(geom) FROM tile_cut WHERE (z, x, y, code) = (13, %s, %s, %s)",
            [t.x, t.y, code],
        ).fetchone()
        conn.execute(
            "UPDATE admin_unit SET geom = ST_Multi(ST_Envelope(ST_Buffer(label_point, 0.002)))"
            " WHERE code = %s",
            [code],
        )
        conn.execute("SELECT tile_refresh_pending()")
        after = conn.execute(
            "SELECT ST_AsBinary(geom), ST_NPoints(geom) FROM tile_cut"
            " WHERE (z, x, y, code) = (13, %s, %s, %s)",
            [t.x, t.y, code],
        ).fetchone()
        village = mvt.LAYERS["villages"]
        cut = mvt.render(conn, village, 13, t.x, t.y)
        live = mvt.render(conn, village, 13, t.x, t.y, pre_cut=False)
        conn.rollback()
    assert before is not None and after is not None
    assert bytes(after[0]) != bytes(before[0]) and after[1] == 5  # the envelope's ring
    assert cut == live


def test_batched_statement_gives_each_tile_in_order(service) -> None:
    """Mixed zooms, empty tiles and a repeated tile in one statement: each result equals the
    tile rendered alone, in the order asked."""
    tiles = [(t.z, t.x, t.y) for t in _county_tiles(service.db_url, range(8, 13))][:40]
    far = [(12, 0, 0), (14, 100, 100)]  # nothing there
    asked = far[:1] + tiles + far[1:] + tiles[:3]
    with psycopg.connect(service.db_url, autocommit=True) as conn:
        for layer in mvt.LAYERS.values():
            together = mvt.render_many(conn, layer, asked)
            alone = [mvt.render(conn, layer, *t) for t in asked]
            assert together == alone, layer.id
        villages = mvt.render_many(conn, mvt.LAYERS["villages"], asked)
    assert villages[0] == b"" and villages[len(tiles) + 1] == b""
    assert sum(bool(b) for b in villages) >= len(tiles) // 2


async def _render_all(db_url: str, asked: list[tuple[str, tuple[int, int, int]]], size: int):
    async with AsyncConnectionPool(
        db_url, min_size=size, max_size=size, kwargs={"autocommit": True}
    ) as pool:
        batcher = TileBatcher(pool)
        jobs = [batcher.render(mvt.LAYERS[layer], *t) for layer, t in asked]
        results = await asyncio.wait_for(asyncio.gather(*jobs, return_exceptions=True), 60)
        return results, batcher


def test_batcher_renders_concurrent_requests_together(service) -> None:
    """200 concurrent requests over two layers on two connections: every one gets its own
    tile, in far fewer statements than tiles; low-zoom tiles go alone."""
    tiles = [(t.z, t.x, t.y) for t in _county_tiles(service.db_url, range(9, 14))][:100]
    asked = [("villages", t) for t in tiles] + [("townships", t) for t in tiles]
    results, batcher = asyncio.run(_render_all(service.db_url, asked, 2))
    with psycopg.connect(service.db_url, autocommit=True) as conn:
        expected = [mvt.render(conn, mvt.LAYERS[layer], *t) for layer, t in asked]
    assert results == expected
    heavy = sum(t[0] <= 10 for _, t in asked)
    assert batcher.statements < len(asked) // 3
    assert batcher.statements >= heavy  # each low-zoom tile in a statement of its own
    assert batcher.largest_batch <= MAX_BATCH
    assert batcher.idle


def test_batcher_hands_errors_to_every_waiting_request(service) -> None:
    """A database without PostGIS or the tile tables: every one of the concurrent requests
    fails with the database's error, none hangs, and the batcher is idle afterwards."""
    postgres = make_conninfo(service.db_url, dbname="postgres")
    tiles = [(t.z, t.x, t.y) for t in _county_tiles(service.db_url, range(11, 13))][:30]
    started = time.monotonic()
    results, batcher = asyncio.run(_render_all(postgres, [("villages", t) for t in tiles], 2))
    assert time.monotonic() - started < 30
    assert len(results) == len(tiles) > 20
    assert all(isinstance(r, psycopg.errors.UndefinedFunction) for r in results), results[:3]
    assert batcher.idle


def test_tile_cache_of_zero_bytes_keeps_nothing(service) -> None:
    """RISKMAP_TILE_CACHE_MB=0: every request renders (behind a pooler without LISTEN, or to
    measure rendering); a sized cache keeps the tile."""
    caches = [TileCache(service.db_url, max_bytes=0), TileCache(service.db_url)]
    try:
        for cache in caches:
            cache.start()
            assert cache.active
            cache.put(("villages", 12, 1, 1), b"tile", cache.generation())
        assert caches[0].get(("villages", 12, 1, 1)) is None
        assert caches[1].get(("villages", 12, 1, 1)) == b"tile"
    finally:
        for cache in caches:
            cache.stop()


def test_plain_tile_route_keeps_ids_metrics_docs_and_errors(service) -> None:
    """Tiles are served by a plain ASGI route ahead of FastAPI's: the app's request ids,
    metrics (labelled with the route), error bodies and the OpenAPI entry all still hold."""
    from tests.api.test_operations import requests_of, scrape

    route = "/tiles/{layer}/{z}/{x}/{y}.mvt"
    t = _county_tiles(service.db_url, range(12, 13))[0]
    with service.client("viewer") as c:
        before = scrape(c)
        ok = c.get(f"/tiles/villages/12/{t.x}/{t.y}.mvt", headers={"X-Request-ID": "tile-req-1"})
        after = scrape(c)
        missing = c.get("/tiles/roads/12/1/1.mvt")
        bad = c.get("/tiles/villages/12/x/1.mvt")
        docs = c.get("/openapi.json").json()
    anonymous = service.client().get(f"/tiles/villages/12/{t.x}/{t.y}.mvt")
    assert ok.status_code in (200, 204) and ok.headers["x-request-id"] == "tile-req-1"
    status = str(ok.status_code)
    assert requests_of(after, route, status) >= requests_of(before, route, status) + 1
    assert missing.status_code == 404 and "roads" in missing.json()["detail"]
    assert bad.status_code == 400 and "whole numbers" in bad.json()["detail"]
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
    assert "get" in docs["paths"][route]
    assert {p["name"] for p in docs["paths"][route]["get"]["parameters"]} >= {"layer", "token"}


def _villages_of(body: bytes) -> dict[str, dict]:
    """The decoded villages layer of a tile: each village's properties by code."""
    if not body:
        return {}
    return {f["properties"]["code"]: f["properties"] for f in _decode(body)["villages"]["features"]}


def _risk_shown(props: dict[str, dict], levels: dict[tuple[str, str], int]) -> bool:
    """Do the tile's villages carry exactly these risk levels (per hazard, and their maximum)?"""
    for code, p in props.items():
        mine = [levels[(code, h)] for h in HAZARDS if (code, h) in levels]
        if [p.get(h) for h in HAZARDS] != [levels.get((code, h)) for h in HAZARDS]:
            return False
        if p.get("risk") != (max(mine) if mine else None):
            return False
    return True


async def _fetch_at_once(service, tiles: list) -> list[tuple]:
    """Every tile asked at once (one connection each), so that renders queue and batch."""
    headers = {"Authorization": f"Bearer {service.tokens['viewer']}"}
    limits = httpx.Limits(max_connections=len(tiles))
    async with httpx.AsyncClient(
        base_url=service.base_url, headers=headers, timeout=60, limits=limits
    ) as c:

        async def one(t):
            r = await c.get("/tiles/villages/{}/{}/{}.mvt".format(*t))
            return t, r.status_code, r.content

        return await asyncio.gather(*(one(t) for t in tiles))


def test_concurrent_requests_after_a_change_get_the_right_tiles(service) -> None:
    """60 clients at once right after a data change, several on each tile: every answer shows
    the risk levels the test changed (by hand: 1↔4, 2↔3), holds the villages of its own tile, and
    is the tile PostgreSQL renders for it (collapsed and batched renders hand out no wrong or
    stale bytes). The tiles were cached before the change."""
    from concurrent.futures import ThreadPoolExecutor

    tiles = [(t.z, t.x, t.y) for t in _county_tiles(service.db_url, range(10, 14))][:20]
    w, s, e, n = _county_bounds(service.db_url)
    sentinel = TMS.tile((w + e) / 2, (s + n) / 2, 9)  # not among the tiles; cached as well

    def fetch(t):
        with service.client("viewer") as c:
            r = c.get("/tiles/villages/{}/{}/{}.mvt".format(*t))
            return t, r.status_code, r.content

    def sentinel_shows(levels) -> bool:
        return _risk_shown(_villages_of(fetch((9, sentinel.x, sentinel.y))[2]), levels)

    with psycopg.connect(service.db_url, autocommit=True) as conn:
        codes = sorted(  # the villages the tiles show, by PostGIS's tile envelopes and buffer
            {
                c
                for z, x, y in tiles
                for c in _villages_near(service.db_url, morecantile.Tile(x, y, z), 64 / 4096)
            }
        )
        old = {
            (v, h): level
            for v, h, level in conn.execute(
                "SELECT village_code, hazard, risk_level FROM village_risk"
            ).fetchall()
        }
        flipped = {key for key in old if key[0] in codes}
        # by hand, what FLIP_RISK makes of the levels of those villages: 1↔4, 2↔3
        new = {key: 5 - level if key in flipped else level for key, level in old.items()}
        assert flipped and all(new[k] != old[k] for k in flipped)
        fresh_minute()  # every wait below ends before the tiles' minute does
        wait_until(lambda: sentinel_shows(old), minute_left(), "the stored risk, sentinel")
        with ThreadPoolExecutor(8) as pool:  # every tile cached with the levels before
            before = {t: body for t, _, body in pool.map(fetch, tiles)}
        assert all(_risk_shown(_villages_of(b), old) for b in before.values())
        conn.execute(FLIP_RISK, {"codes": codes})
        try:
            # the commit's notification empties the workers' caches: the cached sentinel shows it
            wait_until(lambda: sentinel_shows(new), minute_left(), "the flipped risk, sentinel")
            got = asyncio.run(_fetch_at_once(service, [t for t in tiles for _ in range(3)]))
            expected = {t: mvt.render(conn, mvt.LAYERS["villages"], *t) for t in tiles}
        finally:
            conn.execute(FLIP_RISK, {"codes": codes})
            wait_until(lambda: sentinel_shows(old), 30, "the restored risk on the sentinel tile")
    assert len(got) == 60
    for t, status, body in got:
        props = _villages_of(body)
        tile = morecantile.Tile(t[1], t[2], t[0])
        inside = _villages_near(service.db_url, tile, 0.0)
        near = _villages_near(service.db_url, tile, 64 / 4096)
        assert status == (200 if props else 204), t  # 204: no village there
        assert inside <= set(props) <= near, t  # this tile's villages
        assert _risk_shown(props, new), t  # the changed levels, none stale
        assert body != before[t] or not set(props) & {v for v, _ in flipped}, t
        assert body == expected[t], t


def test_tile_connections_use_generic_plans(service) -> None:
    """The tile pool's connections are configured with a SET (poolers refuse startup options)."""
    from riskmap.api.app import _generic_plans

    async def mode() -> str:
        async with await psycopg.AsyncConnection.connect(service.db_url, autocommit=True) as c:
            await _generic_plans(c)
            return (await (await c.execute("SHOW plan_cache_mode")).fetchone())[0]

    assert asyncio.run(mode()) == "force_generic_plan"
