"""Map tiles over real HTTP: vector tiles decoded and checked against PostGIS, TileJSON, caching,
auth, and the rainfall grid as PNG tiles with its legend (the storm is replayed)."""

from __future__ import annotations

import io
import time
from functools import cache

import mapbox_vector_tile
import morecantile
import psycopg
import pytest
import shapely
from PIL import Image
from shapely.geometry import shape

from riskmap.api.tiles.serving import MAX_AGE
from tests.dispatch.delivery_setup import wait_until

TMS = morecantile.tms.get("WebMercatorQuad")
MAYANG = "431226"
MVT = "application/vnd.mapbox-vector-tile"
COLOURS = ["blue", "yellow", "orange", "red"]
HAZARDS = ("flash_flood", "geohazard", "forest_fire")


def _decode(body: bytes) -> dict:
    return mapbox_vector_tile.decode(body, default_options={"y_coord_down": True})


def minute_left(margin: float = 3.0) -> float:
    """Seconds left in this minute, less a margin: the bound of a wait for a notification to
    drop a cached tile. (The villages and warnings tiles were cached per minute; since issue 19
    they are dropped when a warning in force ends, api/tiles/cache.py, and these waits only
    stay bounded.)"""
    return MAX_AGE - time.time() % MAX_AGE - margin


def fresh_minute(need: float = 15.0) -> None:
    """Start at least ``need`` seconds before that margin: intentional pacing, waiting for the
    server's clock (at most ``need`` seconds)."""
    if minute_left() < need:
        time.sleep(minute_left(margin=0) + 0.05)


@cache
def _county_bounds(db_url: str) -> tuple[float, float, float, float]:
    with psycopg.connect(db_url) as conn:
        box = conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)"
            " FROM (SELECT ST_Extent(geom) AS e FROM admin_unit WHERE code = %s) x",
            [MAYANG],
        ).fetchone()
    return tuple(box)


def _centre_tile(db_url: str, z: int) -> morecantile.Tile:
    w, s, e, n = _county_bounds(db_url)
    return TMS.tile((w + e) / 2, (s + n) / 2, z)


def _villages_near(db_url: str, t: morecantile.Tile, margin: float) -> set[str]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT code FROM village WHERE ST_Intersects(ST_Transform(geom, 3857),"
            " ST_TileEnvelope(%s, %s, %s, margin => %s))",
            [t.z, t.x, t.y, margin],
        ).fetchall()
    return {r[0] for r in rows}


def test_layer_list(service) -> None:
    with service.client() as c:
        r = c.get("/tiles")
    assert r.status_code == 200
    layers = {x["id"]: x for x in r.json()}
    assert set(layers) == {
        "villages", "townships", "hazard-points", "shelters", "stations", "warnings", "rain",
        "rivers", "counties", "terrain", "admin-labels",
    }  # fmt: skip
    assert layers["warnings"]["public"] and not layers["villages"]["public"]
    # the offline basemap (hillshade, rivers, outlines) is public: visitors see warnings on it
    assert all(layers[x]["public"] for x in ("terrain", "rivers", "counties"))
    assert layers["villages"]["tiles"] == f"{service.base_url}/tiles/villages/{{z}}/{{x}}/{{y}}.mvt"


@pytest.mark.parametrize("z", range(8, 15))
def test_village_tiles_match_postgis(service, z: int) -> None:
    t = _centre_tile(service.db_url, z)
    with service.client("viewer") as c:
        r = c.get(f"/tiles/villages/{z}/{t.x}/{t.y}.mvt")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == MVT
    assert len(r.content) < 500_000
    tile = _decode(r.content)
    assert set(tile) == {"villages"}
    layer = tile["villages"]
    assert layer["extent"] == 4096
    codes = [f["properties"]["code"] for f in layer["features"]]
    assert len(codes) == len(set(codes))
    # every village inside the tile is there; nothing beyond the 64-unit buffer is
    inside = _villages_near(service.db_url, t, 0.0)
    near = _villages_near(service.db_url, t, 64 / 4096)
    assert inside and inside <= set(codes) <= near
    for f in layer["features"]:
        geom = shape(f["geometry"])
        assert geom.geom_type in ("Polygon", "MultiPolygon") and geom.is_valid
        xmin, ymin, xmax, ymax = geom.bounds
        assert -64 <= xmin and -64 <= ymin and xmax <= 4096 + 64 and ymax <= 4096 + 64


