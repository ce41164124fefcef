"""The warning lifecycle on the demo county, each test inside a rolled-back transaction."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from riskmap.geo.errors import DataError, InvalidArgumentError
from riskmap.geo.warnings import lifecycle
from riskmap.geo.warnings.cap import cap_time
from riskmap.geo.warnings.proposal import Proposal

T0 = datetime(2026, 7, 14, 2, 0, tzinfo=UTC)
GBT = re.compile(r"^431226\d{8}_\d{14}_\d$")
COLOUR_ZH = {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}


@pytest.fixture
def db(mayang, conn: psycopg.Connection) -> Iterator[psycopg.Connection]:
    """The session DB with the demo county; a transaction is open so nothing commits."""
    conn.execute("SELECT 1")
    yield conn


@pytest.fixture
def villages(db: psycopg.Connection) -> list[str]:
    rows = db.execute("SELECT code FROM village WHERE county_code = '431226' ORDER BY code")
    return [r[0] for r in rows.fetchall()]


def proposal(codes, colour="yellow", *, at=T0, review="forecaster", **kw) -> Proposal:
    zh = COLOUR_ZH[colour]
    return Proposal(
        rule_id=kw.pop("rule_id", "rainstorm-3h"),
        rule_version="1.0.0",
        hazard="rainstorm",
        colour=colour,
        at=at,
        village_codes=tuple(codes),
        evidence={c: {"rain_3h": 62.5, "threshold": 50} for c in codes},
        event_zh="暴雨",
        event_en="Rainstorm",
        headline_zh=f"麻阳县发布暴雨{zh}预警",
        headline_en=f"Rainstorm {colour} warning",
        description_zh="过去3h降雨量已达62.5mm，预计仍将持续。",
        description_en="62.5 mm of rain in 3 h, more to come.",
        instruction_zh="请远离河道、山洪沟，做好转移准备。",
        instruction_en="Keep away from streams and be ready to move.",
        review=review,
        **kw,
    )


def expected_outbox(db: psycopg.Connection, codes: list[str]) -> int:
    terminals = db.execute(
        "SELECT count(*) FROM broadcast_terminal WHERE village_code = ANY(%s)", (codes,)
    ).fetchone()[0]
    phones = db.execute(
        """SELECT count(DISTINCT p.phone) FROM duty d JOIN person p ON p.id = d.person_id
           WHERE d.role IN ('village_cadre', 'disaster_info_officer', 'grid_officer')
             AND d.admin_code = ANY(%s)""",
        (codes,),
    ).fetchone()[0]
    assert terminals >= len(codes) and phones >= 3 * len(codes)  # the demo gives every village some
    return terminals + phones + 1


def outbox(db, wid, version=None) -> list[tuple]:
    q = "SELECT channel, target, payload FROM outbox WHERE warning_id = %s"
    args: tuple = (wid,)
    if version is not None:
        q += " AND version = %s"
        args = (wid, version)
    return db.execute(q, args).fetchall()


def audit_actions(db, wid) -> list[str]:
    rows = db.execute("SELECT action FROM warning_audit WHERE warning_id = %s ORDER BY id", (wid,))
    return [r[0] for r in rows.fetchall()]


def test_candidate_then_issue_writes_outbox(db, villages) -> None:
    codes = villages[:3]
    [c] = lifecycle.apply_proposals(db, [proposal(codes)], T0)
    assert (c.action, c.status, c.version, c.published) == ("propose", "candidate", 1, False)
    assert outbox(db, c.warning_id) == []
    w = lifecycle.get_warning(db, c.warning_id)
    assert w["level"] == "三级" and w["versions"][0]["state"] == "draft"
    assert w["versions"][0]["cap_identifier"] is None

    issued = lifecycle.issue(
        db, c.warning_id, "张预报", "checked the radar", at=T0 + timedelta(minutes=5)
    )
    assert issued.status == "issued" and issued.published
    rows = outbox(db, c.warning_id)
    assert len(rows) == expected_outbox(db, codes)
    channels = {ch for ch, _, _ in rows}
    assert channels == {"broadcast", "sms", "cap-feed"}
    speech = next(p for ch, _, p in rows if ch == "broadcast")["text"]
    assert "62.5毫米" in speech and "3小时" in speech and "mm" not in speech
    sms = next(p for ch, _, p in rows if ch == "sms")
    assert sms["text"].startswith("【") and sms["segments"] == (1 if sms["chars"] <= 70 else 2)
    v1 = lifecycle.get_warning(db, c.warning_id)["versions"][0]
    assert v1["state"] == "published" and v1["msg_type"] == "Alert"
    assert len(v1["cap_identifier"]) == 31 and GBT.match(v1["cap_identifier"])
    assert v1["cap_identifier"].split("_")[1] == "20260714100500"  # Beijing time
    assert audit_actions(db, c.warning_id) == ["propose", "issue"]
    audit = lifecycle.get_warning(db, c.warning_id)["audit"]
    assert audit[1]["actor"] == "张预报" and audit[1]["reason"] == "checked the radar"
    assert audit[1]["details"]["rule_version"] == "1.0.0"
    assert audit[1]["details"]["numbers"][codes[0]]["rain_3h"] == 62.5


def test_issuing_is_atomic(db, villages) -> None:
    """An error after the warning insert (the outbox refuses) leaves no warning, no outbox."""
    db.execute(
        """CREATE FUNCTION pg_temp.boom() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$"""
    )
    db.execute(
        "CREATE TRIGGER boom BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION pg_temp.boom()"
    )
    with pytest.raises(psycopg.errors.RaiseException, match="injected"):
        lifecycle.apply_proposals(db, [proposal(villages[:2], review="auto", rule_id="atomic")], T0)
    assert db.execute("SELECT count(*) FROM warning WHERE rule_id = 'atomic'").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM outbox").fetchone()[0] == 0
    assert db.execute("SELECT count(*) FROM warning_audit").fetchone()[0] == 0


def test_same_proposal_twice_extends(db, villages) -> None:
    codes = villages[:2]
    [c] = lifecycle.apply_proposals(db, [proposal(codes, review="auto")], T0)
    n = len(outbox(db, c.warning_id))
    later = T0 + timedelta(hours=1)
    [e] = lifecycle.apply_proposals(db, [proposal(codes, review="auto", at=later)], later)
    assert (e.warning_id, e.action, e.version, e.published) == (c.warning_id, "extend", 1, False)
    w = lifecycle.get_warning(db, c.warning_id)
    assert len(w["versions"]) == 1 and len(outbox(db, c.warning_id)) == n
    assert w["last_fired_at"] == later and w["expires_at"] == later + timedelta(hours=3)
    # a subset of the area at the same level also just extends
    [e2] = lifecycle.apply_proposals(db, [proposal(codes[:1], review="auto", at=later)], later)
    assert e2.action == "extend"
    assert audit_actions(db, c.warning_id) == ["propose", "issue", "extend", "extend"]


def test_auto_escalation_is_an_update_referencing_all_earlier_versions(db, villages) -> None:
    codes = villages[:2]
    [c] = lifecycle.apply_proposals(db, [proposal(codes, review="auto")], T0)
    assert (c.action, c.status) == ("issue", "issued")
    t1 = T0 + timedelta(hours=1)
    [u] = lifecycle.apply_proposals(db, [proposal(codes, "orange", review="auto", at=t1)], t1)
    assert (u.action, u.version, u.status, u.published) == ("escalate", 2, "issued", True)
    t2 = T0 + timedelta(hours=2)
    lifecycle.apply_proposals(db, [proposal(codes, "red", review="auto", at=t2)], t2)
    w = lifecycle.get_warning(db, c.warning_id)
    v1, v2, v3 = w["versions"]
    ref = lambda v: f"{v['cap_sender']},{v['cap_identifier']},{cap_time(v['cap_sent'])}"  # noqa: E731
    assert v2["msg_type"] == "Update" and v2["references_text"] == ref(v1)
    assert v3["references_text"] == f"{ref(v1)} {ref(v2)}"
    assert v1["references_text"] is None
    assert (w["colour"], w["level"], w["published_version"]) == ("red", "一级", 3)
    assert len(outbox(db, c.warning_id, 2)) == expected_outbox(db, codes)
    assert audit_actions(db, c.warning_id) == [
        "propose",
        "issue",
        "escalate",
        "issue",
        "escalate",
        "issue",
    ]


def test_escalation_of_reviewed_warning_waits_for_the_forecaster(db, villages) -> None:
    codes = villages[:2]
    [c] = lifecycle.apply_proposals(db, [proposal(codes)], T0)
    lifecycle.issue(db, c.warning_id, "张预报", at=T0)
    n = len(outbox(db, c.warning_id))
    t1 = T0 + timedelta(hours=1)
    [u] = lifecycle.apply_proposals(db, [proposal(codes, "orange", at=t1)], t1)
    assert (u.action, u.version, u.status, u.published) == ("escalate", 2, "issued", False)
    w = lifecycle.get_warning(db, c.warning_id)
    assert (w["current_version"], w["published_version"]) == (2, 1)
    assert w["versions"][1]["state"] == "draft" and len(outbox(db, c.warning_id)) == n
    # firing again at orange rewrites nothing (extends the pending draft)
    [e] = lifecycle.apply_proposals(db, [proposal(codes, "orange", at=t1)], t1)
    assert e.action == "extend"
    lifecycle.issue(db, c.warning_id, "李局长", "同意升级", at=t1)
    w = lifecycle.get_warning(db, c.warning_id)
    assert w["published_version"] == 2 and w["versions"][1]["msg_type"] == "Update"
    assert len(outbox(db, c.warning_id, 2)) == expected_outbox(db, codes)


def test_deescalation_and_rejecting_a_pending_update(db, villages) -> None:
    codes = villages[:2]
    [c] = lifecycle.apply_proposals(db, [proposal(codes, "red", review="auto")], T0)
    t1 = T0 + timedelta(hours=1)
    [d] = lifecycle.apply_proposals(db, [proposal(codes, "orange", review="auto", at=t1)], t1)
    assert (d.action, d.version, d.published, d.colour) == ("deescalate", 2, True, "orange")
    t2 = T0 + timedelta(hours=2)
    [d2] = lifecycle.apply_proposals(db, [proposal(codes, "yellow", at=t2)], t2)
    assert (d2.action, d2.version, d2.published) == ("deescalate", 3, False)
    r = lifecycle.reject(db, c.warning_id, "张预报", "雨还没停", at=t2)
    assert (r.action, r.status, r.version) == ("reject", "issued", 2)
    w = lifecycle.get_warning(db, c.warning_id)
    assert (w["colour"], w["current_version"], w["published_version"]) == ("orange", 2, 2)
    assert w["versions"][2]["state"] == "discarded"


def test_area_growth_is_an_update_with_the_union_geometry(db, villages) -> None:
    [c] = lifecycle.apply_proposals(db, [proposal(villages[:2], review="auto")], T0)
    t1 = T0 + timedelta(hours=1)
    [u] = lifecycle.apply_proposals(db, [proposal(villages[1:4], review="auto", at=t1)], t1)
    assert (u.warning_id, u.action, u.version) == (c.warning_id, "update", 2)
    w = lifecycle.get_warning(db, c.warning_id)
    assert w["village_codes"] == villages[:4] and w["versions"][1]["village_codes"] == villages[:4]
    same, valid, kind = db.execute(
        """SELECT ST_Equals(w.geom, (SELECT ST_Union(geom) FROM village WHERE code = ANY(%s))),
                  ST_IsValid(w.geom), GeometryType(w.geom)
           FROM warning w WHERE id = %s""",
        (villages[:4], c.warning_id),
    ).fetchone()
    assert same and valid and kind == "MULTIPOLYGON"
    assert w["geometry"]["type"] == "MultiPolygon"


def test_proposals_of_one_rule_merge_into_the_highest_level(db, villages) -> None:
    ps = [proposal(villages[:2], "red"), proposal(villages[1:3], "yellow")]
    changes = lifecycle.apply_proposals(db, ps, T0)
    assert len(changes) == 1
    w = lifecycle.get_warning(db, changes[0].warning_id)
    assert w["colour"] == "red" and w["village_codes"] == villages[:3]
    # disjoint areas make separate warnings
    more = lifecycle.apply_proposals(db, [proposal(villages[10:12], rule_id="other")], T0)
    assert more[0].warning_id != changes[0].warning_id


def test_expiry_after_hold_time_sends_all_clear(db, villages) -> None:
    codes = villages[:2]
    [c] = lifecycle.apply_proposals(db, [proposal(codes, "orange", review="auto")], T0)
    [cand] = lifecycle.apply_proposals(db, [proposal(villages[20:21], rule_id="other")], T0)
    assert lifecycle.expire_stale(db, T0 + timedelta(hours=2, minutes=59)) == []
    ended = lifecycle.expire_stale(db, T0 + timedelta(hours=3))
    by_id = {x.warning_id: x for x in ended}
    assert (by_id[c.warning_id].status, by_id[c.warning_id].version) == ("expired", 2)
    assert (by_id[cand.warning_id].status, by_id[cand.warning_id].published) == ("expired", False)
    w = lifecycle.get_warning(db, c.warning_id)
    v2 = w["versions"][1]
    assert (v2["msg_type"], v2["response_type"], v2["urgency"]) == ("Cancel", "AllClear", "Past")
    assert v2["headline_zh"] == "解除暴雨橙色预警" and v2["references_text"].count(",") == 2
    assert w["status"] == "expired" and w["ended_at"] == T0 + timedelta(hours=3)
    assert len(outbox(db, c.warning_id, 2)) == expected_outbox(db, codes)
    assert outbox(db, cand.warning_id) == []
    assert audit_actions(db, cand.warning_id) == ["propose", "expire"]
    assert lifecycle.get_warning(db, cand.warning_id)["audit"][1]["actor"] == "system"


def test_reject_and_cancel(db, villages) -> None:
    [a] = lifecycle.apply_proposals(db, [proposal(villages[:1])], T0)
    r = lifecycle.reject(db, a.warning_id, "张预报", "雷达回波减弱", at=T0)
    assert r.status == "rejected" and outbox(db, a.warning_id) == []
    with pytest.raises(InvalidArgumentError):
        lifecycle.issue(db, a.warning_id, "张预报", at=T0)

    [b] = lifecycle.apply_proposals(db, [proposal(villages[5:6], rule_id="b")], T0)
    with pytest.raises(InvalidArgumentError, match="reject"):
        lifecycle.cancel(db, b.warning_id, "李局长", at=T0)
    lifecycle.issue(db, b.warning_id, "张预报", at=T0)
    x = lifecycle.cancel(db, b.warning_id, "李局长", "误报", at=T0 + timedelta(minutes=30))
    assert (x.status, x.version, x.published) == ("cancelled", 2, True)
    w = lifecycle.get_warning(db, b.warning_id)
    assert w["versions"][1]["msg_type"] == "Cancel" and w["versions"][1]["headline_zh"].startswith(
        "撤销"
    )
    assert len(outbox(db, b.warning_id, 2)) == expected_outbox(db, villages[5:6])
    assert audit_actions(db, b.warning_id) == ["propose", "issue", "cancel"]
    assert audit_actions(db, a.warning_id) == ["propose", "reject"]


def test_edit_and_manual_escalation(db, villages) -> None:
    [c] = lifecycle.apply_proposals(db, [proposal(villages[:1])], T0)
    e = lifecycle.edit_text(db, c.warning_id, "张预报", "补充", at=T0, instruction_zh="立即撤离。")
    assert (e.version, e.published) == (1, False)  # a candidate is edited in place
    with pytest.raises(InvalidArgumentError, match="instruction_zh"):
        lifecycle.edit_text(db, c.warning_id, "张预报", at=T0, colour="red")
    lifecycle.issue(db, c.warning_id, "张预报", at=T0)
    e2 = lifecycle.edit_text(
        db, c.warning_id, "张预报", "更正", at=T0, headline_zh="更正：暴雨黄色预警"
    )
    assert (e2.version, e2.published) == (2, True)
    up = lifecycle.escalate(
        db, c.warning_id, "red", "李局长", "灾情加重", at=T0 + timedelta(hours=1)
    )
    assert (up.action, up.version, up.published) == ("escalate", 3, True)
    w = lifecycle.get_warning(db, c.warning_id)
    v3 = w["versions"][2]
    assert v3["headline_zh"] == "更正：暴雨红色预警" and v3["severity"] == "Extreme"
    assert w["versions"][0]["instruction_zh"] == "立即撤离。"
    assert audit_actions(db, c.warning_id) == [
        "propose",
        "edit",
        "issue",
        "edit",
        "issue",
        "escalate",
        "issue",
    ]


def test_exercise_status_is_carried(db, villages) -> None:
    [c] = lifecycle.apply_proposals(
        db, [proposal(villages[:1], review="auto", cap_status="Exercise")], T0
    )
    w = lifecycle.get_warning(db, c.warning_id)
    assert w["cap_status"] == "Exercise"
    payloads = {ch: p for ch, _, p in outbox(db, c.warning_id)}
    assert payloads["cap-feed"]["cap_status"] == "Exercise"
    assert "【演练】" in payloads["sms"]["text"] and payloads["broadcast"]["text"].startswith(
        "演练"
    )


def test_audit_log_and_published_versions_cannot_change(db, villages) -> None:
    [c] = lifecycle.apply_proposals(db, [proposal(villages[:1], review="auto")], T0)
    for statement in (
        "UPDATE warning_audit SET actor = 'someone' WHERE warning_id = %s",
        "DELETE FROM warning_audit WHERE warning_id = %s",
        "UPDATE warning_version SET headline_zh = 'x' WHERE warning_id = %s",
        "DELETE FROM warning_version WHERE warning_id = %s",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege), db.transaction():
            db.execute(statement, (c.warning_id,))
    assert audit_actions(db, c.warning_id) == ["propose", "issue"]


def test_identifiers_are_unique_within_one_second(db, villages) -> None:
    ps = [proposal([v], review="auto", rule_id=f"r{i}") for i, v in enumerate(villages[:12])]
    changes = lifecycle.apply_proposals(db, ps, T0)
    idents = [
        r[0]
        for r in db.execute(
            "SELECT cap_identifier FROM warning_version WHERE warning_id = ANY(%s)",
            ([c.warning_id for c in changes],),
        ).fetchall()
    ]
    assert len(idents) == 12 == len(set(idents))
    assert all(len(i) == 31 and GBT.match(i) for i in idents)
    stamps = sorted({i.split("_")[1] for i in idents})
    assert stamps == ["20260714100000", "20260714100001"]  # nine serials per second


def test_unknown_village_and_bad_inputs_raise(db, villages) -> None:
    with pytest.raises(DataError, match="unknown village"):
        lifecycle.apply_proposals(db, [proposal(["431226999999"])], T0)
    with pytest.raises(InvalidArgumentError, match="timezone"):
        lifecycle.apply_proposals(db, [proposal(villages[:1])], T0.replace(tzinfo=None))
    purple = dataclasses.replace(proposal(villages[:1]), colour="purple")
    with pytest.raises(InvalidArgumentError, match="blue, yellow, orange, red"):
        lifecycle.apply_proposals(db, [purple], T0)


def test_orange_over_a_hazardous_site_alerts_its_safety_contact(db) -> None:
    """The cascade: the tailings dam's safety contact is told when its village goes orange."""
    site_id, village, phone = db.execute(
        "SELECT s.id, s.admin_code, p.phone FROM hazardous_site s"
        " JOIN person p ON p.id = s.safety_contact_id WHERE s.kind = 'tailings_dam'"
    ).fetchone()
    [yellow] = lifecycle.apply_proposals(
        db, [proposal([village], "yellow", review="auto", rule_id="cascade-y")], T0
    )
    assert not [r for r in outbox(db, yellow.warning_id) if r[2].get("site_id")]
    [orange] = lifecycle.apply_proposals(
        db, [proposal([village], "orange", review="auto", rule_id="cascade-o")], T0
    )
    site_rows = [r for r in outbox(db, orange.warning_id) if r[2].get("site_id") == site_id]
    assert len(site_rows) == 1
    channel, target, payload = site_rows[0]
    assert channel == "sms" and target == phone and payload["site_kind"] == "tailings_dam"
    assert payload["site_name"] in payload["text"] and "停产撤人" in payload["text"]
