"""Areas of responsibility and the city view (issue 12, parts 3 and 4), over a live server.

Two counties of 怀化市 (431200) are loaded side by side, a dozen villages each: the demo county
麻阳 (431226, "A") and 辰溪县 (431223, "B"). A county user of A gets 403 or nothing of B's on
every route that returns area data (the table below is written by hand; a new route must be
added to it); the city user sees both and issues a city-level warning over both counties, whose
CAP names the city bureau and validates against the CAP 1.2 schema; ``/api/summary?by=county``
adds up to figures counted here by direct SQL.
"""

from __future__ import annotations

import json
import math
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import pytest
import xmlschema
from lxml import etree
from psycopg import sql

from riskmap.api.app import create_app
from riskmap.api.users import add_user, new_token
from riskmap.geo.db.migrate import migrate
from riskmap.geo.settings import Settings
from tests.api.conftest import start_server
from tests.conftest import BUNDLED_BOUNDARIES, drop_database, make_scratch_dir

A, B, CITY, OTHER_CITY = "431226", "431223", "431200", "430400"
CAP_XSD = Path(__file__).resolve().parents[2] / "ingest" / "feeds" / "schemas" / "CAP-v1.2.xsd"
CAP_NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}

# Every route of the API, by hand: "area" routes return or change data of an area and are
# checked below for a county user against the other county; the others say why they are not.
DECIDE = "/api/responses/{response_id}/proposals/{proposal_id}/{decision}"
ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/healthz"): "operations",
    ("GET", "/metrics"): "operations (installation-wide counters)",
    ("GET", "/api/events"): "area",
    ("GET", "/api/datasets"): "provenance metadata",
    ("GET", "/api/me"): "the caller",
    ("POST", "/api/session"): "sign-in",
    ("DELETE", "/api/session"): "sign-out",
    ("GET", "/api/web-config"): "page configuration",
    ("GET", "/api/warnings"): "area",
    ("POST", "/api/warnings"): "area",
    ("GET", "/api/warnings/{warning_id}"): "area",
    ("GET", "/api/warnings/{warning_id}.cap"): "area",
    ("POST", "/api/warnings/{warning_id}/issue"): "area",
    ("POST", "/api/warnings/{warning_id}/reject"): "area",
    ("POST", "/api/warnings/{warning_id}/edit"): "area",
    ("POST", "/api/warnings/{warning_id}/escalate"): "area",
    ("POST", "/api/warnings/{warning_id}/cancel"): "area",
    ("GET", "/api/summary"): "area",
    ("GET", "/api/cap/feed.atom"): "public feed of issued warnings (no token taken)",
    ("GET", "/ogc"): "metadata",
    ("GET", "/ogc/conformance"): "metadata",
    ("GET", "/ogc/collections"): "metadata",
    ("GET", "/ogc/collections/{collection_id}"): "metadata",
    ("GET", "/ogc/collections/{collection_id}/items"): "area",
    ("GET", "/ogc/collections/{collection_id}/items/{feature_id}"): "area",
    ("GET", "/tiles"): "metadata",
    ("GET", "/tiles/rain/legend.json"): "rain grid (not area data)",
    ("GET", "/tiles/rain/periods.json"): "rain grid (not area data)",
    ("GET", "/tiles/rain/{z}/{x}/{y}.png"): "rain grid (not area data)",
    ("GET", "/tiles/terrain/{z}/{x}/{y}.png"): "terrain (public)",
    ("GET", "/tiles/terrain.json"): "terrain (public)",
    ("GET", "/tiles/{layer}.json"): "TileJSON metadata",
    ("GET", "/tiles/{layer}/{z}/{x}/{y}.mvt"): "area",
    ("GET", "/api/resources/nearest"): "area",
    ("GET", "/api/resources/experts"): "area",
    ("GET", "/api/resources/summary"): "area",
    ("GET", "/api/villages/{code}"): "area",
    ("GET", "/api/villages/{code}/rain"): "area",
    ("GET", "/api/villages/{code}/levels"): "area",
    ("GET", "/api/villages/{code}/warnings"): "area",
    ("GET", "/api/villages/{code}/frequency"): "area",
    ("GET", "/api/frequency/flags"): "area (test_frequency_api: another county's list is empty)",
    ("GET", "/api/sites"): "area (test_sites_api: another county's user sees none of them)",
    ("GET", "/api/sites/{site_id}"): "area (test_sites_api: 403 for another county)",
    ("GET", "/api/sites/{site_id}/readings"): "area (the site's own check)",
    ("GET", "/api/sites/{site_id}/report"): "area (the site's own check)",
    ("GET", "/api/alarms"): "area (test_sites_api: another county's list is empty)",
    ("POST", "/api/readings"): "devices (integration token; points are configured by site)",
    ("GET", "/api/reports"): "area",
    ("POST", "/api/reports"): "area",
    ("GET", "/api/reports/{report_id}"): "area",
    ("GET", "/api/reports/{report_id}/photos/{n}"): "area",
    ("POST", "/api/reports/{report_id}/verify"): "area",
    ("POST", "/api/broadcasts/{broadcast_id}/ack"): "terminals (signed by terminal keys)",
    ("GET", "/api/broadcasts/{broadcast_id}/audio.{fmt}"): "terminals' audio (no token)",
    ("GET", "/api/broadcasts/{broadcast_id}/audio"): "terminals' audio (no token)",
    ("POST", "/api/sms/receipts"): "SMS gateway receipts (installation-wide)",
    # responses and duty: area-scoped, checked by their own tests (tests/api/test_responses.py,
    # tests/api/test_duty.py: another county's user gets 403 or an empty list)
    ("GET", "/api/responses"): "area (test_responses)",
    ("GET", "/api/responses/{response_id}"): "area (test_responses)",
    ("POST", "/api/responses/{response_id}/start"): "area (test_responses)",
    ("POST", "/api/responses/{response_id}/raise"): "area (test_responses)",
    ("POST", "/api/responses/{response_id}/lower"): "area (test_responses)",
    ("POST", "/api/responses/{response_id}/end"): "area (test_responses)",
    ("POST", DECIDE): "area (test_responses)",
    ("POST", "/api/responses/{response_id}/tasks/{task_id}"): "area (test_responses)",
    ("GET", "/api/duty/now"): "area (test_duty)",
    ("GET", "/api/duty/handovers"): "area (test_duty)",
    ("POST", "/api/duty/handovers"): "area (test_duty)",
    ("GET", "/api/duty/handovers/{note_id}"): "area (test_duty)",
    ("GET", "/api/duty/report"): "area (test_duty)",
    ("GET", "/api/drills"): "area (test_drills)",
    ("GET", "/api/drills/{drill_id}"): "area (test_drills)",
    ("GET", "/api/drills/{drill_id}/report"): "area (test_drills)",
    # a drill's CAP documents are open, as real warnings' are
    ("GET", "/api/drills/{drill_id}/warnings/{warning_id}.cap"): "drills (public CAP)",
    ("GET", "/api/drills/{drill_id}/broadcasts/{broadcast_id}/audio.{fmt}"): "terminals' audio",
    ("POST", "/api/drills/{drill_id}/broadcasts/{broadcast_id}/ack"): "terminals (signed)",
}
OGC_AREA = ("villages", "townships", "stations", "hazard-points", "shelters", "warehouses",
            "rescue-teams", "broadcast-terminals", "active-warnings")  # fmt: skip
