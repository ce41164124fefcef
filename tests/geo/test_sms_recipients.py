"""Who gets a warning's SMS: the outbox compared with recipients worked out here in Python.

The expected phones come from plain table reads and geometry done in the test (shapely in a
metric projection, the duty roster's time ranges compared in Python), not from the statement
under test.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
import shapely
from pyproj import Transformer
from shapely import wkb

from riskmap.geo.warnings import lifecycle
from riskmap.geo.warnings.proposal import Proposal

# the mayang fixture's roster: fourteen 24-hour days from 2026-07-01 00:00 UTC
SHIFT_CHANGE = datetime(2026, 7, 5, 0, 0, tzinfo=UTC)  # day 5's crew takes over this instant
AFTER_ROSTER = datetime(2026, 7, 20, 2, 0, tzinfo=UTC)  # nobody is on the roster any more
MOBILE = re.compile(r"1[3-9]\d{9}")
VILLAGE_ROLES = ("village_cadre", "disaster_info_officer", "grid_officer")
RESERVOIR_ROLES = ("reservoir_administrative", "reservoir_technical", "reservoir_patrol")
UTM49 = Transformer.from_crs("EPSG:4326", "EPSG:32649", always_xy=True).transform  # metres


@pytest.fixture
def db(mayang, conn: psycopg.Connection) -> Iterator[psycopg.Connection]:
    conn.execute("SELECT 1")
    yield conn


def metric(blob: bytes):
    return shapely.transform(wkb.loads(bytes(blob)), UTM49, interleaved=False)


def red_proposal(codes: list[str], at: datetime, rule_id: str) -> Proposal:
    return Proposal(
        rule_id=rule_id,
        rule_version="1.0.0",
        hazard="flash_flood",
        colour="red",
        at=at,
        village_codes=tuple(codes),
        evidence={c: {"rain_3h": 130.0, "threshold": 120} for c in codes},
        event_zh="山洪灾害",
        event_en="Flash flood",
        headline_zh="麻阳苗族自治县山洪灾害立即转移预警",
        headline_en="Flash flood: evacuate now",
        description_zh="降雨已达到立即转移指标。",
        description_en="Rain reached the evacuate-now threshold.",
        instruction_zh="危险区人员立即按转移路线撤离到安置点，不得返回。",
        instruction_en="Evacuate now.",
        review="auto",
        action="evacuate_now",
    )


def publish(
    db: psycopg.Connection, codes: list[str], at: datetime, rule_id: str = "flash_flood.observed"
) -> dict[str, dict]:
    """Issue a red 立即转移 warning at ``at``; its SMS rows (site contacts aside) by phone."""
    [change] = lifecycle.apply_proposals(db, [red_proposal(codes, at, rule_id)], at)
    assert change.published
    rows = db.execute(
        "SELECT target, payload, idempotency_key FROM outbox"
        " WHERE warning_id = %s AND channel = 'sms' AND idempotency_key LIKE %s",
        (change.warning_id, "%:sms:%"),
    ).fetchall()
    for target, payload, key in rows:
        assert key == f"warning:{change.warning_id}:v1:sms:{target}"
        assert payload["phone"] == target and payload["text"].startswith("【")
        assert payload["parts"] and all(len(p) <= 70 for p in payload["parts"])
    return {target: payload for target, payload, _ in rows}


def expected(db: psycopg.Connection, codes: list[str], at: datetime) -> dict[str, set[str]]:
    """phone → roles, worked out from the tables one kind of duty at a time."""
    villages = {
        code: metric(g)
        for code, g in db.execute(
            "SELECT code, ST_AsBinary(geom) FROM admin_unit WHERE code = ANY(%s)", (codes,)
        ).fetchall()
    }
    assert set(villages) == set(codes)
    roles: dict[str, set[str]] = defaultdict(set)

    def add(phone: str, role: str) -> None:
        if MOBILE.fullmatch(phone):
            roles[phone].add(role)

    duties = db.execute(
        "SELECT p.phone, d.role, d.admin_code, d.stcd, d.dike_id, d.hazard_point_id"
        " FROM duty d JOIN person p ON p.id = d.person_id"
    ).fetchall()
    stations = {s: metric(g) for s, g in db.execute("SELECT stcd, ST_AsBinary(geom) FROM station")}
    downstream = defaultdict(set)
    for stcd, village in db.execute("SELECT stcd, village_code FROM station_village"):
        downstream[stcd].add(village)
    dikes = {i: metric(g) for i, g in db.execute("SELECT id, ST_AsBinary(geom) FROM dike")}
    points = {
        i: (v, metric(g))
        for i, v, g in db.execute("SELECT id, village_code, ST_AsBinary(geom) FROM hazard_point")
    }
    for phone, role, admin, stcd, dike, point in duties:
        if role in VILLAGE_ROLES and admin in villages:
            add(phone, role)
        elif role in RESERVOIR_ROLES:
            near = any(stations[stcd].distance(v) <= 1000 for v in villages.values())
            if near or downstream[stcd] & set(codes):
                add(phone, role)
        elif role == "dike" and any(dikes[dike].intersects(v) for v in villages.values()):
            add(phone, role)
        elif role in ("hazard_monitor", "hazard_responsible"):
            village, geom = points[point]
            if village in villages or any(v.contains(geom) for v in villages.values()):
                add(phone, role)
    # the roster: the county office and the villages' townships (the first 9 digits of a code)
    offices = {c[:6] for c in codes} | {c[:9] for c in codes}
    for post, org, room, own, shift in db.execute(
        "SELECT s.post, s.org_code, s.phone, p.phone, s.shift"
        " FROM duty_shift s JOIN person p ON p.id = s.person_id"
    ):
        if org in offices and shift.lower <= at < shift.upper:
            add(room if MOBILE.fullmatch(room or "") else own, f"duty_{post}")
    return dict(roles)


def pick_villages(db: psycopg.Connection) -> list[str]:
    """Villages that bring in every kind of duty: downstream of a reservoir, on a dike, with a
    hazard point, in two townships."""
    downstream = [
        r[0]
        for r in db.execute(
            "SELECT village_code FROM station_village sv JOIN reservoir r USING (stcd)"
            " WHERE village_code LIKE '431226%' ORDER BY sv.stcd, village_code LIMIT 2"
        )
    ]
    on_dike = db.execute(
        "SELECT a.code FROM dike k JOIN admin_unit a ON a.level = 'village'"
        " AND ST_Intersects(a.geom, k.geom) WHERE a.code LIKE '431226%'"
        " ORDER BY k.id, a.code LIMIT 1"
    ).fetchone()[0]
    with_point = db.execute(
        "SELECT h.village_code FROM hazard_point h JOIN duty d ON d.hazard_point_id = h.id"
        " WHERE h.village_code NOT LIKE %s AND h.village_code LIKE '431226%%'"
        " ORDER BY h.id LIMIT 1",
        (downstream[0][:9] + "%",),
    ).fetchone()[0]
    return sorted({*downstream, on_dike, with_point})


def leader_at(db: psycopg.Connection, org: str, at: datetime) -> str:
    for person, shift in db.execute(
        "SELECT person_id, shift FROM duty_shift WHERE org_code = %s AND post = 'leader'", (org,)
    ):
        if shift.lower <= at < shift.upper:
            return person
    raise AssertionError(f"no leader of {org} at {at}")


def test_recipients_at_a_shift_change(db) -> None:
    codes = pick_villages(db)
    sent = publish(db, codes, SHIFT_CHANGE)
    want = expected(db, codes, SHIFT_CHANGE)
    assert set(sent) == set(want)
    assert {p: set(sent[p]["roles"]) for p in sent} == want
    kinds = {r for rs in want.values() for r in rs}
    assert {"village_cadre", "reservoir_technical", "dike", "hazard_monitor"} <= kinds
    assert {"duty_leader", "duty_chief", "duty_officer"} <= kinds
    # the county's leader of day 5 is told, not day 4's whose shift ended at that instant
    new, old = (
        leader_at(db, "431226", SHIFT_CHANGE),
        leader_at(db, "431226", datetime(2026, 7, 4, 23, 59, tzinfo=UTC)),
    )
    phone = {p["person_id"]: ph for ph, p in sent.items()}
    assert "duty_leader" in sent[phone[new]]["roles"]
    if old != new:
        assert old not in phone or "duty_leader" not in sent[phone[old]]["roles"]
    for payload in sent.values():
        assert set(payload["village_codes"]) <= set(codes)


def test_after_the_roster_nobody_on_duty_is_told(db) -> None:
    codes = pick_villages(db)
    sent = publish(db, codes, AFTER_ROSTER)
    want = expected(db, codes, AFTER_ROSTER)
    assert not any(r.startswith("duty_") for rs in want.values() for r in rs)
    assert {p: set(sent[p]["roles"]) for p in sent} == want


def reservoir_duties(sent: dict[str, dict], stcd: str) -> set[str]:
    return {d for p in sent.values() for d in p["duties"] if d.endswith(f":{stcd}")}


def test_a_reservoir_within_a_kilometre_is_told_one_beyond_is_not(db) -> None:
    """Villages neither holding the dam nor downstream of it: 100–950 m away is told, 1.02–1.3 km
    away is not (distances on the ellipsoid; a margin either side of 1 km)."""
    pick = """
        SELECT r.stcd, a.code FROM reservoir r JOIN station s USING (stcd)
        JOIN admin_unit a ON a.level = 'village'
         AND ST_Distance(s.geom::geography, a.geom::geography) BETWEEN %s AND %s
        WHERE NOT EXISTS (SELECT 1 FROM station_village sv
                          WHERE sv.stcd = r.stcd AND sv.village_code = a.code)
        ORDER BY r.stcd, a.code LIMIT 1"""
    stcd, near = db.execute(pick, (100, 950)).fetchone()
    phones = {
        r[0]
        for r in db.execute(
            "SELECT p.phone FROM duty d JOIN person p ON p.id = d.person_id WHERE d.stcd = %s",
            (stcd,),
        )
    }
    assert len(phones) == 3  # 三个责任人
    sent = publish(db, [near], SHIFT_CHANGE)
    assert phones <= set(sent)
    assert reservoir_duties(sent, stcd) == {f"{r}:{stcd}" for r in RESERVOIR_ROLES}
    stcd, beyond = db.execute(pick, (1020, 1300)).fetchone()
    sent = publish(db, [beyond], SHIFT_CHANGE, rule_id="flash_flood.other")
    assert reservoir_duties(sent, stcd) == set()
