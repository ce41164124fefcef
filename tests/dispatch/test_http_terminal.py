"""HttpTerminalAdapter against real loopback servers: what it sends and how answers map to Outcomes.

Expected values come from the hand-written payload in receivers.py and the answers the scripted
servers are told to give, never from the adapter's own code.
"""

from __future__ import annotations

import asyncio
import json
import socket
from email.utils import formatdate
from time import time

import pytest
from lxml import etree

from riskmap.api.dispatch import signing
from riskmap.api.dispatch.adapters.http_terminal import HttpTerminalAdapter
from riskmap.api.dispatch.adapters.render import load_ebm_codes
from riskmap.api.dispatch.model import Links, Message, Outcome
from tests.dispatch.receivers import (
    OTHER_SECRET,
    SECRET,
    TERMINAL,
    VILLAGE,
    Seen,
    message,
    scripted_server,
)

LINKS = Links("http://riskmap.test")


def deliver(msgs: list[Message], timeout_s: float = 5.0) -> list[Outcome]:
    async def run() -> list[Outcome]:
        adapter = HttpTerminalAdapter(
            LINKS,
            timeout_s=timeout_s,
            ebm_codes=load_ebm_codes(),
            sender_name="麻阳苗族自治县应急管理局",
            sender_code="431226013001",
        )
        try:
            return [await adapter.deliver(m) for m in msgs]
        finally:
            await adapter.aclose()

    return asyncio.run(run())


def answer(status: int, body: bytes = b"{}", **headers: str):
    return lambda seen: (status, headers, body)


def test_json_is_signed_with_the_terminal_key_and_carries_the_document() -> None:
    with scripted_server(answer(200, b'{"played": true}')) as srv:
        msg = message(endpoint=f"{srv.url}/broadcast/{VILLAGE}")
        [out] = deliver([msg])
    assert out == Outcome(delivered=True, retry=False, status_code=200, detail={"played": True})
    [seen] = srv.seen
    assert seen.path == f"/broadcast/{VILLAGE}"
    assert seen.headers["Content-Type"] == "application/json; charset=utf-8"
    assert seen.headers["Idempotency-Key"] == f"warning:7:v1:broadcast:{TERMINAL}"
    assert signing.verify(seen.headers, seen.body, lambda k: [SECRET]) == f"{TERMINAL}:v1"
    with pytest.raises(signing.SignatureError):  # the check above is not vacuous
        signing.verify(seen.headers, seen.body, lambda k: [OTHER_SECRET])
    doc = json.loads(seen.body)
    assert doc == {
        "schema": "riskmap.broadcast/1",
        "broadcast_id": 41,
        "idempotency_key": f"warning:7:v1:broadcast:{TERMINAL}",
        "warning_id": 7,
        "version": 1,
        "cap_identifier": "43122601300100_20260714100000_1",
        "msg_type": "Alert",
        "status": "Actual",
        "level": "二级",
        "colour": "orange",
        "hazard": "flash_flood",
        "event": "山洪灾害",
        "headline": "麻阳苗族自治县山洪灾害橙色预警",
        "terminal_id": TERMINAL,
        "village_code": VILLAGE,
        "village_codes": [VILLAGE, "431226100202"],
        "text": "山洪灾害橙色预警。请沿河群众立即转移。重复一遍：山洪灾害橙色预警。",
        "language": "zh-CN",
        "repeat": 3,
        "repeat_interval_s": 120,
        "start": "2026-07-14T10:00:00+08:00",
        "end": "2026-07-14T14:00:00+00:00",
        "links": {
            "cap": "http://riskmap.test/api/warnings/7.cap?version=1",
            "audio_wav": "http://riskmap.test/api/broadcasts/41/audio.wav",
            "audio_mp3": "http://riskmap.test/api/broadcasts/41/audio.mp3",
            "ack": "http://riskmap.test/api/broadcasts/41/ack",
        },
    }


def test_ebm_xml_is_posted_as_xml_and_signed() -> None:
    with scripted_server(answer(200)) as srv:
        msg = message(protocol="ebm-xml", endpoint=f"{srv.url}/broadcast/{VILLAGE}")
        [out] = deliver([msg])
    assert out.delivered
    [seen] = srv.seen
    assert seen.headers["Content-Type"] == "application/xml"
    assert signing.verify(seen.headers, seen.body, lambda k: [SECRET]) == f"{TERMINAL}:v1"
    root = etree.fromstring(seen.body)
    assert root.tag == "EBD" and root.findtext("EBDType") == "EBM"
    assert root.findtext("SRC/URL") == "http://riskmap.test/api/broadcasts/41/ack"


def test_one_connection_is_kept_alive_for_several_messages() -> None:
    with scripted_server(answer(200)) as srv:
        url = f"{srv.url}/broadcast/{VILLAGE}"
        deliver([message(endpoint=url), message(outbox_id=42, version=2, endpoint=url)])
    assert len(srv.seen) == 2
    assert srv.seen[0].client_port == srv.seen[1].client_port