TILE_AREA = ("villages", "townships", "hazard-points", "shelters", "stations", "admin-labels")


def test_every_route_is_in_the_table() -> None:
    """A new route must be sorted into the table (and, if it returns area data, tested)."""
    app = create_app(Settings(), database_url="postgresql:///unused")
    found = {
        (method.upper(), path)
        for path, ops in app.openapi()["paths"].items()
        for method in ops
        if method.upper() in {"GET", "POST", "PUT", "PATCH", "DELETE"}
    }
    found.add(("GET", "/tiles/{layer}/{z}/{x}/{y}.mvt"))  # served ahead of the router
    assert found == set(ROUTES)


@pytest.fixture(scope="module")
def two(pg_cluster) -> Iterator[dict]:
    """A database with counties A and B (12 villages each), a server and one user per area."""
    from riskmap.geo.demo.county import generate
    from riskmap.geo.demo.load import load

    name = f"t_areas_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_cluster.url_for("postgres"), autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = pg_cluster.url_for(name)
    migrate(url)
    tmp = make_scratch_dir("areas-")
    with psycopg.connect(url) as conn:
        for i, code in enumerate((A, B)):
            demo = generate(
                code, villages=12, seed=7 + i, bundled_path=BUNDLED_BOUNDARIES,
                out_dir=tmp / code, roster_start=datetime(2026, 7, 1, tzinfo=UTC),
            )  # fmt: skip
            load(conn, demo)
        conn.commit()
        tokens = {}
        users = {
            "county-a": ("commander", A), "county-b": ("commander", B),
            "city": ("commander", CITY), "other-city": ("viewer", OTHER_CITY),
            "all": ("admin", None), "reporter-a": ("reporter", A),
        }  # fmt: skip
        for user, (role, area) in users.items():
            add_user(conn, user, role, area=area)
            tokens[user] = new_token(conn, user)
        villages = {
            c: [r[0] for r in conn.execute(
                "SELECT code FROM village WHERE county_code = %s ORDER BY code", [c])]
            for c in (A, B)
        }  # fmt: skip
    settings = Settings(data_dir=tmp / "data", write_rate_limit="1000/minute")
    base, server, thread = start_server(settings, url)
    yield {"url": url, "base": base, "tokens": tokens, "villages": villages}
    server.should_exit = True
    thread.join(timeout=10)
    drop_database(pg_cluster, url)


