"""Warning times and candidate flags over real HTTP: a stale candidate is refused on issue (409
with why), the detail's expiry is the CAP's after an escalation and a datetime filter finds
the warning, and a candidate shows the upstream signal it disagrees with."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import psycopg
from lxml import etree

from riskmap.geo.warnings import lifecycle
from riskmap.geo.warnings.proposal import Proposal

CAP = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}


def _villages(db_url: str, n: int, offset: int) -> list[str]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT code FROM village ORDER BY code LIMIT %s OFFSET %s", (n, offset)
        ).fetchall()
    return [r[0] for r in rows]


def _warning(db_url: str, codes: list[str], at: datetime, hold: float, **kw) -> int:
    """A warning of its own rule fired at ``at`` (its own rule: nothing merges into it)."""
    colour = kw.pop("colour", "yellow")
    p = Proposal(
        rule_id=f"test.times.{uuid.uuid4().hex[:8]}", rule_version="1", hazard="rainstorm",
        colour=colour, at=at, village_codes=tuple(codes),
        evidence={v: {"rain_3h": 66.0} for v in codes}, event_zh="暴雨", event_en="Rainstorm",
        headline_zh="测试暴雨预警", headline_en="Test rainstorm", description_zh="测试。",
        description_en="Test.", instruction_zh="注意防范。", instruction_en="Take care.",
        hold_hours=hold, **kw,
    )  # fmt: skip
    with psycopg.connect(db_url) as conn:
        (change,) = lifecycle.apply_proposals(conn, [p], at, actor="tests")
        conn.commit()
    return change.warning_id


def test_issuing_a_stale_candidate_is_409_with_why(service) -> None:
    ago = datetime.now(UTC) - timedelta(hours=10)
    wid = _warning(service.db_url, _villages(service.db_url, 2, 180), ago, 3)
    with service.client("forecaster") as c:
        r = c.post(f"/api/warnings/{wid}/issue", json={"reason": "核实"})
        assert r.status_code == 409
        assert "hold time of 3 h ran out" in r.json()["detail"]
        detail = c.get(f"/api/warnings/{wid}").json()["properties"]
    assert detail["published_version"] is None and detail["status"] == "expired"
    assert detail["in_force"] is False


def test_after_an_escalation_detail_cap_and_filters_agree(service) -> None:
    now = datetime.now(UTC)
    fired = now - timedelta(hours=2)
    wid = _warning(service.db_url, _villages(service.db_url, 2, 185), fired, 3, review="auto")
    with service.client("forecaster") as c:
        r = c.post(f"/api/warnings/{wid}/escalate", json={"reason": "雨势加大", "colour": "orange"})
        assert r.status_code == 200, r.text
        detail = c.get(f"/api/warnings/{wid}").json()["properties"]
    with service.client() as c:
        cap = etree.fromstring(c.get(f"/api/warnings/{wid}.cap").content)
        expires = datetime.fromisoformat(cap.findtext("cap:info/cap:expires", namespaces=CAP))
        sent = datetime.fromisoformat(cap.findtext("cap:sent", namespaces=CAP))
        effective = datetime.fromisoformat(cap.findtext("cap:info/cap:effective", namespaces=CAP))
        # CAP times are to the second
        assert datetime.fromisoformat(detail["expires_at"]).replace(microsecond=0) == expires
        assert expires == (fired + timedelta(hours=3)).replace(microsecond=0)
        assert sent <= effective < expires
        assert detail["in_force"] is True and detail["status"] == "issued"
        # the public default (issued = in force now) and a datetime inside its validity find it
        inside = (now + timedelta(minutes=30)).isoformat()
        after = (fired + timedelta(hours=3, minutes=1)).isoformat()
        ids = lambda **q: {  # noqa: E731
            f["id"] for f in c.get("/api/warnings", params={"limit": 500, **q}).json()["features"]
        }
        assert wid in ids() and wid in ids(datetime=inside)
        assert wid not in ids(datetime=after)
        feed = etree.fromstring(c.get("/api/cap/feed.atom").content)
        idents = {e.text for e in feed.iterfind(".//cap:identifier", CAP)}
        assert cap.findtext("cap:identifier", namespaces=CAP) in idents


def test_changing_an_expired_warning_is_409(service) -> None:
    """The storm's warnings expired in July: escalating one no longer stretches it into now."""
    with psycopg.connect(service.db_url) as conn:
        wid, colour = conn.execute(
            "SELECT id, colour FROM warning WHERE status = 'issued' AND expires_at <= now()"
            " ORDER BY id LIMIT 1"
        ).fetchone()
    other = "blue" if colour != "blue" else "red"
    with service.client("forecaster") as c:
        r = c.post(f"/api/warnings/{wid}/escalate", json={"reason": "x", "colour": other})
        assert r.status_code == 409 and "expired" in r.json()["detail"]
    with service.client() as c:
        assert wid not in {
            f["id"] for f in c.get("/api/warnings", params={"limit": 500}).json()["features"]
        }


def test_a_candidate_shows_a_different_upstream_signal(service) -> None:
    """A red 暴雨 signal of the weather office over three villages, in force now; our yellow
    rainstorm candidate over them is flagged in the detail, one over other villages is not."""
    codes = _villages(service.db_url, 3, 190)
    now = datetime.now(UTC)
    aid = uuid.uuid4()
    with psycopg.connect(service.db_url) as conn:
        conn.execute(
            """INSERT INTO cap_alert (id, identifier, sender, sent, status, msg_type, scope,
                                      cap_version, schema_valid, raw_xml)
               VALUES (%s, %s, 'test-qxt@example.cn', %s, 'Actual', 'Alert', 'Public', '1.2',
                       true, '<alert/>')""",
            (aid, f"test-{aid}", now - timedelta(minutes=5)),
        )
        conn.execute(
            """INSERT INTO cap_info (alert_id, ordinal, category, event, urgency, severity,
                                     certainty, headline, expires)
               VALUES (%s, 1, ARRAY['Met'], '暴雨', 'Immediate', 'Extreme', 'Observed',
                       '测试气象台发布暴雨红色预警信号', %s)""",
            (aid, now + timedelta(hours=6)),
        )
        conn.execute(
            """INSERT INTO cap_area (alert_id, info_ordinal, ordinal, area_desc, geom)
               SELECT %s, 1, 1, '测试', ST_Multi(ST_Buffer(ST_Union(
                   ST_PointOnSurface(geom)), 0.0005))
               FROM village WHERE code = ANY(%s)""",
            (aid, codes),
        )
        conn.commit()
    flagged = _warning(service.db_url, codes, now, 3)
    other = _warning(service.db_url, _villages(service.db_url, 2, 150), now, 3)
    with service.client("viewer") as c:
        body = c.get(f"/api/warnings/{flagged}").json()
        [conflict] = body["properties"]["upstream_conflicts"]
        assert conflict["colour"] == "red" and conflict["ours"] == "yellow"
        assert conflict["higher"] is True and conflict["villages"] == 3
        assert conflict["identifier"] == f"test-{aid}"
        assert c.get(f"/api/warnings/{other}").json()["properties"]["upstream_conflicts"] == []
    with psycopg.connect(service.db_url) as conn:  # leave the shared database as it was
        conn.execute("DELETE FROM cap_alert WHERE id = %s", (aid,))
        conn.commit()
