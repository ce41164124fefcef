"""The warning lifecycle on the demo county, each test inside a rolled-back transaction."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from lxml import etree

from riskmap.geo.errors import ConflictError, DataError, InvalidArgumentError
from riskmap.geo.vocabulary import CAP_12_NS
from riskmap.geo.warnings import lifecycle, texts
from riskmap.geo.warnings.cap import cap_time
from riskmap.geo.warnings.cap_xml import render_cap
from riskmap.geo.warnings.proposal import Proposal

T0 = datetime(2026, 7, 14, 2, 0, tzinfo=UTC)
GBT = re.compile(r"^431226\d{8}_\d{14}_\d$")
HOLD3 = timedelta(hours=3)  # the proposals' hold time (Proposal.hold_hours default)
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


def check_outbox(db: psycopg.Connection, rows: list[tuple], codes: list[str]) -> None:
    """One message per terminal of the villages, one CAP-feed row, and one SMS per phone that
    includes every village official's (the full recipient list: test_sms_recipients.py)."""
    terminals = db.execute(
        "SELECT count(*) FROM broadcast_terminal WHERE village_code = ANY(%s)", (codes,)
    ).fetchone()[0]
    phones = {
        r[0]
        for r in db.execute(
            """SELECT DISTINCT p.phone FROM duty d JOIN person p ON p.id = d.person_id
               WHERE d.role IN ('village_cadre', 'disaster_info_officer', 'grid_officer')
                 AND d.admin_code = ANY(%s)""",
            (codes,),
        ).fetchall()
    }
    assert terminals >= len(codes) and len(phones) >= 3 * len(codes)  # the demo gives some
    channels = Counter(ch for ch, _, _ in rows)
    assert channels["broadcast"] == terminals and channels["cap-feed"] == 1
    sms = [t for ch, t, _ in rows if ch == "sms"]
    assert len(sms) == len(set(sms)) and phones <= set(sms)


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