def client(two: dict, user: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {two['tokens'][user]}"} if user else {}
    return httpx.Client(base_url=two["base"], headers=headers, timeout=30)


def _warn(two: dict, user: str, codes: list[str], issue: bool = True, **kw) -> int:
    body = {
        "hazard": "rainstorm", "colour": kw.pop("colour", "yellow"), "village_codes": codes,
        "event_zh": "暴雨", "headline_zh": "暴雨预警", "description_zh": "测试。",
        "instruction_zh": "注意防范。", "reason": "test", "issue": issue, **kw,
    }  # fmt: skip
    with client(two, user) as c:
        r = c.post("/api/warnings", json=body)
    assert r.status_code == 201, r.text
    return r.json()["warning_id"]


@pytest.fixture(scope="module")
def data(two: dict) -> dict:
    """Warnings of A and B (one issued, one candidate each), a city-level warning over both,
    a field report in each county."""
    va, vb = two["villages"][A], two["villages"][B]
    out = {
        "a": _warn(two, "county-a", va[:3], action="prepare_evacuation", hazard="flash_flood"),
        "b": _warn(two, "county-b", vb[:2], colour="orange"),
        "b_candidate": _warn(two, "county-b", vb[2:4], issue=False),
        "b_spare": _warn(two, "county-b", vb[4:5], issue=False),
        "city": _warn(
            two, "city", [va[5], vb[5]], colour="red", action="evacuate_now", hazard="flash_flood"
        ),
    }
    with psycopg.connect(two["url"]) as conn:
        for key, code in (("report_a", va[0]), ("report_b", vb[0])):
            lon, lat = conn.execute(
                "SELECT ST_X(label_point), ST_Y(label_point) FROM village WHERE code = %s", [code]
            ).fetchone()
            out[key + "_point"] = (lon, lat)
    for key in ("report_a", "report_b"):
        lon, lat = out[key + "_point"]
        report = {"kind": "flood", "lon": lon, "lat": lat, "text": "水漫进村",
                  "observed_at": datetime.now(UTC).isoformat()}  # fmt: skip
        with client(two, "all") as c:
            r = c.post("/api/reports", json=report)
        assert r.status_code in (200, 201), r.text
        out[key] = r.json()["id"]
    return out


def _features(r: httpx.Response) -> list[dict]:
    assert r.status_code == 200, r.text
    return r.json()["features"]


def test_a_county_user_gets_nothing_of_the_other_county(two: dict, data: dict) -> None:
    vb = two["villages"][B]
    wb, rb = data["b"], data["report_b"]
    blocked = {  # one request per area route, each about county B's data
        ("GET", f"/api/warnings/{wb}"): None,
        ("GET", f"/api/warnings/{wb}.cap"): None,
        ("POST", f"/api/warnings/{data['b_candidate']}/issue"): {"reason": "x"},
        ("POST", f"/api/warnings/{data['b_spare']}/reject"): {"reason": "x"},
        ("POST", f"/api/warnings/{wb}/edit"): {"reason": "x", "headline_zh": "改"},
        ("POST", f"/api/warnings/{wb}/escalate"): {"reason": "x", "colour": "red"},
        ("POST", f"/api/warnings/{wb}/cancel"): {"reason": "x"},
        ("POST", "/api/warnings"): {
            "hazard": "rainstorm",
            "colour": "blue",
            "village_codes": vb[:1],
            "event_zh": "暴雨",
            "headline_zh": "暴雨",
            "description_zh": "测试",
            "instruction_zh": "注意",
            "reason": "x",
        },
        ("GET", f"/api/villages/{vb[0]}"): None,
        ("GET", f"/api/villages/{vb[0]}/rain"): None,
        ("GET", f"/api/villages/{vb[0]}/levels"): None,
        ("GET", f"/api/villages/{vb[0]}/warnings"): None,
        ("GET", f"/api/villages/{vb[0]}/frequency"): None,
        ("GET", f"/api/reports/{rb}"): None,
        ("GET", f"/api/reports/{rb}/photos/1"): None,
        ("POST", f"/api/reports/{rb}/verify"): {"status": "verified"},
        ("GET", f"/api/resources/summary?county={B}"): None,
        ("GET", f"/api/resources/experts?county={B}"): None,
        ("GET", f"/ogc/collections/villages/items/{vb[0]}"): None,
        ("GET", f"/ogc/collections/active-warnings/items/{wb}"): None,
    }
    with client(two, "county-a") as c:
        for (method, path), body in blocked.items():
            r = c.request(method, path, json=body)
            assert r.status_code == 403, (method, path, r.status_code, r.text)
            assert A in r.json()["detail"], r.json()  # the message names the caller's area
        lon, lat = data["report_b_point"]
        report = {"kind": "flood", "lon": lon, "lat": lat, "text": "水漫进村",
                  "observed_at": datetime.now(UTC).isoformat()}  # fmt: skip
    with client(two, "reporter-a") as c:
        r = c.post("/api/reports", json=report)
        assert r.status_code == 403 and A in r.text, r.text
    with client(two, "county-a") as c:
        listed = {f["id"] for f in _features(c.get("/api/warnings", params={"limit": 500}))}
        assert data["a"] in listed and data["city"] in listed  # the city's covers A too
        assert not listed & {wb, data["b_candidate"], data["b_spare"]}
        reports = _features(c.get("/api/reports"))
        assert {f["properties"]["village_code"][:6] for f in reports} == {A}
        for kind in ("shelter", "warehouse", "team", "expert"):
            near = _features(c.get("/api/resources/nearest", params={
                "kind": kind, "lon": lon, "lat": lat, "k": 100}))  # fmt: skip
            codes = {(f["properties"].get("admin_code") or f["properties"].get("serves_code")
                      or A)[:6] for f in near}  # fmt: skip
            assert B not in codes, kind
        summary = c.get("/api/resources/summary").json()
        assert all(g["code"][:6] == A for g in summary["groups"])
        assert all((e["properties"]["serves_code"] or A)[:6] == A
                   for e in _features(c.get("/api/resources/experts")))  # fmt: skip
        assert [r["code"] for r in c.get("/api/summary").json()["counties"]] == [A]
        for cid in OGC_AREA:
            items = _features(c.get(f"/ogc/collections/{cid}/items", params={"limit": 10000}))
            shown = [json.dumps(f["properties"]) for f in items]
            assert not [p for p in shown if B in p and A not in p], cid  # the city's has both
        # the city's warning covers A: seen, but a county may not act on the city's warning
        assert c.get(f"/api/warnings/{data['city']}").status_code == 200
        r = c.post(f"/api/warnings/{data['city']}/cancel", json={"reason": "x"})
        assert r.status_code == 403 and "issuing bureau" in r.text
        me = c.get("/api/me").json()
        assert (me["area"], me["area_name"]) == (A, f"麻阳苗族自治县 ({A})")


def test_tiles_are_drawn_and_cached_per_area(two: dict, data: dict) -> None:
    lon, lat = data["report_b_point"]
    x = int((lon + 180) / 360 * 2**12)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**12)
    for layer in TILE_AREA:
        path = f"/tiles/{layer}/12/{x}/{y}.mvt"
        with client(two, "all") as c:
            whole = c.get(path)
        with client(two, "city") as c:
            city = c.get(path)
        with client(two, "county-a") as c:
            county = c.get(path)
        if whole.status_code == 204:
            continue  # nothing of the layer near that village
        assert whole.status_code == 200 and city.content == whole.content, layer
        assert county.status_code == 204, layer  # B's features only: an empty tile for A
    with client(two, "county-a") as c:  # public layers stay the same for everyone
        assert c.get(f"/tiles/counties/12/{x}/{y}.mvt").status_code == 200


