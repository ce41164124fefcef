"""The vector tile cache drops only what a change reaches, and renders each missed tile once.

Over the real test server (its app's own cache and batcher, in this process) and its real
PostGIS database: notifications of migration 0054 name the changed table and the box of the
changed rows; concurrent misses of one tile share one render, unless a notification for the
layer came in between (then the later ones render anew: never a tile older than a notified
change)."""

from __future__ import annotations

import asyncio
import random
import re
import time

import httpx
import morecantile
import psycopg

from riskmap.api.tiles import mvt
from riskmap.api.tiles.cache import DRAWN_FROM, MARGIN, parse_notice, tile_touches
from tests.api.test_tiles import _county_bounds, _decode, fresh_minute, minute_left
from tests.dispatch.delivery_setup import wait_until

TMS = morecantile.tms.get("WebMercatorQuad")
FLIP = "UPDATE village_risk SET risk_level = 5 - risk_level WHERE village_code = %s"


def _notices(conn: psycopg.Connection, wait: float = 0.5) -> list[str]:
    return [n.payload for n in conn.notifies(timeout=wait, stop_after=20)]


def _village_box(db_url: str, code: str) -> tuple[float, float, float, float]:
    """The village's outline box in EPSG:3857, by PostGIS (transforming the outline itself)."""
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT ST_XMin(g), ST_YMin(g), ST_XMax(g), ST_YMax(g)"
            " FROM (SELECT ST_Transform(geom, 3857) AS g FROM admin_unit WHERE code = %s) x",
            [code],
        ).fetchone()


def _centre_village(db_url: str) -> str:
    w, s, e, n = _county_bounds(db_url)
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT r.village_code FROM village_risk r JOIN admin_unit a ON a.code = r.village_code"
            " ORDER BY a.geom <-> ST_SetSRID(ST_MakePoint(%s, %s), 4326) LIMIT 1",
            [(w + e) / 2, (s + n) / 2],
        ).fetchone()[0]


def _tiles_meeting(db_url: str, code: str, z: int, margin: float) -> set[tuple[int, int, int]]:
    """Tiles at ``z`` whose envelope widened by ``margin`` meets the village's outline (PostGIS)."""
    w, s, e, n = _county_bounds(db_url)
    with psycopg.connect(db_url) as conn:
        return {
            (t.z, t.x, t.y)
            for t in TMS.tiles(w, s, e, n, zooms=[z])
            if conn.execute(
                "SELECT ST_Intersects(ST_Transform(geom, 3857),"
                " ST_TileEnvelope(%s, %s, %s, margin => %s)) FROM admin_unit WHERE code = %s",
                [t.z, t.x, t.y, margin, code],
            ).fetchone()[0]
        }


# -- what the notifications say ------------------------------------------------------------------


def test_layers_drawn_from_each_table_match_their_sql() -> None:
    """DRAWN_FROM against the layers' SQL text: a layer is dropped for a table iff its SQL reads
    that table (a layer that reads a table without being dropped would serve stale tiles)."""
    for layer in mvt.LAYERS.values():
        sql = re.sub(r"--[^\n]*", "", layer.sql)  # comments name tables they do not read
        for table, layers in DRAWN_FROM.items():
            reads = re.search(rf"\b{table}\b", sql) is not None
            assert reads == (layer.id in layers), (layer.id, table)


