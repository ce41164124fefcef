"""OGC API – Features against the real server: every collection pages to exactly its table, filters
agree with PostGIS, errors follow the standard (400/401/404) and features are RFC 7946 GeoJSON."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import psycopg
import pytest
import shapely
from shapely.geometry import shape

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GEOJSON = "application/geo+json"
# Mayang county (麻阳, 431226) and a margin: every feature must lie here, lon first.
LON, LAT = (109.0, 110.3), (27.3, 28.3)

# Each collection's ids straight from the database (what the pages must add up to).
IDS_SQL = {
    "villages": "SELECT code FROM village",
    "townships": "SELECT code FROM admin_unit WHERE level = 'township'",
    "stations": "SELECT stcd FROM station",
    "hazard-points": "SELECT id FROM hazard_point",
    "shelters": "SELECT id FROM shelter",
    "warehouses": "SELECT id FROM warehouse",
    "rescue-teams": "SELECT id FROM rescue_team",
    "broadcast-terminals": "SELECT id FROM broadcast_terminal",
    "active-warnings": "SELECT id FROM warning WHERE status = 'issued'",
}
GEOM_SQL = {
    "villages": "SELECT code, geom FROM village",
    "stations": "SELECT stcd, geom FROM station",
    "hazard-points": "SELECT id, geom FROM hazard_point",
    "shelters": "SELECT id, geom FROM shelter",
    "broadcast-terminals": "SELECT id, geom FROM broadcast_terminal",
    "active-warnings": "SELECT id, geom FROM warning WHERE status = 'issued'",
}
PROTECTED = [c for c in IDS_SQL if c != "active-warnings"]


def _db_ids(service, collection: str) -> set[str]:
    with psycopg.connect(service.db_url) as conn:
        return {str(r[0]) for r in conn.execute(IDS_SQL[collection])}


def _link(body: dict[str, Any], rel: str) -> str | None:
    hrefs = [link["href"] for link in body["links"] if link["rel"] == rel]
    assert len(hrefs) <= 1, f"more than one {rel} link"
    return hrefs[0] if hrefs else None


def _all_pages(client: httpx.Client, url: str) -> tuple[list[dict[str, Any]], list[dict]]:
    """Follow ``next`` links to the end; the features and every page's body."""
    features, pages = [], []
    while url:
        r = client.get(url)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith(GEOJSON)
        body = r.json()
        assert body["type"] == "FeatureCollection"
        assert body["numberReturned"] == len(body["features"])
        features += body["features"]
        pages.append(body)
        url = _link(body, "next")
        assert len(pages) < 1000, "paging does not end"
    return features, pages


def _check_feature(feature: dict[str, Any]) -> None:
    """RFC 7946: a Feature with an id, a valid geometry in lon/lat order and properties."""
    assert feature["type"] == "Feature"
    assert isinstance(feature["id"], str | int)
    assert isinstance(feature["properties"], dict)
    geom = feature["geometry"]
    assert geom["type"] in {"Point", "MultiPoint", "Polygon", "MultiPolygon", "LineString"}
    g = shape(geom)
    assert g.is_valid and not g.is_empty
    x0, y0, x1, y1 = g.bounds
    assert LON[0] <= x0 <= x1 <= LON[1], f"longitudes {x0}…{x1} outside Mayang"
    assert LAT[0] <= y0 <= y1 <= LAT[1], f"latitudes {y0}…{y1} outside Mayang (axis swap?)"
    for coord in shapely.get_coordinates(g):  # at most 6 decimals
        assert all(round(float(v), 6) == float(v) for v in coord)


def test_landing_page_links_resolve(service) -> None:
    with service.client() as c:
        r = c.get("/ogc")
        assert r.status_code == 200
        body = r.json()
        rels = {link["rel"]: link for link in body["links"]}
        assert {"self", "service-desc", "service-doc", "conformance", "data"} <= set(rels)
        assert rels["service-desc"]["href"].endswith("/openapi.json")
        assert rels["service-doc"]["href"].endswith("/docs")
        spec = c.get(rels["service-desc"]["href"]).json()
        assert "/ogc/collections/{collection_id}/items" in spec["paths"]
        assert c.get(rels["service-doc"]["href"]).status_code == 200
        conf = c.get(rels["conformance"]["href"]).json()
        assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conf["conformsTo"]
        data = c.get(rels["data"]["href"]).json()
        assert {col["id"] for col in data["collections"]} == set(IDS_SQL)
        assert c.get("/ogc", params={"f": "json"}).status_code == 200