def test_the_city_user_sees_both_counties(two: dict, data: dict) -> None:
    with client(two, "city") as c:
        listed = {f["id"] for f in _features(c.get("/api/warnings", params={"limit": 500}))}
        assert {data["a"], data["b"], data["b_candidate"], data["city"]} <= listed
        assert c.get(f"/api/warnings/{data['b']}").status_code == 200
        assert c.get(f"/api/reports/{data['report_b']}").status_code == 200
        assert [r["code"] for r in c.get("/api/summary").json()["counties"]] == [B, A]
        villages = _features(c.get("/ogc/collections/villages/items", params={"limit": 1000}))
        assert {f["id"][:6] for f in villages} == {A, B}
    with client(two, "other-city") as c:  # 衡阳市: none of Huaihua's
        assert _features(c.get("/api/warnings")) == []
        assert c.get(f"/api/warnings/{data['a']}").status_code == 403
    with client(two) as c:  # the public sees every issued warning
        listed = {f["id"] for f in _features(c.get("/api/warnings", params={"limit": 500}))}
        assert {data["a"], data["b"], data["city"]} <= listed


def test_a_county_user_may_not_warn_outside_its_county(two: dict) -> None:
    va, vb = two["villages"][A], two["villages"][B]
    body = {
        "hazard": "rainstorm", "colour": "blue", "village_codes": [va[6], vb[6]],
        "event_zh": "暴雨", "headline_zh": "暴雨", "description_zh": "测试",
        "instruction_zh": "注意", "reason": "x",
    }  # fmt: skip
    with client(two, "county-a") as c:
        r = c.post("/api/warnings", json=body)
    assert r.status_code == 403 and vb[6] in r.text and A in r.text