def test_tile_touches_agrees_with_postgis(conn: psycopg.Connection) -> None:
    """Brute force against ST_TileEnvelope(margin) && box for random tiles and boxes; the old
    whole-table payloads still parse as 'drop the layers whole', unknown tables as nothing."""
    rng = random.Random(19)
    w, s, e, n = 109.5, 27.6, 110.0, 28.1  # around the demo county
    cases = []
    for _ in range(400):
        z = rng.randint(6, 16)
        t = TMS.tile(rng.uniform(w, e), rng.uniform(s, n), z)
        b = TMS.xy_bounds(t)
        size = b.right - b.left
        cx = rng.uniform(b.left - size / 2, b.right + size / 2)
        cy = rng.uniform(b.bottom - size / 2, b.top + size / 2)
        half = rng.uniform(0, size / 4)
        cases.append((t.z, t.x, t.y, (cx - half, cy - half / 2, cx + half, cy + half / 2)))
    got = [tile_touches(z, x, y, box) for z, x, y, box in cases]
    expected = [
        conn.execute(
            "SELECT ST_TileEnvelope(%s, %s, %s, margin => %s) && ST_MakeEnvelope(%s, %s, %s, %s)",
            [z, x, y, MARGIN, *box],
        ).fetchone()[0]
        for z, x, y, box in cases
    ]
    assert got == expected
    assert 50 < sum(got) < 350  # both answers were tried
    assert parse_notice("tiles:warning") == (frozenset({"villages", "warnings"}), None)
    assert parse_notice("tiles:shelter:1,2,3,x") == (frozenset({"shelters"}), None)
    assert parse_notice("tiles:shelter:1,2,3,4") == (frozenset({"shelters"}), (1, 2, 3, 4))
    assert parse_notice("tiles:no_such_table:1,2,3,4") is None  # the cache drops everything
    assert parse_notice("tokens") is None and parse_notice("tiles") is None


def test_notifications_name_the_table_and_the_changed_box(service) -> None:
    """A drawn change sends its table and its rows' box (the village outline's, by PostGIS);
    an update of what no tile draws sends nothing; the other payloads keep their meaning."""
    code = _centre_village(service.db_url)
    with (
        psycopg.connect(service.db_url, autocommit=True) as listener,
        psycopg.connect(service.db_url, autocommit=True) as conn,
    ):
        listener.execute("LISTEN riskmap_tiles")
        conn.execute("UPDATE village_risk SET computed_at = now() WHERE village_code = %s", [code])
        quiet = _notices(listener)
        conn.execute(FLIP, [code])
        try:
            flipped = _notices(listener)
        finally:
            conn.execute(FLIP, [code])
        _notices(listener)
        conn.execute("UPDATE warning SET status = status WHERE false")
        warned = _notices(listener)
        conn.execute("UPDATE hazard_point SET name = name WHERE false")
        nothing = _notices(listener)
        conn.execute(
            "UPDATE shelter SET name = name WHERE id = (SELECT id FROM shelter ORDER BY id LIMIT 1)"
        )
        shelter = _notices(listener)
        box = conn.execute(
            "SELECT ST_X(g), ST_Y(g) FROM (SELECT ST_Transform(geom, 3857) AS g FROM shelter"
            " ORDER BY id LIMIT 1) s"
        ).fetchone()
    assert quiet == []
    assert len(flipped) == 1 and flipped[0].startswith("tiles:village_risk:")
    sent = [float(v) for v in flipped[0].split(":")[2].split(",")]
    assert sent == pytest_approx(_village_box(service.db_url, code))
    assert warned == ["tiles:warning"]
    assert nothing == []  # no row changed: no tile can have
    assert len(shelter) == 1 and shelter[0].startswith("tiles:shelter:")
    xmin, ymin, xmax, ymax = (float(v) for v in shelter[0].split(":")[2].split(","))
    assert (xmin, ymin) == pytest_approx(box) and (xmax, ymax) == pytest_approx(box)


def pytest_approx(values):
    import pytest

    return pytest.approx(list(values), abs=0.01)  # metres: a float rounding, nothing more


# -- over the server -----------------------------------------------------------------------------


def _get(service, layer: str, t: tuple[int, int, int]) -> httpx.Response:
    with service.client("viewer") as c:
        r = c.get(f"/tiles/{layer}/{t[0]}/{t[1]}/{t[2]}.mvt")
    assert r.status_code in (200, 204), r.text
    return r