def test_each_township_is_named_once_across_the_tiles_of_its_county(service) -> None:
    """Labels come from one point per unit: across every z10 tile of the county (each point
    counted in the tile that holds it, not in a neighbour's buffer) each township appears once,
    at its PostGIS label point. Outline labels were drawn once per tile piece of the outline."""
    with psycopg.connect(service.db_url) as conn:
        expected = dict(
            conn.execute(
                "SELECT code, name FROM admin_unit WHERE level = 'township' AND gb2260 = '431226'"
            ).fetchall()
        )
    seen: dict[str, int] = {}
    with service.client("viewer") as c:
        for t in morecantile.tms.get("WebMercatorQuad").tiles(
            *_county_bounds(service.db_url), [10]
        ):
            r = c.get(f"/tiles/admin-labels/{t.z}/{t.x}/{t.y}.mvt")
            assert r.status_code in (200, 204), r.text
            if r.status_code == 204:
                continue
            for f in _decode(r.content)["admin-labels"]["features"]:
                x, y = f["geometry"]["coordinates"]
                if f["properties"]["level"] == "township" and 0 <= x < 4096 and 0 <= y < 4096:
                    code = f["properties"]["code"]
                    assert f["properties"]["name"] == expected[code]
                    seen[code] = seen.get(code, 0) + 1
    assert seen == {code: 1 for code in expected}


# Flip the risk levels of some villages (1↔4, 2↔3); applying it twice restores them.
FLIP_RISK = """
UPDATE village_risk SET risk_level = 5 - risk_level
WHERE village_code = ANY(%(codes)s)
RETURNING village_code, hazard, risk_level
"""


@pytest.fixture
def risk_rows(service):
    """Changes the risk levels of some villages of the centre tile when called; the service
    database has the risk maps of the demo county. Restored afterwards."""
    flipped: list[str] = []

    def make() -> list:
        t = _centre_tile(service.db_url, 9)
        codes = sorted(_villages_near(service.db_url, t, 0.0))[:12]
        with psycopg.connect(service.db_url, autocommit=True) as conn:
            rows = conn.execute(FLIP_RISK, {"codes": codes}).fetchall()
        flipped.extend(codes)
        # the commit's notification empties the workers' tile caches: wait until the tile shows it
        path = f"/tiles/villages/9/{t.x}/{t.y}.mvt"
        with service.client("viewer") as c:

            def shown() -> bool:
                props = {
                    f["properties"]["code"]: f["properties"]
                    for f in _decode(c.get(path).content)["villages"]["features"]
                }
                return all(props[code].get(hazard) == level for code, hazard, level in rows)

            wait_until(shown, minute_left(), "the changed risk levels in the tile")
        return rows

    yield make
    if flipped:
        with psycopg.connect(service.db_url, autocommit=True) as conn:
            conn.execute(FLIP_RISK, {"codes": flipped})


