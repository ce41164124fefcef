"""OGC API – Features against the real server: every collection pages to exactly its table, filters
agree with PostGIS, errors follow the standard (400/401/404) and features are RFC 7946 GeoJSON."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import psycopg
import pytest
import shapely
from shapely.geometry import shape

from riskmap.geo.warnings import lifecycle
from riskmap.geo.warnings.lifecycle.expiry import end_expired
from tests.api.test_cap_output import _proposal

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GEOJSON = "application/geo+json"
# Mayang county (麻阳, 431226) and a margin: every feature must lie here, lon first.
LON, LAT = (109.0, 110.3), (27.3, 28.3)

# Each table collection's ids straight from the database (what the pages must add up to).
IDS_SQL = {
    "villages": "SELECT code FROM village",
    "townships": "SELECT code FROM admin_unit WHERE level = 'township'",
    "stations": "SELECT stcd FROM station",
    "hazard-points": "SELECT id FROM hazard_point",
    "shelters": "SELECT id FROM shelter",
    "warehouses": "SELECT id FROM warehouse",
    "rescue-teams": "SELECT id FROM rescue_team",
    "broadcast-terminals": "SELECT id FROM broadcast_terminal",
}
GEOM_SQL = {
    "villages": "SELECT code, geom FROM village",
    "stations": "SELECT stcd, geom FROM station",
    "hazard-points": "SELECT id, geom FROM hazard_point",
    "shelters": "SELECT id, geom FROM shelter",
    "broadcast-terminals": "SELECT id, geom FROM broadcast_terminal",
}
PROTECTED = list(IDS_SQL)
COLLECTIONS = [*IDS_SQL, "active-warnings"]  # active warnings: public, no table of their own

# The warnings' expected membership comes from fates the `fates` fixture gives its own warnings
# by hand, never from the query the service runs. Active: issued and in force now.
ACTIVE = ("in_force", "pending")
NOT_ACTIVE = ("cancelled", "ended", "candidate", "rejected", "may_cancelled", "may_ended")
# issued, but their expiry passed and no rules run has sent the all-clear yet
LAPSED = ("lapsed", "may_1", "may_2")
MAY = dt.datetime(2026, 5, 1, tzinfo=dt.UTC)  # before the storm: no other warning then
H = dt.timedelta(hours=1)
LEVEL = {"blue": "四级", "yellow": "三级", "orange": "二级", "red": "一级"}


@dataclass
class Fates:
    ids: dict[str, int]  # own warning by fate
    villages: dict[str, list[str]]  # its villages (as published, for issued ones)
    baseline: dict[str, str | None]  # every village's warning colour before the fixture


@pytest.fixture(scope="module")
def fates(service) -> Iterator[Fates]:
    """Own warnings, each given its fate here (red, flash flood, two villages each, on villages
    no issued warning coloured before):

    - ``in_force``: issued now, 30-day hold; ``pending``: issued yellow now, then its rule fired
      red over one more village, which waits for a forecaster as a draft (not published);
    - ``cancelled``: issued then cancelled; ``candidate``: never issued; ``rejected``;
    - ``lapsed``: issued 3 h ago with a 1 h hold: expired, not yet ended by a rules run;
      ``ended``: the same, then ended by its expiry (all-clear published, status expired);
    - on 1 May 2026 (UTC): ``may_1`` issued 01:00–03:00, ``may_2`` 04:00–06:00 (lapsed too),
      ``may_cancelled`` issued 02:00 and cancelled 02:30, ``may_ended`` 00:00–01:00 and ended.

    Afterwards every one of them is ended (cancelled, rejected or expired with its all-clear)."""
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)  # issued a minute later
    ago = now - 3 * H
    with service.client("viewer") as c:
        before, _ = _all_pages(c, "/ogc/collections/villages/items?limit=10000")
    baseline = {f["id"]: f["properties"]["warning_colour"] for f in before}
    with psycopg.connect(service.db_url) as conn:
        codes = [r[0] for r in conn.execute("SELECT code FROM village ORDER BY code DESC")]
        uncoloured = [c for c in codes if baseline[c] is None]
        assert len(uncoloured) >= 23, "too few villages without a warning colour"
        free = iter(uncoloured)
        stamp = f"{now.timestamp():.0f}"
        ids: dict[str, int] = {}
        villages: dict[str, list[str]] = {}
        rules: dict[str, str] = {}

        def make(name: str, at, hold: float, colour: str = "red", issue=None) -> int:
            villages[name] = [next(free), next(free)]
            rules[name] = f"test.ogc.{name}.{stamp}"
            p = replace(_proposal(rules[name], villages[name], colour), at=at, hold_hours=hold)
            (made,) = lifecycle.apply_proposals(conn, [p], at, actor="tests")
            assert made.action == "propose", made  # nothing covered its villages
            ids[name] = made.warning_id
            if issue is not None:
                lifecycle.issue(conn, made.warning_id, "tests", "test", at=issue)
            return made.warning_id

        def end(name: str, at) -> None:  # what a rules run does first: end what expired
            with conn.transaction():
                (ended,) = end_expired(conn, at, rules[name], "flash_flood")
            assert (ended.warning_id, ended.status) == (ids[name], "expired")

        make("in_force", now, 720, issue=now + dt.timedelta(minutes=1))
        wid = make("pending", now, 720, "yellow", issue=now + dt.timedelta(minutes=1))
        extra = next(free)
        grown = replace(
            _proposal(rules["pending"], [*villages["pending"], extra], "red"),
            at=now + dt.timedelta(minutes=2),
            hold_hours=720,
            headline_zh="未发布的草稿",
        )
        (change,) = lifecycle.apply_proposals(conn, [grown], grown.at, actor="tests")
        assert (change.warning_id, change.published) == (wid, False)  # a draft for review
        villages["pending_draft_only"] = [extra]
        wid = make("cancelled", now, 720, issue=now + dt.timedelta(minutes=1))
        lifecycle.cancel(conn, wid, "tests", "test", at=now + dt.timedelta(minutes=2))
        make("candidate", now, 720)
        wid = make("rejected", now, 720)
        lifecycle.reject(conn, wid, "tests", "test", at=now + dt.timedelta(minutes=1))
        make("lapsed", ago, 1, issue=ago + dt.timedelta(minutes=1))
        make("ended", ago, 1, issue=ago + dt.timedelta(minutes=1))
        end("ended", now)
        make("may_1", MAY, 3, "blue", issue=MAY + H)
        make("may_2", MAY + 4 * H, 2, "blue", issue=MAY + 4 * H)
        wid = make("may_cancelled", MAY + 2 * H, 2, "blue", issue=MAY + 2 * H)
        lifecycle.cancel(conn, wid, "tests", "test", at=MAY + 2.5 * H)
        make("may_ended", MAY, 1, "blue", issue=MAY)
        end("may_ended", MAY + 2 * H)
        conn.commit()
    yield Fates(ids, villages, baseline)
    with psycopg.connect(service.db_url) as conn:
        for name in ("in_force", "pending"):
            lifecycle.cancel(conn, ids[name], "tests", "end of the OGC tests")
        lifecycle.reject(conn, ids["candidate"], "tests", "end of the OGC tests")
        for name in LAPSED:
            end(name, dt.datetime.now(dt.UTC))
        conn.commit()


def _own_active(service, params: dict | None = None) -> set[int]:
    """The ids the active-warnings collection lists (every page)."""
    url = httpx.URL(
        "/ogc/collections/active-warnings/items", params={"limit": 500, **(params or {})}
    )
    with service.client() as c:
        features, _ = _all_pages(c, str(url))
    return {f["id"] for f in features}


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
        assert {col["id"] for col in data["collections"]} == set(COLLECTIONS)
        assert c.get("/ogc", params={"f": "json"}).status_code == 200


def test_conformance_claims_only_what_is_implemented(service) -> None:
    with service.client() as c:
        body = c.get("/ogc/conformance").json()
    base = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/"
    assert sorted(body["conformsTo"]) == sorted(base + k for k in ("core", "geojson", "oas30"))


def test_collections_metadata_extents_come_from_the_data(service, fates) -> None:
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
    # the active warnings' extent is that of the features the collection lists (which warnings
    # those are is checked against hand-set fates below)
    with service.client() as c:
        active, _ = _all_pages(c, "/ogc/collections/active-warnings/items?limit=10000")
    assert active
    boxes = [shape(f["geometry"]).bounds for f in active]
    xmin, ymin = min(b[0] for b in boxes), min(b[1] for b in boxes)
    xmax, ymax = max(b[2] for b in boxes), max(b[3] for b in boxes)
    got = listed["active-warnings"]["extent"]["spatial"]
    assert got["crs"] == CRS84
    # features are on the 6-decimal grid
    assert got["bbox"][0] == pytest.approx([xmin, ymin, xmax, ymax], abs=1e-6)
    t0 = min(dt.datetime.fromisoformat(f["properties"]["effective"]) for f in active)
    t1 = max(dt.datetime.fromisoformat(f["properties"]["expires"]) for f in active)
    interval = listed["active-warnings"]["extent"]["temporal"]["interval"][0]
    assert [dt.datetime.fromisoformat(t) for t in interval] == [t0, t1]
    assert all(t.endswith("Z") for t in interval)
    assert "temporal" in listed["stations"]["extent"]
    assert "temporal" not in listed["villages"]["extent"]


@pytest.mark.parametrize("collection", list(IDS_SQL))
def test_every_collection_pages_to_exactly_its_table(service, collection: str) -> None:
    expected = _db_ids(service, collection)
    assert expected
    limit = max(1, len(expected) // 3)
    with service.client("viewer") as c:
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


def test_active_warnings_page_through_the_warnings_in_force(service, fates) -> None:
    """Public, paged like the tables; the test's own warnings in force are there, those
    cancelled, ended by expiry, rejected or never issued are not."""
    with service.client() as c:
        matched = c.get("/ogc/collections/active-warnings/items?limit=1").json()["numberMatched"]
        limit = max(1, matched // 3)
        features, pages = _all_pages(c, f"/ogc/collections/active-warnings/items?limit={limit}")
    ids = [f["id"] for f in features]
    assert len(ids) == len(set(ids)) == matched, "a feature came twice or went missing"
    assert all(p["numberMatched"] == matched for p in pages)
    assert all(len(p["features"]) <= limit for p in pages)
    assert len(pages) > 1 and _link(pages[0], "prev") is None and _link(pages[1], "prev")
    assert _link(pages[-1], "next") is None
    assert {fates.ids[k] for k in ACTIVE} <= set(ids)
    assert not {fates.ids[k] for k in NOT_ACTIVE} & set(ids)
    for f in features:
        _check_feature(f)


def test_active_warnings_leave_at_their_expiry(service, fates) -> None:
    assert not {fates.ids[k] for k in LAPSED} & _own_active(service)


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


# datetime → the test's own warnings listed, by hand from the times the fixture gave them:
# may_1 (01:00–03:00 on 1 May, UTC) and may_2 (04:00–06:00) are still marked issued but long
# expired: an active-warnings collection never lists them, whatever the time asked (as lapsed);
# may_cancelled and may_ended are over; in_force and pending run from a few minutes ago for
# 30 days: an interval that ends before they began misses them.
DATETIME_CASES = [
    ("2026-05-01T02:00:00Z", set()),
    ("2026-05-01T10:00:00+08:00", set()),
    ("2026-05-01T03:00:00Z", set()),
    ("../2026-05-01T01:30:00Z", set()),
    ("2026-05-01T05:00:00Z/..", {"in_force", "pending"}),
    ("2026-05-01T05:00:00Z/", {"in_force", "pending"}),
    ("2026-04-30T00:00:00Z/2026-05-01T04:00:00Z", set()),
    ("../2026-06-01T00:00:00Z", set()),
    ("now", {"in_force", "pending"}),
    ("in a day", {"in_force", "pending"}),
    ("in a year", set()),
]


@pytest.mark.parametrize(("datetime", "expected"), DATETIME_CASES)
def test_datetime_filters_active_warnings_by_their_times(
    service, fates, datetime: str, expected: set[str]
) -> None:
    ahead = {"now": 0, "in a day": 1, "in a year": 365}
    if datetime in ahead:
        at = dt.datetime.now(dt.UTC) + dt.timedelta(days=ahead[datetime])
        datetime = at.isoformat().replace("+00:00", "Z")
    own = {wid: name for name, wid in fates.ids.items()}
    got = _own_active(service, {"datetime": datetime})
    assert {own[wid] for wid in got if wid in own} == expected


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


def test_single_items_equal_their_listing(service, fates) -> None:
    for collection in COLLECTIONS:
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


def test_issued_warnings_are_public_and_show_the_published_version(service, fates) -> None:
    with service.client() as c:  # no token
        got = {
            wid: c.get(f"/ogc/collections/active-warnings/items/{wid}").json()["properties"]
            for wid in (fates.ids[k] for k in ACTIVE)
        }
    with psycopg.connect(service.db_url) as conn:
        identifier = {  # of version 1, the one each published (the test issued each once)
            wid: conn.execute(
                "SELECT cap_identifier FROM warning_version WHERE warning_id = %s AND version = 1",
                [wid],
            ).fetchone()[0]
            for wid in got
        }
    # pending: issued yellow over two villages; the red draft over three is not published
    for name, colour in (("in_force", "red"), ("pending", "yellow")):
        wid = fates.ids[name]
        p = got[wid]
        assert (p["warning_id"], p["version"], p["msg_type"]) == (wid, 1, "Alert"), name
        assert (p["colour"], p["level"]) == (colour, LEVEL[colour]), name
        assert p["cap_identifier"] == identifier[wid] and identifier[wid], name
        assert sorted(p["village_codes"]) == sorted(fates.villages[name]), name
        assert p["villages"] == 2 and p["headline_zh"] == "测试山洪灾害预警", name
        assert p["cap_status"] == "Actual" and p["hazard"] == "flash_flood", name


def test_villages_carry_risk_and_the_highest_issued_colour(service, fates) -> None:
    with psycopg.connect(service.db_url) as conn:
        risk = dict(
            conn.execute(
                "SELECT village_code, risk_level FROM village_risk WHERE hazard = 'flash_flood'"
            ).fetchall()
        )
    # by hand from the fates: red where the test's red warning is in force; no colour where
    # its warnings were cancelled, ended, rejected or never issued (uncoloured before them)
    expected = dict.fromkeys(fates.villages["in_force"], "red")
    for name in ("cancelled", "ended", "candidate", "rejected"):
        expected |= dict.fromkeys(fates.villages[name])
    with service.client("viewer") as c:
        features, _ = _all_pages(c, "/ogc/collections/villages/items?limit=10000")
    assert len(features) == 222
    got = {f["id"]: f["properties"] for f in features}
    assert {code: got[code]["warning_colour"] for code in expected} == expected
    for f in features:
        p = f["properties"]
        assert p["risk_flash_flood"] == risk.get(f["id"])
        assert len(p["code"]) == 12 and p["township_code"] == p["code"][:9]
        assert p["population"] >= p["households"] >= 0


def test_villages_show_only_the_published_colour_in_force(service, fates) -> None:
    expected = dict.fromkeys(fates.villages["pending"], "yellow")  # as published
    expected |= dict.fromkeys(fates.villages["pending_draft_only"])  # only in the draft
    for name in LAPSED:
        expected |= dict.fromkeys(fates.villages[name])
    with service.client("viewer") as c:
        features, _ = _all_pages(c, "/ogc/collections/villages/items?limit=10000")
    got = {f["id"]: f["properties"]["warning_colour"] for f in features}
    assert {code: got[code] for code in expected} == expected


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
