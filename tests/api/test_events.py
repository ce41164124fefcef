"""GET /api/events over the real server: database changes reach wall maps within a second, a
reconnect gets exactly what it missed, the public sees only published warnings, and the stream
ends when the server stops."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import queue
import socket
import threading
import time
import uuid
from datetime import UTC, datetime

import httpx
import psycopg
import pytest

from riskmap.api.events import LISTENER_NAME
from riskmap.geo.warnings import lifecycle
from riskmap.geo.warnings.proposal import Proposal
from tests.dispatch.delivery_setup import wait_until

DEADLINE_S = 1.0


class Stream:
    """An SSE client in a thread: parses the stream into events on a queue."""

    def __init__(self, base_url: str, params=None, headers=None) -> None:
        self.events: queue.Queue = queue.Queue()
        self.client = httpx.Client(base_url=base_url, headers=headers or {}, timeout=30)
        self.opened = threading.Event()
        self.ended = threading.Event()
        self.status: int | None = None
        self._sock: socket.socket | None = None
        self.comments: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(params,), daemon=True)
        self._thread.start()
        assert self.opened.wait(10), "the stream did not open"

    def _read(self, params) -> None:
        try:
            with self.client.stream("GET", "/api/events", params=params) as r:
                self.status = r.status_code
                self._sock = r.extensions["network_stream"].get_extra_info("socket")
                self.content_type = r.headers.get("content-type", "")
                block: dict = {}
                for line in r.iter_lines():
                    if line == "":
                        if "retry" in block:
                            self.retry = int(block["retry"])
                            self.opened.set()
                        if "data" in block:
                            block["data"] = json.loads(block["data"])
                            block["received"] = time.monotonic()
                            self.events.put(block)
                        block = {}
                        continue
                    name, _, value = line.partition(":")
                    if name:
                        block[name] = value.removeprefix(" ")
                    else:  # a comment line: the opening one, or a keep-alive ping
                        self.comments.append(value.strip())
                if r.status_code != 200:
                    self.body = r.read()
        except (httpx.HTTPError, RuntimeError):
            pass
        finally:
            self.opened.set()
            self.ended.set()

    def next(self, timeout: float = 5.0, where=lambda e: True) -> dict:
        """The next event matching ``where`` (others are skipped)."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError("no matching event in time")
            e = self.events.get(timeout=left)
            if where(e):
                return e

    def drain(self, wait: float = 0.5) -> list[dict]:
        """Whatever came, after ``wait`` seconds: for checking that nothing (more) comes, which
        no condition can signal."""
        time.sleep(wait)
        out = []
        while not self.events.empty():
            out.append(self.events.get_nowait())
        return out

    def close(self) -> None:
        """Hang up: shutting the socket down wakes the reading thread at once."""
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(5)
        assert not self._thread.is_alive()
        self.client.close()


def _villages(db_url: str, n: int = 2) -> list[str]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT code FROM admin_unit WHERE level = 'village' ORDER BY code DESC LIMIT %s", [n]
        ).fetchall()
    return [r[0] for r in rows]


def _proposal(codes: list[str], at: datetime) -> Proposal:
    return Proposal(
        rule_id=f"test-events-{uuid.uuid4().hex[:8]}",
        rule_version="1.0.0",
        hazard="rainstorm",
        colour="orange",
        at=at,
        village_codes=tuple(codes),
        evidence={c: {"rain_3h": 80.0, "threshold": 70} for c in codes},
        event_zh="暴雨",
        event_en="Rainstorm",
        headline_zh="麻阳县发布暴雨橙色预警",
        headline_en="Rainstorm orange warning",
        description_zh="过去3h降雨量已达80mm。",
        description_en="80 mm of rain in 3 h.",
        instruction_zh="请远离河道。",
        instruction_en="Keep away from streams.",
        cap_status="Exercise",
    )


@pytest.fixture
def streams(service):
    opened: list[Stream] = []

    def open_stream(role: str | None = None, **params) -> Stream:
        headers = {"Authorization": f"Bearer {service.tokens[role]}"} if role else {}
        headers |= params.pop("headers", {})
        s = Stream(service.base_url, params=params or None, headers=headers)
        opened.append(s)
        return s

    yield open_stream
    for s in opened:
        s.close()


