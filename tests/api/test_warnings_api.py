"""/api/warnings over real HTTP: the GeoJSON list, one warning, and the review actions by role.

The service's database is shared with the other API modules: the actions here only touch
warnings this module creates (rule ids ``test.api.*``), fired "now" with a long hold so no rules
run of the storm expires them.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
import xmlschema
from lxml import etree
from psycopg.rows import dict_row
from shapely.geometry import shape
from shapely.validation import explain_validity

from riskmap.api.routers.warnings import STATUSES
from riskmap.api.users import PERMISSIONS, ROLES
from riskmap.geo.warnings import lifecycle
from riskmap.geo.warnings.proposal import Proposal

ACTIONS = {
    "issue": ("review", {"reason": "核实无误"}),
    "edit": ("review", {"reason": "措辞", "instruction_zh": "请注意防范。"}),
    "reject": ("review", {"reason": "误报"}),
    "escalate": ("review", {"reason": "雨势加大", "colour": "orange"}),
    "cancel": ("cancel", {"reason": "解除"}),
}
_serial = itertools.count(1)
CAP_XSD = Path(__file__).resolve().parents[2] / "ingest" / "feeds" / "schemas" / "CAP-v1.2.xsd"
CAP_NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}


def make_warning(db_url: str, villages: list[str], *, colour: str = "yellow", **kw) -> int:
    """A new warning of its own rule (so nothing merges into it); a candidate unless
    ``review="auto"``."""
    rule = f"test.api.{next(_serial)}.{datetime.now(UTC).timestamp():.0f}"
    p = Proposal(
        rule_id=rule,
        rule_version="1",
        hazard="rainstorm",
        colour=colour,
        at=datetime.now(UTC),
        village_codes=tuple(villages),
        evidence={v: {"rain_3h": 88.5, "threshold": 80.0} for v in villages},
        event_zh="暴雨",
        event_en="Rainstorm",
        headline_zh=f"测试暴雨{colour}预警",
        headline_en=f"Test rainstorm warning ({colour})",
        description_zh="测试用。3小时降雨88.5毫米。",
        description_en="For tests. 88.5 mm of rain in 3 h.",
        instruction_zh="注意防范。",
        instruction_en="Take care.",
        severity="Moderate",
        hold_hours=720,
        **kw,
    )
    with psycopg.connect(db_url) as conn:
        (change,) = lifecycle.apply_proposals(conn, [p], p.at, actor="tests")
        conn.commit()
    return change.warning_id


def villages(db_url: str, n: int, offset: int = 0) -> list[str]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT code FROM village ORDER BY code LIMIT %s OFFSET %s", (n, offset)
        ).fetchall()
    return [r[0] for r in rows]


def db_rows(db_url: str, query: str, params: dict | None = None) -> list[dict]:
    with psycopg.connect(db_url, row_factory=dict_row) as conn:
        return conn.execute(query, params or {}).fetchall()


def all_pages(client, url: str) -> list[dict]:
    features, seen = [], 0
    while url:
        r = client.get(url)
        assert r.status_code == 200, r.text
        body = r.json()
        features += body["features"]
        seen += 1
        assert seen < 200
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    return features


# --------------------------------------------------------------------------- list


def test_public_list_shows_published_issued_warnings_with_geometry(service) -> None:
    """Issued warnings *in force now*: the storm's (July) have expired by their own time even
    where no rules run has sent their all-clear yet, so they are not listed as issued."""
    make_warning(service.db_url, villages(service.db_url, 2, 210), review="auto")
    with service.client() as c:
        r = c.get("/api/warnings", params={"limit": 500})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/geo+json")
    body = r.json()
    issued = db_rows(
        service.db_url,
        "SELECT id, published_version FROM warning WHERE status='issued' AND expires_at > now()",
    )
    lapsed = db_rows(
        service.db_url, "SELECT id FROM warning WHERE status='issued' AND expires_at <= now()"
    )
    assert lapsed, "the storm leaves issued warnings whose time ran out"
    assert not {f["id"] for f in body["features"]} & {w["id"] for w in lapsed}
    assert body["type"] == "FeatureCollection"
    assert {f["id"] for f in body["features"]} == {w["id"] for w in issued}
    assert body["numberMatched"] == body["numberReturned"] == len(issued) > 0
    for f in body["features"]:
        p = f["properties"]
        assert f["geometry"]["type"] in ("Polygon", "MultiPolygon") and f["geometry"]["coordinates"]
        assert p["status"] == "issued" and p["cap_identifier"]
        assert p["version"] == p["published_version"]  # the public sees what was published
        assert p["level"] in ("四级", "三级", "二级", "一级") and p["colour"]
        assert p["village_count"] == len(p["village_codes"]) > 0
        assert p["headline_zh"] and p["headline_en"] is not None
        assert any(link["href"].endswith(f"/api/warnings/{f['id']}.cap") for link in p["links"])


def test_public_list_hides_pending_drafts(service) -> None:
    """An issued warning whose escalation awaits review: the public keeps the published level."""
    wid = make_warning(service.db_url, villages(service.db_url, 2, 40), colour="yellow")
    with psycopg.connect(service.db_url) as conn:
        lifecycle.issue(conn, wid, "tests")
        # a rule refiring higher with forecaster review leaves a draft Update
        w = db_rows(service.db_url, "SELECT rule_id, village_codes FROM warning WHERE id=%(i)s",
                    {"i": wid})[0]  # fmt: skip
        p = Proposal(
            rule_id=w["rule_id"], rule_version="1", hazard="rainstorm", colour="red",
            at=datetime.now(UTC), village_codes=tuple(w["village_codes"]), evidence={},
            event_zh="暴雨", event_en="Rainstorm", headline_zh="测试暴雨红色预警",
            headline_en="Test rainstorm (red)", description_zh="d", description_en="d",
            instruction_zh="i", instruction_en="i", hold_hours=720,
        )  # fmt: skip
        lifecycle.apply_proposals(conn, [p], p.at, actor="tests")
        conn.commit()
    with service.client() as c:
        (pub,) = [f for f in c.get("/api/warnings?limit=500").json()["features"] if f["id"] == wid]
    with service.client("viewer") as c:
        (mine,) = [
            f for f in c.get("/api/warnings?limit=500&status=issued").json()["features"]
            if f["id"] == wid
        ]  # fmt: skip
    assert pub["properties"]["colour"] == "yellow" and pub["properties"]["version"] == 1
    assert mine["properties"]["colour"] == "red" and mine["properties"]["pending_review"]
    assert mine["properties"]["version"] == 2 and mine["properties"]["published_version"] == 1


def test_token_list_has_every_status(service) -> None:
    make_warning(service.db_url, villages(service.db_url, 1, 215))  # a candidate in force
    with service.client("viewer") as c:
        features = all_pages(c, "/api/warnings?limit=7")
    ids = [f["id"] for f in features]
    rows = db_rows(service.db_url, "SELECT id, status FROM warning")
    assert len(ids) == len(set(ids)) == len(rows)
    assert {f["properties"]["status"] for f in features} >= {"candidate", "issued", "expired"}
    assert all(f["geometry"] is not None for f in features)


def test_public_may_not_list_candidates(service) -> None:
    with service.client() as c:
        r = c.get("/api/warnings", params={"status": "candidate"})
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert c.get("/api/warnings", params={"status": "cancelled,expired"}).status_code == 200


def test_paging_links_and_counts(service) -> None:
    with service.client("viewer") as c:
        first = c.get("/api/warnings", params={"limit": 2}).json()
        rels = {link["rel"] for link in first["links"]}
        assert first["numberReturned"] == 2 and first["numberMatched"] > 2
        assert rels == {"self", "next"}
        nxt = next(link["href"] for link in first["links"] if link["rel"] == "next")
        second = c.get(nxt).json()
        assert {link["rel"] for link in second["links"]} >= {"self", "prev"}
        assert not {f["id"] for f in first["features"]} & {f["id"] for f in second["features"]}
        beyond = c.get("/api/warnings", params={"offset": 100000}).json()
        assert beyond["features"] == [] and beyond["numberReturned"] == 0
        assert beyond["numberMatched"] == first["numberMatched"]


def _ids(client, **params) -> set[int]:
    r = client.get("/api/warnings", params={"limit": 500, **params})
    assert r.status_code == 200, r.text
    return {f["id"] for f in r.json()["features"]}


def test_filters_match_the_database(service) -> None:
    shown = """SELECT w.id, w.hazard, w.village_codes, v.colour, w.expires_at FROM warning w
               JOIN warning_version v ON v.warning_id = w.id AND v.version = w.current_version"""
    rows = db_rows(service.db_url, shown)
    with service.client("viewer") as c:
        for colour, level in (("red", "一级"), ("orange", "二级"), ("yellow", "三级")):
            expected = {r["id"] for r in rows if r["colour"] == colour}
            assert _ids(c, colour=colour) == expected
            assert _ids(c, level=level) == expected
        assert _ids(c, hazard="flash_flood") == {
            r["id"] for r in rows if r["hazard"] == "flash_flood"
        }
        code = rows[0]["village_codes"][0]
        assert _ids(c, village=code) == {r["id"] for r in rows if code in r["village_codes"]}
        # expired: ended by a run, or open but past its expiry (no run has sent the all-clear)
        lapsed = """SELECT id FROM warning WHERE status = 'expired'
                    OR (status IN ('candidate', 'issued') AND expires_at <= now())"""
        status = {r["id"] for r in db_rows(service.db_url, lapsed)}
        assert _ids(c, status="expired") == status
        # a box around Mayang finds them all, one in the Atlantic none
        assert _ids(c, bbox="109.3,27.5,110.2,28.2") == {r["id"] for r in rows}
        assert _ids(c, bbox="-30,0,-29,1") == set()
        assert _ids(c, datetime="2000-01-01T00:00:00Z/2000-01-02T00:00:00Z") == set()
        # from the storm's morning on: all but warnings over before it (other modules of the
        # shared database leave some, e.g. test_ogc's of 1 May)
        storm_morning = datetime(2026, 7, 14, 1, tzinfo=UTC)
        since = {r["id"] for r in rows if r["expires_at"] >= storm_morning}
        assert len(since) >= len(rows) - 8
        assert _ids(c, datetime="2026-07-14T09:00:00+08:00/..") == since
        storm = _ids(c, datetime="../2026-07-14T12:00:00+08:00")
        assert storm and storm < {r["id"] for r in rows}  # later warnings (made by tests) not


@pytest.mark.parametrize(
    "params",
    [
        {"bbox": "1,2,3"},
        {"bbox": "10,10,5,5"},
        {"datetime": "2026-07-14T09:00:00"},
        {"datetime": "2026-07-15T00:00:00Z/2026-07-14T00:00:00Z"},
        {"status": "pending"},
        {"level": "五级"},
        {"colour": "purple"},
        {"village": "4312"},
        {"limit": 0},
        {"limit": 5000},
    ],
)
def test_bad_filters_are_422(service, params: dict) -> None:
    with service.client("viewer") as c:
        assert c.get("/api/warnings", params=params).status_code == 422


# --------------------------------------------------------------------------- one warning


def test_detail_public_and_with_token(service) -> None:
    (issued,) = db_rows(
        service.db_url, "SELECT id FROM warning WHERE status='issued' ORDER BY id LIMIT 1"
    )
    wid = issued["id"]
    with service.client() as c:
        pub = c.get(f"/api/warnings/{wid}").json()
    assert pub["type"] == "Feature" and pub["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert pub["evidence"]["rule_id"] and pub["evidence"]["villages"]
    assert all(v["state"] == "published" for v in pub["versions"])
    assert not {"audit", "impact", "delivery"} & set(pub)  # internal: phone numbers, names
    with service.client("viewer") as c:
        full = c.get(f"/api/warnings/{wid}").json()
    audit = db_rows(
        service.db_url,
        "SELECT action, actor FROM warning_audit WHERE warning_id=%(i)s ORDER BY id",
        {"i": wid},
    )
    assert [(a["action"], a["actor"]) for a in full["audit"]] == [
        (a["action"], a["actor"]) for a in audit
    ]
    outbox = db_rows(
        service.db_url,
        "SELECT channel, count(*) n FROM outbox WHERE warning_id=%(i)s GROUP BY channel",
        {"i": wid},
    )
    by_channel = full["delivery"]["by_channel"]
    assert {o["channel"]: o["n"] for o in outbox} == {
        k: sum(v.values()) for k, v in by_channel.items()
    }
    assert "cap-feed" in by_channel
    assert full["impact"]["totals"]["villages"] == len(full["properties"]["village_codes"])
    assert full["impact"]["totals"]["people"] > 0


def test_candidate_detail_needs_a_token_and_unknown_is_404(service) -> None:
    # a candidate still in force (the storm's, from July, have run out: they show as expired)
    (cand,) = db_rows(
        service.db_url,
        "SELECT id FROM warning WHERE status='candidate' AND expires_at > now()"
        " ORDER BY id LIMIT 1",
    )
    with service.client() as c:
        assert c.get(f"/api/warnings/{cand['id']}").status_code == 401
        assert c.get("/api/warnings/987654").status_code == 404
        assert c.get("/api/warnings/abc").status_code == 422
    with service.client("viewer") as c:
        body = c.get(f"/api/warnings/{cand['id']}").json()
        assert body["properties"]["status"] == "candidate"
        assert [v["state"] for v in body["versions"]] == ["draft"]
        assert c.get("/api/warnings/987654").status_code == 404


# --------------------------------------------------------------------------- actions


@pytest.mark.parametrize("action", list(ACTIONS))
def test_roles_without_permission_change_nothing(service, action: str) -> None:
    permission, body = ACTIONS[action]
    wid = make_warning(service.db_url, villages(service.db_url, 2, 60))
    if action == "cancel":
        with psycopg.connect(service.db_url) as conn:
            lifecycle.issue(conn, wid, "tests")
            conn.commit()
    before = db_rows(
        service.db_url, "SELECT count(*) n FROM warning_audit WHERE warning_id=%(i)s", {"i": wid}
    )
    with service.client() as c:
        r = c.post(f"/api/warnings/{wid}/{action}", json=body)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    for role in ROLES:
        if role in PERMISSIONS[permission]:
            continue
        with service.client(role) as c:
            assert c.post(f"/api/warnings/{wid}/{action}", json=body).status_code == 403, role
    after = db_rows(
        service.db_url, "SELECT count(*) n FROM warning_audit WHERE warning_id=%(i)s", {"i": wid}
    )
    assert before == after


def test_forecaster_reviews_and_commander_cancels(service) -> None:
    wid = make_warning(service.db_url, villages(service.db_url, 3, 80))
    url = f"/api/warnings/{wid}"
    with service.client("forecaster") as f, service.client("commander") as k:
        r = f.post(url + "/escalate", json={"reason": "雨势加大", "colour": "orange"})
        assert r.status_code == 200, r.text
        assert r.json() | {"version": 1} == {
            "warning_id": wid, "action": "escalate", "version": 1, "status": "candidate",
            "colour": "orange", "published": False, "actor": "test-forecaster",
        }  # fmt: skip
        r = f.post(url + "/edit", json={"reason": "补充", "instruction_zh": "立即转移。"})
        assert r.status_code == 200 and not r.json()["published"]
        r = f.post(url + "/issue", json={"reason": "核实"})
        assert r.status_code == 200 and r.json()["status"] == "issued" and r.json()["published"]
        assert f.post(url + "/issue", json={"reason": "again"}).status_code == 409
        assert f.post(url + "/reject", json={"reason": "late"}).status_code == 409
        r = f.post(url + "/escalate", json={"reason": "更重", "colour": "red"})
        assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["published"]
        assert (
            f.post(url + "/escalate", json={"reason": "same", "colour": "red"}).status_code == 409
        )
        assert f.post(url + "/cancel", json={"reason": "no"}).status_code == 403
        r = k.post(url + "/cancel", json={"reason": "雨停"})
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        assert k.post(url + "/cancel", json={"reason": "twice"}).status_code == 409
        assert f.post(url + "/edit", json={"reason": "x", "headline_zh": "新"}).status_code == 409
    audit = db_rows(
        service.db_url,
        "SELECT action, actor, reason FROM warning_audit WHERE warning_id=%(i)s ORDER BY id",
        {"i": wid},
    )
    people = [(a["action"], a["actor"], a["reason"]) for a in audit if a["actor"] != "tests"]
    assert ("escalate", "test-forecaster", "雨势加大") in people
    assert ("edit", "test-forecaster", "补充") in people
    assert ("issue", "test-forecaster", "核实") in people
    assert ("cancel", "test-commander", "雨停") in people
    versions = db_rows(
        service.db_url,
        "SELECT msg_type, state FROM warning_version WHERE warning_id=%(i)s ORDER BY version",
        {"i": wid},
    )
    assert [(v["msg_type"], v["state"]) for v in versions] == [
        ("Alert", "published"), ("Update", "published"), ("Cancel", "published"),
    ]  # fmt: skip
    with service.client() as c:
        assert wid not in _ids(c)
        assert wid in _ids(c, status="cancelled")


def test_reject_a_candidate_hides_it_from_the_public(service) -> None:
    wid = make_warning(service.db_url, villages(service.db_url, 1, 100))
    with service.client("admin") as a:
        r = a.post(f"/api/warnings/{wid}/reject", json={"reason": "雷达杂波"})
        assert r.status_code == 200 and r.json()["status"] == "rejected"
        assert a.post(f"/api/warnings/{wid}/cancel", json={"reason": "x"}).status_code == 409
        assert a.get(f"/api/warnings/{wid}").json()["properties"]["status"] == "rejected"
    with service.client() as c:
        assert c.get(f"/api/warnings/{wid}").status_code == 401
        assert c.get(f"/api/warnings/{wid}.cap").status_code == 404


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("issue", {}),
        ("issue", {"reason": ""}),
        ("escalate", {"reason": "x", "colour": "purple"}),
        ("edit", {"reason": "x"}),
        ("edit", {"reason": "x", "colour": "red"}),
        ("cancel", {"reason": "x", "extra": 1}),
    ],
)
def test_bad_action_bodies_are_422(service, action: str, body: dict) -> None:
    with service.client("admin") as c:
        (cand,) = db_rows(service.db_url, "SELECT id FROM warning ORDER BY id LIMIT 1")
        assert c.post(f"/api/warnings/{cand['id']}/{action}", json=body).status_code == 422


def test_unknown_warning_action_is_404(service) -> None:
    with service.client("commander") as c:
        assert c.post("/api/warnings/987654/issue", json={"reason": "x"}).status_code == 404
        assert c.post("/api/warnings/987654/cancel", json={"reason": "x"}).status_code == 404


def test_list_etag_and_fresh_after_a_change(service) -> None:
    wid = make_warning(service.db_url, villages(service.db_url, 2, 120))
    with service.client() as c, service.client("forecaster") as f:
        first = c.get("/api/warnings", params={"limit": 500})
        etag = first.headers["etag"]
        assert wid not in {x["id"] for x in first.json()["features"]}
        again = c.get("/api/warnings", params={"limit": 500}, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.headers["etag"] == etag
        assert f.post(f"/api/warnings/{wid}/issue", json={"reason": "核实"}).status_code == 200
        after = c.get("/api/warnings", params={"limit": 500}, headers={"If-None-Match": etag})
        assert after.status_code == 200 and after.headers["etag"] != etag
        assert wid in {x["id"] for x in after.json()["features"]}
        # a token holder's page is a different page (drafts), never the public one
        assert (
            f.get("/api/warnings", params={"limit": 500}).headers["etag"] != after.headers["etag"]
        )


# --------------------------------------------------------------------------- filter values


def test_a_level_may_be_named_by_grade_number_or_colour(service) -> None:
    rows = db_rows(
        service.db_url,
        """SELECT w.id, v.colour FROM warning w
           JOIN warning_version v ON v.warning_id = w.id AND v.version = w.current_version""",
    )
    expected = {r["id"] for r in rows if r["colour"] == "red"}
    assert expected  # the storm's red warnings
    with service.client("viewer") as c:
        for word in ("red", "1", "一级", "红色"):
            assert _ids(c, level=word) == expected, word
        both = {r["id"] for r in rows if r["colour"] in ("red", "orange")}
        assert _ids(c, level="red,二级") == both


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("hazard", "bogus", "flash_flood"),
        ("rule", "no.such.rule", "flash_flood.observed"),
        ("status", "active-ish", "candidate"),
        ("level", "五级", "一级"),
        ("colour", "purple", "orange"),
    ],
)
def test_unknown_filter_values_are_422_naming_the_parameter(service, name, value, allowed) -> None:
    with service.client("viewer") as c:
        r = c.get("/api/warnings", params={name: value})
    assert r.status_code == 422, r.text
    (err,) = r.json()["detail"]
    assert err["loc"] == ["query", name]
    assert value in err["msg"] and allowed in err["msg"]  # says what was wrong and what is allowed


def test_a_known_hazard_without_warnings_is_an_empty_page_not_an_error(service) -> None:
    with service.client("viewer") as c:
        stored = {r["hazard"] for r in db_rows(service.db_url, "SELECT hazard FROM warning")}
        assert "earthquake" not in stored  # a built-in rule's hazard the storm never raised
        assert _ids(c, hazard="earthquake") == set()
        assert _ids(c, hazard="flash_flood,earthquake")


# --------------------------------------------------------------------------- geometry


def test_every_geojson_area_is_valid(service) -> None:
    with service.client("viewer") as c:
        features = all_pages(c, "/api/warnings?limit=100&status=" + ",".join(STATUSES))
        assert features
        for f in features:
            geom = shape(f["geometry"])
            assert geom.is_valid and not geom.is_empty, (f["id"], explain_validity(geom))
            detail = c.get(f"/api/warnings/{f['id']}").json()
            geom = shape(detail["geometry"])
            assert geom.is_valid and not geom.is_empty, (f["id"], explain_validity(geom))


# --------------------------------------------------------------------------- draft preview


def test_reviewers_preview_the_cap_of_a_draft(service) -> None:
    schema = xmlschema.XMLSchema(str(CAP_XSD))
    codes = villages(service.db_url, 3, offset=30)
    wid = make_warning(service.db_url, codes, colour="orange")
    url = f"/api/warnings/{wid}.cap"
    with service.client() as c:
        assert c.get(url).status_code == 404  # never published: nothing public
        assert c.get(url, params={"draft": 1}).status_code == 401
    for role in ROLES:
        with service.client(role) as c:
            r = c.get(url, params={"draft": 1})
        if "review" not in PERMISSIONS or role not in PERMISSIONS["review"]:
            assert r.status_code == 403, (role, r.text)
            continue
        assert r.status_code == 200, (role, r.text)
        assert r.headers["content-type"].startswith("application/cap+xml")
        assert "no-store" in r.headers["cache-control"]
        schema.validate(r.content)
        doc = etree.fromstring(r.content)
        assert doc.findtext("cap:status", namespaces=CAP_NS) == "Draft"
        assert doc.findtext("cap:msgType", namespaces=CAP_NS) == "Alert"
        assert doc.findtext("cap:identifier", namespaces=CAP_NS) == f"riskmap-draft-{wid}-1"
        note = doc.findtext("cap:note", namespaces=CAP_NS)
        assert "预览草稿" in note and "not issued" in note
        zh = doc.find("cap:info", namespaces=CAP_NS)
        assert zh.findtext("cap:headline", namespaces=CAP_NS) == "测试暴雨orange预警"
        geocodes = zh.xpath(
            "cap:area/cap:geocode[cap:valueName='GB/T 2260 village']/cap:value/text()",
            namespaces=CAP_NS,
        )
        assert sorted(geocodes) == sorted(codes)
    with service.client("forecaster") as c:
        bad = c.get(url, params={"draft": 1, "version": 1})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "version"]
        assert c.post(f"/api/warnings/{wid}/issue", json={"reason": "预览无误"}).status_code == 200
        assert c.get(url, params={"draft": 1}).status_code == 404  # nothing awaits review now
        public = etree.fromstring(c.get(url).content)
        assert public.findtext("cap:status", namespaces=CAP_NS) == "Actual"
        assert public.findtext("cap:note", namespaces=CAP_NS) is None


def test_the_preview_of_an_update_references_what_was_sent(service) -> None:
    """An issued warning whose rule refired higher, awaiting review: the preview is the Update
    that issuing would send, referencing the published Alert."""
    wid = make_warning(service.db_url, villages(service.db_url, 2, 50), colour="yellow")
    with psycopg.connect(service.db_url) as conn:
        lifecycle.issue(conn, wid, "tests")
        (rule, codes, sent) = conn.execute(
            "SELECT w.rule_id, w.village_codes, v.cap_identifier FROM warning w"
            " JOIN warning_version v ON v.warning_id = w.id AND v.version = 1 WHERE w.id = %s",
            [wid],
        ).fetchone()
        p = Proposal(
            rule_id=rule, rule_version="1", hazard="rainstorm", colour="red",
            at=datetime.now(UTC), village_codes=tuple(codes), evidence={},
            event_zh="暴雨", event_en="Rainstorm", headline_zh="测试暴雨红色预警",
            headline_en="Test rainstorm (red)", description_zh="d", description_en="d",
            instruction_zh="i", instruction_en="i", hold_hours=720,
        )  # fmt: skip
        lifecycle.apply_proposals(conn, [p], p.at, actor="tests")
        conn.commit()
    with service.client("commander") as c:
        r = c.get(f"/api/warnings/{wid}.cap", params={"draft": 1})
        public = etree.fromstring(c.get(f"/api/warnings/{wid}.cap").content)
    assert r.status_code == 200, r.text
    doc = etree.fromstring(r.content)
    assert doc.findtext("cap:msgType", namespaces=CAP_NS) == "Update"
    assert doc.findtext("cap:status", namespaces=CAP_NS) == "Draft"
    refs = doc.findtext("cap:references", namespaces=CAP_NS).split()
    assert [ref.split(",")[1] for ref in refs] == [sent]
    assert doc.findtext("cap:info/cap:headline", namespaces=CAP_NS) == "测试暴雨红色预警"
    # the public still has the Alert
    assert public.findtext("cap:identifier", namespaces=CAP_NS) == sent
