"""Every CAP document the service emits validates against the OASIS CAP 1.2 schema and follows
the profile: GB/T 35965.1 identifiers, Beijing times, references on Update and Cancel, two
one-language <info> blocks, short areaDesc, valid hole-free polygons of at most six decimals,
one geocode per village; and the ATOM index lists exactly the warnings in force."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import shapely
import xmlschema
from lxml import etree
from psycopg.rows import dict_row
from shapely.geometry import Polygon

from riskmap.geo.warnings import lifecycle
from riskmap.geo.warnings.cap_polygons import MAX_RING_POINTS, area_polygons
from riskmap.geo.warnings.cap_xml import VILLAGE_GEOCODE, cap_polygons
from riskmap.geo.warnings.lifecycle.expiry import end_expired
from riskmap.geo.warnings.proposal import Proposal

ROOT = Path(__file__).resolve().parents[2]
CAP_XSD = ROOT / "ingest" / "feeds" / "schemas" / "CAP-v1.2.xsd"
NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2", "a": "http://www.w3.org/2005/Atom"}
POINT = re.compile(r"^-?\d{1,3}(\.\d{1,6})?,-?\d{1,3}(\.\d{1,6})?$")
BEIJING_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+08:00$")


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(CAP_XSD))


def _proposal(rule: str, codes: list[str], colour: str, **kw) -> Proposal:
    return Proposal(
        rule_id=rule, rule_version="2", hazard="flash_flood", colour=colour,
        at=datetime.now(UTC), village_codes=tuple(codes),
        evidence={c: {"rain_1h": 61.0, "threshold": 54.0} for c in codes},
        event_zh="山洪灾害", event_en="Flash flood", headline_zh="测试山洪灾害预警",
        headline_en="Test flash flood warning", description_zh="测试。",
        description_en="Test.", instruction_zh="准备转移。", instruction_en="Get ready to leave.",
        category="Geo", hold_hours=720, action="prepare_evacuation", **kw,
    )  # fmt: skip


# The fates the lifecycle_warnings fixture gives its own warnings, by hand: which are in force now.
IN_FORCE = ("drill", "in_force")
NOT_IN_FORCE = ("cancelled", "lapsed", "ended", "candidate", "rejected")
CAP_LINK = re.compile(r"/api/warnings/(?P<id>\d+)\.cap\?version=(?P<version>\d+)$")


@pytest.fixture(scope="module")
def lifecycle_warnings(service) -> Iterator[dict[str, int]]:
    """Own warnings covering every message kind and every fate, each set here by hand:

    - ``cancelled``: Alert → Update → Cancel (Actual, over many villages whose union has holes);
    - ``drill``: an auto-issued drill (Exercise) that stays in force;
    - ``in_force``: issued now with a 30-day hold;
    - ``lapsed``: issued three hours ago with a one-hour hold, so its expiry has passed (no rules
      run has sent its all-clear yet: it is still marked issued);
    - ``ended``: the same, then ended by its expiry (all-clear published);
    - ``candidate``: never issued; ``rejected``: a candidate a forecaster rejected.

    Afterwards the in-force Actual warning is cancelled, the candidate rejected and the lapsed
    one ended, so later modules sharing the service see no more of them than of the drill."""
    with psycopg.connect(service.db_url) as conn:
        codes = [r[0] for r in conn.execute("SELECT code FROM village ORDER BY code")]
        now = datetime.now(UTC) - timedelta(minutes=5)  # issued a minute later: effective now
        ago = now - timedelta(hours=3)
        stamp = f"{now.timestamp():.0f}"
        big = _proposal(f"test.cap.big.{stamp}", codes[::2], "yellow")
        drill = _proposal(
            f"test.cap.drill.{stamp}", codes[1:4], "orange", review="auto", cap_status="Exercise"
        )
        (a,) = lifecycle.apply_proposals(conn, [big], big.at, actor="tests")
        (d,) = lifecycle.apply_proposals(conn, [drill], drill.at, actor="tests")
        lifecycle.issue(conn, a.warning_id, "tests", "test")
        lifecycle.escalate(conn, a.warning_id, "orange", "tests", "test")
        lifecycle.cancel(conn, a.warning_id, "tests", "test")
        # two villages each, off the villages above (odd positions, from the end)
        spare = codes[1::2][::-1]
        own = {"cancelled": a.warning_id, "drill": d.warning_id}
        rules: dict[str, str] = {}
        for i, (name, at, hold) in enumerate(
            [
                ("in_force", now, 720),
                ("lapsed", ago, 1),
                ("ended", ago, 1),
                ("candidate", now, 720),
                ("rejected", now, 720),
            ]
        ):
            villages = spare[2 * i : 2 * i + 2]
            p = replace(
                _proposal(f"test.cap.{name}.{stamp}", villages, "red"), at=at, hold_hours=hold
            )
            rules[name] = p.rule_id
            (made,) = lifecycle.apply_proposals(conn, [p], at, actor="tests")
            assert made.action == "propose", made  # not suppressed by another warning
            assert sorted(lifecycle.get_warning(conn, made.warning_id)["village_codes"]) == sorted(
                villages
            )
            own[name] = made.warning_id
            if name in ("in_force", "lapsed", "ended"):
                lifecycle.issue(
                    conn, made.warning_id, "tests", "test", at=at + timedelta(minutes=1)
                )
            if name == "ended":  # what a rules run does first: end what expired, with all-clear
                with conn.transaction():
                    (end,) = end_expired(conn, now, p.rule_id, p.hazard)
                assert (end.warning_id, end.status) == (made.warning_id, "expired")
            if name == "rejected":
                lifecycle.reject(conn, made.warning_id, "tests", "test")
        conn.commit()
    yield own
    with psycopg.connect(service.db_url) as conn:
        lifecycle.cancel(conn, own["in_force"], "tests", "end of the CAP tests")
        lifecycle.reject(conn, own["candidate"], "tests", "end of the CAP tests")
        with conn.transaction():
            end_expired(conn, datetime.now(UTC), rules["lapsed"], "flash_flood")
        conn.commit()


def _published(db_url: str) -> list[dict]:
    with psycopg.connect(db_url, row_factory=dict_row) as conn:
        return conn.execute(
            """SELECT v.*, w.cap_status FROM warning_version v JOIN warning w ON w.id = v.warning_id
               WHERE v.state = 'published' ORDER BY v.warning_id, v.version"""
        ).fetchall()


def _village_area(db_url: str, codes: list[str]):
    with psycopg.connect(db_url) as conn:
        (wkb,) = conn.execute(
            "SELECT ST_AsBinary(ST_Union(geom)) FROM village WHERE code = ANY(%s)", [codes]
        ).fetchone()
    return shapely.from_wkb(bytes(wkb))


def test_every_published_version_is_valid_cap(service, schema, lifecycle_warnings) -> None:
    rows = _published(service.db_url)
    kinds = {(r["msg_type"], r["cap_status"]) for r in rows}
    assert {("Alert", "Actual"), ("Update", "Actual"), ("Cancel", "Actual")} <= kinds
    assert ("Alert", "Exercise") in kinds
    by_warning: dict[int, list[dict]] = {}
    for r in rows:
        by_warning.setdefault(r["warning_id"], []).append(r)
    with service.client() as c:
        for r in rows:
            resp = c.get(f"/api/warnings/{r['warning_id']}.cap", params={"version": r["version"]})
            assert resp.status_code == 200, resp.text
            assert resp.headers["content-type"].startswith("application/cap+xml")
            schema.validate(resp.content)  # raises on any schema violation
            doc = etree.fromstring(resp.content)
            earlier = by_warning[r["warning_id"]][: by_warning[r["warning_id"]].index(r)]
            _check_alert(doc, r, earlier)
            _check_area(doc, r, _village_area(service.db_url, r["village_codes"]))


def _text(el, path: str) -> str:
    return el.findtext(path, namespaces=NS)


def _check_alert(doc, row: dict, earlier: list[dict]) -> None:
    assert _text(doc, "cap:identifier") == row["cap_identifier"]
    assert re.fullmatch(r"\d{14}_\d{14}_\d", row["cap_identifier"])
    assert _text(doc, "cap:sender") == row["cap_sender"]
    assert BEIJING_TIME.match(_text(doc, "cap:sent"))
    assert _text(doc, "cap:status") == row["cap_status"]
    assert _text(doc, "cap:msgType") == row["msg_type"]
    assert _text(doc, "cap:scope") == "Public"
    refs = _text(doc, "cap:references")
    if row["msg_type"] == "Alert":
        assert refs is None and not earlier
    else:
        # every earlier published version, as sender,identifier,sent
        assert refs == row["references_text"]
        assert [t.split(",")[1] for t in refs.split()] == [e["cap_identifier"] for e in earlier]
    infos = doc.findall("cap:info", NS)
    assert [_text(i, "cap:language") for i in infos] == ["zh-CN", "en-US"]
    zh, en = infos
    assert _text(zh, "cap:headline") == row["headline_zh"]
    assert _text(en, "cap:headline") == row["headline_en"]
    assert _text(zh, "cap:senderName").endswith("应急管理局")
    for info in infos:
        assert _text(info, "cap:responseType") == row["response_type"]
        assert BEIJING_TIME.match(_text(info, "cap:effective"))
        assert BEIJING_TIME.match(_text(info, "cap:expires"))
        params = {
            _text(p, "cap:valueName"): _text(p, "cap:value")
            for p in info.findall("cap:parameter", NS)
        }
        assert params["colour"] and params["level"] and params["hazard"]
    params = {
        _text(p, "cap:valueName"): _text(p, "cap:value") for p in zh.findall("cap:parameter", NS)
    }
    assert (
        params["level"]
        == {"blue": "四级", "yellow": "三级", "orange": "二级", "red": "一级"}[row["colour"]]
    )
    if row["msg_type"] == "Cancel":
        assert _text(zh, "cap:responseType") == "AllClear"


def _check_area(doc, row: dict, villages_area) -> None:
    for info in doc.findall("cap:info", NS):
        (area,) = info.findall("cap:area", NS)
        desc = _text(area, "cap:areaDesc")
        assert len(desc) <= 60 and "、" not in desc  # short: counts, not a list of names
        codes = [
            _text(g, "cap:value")
            for g in area.findall("cap:geocode", NS)
            if _text(g, "cap:valueName") == VILLAGE_GEOCODE
        ]
        assert sorted(codes) == sorted(row["village_codes"])
        rings = [p.text for p in area.findall("cap:polygon", NS)]
        assert rings
        polys = []
        for ring in rings:
            pairs = ring.split(" ")
            assert all(POINT.match(p) for p in pairs), ring[:80]  # lat,lon with ≤ 6 decimals
            assert pairs[0] == pairs[-1] and 4 <= len(pairs) <= MAX_RING_POINTS
            latlon = [tuple(map(float, p.split(","))) for p in pairs]
            assert all(27 < lat < 29 and 109 < lon < 111 for lat, lon in latlon)  # Mayang
            poly = Polygon([(lon, lat) for lat, lon in latlon])
            assert poly.is_valid
            polys.append(poly)
        union = shapely.union_all(polys)
        # the villages and nothing else (a hole with an unwarned village is cut open, not filled)
        assert union.intersection(villages_area).area >= 0.99 * villages_area.area
        assert union.difference(villages_area).area <= 0.01 * villages_area.area


def _squares(cells: list[tuple[int, int]]) -> list[Polygon]:
    """Unit squares (villages) at the given grid cells."""
    return [shapely.box(x, y, x + 1, y + 1) for x, y in cells]


def _shapes(rings: list[Polygon]) -> list[Polygon]:
    for p in rings:
        assert p.is_valid and not p.interiors and len(p.exterior.coords) <= MAX_RING_POINTS
    return rings


def test_polygons_cut_around_an_unwarned_village_instead_of_filling_it() -> None:
    # a 3×3 block of villages, the middle one not warned: the union has a hole
    ring = [(x, y) for x in range(3) for y in range(3) if (x, y) != (1, 1)]
    warned, others = _squares(ring), _squares([(1, 1)])
    rings = _shapes(area_polygons(warned, others))
    cover = shapely.union_all(rings)
    assert cover.intersection(others[0]).area < 0.01 * others[0].area  # the hole stays out
    assert all(cover.intersection(w).area >= 0.99 * w.area for w in warned)
    # an island of warned villages in the hole of an unwarned ring inside a warned ring
    outer = [(x, y) for x in range(5) for y in range(5) if not (1 <= x <= 3 and 1 <= y <= 3)]
    middle = [(x, y) for x in range(1, 4) for y in range(1, 4) if (x, y) != (2, 2)]
    warned, others = _squares([*outer, (2, 2)]), _squares(middle)
    rings = _shapes(area_polygons(warned, others))
    cover = shapely.union_all(rings)
    assert all(cover.intersection(o).area < 0.01 * o.area for o in others)
    assert all(cover.intersection(w).area >= 0.99 * w.area for w in warned)
    # a gap a hundredth of a village wide holding no village is filled, not cut
    left, right = shapely.box(0, 0, 1, 1), shapely.box(1.01, 0, 2, 1)
    links = [shapely.box(1, 0, 1.01, 0.4), shapely.box(1, 0.6, 1.01, 1)]  # a 0.01 × 0.2 hole
    (only,) = _shapes(area_polygons([left, right, *links], others=[]))
    assert only.area == pytest.approx(2.0)


def test_polygons_have_at_most_100_points_and_six_decimals() -> None:
    # a many-vertex village beside an unwarned neighbour: simplified or split, never spilling over
    circle = shapely.Point(109.7, 27.8).buffer(0.1, quad_segs=200)
    neighbour = shapely.box(109.8, 27.7, 109.9, 27.9).difference(circle)
    rings = _shapes(area_polygons([circle], [neighbour]))
    cover = shapely.union_all(rings)
    assert cover.intersection(circle).area >= 0.99 * circle.area
    assert cover.intersection(neighbour).area < 0.01 * neighbour.area
    area = {"outlines": [circle.wkb], "others": [neighbour.wkb]}
    for text in cap_polygons(area):
        pairs = text.split(" ")
        assert len(pairs) <= MAX_RING_POINTS and pairs[0] == pairs[-1]
        assert all(POINT.match(p) for p in pairs)
        back = Polygon([tuple(map(float, p.split(",")))[::-1] for p in pairs])
        assert back.is_valid
    # a speck below the 1e-6° grid has no polygon (its geocode still names it)
    speck = Polygon([(20, 20), (20.000_000_4, 20), (20.000_000_4, 20.000_000_4)])
    assert area_polygons([speck], []) == []


def test_cap_of_the_current_version_and_404s(service, lifecycle_warnings) -> None:
    wid = lifecycle_warnings["cancelled"]
    with service.client() as c:
        current = c.get(f"/api/warnings/{wid}.cap")
        assert current.status_code == 200
        assert _text(etree.fromstring(current.content), "cap:msgType") == "Cancel"
        assert "max-age" in current.headers["cache-control"]
        assert c.get(f"/api/warnings/{wid}.cap", params={"version": 99}).status_code == 404
        assert c.get("/api/warnings/987654.cap").status_code == 404
        drill = etree.fromstring(c.get(f"/api/warnings/{lifecycle_warnings['drill']}.cap").content)
        assert _text(drill, "cap:status") == "Exercise"
    with psycopg.connect(service.db_url) as conn:
        (cand,) = conn.execute("SELECT min(id) FROM warning WHERE status = 'candidate'").fetchone()
    with service.client() as c:
        assert c.get(f"/api/warnings/{cand}.cap").status_code == 404  # never published


def test_atom_feed_lists_the_warnings_in_force(service, schema, lifecycle_warnings) -> None:
    with service.client() as c:
        r = c.get("/api/cap/feed.atom")
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/atom+xml")
        feed = etree.fromstring(r.content)
        assert feed.tag == "{http://www.w3.org/2005/Atom}feed"
        for required in ("a:id", "a:title", "a:updated", "a:author/a:name"):
            assert _text(feed, required), required
        entries = feed.findall("a:entry", NS)
        listed: dict[int, list[tuple[int, str]]] = {}  # warning id → (version, identifier)
        for e in entries:
            for required in ("a:id", "a:title", "a:updated", "a:author/a:name"):
                assert _text(e, required), required
            (link,) = e.xpath("a:link[@rel='alternate']", namespaces=NS)
            assert link.get("type") == "application/cap+xml"
            m = CAP_LINK.search(link.get("href"))
            assert m, link.get("href")
            listed.setdefault(int(m["id"]), []).append(
                (int(m["version"]), _text(e, "cap:identifier"))
            )
            doc = c.get(link.get("href"))
            assert doc.status_code == 200
            schema.validate(doc.content)
            assert _text(etree.fromstring(doc.content), "cap:identifier") == _text(
                e, "cap:identifier"
            )
    identifiers = [_text(e, "cap:identifier") for e in entries]
    assert len(identifiers) == len(set(identifiers)) == sum(map(len, listed.values()))
    # the identifiers of the test's own published versions, looked up by warning and version
    with psycopg.connect(service.db_url) as conn:
        published = {
            name: dict(
                conn.execute(
                    "SELECT version, cap_identifier FROM warning_version"
                    " WHERE warning_id = %s AND cap_identifier IS NOT NULL",
                    [wid],
                ).fetchall()
            )
            for name, wid in lifecycle_warnings.items()
        }
    # in force: each once, as its only published version (1: issued once, never changed)
    for name in IN_FORCE:
        assert set(published[name]) == {1}, name
        assert listed.get(lifecycle_warnings[name]) == [(1, published[name][1])], name
    # not in force: neither the warning nor any of its messages
    for name in NOT_IN_FORCE:
        assert lifecycle_warnings[name] not in listed, name
        assert not set(published[name].values()) & set(identifiers), name
    assert published["candidate"] == {} and published["rejected"] == {}  # never published
    assert len(published["lapsed"]) == 1 and len(published["ended"]) == 2  # Alert (+ all-clear)
