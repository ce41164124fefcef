"""Idempotency-Key on field reports and warning actions (draft-ietf-httpapi-idempotency-key-
header): a write sent again with its key is answered with the first answer and stored once; the
key belongs to one user and one request; a request that failed leaves its key free; keys expire.
Counts come from the database, not from the API's answers."""

from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

BEIJING = timezone(timedelta(hours=8))
VILLAGE = "431226102216"  # 龙冲塘村
REPLAYED = "Idempotent-Replayed"


@pytest.fixture(scope="module")
def point(service) -> tuple[float, float]:
    with psycopg.connect(service.db_url) as conn:
        return conn.execute(
            "SELECT ST_X(label_point), ST_Y(label_point) FROM village WHERE code = %s", [VILLAGE]
        ).fetchone()


def _report(point, text: str) -> dict:
    return {
        "kind": "flood",
        "lon": point[0],
        "lat": point[1],
        "observed_at": (datetime.now(BEIJING) - timedelta(minutes=10)).isoformat(),
        "text": text,
        "people_affected": 3,
    }


def _stored(service, text: str) -> list[int]:
    with psycopg.connect(service.db_url) as conn:
        rows = conn.execute("SELECT id FROM field_report WHERE text = %s ORDER BY id", [text])
        return [r[0] for r in rows]


def _key() -> str:
    return str(uuid.uuid4())


def test_a_report_sent_again_with_its_key_is_stored_once(service, point) -> None:
    text = f"桥面漫水 {uuid.uuid4()}"
    key, body = _key(), _report(point, text)
    with service.client("reporter") as c:
        first = c.post("/api/reports", json=body, headers={"Idempotency-Key": key})
        again = c.post("/api/reports", json=body, headers={"Idempotency-Key": key})
    assert first.status_code == 201 and REPLAYED not in first.headers, first.text
    assert again.status_code == 201 and again.headers[REPLAYED] == "true", again.text
    assert again.json() == first.json()
    assert _stored(service, text) == [first.json()["id"]]


def test_without_a_key_the_same_report_is_stored_twice(service, point) -> None:
    """The control: it is the key that makes the difference, not the content."""
    text = f"无键重发 {uuid.uuid4()}"
    with service.client("reporter") as c:
        a = c.post("/api/reports", json=_report(point, text))
        b = c.post("/api/reports", json=_report(point, text))
    assert (a.status_code, b.status_code) == (201, 201)
    assert len(_stored(service, text)) == 2


def test_the_same_report_as_a_form_replays_the_json_one(service, point) -> None:
    """A phone app that falls back to multipart on retry sends the same report."""
    text = f"表单重发 {uuid.uuid4()}"
    key = _key()
    body = _report(point, text)
    with service.client("reporter") as c:
        first = c.post("/api/reports", json=body, headers={"Idempotency-Key": key})
        form = {k: (None, str(v)) for k, v in body.items()}  # multipart fields, no file
        again = c.post("/api/reports", files=form, headers={"Idempotency-Key": key})
    assert first.status_code == 201, first.text
    assert (again.status_code, again.headers.get(REPLAYED)) == (201, "true"), again.text
    assert _stored(service, text) == [first.json()["id"]]


def test_a_key_reused_for_another_report_is_422_and_writes_nothing(service, point) -> None:
    key = _key()
    one, other = f"第一条 {uuid.uuid4()}", f"另一条 {uuid.uuid4()}"
    with service.client("reporter") as c:
        assert (
            c.post(
                "/api/reports", json=_report(point, one), headers={"Idempotency-Key": key}
            ).status_code
            == 201
        )
        r = c.post("/api/reports", json=_report(point, other), headers={"Idempotency-Key": key})
    assert r.status_code == 422 and "another request" in r.json()["detail"], r.text
    assert _stored(service, other) == []


def test_a_key_belongs_to_its_user(service, point) -> None:
    """Another user's identical key is another key: neither sees the other's answer."""
    key = _key()
    text = f"两人同键 {uuid.uuid4()}"
    with service.client("reporter") as c:
        mine = c.post("/api/reports", json=_report(point, text), headers={"Idempotency-Key": key})
    with service.client("forecaster") as c:
        theirs = c.post("/api/reports", json=_report(point, text), headers={"Idempotency-Key": key})
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert REPLAYED not in theirs.headers
    assert theirs.json()["properties"]["reporter"] == "test-forecaster"
    assert len(_stored(service, text)) == 2


def test_a_refused_request_leaves_its_key_free(service, point) -> None:
    key = _key()
    text = f"先错后对 {uuid.uuid4()}"
    outside = _report((100.0, 30.0), text)  # far outside the county: refused
    with service.client("reporter") as c:
        bad = c.post("/api/reports", json=outside, headers={"Idempotency-Key": key})
        good = c.post("/api/reports", json=_report(point, text), headers={"Idempotency-Key": key})
    assert bad.status_code == 422, bad.text
    assert good.status_code == 201 and REPLAYED not in good.headers, good.text
    assert _stored(service, text) == [good.json()["id"]]


