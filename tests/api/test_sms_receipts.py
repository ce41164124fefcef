"""SMS delivery receipts into a real server: signed by the gateway key, per part, idempotent.

A server of its own (it needs ``sms_gateway_key``) over a copy of the storm database holding a
warning published here, whose SMS text takes two parts. Signatures are computed in the test
from the documented scheme, not with the code under test.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from psycopg import sql

from riskmap.api.dispatch.adapters.sms import SmsGatewayAdapter
from riskmap.api.dispatch.model import Links, Message
from riskmap.api.dispatch.receipts import apply_receipts
from riskmap.geo.settings import Settings
from riskmap.geo.warnings import lifecycle
from riskmap.geo.warnings.proposal import Proposal
from tests.api.conftest import start_server
from tests.conftest import clone_database
from tests.dispatch.sms_fixtures import KEY, sms_gateway

AT = datetime(2026, 7, 14, 6, 0, tzinfo=UTC)
DONE = datetime(2026, 7, 14, 6, 1, 30, tzinfo=UTC)
# with the signature and the lead the SMS is longer than 70 characters: two parts
INSTRUCTION = (
    "危险区人员立即按转移路线撤离到安置点，不得返回。"
    + "村监测员加强巡查，关注雨情和后续预警，注意安全。"
)


@dataclass
class Setup:
    base_url: str
    db_url: str
    rows: list[dict]  # the warning's SMS rows (id, key, target), to hand out one per test

    def take(self) -> dict:
        return self.rows.pop()


@pytest.fixture(scope="module")
def setup(pg_cluster, storm_url: str, tmp_path_factory) -> Iterator[Setup]:
    url = clone_database(pg_cluster, storm_url, prefix="t_sms")
    with psycopg.connect(url) as conn:
        villages = [r[0] for r in conn.execute("SELECT code FROM village ORDER BY code LIMIT 2")]
        proposal = Proposal(
            rule_id="test.sms_receipts",
            rule_version="1",
            hazard="flash_flood",
            colour="red",
            at=AT,
            village_codes=tuple(villages),
            evidence={c: {"rain_3h": 130.0} for c in villages},
            event_zh="山洪灾害",
            event_en="Flash flood",
            headline_zh="麻阳苗族自治县山洪灾害立即转移预警",
            headline_en="Flash flood: evacuate now",
            description_zh="降雨已达到立即转移指标。",
            description_en="Evacuate now.",
            instruction_zh=INSTRUCTION,
            instruction_en="Evacuate now.",
            review="auto",
            action="evacuate_now",
        )
        [change] = lifecycle.apply_proposals(conn, [proposal], AT)
        rows = conn.execute(
            "SELECT id, idempotency_key AS key, target, payload FROM outbox"
            " WHERE warning_id = %s AND channel = 'sms' AND idempotency_key LIKE %s ORDER BY id",
            (change.warning_id, "%:sms:%"),
        ).fetchall()
        conn.commit()
    assert len(rows) >= 10 and all(len(r[3]["parts"]) == 2 for r in rows)
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("sms-data"),
        write_rate_limit="1000/minute",
        sms_gateway_key=KEY,
    )
    base, server, thread = start_server(settings, url)
    names = ("id", "key", "target", "payload")
    yield Setup(base, url, [dict(zip(names, r, strict=True)) for r in rows])
    server.should_exit = True
    thread.join(timeout=10)
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(pg_cluster.url_for("postgres"), autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def signed(body: bytes, key: str = KEY, ts: int | None = None) -> dict[str, str]:
    ts = int(time.time()) if ts is None else ts
    mac = hmac.new(key.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return {
        "X-Gateway-Timestamp": str(ts),
        "X-Gateway-Signature": f"sha256={mac}",
        "Content-Type": "application/json",
    }


def receipt(row: dict, part: int, status: str = "DELIVRD", *, mid: str | None = None, at=DONE):
    doc = {
        "message_id": mid or f"M{row['id']}p{part}",
        "ref": f"{row['key']}#{part}/2",
        "to": row["target"],
        "status": status,
        "done_at": at.isoformat(),
    }
    return json.dumps(doc).encode()


def post(s: Setup, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(
        f"{s.base_url}/api/sms/receipts",
        content=body,
        headers=signed(body) if headers is None else headers,
        timeout=30,
    )


def state(s: Setup, outbox_id: int) -> tuple:
    with psycopg.connect(s.db_url) as c:
        return c.execute(
            "SELECT o.status, o.acked_at, o.ack, o.last_error,"
            " (SELECT count(*) FROM sms_receipt r WHERE r.outbox_id = o.id)"
            " FROM outbox o WHERE o.id = %s",
            (outbox_id,),
        ).fetchone()


def mark_sent(s: Setup, ids: list[int]) -> dict[int, str]:
    """What the dispatcher does after the gateway took the messages."""
    with psycopg.connect(s.db_url) as c:
        c.execute(
            "UPDATE outbox SET status = 'sent', sent_at = now(), attempts = attempts + 1"
            " WHERE id = ANY(%s)",
            (ids,),
        )
        return apply_receipts(c, ids)


def test_forged_receipts_are_refused_and_nothing_recorded(setup: Setup) -> None:
    row = setup.take()
    mark_sent(setup, [row["id"]])
    body = receipt(row, 1)
    now = int(time.time())
    forgeries = {
        "no signature": {"Content-Type": "application/json"},
        "another key": signed(body, key="not-the-key"),
        "stale": signed(body, ts=now - 600),
        "from the future": signed(body, ts=now + 600),
        "malformed": {**signed(body), "X-Gateway-Signature": "sha256=zz"},
    }
    for why, headers in forgeries.items():
        answer = post(setup, body, headers)
        assert answer.status_code == 401, why
    # a signed body altered afterwards
    altered = body.replace(b"DELIVRD", b"UNDELIV")
    assert post(setup, altered, signed(body)).status_code == 401
    assert state(setup, row["id"])[0] == "sent" and state(setup, row["id"])[4] == 0


def test_a_receipt_for_each_part_acks_the_row(setup: Setup) -> None:
    row = setup.take()
    mark_sent(setup, [row["id"]])
    first = post(setup, receipt(row, 1, at=DONE - timedelta(seconds=20)))
    assert first.status_code == 200, first.text
    assert first.json() == {
        "recorded": True,
        "outbox_id": row["id"],
        "part": 1,
        "parts": 2,
        "outbox_status": "sent",
    }
    second = post(setup, receipt(row, 2))
    assert second.json()["outbox_status"] == "acked"
    status, acked_at, ack, error, n = state(setup, row["id"])
    assert (status, acked_at, n, error) == ("acked", DONE, 2, None)  # the later part's time
    assert [(r["part"], r["status"]) for r in ack["receipts"]] == [(1, "DELIVRD"), (2, "DELIVRD")]
    # the gateway repeats itself: nothing changes
    again = post(setup, receipt(row, 2))
    assert again.status_code == 200 and again.json()["recorded"] is False
    assert again.json()["outbox_status"] == "acked" and state(setup, row["id"])[4] == 2


def test_an_undeliverable_part_fails_the_row(setup: Setup) -> None:
    row = setup.take()
    mark_sent(setup, [row["id"]])
    assert post(setup, receipt(row, 2, "UNDELIV")).json()["outbox_status"] == "sent"
    answer = post(setup, receipt(row, 1))
    assert answer.json()["outbox_status"] == "failed"
    status, acked_at, _, error, n = state(setup, row["id"])
    assert (status, acked_at, n) == ("failed", None, 2)
    assert "UNDELIV" in error and "2/2" in error


def test_bad_bodies_and_unknown_references(setup: Setup) -> None:
    row = setup.take()
    for body in (b"not json", b"{}", receipt(row, 1).replace(b"#1/2", b"#3/2")):
        assert post(setup, body).status_code == 422, body
    unknown = json.dumps(
        {"message_id": "M1", "ref": "warning:0:v1:sms:1#1/1", "status": "DELIVRD",
         "done_at": DONE.isoformat()}
    ).encode()  # fmt: skip
    assert post(setup, unknown).status_code == 404
    assert state(setup, row["id"])[4] == 0


def test_receipts_ahead_of_the_dispatcher_wait_for_it(setup: Setup) -> None:
    """The dispatcher died after the gateway took the message: the row is still pending when
    the receipts come; they are kept and settle the row once it is recorded as sent."""
    row = setup.take()
    for part in (1, 2):
        assert post(setup, receipt(row, part)).json()["outbox_status"] == "pending"
    assert state(setup, row["id"])[:1] == ("pending",) and state(setup, row["id"])[4] == 2
    assert mark_sent(setup, [row["id"]]) == {row["id"]: "acked"}
    assert state(setup, row["id"])[0] == "acked"


def test_through_the_fake_gateway(setup: Setup) -> None:
    """Adapter → fake gateway → signed receipts → this server: one phone delivered, one not."""
    good, bad = setup.take(), setup.take()
    # the gateway signs its receipts with KEY, the key riskmap sends it (and verifies with)
    with sms_gateway(receipt_delay_s=0.05, undeliverable=[bad["target"]]) as (gw_url, gateway):

        async def send() -> list:
            adapter = SmsGatewayAdapter(
                Links(setup.base_url),
                url=f"{gw_url}/sms/send",
                key=KEY,
                callback_url=f"{setup.base_url}/api/sms/receipts",
                timeout_s=5,
            )
            try:
                return [
                    await adapter.deliver(
                        Message(r["id"], 0, 1, "sms", r["target"], r["payload"], r["key"], 1)
                    )
                    for r in (good, bad)
                ]
            finally:
                await adapter.aclose()

        outcomes = asyncio.run(send())
        assert all(o.delivered for o in outcomes)
        mark_sent(setup, [good["id"], bad["id"]])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if (state(setup, good["id"])[0], state(setup, bad["id"])[0]) == ("acked", "failed"):
                break
            time.sleep(0.05)
        sent = [m["text"] for m in gateway.messages if m["to"] == good["target"]]
    assert sent == good["payload"]["parts"]
    assert state(setup, good["id"])[0] == "acked" and state(setup, bad["id"])[0] == "failed"


def test_both_parts_at_once_still_settle_the_row(setup: Setup) -> None:
    """Receipts for two parts arriving together: neither may miss the other's (row lock)."""
    rows = [setup.take(), setup.take()]
    mark_sent(setup, [r["id"] for r in rows])
    bodies = [receipt(r, part) for r in rows for part in (1, 2)]
    with ThreadPoolExecutor(len(bodies)) as pool:
        answers = list(pool.map(lambda b: post(setup, b), bodies))
    assert all(a.status_code == 200 for a in answers)
    assert [state(setup, r["id"])[0] for r in rows] == ["acked", "acked"]