def test_a_change_drops_its_own_tiles_and_no_other(service) -> None:
    """A village's risk change drops the village tiles it touches (PostGIS's tile envelopes) and
    keeps the village tiles elsewhere and the shelter tiles; a shelter change then drops the
    shelter tile around it and leaves the village tiles."""
    code = _centre_village(service.db_url)
    touched = _tiles_meeting(service.db_url, code, 13, 64 / 4096)  # the tiles that draw it
    w, s, e, n = _county_bounds(service.db_url)
    far = [(t.z, t.x, t.y) for t in TMS.tiles(w, s, e, n, zooms=[13])]
    far = [t for t in far if t not in _tiles_meeting(service.db_url, code, 13, 0.25)][:6]
    with psycopg.connect(service.db_url) as conn:
        sx, sy = conn.execute(
            "SELECT ST_X(geom), ST_Y(geom) FROM shelter ORDER BY id LIMIT 1"
        ).fetchone()
    shelter_tile = TMS.tile(sx, sy, 12)
    shelter_tile = (shelter_tile.z, shelter_tile.x, shelter_tile.y)
    assert touched and len(far) == 6
    fresh_minute()  # the village tiles' cache key changes each minute
    for t in [*touched, *far]:
        _get(service, "villages", t)
    _get(service, "shelters", shelter_tile)
    cache = service.app.state.tile_cache
    assert all(cache.holds("villages", *t) for t in [*touched, *far])
    assert cache.holds("shelters", *shelter_tile)
    with psycopg.connect(service.db_url, autocommit=True) as conn:
        conn.execute(FLIP, [code])
        try:
            wait_until(
                lambda: not any(cache.holds("villages", *t) for t in touched),
                minute_left(),
                "the changed village's tiles dropped",
            )
            kept_villages = [cache.holds("villages", *t) for t in far]
            kept_shelters = cache.holds("shelters", *shelter_tile)
        finally:
            conn.execute(FLIP, [code])
        conn.execute(
            "UPDATE shelter SET name = name WHERE id = (SELECT id FROM shelter ORDER BY id LIMIT 1)"
        )
        wait_until(
            lambda: not cache.holds("shelters", *shelter_tile), 10, "the shelter tile dropped"
        )
        after_shelter = [cache.holds("villages", *t) for t in far]
    assert kept_villages == [True] * 6
    assert kept_shelters
    assert after_shelter == [True] * 6


def _flights_of(app, layer: str, t: tuple[int, int, int]) -> list:
    return [k for k in app.state.tile_flights if k[0] == "tile" and k[1][:4] == (layer, *t)]


async def _ask_at_once(service, path: str, n: int) -> list[asyncio.Task]:
    headers = {"Authorization": f"Bearer {service.tokens['viewer']}"}
    client = httpx.AsyncClient(
        base_url=service.base_url,
        headers=headers,
        timeout=60,
        limits=httpx.Limits(max_connections=n),
    )
    return client, [asyncio.ensure_future(client.get(path)) for _ in range(n)]


def test_concurrent_misses_render_once_and_a_notice_starts_a_new_render(service) -> None:
    """20 requests for one uncached tile while its render is held up in PostgreSQL (a lock on
    village_risk): one render. A notification for the layer meanwhile (a warning statement):
    the 20 asking after it do not join the render that started before it; they render once
    more, and only that second render is kept in the cache."""
    app = service.app
    batcher = app.state.tile_batcher
    code = _centre_village(service.db_url)
    # a z15 tile over that village: no other test asks for it
    x0, y0, x1, y1 = _village_box(service.db_url, code)
    tile = TMS.tile(*TMS.lnglat((x0 + x1) / 2, (y0 + y1) / 2), 15)
    t = (tile.z, tile.x, tile.y)
    path = f"/tiles/villages/{t[0]}/{t[1]}/{t[2]}.mvt"
    cache = app.state.tile_cache

    async def scenario() -> tuple[int, int, int, list[int], list[int], bool, bool]:
        locker = await psycopg.AsyncConnection.connect(service.db_url)
        notifier = await psycopg.AsyncConnection.connect(service.db_url, autocommit=True)
        try:
            await locker.execute("LOCK TABLE village_risk IN ACCESS EXCLUSIVE MODE")
            rendered = batcher.rendered
            before = cache.generation("villages")
            first_client, first = await _ask_at_once(service, path, 20)
            await _wait(lambda: len(_flights_of(app, "villages", t)) == 1)
            await asyncio.sleep(0.3)  # every request in: they wait for that render
            one_flight = len(_flights_of(app, "villages", t))
            await notifier.execute("UPDATE warning SET status = status WHERE false")
            await _wait(lambda: cache.generation("villages") != before)
            second_client, second = await _ask_at_once(service, path, 20)
            await _wait(lambda: len(_flights_of(app, "villages", t)) == 2)
            await asyncio.sleep(0.3)
            two_flights = len(_flights_of(app, "villages", t))
            held = cache.holds("villages", *t)
            await locker.rollback()  # the renders go on
            a = await asyncio.gather(*first)
            b = await asyncio.gather(*second)
            await first_client.aclose()
            await second_client.aclose()
            return (
                one_flight,
                two_flights,
                batcher.rendered - rendered,
                [r.status_code for r in a],
                [r.status_code for r in b],
                held,
                cache.holds("villages", *t),
            )
        finally:
            await locker.close()
            await notifier.close()

    fresh_minute()
    one_flight, two_flights, renders, a, b, held, kept = asyncio.run(scenario())
    assert one_flight == 1 and two_flights == 2
    assert renders == 2  # 40 misses: one render before the notice, one after
    assert a == [200] * 20 and b == [200] * 20
    assert not held and kept  # the first render was thrown away, the second kept


