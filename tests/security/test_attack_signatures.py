"""Signed acknowledgements (村村响 terminals) and SMS gateway receipts against an attacker who
captured signed requests or makes up the signature headers.

tests/api/test_delivery_e2e.py refuses forged, altered, stale (-600 s), unsigned and
misaddressed acks, and tests/api/test_sms_receipts.py forged, stale and future receipts. Here:
the edges of the five-minute replay window both ways, timestamps no clock would send (huge,
negative, fractional, hex, empty: a 401 and never a 500), a captured "failed" replayed after
the terminal played the broadcast, and a captured ack replayed against another broadcast or a
drill. Nothing refused may change the outbox.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

import httpx
import psycopg
import pytest

from riskmap.api.dispatch import signing
from tests.dispatch import delivery_setup as ds
from tests.security.conftest import Server

GATEWAY_KEY = "attack-test-gateway-key"
WINDOW = 300  # seconds, written out: README "a timestamp within five minutes"
ODD_STAMPS = [
    "1" + "0" * 400,  # an integer no float holds
    "-" + "9" * 400,
    "9" * 5000,  # past Python's int() digit limit
    "-1",
    "0",
    "1e9",
    "0x6a5b3c00",
    "nan",
    "inf",
    "",
    "1796540400.5",
    "\u0661\u0667\u0669",  # Arabic-Indic digits, as latin-1 bytes on the wire
]


@pytest.fixture(scope="module")
def world(make_server) -> dict:
    api = make_server(sms_gateway_key=GATEWAY_KEY, write_rate_limit="100000/minute")
    data_dir = api.server.config.app.state.settings.data_dir
    secrets = {k: base64.b64decode(v) for k, v in ds.export_keys(api.db_url, data_dir).items()}
    wid = ds.publish(api.db_url, ds.villages(api.db_url)[:4], rule="attack-signatures")
    with psycopg.connect(api.db_url) as conn:
        broadcasts = conn.execute(
            "SELECT id, target, idempotency_key FROM outbox"
            " WHERE warning_id = %s AND channel = 'broadcast' ORDER BY id",
            [wid],
        ).fetchall()
        sms = conn.execute(
            "SELECT id, idempotency_key FROM outbox WHERE warning_id = %s AND channel = 'sms'"
            " ORDER BY id LIMIT 1",
            [wid],
        ).fetchall()
    assert len(broadcasts) == 4
    return {"api": api, "secrets": secrets, "broadcasts": broadcasts, "sms": sms}


def ack_body(bid: int, terminal: str, key: str, result: str = "played") -> bytes:
    doc = {
        "broadcast_id": bid,
        "idempotency_key": key,
        "terminal_id": terminal,
        "result": result,
        "played_at": datetime.now(UTC).isoformat(),
    }
    return json.dumps(doc).encode()


def post_ack(api: Server, path: str, body: bytes, headers: dict) -> httpx.Response:
    headers = {**headers, "Content-Type": "application/json"}
    return httpx.post(f"{api.base_url}{path}", content=body, headers=headers, timeout=30)


def outbox(api: Server, oid: int) -> tuple:
    with psycopg.connect(api.db_url) as conn:
        return conn.execute(
            "SELECT status, acked_at, sent_at, last_error, ack ->> 'result' FROM outbox"
            " WHERE id = %s",
            [oid],
        ).fetchone()


def test_acks_outside_the_window_or_with_odd_timestamps_are_401(world: dict) -> None:
    api: Server = world["api"]
    bid, terminal, key = world["broadcasts"][0]
    kid = f"{terminal}:v1"
    secret = world["secrets"][kid]
    body = ack_body(bid, terminal, key)
    before = outbox(api, bid)
    now = time.time()
    answers = {}
    for label, at in [("stale", now - WINDOW - 5), ("future", now + WINDOW + 5)]:
        headers = signing.signed_headers(kid, secret, body, now=at)
        answers[label] = post_ack(api, f"/api/broadcasts/{bid}/ack", body, headers)
    for stamp in ODD_STAMPS:
        # signed correctly over the odd timestamp, so only the timestamp is wrong
        mac = hmac.new(secret, stamp.encode("utf-8") + b"." + body, hashlib.sha256).hexdigest()
        headers = {
            signing.KEY_ID: kid,
            signing.TIMESTAMP: stamp.encode("utf-8"),
            signing.SIGNATURE: f"sha256={mac}",
        }
        answers[repr(stamp[:12])] = post_ack(api, f"/api/broadcasts/{bid}/ack", body, headers)
    got = {label: r.status_code for label, r in answers.items()}
    assert got == dict.fromkeys(got, 401), {k: (v, answers[k].text[:120]) for k, v in got.items()}
    assert outbox(api, bid) == before
    # inside the window the same request goes through: the refusals were the timestamps'
    inside = signing.signed_headers(kid, secret, body, now=time.time() - WINDOW + 30)
    r = post_ack(api, f"/api/broadcasts/{bid}/ack", body, inside)
    assert r.status_code == 200 and r.json()["status"] == "acked", r.text


def test_a_captured_failure_replayed_after_the_play_changes_nothing(world: dict) -> None:
    api: Server = world["api"]
    bid, terminal, key = world["broadcasts"][1]
    kid = f"{terminal}:v1"
    secret = world["secrets"][kid]
    failed = ack_body(bid, terminal, key, result="failed")
    captured = signing.signed_headers(kid, secret, failed)  # seen on the wire, kept
    played = ack_body(bid, terminal, key)
    r = post_ack(
        api, f"/api/broadcasts/{bid}/ack", played, signing.signed_headers(kid, secret, played)
    )
    assert r.status_code == 200 and r.json()["status"] == "acked", r.text
    after_play = outbox(api, bid)
    replay = post_ack(api, f"/api/broadcasts/{bid}/ack", failed, captured)
    assert replay.status_code == 200 and replay.json()["status"] == "acked", replay.text
    assert outbox(api, bid) == after_play


def test_a_captured_ack_replayed_elsewhere_is_refused(world: dict) -> None:
    api: Server = world["api"]
    (bid, terminal, key), (other, _, _) = world["broadcasts"][2], world["broadcasts"][3]
    kid = f"{terminal}:v1"
    body = ack_body(bid, terminal, key)
    captured = signing.signed_headers(kid, world["secrets"][kid], body)
    before = outbox(api, other)
    elsewhere = {
        "another broadcast": f"/api/broadcasts/{other}/ack",
        "a drill": f"/api/drills/1/broadcasts/{bid}/ack",
    }
    got = {k: post_ack(api, path, body, captured).status_code for k, path in elsewhere.items()}
    assert got["another broadcast"] in (403, 422) and got["a drill"] == 404, got
    assert outbox(api, other) == before and outbox(api, bid)[0] == "pending"
    # key ids that are not terminals' are refused, not looked up as text
    for kid in ["' OR '1'='1", f"{terminal}:v1' --", "x" * 5000, f"{terminal}:v0", ":"]:
        r = post_ack(api, f"/api/broadcasts/{bid}/ack", body, {**captured, signing.KEY_ID: kid})
        assert r.status_code == 401, (kid[:20], r.status_code, r.text[:120])
    assert outbox(api, bid)[0] == "pending"


def test_sms_receipts_with_odd_timestamps_are_401(world: dict) -> None:
    api: Server = world["api"]
    key = world["sms"][0][1] if world["sms"] else "warning:1:v1:sms:13900000000"
    doc = {
        "message_id": "M-attack",
        "ref": f"{key}#1/1",
        "status": "DELIVRD",
        "done_at": datetime.now(UTC).isoformat(),
    }
    body = json.dumps(doc).encode()
    codes = {}
    stamps = [str(int(time.time()) - WINDOW - 5), str(int(time.time()) + WINDOW + 5), *ODD_STAMPS]
    for stamp in stamps:
        mac = hmac.new(GATEWAY_KEY.encode(), stamp.encode() + b"." + body, hashlib.sha256)
        headers = {
            "X-Gateway-Timestamp": stamp.encode("utf-8"),
            "X-Gateway-Signature": f"sha256={mac.hexdigest()}",
            "Content-Type": "application/json",
        }
        r = httpx.post(f"{api.base_url}/api/sms/receipts", content=body, headers=headers)
        codes[repr(stamp[:12])] = r.status_code
    assert codes == dict.fromkeys(codes, 401), codes
    with psycopg.connect(api.db_url) as conn:
        assert conn.execute("SELECT count(*) FROM sms_receipt").fetchone()[0] == 0
