"""SIGKILL the API server (`riskmap serve`, the whole process group) at random points while
clients post field reports, verify them and take warnings through review (write, escalate,
issue, cancel), then start it again: every write answered 2xx exists exactly once, a write
never sent or refused does not exist, and the audit (warning_audit for warnings, the event log
for reports) has exactly one entry for each action that exists.

Every write carries an ``Idempotency-Key`` (api/idempotency.py), and a client whose answer was
lost — the server killed mid-request, or down when it tried — sends the same write with the same
key again until it gets one, as a phone on a weak link would: so every write ends acknowledged
or refused, none twice, and none is left "unknown". `make soak` runs more kills
(RISKMAP_SOAK_KILLS; 2 in `make test`).
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest

from riskmap.api.users import add_user, new_token
from tests.conftest import clone_database, drop_database
from tests.reliability.serving import Server, riskmap_env, wait_until

KILLS = int(os.environ.get("RISKMAP_SOAK_KILLS", "2"))
TAG = "crash-api"


@dataclass
class Ledger:
    """What the clients sent and heard: marker → 'ack' or 'no' (refused); and the writes that
    had to be sent again because an answer was lost."""

    outcome: dict[str, str] = field(default_factory=dict)
    lost: set[str] = field(default_factory=set)
    reports: dict[str, int] = field(default_factory=dict)  # acknowledged report → its id
    lock: threading.Lock = field(default_factory=threading.Lock)
    acks: int = 0

    def record(self, marker: str, result: str) -> None:
        with self.lock:
            assert marker not in self.outcome
            self.outcome[marker] = result
            self.acks += result == "ack"

    def lost_once(self, marker: str) -> None:
        with self.lock:
            self.lost.add(marker)

    def of(self, result: str) -> set[str]:
        with self.lock:
            return {m for m, r in self.outcome.items() if r == result}


def send(client: httpx.Client, ledger: Ledger, marker: str, path: str, body: dict):
    """One write under one key, sent again with that key until it is answered (4xx or 2xx);
    its outcome in the ledger. Returns the answer when 2xx."""
    key = str(uuid.uuid4())
    deadline = time.monotonic() + 120
    while True:
        assert time.monotonic() < deadline, f"{marker}: no answer for 120 s"
        try:
            r = client.post(path, json=body, headers={"Idempotency-Key": key})
        except httpx.ConnectError:  # nothing was sent: the server is down
            time.sleep(0.1)
            continue
        except httpx.TransportError:  # sent, but the answer was lost (killed mid-request)
            ledger.lost_once(marker)
            continue
        if r.status_code >= 500:  # failed after a commit perhaps: the key tells
            ledger.lost_once(marker)
            time.sleep(0.1)
            continue
        break
    if r.is_success:
        ledger.record(marker, "ack")
        return r.json()
    ledger.record(marker, "no")
    return None


@pytest.fixture
def world(pg_cluster, storm_url, tmp_path):
    url = clone_database(pg_cluster, storm_url, "t_crash_api")
    tokens = {}
    with psycopg.connect(url, autocommit=True) as c:
        for role in ("reporter", "forecaster", "commander"):
            name = f"{role}-{uuid.uuid4().hex[:6]}"
            add_user(c, name, role)
            tokens[role] = new_token(c, name, label="tests")
        villages = c.execute(
            "SELECT code, ST_X(label_point), ST_Y(label_point) FROM village ORDER BY code"
        ).fetchall()
    env = riskmap_env(url, tmp_path, write_rate_limit="100000/minute", api_nice="0")
    server = Server(env, tmp_path / "serve.log")
    yield url, server, tokens, villages
    server.stop()
    drop_database(pg_cluster, url)


def reporter(base, token, villages, ledger, stop, n: int) -> None:
    """Posts reports (each text a marker of its own) and verifies those acknowledged."""
    headers = {"Authorization": f"Bearer {token['reporter']}"}
    verifier = {"Authorization": f"Bearer {token['forecaster']}"}
    with httpx.Client(base_url=base, timeout=30) as client:
        k = 0
        while not stop.is_set():
            k += 1
            code, lon, lat = villages[(n * 31 + k) % len(villages)]
            marker = f"{TAG} report {n}-{k}"
            body = {
                "kind": "landslide",
                "lon": lon,
                "lat": lat,
                "village_code": code,
                "observed_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
                "text": marker,
            }
            client.headers = headers
            got = send(client, ledger, marker, "/api/reports", body)
            if got is None:
                time.sleep(0.05)
                continue
            with ledger.lock:
                ledger.reports[marker] = got["id"]
            if k % 2 == 0:  # every other one verified, the note naming the verify action
                client.headers = verifier
                note = f"{TAG} verify {n}-{k}"
                send(client, ledger, note, f"/api/reports/{got['id']}/verify",
                     {"status": "verified", "note": note})  # fmt: skip


def reviewer(base, token, villages, ledger, stop, n: int) -> None:
    """Each warning over a village of its own: written at the desk, escalated, issued,
    cancelled; the reason of each action is its marker. A refused action ends that warning's
    steps and the next one begins."""
    forecaster = {"Authorization": f"Bearer {token['forecaster']}"}
    commander = {"Authorization": f"Bearer {token['commander']}"}
    with httpx.Client(base_url=base, timeout=30) as client:
        k = 0
        while not stop.is_set():
            k += 1
            code = villages[(100 + n * 50 + k) % len(villages)][0]
            marker = f"{TAG} warning {n}-{k}"
            body = {
                "reason": f"{marker} propose",
                "hazard": "rainstorm",
                "colour": "yellow",
                "village_codes": [code],
                "event_zh": "暴雨",
                "headline_zh": "崩溃测试",
                "description_zh": "崩溃测试",
                "instruction_zh": "崩溃测试",
            }
            client.headers = forecaster
            got = send(client, ledger, f"{marker} propose", "/api/warnings", body)
            if got is None:
                time.sleep(0.05)
                continue
            wid = got["warning_id"]
            steps = [
                ("escalate", forecaster, {"colour": "orange"}),
                ("issue", forecaster, {}),
                ("cancel", commander, {}),
            ]
            for action, headers, extra in steps:
                client.headers = headers
                reason = f"{marker} {action}"
                if send(client, ledger, reason, f"/api/warnings/{wid}/{action}",
                        {"reason": reason, **extra}) is None:  # fmt: skip
                    break


def test_sigkill_of_the_api_loses_and_doubles_no_acknowledged_write(world):
    url, server, tokens, villages = world
    server.start().ready()
    ledger, stop = Ledger(), threading.Event()
    clients = [
        threading.Thread(target=reporter, args=(server.base, tokens, villages, ledger, stop, n))
        for n in range(3)
    ] + [
        threading.Thread(target=reviewer, args=(server.base, tokens, villages, ledger, stop, n))
        for n in range(2)
    ]
    rng = random.Random(20261217)
    downtime = []
    for t in clients:
        t.start()
    try:
        for _ in range(KILLS):
            before = ledger.acks
            # killed once this run has answered some writes, at a random point after that
            wait_until(lambda b=before: ledger.acks >= b + 10, 120, "writes answered")
            time.sleep(rng.uniform(0.0, 0.5))
            server.kill()
            down = time.monotonic()
            server.start().ready()
            downtime.append(round(time.monotonic() - down, 1))
        before = ledger.acks
        wait_until(lambda: ledger.acks >= before + 10, 120, "writes after the last restart")
    finally:
        stop.set()
        for t in clients:
            t.join(60)
    acked, refused, lost = ledger.of("ack"), ledger.of("no"), ledger.lost
    assert len(acked) > 30 and lost, (len(acked), lost)  # the kills landed mid-write

    with psycopg.connect(url) as c:
        # reports: each marker's rows, and the event log's entry for each report and verdict
        found = Counter(
            dict(
                c.execute(
                    "SELECT text, count(*) FROM field_report WHERE text LIKE %s GROUP BY 1",
                    [f"{TAG} report %"],
                ).fetchall()
            )
        )
        verified = Counter(
            dict(
                c.execute(
                    "SELECT note, count(*) FROM field_report WHERE note LIKE %s GROUP BY 1",
                    [f"{TAG} verify %"],
                ).fetchall()
            )
        )
        events = Counter(
            (p["id"], p["status"])
            for (p,) in c.execute(
                "SELECT payload FROM event_log WHERE kind = 'field_report' AND payload->>'id' IN"
                " (SELECT id::text FROM field_report WHERE text LIKE %s)",
                [f"{TAG} report %"],
            ).fetchall()
        )
        reports = c.execute(
            "SELECT id, status FROM field_report WHERE text LIKE %s", [f"{TAG} report %"]
        ).fetchall()
        # warnings: each action's audit rows (the reason is its marker), and the final states
        audit = Counter(
            dict(
                c.execute(
                    "SELECT reason, count(*) FROM warning_audit WHERE reason LIKE %s GROUP BY 1",
                    [f"{TAG} warning %"],
                ).fetchall()
            )
        )
        trails = c.execute(
            "SELECT w.id, w.status, w.colour, array_agg(a.action ORDER BY a.id)"
            " FROM warning w JOIN warning_audit a ON a.warning_id = w.id"
            " WHERE w.id IN (SELECT warning_id FROM warning_audit WHERE reason LIKE %s)"
            " GROUP BY w.id",
            [f"{TAG} warning %"],
        ).fetchall()
        published = c.execute(
            "SELECT count(DISTINCT (warning_id, version)) FROM outbox WHERE warning_id = ANY(%s)",
            [[t[0] for t in trails]],
        ).fetchone()[0]
    stored = found + verified + audit
    assert max(stored.values()) == 1, stored.most_common(3)  # nothing twice
    assert acked <= set(stored), sorted(acked - set(stored))[:5]  # every acknowledged write
    assert not (refused & set(stored)), sorted(refused & set(stored))[:5]  # none refused
    assert set(stored) == acked  # nothing nobody asked for, and nothing left unknown
    # the event log: each report's arrival once, each verdict once
    unlogged = [rid for rid, _ in reports if events[(rid, "received")] != 1]
    assert not unlogged, f"reports without their one event: {unlogged}"
    assert sum(n for (_, s), n in events.items() if s == "verified") == sum(verified.values())
    assert all(n == 1 for n in events.values())
    # the audit is complete: each warning's state is the one its trail leads to
    end = {"propose": "candidate", "escalate": "candidate", "issue": "issued"}
    end["cancel"] = "cancelled"
    for wid, status, colour, actions in trails:
        assert actions[0] == "propose" and len(actions) == len(set(actions)), (wid, actions)
        assert status == end[actions[-1]], (wid, status, actions)
        assert colour == ("orange" if "escalate" in actions else "yellow"), (wid, actions)
    # deliveries: one set of outbox rows per published version (issue, cancel), none twice
    assert published == sum(("issue" in a) + ("cancel" in a) for *_, a in trails)
    print(
        f"\nAPI kills {KILLS} (down {downtime} s each): {len(acked)} writes acknowledged,"
        f" {len(lost)} sent again after a lost answer (each stored once),"
        f" {len(refused)} refused or not sent; {len(trails)} warnings, {len(reports)} reports"
    )