def test_conformance_claims_only_what_is_implemented(service) -> None:
    with service.client() as c:
        body = c.get("/ogc/conformance").json()
    base = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
    assert sorted(body["conformsTo"]) == sorted(base + k for k in ("core", "geojson", "oas30"))


def test_collections_metadata_extents_come_from_the_data(service) -> None:
    with service.client() as c:
        listed = {col["id"]: col for col in c.get("/ogc/collections").json()["collections"]}
        for cid, col in listed.items():
            assert col["itemType"] == "feature" and col["crs"] == [CRS84]
            items = [link for link in col["links"] if link["rel"] == "items"]
            assert items and items[0]["type"] == GEOJSON
            assert items[0]["href"].endswith(f"/ogc/collections/{cid}/items")
            single = c.get(f"/ogc/collections/{cid}")
            assert single.status_code == 200 and single.json() == col
    with psycopg.connect(service.db_url) as conn:
        for cid, sql in GEOM_SQL.items():
            box = conn.execute(
                f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
                f"FROM (SELECT ST_Extent(geom) e FROM ({sql}) s) x"
            ).fetchone()
            got = listed[cid]["extent"]["spatial"]
            assert got["crs"] == CRS84
            assert got["bbox"][0] == pytest.approx(list(box), abs=1e-9)
        t0, t1 = conn.execute(
            "SELECT min(v.effective), max(v.expires) FROM warning w JOIN warning_version v "
            "ON v.warning_id = w.id AND v.version = w.published_version WHERE w.status = 'issued'"
        ).fetchone()
    interval = listed["active-warnings"]["extent"]["temporal"]["interval"][0]
    assert [dt.datetime.fromisoformat(t) for t in interval] == [t0, t1]
    assert all(t.endswith("Z") for t in interval)
    assert "temporal" in listed["stations"]["extent"]
    assert "temporal" not in listed["villages"]["extent"]