def test_warning_changes_reach_readers_and_only_published_ones_the_public(service, streams) -> None:
    reader = streams("viewer", kinds="warning")
    public = streams(None)
    assert reader.status == 200 and reader.content_type.startswith("text/event-stream")
    assert reader.retry == 3000
    at = datetime.now(UTC)
    with psycopg.connect(service.db_url) as conn:
        (change,) = lifecycle.apply_proposals(conn, [_proposal(_villages(service.db_url), at)], at)
        conn.commit()
        committed = time.monotonic()
        wid = change.warning_id
        proposed = reader.next(where=lambda e: e["data"]["payload"]["warning_id"] == wid)
        assert proposed["received"] - committed < DEADLINE_S
        assert proposed["event"] == "warning" and proposed["id"] == str(proposed["data"]["id"])
        p = proposed["data"]["payload"]
        assert (p["change"], p["status"], p["colour"], p["level"]) == (
            "propose", "candidate", "orange", "二级",
        )  # fmt: skip

        lifecycle.issue(conn, wid, "test-forecaster", "checked", at=at)
        committed = time.monotonic()
        issued = reader.next(where=lambda e: e["data"]["payload"]["warning_id"] == wid)
        seen = public.next(where=lambda e: e["data"]["payload"].get("warning_id") == wid)
    assert issued["received"] - committed < DEADLINE_S
    assert seen["received"] - committed < DEADLINE_S
    assert issued["data"]["payload"]["change"] == "issue"
    assert issued["data"]["payload"]["status"] == "issued"
    assert seen["id"] == issued["id"] and seen["data"]["payload"]["change"] == "issue"
    # the candidate's proposal was never shown to the public, nor anything but warnings
    rest = public.drain()
    assert all(e["event"] == "warning" for e in rest)
    assert not [e for e in rest if e["data"]["payload"].get("change") == "propose"]


def test_delivery_acknowledgements_reach_readers_not_the_public(service, streams) -> None:
    reader = streams("viewer", kinds="delivery")
    public = streams(None)
    at = datetime.now(UTC)
    with psycopg.connect(service.db_url) as conn:
        proposal = _proposal(_villages(service.db_url, 3), at)
        proposal = dataclasses.replace(proposal, review="auto")
        (change,) = lifecycle.apply_proposals(conn, [proposal], at)
        conn.commit()
        row = conn.execute(
            "UPDATE outbox SET status = 'acked', attempts = 1 WHERE id = "
            "(SELECT min(id) FROM outbox WHERE warning_id = %s) RETURNING id, channel",
            [change.warning_id],
        ).fetchone()
        conn.commit()
    committed = time.monotonic()
    acked = reader.next(where=lambda e: e["data"]["payload"]["outbox_id"] == row[0])
    assert acked["received"] - committed < DEADLINE_S
    assert acked["event"] == "delivery"
    assert acked["data"]["payload"]["status"] == "acked"
    assert acked["data"]["payload"]["channel"] == row[1]
    assert not [e for e in public.drain() if e["event"] != "warning"]


def test_ingest_notifications_are_events_with_ids(service, streams) -> None:
    """The pipeline's notify.sql (run after each ingested file) logs an observation event."""
    from riskmap.geo.db.sqlfiles import load_sql

    reader = streams("viewer", kinds="observation")
    ingest_id = int(time.time() * 1000)
    payload = {"type": "ingest", "kind": "rain-gauge-csv", "ingest_id": ingest_id, "rows": {}}
    with psycopg.connect(service.db_url) as conn:
        conn.execute(load_sql("riskmap.ingest.sql", "notify.sql"), {"payload": json.dumps(payload)})
        conn.commit()
    committed = time.monotonic()
    e = reader.next(where=lambda e: e["data"]["payload"].get("ingest_id") == ingest_id)
    assert e["received"] - committed < DEADLINE_S
    assert e["event"] == "observation" and int(e["id"]) > 0
    assert e["data"]["payload"] == payload


