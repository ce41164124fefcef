"""The reference receiver over real HTTP (and MQTT): play once, refuse forgeries, ack, no stale.

Messages are sent the way the dispatcher sends them (HttpTerminalAdapter) or, for forgeries,
signed by hand; riskmap's ack endpoint is a scripted loopback server that checks signatures.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiomqtt
import httpx
import pytest
from lxml import etree

from riskmap.api.dispatch import signing
from riskmap.api.dispatch.adapters.http_terminal import HttpTerminalAdapter
from riskmap.api.dispatch.adapters.render import (
    EbmCodesError,
    broadcast_body,
    ebm_xml,
    load_ebm_codes,
)
from riskmap.api.dispatch.broker import Broker
from riskmap.api.dispatch.model import Links, Message, Outcome
from riskmap.api.receiver import client
from tests.dispatch.receivers import (
    OTHER_SECRET,
    OTHER_TERMINAL,
    SECRET,
    TERMINAL,
    VILLAGE,
    Scripted,
    Seen,
    message,
    reference_receiver,
    scripted_server,
    write_keys,
)

SENDER = "431226013001"
KEYS = {f"{TERMINAL}:v1": SECRET, f"{OTHER_TERMINAL}:v1": OTHER_SECRET}
IN_FORCE = "2099-01-01T00:00:00+00:00"  # a warning that has not ended


@pytest.fixture
def riskmap() -> Iterator[Scripted]:
    """riskmap's ack endpoint: 200 for acks signed with TERMINAL's key, 401 otherwise."""

    def ack(seen: Seen):
        try:
            signing.verify(seen.headers, seen.body, lambda kid: [SECRET])
        except signing.SignatureError as exc:
            return 401, {}, json.dumps({"detail": str(exc)}).encode()
        return 200, {}, b'{"status": "acked"}'

    with scripted_server(ack) as srv:
        yield srv


def send(links: Links, *msgs: Message) -> list[Outcome]:
    async def run() -> list[Outcome]:
        adapter = HttpTerminalAdapter(
            links,
            timeout_s=5,
            ebm_codes=load_ebm_codes(),
            sender_name="县应急局",
            sender_code=SENDER,
        )
        try:
            return [await adapter.deliver(m) for m in msgs]
        finally:
            await adapter.aclose()

    return asyncio.run(run())


def wait_until(check, timeout_s: float = 10.0):
    deadline = time.monotonic() + timeout_s
    while not (result := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
    return result


def post_signed(url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(url, content=body, headers={"Content-Type": "application/json", **headers})


def test_a_signed_message_is_played_once_and_acked(tmp_path: Path, riskmap: Scripted) -> None:
    links = Links(riskmap.url)
    with reference_receiver(tmp_path, KEYS) as url:
        msg = message(endpoint=f"{url}/broadcast/{VILLAGE}")
        [first] = send(links, msg)
        rows = wait_until(lambda: [r for r in client.journal(url) if r["acked_at"]])
        [again] = send(links, msg)
        health = client.health(url)
        final = client.journal(url)
    assert (first.delivered, first.status_code, first.detail["played"]) == (True, 200, True)
    assert (again.delivered, again.detail["duplicate"]) == (True, True)
    [row] = rows
    expected = {
        "key": f"warning:7:v1:broadcast:{TERMINAL}",
        "broadcast_id": 41,
        "warning_id": 7,
        "version": 1,
        "msg_type": "Alert",
        "village_code": VILLAGE,
        "terminal_id": TERMINAL,
        "protocol": "http-json",
        "key_id": f"{TERMINAL}:v1",
        "text": "山洪灾害橙色预警。请沿河群众立即转移。重复一遍：山洪灾害橙色预警。",
        "outcome": "played",
        "repeats": 0,
    }
    assert {k: row[k] for k in expected} == expected
    assert final[0]["repeats"] == 1 and len(final) == 1
    assert health | {"at": None} == {
        "played": 1,
        "stale": 0,
        "duplicates": 1,
        "acked": 1,
        "refused": 0,
        "audio_fetched": 0,
        "audio_failed": 1,  # the stand-in riskmap serves no audio; the ack goes all the same
        "mqtt": "off",
        "at": None,
    }
    [ack] = riskmap.seen  # the repeat was not played, so not acked again
    assert ack.path == "/api/broadcasts/41/ack"
    assert signing.verify(ack.headers, ack.body, lambda k: [SECRET]) == f"{TERMINAL}:v1"
    assert json.loads(ack.body) == {
        "broadcast_id": 41,
        "idempotency_key": f"warning:7:v1:broadcast:{TERMINAL}",
        "terminal_id": TERMINAL,
        "village_code": VILLAGE,
        "result": "played",
        "played_at": row["played_at"],
    }


def test_acks_are_retried_in_the_background_without_holding_the_answer(tmp_path: Path) -> None:
    answers = iter([503, 503, 200])

    def flaky(seen: Seen):
        return next(answers), {}, b"{}"

    with (
        scripted_server(flaky) as ack_server,
        reference_receiver(tmp_path, KEYS, ack_delay_s=2.0) as url,
    ):
        [out] = send(Links(ack_server.url), message(endpoint=f"{url}/broadcast/{VILLAGE}"))
        acks_when_answered = len(ack_server.seen)
        [row] = wait_until(lambda: [r for r in client.journal(url) if r["acked_at"]])
    assert out.detail["played"] is True
    # the 200 did not wait for the ack: it came before the first ack attempt (2 s later, then
    # 2 retries) — an order of events, not a time limit a loaded machine could miss
    assert acks_when_answered == 0
    assert len(ack_server.seen) == 3 and row["ack_error"] is None


def test_an_ack_refused_for_good_is_not_retried(tmp_path: Path) -> None:
    with scripted_server(lambda seen: (404, {}, b'{"detail": "no broadcast 41"}')) as ack_server:
        with reference_receiver(tmp_path, KEYS) as url:
            send(Links(ack_server.url), message(endpoint=f"{url}/broadcast/{VILLAGE}"))
            [row] = wait_until(lambda: [r for r in client.journal(url) if r["ack_error"]])
            time.sleep(0.5)
        assert len(ack_server.seen) == 1
    assert row["acked_at"] is None and row["ack_error"].startswith("HTTP 404")


def test_another_message_is_played_too(tmp_path: Path, riskmap: Scripted) -> None:
    """The control for "played once": a different idempotency key does play."""
    with reference_receiver(tmp_path, KEYS, ack=False) as url:
        endpoint = f"{url}/broadcast/{VILLAGE}"
        send(Links(riskmap.url), message(endpoint=endpoint), message(version=2, endpoint=endpoint))
        assert client.health(url)["played"] == 2


def test_forged_altered_replayed_and_misaddressed_are_refused(
    tmp_path: Path, riskmap: Scripted
) -> None:
    links = Links(riskmap.url)
    with reference_receiver(tmp_path, KEYS, ack=False) as url:
        target = f"{url}/broadcast/{VILLAGE}"
        body = json.dumps(broadcast_body(message(), links), ensure_ascii=False).encode()
        kid = f"{TERMINAL}:v1"
        altered = body.replace("立即转移".encode(), "无需转移".encode())
        attempts = {
            "unsigned": (body, {}),
            "forged": (body, signing.signed_headers(kid, OTHER_SECRET, body)),
            "altered": (altered, signing.signed_headers(kid, SECRET, body)),
            "replayed": (body, signing.signed_headers(kid, SECRET, body, now=time.time() - 301)),
            "unknown key": (body, signing.signed_headers(f"{TERMINAL}:v9", SECRET, body)),
            "other terminal's key": (
                body,
                signing.signed_headers(f"{OTHER_TERMINAL}:v1", OTHER_SECRET, body),
            ),
        }
        answers = {name: post_signed(target, b, h) for name, (b, h) in attempts.items()}
        refused_journal = client.journal(url)
        wrong_village = post_signed(
            f"{url}/broadcast/431226100202", body, signing.signed_headers(kid, SECRET, body)
        )
        health = client.health(url)
        control = post_signed(target, body, signing.signed_headers(kid, SECRET, body))
        after = client.journal(url)
    assert {name: a.status_code for name, a in answers.items()} == dict.fromkeys(attempts, 401)
    assert all(a.json()["refused"] is True for a in answers.values())
    assert "timestamp" in answers["replayed"].json()["reason"]
    assert "does not belong" in answers["other terminal's key"].json()["reason"]
    assert wrong_village.status_code == 400
    assert refused_journal == []
    assert (health["refused"], health["played"]) == (7, 0)
    # the control: the same body, properly signed, is played
    assert control.status_code == 200 and control.json()["played"] is True
    assert len(after) == 1


def test_a_stale_alert_does_not_play_after_its_cancel(tmp_path: Path, riskmap: Scripted) -> None:
    links = Links(riskmap.url)
    with reference_receiver(tmp_path, KEYS) as url:
        endpoint = f"{url}/broadcast/{VILLAGE}"
        cancel = message(outbox_id=52, version=2, msg_type="Cancel", endpoint=endpoint)
        alert = message(outbox_id=41, version=1, endpoint=endpoint)
        [c, a] = send(links, cancel, alert)
        wait_until(lambda: client.health(url)["acked"] == 1)
        time.sleep(0.2)  # give a wrong ack of the stale message time to show up
        rows = client.journal(url)
    assert c.detail["played"] is True
    assert (a.delivered, a.retry, a.detail["stale"]) == (True, False, True)
    assert [(r["version"], r["msg_type"], r["outcome"]) for r in rows] == [
        (2, "Cancel", "played"),
        (1, "Alert", "stale"),
    ]
    assert rows[1]["played_at"] is None
    assert [s.path for s in riskmap.seen] == ["/api/broadcasts/52/ack"]


def test_in_order_versions_both_play(tmp_path: Path, riskmap: Scripted) -> None:
    """The control for the stale rule: alert then cancel both play."""
    with reference_receiver(tmp_path, KEYS, ack=False) as url:
        endpoint = f"{url}/broadcast/{VILLAGE}"
        alert = message(outbox_id=41, version=1, endpoint=endpoint)
        cancel = message(outbox_id=52, version=2, msg_type="Cancel", endpoint=endpoint)
        send(Links(riskmap.url), alert, cancel)
        assert [r["outcome"] for r in client.journal(url)] == ["played", "played"]


def test_ebm_xml_is_accepted_parsed_and_acked(tmp_path: Path, riskmap: Scripted) -> None:
    links = Links(riskmap.url)
    with reference_receiver(tmp_path, KEYS) as url:
        msg = message(protocol="ebm-xml", endpoint=f"{url}/broadcast/{VILLAGE}")
        [out] = send(links, msg)
        [row] = wait_until(lambda: [r for r in client.journal(url) if r["acked_at"]])
        # a captured EBM replayed under a new Idempotency-Key is still the same message
        body = ebm_xml(msg, links, load_ebm_codes(), sender_name="县应急局", sender_code=SENDER)
        headers = signing.signed_headers(f"{TERMINAL}:v1", SECRET, body)
        replay = httpx.post(
            f"{url}/broadcast/{VILLAGE}",
            content=body,
            headers={**headers, "Content-Type": "application/xml", "Idempotency-Key": "new"},
        )
    assert out.detail["played"] is True
    expected = {
        "broadcast_id": 41,
        "warning_id": 7,
        "version": 1,
        "msg_type": "Alert",
        "protocol": "ebm-xml",
        "terminal_id": TERMINAL,
        "village_code": VILLAGE,
        "idempotency_key": f"warning:7:v1:broadcast:{TERMINAL}",
        "text": "山洪灾害橙色预警。请沿河群众立即转移。重复一遍：山洪灾害橙色预警。",
    }
    assert {k: row[k] for k in expected} == expected
    assert row["key"].startswith("ebd:" + SENDER)
    assert replay.json()["duplicate"] is True
    [ack] = riskmap.seen
    assert ack.path == "/api/broadcasts/41/ack"
    assert json.loads(ack.body)["idempotency_key"] == f"warning:7:v1:broadcast:{TERMINAL}"


def test_ebm_xml_has_the_gdj_elements(tmp_path: Path) -> None:
    links = Links("http://riskmap.test")
    codes = load_ebm_codes()
    v1 = etree.fromstring(
        ebm_xml(message(), links, codes, sender_name="麻阳县应急管理局", sender_code=SENDER)
    )
    cancel = message(outbox_id=52, version=2, msg_type="Cancel")
    v2 = etree.fromstring(
        ebm_xml(cancel, links, codes, sender_name="麻阳县应急管理局", sender_code=SENDER)
    )
    for path in (
        "EBDVersion", "EBDID", "EBDType", "SRC/EBRID", "SRC/URL", "DEST/EBRID", "EBDTime",
        "EBM/EBMVersion", "EBM/EBMID", "EBM/MsgBasicInfo/SendTime", "EBM/MsgContent/MsgDesc",
        "EBM/MsgContent/Auxiliary/AuxiliaryType", "EBM/MsgContent/Auxiliary/URL",
    ):  # fmt: skip
        assert v1.findtext(path), path
    expected = {
        "EBDType": "EBM",
        "SRC/EBRID": SENDER,
        "SRC/URL": "http://riskmap.test/api/broadcasts/41/ack",
        "DEST/EBRID": TERMINAL,
        "EBM/MsgBasicInfo/MsgType": "1",
        "EBM/MsgBasicInfo/SenderName": "麻阳县应急管理局",
        "EBM/MsgBasicInfo/SenderCode": SENDER,
        "EBM/MsgBasicInfo/EventType": "11A03",  # flash_flood in ebm_codes.yaml
        "EBM/MsgBasicInfo/Severity": "2",  # orange
        "EBM/MsgBasicInfo/StartTime": "2026-07-14 10:00:00",
        "EBM/MsgBasicInfo/EndTime": "2026-07-14 22:00:00",  # 14:00 UTC in Beijing time
        "EBM/MsgContent/LanguageCode": "zho",
        "EBM/MsgContent/MsgTitle": "麻阳苗族自治县山洪灾害橙色预警",
        "EBM/MsgContent/Auxiliary/URL": "http://riskmap.test/api/broadcasts/41/audio.mp3",
    }
    assert {p: v1.findtext(p) for p in expected} == expected
    areas = v1.findtext("EBM/MsgContent/AreaCode").split(",")
    assert areas == [VILLAGE, "431226100202"]
    assert all(len(a) == 12 and a.isdigit() for a in areas)
    assert v1.find("RelatedEBD") is None
    assert v2.findtext("EBM/MsgBasicInfo/MsgType") == "2"
    assert v2.findtext("RelatedEBD/EBDID") == v1.findtext("EBDID")
    assert v2.findtext("EBDID") != v1.findtext("EBDID")
    with pytest.raises(ValueError, match="12 digits"):
        ebm_xml(message(villages=["43122610020"]), links, codes, sender_name="x", sender_code="1")


def test_ebm_codes_can_be_overridden_and_are_checked(tmp_path: Path) -> None:
    packaged = Path(__file__).resolve().parents[2] / "api" / "dispatch" / "ebm_codes.yaml"
    local = tmp_path / "codes.yaml"
    local.write_text(
        packaged.read_text(encoding="utf-8").replace("flash_flood: 11A03", "flash_flood: 99X99"),
        encoding="utf-8",
    )
    assert load_ebm_codes(local).event_type_of("flash_flood") == "99X99"
    assert load_ebm_codes(local).event_type_of("volcano") == "11000"
    local.write_text(packaged.read_text(encoding="utf-8").replace("  red: 1\n", ""), "utf-8")
    with pytest.raises(EbmCodesError, match="red"):
        load_ebm_codes(local)


def test_key_rotation_without_restart(tmp_path: Path, riskmap: Scripted) -> None:
    keys_file = tmp_path / "keys.json"
    write_keys(keys_file, {f"{TERMINAL}:v1": SECRET})
    new = bytes(range(100, 132))
    links = Links(riskmap.url)
    with reference_receiver(tmp_path, {}, ack=False) as url:
        endpoint = f"{url}/broadcast/{VILLAGE}"
        signed_v2 = message(endpoint=endpoint, secret=new, key_version=2)
        [before] = send(links, signed_v2)
        write_keys(keys_file, {f"{TERMINAL}:v1": SECRET, f"{TERMINAL}:v2": new})
        [during_new, during_old] = send(
            links,
            signed_v2,
            message(version=2, endpoint=endpoint),  # v1 key still valid
        )
        write_keys(keys_file, {f"{TERMINAL}:v2": new})  # v1 retired
        [after_old] = send(links, message(version=3, endpoint=endpoint))
    assert (before.delivered, before.status_code) == (False, 401)
    assert during_new.detail["played"] is True and during_old.detail["played"] is True
    # refused; the dispatcher tries again later (the controller may not have the new file yet)
    assert (after_old.delivered, after_old.retry, after_old.status_code) == (False, True, 401)


def test_the_command_line_receiver(tmp_path: Path, riskmap: Scripted) -> None:
    write_keys(tmp_path / "keys.json", KEYS)
    proc = subprocess.Popen(
        [sys.executable, "-m", "riskmap.api.cli.receiver", "--port", "0", "--no-ack",
         "--keys", str(tmp_path / "keys.json"), "--journal", str(tmp_path / "j.sqlite")],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    try:
        line = proc.stdout.readline()
        url = line.split()[1].rstrip("/")
        wait_until(lambda: _up(url))
        [out] = send(Links(riskmap.url), message(endpoint=f"{url}/broadcast/{VILLAGE}"))
        assert out.detail["played"] is True
        assert [r["broadcast_id"] for r in client.journal(url)] == [41]
    finally:
        proc.terminate()
        proc.wait(10)
    assert line.startswith("receiver: http://127.0.0.1:")


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz").status_code == 200
    except httpx.TransportError:
        return False


def test_mqtt_envelopes_are_taken_like_json(
    tmp_path: Path, riskmap: Scripted, own_broker: Broker
) -> None:
    links = Links(riskmap.url)
    body = json.dumps(broadcast_body(message(protocol="mqtt", expires=IN_FORCE), links)).encode()
    good = signing.envelope(f"{TERMINAL}:v1", SECRET, body)
    forged = signing.envelope(f"{TERMINAL}:v1", OTHER_SECRET, body)

    async def publish() -> None:
        async with aiomqtt.Client("127.0.0.1", own_broker.port) as c:
            for payload in (forged, good, good):
                await c.publish(f"riskmap/broadcast/{VILLAGE}", payload, qos=1)

    with reference_receiver(tmp_path, KEYS, mqtt_url=own_broker.url) as url:
        wait_until(lambda: client.health(url)["mqtt"] == "connected")
        asyncio.run(publish())
        health = client.wait_for(url, "duplicates", 1)
        rows = wait_until(lambda: [r for r in client.journal(url) if r["acked_at"]])
    assert (health["played"], health["duplicates"], health["refused"]) == (1, 1, 1)
    assert [(r["protocol"], r["broadcast_id"]) for r in rows] == [("mqtt", 41)]
    assert [s.path for s in riskmap.seen] == ["/api/broadcasts/41/ack"]


def test_mqtt_messages_queued_while_the_controller_was_away_still_play(
    tmp_path: Path, riskmap: Scripted, own_broker: Broker
) -> None:
    """The broker kept them: signed an hour ago is fine while the warning is in force; a day
    and more, or a warning that has ended, is refused."""
    links = Links(riskmap.url)
    hour_ago = time.time() - 3600

    def env(outbox_id: int, expires: str, signed_at: float) -> bytes:
        msg = message(protocol="mqtt", outbox_id=outbox_id, expires=expires)
        msg = msg.__class__(**{**msg.__dict__, "idempotency_key": f"queued-{outbox_id}"})
        body = json.dumps(broadcast_body(msg, links)).encode()
        return signing.envelope(f"{TERMINAL}:v1", SECRET, body, now=signed_at)

    queued = env(61, IN_FORCE, hour_ago)
    ended = env(62, "2026-01-01T00:00:00+00:00", hour_ago)
    too_old = env(63, IN_FORCE, time.time() - 2 * 86400)

    async def publish() -> None:
        async with aiomqtt.Client("127.0.0.1", own_broker.port) as c:
            for payload in (queued, ended, too_old):
                await c.publish(f"riskmap/broadcast/{VILLAGE}", payload, qos=1)

    with reference_receiver(tmp_path, KEYS, mqtt_url=own_broker.url, ack=False) as url:
        wait_until(lambda: client.health(url)["mqtt"] == "connected")
        asyncio.run(publish())
        health = client.wait_for(url, "refused", 2)
        rows = client.journal(url)
    assert [r["broadcast_id"] for r in rows] == [61]
    assert (health["played"], health["refused"]) == (1, 2)