async def _wait(check, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def test_a_cached_tile_drops_a_warning_the_moment_it_ends(service) -> None:
    """A warning in force for a few more seconds is drawn, from the cache; once its expiry has
    passed, with no write and no notification, the next tile no longer draws it (before, the
    tile stayed cached up to a minute past the end). Expected: PostGIS's own in-force test."""
    with psycopg.connect(service.db_url, autocommit=True) as conn:
        wid, old_expiry = conn.execute(
            "SELECT id, expires_at FROM warning WHERE status = 'issued' ORDER BY id LIMIT 1"
        ).fetchone()
        w, s, e, n = conn.execute(
            "SELECT ST_XMin(g), ST_YMin(g), ST_XMax(g), ST_YMax(g) FROM"
            " (SELECT ST_Extent(geom) AS g FROM warning WHERE id = %s) x",
            [wid],
        ).fetchone()
        t = TMS.tile((w + e) / 2, (s + n) / 2, 8)
        path = f"/tiles/warnings/8/{t.x}/{t.y}.mvt"
        _set_expiry(conn, wid, None)  # ends in 4 s
        try:

            def ids(r: httpx.Response) -> set[int]:
                if r.status_code == 204:
                    return set()
                return {f["properties"]["id"] for f in _decode(r.content)["warnings"]["features"]}

            with service.client() as c:
                wait_until(lambda: wid in ids(c.get(path)), 3, "the warning drawn")
                drawn = ids(c.get(path))
                cache = service.app.state.tile_cache
                cached = cache.holds("warnings", 8, t.x, t.y)
                live = conn.execute("SELECT expires_at > now() FROM warning WHERE id = %s", [wid])
                assert live.fetchone()[0]
                left = conn.execute(
                    "SELECT extract(epoch FROM expires_at - now())::float8 FROM warning"
                    " WHERE id = %s",
                    [wid],
                ).fetchone()[0]
                time.sleep(max(0.0, left) + 0.2)
                ended = not conn.execute(
                    "SELECT expires_at > now() FROM warning WHERE id = %s", [wid]
                ).fetchone()[0]
                after = ids(c.get(path))
        finally:
            _set_expiry(conn, wid, old_expiry)
    assert wid in drawn and cached
    assert ended and wid not in after


def _set_expiry(conn: psycopg.Connection, wid: int, when) -> None:
    """Set a warning's expiry by hand: it derives from its published CAP version (0026), whose
    rows are immutable, so the deriving trigger is off for this one transaction only."""
    with conn.transaction():
        conn.execute("ALTER TABLE warning DISABLE TRIGGER warning_expiry_pointer")
        if when is None:  # four seconds from now
            conn.execute(
                "UPDATE warning SET expires_at = now() + interval '4 seconds' WHERE id = %s",
                [wid],
            )
        else:
            conn.execute("UPDATE warning SET expires_at = %s WHERE id = %s", [when, wid])
        conn.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred checks run first
        conn.execute("ALTER TABLE warning ENABLE TRIGGER warning_expiry_pointer")