def _log(db_url: str, kind: str, n: int) -> list[int]:
    """Log ``n`` events, each committed on its own; their SSE ids (pos, set at commit)."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        ids = [
            conn.execute(
                "SELECT riskmap_event(%s, %s::jsonb)", [kind, json.dumps({"n": i})]
            ).fetchone()[0]
            for i in range(n)
        ]
        return [_pos(conn, i) for i in ids]


def _pos(conn: psycopg.Connection, row_id: int) -> int:
    return conn.execute("SELECT pos FROM event_log WHERE id = %s", [row_id]).fetchone()[0]


def test_reconnect_with_last_event_id_gets_exactly_what_was_missed(service, streams) -> None:
    kind = f"test_replay_{uuid.uuid4().hex[:6]}"
    first = streams("viewer", kinds=kind)
    (seen,) = _log(service.db_url, kind, 1)
    assert first.next()["id"] == str(seen)
    first.close()
    missed = _log(service.db_url, kind, 3)

    again = streams("viewer", kinds=kind, headers={"Last-Event-ID": str(seen)})
    got = [again.next(timeout=2) for _ in missed]
    assert [int(e["id"]) for e in got] == missed
    assert [e["data"]["payload"]["n"] for e in got] == [0, 1, 2]
    live = _log(service.db_url, kind, 1)
    assert int(again.next()["id"]) == live[0]
    assert again.drain() == []  # nothing twice

    by_query = streams("viewer", kinds=kind, last_event_id=missed[1])
    assert [int(by_query.next(timeout=2)["id"]) for _ in range(2)] == [missed[2], live[0]]


def test_a_resume_beyond_the_replay_window_is_told_to_reload(service, streams) -> None:
    kind = f"test_old_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(service.db_url, autocommit=True) as conn:
        (old,) = conn.execute(
            "INSERT INTO event_log (kind, at) VALUES (%s, now() - interval '25 hours')"
            " RETURNING id",
            [kind],
        ).fetchone()
        old = _pos(conn, old)
    recent = _log(service.db_url, kind, 1)
    again = streams("viewer", kinds=kind, last_event_id=old - 1)
    first, second = again.next(timeout=2), again.next(timeout=2)
    assert first["event"] == "reset" and "id" not in first
    assert int(second["id"]) == recent[0]  # the 25-hour-old one is not replayed


def test_public_replay_leaves_out_internal_events(service, streams) -> None:
    kind = f"test_private_{uuid.uuid4().hex[:6]}"
    before = _log(service.db_url, kind, 1)[0]
    _log(service.db_url, kind, 2)
    public = streams(None, kinds=kind, last_event_id=before - 1)
    reader = streams("viewer", kinds=kind, last_event_id=before - 1)
    assert len([reader.next(timeout=2) for _ in range(3)]) == 3
    assert public.drain() == []


def test_raw_notifications_are_logged_and_get_an_id(service, streams) -> None:
    reader = streams("viewer", kinds="field_report")
    mark = uuid.uuid4().hex
    with psycopg.connect(service.db_url, autocommit=True) as conn:
        body = json.dumps({"kind": "field_report", "report_id": 7, "mark": mark})
        conn.execute("SELECT pg_notify('riskmap_events', %s)", [body])
        e = reader.next(where=lambda e: e["data"]["payload"].get("mark") == mark)
        assert e["event"] == "field_report" and e["data"]["payload"]["report_id"] == 7
        logged = conn.execute(
            "SELECT count(*) FROM event_log WHERE payload->>'mark' = %s", [mark]
        ).fetchone()[0]
    assert logged == 1
    assert not [x for x in reader.drain() if x["data"]["payload"].get("mark") == mark]


def test_the_listener_reconnects_and_delivers_what_happened_meanwhile(service, streams) -> None:
    kind = f"test_outage_{uuid.uuid4().hex[:6]}"
    reader = streams("viewer", kinds=kind)
    with psycopg.connect(service.db_url, autocommit=True) as conn:
        killed = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = %s AND datname = current_database()",
            [LISTENER_NAME],
        ).fetchone()[0]
    assert killed >= 1
    ids = _log(service.db_url, kind, 2)  # probably while the listener is away
    got = [int(reader.next(timeout=10)["id"]) for _ in ids]
    assert got == ids
    with service.client() as c:
        deadline = time.monotonic() + 10
        while c.get("/healthz").json()["events_listener"] != "listening":
            assert time.monotonic() < deadline
            time.sleep(0.1)


@pytest.mark.parametrize(
    ("params", "headers", "status"),
    [
        ({"kinds": "warning,Bad Kind"}, {}, 422),
        ({"kinds": ","}, {}, 422),
        ({"last_event_id": "-1"}, {}, 422),
        ({}, {"Last-Event-ID": "abc"}, 422),
        ({}, {"Authorization": "Bearer rm_not-a-token"}, 401),
    ],
)
def test_bad_requests_are_refused_before_streaming(service, params, headers, status) -> None:
    with service.client(headers=headers) as c:
        r = c.get("/api/events", params=params)
    assert r.status_code == status, r.text


def test_streams_end_when_the_server_stops(service, tmp_path) -> None:
    from riskmap.geo.settings import Settings
    from tests.api.conftest import start_server

    base, server, thread = start_server(Settings(data_dir=tmp_path), service.db_url)
    stream = Stream(base)
    assert stream.status == 200
    started = time.monotonic()
    server.should_exit = True
    thread.join(timeout=10)
    assert not thread.is_alive(), "the server waited for the open event stream"
    assert time.monotonic() - started < 5
    assert stream.ended.wait(5)
    stream.close()


def test_idle_streams_get_keep_alive_pings(service, streams, monkeypatch) -> None:
    import fastapi.routing

    # FastAPI pings every 15 s of silence; a shorter interval keeps the test short
    monkeypatch.setattr(fastapi.routing, "_PING_INTERVAL", 0.2)
    idle = streams("viewer", kinds=f"test_idle_{uuid.uuid4().hex[:6]}")
    wait_until(lambda: idle.comments.count("ping") >= 2, 10, "two keep-alive pings")
    assert idle.events.empty()
