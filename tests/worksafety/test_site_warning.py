"""A site alarm reaches the right people: the red dam alarm's 立即转移 proposal lists the
villages below the dam nearest first, auto-issue publishes it (and proposes the tailings-dam
response), SMS go to the site's and the section's people through the outbox, and a device fault
never reaches a village."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest
from psycopg.rows import dict_row

from riskmap.geo.risk.catalogue import catalogued_dem
from riskmap.geo.warnings import lifecycle
from riskmap.geo.warnings.texts import speech_text
from riskmap.geo.worksafety.changes import SiteAlarmChange
from riskmap.geo.worksafety.downstream_store import compute_downstream
from riskmap.geo.worksafety.site_warning import propose_site_warning
from tests.conftest import clone_database, drop_database

AT = datetime(2026, 7, 15, 9, 0, tzinfo=UTC)
SECTION_MOBILE = ("P-ws-sec1", "矿山股张科长", "13900000001")
SECTION_LANDLINE = ("P-ws-sec2", "矿山股办公室", "0745-5000000")  # no SMS to a landline
OTHER_SECTION = ("P-ws-sec3", "危化股李科长", "13900000003")
MAINTENANCE = ("P-ws-mnt", "运维王工", "13900000002")


@pytest.fixture(scope="module")
def threat_url(pg_cluster, storm_url) -> Iterator[str]:
    url = clone_database(pg_cluster, storm_url, prefix="t_wsthreat")
    with psycopg.connect(url) as conn:
        # the demo's own monitoring settings and section staff make way for this module's
        conn.execute("DELETE FROM ws_section_member")
        conn.execute("DELETE FROM ws_site")
        compute_downstream(conn, catalogued_dem(conn))
    yield url
    drop_database(pg_cluster, url)


@pytest.fixture
def db(threat_url: str) -> Iterator[psycopg.Connection]:
    """A connection inside a transaction rolled back afterwards, with the dam monitored."""
    with psycopg.connect(threat_url, row_factory=dict_row) as conn:
        dam = conn.execute(
            "SELECT id, safety_contact_id FROM hazardous_site WHERE kind = 'tailings_dam'"
        ).fetchone()
        for pid, name, phone in (SECTION_MOBILE, SECTION_LANDLINE, OTHER_SECTION, MAINTENANCE):
            conn.execute(
                "INSERT INTO person (id, name, phone, org, dataset_id)"
                " VALUES (%s, %s, %s, '麻阳苗族自治县应急管理局', 'demo-431226')",
                [pid, name, phone],
            )
        for pid, section in ((SECTION_MOBILE[0], "矿山股"), (SECTION_LANDLINE[0], "矿山股"),
                             (OTHER_SECTION[0], "危化股")):  # fmt: skip
            conn.execute("INSERT INTO ws_section_member VALUES ('431226', %s, %s)", [section, pid])
        conn.execute(
            "INSERT INTO ws_site (site_id, supervising_section, maintenance_contact, auto_issue,"
            " config_sha256, dataset_id) VALUES (%s, '矿山股', %s, false, 'x', 'demo-431226')",
            [dam["id"], MAINTENANCE[0]],
        )
        conn.dam = dam  # type: ignore[attr-defined]
        yield conn
        conn.rollback()


def change(site_id: str, level: str = "red", kind: str = "threshold") -> SiteAlarmChange:
    return SiteAlarmChange(
        site_id=site_id,
        item="phreatic_depth" if kind == "threshold" else "pond_level",
        level=level,
        previous_level="orange" if level == "red" else None,
        kind=kind,  # type: ignore[arg-type]
        opened_at=datetime(2026, 7, 15, 8, 40, tzinfo=UTC),
        summary_zh="浸润线埋深3.2米，浅于红色报警值4.0米"
        if kind == "threshold"
        else "库水位读数连续6小时不变（卡死）",
    )


def notice_sms(conn: psycopg.Connection, notice_id: int) -> dict[str, dict]:
    rows = conn.execute(
        "SELECT target, channel, payload FROM outbox WHERE ws_notice_id = %s", [notice_id]
    ).fetchall()
    assert all(r["channel"] == "sms" for r in rows)
    return {r["target"]: r["payload"] for r in rows}


def downstream(conn: psycopg.Connection, site_id: str) -> list[dict]:
    return conn.execute(
        "SELECT d.village_code, v.name FROM ws_site_downstream d"
        " JOIN admin_unit v ON v.code = d.village_code WHERE site_id = %s ORDER BY distance_m",
        [site_id],
    ).fetchall()


def test_red_dam_alarm_proposes_evacuation_of_the_villages_below_nearest_first(db) -> None:
    dam = db.dam
    out = propose_site_warning(db, change(dam["id"]), at=AT)
    assert out.warning is not None and out.warning.status == "candidate"
    assert not out.warning.published and out.responses == []
    w = db.execute("SELECT * FROM warning WHERE id = %s", [out.warning.warning_id]).fetchone()
    v = db.execute(
        "SELECT * FROM warning_version WHERE warning_id = %s AND version = 1", [w["id"]]
    ).fetchone()
    below = downstream(db, dam["id"])
    assert len(below) >= 2
    assert sorted(w["village_codes"]) == sorted(b["village_code"] for b in below)
    assert (w["hazard"], w["colour"], w["action"], w["review"]) == (
        "tailings_dam", "red", "evacuate_now", "forecaster")  # fmt: skip
    assert (v["category"], v["urgency"], v["event_zh"]) == ("Safety", "Immediate", "尾矿库溃坝风险")
    text = v["instruction_zh"]
    assert text.startswith("立即转移！")
    positions = [text.index(b["name"]) for b in below]
    assert positions == sorted(positions)  # nearest the dam first
    # a candidate sends nothing to villages
    assert db.execute("SELECT count(*) AS n FROM outbox WHERE warning_id = %s", [w["id"]]
                      ).fetchone()["n"] == 0  # fmt: skip
    # the safety contact and the mobile of the mine section; not the landline, not 危化股
    safety = db.execute("SELECT phone FROM person WHERE id = %s", [dam["safety_contact_id"]]
                        ).fetchone()["phone"]  # fmt: skip
    sms = notice_sms(db, out.notice_id)
    assert set(sms) == {safety, SECTION_MOBILE[2]}
    assert sms[safety]["roles"] == ["site_safety"]
    assert sms[SECTION_MOBILE[2]]["roles"] == ["section"]
    assert "待指挥长审核" in sms[safety]["text"] and "红色报警" in sms[safety]["text"]
    assert db.execute("SELECT warning_id FROM ws_notice WHERE id = %s", [out.notice_id]
                      ).fetchone()["warning_id"] == w["id"]  # fmt: skip
    # the commander reviews and issues it: now the villages below the dam are told
    issued = lifecycle.issue(db, w["id"], "commander", "核实险情属实", at=AT)
    assert issued.status == "issued" and issued.published
    sent = db.execute(
        "SELECT channel, count(*) AS n FROM outbox WHERE warning_id = %s GROUP BY channel",
        [w["id"]],
    ).fetchall()
    assert {r["channel"] for r in sent} >= {"cap-feed", "sms"}
    print("\n" + speech_text(v["headline_zh"], v["instruction_zh"], v["description_zh"]))
    print(sms[safety]["text"])


def test_auto_issue_publishes_the_warning_and_proposes_the_dam_response(db) -> None:
    dam = db.dam
    db.execute("UPDATE ws_site SET auto_issue = true WHERE site_id = %s", [dam["id"]])
    out = propose_site_warning(db, change(dam["id"]), at=AT)
    assert out.warning is not None and out.warning.status == "issued" and out.warning.published
    wid = out.warning.warning_id
    channels = {
        r["channel"]
        for r in db.execute("SELECT channel FROM outbox WHERE warning_id = %s", [wid]).fetchall()
    }
    assert {"cap-feed", "sms"} <= channels
    # every village-bound message of the warning is for the villages below the dam
    codes = {b["village_code"] for b in downstream(db, dam["id"])}
    sent = db.execute(
        "SELECT DISTINCT payload ->> 'village_code' AS v FROM outbox"
        " WHERE warning_id = %s AND payload ? 'village_code'",
        [wid],
    ).fetchall()
    assert {r["v"] for r in sent} <= codes
    assert [(p.plan_id, p.level, p.kind) for p in out.responses] == [("tailings_dam", 3, "start")]
    r = db.execute(
        "SELECT status, plan_id FROM response WHERE id = %s", [out.responses[0].response_id]
    ).fetchone()
    assert r == {"status": "proposed", "plan_id": "tailings_dam"}
    texts = [p["text"] for p in notice_sms(db, out.notice_id).values()]
    assert texts and all("已向坝下村庄发布立即转移预警" in t for t in texts)


def test_a_device_fault_never_reaches_a_village(db) -> None:
    dam = db.dam
    db.execute("UPDATE ws_site SET auto_issue = true WHERE site_id = %s", [dam["id"]])
    before = db.execute("SELECT count(*) AS n FROM outbox").fetchone()["n"]
    warnings = db.execute("SELECT count(*) AS n FROM warning").fetchone()["n"]
    out = propose_site_warning(db, change(dam["id"], level="stuck", kind="fault"), at=AT)
    assert out.warning is None and out.responses == []
    sms = notice_sms(db, out.notice_id)
    assert set(sms) == {MAINTENANCE[2], SECTION_MOBILE[2]}  # not the site's safety contact
    assert "不是险情报警" in sms[MAINTENANCE[2]]["text"]
    # nothing else was queued: no loudspeaker, no village SMS, no warning
    assert db.execute("SELECT count(*) AS n FROM outbox").fetchone()["n"] == before + len(sms)
    assert db.execute("SELECT count(*) AS n FROM warning").fetchone()["n"] == warnings
    print(sms[MAINTENANCE[2]]["text"])


def test_a_fault_reported_as_red_still_warns_no_village(db) -> None:
    out = propose_site_warning(db, change(db.dam["id"], level="red", kind="fault"), at=AT)
    assert out.warning is None and set(notice_sms(db, out.notice_id)) == {
        MAINTENANCE[2], SECTION_MOBILE[2]}  # fmt: skip


def test_orange_texts_people_without_a_warning_and_blue_stays_quiet(db) -> None:
    dam = db.dam
    orange = propose_site_warning(db, change(dam["id"], level="orange"), at=AT)
    assert orange.warning is None and orange.sms == 2
    assert "橙色报警" in next(iter(notice_sms(db, orange.notice_id).values()))["text"]
    again = propose_site_warning(db, change(dam["id"], level="orange"), at=AT)
    assert again.notice_id == orange.notice_id and again.sms == 0  # a repeat is a no-op
    blue = propose_site_warning(db, change(dam["id"], level="blue"), at=AT)
    assert blue.notice_id is None and blue.sms == 0