@pytest.mark.parametrize("status", [200, 201, 202, 208])
def test_success_codes_are_delivered(status: int) -> None:
    with scripted_server(answer(status)) as srv:
        [out] = deliver([message(endpoint=srv.url + "/b")])
    assert (out.delivered, out.retry, out.status_code) == (True, False, status)


def test_a_receiver_that_already_has_it_counts_as_delivered() -> None:
    with scripted_server(answer(409, b'{"error": "conflict"}')) as srv:
        [conflict] = deliver([message(endpoint=srv.url + "/b")])
    with scripted_server(answer(400, b"duplicate message id")) as srv:
        [dup] = deliver([message(endpoint=srv.url + "/b")])
    with scripted_server(answer(400, b"bad area code")) as srv:  # the control: not a duplicate
        [bad] = deliver([message(endpoint=srv.url + "/b")])
    assert (conflict.delivered, conflict.status_code, conflict.detail["duplicate"]) == (
        True,
        409,
        True,
    )
    assert (dup.delivered, dup.status_code) == (True, 400)
    assert (bad.delivered, bad.retry) == (False, False)


def test_server_errors_are_retried_with_the_answer_in_the_error() -> None:
    long_answer = b"E" * 150 + "服务器忙".encode() + b"x" * 500
    with scripted_server(answer(500, long_answer, **{"Content-Type": "text/plain"})) as srv:
        [out] = deliver([message(endpoint=srv.url + "/b")])
    assert (out.delivered, out.retry, out.status_code, out.retry_after) == (False, True, 500, None)
    assert out.error == "HTTP 500: " + "E" * 150 + "服务器忙" + "x" * 46


@pytest.mark.parametrize("status", [408, 425, 502, 503, 504])
def test_busy_and_gateway_codes_are_retried(status: int) -> None:
    with scripted_server(answer(status)) as srv:
        [out] = deliver([message(endpoint=srv.url + "/b")])
    assert (out.delivered, out.retry, out.status_code) == (False, True, status)


def test_retry_after_is_honoured_as_seconds_or_a_date() -> None:
    with scripted_server(answer(429, b"slow down", **{"Retry-After": "7"})) as srv:
        [seconds] = deliver([message(endpoint=srv.url + "/b")])
    date = formatdate(time() + 120, usegmt=True)
    with scripted_server(answer(503, b"", **{"Retry-After": date})) as srv:
        [dated] = deliver([message(endpoint=srv.url + "/b")])
    assert (seconds.retry, seconds.status_code, seconds.retry_after) == (True, 429, 7.0)
    assert dated.retry and 110 < dated.retry_after <= 120


def test_an_unknown_key_is_retried_while_a_rotation_reaches_the_controller() -> None:
    with scripted_server(answer(401, b'{"reason": "bad signature"}')) as srv:
        [out] = deliver([message(endpoint=srv.url + "/b")])
    assert (out.delivered, out.retry, out.status_code) == (False, True, 401)


@pytest.mark.parametrize("status", [400, 403, 404, 410, 422])
def test_refusals_are_dead_at_once(status: int) -> None:
    with scripted_server(answer(status, b'{"reason": "bad signature"}')) as srv:
        [out] = deliver([message(endpoint=srv.url + "/b")])
    assert (out.delivered, out.retry, out.status_code) == (False, False, status)
    assert out.error == f'HTTP {status}: {{"reason": "bad signature"}}'


def test_a_slow_terminal_times_out_and_is_retried() -> None:
    with scripted_server(lambda seen: 3.0) as srv:
        [out] = deliver([message(endpoint=srv.url + "/b")], timeout_s=0.3)
    assert (out.delivered, out.retry, out.status_code) == (False, True, None)
    assert out.error.startswith("timeout after 0.3 s")


def test_a_dropped_connection_is_retried() -> None:
    with scripted_server(lambda seen: "close") as srv:
        [out] = deliver([message(endpoint=srv.url + "/b")])
    assert (out.delivered, out.retry, out.status_code) == (False, True, None)
    assert out.error.startswith("connection failed")


def test_nobody_listening_is_retried() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # bound, never listened: connections to it are refused
    [out] = deliver([message(endpoint=f"http://127.0.0.1:{port}/b")])
    assert (out.delivered, out.retry) == (False, True)
    assert "ConnectError" in out.error


def test_no_signing_key_is_dead_and_nothing_is_sent() -> None:
    seen: list[Seen] = []
    with scripted_server(answer(200)) as srv:
        [out] = deliver([message(secret=None, endpoint=srv.url + "/b")])
        seen = srv.seen
    assert out == Outcome(delivered=False, retry=False, error="terminal has no signing key")
    assert seen == []


def test_a_protocol_not_spoken_over_http_is_dead() -> None:
    [out] = deliver([message(protocol="mqtt", endpoint="mqtt://127.0.0.1:1883/x")])
    assert (out.delivered, out.retry) == (False, False)
    assert "mqtt" in out.error