def ucs2_segments(text: str) -> int:
    """SMS segments of ``text`` in the UCS-2 alphabet (3GPP TS 23.038 §6.2.3, TS 23.040 §9.2.3.24):
    a short message carries 140 octets of user data, i.e. 70 UCS-2 characters; a concatenated
    message spends 6 of them on the user data header (IEI 00, 8-bit reference), leaving 134 octets,
    67 characters, per segment. A character outside the BMP takes two 16-bit units (UTF-16, as
    phones encode it). Chinese text never fits GSM 7-bit, so its 160/153 septets never apply."""
    units = len(text.encode("utf-16-le")) // 2
    if units <= 140 // 2:
        return 1
    per_part = (140 - 6) // 2
    return -(-units // per_part)


# length in characters → segments, by hand from the 70 / 67 characters above
SEGMENTS_BY_LENGTH = {1: 1, 70: 1, 71: 2, 134: 2, 135: 3, 201: 3, 202: 4, 268: 4, 269: 5}


@pytest.mark.parametrize(("chars", "segments"), SEGMENTS_BY_LENGTH.items())
def test_sms_segments_follow_3gpp(chars: int, segments: int) -> None:
    text = ("【麻阳县应急管理局】暴雨红色预警：" * 20)[:chars]
    assert len(text) == chars and ucs2_segments(text) == segments  # the table checks the helper
    assert texts.sms_segments(text) == segments


def test_sms_segments_count_characters_beyond_the_bmp_twice() -> None:
    text = "【麻阳县应急管理局】" + "𠀀" * 60  # 70 characters, 130 UTF-16 units
    assert len(text) == 70 and ucs2_segments(text) == 2
    assert texts.sms_segments(text) == 2


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
    check_outbox(db, rows, codes)
    channels = {ch for ch, _, _ in rows}
    assert channels == {"broadcast", "sms", "cap-feed"}
    speech = next(p for ch, _, p in rows if ch == "broadcast")["text"]
    assert "六十二点五毫米" in speech and "三小时" in speech and "mm" not in speech
    # the loudspeaker says what to do before the figures
    assert speech.index("做好转移准备") < speech.index("六十二点五毫米")
    sms = next(p for ch, _, p in rows if ch == "sms")
    assert sms["text"].startswith("【") and sms["chars"] == len(sms["text"])
    assert sms["segments"] == ucs2_segments(sms["text"])
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
    """Same level, same area: the warning goes on. Its expiry is the published CAP's <expires>
    (the detail never says otherwise); while more than half the hold time is left nothing is
    sent, then an Update with the later expiry goes to the CAP feed only."""
    codes = villages[:2]
    [c] = lifecycle.apply_proposals(db, [proposal(codes, review="auto")], T0)
    n = len(outbox(db, c.warning_id))
    later = T0 + timedelta(hours=1)
    [e] = lifecycle.apply_proposals(db, [proposal(codes, review="auto", at=later)], later)
    assert (e.warning_id, e.action, e.version, e.published) == (c.warning_id, "extend", 1, False)
    w = lifecycle.get_warning(db, c.warning_id)
    assert len(w["versions"]) == 1 and len(outbox(db, c.warning_id)) == n
    # hold 3 h: the CAP sent at T0 says T0+3h, and so does the detail (one source of truth)
    assert w["last_fired_at"] == later and w["expires_at"] == T0 + timedelta(hours=3)
    assert w["versions"][0]["expires"] == w["expires_at"]
    # a subset of the area at the same level also just extends
    [e2] = lifecycle.apply_proposals(db, [proposal(codes[:1], review="auto", at=later)], later)
    assert e2.action == "extend"
    assert audit_actions(db, c.warning_id) == ["propose", "issue", "extend", "extend"]
    # 1 h left of 3 h: an Update carries the new expiry, to the CAP feed only
    t2 = T0 + timedelta(hours=2)
    [e3] = lifecycle.apply_proposals(db, [proposal(codes, review="auto", at=t2)], t2)
    assert (e3.action, e3.version, e3.published) == ("extend", 2, True)
    w = lifecycle.get_warning(db, c.warning_id)
    v2 = w["versions"][1]
    assert (v2["msg_type"], v2["effective"], v2["expires"]) == (
        "Update",
        t2,
        t2 + timedelta(hours=3),
    )
    assert w["expires_at"] == v2["expires"] and v2["village_codes"] == codes
    assert [ch for ch, _, _ in outbox(db, c.warning_id, 2)] == ["cap-feed"]


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
    check_outbox(db, outbox(db, c.warning_id, 2), codes)
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
    check_outbox(db, outbox(db, c.warning_id, 2), codes)


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
        # the stored area is the union snapped to the 6-decimal grid CAP and GeoJSON are
        # written on (about 0.1 m): equal to the union within that snap
        """SELECT ST_HausdorffDistance(w.geom,
                      (SELECT ST_Union(geom) FROM village WHERE code = ANY(%s))) < 1e-6,
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
    check_outbox(db, outbox(db, c.warning_id, 2), codes)
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
    check_outbox(db, outbox(db, b.warning_id, 2), villages[5:6])
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


# --------------------------------------------------------------------------- times


def published_times(db, wid) -> list[tuple]:
    return db.execute(
        "SELECT cap_sent, effective, expires FROM warning_version"
        " WHERE warning_id = %s AND state = 'published' ORDER BY version",
        (wid,),
    ).fetchall()


def test_a_candidate_older_than_its_hold_time_is_refused_on_issue(db, villages) -> None:
    [c] = lifecycle.apply_proposals(db, [proposal(villages[:2])], T0)  # hold 3 h
    months = T0 + timedelta(days=120)
    with pytest.raises(ConflictError, match="hold time of 3 h ran out") as err:
        lifecycle.issue(db, c.warning_id, "张预报", at=months)
    assert isinstance(err.value, InvalidArgumentError)  # the review API's 409
    w = lifecycle.get_warning(db, c.warning_id)
    assert w["published_version"] is None and outbox(db, c.warning_id) == []
    # one minute before its time runs out it may still go, and then sent ≤ effective < expires
    late = T0 + timedelta(hours=2, minutes=59)
    lifecycle.issue(db, c.warning_id, "张预报", at=late)
    [(sent, effective, expires)] = published_times(db, c.warning_id)
    assert sent == late.replace(second=0) and sent <= effective < expires
    assert effective == sent  # the candidate fired at T0 but the CAP takes effect when sent
    assert expires == T0 + timedelta(hours=3)


def test_an_expired_warning_cannot_be_escalated_or_edited(db, villages) -> None:
    [c] = lifecycle.apply_proposals(db, [proposal(villages[:2], review="auto")], T0)
    after = T0 + timedelta(hours=3)
    with pytest.raises(ConflictError, match="expired"):
        lifecycle.escalate(db, c.warning_id, "red", "李局长", at=after)
    with pytest.raises(ConflictError, match="expired"):
        lifecycle.edit_text(db, c.warning_id, "张预报", at=after, headline_zh="x")
    assert len(published_times(db, c.warning_id)) == 1


def test_after_escalation_the_detail_expiry_is_the_caps(db, villages) -> None:
    """The issue's case: a manual escalation used to publish a CAP with a new <expires> while
    warning.expires_at kept the old one. Now the database derives one from the other."""
    [c] = lifecycle.apply_proposals(db, [proposal(villages[:2], review="auto")], T0)
    t1 = T0 + timedelta(hours=2)
    lifecycle.escalate(db, c.warning_id, "orange", "李局长", "雨势加大", at=t1)
    w = lifecycle.get_warning(db, c.warning_id)
    v2 = w["versions"][1]
    assert v2["state"] == "published" and w["expires_at"] == v2["expires"]
    assert v2["expires"] == T0 + timedelta(hours=3)  # an Update never shortens nor stretches it
    # a rule refiring at orange with little time left sends an extension; expiry follows it
    t2 = T0 + timedelta(hours=2, minutes=30)
    ps = [proposal(villages[:2], "orange", review="auto", at=t2)]
    [e] = lifecycle.apply_proposals(db, ps, t2)
    w = lifecycle.get_warning(db, c.warning_id)
    assert e.action == "extend" and e.published
    assert w["expires_at"] == w["versions"][-1]["expires"] == t2 + timedelta(hours=3)
    assert all(s <= e_ < x for s, e_, x in published_times(db, c.warning_id))
    # the all-clear does not move the expiry of what was in force
    lifecycle.expire_stale(db, t2 + timedelta(hours=3))
    w = lifecycle.get_warning(db, c.warning_id)
    assert w["status"] == "expired" and w["expires_at"] == t2 + timedelta(hours=3)


def test_a_rules_run_first_ends_what_expired(db, villages) -> None:
    """No expiry step ran for weeks: the next proposals over the same villages end the old
    warning (all-clear) and start a new one with only the new villages."""
    [old] = lifecycle.apply_proposals(db, [proposal(villages[:4], review="auto")], T0)
    weeks = T0 + timedelta(days=21)
    changes = lifecycle.apply_proposals(
        db, [proposal(villages[2:6], review="auto", at=weeks)], weeks
    )
    assert (changes[0].warning_id, changes[0].action) == (old.warning_id, "expire")
    new = changes[1]
    assert new.warning_id != old.warning_id and new.action == "issue"
    assert lifecycle.get_warning(db, new.warning_id)["village_codes"] == villages[2:6]
    o = lifecycle.get_warning(db, old.warning_id)
    assert o["status"] == "expired" and o["versions"][-1]["msg_type"] == "Cancel"
    assert o["versions"][-1]["village_codes"] == villages[:4]


def test_atom_lists_only_alerts_in_force(db, villages) -> None:
    from lxml import etree

    from riskmap.geo.warnings.atom_xml import render_atom

    [a] = lifecycle.apply_proposals(db, [proposal(villages[:1], review="auto", rule_id="a")], T0)
    t1 = T0 + timedelta(hours=2)
    [b] = lifecycle.apply_proposals(
        db, [proposal(villages[5:6], review="auto", rule_id="b", at=t1)], t1
    )

    def ids(at: datetime) -> set[str]:
        feed = etree.fromstring(render_atom(db, "http://x/", at=at))
        ns = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
        return {e.text for e in feed.findall(".//cap:identifier", ns)}

    ident = {
        c.warning_id: lifecycle.get_warning(db, c.warning_id)["versions"][0]["cap_identifier"]
        for c in (a, b)
    }
    assert ids(T0 + timedelta(hours=2, minutes=1)) == {ident[a.warning_id], ident[b.warning_id]}
    # a expires at T0+3h: it leaves the feed then, though no run has sent its all-clear yet
    assert ids(T0 + timedelta(hours=3)) == {ident[b.warning_id]}
    assert ids(T0 + timedelta(days=90)) == set()


# --------------------------------------------------------------------------- candidates


def flood(codes, colour, *, rule_id, review="forecaster", at=T0) -> Proposal:
    return dataclasses.replace(
        proposal(codes, colour, rule_id=rule_id, review=review, at=at), hazard="flash_flood"
    )


def test_a_candidate_never_targets_villages_under_a_higher_issued_warning(db, villages) -> None:
    red_area, other = villages[:6], villages[6:9]
    [red] = lifecycle.apply_proposals(db, [flood(red_area, "red", rule_id="ff", review="auto")], T0)
    # trim: an orange candidate of another rule over 3 red villages and 3 others
    t1 = T0 + timedelta(minutes=10)
    changes = lifecycle.apply_proposals(
        db, [flood(red_area[:3] + other, "orange", rule_id="ff.forecast", at=t1)], t1
    )
    [cand] = [c for c in changes if c.action == "propose"]
    w = lifecycle.get_warning(db, cand.warning_id)
    assert w["village_codes"] == other and w["versions"][0]["village_codes"] == other
    trim = [a for a in w["audit"] if a["action"] == "trim"]
    assert trim and trim[0]["details"]["decision"] == "trim"
    assert trim[0]["details"]["villages"] == red_area[:3]
    assert trim[0]["details"]["by"][0]["warning_id"] == red.warning_id
    # suppress: an orange proposal wholly inside the red area makes no candidate at all
    before = db.execute("SELECT count(*) FROM warning").fetchone()[0]
    [s] = lifecycle.apply_proposals(db, [flood(red_area[4:], "orange", rule_id="ff.x", at=t1)], t1)
    assert (s.action, s.warning_id, s.published) == ("suppress", red.warning_id, False)
    assert db.execute("SELECT count(*) FROM warning").fetchone()[0] == before
    audit = lifecycle.get_warning(db, red.warning_id)["audit"][-1]
    assert audit["action"] == "suppress" and audit["details"]["villages"] == red_area[4:]
    assert audit["details"]["rule_id"] == "ff.x"
    # the issue's case: the same rule's orange candidate, matched by its larger overlap, must
    # not grow into villages that dropped from red to orange but are still under the red warning
    [o] = lifecycle.apply_proposals(db, [flood(other, "orange", rule_id="ff", at=t1)], t1)
    t2 = T0 + timedelta(minutes=20)
    ps = [
        flood(red_area[2:], "red", rule_id="ff", review="auto", at=t2),
        flood(red_area[:2] + other, "orange", rule_id="ff", at=t2),
    ]
    lifecycle.apply_proposals(db, ps, t2)
    ws = db.execute(
        "SELECT id, colour, status, village_codes FROM warning WHERE rule_id = 'ff' ORDER BY id"
    ).fetchall()
    assert [(c, s) for _, c, s, _ in ws] == [("red", "issued"), ("orange", "candidate")]
    assert ws[0][3] == red_area and ws[1][3] == other  # never the red warning's villages
    trim = [a for a in lifecycle.get_warning(db, o.warning_id)["audit"] if a["action"] == "trim"]
    assert trim[-1]["details"]["villages"] == red_area[:2]
    # a higher level is not held back: red over the orange candidate's villages still escalates
    # and a red of a different hazard is no reason to trim
    [r2] = lifecycle.apply_proposals(db, [proposal(red_area, "orange", rule_id="rs", at=t2)], t2)
    assert lifecycle.get_warning(db, r2.warning_id)["village_codes"] == red_area


# --------------------------------------------------------------------------- pending review


def cap_expires(db, wid, version=None) -> datetime:
    """The <expires> of a published version as the CAP document says it."""
    doc = etree.fromstring(render_cap(db, wid, version))
    [text] = doc.xpath("//c:info[1]/c:expires/text()", namespaces={"c": CAP_12_NS})
    return datetime.fromisoformat(text)


@pytest.mark.parametrize("then", ["issue", "reject", "nobody"])
def test_a_pending_escalation_never_lets_the_public_alert_run_out(db, villages, then) -> None:
    """The review's case: an issued orange warning, the rule proposes red an hour later (a
    forecaster must review it) and keeps proposing red every hour for 8 h, longer than the 3 h
    hold time, with nobody at the desk. The published orange must stay in force (extensions to
    the CAP feed), never an all-clear; the red draft stays pending on top of it.

    The timeline by hand (hold 3 h, the half-hold threshold 1.5 h): v1 orange published at T0
    expires T0+3h. h1: red draft v2 (2 h left, no extension). h2: 1 h left, so v2 is discarded,
    v3 (orange, expires h2+3h = h5) is published and the draft is saved again as v4. h3: 2 h
    left, nothing. h4: v5 expires h7, draft v6; h6: v7 expires h9, draft v8; h8: v9 expires
    h11, draft v10. Then the rule stops."""
    hour = lambda h: T0 + timedelta(hours=h)  # noqa: E731
    codes = villages[:2]
    # hour -> (extension version, its expiry hour, the draft's version after the run)
    extensions = {2: (3, 5, 4), 4: (5, 7, 6), 6: (7, 9, 8), 8: (9, 11, 10)}
    [c] = lifecycle.apply_proposals(db, [proposal(codes, "orange")], T0)
    wid = c.warning_id
    lifecycle.issue(db, wid, "张预报", at=T0)
    n_issue = len(outbox(db, wid))
    [u] = lifecycle.apply_proposals(db, [proposal(codes, "red", at=hour(1))], hour(1))
    assert (u.action, u.version, u.published) == ("escalate", 2, False)
    edited = "麻阳县发布暴雨红色预警（预报员审核中）"
    lifecycle.edit_text(db, wid, "张预报", at=hour(1) + timedelta(minutes=10), headline_zh=edited)
    in_force, in_force_expires, draft_v = 1, hour(3), 2
    for h in range(2, 9):
        t = hour(h)
        assert lifecycle.expire_stale(db, t) == []  # the clock's step first, as the cycle does
        [e] = lifecycle.apply_proposals(db, [proposal(codes, "red", at=t)], t)
        if h in extensions:
            in_force, expires_h, draft_v = extensions[h]
            in_force_expires = hour(expires_h)
        assert (e.warning_id, e.version, e.published) == (wid, draft_v, h in extensions), h
        w = lifecycle.get_warning(db, wid)
        versions = {v["version"]: v for v in w["versions"]}
        assert w["status"] == "issued" and w["published_version"] == in_force, h
        assert w["current_version"] == draft_v and versions[draft_v]["state"] == "draft", h
        draft = versions[draft_v]
        assert (draft["colour"], draft["msg_type"], draft["expires"]) == (
            "red",
            "Update",
            t + HOLD3,
        )
        assert w["colour"] == "red" and w["level"] == "一级"  # the reviewers' view: the draft
        pub = versions[in_force]
        assert (pub["colour"], pub["msg_type"], pub["village_codes"]) == (
            "orange",
            "Alert" if in_force == 1 else "Update",
            codes,
        )
        # the CAP the public has now says the alert is in force, and so does the detail
        assert cap_expires(db, wid) == pub["expires"] == w["expires_at"] == in_force_expires > t
        assert not any(v["msg_type"] == "Cancel" for v in w["versions"]), h
        if h == 2:  # the draft moved over the extension keeps the forecaster's words
            assert draft["headline_zh"] == edited
    w = lifecycle.get_warning(db, wid)
    versions = {v["version"]: v for v in w["versions"]}
    assert [v for v, x in versions.items() if x["state"] == "published"] == [1, 3, 5, 7, 9]
    assert [v for v, x in versions.items() if x["state"] == "discarded"] == [2, 4, 6, 8]
    assert versions[1]["headline_zh"] == versions[9]["headline_zh"] == "麻阳县发布暴雨橙色预警"
    assert "红色" in versions[10]["headline_zh"]
    for ext, _, _ in extensions.values():  # machines learn the expiry; nobody is woken up
        assert [ch for ch, _, _ in outbox(db, wid, ext)] == ["cap-feed"]
        refs = [r.split(",")[1] for r in versions[ext]["references_text"].split(" ")]
        assert refs == [versions[v]["cap_identifier"] for v in range(1, ext, 2)]
    assert len(outbox(db, wid)) == n_issue + len(extensions)
    assert audit_actions(db, wid).count("extend") >= 3 * len(extensions)
    moved = [
        a["details"]
        for a in w["audit"]
        if a["details"].get("decision") == "extend published under pending draft"
    ]
    assert {(d["draft_from"], d["extension_version"], d["draft_to"]) for d in moved} == {
        (2, 3, 4),
        (4, 5, 6),
        (6, 7, 8),
        (8, 9, 10),
    }
    last = hour(8)
    if then == "issue":
        t = last + timedelta(minutes=10)
        lifecycle.issue(db, wid, "李局长", "同意升级为红色", at=t)
        v10 = lifecycle.get_warning(db, wid)["versions"][-1]
        assert (v10["version"], v10["state"], v10["msg_type"]) == (10, "published", "Update")
        refs = [r.split(",")[1] for r in v10["references_text"].split(" ")]
        assert refs == [versions[v]["cap_identifier"] for v in (1, 3, 5, 7, 9)]
        check_outbox(db, outbox(db, wid, 10), codes)  # red is announced
        ends = last + HOLD3  # the red draft fired at h8 holds for 3 h
    elif then == "reject":
        r = lifecycle.reject(db, wid, "张预报", "雷达回波减弱", at=last + timedelta(minutes=10))
        assert (r.status, r.version) == ("issued", 9)
        ends = hour(11)
    else:
        ends = hour(11)
    # the rule stops firing: the warning runs out after the hold time, with its all-clear
    assert lifecycle.expire_stale(db, ends - timedelta(minutes=1)) == []
    [x] = lifecycle.expire_stale(db, ends)
    assert (x.warning_id, x.status, x.published) == (wid, "expired", True)
    w = lifecycle.get_warning(db, wid)
    cancel = w["versions"][-1]
    assert (cancel["msg_type"], cancel["response_type"], cancel["effective"]) == (
        "Cancel",
        "AllClear",
        ends,
    )
    colour = "红色" if then == "issue" else "橙色"
    assert cancel["headline_zh"] == f"解除暴雨{colour}预警"
    check_outbox(db, outbox(db, wid, cancel["version"]), codes)