def test_village_attributes_match_risk_and_warnings(service, risk_rows) -> None:
    """Attributes equal PostGIS's, also right after a change (the cached tile is dropped)."""
    t = _centre_tile(service.db_url, 9)
    path = f"/tiles/villages/9/{t.x}/{t.y}.mvt"
    fresh_minute()
    with service.client("viewer") as c:
        before = _decode(c.get(path).content)["villages"]["features"]
        changed = risk_rows()
        features = _decode(c.get(path).content)["villages"]["features"]
    assert changed
    was = {(f["properties"]["code"], h): f["properties"].get(h) for f in before for h in HAZARDS}
    assert all(was[(code, hazard)] == 5 - level for code, hazard, level in changed)
    props = {f["properties"]["code"]: f["properties"] for f in features}
    with psycopg.connect(service.db_url) as conn:
        risk = {
            (v, h): lvl
            for v, h, lvl in conn.execute(
                "SELECT village_code, hazard, risk_level FROM village_risk"
                " WHERE village_code = ANY(%s)",
                [list(props)],
            ).fetchall()
        }
        warned = dict(
            conn.execute(
                # as the public received them: the published version's colour and villages
                # (an earlier test's unpublished draft may have changed the warning's own)
                "SELECT c, max(array_position(%s, v.colour)) FROM warning w"
                " JOIN warning_version v"
                " ON v.warning_id = w.id AND v.version = w.published_version,"
                " unnest(v.village_codes) c WHERE w.status = 'issued' AND w.expires_at > now()"
                " GROUP BY c",
                [COLOURS],
            ).fetchall()
        )
        names = dict(
            conn.execute(
                "SELECT v.code, v.name || '/' || t.name FROM village v"
                " JOIN admin_unit t ON t.code = v.township_code WHERE v.code = ANY(%s)",
                [list(props)],
            ).fetchall()
        )
    assert risk, "the storm database has village risk maps"
    for code, p in props.items():
        assert f"{p['name']}/{p['township']}" == names[code]
        levels = []
        for hazard in HAZARDS:
            assert p.get(hazard) == risk.get((code, hazard))
            levels += [risk[(code, hazard)]] if (code, hazard) in risk else []
        assert p.get("risk") == (max(levels) if levels else None)
        expected = COLOURS[warned[code] - 1] if code in warned else None
        assert p.get("warning") == expected
    assert any("warning" in p for p in props.values()) == bool(set(warned) & set(props))


def test_tiles_small_over_the_whole_county(service) -> None:
    """Every tile over the county at zooms 8–12, and a row across it at 13 and 14."""
    w, s, e, n = _county_bounds(service.db_url)
    tiles = list(TMS.tiles(w, s, e, n, zooms=list(range(8, 13))))
    for z in (13, 14):
        row = TMS.tile(w, (s + n) / 2, z).y
        tiles += [t for t in TMS.tiles(w, s, e, n, zooms=[z]) if t.y == row]
    biggest = 0
    with service.client("viewer") as c:
        for t in tiles:
            for layer in ("villages", "townships"):
                r = c.get(f"/tiles/{layer}/{t.z}/{t.x}/{t.y}.mvt")
                assert r.status_code in (200, 204), (t, r.status_code)
                biggest = max(biggest, len(r.content))
    assert 1_000 < biggest < 500_000


def test_low_zoom_outlines_are_simplified(service) -> None:
    """The most detailed outline in a zoom-8 tile (one on the real county border) travels
    simplified: fewer points than stored, and no more than its zoom-8 band holds."""
    t8 = _centre_tile(service.db_url, 8)
    with service.client("viewer") as c:
        low = _decode(c.get(f"/tiles/villages/8/{t8.x}/{t8.y}.mvt").content)["villages"]
    sent = {f["properties"]["code"]: shape(f["geometry"]) for f in low["features"]}
    with psycopg.connect(service.db_url) as conn:
        code, full, z8 = conn.execute(
            "SELECT code, ST_NPoints(a.geom), ST_NPoints(t.geom) FROM admin_unit a"
            " JOIN tile_admin_unit t USING (code) WHERE t.band = 8 AND code = ANY(%s)"
            " ORDER BY ST_NPoints(a.geom) DESC LIMIT 1",
            [list(sent)],
        ).fetchone()
    assert full > 20 and z8 < full, (full, z8)
    assert shapely.get_num_coordinates(sent[code]) <= z8 + 8  # clipping may add a few


@pytest.mark.parametrize(
    ("layer", "table"),
    [("shelters", "shelter"), ("hazard-points", "hazard_point"), ("stations", "station")],
)
def test_point_layers_match_postgis(service, layer: str, table: str) -> None:
    t = _centre_tile(service.db_url, 9)
    with psycopg.connect(service.db_url) as conn:
        expected = conn.execute(
            f"SELECT count(*) FROM {table} WHERE ST_Intersects(ST_Transform(geom, 3857),"
            " ST_TileEnvelope(%s, %s, %s, margin => 64.0 / 4096))",
            [t.z, t.x, t.y],
        ).fetchone()[0]
    assert expected > 0
    with service.client("viewer") as c:
        r = c.get(f"/tiles/{layer}/9/{t.x}/{t.y}.mvt")
    assert r.status_code == 200
    decoded = _decode(r.content)[layer]
    assert len(decoded["features"]) == expected
    assert all(f["geometry"]["type"] == "Point" for f in decoded["features"])


