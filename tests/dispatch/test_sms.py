"""The SMS adapter against the fake gateway over real HTTP on loopback.

Expected message ids and texts come from the gateway's own log (what it received), and the
parts from the hand-written PARTS, never from the adapter.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import socket
import time

import httpx

from riskmap.api.devtools.sms_gateway import Behaviour, FakeSmsGateway
from riskmap.api.dispatch.adapters.sms import SmsGatewayAdapter
from riskmap.api.dispatch.model import Links, Message, Outcome
from tests.dispatch.receivers import scripted_server, serving
from tests.dispatch.sms_fixtures import (
    KEY,
    PARTS,
    PHONE,
    auth,
    control,
    sms_gateway,
    sms_message,
)

LINKS = Links("http://127.0.0.1:9")
CALLBACK = "http://127.0.0.1:9/api/sms/receipts"  # nothing listens: receipts are off here


def deliver(url: str, *msgs: Message, key: str = KEY, timeout_s: float = 5.0) -> list[Outcome]:
    async def run() -> list[Outcome]:
        adapter = SmsGatewayAdapter(
            LINKS, url=f"{url}/sms/send", key=key, callback_url=CALLBACK, timeout_s=timeout_s
        )
        try:
            return [await adapter.deliver(m) for m in msgs]
        finally:
            await adapter.aclose()

    return asyncio.run(run())


def test_one_part_is_accepted() -> None:
    text = "【麻阳苗族自治县应急管理局】暴雨黄色预警：锦和镇5个村。注意防范。"
    with sms_gateway(receipts=False) as (url, gw):
        [out] = deliver(url, sms_message([text]))
        assert len(gw.messages) == 1
        sent = gw.messages[0]
    assert out.delivered and out.provider_ref == sent["message_id"]
    assert out.detail["parts"] == 1
    assert (sent["to"], sent["text"], sent["ref"]) == (PHONE, text, f"warning:7:v1:sms:{PHONE}#1/1")


def test_parts_go_in_order_with_numbered_refs() -> None:
    with sms_gateway(receipts=False) as (url, _):
        [out] = deliver(url, sms_message(PARTS))
        log = httpx.get(f"{url}/sms/log", headers=auth()).json()
    assert [m["text"] for m in log] == PARTS
    key = f"warning:7:v1:sms:{PHONE}"
    assert [m["ref"] for m in log] == [f"{key}#1/3", f"{key}#2/3", f"{key}#3/3"]
    assert out.delivered and out.provider_ref == " ".join(m["message_id"] for m in log)
    assert out.detail["parts"] == 3


def test_a_row_without_parts_is_split_when_sent() -> None:
    """Site-contact rows carry only a text (made in SQL): 84 characters → two numbered parts."""
    text = (
        "【麻阳苗族自治县应急管理局】山洪灾害红色预警。贵单位锦和化工厂位于预警区域或其1公里内，"
        + ("请立即落实安全防范措施，必要时停产撤人。" * 2)
    )
    assert len(text) == 84
    with sms_gateway(receipts=False) as (url, gw):
        [out] = deliver(url, sms_message(None, text=text))
        texts = [m["text"] for m in gw.messages]
    assert out.delivered and len(texts) == 2
    assert texts[0].startswith("(1/2)【") and texts[1].startswith("(2/2)")
    assert texts[0][5:] + texts[1][5:] == text


def test_throttled_then_accepted_honouring_retry_after() -> None:
    with sms_gateway(receipts=False, throttle_every=2, retry_after_s=3) as (url, gw):
        [first] = deliver(url, sms_message(PARTS))
        assert not first.delivered and first.retry and first.status_code == 429
        assert first.retry_after == 3.0
        assert [m["text"] for m in gw.messages] == PARTS[:1]  # part 2 was the 2nd request
        control(url, throttle_every=0)
        [second] = deliver(url, sms_message(PARTS, attempt=2))
        log = list(gw.messages)
        assert gw.requests == 5  # 2 the first time, 3 the second
    # part 1 went again and was de-duplicated: each part reached the log once
    assert [m["text"] for m in log] == PARTS
    assert second.delivered and second.provider_ref == " ".join(m["message_id"] for m in log)


def test_server_errors_and_timeouts_are_retried() -> None:
    with sms_gateway(receipts=False, fail_next=1, fail_status=503) as (url, gw):
        [failed, ok] = deliver(url, sms_message(PARTS[:1]), sms_message(PARTS[:1]))
        assert (failed.delivered, failed.retry, failed.status_code) == (False, True, 503)
        assert ok.delivered and len(gw.messages) == 1
        control(url, delay_s=1.5)
        t0 = time.monotonic()
        [slow] = deliver(url, sms_message(PARTS[:1], key="warning:7:v1:sms:x"), timeout_s=0.3)
        assert time.monotonic() - t0 < 1.4
    assert not slow.delivered and slow.retry and "timeout" in slow.error


def test_nobody_listening_is_retried() -> None:
    with socket.socket() as s:  # a port that was free a moment ago and has no listener
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    [out] = deliver(f"http://127.0.0.1:{port}", sms_message(PARTS))
    assert not out.delivered and out.retry and "connection failed" in out.error


def test_refused_for_good_is_dead() -> None:
    with sms_gateway(receipts=False) as (url, gw):
        [wrong_key] = deliver(url, sms_message(PARTS), key="not-the-key")
        [empty] = deliver(url, sms_message(["(1/1)短信", ""]))
        assert gw.messages == []  # nothing sent for a row with an empty part
    assert (wrong_key.delivered, wrong_key.retry, wrong_key.status_code) == (False, False, 401)
    assert not empty.delivered and not empty.retry


def test_gateway_deduplicates_by_ref() -> None:
    body = {"to": PHONE, "text": "短信", "ref": "warning:7:v1:sms:1#1/1"}
    with sms_gateway(receipts=False) as (url, _), httpx.Client(base_url=url, headers=auth()) as c:
        a = c.post("/sms/send", json=body).json()
        b = c.post("/sms/send", json=body).json()
        other = c.post("/sms/send", json={**body, "ref": "warning:7:v1:sms:1#1/2"}).json()
        log = c.get("/sms/log").json()
    assert a == b and a["status"] == "accepted"
    assert other["message_id"] != a["message_id"]
    assert [m["ref"] for m in log] == [body["ref"], "warning:7:v1:sms:1#1/2"]


def test_gateway_sends_signed_receipts() -> None:
    """The receipt's signature recomputed here from the key, per the gateway's documentation."""
    with (
        scripted_server(lambda seen: (200, {}, b'{"recorded": true}')) as hook,
        sms_gateway(receipt_delay_s=0.05, undeliverable=["13900000000"]) as (url, _),
        httpx.Client(base_url=url, headers=auth()) as c,
    ):
        callback = f"{hook.url}/api/sms/receipts"
        for phone in (PHONE, "13900000000"):
            ref = f"warning:7:v1:sms:{phone}#1/1"
            c.post(
                "/sms/send", json={"to": phone, "text": "短信", "ref": ref, "callback": callback}
            )
        deadline = time.monotonic() + 5
        while len(hook.seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        log = c.get("/sms/log").json()
    assert len(hook.seen) == 2
    by_phone = {}
    for seen in hook.seen:
        ts = seen.headers["X-Gateway-Timestamp"]
        mac = hmac.new(KEY.encode(), ts.encode() + b"." + seen.body, hashlib.sha256).hexdigest()
        assert seen.headers["X-Gateway-Signature"] == f"sha256={mac}"
        assert abs(int(ts) - time.time()) < 60 and seen.path == "/api/sms/receipts"
        doc = json.loads(seen.body)
        by_phone[doc["to"]] = doc
    assert by_phone[PHONE]["status"] == "DELIVRD"
    assert by_phone["13900000000"]["status"] == "UNDELIV"
    assert {d["message_id"] for d in by_phone.values()} == {m["message_id"] for m in log}


def test_receipts_are_retried_until_taken() -> None:
    answers = iter([(503, {}, b"{}"), (200, {}, b"{}")])
    with (
        scripted_server(lambda seen: next(answers)) as hook,
        sms_gateway(receipt_delay_s=0.0) as (url, gw),
    ):
        body = {"to": PHONE, "text": "短信", "ref": "r#1/1", "callback": f"{hook.url}/cb"}
        httpx.post(f"{url}/sms/send", json=body, headers=auth())
        deadline = time.monotonic() + 5
        while len(hook.seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # a third try would come within 0.4 s
        tried = list(gw.receipts)
    assert len(hook.seen) == 2 and hook.seen[0].body == hook.seen[1].body
    assert tried[0]["attempts"] == 2 and tried[0]["answer"] == 200


def test_gateway_writes_a_jsonl_log_and_checks_control(tmp_path) -> None:
    path = tmp_path / "sms.jsonl"
    gateway = FakeSmsGateway(KEY, behaviour=Behaviour(receipts=False), log_path=path)
    with serving(gateway.app) as url, httpx.Client(base_url=url, headers=auth()) as c:
        for ref in ("a#1/1", "b#1/1", "a#1/1"):
            c.post("/sms/send", json={"to": PHONE, "text": f"短信{ref}", "ref": ref})
        assert c.post("/control", json={"no_such_setting": 1}).status_code == 400
        assert c.post("/control", json={"fail_ratio": 2}).status_code == 400
        assert c.post("/control", json={"rate_per_s": "fast"}).status_code == 400
        assert c.get("/sms/log", headers={"Authorization": "Bearer x"}).status_code == 401
        assert c.post("/control", json={"reset": True}).json()["accepted"] == 0
    lines = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [(m["ref"], m["text"]) for m in lines] == [
        ("a#1/1", "短信a#1/1"),
        ("b#1/1", "短信b#1/1"),
    ]
