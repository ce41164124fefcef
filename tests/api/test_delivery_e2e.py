"""The last mile through real parts: the API, the dispatcher, the reference receiver (which
acknowledges through the API) and the fake SMS gateway (which sends receipts to the API).

An auto-issued red 立即转移 warning reaches every targeted village, the receiver's signed
acknowledgements turn into 'acked', the coverage summary in /api/warnings/{id} says so by
township, the on-duty leader gets the SMS, and forged, altered, replayed or misaddressed
acknowledgements are refused."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import psycopg
import pytest

from riskmap.api.dispatch import service as dispatch_service
from riskmap.api.dispatch import signing
from riskmap.api.receiver.client import health, journal
from riskmap.api.users import add_user, new_token
from riskmap.geo.settings import Settings
from tests.api.conftest import start_server
from tests.conftest import clone_database, drop_database
from tests.dispatch import delivery_setup as ds
from tests.dispatch.receivers import reference_receiver
from tests.dispatch.sms_fixtures import KEY as SMS_KEY
from tests.dispatch.sms_fixtures import sms_gateway

LEADER_PHONE = "13907310001"  # a hand-made on-duty leader for this test


@pytest.fixture
def live(pg_cluster, storm_url, tmp_path) -> Iterator[dict]:
    url = clone_database(pg_cluster, storm_url, "t_e2e")
    (tmp_path / "rx").mkdir()
    with psycopg.connect(url) as conn:
        add_user(conn, "e2e-forecaster", "forecaster")
        token = new_token(conn, "e2e-forecaster")
        # the county office's duty leader on shift now (带班领导)
        conn.execute(
            """INSERT INTO person (id, name, phone, dataset_id)
               SELECT 'P-E2E-LEADER', '值班领导甲', %s, dataset_id FROM person LIMIT 1""",
            (LEADER_PHONE,),
        )
        conn.execute(
            """INSERT INTO duty_shift (org_code, post, person_id, shift, dataset_id)
               SELECT '431226', 'leader', 'P-E2E-LEADER',
                      tstzrange(now() - interval '1 hour', now() + interval '1 hour'), dataset_id
               FROM person WHERE id = 'P-E2E-LEADER'""",
        )
        conn.commit()
    settings = Settings(
        database_url=url,
        data_dir=tmp_path,
        sms_gateway_key=SMS_KEY,
        coverage_minutes=10,
    )
    base, server, thread = start_server(settings, url)
    try:
        yield {"url": url, "tmp": tmp_path, "base": base, "token": token, "settings": settings}
    finally:
        server.should_exit = True
        thread.join(10)
        drop_database(pg_cluster, url)


def _drain(settings: Settings, url: str) -> None:
    async def main():
        d = dispatch_service.build(settings, url)
        try:
            await d.run(asyncio.Event(), drain=True)
        finally:
            await d.aclose()

    asyncio.run(main())


def _wait(check, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while not (got := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {seconds} s for {what}")
        time.sleep(0.1)
    return got


def test_issued_warning_is_heard_acknowledged_and_summarised(live) -> None:
    url, tmp, base = live["url"], live["tmp"], live["base"]
    secrets = {k: base64.b64decode(v) for k, v in ds.export_keys(url, tmp).items()}
    codes = ds.villages(url)[:40]
    with (
        reference_receiver(tmp / "rx", secrets, ack=True) as rx,
        sms_gateway(receipt_delay_s=0.2) as (gw_url, _gateway),
    ):
        ds.point_terminals(url, rx)
        wid = ds.publish(url, codes, rule="e2e-flash-flood")
        s = live["settings"].model_copy(
            update={
                "public_url": base,
                "sms_gateway_url": f"{gw_url}/sms/send",
                "dispatch_backoff_s": 0.05,
            }
        )
        _drain(s, url)
        played = [e for e in journal(rx) if e["warning_id"] == wid]
        assert {e["village_code"] for e in played} == set(codes)

        def acked() -> bool:
            with psycopg.connect(url) as c:
                return not c.execute(
                    "SELECT 1 FROM outbox WHERE warning_id = %s AND channel = 'broadcast'"
                    " AND status <> 'acked'",
                    (wid,),
                ).fetchone()

        _wait(acked, 60, "every terminal's acknowledgement")
        # each loudspeaker fetched the Mandarin audio before it acknowledged
        rx_health = health(rx)
        assert (rx_health["audio_fetched"], rx_health["audio_failed"]) == (len(codes), 0)

        def receipted() -> bool:
            with psycopg.connect(url) as c:
                return not c.execute(
                    "SELECT 1 FROM outbox WHERE warning_id = %s AND channel = 'sms'"
                    " AND status = 'sent'",
                    (wid,),
                ).fetchone()

        _wait(receipted, 30, "every SMS receipt")
        texted = httpx.get(
            f"{gw_url}/sms/log", headers={"Authorization": f"Bearer {SMS_KEY}"}, timeout=10
        ).json()
    # the on-duty leader got the warning by SMS, most important words first
    leader = [m for m in texted if m["to"] == LEADER_PHONE]
    assert leader and "红色预警" in leader[0]["text"][:40] and "立即转移" in leader[0]["text"][:40]

    with httpx.Client(base_url=base, timeout=30) as client:
        detail = client.get(
            f"/api/warnings/{wid}", headers={"Authorization": f"Bearer {live['token']}"}
        ).json()
    cov = detail["coverage"]
    with psycopg.connect(url) as c:
        by_township = dict(
            c.execute(
                """SELECT a.parent_code, count(DISTINCT a.code) FROM admin_unit a
                   WHERE a.code = ANY(%s) GROUP BY 1""",
                (codes,),
            ).fetchall()
        )
    assert cov["villages_total"] == len(codes)
    assert cov["villages_by_state"]["acknowledged"] == len(codes)
    assert {t["code"]: t["villages"] for t in cov["by_township"]} == by_township
    assert all(t["acknowledged"] == t["villages"] for t in cov["by_township"])
    assert cov["not_reached"] == []
    assert cov["messages"]["sms_delivered"] == cov["messages"]["sms_sent"] > 0


def _ack_request(base: str, broadcast_id: int, key_id: str, secret: bytes, body: dict, **kw):
    raw = json.dumps(body).encode()
    headers = signing.signed_headers(key_id, secret, raw, now=kw.pop("now", None))
    if kw.pop("alter", False):
        raw = raw.replace(b'"played"', b'"failed"')
    headers["Content-Type"] = "application/json"
    return httpx.post(f"{base}/api/broadcasts/{broadcast_id}/ack", content=raw, headers=headers)


def test_forged_altered_replayed_and_misaddressed_acks_are_refused(live) -> None:
    url, tmp, base = live["url"], live["tmp"], live["base"]
    secrets = {k: base64.b64decode(v) for k, v in ds.export_keys(url, tmp).items()}
    codes = ds.villages(url)[:2]
    wid = ds.publish(url, codes, rule="e2e-acks")
    with psycopg.connect(url) as c:
        (bid, terminal, key), (_, other, _) = c.execute(
            "SELECT id, target, idempotency_key FROM outbox WHERE warning_id = %s"
            " AND channel = 'broadcast' ORDER BY id",
            (wid,),
        ).fetchall()
    kid = f"{terminal}:v1"
    body = {
        "broadcast_id": bid,
        "idempotency_key": key,
        "terminal_id": terminal,
        "result": "played",
        "played_at": datetime.now(UTC).isoformat(),
    }

    def status() -> str:
        with psycopg.connect(url) as c:
            return c.execute("SELECT status FROM outbox WHERE id = %s", (bid,)).fetchone()[0]

    forged = _ack_request(base, bid, kid, b"not the terminal's secret", body)
    altered = _ack_request(base, bid, kid, secrets[kid], body, alter=True)
    stale = time.time() - 600
    replayed = _ack_request(base, bid, kid, secrets[kid], body, now=stale)
    other_kid = f"{other}:v1"
    misaddressed = _ack_request(base, bid, other_kid, secrets[other_kid], body)
    unsigned = httpx.post(f"{base}/api/broadcasts/{bid}/ack", json=body)
    assert [r.status_code for r in (forged, altered, replayed, unsigned)] == [401] * 4
    assert misaddressed.status_code == 403
    assert status() == "pending"  # none of them counted
    ok = _ack_request(base, bid, kid, secrets[kid], body)
    assert ok.status_code == 200 and ok.json() == {"broadcast_id": bid, "status": "acked"}
    assert status() == "acked"
    again = _ack_request(base, bid, kid, secrets[kid], body)
    assert again.status_code == 200 and again.json()["status"] == "acked"  # idempotent
    wrong_key = _ack_request(base, bid, kid, secrets[kid], body | {"idempotency_key": "x"})
    assert wrong_key.status_code == 422
    missing = _ack_request(base, bid + 10_000, kid, secrets[kid], body)
    assert missing.status_code == 404


def test_healthz_reports_dead_messages_as_an_alert(live) -> None:
    url, base = live["url"], live["base"]
    wid = ds.publish(url, ds.villages(url)[:2], rule="e2e-health")
    with psycopg.connect(url) as c:
        c.execute(
            "UPDATE outbox SET status = 'dead' WHERE warning_id = %s AND channel = 'broadcast'",
            (wid,),
        )
        dead = c.execute("SELECT count(*) FROM outbox WHERE status = 'dead'").fetchone()[0]
        c.commit()
    health = httpx.get(f"{base}/healthz", timeout=10).json()
    assert health["delivery"]["dead"] == dead == 2
    assert any("2 messages dead" in a for a in health["alerts"])
    assert health["components"]["dispatcher"]["status"] == "never"
    assert any("dispatcher is never" in a for a in health["alerts"])  # messages due, no one