def test_the_city_level_warning_is_the_city_bureaus_cap(two: dict, data: dict) -> None:
    with client(two, "city") as c:
        doc = c.get(f"/api/warnings/{data['city']}.cap").content
    xmlschema.XMLSchema(str(CAP_XSD)).validate(etree.fromstring(doc))
    root = etree.fromstring(doc)
    ident = root.findtext("cap:identifier", namespaces=CAP_NS)
    assert ident.startswith(CITY) and len(ident) == 31
    assert root.findtext("cap:sender", namespaces=CAP_NS).startswith(CITY)
    names = root.findall("cap:info/cap:senderName", namespaces=CAP_NS)
    assert names[0].text == "怀化市应急管理局"
    codes = [v.text for v in root.findall("cap:info/cap:area/cap:geocode/cap:value", CAP_NS)]
    assert {c[:6] for c in codes if len(c) == 12} == {A, B}
    with client(two, "county-a") as c:  # a county's own warning carries the county's code
        own = etree.fromstring(c.get(f"/api/warnings/{data['a']}.cap").content)
    assert own.findtext("cap:identifier", namespaces=CAP_NS).startswith(A)
    assert own.findtext("cap:sender", namespaces=CAP_NS).startswith(A)


def test_live_events_stay_in_their_area(two: dict, data: dict) -> None:
    """Replayed (SQL filter) and live (per-client filter) warning events of county A only."""
    with psycopg.connect(two["url"]) as conn:
        (start,) = conn.execute("SELECT coalesce(max(pos), 0) FROM event_log").fetchone()
    got: list[dict] = []
    done = threading.Event()

    def listen() -> None:
        headers = {"Authorization": f"Bearer {two['tokens']['county-a']}"}
        with httpx.stream("GET", f"{two['base']}/api/events", headers=headers, timeout=30,
                          params={"last_event_id": 0, "kinds": "warning"}) as r:  # fmt: skip
            for line in r.iter_lines():
                if line.startswith("data:"):
                    got.append(json.loads(line[5:]))
                    if got[-1]["id"] > start and got[-1]["payload"]["counties"] == [A]:
                        break
        done.set()

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    wb = _warn(two, "county-b", two["villages"][B][7:8])  # live: B first, then A
    wa = _warn(two, "county-a", two["villages"][A][7:8])
    assert done.wait(20), got
    ids = {e["payload"]["warning_id"] for e in got}
    assert data["a"] in ids and wa in ids and data["city"] in ids  # replayed and live
    assert not ids & {data["b"], data["b_candidate"], wb}
    assert all(A in e["payload"]["counties"] for e in got)