@pytest.mark.parametrize("collection", list(IDS_SQL))
def test_every_collection_pages_to_exactly_its_table(service, collection: str) -> None:
    expected = _db_ids(service, collection)
    assert expected or collection == "active-warnings"
    limit = max(1, len(expected) // 3)
    role = None if collection == "active-warnings" else "viewer"
    with service.client(role) as c:
        features, pages = _all_pages(c, f"/ogc/collections/{collection}/items?limit={limit}")
    ids = [str(f["id"]) for f in features]
    assert len(ids) == len(set(ids)), "a feature came twice"
    assert set(ids) == expected
    assert all(p["numberMatched"] == len(expected) for p in pages)
    assert all(len(p["features"]) <= limit for p in pages)
    if len(pages) > 1:
        assert _link(pages[0], "prev") is None and _link(pages[1], "prev") is not None
    assert _link(pages[-1], "next") is None
    for f in features:
        _check_feature(f)


@pytest.mark.parametrize("collection", ["villages", "stations", "hazard-points", "shelters"])
def test_bbox_matches_postgis_intersects(service, collection: str) -> None:
    box = (109.55, 27.65, 109.85, 27.9)
    with psycopg.connect(service.db_url) as conn:
        expected = {
            str(r[0])
            for r in conn.execute(
                f"SELECT * FROM ({GEOM_SQL[collection]}) s "
                "WHERE ST_Intersects(geom, ST_MakeEnvelope(%s, %s, %s, %s, 4326))",
                box,
            )
        }
    assert 0 < len(expected) < len(_db_ids(service, collection))
    with service.client("viewer") as c:
        bbox = ",".join(map(str, box))
        features, pages = _all_pages(c, f"/ogc/collections/{collection}/items?bbox={bbox}&limit=20")
    assert {str(f["id"]) for f in features} == expected
    assert pages[0]["numberMatched"] == len(expected)
    # the next links keep the filter
    for p in pages[:-1]:
        assert httpx.URL(_link(p, "next")).params["bbox"] == bbox


def test_bbox_with_heights_and_across_the_antimeridian(service) -> None:
    with service.client("viewer") as c:
        flat = c.get("/ogc/collections/villages/items?bbox=109,27,111,29").json()
        tall = c.get("/ogc/collections/villages/items?bbox=109,27,0,111,29,100").json()
        around = c.get("/ogc/collections/villages/items?bbox=109,27,-170,29").json()
        away = c.get("/ogc/collections/villages/items?bbox=111,27,-170,29").json()
    assert flat["numberMatched"] == tall["numberMatched"] == around["numberMatched"] == 222
    assert away["numberMatched"] == 0 and away["features"] == []


@pytest.mark.parametrize(
    "datetime",
    [
        "2026-07-14T08:00:00Z",
        "2026-07-14T16:00:00+08:00",
        "2026-07-14T05:00:00Z",
        "../2026-07-14T06:00:00Z",
        "2026-07-14T12:00:00Z/..",
        "2026-07-14T13:30:00Z/",
        "2026-07-13T00:00:00Z/2026-07-14T07:00:00Z",
        "2026-07-20T00:00:00Z/2026-07-21T00:00:00Z",
    ],
)
def test_datetime_filters_active_warnings_like_the_database(service, datetime: str) -> None:
    start, _, end = datetime.partition("/") if "/" in datetime else (datetime, "", datetime)
    t0 = None if start in ("", "..") else start
    t1 = None if end in ("", "..") else end
    with psycopg.connect(service.db_url) as conn:
        expected = {
            str(r[0])
            for r in conn.execute(
                "SELECT w.id FROM warning w JOIN warning_version v ON v.warning_id = w.id "
                "AND v.version = w.published_version WHERE w.status = 'issued' "
                "AND (%(t1)s::timestamptz IS NULL OR v.effective <= %(t1)s) "
                "AND (%(t0)s::timestamptz IS NULL OR v.expires >= %(t0)s)",
                {"t0": t0, "t1": t1},
            )
        }
    with service.client() as c:
        r = c.get("/ogc/collections/active-warnings/items", params={"datetime": datetime})
    assert r.status_code == 200, r.text
    assert {str(f["id"]) for f in r.json()["features"]} == expected


def test_datetime_on_stations_and_ignored_without_time(service) -> None:
    with psycopg.connect(service.db_url) as conn:
        latest = conn.execute("SELECT max(tm) FROM rain_obs").fetchone()[0]
    at = latest.isoformat().replace("+00:00", "Z")
    before = "../2026-01-01T00:00:00Z"
    with service.client("viewer") as c:
        now = c.get("/ogc/collections/stations/items", params={"datetime": at}).json()
        old = c.get("/ogc/collections/stations/items", params={"datetime": before}).json()
        villages = c.get("/ogc/collections/villages/items", params={"datetime": before}).json()
    observed = [f["properties"]["observed_at"] for f in now["features"]]
    assert any(observed), "no station has a reading at the latest rain time"
    # a station matches an instant when its latest reading is then, or when it has none
    assert all(t is None or dt.datetime.fromisoformat(t) == latest for t in observed)
    assert all(t is None or t.endswith("+00:00") for t in observed)  # rendered in UTC
    # only stations without any reading have no time, and those match every datetime
    assert all(f["properties"]["observed_at"] is None for f in old["features"])
    assert villages["numberMatched"] == 222  # villages carry no time: datetime matches all


def test_single_items_equal_their_listing(service) -> None:
    for collection in IDS_SQL:
        role = None if collection == "active-warnings" else "viewer"
        with service.client(role) as c:
            page = c.get(f"/ogc/collections/{collection}/items?limit=3").json()
            for listed in page["features"]:
                r = c.get(f"/ogc/collections/{collection}/items/{listed['id']}")
                assert r.status_code == 200, r.text
                assert r.headers["content-type"].startswith(GEOJSON)
                one = r.json()
                assert {k: one[k] for k in ("type", "id", "geometry", "properties")} == listed
                assert _link(one, "self").endswith(f"/items/{listed['id']}")
                assert _link(one, "collection").endswith(f"/ogc/collections/{collection}")
            f_json = c.get(f"/ogc/collections/{collection}/items?limit=1&f=json")
            assert f_json.status_code == 200


def test_unknown_collection_and_feature_are_404(service) -> None:
    with service.client("viewer") as c:
        for path in (
            "/ogc/collections/no-such",
            "/ogc/collections/no-such/items",
            "/ogc/collections/no-such/items/1",
            "/ogc/collections/villages/items/999999999999",
            "/ogc/collections/active-warnings/items/not-a-number",
            "/ogc/collections/active-warnings/items/987654321",
        ):
            r = c.get(path)
            assert r.status_code == 404, path
            assert r.json()["code"] == "NotFound"


@pytest.mark.parametrize(
    "query",
    [
        "bbox=1,2,3",
        "bbox=a,b,c,d",
        "bbox=109,28,110,27",  # minLat > maxLat
        "bbox=109,27,200,28",
        "bbox=109,27,110,nan",
        "limit=0",
        "limit=10001",
        "limit=-5",
        "limit=ten",
        "offset=-1",
        "offset=14200401561489423832709070848",  # past bigint: was a 503 (schemathesis)
        "datetime=2026-07-14",
        "datetime=2026-07-14T08:00:00",  # no offset
        "datetime=../..",
        "datetime=2026-07-15T00:00:00Z/2026-07-14T00:00:00Z",
        "datetime=yesterday",
        "f=html",
        "colour=red",  # unknown parameter
        "township_code=4312",
        "village_code=431226101200",  # villages have no village filter
    ],
)
def test_bad_parameters_are_400(service, query: str) -> None:
    with service.client("viewer") as c:
        r = c.get(f"/ogc/collections/villages/items?{query}")
    assert r.status_code == 400, (query, r.status_code, r.text)
    body = r.json()
    assert body["code"] == "InvalidParameterValue" and body["description"]


def test_metadata_rejects_unknown_parameters(service) -> None:
    with service.client() as c:
        assert c.get("/ogc?foo=1").status_code == 400
        assert c.get("/ogc/conformance?f=xml").status_code == 400
        assert c.get("/ogc/collections?bbox=1,2,3,4").status_code == 400


@pytest.mark.parametrize("collection", PROTECTED)
def test_protected_items_need_a_token(service, collection: str) -> None:
    some_id = sorted(_db_ids(service, collection))[0]
    with service.client() as c:
        for path in (
            f"/ogc/collections/{collection}/items",
            f"/ogc/collections/{collection}/items/{some_id}",
        ):
            r = c.get(path)
            assert r.status_code == 401, path
            assert r.headers["www-authenticate"] == "Bearer"
        # their metadata stays public
        assert c.get(f"/ogc/collections/{collection}").status_code == 200
    with service.client(headers={"Authorization": "Bearer rm_wrong"}) as c:
        assert c.get(f"/ogc/collections/{collection}/items").status_code == 401


def test_issued_warnings_are_public_and_show_the_published_version(service) -> None:
    with service.client() as c:
        body = c.get("/ogc/collections/active-warnings/items").json()
    with psycopg.connect(service.db_url) as conn:
        rows = conn.execute(
            "SELECT w.id, v.version, v.colour, v.cap_identifier, v.headline_zh, v.village_codes "
            "FROM warning w JOIN warning_version v ON v.warning_id = w.id "
            "AND v.version = w.published_version WHERE w.status = 'issued'"
        ).fetchall()
    assert rows, "the storm left no issued warning to check"
    got = {f["id"]: f["properties"] for f in body["features"]}
    for wid, version, colour, cap_id, headline, villages in rows:
        p = got[wid]
        assert (p["version"], p["colour"], p["cap_identifier"]) == (version, colour, cap_id)
        assert p["headline_zh"] == headline and p["village_codes"] == villages
        assert p["level"] in {"一级", "二级", "三级", "四级"}


def test_villages_carry_risk_and_the_highest_issued_colour(service) -> None:
    rank = ["blue", "yellow", "orange", "red"]
    with psycopg.connect(service.db_url) as conn:
        issued = conn.execute(
            "SELECT colour, village_codes FROM warning WHERE status = 'issued'"
        ).fetchall()
        risk = dict(
            conn.execute(
                "SELECT village_code, risk_level FROM village_risk WHERE hazard = 'flash_flood'"
            ).fetchall()
        )
    expected: dict[str, str] = {}
    for colour, codes in issued:
        for code in codes:
            if code not in expected or rank.index(colour) > rank.index(expected[code]):
                expected[code] = colour
    assert expected, "no village under an issued warning"
    with service.client("viewer") as c:
        features, _ = _all_pages(c, "/ogc/collections/villages/items?limit=10000")
    assert len(features) == 222
    for f in features:
        p = f["properties"]
        assert p["warning_colour"] == expected.get(f["id"])
        assert p["risk_flash_flood"] == risk.get(f["id"])
        assert len(p["code"]) == 12 and p["township_code"] == p["code"][:9]
        assert p["population"] >= p["households"] >= 0


def test_township_and_village_filters(service) -> None:
    with psycopg.connect(service.db_url) as conn:
        township = conn.execute(
            "SELECT township_code FROM village GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]
        villages = {
            r[0]
            for r in conn.execute("SELECT code FROM village WHERE township_code = %s", [township])
        }
        points = {
            r[0]
            for r in conn.execute(
                "SELECT id FROM hazard_point WHERE left(village_code, 9) = %s", [township]
            )
        }
        terminal_village, terminals = conn.execute(
            "SELECT village_code, array_agg(id) FROM broadcast_terminal GROUP BY 1 LIMIT 1"
        ).fetchone()
    with service.client("viewer") as c:
        got = c.get(f"/ogc/collections/villages/items?township_code={township}").json()
        hp = c.get(f"/ogc/collections/hazard-points/items?township_code={township}").json()
        bt = c.get(
            f"/ogc/collections/broadcast-terminals/items?village_code={terminal_village}"
        ).json()
    assert {f["id"] for f in got["features"]} == villages
    assert {f["id"] for f in hp["features"]} == points
    assert {f["id"] for f in bt["features"]} == set(terminals)


def test_station_readings_against_their_levels(service) -> None:
    with psycopg.connect(service.db_url) as conn:
        latest = {
            r[0]: (r[1], r[2])
            for r in conn.execute(
                "SELECT DISTINCT ON (stcd) stcd, tm, z FROM river_obs ORDER BY stcd, tm DESC"
            )
        }
        rain_1h = {  # the latest reading of each gauge, when it covers one hour
            r[0]: r[1]
            for r in conn.execute(
                "SELECT * FROM (SELECT DISTINCT ON (stcd) stcd, drp, intv FROM rain_obs "
                "ORDER BY stcd, tm DESC) s WHERE intv = 1"
            )
        }
    with service.client("viewer") as c:
        features, _ = _all_pages(c, "/ogc/collections/stations/items?limit=10000")
    by_id = {f["id"]: f["properties"] for f in features}
    assert latest and rain_1h
    for stcd, (_, z) in latest.items():
        p = by_id[stcd]
        assert p["level_m"] == pytest.approx(z)
        status = (
            "above_guarantee"
            if z >= p["guarantee_level_m"]
            else "above_warning"
            if z >= p["warning_level_m"]
            else "normal"
        )
        assert p["level_status"] == status
    for stcd, drp in rain_1h.items():
        assert by_id[stcd]["rain_1h_mm"] == pytest.approx(drp)
        assert by_id[stcd]["rain_24h_mm"] >= by_id[stcd]["rain_6h_mm"] >= drp


def test_resources_carry_capacity_and_stock(service) -> None:
    with psycopg.connect(service.db_url) as conn:
        stock = dict(conn.execute("SELECT warehouse_id, count(*) FROM stock GROUP BY 1").fetchall())
    with service.client("viewer") as c:
        warehouses, _ = _all_pages(c, "/ogc/collections/warehouses/items?limit=10000")
        shelters, _ = _all_pages(c, "/ogc/collections/shelters/items?limit=10000")
    for f in warehouses:
        p = f["properties"]
        assert p["stock_items"] == len(p["stock"]) == stock.get(f["id"], 0)
    for f in shelters:
        p = f["properties"]
        assert p["free"] == p["capacity"] - p["occupancy"] >= 0