def test_warnings_layer_is_public_and_draws_only_warnings_in_force(service) -> None:
    """In force = issued and not past its expiry, as the lists say: a warning whose expiry has
    passed is not drawn even while no job has marked it expired yet (the storm here is in July,
    so its issued warnings are all past their expiry and the tile must be empty)."""
    with psycopg.connect(service.db_url) as conn:
        rows = conn.execute(
            "SELECT w.id, v.colour, w.expires_at > now() FROM warning w"
            " JOIN warning_version v ON v.warning_id = w.id AND v.version = w.published_version"
            " WHERE w.status = 'issued'"
            " AND ST_Intersects(w.geom, (SELECT geom FROM admin_unit WHERE code = %s))",
            [MAYANG],
        ).fetchall()
    assert rows  # issued warnings exist: the filter is what decides
    in_force = {i: colour for i, colour, live in rows if live}
    t = _centre_tile(service.db_url, 6)  # the whole county in one tile
    with service.client() as c:
        r = c.get(f"/tiles/warnings/6/{t.x}/{t.y}.mvt")
    assert r.headers["cache-control"].startswith("public")
    if not in_force:
        assert r.status_code == 204
        return
    got = {
        f["properties"]["id"]: f["properties"] for f in _decode(r.content)["warnings"]["features"]
    }
    assert got.keys() == in_force.keys()
    assert all(got[i]["colour"] == colour for i, colour in in_force.items())


def test_auth_header_or_query_token(service) -> None:
    t = _centre_tile(service.db_url, 10)
    path = f"/tiles/villages/10/{t.x}/{t.y}.mvt"
    with service.client() as c:
        assert c.get(path).status_code == 401
        assert c.get(path, params={"token": "rm_wrong"}).status_code == 401
        ok = c.get(path, params={"token": service.tokens["viewer"]})
        assert ok.status_code == 200 and ok.headers["cache-control"].startswith("private")
        assert c.get("/tiles/villages.json").status_code == 401
        assert c.get(f"/tiles/rain/10/{t.x}/{t.y}.png").status_code == 401


def test_etag_and_304(service) -> None:
    t = _centre_tile(service.db_url, 11)
    path = f"/tiles/villages/11/{t.x}/{t.y}.mvt"
    with service.client("viewer") as c:

        def unchanged_pair():
            # Earlier tests change warnings; their notifications empty the tile caches a few ms
            # after the commit (the documented stale window): one landing between the two
            # requests rightly changes the tile, so the pair is asked again.
            first = c.get(path)
            again = c.get(path, headers={"If-None-Match": first.headers["etag"]})
            return (first, again) if again.status_code != 200 else None

        first, again = wait_until(unchanged_pair, 30, "two requests with no change between")
        etag = first.headers["etag"]
        other = c.get(path, headers={"If-None-Match": '"something-else"'})
    assert first.status_code == 200 and etag.startswith('"')
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert other.status_code == 200 and other.content == first.content


def test_bad_and_empty_tiles(service) -> None:
    with service.client("viewer") as c:
        assert c.get("/tiles/villages/8/a/1.mvt").status_code == 400
        assert c.get("/tiles/villages/8/256/1.mvt").status_code == 404
        assert c.get("/tiles/villages/25/0/0.mvt").status_code == 404
        assert c.get("/tiles/nowhere/8/1/1.mvt").status_code == 404
        empty = c.get("/tiles/villages/8/0/0.mvt")  # the Bering Sea
    assert empty.status_code == 204 and empty.content == b""


