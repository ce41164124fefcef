"""Field reports (灾情直报) over HTTP: post with real photos, read them back byte for byte, refuse
bad input naming the field, verify by role, and hear every change on riskmap_events."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import psycopg
import pytest
from PIL import Image

BEIJING = timezone(timedelta(hours=8))
VILLAGE = "431226102216"  # 龙冲塘村


def _png(colour: tuple[int, int, int], size: tuple[int, int] = (32, 24)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def point(service) -> tuple[float, float]:
    """A point inside the village (its label point)."""
    with psycopg.connect(service.db_url) as conn:
        return conn.execute(
            "SELECT ST_X(label_point), ST_Y(label_point) FROM village WHERE code = %s", [VILLAGE]
        ).fetchone()


def _report(point, **over) -> dict:
    lon, lat = point
    body = {
        "kind": "landslide",
        "lon": lon,
        "lat": lat,
        "observed_at": (datetime.now(BEIJING) - timedelta(minutes=20)).isoformat(),
        "text": "村后山体滑坡，堵塞村道约30米，2户房屋受威胁",
        "people_affected": 8,
        "injured": 0,
        "damage": {"houses_damaged": 2, "roads_blocked": 1},
    }
    return body | over


@pytest.fixture
def listener(service) -> Iterator[psycopg.Connection]:
    with psycopg.connect(service.db_url, autocommit=True) as conn:
        conn.execute("LISTEN riskmap_events")
        yield conn


def _event(conn: psycopg.Connection, report_id: int, status: str) -> dict | None:
    """The first field_report event about one report in that status within a few seconds.

    The live-events hub may re-announce an event with its log entry (``_event``); that key is
    not ours and is dropped.
    """
    for n in conn.notifies(timeout=5.0):
        payload = json.loads(n.payload)
        if payload.get("kind") == "field_report" and (payload.get("id"), payload.get("status")) == (
            report_id,
            status,
        ):
            payload.pop("_event", None)
            return payload
    return None


def test_post_json_resolves_the_village_and_notifies(service, point, listener) -> None:
    with service.client("reporter") as c:
        r = c.post("/api/reports", json=_report(point))
    assert r.status_code == 201, r.text
    feat = r.json()
    rid = feat["id"]
    props = feat["properties"]
    assert props["village_code"] == VILLAGE and props["village_name"] == "龙冲塘村"
    assert props["status"] == "received" and props["status_zh"] == "已接收"
    assert props["kind_zh"] == "滑坡" and props["reporter"] == "test-reporter"
    assert props["damage"] == {"houses_damaged": 2, "roads_blocked": 1}
    assert feat["geometry"]["coordinates"] == [round(point[0], 6), round(point[1], 6)]
    assert _event(listener, rid, "received") == {
        "kind": "field_report", "id": rid, "status": "received", "report_kind": "landslide",
        "village_code": VILLAGE, "counties": [VILLAGE[:6]],  # the area it concerns (0032)
    }  # fmt: skip
    with psycopg.connect(service.db_url) as conn:
        (covers,) = conn.execute(
            "SELECT ST_Covers(v.geom, r.geom) FROM field_report r JOIN village v "
            "ON v.code = r.village_code WHERE r.id = %s",
            [rid],
        ).fetchone()
        assert covers
        row = conn.execute(
            "SELECT kind, village_code, status FROM observed_event WHERE report_id = %s", [rid]
        ).fetchone()
        assert row == ("landslide", VILLAGE, "received")
    with service.client("viewer") as c:
        listed = c.get("/api/reports", params={"village_code": VILLAGE, "kind": "landslide"})
        other = c.get("/api/reports", params={"kind": "fire", "village_code": VILLAGE})
    assert listed.status_code == 200 and listed.json()["type"] == "FeatureCollection"
    assert rid in [f["id"] for f in listed.json()["features"]]
    assert rid not in [f["id"] for f in other.json()["features"]]


def test_photos_round_trip_byte_for_byte(service, point) -> None:
    photos = [_png((200, 30, 30)), _png((30, 30, 200), (40, 40))]
    form = _report(point, kind="flood", text="河水漫过桥面")
    form["damage"] = json.dumps(form["damage"])
    files = [("photos", (f"p{i}.png", data, "image/png")) for i, data in enumerate(photos)]
    with service.client("reporter") as c:
        r = c.post("/api/reports", data={k: str(v) for k, v in form.items()}, files=files)
    assert r.status_code == 201, r.text
    rid = r.json()["id"]
    with service.client("viewer") as c:
        one = c.get(f"/api/reports/{rid}")
        assert one.status_code == 200
        meta = one.json()["properties"]["photos"]
        assert [p["n"] for p in meta] == [1, 2]
        for p, data in zip(meta, photos, strict=True):
            assert p["sha256"] == hashlib.sha256(data).hexdigest() and p["bytes"] == len(data)
            got = c.get(p["url"])
            assert got.status_code == 200 and got.headers["content-type"] == "image/png"
            assert got.content == data
        assert meta[1]["width"] == 40 and meta[0]["height"] == 24
        assert c.get(f"/api/reports/{rid}/photos/3").status_code == 404
        assert c.get(f"/api/reports/{10**9}").status_code == 404


def _count(service) -> int:
    with psycopg.connect(service.db_url) as conn:
        return conn.execute("SELECT count(*) FROM field_report").fetchone()[0]


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"observed_at": (datetime.now(BEIJING) + timedelta(hours=1)).isoformat()}, "observed_at"),
        ({"observed_at": "2026-07-14T10:00:00"}, "observed_at"),  # no time zone
        ({"lon": 116.39, "lat": 39.9}, "lon"),  # Beijing, outside the county
        ({"lon": 250.0}, "lon"),
        ({"people_affected": -3}, "people_affected"),
        ({"text": "滑" * 2001}, "text"),
        ({"text": "   "}, "text"),
        ({"text": "滑坡\x00"}, "text"),  # PostgreSQL text cannot hold NUL
        ({"kind": "alien_landing"}, "kind"),
        ({"village_code": "431226999999"}, "village_code"),
        ({"village_code": "4312"}, "village_code"),
        ({"damage": {"houses_collapsed": -1}}, "houses_collapsed"),
        ({"colour": "red"}, "colour"),  # unknown fields are refused, not ignored
    ],
)
def test_bad_reports_are_refused_naming_the_field(service, point, over, field) -> None:
    before = _count(service)
    with service.client("reporter") as c:
        r = c.post("/api/reports", json=_report(point, **over))
    assert r.status_code == 422, r.text
    assert any(e["loc"][-1] == field for e in r.json()["detail"]), r.text
    assert _count(service) == before


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"this is not an image at all", "notes.png"),
        (_png((1, 2, 3))[:60], "truncated.png"),
        (b"", "empty.png"),
    ],
)
def test_bad_photos_are_refused_and_nothing_is_kept(service, point, data, name) -> None:
    before = _count(service)
    form = {k: str(v) for k, v in _report(point).items() if k != "damage"}
    files = [
        ("photos", ("ok.png", _png((9, 9, 9)), "image/png")),
        ("photos", (name, data, "image/png")),
    ]
    with service.client("reporter") as c:
        r = c.post("/api/reports", data=form, files=files)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"] == ["body", "photos[2]"]
    assert _count(service) == before


def test_other_bodies_are_refused(service) -> None:
    with service.client("reporter") as c:
        r = c.post("/api/reports", content=b"kind=flood", headers={"content-type": "text/plain"})
        assert r.status_code == 415
        r = c.post(
            "/api/reports", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "body"]


def test_only_reporters_and_up_may_post(service, point) -> None:
    with service.client("viewer") as c:
        assert c.post("/api/reports", json=_report(point)).status_code == 403
    with service.client() as c:
        assert c.post("/api/reports", json=_report(point)).status_code == 401
        assert c.get("/api/reports").status_code == 401


def test_verify_by_role_and_notify(service, point, listener) -> None:
    with service.client("reporter") as c:
        rid = c.post("/api/reports", json=_report(point, kind="collapse")).json()["id"]
    assert _event(listener, rid, "received") is not None
    verdict = {"status": "verified", "note": "乡镇干部现场核实"}
    with service.client("reporter") as c:
        assert c.post(f"/api/reports/{rid}/verify", json=verdict).status_code == 403
    with service.client("viewer") as c:
        assert c.post(f"/api/reports/{rid}/verify", json=verdict).status_code == 403
    with service.client() as c:
        assert c.post(f"/api/reports/{rid}/verify", json=verdict).status_code == 401
    with service.client("forecaster") as c:
        bad = c.post(f"/api/reports/{rid}/verify", json={"status": "maybe"})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "status"]
        assert c.post(f"/api/reports/{10**9}/verify", json=verdict).status_code == 404
        r = c.post(f"/api/reports/{rid}/verify", json=verdict)
    assert r.status_code == 200, r.text
    props = r.json()["properties"]
    assert props["status"] == "verified" and props["verifier"] == "test-forecaster"
    assert props["note"] == "乡镇干部现场核实" and props["verified_at"]
    assert _event(listener, rid, "verified") == {
        "kind": "field_report", "id": rid, "status": "verified", "report_kind": "collapse",
        "village_code": VILLAGE, "counties": [VILLAGE[:6]],  # the area it concerns (0032)
    }  # fmt: skip
    with psycopg.connect(service.db_url) as conn:
        view = "SELECT verified FROM observed_event WHERE report_id = %s"
        assert conn.execute(view, [rid]).fetchone() == (True,)
        with service.client("forecaster") as c:
            r = c.post(f"/api/reports/{rid}/verify", json={"status": "false"})
        assert r.status_code == 200 and r.json()["properties"]["status"] == "false"
        assert r.json()["properties"]["note"] == "乡镇干部现场核实"  # kept when none is given
        assert conn.execute(view, [rid]).fetchone() is None  # false reports are no events
    with service.client("viewer") as c:
        listed = c.get("/api/reports", params={"status": "false"}).json()["features"]
    assert rid in [f["id"] for f in listed]


def _far_village(db_url: str, point) -> str:
    """A village more than 10 km from the point, by PostGIS."""
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT code FROM village WHERE ST_Distance(geom::geography,"
            " ST_SetSRID(ST_MakePoint(%s, %s), 4326)::geography) > 10000 ORDER BY code LIMIT 1",
            list(point),
        ).fetchone()[0]


def test_a_report_naming_a_village_far_from_its_point_is_refused(service, point) -> None:
    far = _far_village(service.db_url, point)
    before = _count(service)
    with service.client("reporter") as c:
        r = c.post("/api/reports", json=_report(point, village_code=far))
    assert r.status_code == 422, r.text
    (err,) = r.json()["detail"]
    assert err["loc"][-1] == "village_code"
    assert VILLAGE in err["msg"] and "km" in err["msg"]  # says where the point really is
    assert _count(service) == before


def test_a_report_at_the_edge_may_name_the_neighbouring_village(service) -> None:
    """A point 100 m outside a village (GPS error, the reporter on the road) may name it; the
    same point may not name a village 2 km away."""
    with psycopg.connect(service.db_url) as conn:
        # a point inside VILLAGE, 100 m (geodesic) from a neighbour that shares no border there
        row = conn.execute(
            """WITH v AS (SELECT geom FROM village WHERE code = %(v)s),
                    n AS (SELECT o.code, o.geom FROM village o, v
                          WHERE o.code <> %(v)s AND ST_Touches(o.geom, v.geom) LIMIT 1),
                    ring AS (SELECT ST_Buffer(n.geom::geography, 100)::geometry AS g FROM n)
               SELECT n.code, ST_X(p), ST_Y(p) FROM n, v, ring,
                      LATERAL ST_PointOnSurface(ST_Intersection(
                          ST_Boundary(ring.g), v.geom)) p
               WHERE NOT ST_IsEmpty(ST_Intersection(ST_Boundary(ring.g), v.geom))""",
            {"v": VILLAGE},
        ).fetchone()
        neighbour, lon, lat = row
        inside, metres = conn.execute(
            "SELECT (SELECT code FROM village WHERE ST_Covers(geom, ST_SetSRID("
            "ST_MakePoint(%(x)s, %(y)s), 4326)) ORDER BY code LIMIT 1),"
            " ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(%(x)s, %(y)s), 4326)::geography)"
            " FROM village WHERE code = %(n)s",
            {"x": lon, "y": lat, "n": neighbour},
        ).fetchone()
        far = conn.execute(
            "SELECT code FROM village WHERE ST_Distance(geom::geography, ST_SetSRID("
            "ST_MakePoint(%(x)s, %(y)s), 4326)::geography) BETWEEN 1000 AND 3000 LIMIT 1",
            {"x": lon, "y": lat},
        ).fetchone()[0]
    assert inside == VILLAGE and 90 < metres < 110
    with service.client("reporter") as c:
        ok = c.post("/api/reports", json=_report((lon, lat), village_code=neighbour))
        assert ok.status_code == 201, ok.text
        assert ok.json()["properties"]["village_code"] == neighbour  # the reporter's word
        own = c.post("/api/reports", json=_report((lon, lat)))
        assert own.json()["properties"]["village_code"] == VILLAGE  # none named: the point's
        bad = c.post("/api/reports", json=_report((lon, lat), village_code=far))
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][-1] == "village_code"