def test_the_city_summary_adds_up(two: dict, data: dict) -> None:
    with client(two, "city") as c:
        s = c.get("/api/summary", params={"by": "county"}).json()
    with client(two) as c:
        public = c.get("/api/summary").json()
    rows = {r["code"]: r for r in s["counties"]}
    with psycopg.connect(two["url"]) as conn:
        for county in (A, B):
            levels = dict(conn.execute(
                """SELECT v.colour, count(DISTINCT w.id) FROM warning w
                   JOIN warning_version v ON v.warning_id = w.id AND v.version = w.published_version
                   WHERE w.status = 'issued' AND w.expires_at > now()
                     AND EXISTS (SELECT FROM unnest(v.village_codes) c WHERE c LIKE %s)
                   GROUP BY 1""", [county + "%"]).fetchall())  # fmt: skip
            r = rows[county]
            assert r["warnings"] == {k: levels.get(k, 0) for k in r["warnings"]}
            assert public["counties"][[p["code"] for p in public["counties"]].index(county)][
                "warnings"] == r["warnings"]  # fmt: skip
            (cands,) = conn.execute(
                """SELECT count(*) FROM warning WHERE status = 'candidate'
                   AND expires_at > now() AND village_codes[1] LIKE %s""",
                [county + "%"],
            ).fetchone()
            assert r["candidates"] == cands
            (reports,) = conn.execute(
                "SELECT count(*) FROM field_report WHERE village_code LIKE %s", [county + "%"]
            ).fetchone()
            assert r["field_reports"] == reports == 1
            moved = conn.execute(
                """SELECT count(DISTINCT c) FROM warning w
                   JOIN warning_version v ON v.warning_id = w.id AND v.version = w.published_version
                   CROSS JOIN LATERAL unnest(v.village_codes) c
                   WHERE w.status = 'issued' AND w.expires_at > now() AND v.action IS NOT NULL
                     AND c LIKE %s""", [county + "%"]).fetchone()  # fmt: skip
            assert r["villages_to_move"] == moved[0]
            people = conn.execute(
                """SELECT coalesce(sum(least(population,
                                             coalesce(danger_zone_population, population))), 0)
                   FROM village WHERE code IN (
                       SELECT c FROM warning w JOIN warning_version v
                              ON v.warning_id = w.id AND v.version = w.published_version
                       CROSS JOIN LATERAL unnest(v.village_codes) c
                       WHERE w.status = 'issued' AND w.expires_at > now()
                         AND v.action IS NOT NULL AND c LIKE %s)""",
                [county + "%"],
            ).fetchone()[0]  # only flash floods ask to move here: danger-zone people
            assert r["people_to_move"] == people > 0
    total = s["total"]
    for key in ("villages_warned", "villages_to_move", "people_to_move", "candidates",
                "field_reports"):  # fmt: skip
        assert total[key] == sum(r[key] for r in s["counties"]), key
    for colour in ("blue", "yellow", "orange", "red"):
        assert total["warnings"][colour] == sum(r["warnings"][colour] for r in s["counties"])
    assert total["delivery"]["villages_targeted"] == sum(
        r["delivery"]["villages_targeted"] for r in s["counties"])  # fmt: skip
    assert public["total"]["candidates"] is None and public["total"]["delivery"] is None
    assert total["warnings"]["red"] == 2  # the city's warning counts in each of its counties


def test_users_keep_their_area_unless_told(two: dict) -> None:
    from riskmap.api.users import InvalidArgumentError, list_users, parse_area

    assert [parse_area(t) for t in (None, "all", "none", " 431200 ")] == [None, None, None, CITY]
    for bad in ("430000", "4312", "43120x"):
        with pytest.raises(InvalidArgumentError, match="city code"):
            parse_area(bad)
    with psycopg.connect(two["url"]) as conn:
        add_user(conn, "moving", "viewer", area=A)
        add_user(conn, "moving", "forecaster")  # a role change keeps the area
        area = {u["name"]: u["area_code"] for u in list_users(conn)}
        assert area["moving"] == A and area["all"] is None
        add_user(conn, "moving", "forecaster", area="all")
        assert {u["name"]: u["area_code"] for u in list_users(conn)}["moving"] is None