def test_tilejson(service) -> None:
    token = service.tokens["viewer"]
    with service.client() as c:
        r = c.get("/tiles/villages.json", params={"token": token})
    assert r.status_code == 200
    doc = r.json()
    assert doc["tilejson"] == "3.0.0" and doc["name"] == "villages"
    assert doc["tiles"] == [
        f"{service.base_url}/tiles/villages/{{z}}/{{x}}/{{y}}.mvt?token={token}"
    ]
    assert doc["minzoom"] < doc["maxzoom"]
    w, s, e, n = doc["bounds"]
    cw, cs, ce, cn = _county_bounds(service.db_url)
    assert w <= cw + 1e-6 and s <= cs + 1e-6 and e >= ce - 1e-6 and n >= cn - 1e-6
    assert w < doc["center"][0] < e and s < doc["center"][1] < n
    (vl,) = doc["vector_layers"]
    assert vl["id"] == "villages"
    assert {"code", "name", "township", "flash_flood", "risk", "warning"} <= set(vl["fields"])
    assert all(v.split(":")[0] in ("String", "Number") for v in vl["fields"].values())
    with service.client("viewer") as c:
        header_doc = c.get("/tiles/villages.json").json()
        public = service.client().get("/tiles/warnings.json")
    assert "token=" not in header_doc["tiles"][0]
    assert public.status_code == 200 and public.json()["vector_layers"][0]["id"] == "warnings"


def test_outlines_follow_village_changes(service) -> None:
    """A changed village queues its county; the rebuild gives the new outline (rolled back)."""
    with psycopg.connect(service.db_url) as conn:
        code = conn.execute("SELECT code FROM village ORDER BY code LIMIT 1").fetchone()[0]
        conn.execute(
            "UPDATE admin_unit SET geom = ST_Multi(ST_Buffer(ST_Centroid(geom), 0.001, 8))"
            " WHERE code = %s",
            [code],
        )
        assert conn.execute("SELECT gb2260 FROM tile_refresh_queue").fetchall() == [(MAYANG,)]
        assert conn.execute("SELECT tile_refresh_pending()").fetchone()[0] > 200
        same = conn.execute(
            "SELECT bool_and(ST_Equals(t.geom, ST_Transform(a.geom, 3857)) OR t.band < 14),"
            " bool_and(ST_IsValid(t.geom)), count(*)"
            " FROM tile_admin_unit t JOIN admin_unit a USING (code) WHERE code = %s",
            [code],
        ).fetchone()
        conn.rollback()
    assert same == (True, True, 5)


def test_tiles_follow_a_changed_outline(service) -> None:
    """Over HTTP: a committed outline change reaches the (cached) tiles; then it is undone."""

    def outline(c, path: str, code: str):
        features = _decode(c.get(path).content)["villages"]["features"]
        return next(shape(f["geometry"]) for f in features if f["properties"]["code"] == code)

    with psycopg.connect(service.db_url, autocommit=True) as conn:
        code, wkb, lon, lat = conn.execute(
            "SELECT code, ST_AsBinary(geom), ST_X(label_point), ST_Y(label_point) FROM village"
            " ORDER BY code DESC LIMIT 1"
        ).fetchone()
        t = TMS.tile(lon, lat, 12)
        path = f"/tiles/villages/12/{t.x}/{t.y}.mvt"
        fresh_minute()
        with service.client("viewer") as c:
            before = outline(c, path, code)
            try:
                conn.execute(
                    "UPDATE admin_unit SET geom = ST_Multi(ST_Envelope(ST_Buffer(label_point,"
                    " 0.002))) WHERE code = %s",
                    [code],
                )
                # the commit's notification reaches the workers: the cached tile is dropped
                after = wait_until(
                    lambda: (o := outline(c, path, code)).area < before.area and o,
                    minute_left(),
                    "the changed outline in the tile",
                )
            finally:
                conn.execute(
                    "UPDATE admin_unit SET geom = ST_GeomFromWKB(%s, 4326) WHERE code = %s",
                    [wkb, code],
                )
    assert after.geom_type == "Polygon" and len(after.exterior.coords) == 5
    assert after.area < before.area