def test_concurrent_sends_of_one_key_store_one_report(service, point) -> None:
    """Eight retries racing (a client that timed out and resent at once): one report, and
    every answer is the same 201 — the later ones wait for the first and replay it."""
    key = _key()
    text = f"并发重发 {uuid.uuid4()}"
    body = _report(point, text)
    answers: list = []
    start = threading.Barrier(8)

    def send() -> None:
        with service.client("reporter") as c:
            start.wait()
            answers.append(c.post("/api/reports", json=body, headers={"Idempotency-Key": key}))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [a.status_code for a in answers] == [201] * 8, [a.text for a in answers]
    stored = _stored(service, text)
    assert len(stored) == 1
    assert {a.json()["id"] for a in answers} == set(stored)
    assert sum(REPLAYED in a.headers for a in answers) == 7


def test_an_expired_key_may_be_used_again(service, point) -> None:
    key = _key()
    one, other = f"过期前 {uuid.uuid4()}", f"过期后 {uuid.uuid4()}"
    with service.client("reporter") as c:
        first = c.post("/api/reports", json=_report(point, one), headers={"Idempotency-Key": key})
        assert first.status_code == 201
        with psycopg.connect(service.db_url) as conn:  # the key's day has passed
            conn.execute(
                "UPDATE idempotency_key SET created_at = now() - interval '25 hours'"
                " WHERE key = %s",
                [key],
            )
        r = c.post("/api/reports", json=_report(point, other), headers={"Idempotency-Key": key})
    assert r.status_code == 201 and REPLAYED not in r.headers, r.text
    assert len(_stored(service, other)) == 1


@pytest.mark.parametrize(
    ("key", "ok"),
    [
        ('"a quoted key"', True),  # the draft's structured-field string
        ("x" * 255, True),
        ("x" * 256, False),
        ('"unbalanced', False),
        ("with space", False),  # spaces only inside quotes
        ("", False),
    ],
)
def test_key_syntax(service, point, key: str, ok: bool) -> None:
    text = f"键格式 {uuid.uuid4()}"
    with service.client("reporter") as c:
        r = c.post("/api/reports", json=_report(point, text), headers={"Idempotency-Key": key})
    if ok:
        assert r.status_code == 201, r.text
    else:
        assert r.status_code == 422, r.text
        assert "Idempotency-Key" in json.dumps(r.json()), r.text
        assert _stored(service, text) == []


def test_quoted_and_bare_forms_are_one_key(service, point) -> None:
    key = _key()
    body = _report(point, f"引号 {uuid.uuid4()}")
    with service.client("reporter") as c:
        a = c.post("/api/reports", json=body, headers={"Idempotency-Key": key})
        b = c.post("/api/reports", json=body, headers={"Idempotency-Key": f'"{key}"'})
    assert (a.status_code, b.status_code, b.headers.get(REPLAYED)) == (201, 201, "true")
    assert len(_stored(service, body["text"])) == 1


def _desk_warning(headline: str) -> dict:
    return {
        "hazard": "rainstorm", "colour": "yellow", "village_codes": [VILLAGE],
        "event_zh": "暴雨", "headline_zh": headline, "description_zh": "测试重发。",
        "instruction_zh": "注意防范。", "reason": "idempotency test",
    }  # fmt: skip


def _audit(service, warning_id: int) -> list[str]:
    with psycopg.connect(service.db_url) as conn:
        rows = conn.execute(
            "SELECT action FROM warning_audit WHERE warning_id = %s ORDER BY id", [warning_id]
        )
        return [r[0] for r in rows]


def test_warning_written_and_issued_again_with_keys_acts_once(service) -> None:
    """A desk warning resent with its key is one warning; an "issue" whose answer was lost,
    sent again with its key, answers 200 as the first did instead of 409, and the audit holds
    one issue."""
    headline = f"暴雨黄色预警 {uuid.uuid4()}"
    write_key, issue_key = _key(), _key()
    with service.client("forecaster") as c:
        made = c.post(
            "/api/warnings", json=_desk_warning(headline), headers={"Idempotency-Key": write_key}
        )
        again = c.post(
            "/api/warnings", json=_desk_warning(headline), headers={"Idempotency-Key": write_key}
        )
        assert (made.status_code, again.status_code) == (201, 201), again.text
        assert again.json() == made.json() and again.headers[REPLAYED] == "true"
        wid = made.json()["warning_id"]
        with psycopg.connect(service.db_url) as conn:
            (n,) = conn.execute(
                "SELECT count(*) FROM warning_version WHERE headline_zh = %s", [headline]
            ).fetchone()
        assert n == 1
        url = f"/api/warnings/{wid}/issue"
        issued = c.post(url, json={"reason": "核实"}, headers={"Idempotency-Key": issue_key})
        resent = c.post(url, json={"reason": "核实"}, headers={"Idempotency-Key": issue_key})
        unkeyed = c.post(url, json={"reason": "核实"})
    assert issued.status_code == 200 and issued.json()["status"] == "issued", issued.text
    assert (resent.status_code, resent.json(), resent.headers[REPLAYED]) == (
        200, issued.json(), "true",
    )  # fmt: skip
    assert unkeyed.status_code == 409, unkeyed.text  # without the key it is a second issue
    assert _audit(service, wid).count("issue") == 1