def _rainiest(db_url: str):
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT valid_end, max_mm FROM grid_file WHERE product = 'qpe'"
            " ORDER BY max_mm DESC LIMIT 1"
        ).fetchone()


def test_rain_tiles(service) -> None:
    at, max_mm = _rainiest(service.db_url)
    assert max_mm > 10
    t = _centre_tile(service.db_url, 9)
    with service.client("viewer") as c:
        r = c.get(f"/tiles/rain/9/{t.x}/{t.y}.png", params={"period": at.isoformat()})
        latest = c.get(f"/tiles/rain/9/{t.x}/{t.y}.png")
        far = c.get("/tiles/rain/9/0/0.png")
        cached = c.get(
            f"/tiles/rain/9/{t.x}/{t.y}.png",
            params={"period": at.isoformat()},
            headers={"If-None-Match": r.headers["etag"]},
        )
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    img = Image.open(io.BytesIO(r.content))
    assert img.size == (256, 256) and img.mode == "RGBA"
    alpha = img.getchannel("A")
    assert alpha.getextrema()[1] > 0  # rain drawn
    assert latest.status_code == 200 and Image.open(io.BytesIO(latest.content)).size == (256, 256)
    assert far.status_code == 200
    assert Image.open(io.BytesIO(far.content)).getchannel("A").getextrema() == (0, 0)
    assert cached.status_code == 304


def test_rain_legend(service) -> None:
    at, _ = _rainiest(service.db_url)
    with service.client("viewer") as c:
        r = c.get("/tiles/rain/legend.json", params={"period": at.isoformat()})
        none = c.get("/tiles/rain/legend.json", params={"period": "1990-01-01T00:00:00Z"})
    assert r.status_code == 200
    doc = r.json()
    assert doc["units"] == "mm" and doc["scale"] == "1h"  # the storm's grids are hourly
    assert doc["grid"]["hours"] == 1.0
    classes = doc["classes"]
    assert len(classes) >= 4
    assert all(c["colour"].startswith("#") and c["label_zh"] and c["label_en"] for c in classes)
    assert [c["min"] for c in classes] == sorted(c["min"] for c in classes)
    assert none.status_code == 404


def test_rain_tilejson_and_query_token(service) -> None:
    token = service.tokens["viewer"]
    with service.client() as c:
        doc = c.get("/tiles/rain.json", params={"token": token}).json()
        tile = c.get(doc["tiles"][0].replace(service.base_url, "").format(z=9, x=0, y=0))
    assert doc["tilejson"] == "3.0.0" and doc["name"] == "rain"
    assert doc["tiles"][0].endswith(f"/tiles/rain/{{z}}/{{x}}/{{y}}.png?token={token}")
    w, s, e, n = doc["bounds"]
    cw, cs, ce, cn = _county_bounds(service.db_url)
    assert w < ce and e > cw and s < cn and n > cs  # the grid covers the county
    assert tile.status_code == 200 and tile.headers["content-type"] == "image/png"


def _tile_notices(conn: psycopg.Connection, wait: float = 0.5) -> list[str]:
    return [n.payload for n in conn.notifies(timeout=wait, stop_after=10)]


def test_token_checks_stay_cached_until_tokens_really_change(service) -> None:
    """Noting a token's use must not empty the workers' cached token checks (it did, on every
    tile request); new, revoked or removed tokens must."""
    from riskmap.api.users import add_user, authenticate, new_token, revoke_tokens

    with (
        psycopg.connect(service.db_url, autocommit=True) as listener,
        psycopg.connect(service.db_url, autocommit=True) as conn,
    ):
        add_user(conn, "tiles-cache", "viewer")
        token = new_token(conn, "tiles-cache")
        listener.execute("LISTEN riskmap_tiles")
        conn.execute("UPDATE api_token SET last_used_at = NULL WHERE user_name = 'tiles-cache'")
        assert authenticate(conn, token) is not None  # notes the use: UPDATE … last_used_at
        assert "tokens" not in _tile_notices(listener)
        revoke_tokens(conn, "tiles-cache")
        assert "tokens" in _tile_notices(listener)
