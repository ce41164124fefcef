"""PostgreSQL stops (pg_ctl stop -m fast; immediate too in the soak variant) and starts again
while the API serves readers, writers and live-event clients and the ingest runner watches its
drop folder, on a cluster of this test's own (the session's other tests never see it go).

During the outage /healthz answers 503 with its Health body saying the database is unreachable;
the runner stays up and leaves a file dropped meanwhile in its inbox. Once PostgreSQL is back,
within a deadline and with no process restarted: /healthz is 200 again and shows the runner's
fresh heartbeat, reads and writes succeed, the file is loaded, and the live-event clients
receive the events of writes made after the recovery. Every write answered 2xx is stored once.

The dispatcher's own reconnection is tests/dispatch/test_dispatch_pg_restart.py. `make soak`:
RISKMAP_SOAK_PG_RESTARTS outages in a row (1 in `make test`), alternating fast and immediate,
each lasting at least RISKMAP_SOAK_PG_OUTAGE_S seconds (see OUTAGE_S).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import httpx
import psycopg
import pytest

from riskmap.api.users import add_user, new_token
from riskmap.geo.db.cluster import EmbeddedCluster, find_bin_dir
from tests.conftest import ROOT, own_demo_cluster
from tests.reliability import serving
from tests.reliability.serving import RISKMAP, Server, end, riskmap_env, spawn

RESTARTS = int(os.environ.get("RISKMAP_SOAK_PG_RESTARTS", "1"))  # at most 24 (the gauge files)
SCENARIO = ROOT / "data" / "scenarios" / "storm-431226"
# The outage lasts at least this long (the fault, not a synchronisation; in `make test` as long
# as its checks take, about 7 s). The soak's 45 s lets reconnection backoffs doubling from 1 s
# grow as in a real restart: psycopg_pool's own (no ceiling) tries again about 15, 31 and 63 s
# after the stop, the event listener's old one 15.5, 31.5 and 61.5 s after, so a 45 s outage
# ends between their attempts and, without the ceilings of api/app.py and api/events.py, the
# API stays unavailable 10 s and more after PostgreSQL is back, every time.
OUTAGE_S = float(os.environ.get("RISKMAP_SOAK_PG_OUTAGE_S", "0"))
SERVING_S = 10.0  # PostgreSQL accepting connections again → every component serving
RECOVERY_S = 60.0  # the waits' own deadline, so a slow recovery is measured and reported
TAG = "pg-restart"
wait_until = partial(serving.wait_until, every=0.1)  # each check a request or a query


@pytest.fixture(scope="module")
def own_cluster():
    """A cluster of this module's own with the demo county loaded, with the durability settings
    of a real installation: an immediate stop is a crash, and the test clusters' fast_unsafe
    (synchronous_commit off) would lose commits already answered 2xx."""
    yield from own_demo_cluster("riskmap-pgrestart-", 20261217, fast_unsafe=False)


def stop_postgres(cluster: EmbeddedCluster, mode: str) -> None:
    """pg_ctl stop in ``mode`` on this test's own cluster (never any other)."""
    if mode == "fast":
        assert cluster.down()
        return
    pg_ctl = find_bin_dir(cluster.bin_dir) / "pg_ctl"
    cluster._run([pg_ctl, "stop", "-D", cluster.data_dir, "-m", mode, "-w"], f"stop ({mode})")
    assert cluster.pid() is None


class Live:
    """A live-event client as the web pages' (web/src/shared/live.ts): reads /api/events,
    reconnects after any failure (an HTTP error too) with Last-Event-ID."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token
        self.ids: list[int] = []
        self.payloads: list[dict] = []
        self.connects = 0
        self.failures = 0
        self.opened = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            headers = {"Authorization": f"Bearer {self.token}"}
            if self.ids:
                headers["Last-Event-ID"] = str(self.ids[-1])
            try:
                with (
                    httpx.Client(timeout=httpx.Timeout(5, read=40)) as client,
                    client.stream(
                        "GET",
                        f"{self.base}/api/events",
                        headers=headers,
                        params={"kinds": "field_report"},
                    ) as r,
                ):
                    if r.status_code != 200:
                        raise httpx.HTTPStatusError("status", request=r.request, response=r)
                    self.connects += 1
                    self._read(r)
            except httpx.HTTPError:
                self.failures += 1
            self._stop.wait(0.5)

    def _read(self, r: httpx.Response) -> None:
        event: dict[str, str] = {}
        for line in r.iter_lines():
            if self._stop.is_set():
                return
            if line.startswith(":"):
                self.opened.set()
            elif not line:
                if "data" in event and "id" in event:
                    self.ids.append(int(event["id"]))
                    self.payloads.append(json.loads(event["data"])["payload"])
                event = {}
            else:
                key, _, value = line.partition(":")
                event[key] = value.removeprefix(" ")

    def saw_report(self, report_id: int) -> bool:
        return any(p.get("id") == report_id for p in list(self.payloads))


@dataclass
class Load:
    """Readers and a writer against the API, each answer noted with its time."""

    base: str
    tokens: dict[str, str]
    villages: list[tuple[str, float, float]]
    log: list[tuple[float, str, str]] = field(default_factory=list)  # (t, what, outcome)
    writes: dict[str, str] = field(default_factory=dict)  # marker → ack / unknown / no
    stop: threading.Event = field(default_factory=threading.Event)

    def read(self, path: str, role: str | None) -> None:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        with httpx.Client(base_url=self.base, headers=headers, timeout=30) as client:
            while not self.stop.is_set():
                try:
                    r = client.get(path)
                    outcome = "ok" if r.status_code == 200 else str(r.status_code)
                except httpx.TransportError as exc:
                    outcome = type(exc).__name__
                self.log.append((time.monotonic(), path, outcome))
                self.stop.wait(0.1)

    def write(self) -> None:
        headers = {"Authorization": f"Bearer {self.tokens['reporter']}"}
        with httpx.Client(base_url=self.base, headers=headers, timeout=30) as client:
            k = 0
            while not self.stop.is_set():
                k += 1
                code, lon, lat = self.villages[k % len(self.villages)]
                marker = f"{TAG} {k}"
                self.post(client, marker, code, lon, lat)
                self.stop.wait(0.1)

    def post(self, client: httpx.Client, marker: str, code: str, lon: float, lat: float):
        body = {
            "kind": "flood",
            "lon": lon,
            "lat": lat,
            "village_code": code,
            "observed_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
            "text": marker,
        }
        try:
            r = client.post("/api/reports", json=body)
        except httpx.ConnectError:
            self.writes[marker], outcome, r = "no", "ConnectError", None
        except httpx.TransportError as exc:
            self.writes[marker], outcome, r = "unknown", type(exc).__name__, None
        else:
            ok = r.status_code == 201
            self.writes[marker] = "ack" if ok else "unknown" if r.status_code >= 500 else "no"
            outcome = "ok" if ok else str(r.status_code)
        self.log.append((time.monotonic(), "POST /api/reports", outcome))
        return r.json()["id"] if r is not None and r.status_code == 201 else None

    def since(self, t: float) -> list[tuple[float, str, str]]:
        return [e for e in list(self.log) if e[0] >= t]


def healthz(base: str) -> tuple[int, dict]:
    try:
        r = httpx.get(f"{base}/healthz", timeout=30)
    except httpx.TransportError as exc:
        return 0, {"error": repr(exc)}
    return r.status_code, r.json()


def loaded(url: str, path: Path) -> bool:
    with contextlib.suppress(psycopg.OperationalError), psycopg.connect(url) as c:
        sql = "SELECT count(*) FROM ingest_log WHERE source = %s AND status = 'loaded'"
        return c.execute(sql, [str(path)]).fetchone()[0] == 1
    return False


def beat_fresh(base: str, since: float) -> bool:
    """The runner's heartbeat on /healthz is ok and younger than ``since``."""
    status, body = healthz(base)
    if status != 200:
        return False
    beat = body["components"]["ingest"]
    return beat["status"] == "ok" and beat["age_seconds"] < time.monotonic() - since


def drop(inbox: Path, name: str, src: Path) -> Path:
    """A station file written beside the inbox and moved in whole (as an upload tool does)."""
    tmp = inbox.parent / f".{name}"
    shutil.copyfile(src, tmp)
    return tmp.rename(inbox / name)


@dataclass
class World:
    cluster: EmbeddedCluster
    base: str
    tmp: Path
    inbox: Path
    api: subprocess.Popen
    runner: subprocess.Popen
    load: Load
    lives: list[Live]
    villages: list[tuple[str, float, float]]


def outage(w: World, n: int, mode: str) -> str:
    """One stop and start of PostgreSQL under load; returns the figures."""
    url, load = w.cluster.url, w.load
    ingest_log, serve_log = w.tmp / "ingest.log", w.tmp / "serve.log"
    assert w.runner.poll() is None and w.api.poll() is None
    # 1. the outage: /healthz says so, the runner lives on, a file waits for it
    meetings = ingest_log.read_text().count("database unavailable")
    stop_postgres(w.cluster, mode)
    down = time.monotonic()
    status, body = wait_until(
        lambda: (h := healthz(w.base))[0] != 200 and h, 30, "/healthz sees the outage"
    )
    detected = time.monotonic() - down
    assert status == 503, body
    assert body["status"] == "down" and body["database"] == "unreachable", body
    stations = sorted(SCENARIO.glob("*_ST_PPTN_R.csv"))  # content no earlier outage dropped
    waiting = drop(w.inbox, f"during-outage-{n}_ST_PPTN_R.csv", stations[n])
    wait_until(
        lambda: (
            ingest_log.read_text().count("database unavailable") > meetings
            or w.runner.poll() is not None
        ),
        30,
        "the runner meets the outage",
    )
    assert w.runner.poll() is None, "the runner died: " + ingest_log.read_text()[-3000:]
    wait_until(
        lambda: any(o != "ok" for _, what, o in load.since(down) if what.startswith("POST")),
        30,
        "a write meets the outage",
    )
    assert w.api.poll() is None, serve_log.read_text()[-3000:]
    assert not loaded(url, waiting)
    time.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down)))
    # 2. PostgreSQL back: every component serves again by itself, none restarted
    w.cluster.up()
    up = time.monotonic()
    # each component's first success, watched together (the figures are each its own)
    checks = {
        "healthz": lambda: healthz(w.base)[0] == 200,
        "inbox file": lambda: loaded(url, waiting),
        "heartbeat": lambda: beat_fresh(w.base, up),
        "reads+writes": lambda: (
            {what for _, what, o in load.since(up) if o == "ok"}
            == {
                "/api/warnings?limit=5",
                "/api/reports?limit=5",
                "POST /api/reports",
            }
        ),
    }
    back: dict[str, float] = {}

    def all_back() -> bool:
        for name, check in checks.items():
            if name not in back and check():
                back[name] = time.monotonic() - up
        return len(back) == len(checks)

    try:
        wait_until(all_back, RECOVERY_S, "every component serving again")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; back so far: {back}") from None
    served = back["reads+writes"]
    headers = {"Authorization": f"Bearer {load.tokens['reporter']}"}
    with httpx.Client(base_url=w.base, headers=headers, timeout=30) as client:
        code, lon, lat = w.villages[n % len(w.villages)]
        rid = load.post(client, f"{TAG} after {n}", code, lon, lat)
    assert rid is not None
    wait_until(
        lambda: all(live.saw_report(rid) for live in w.lives),
        RECOVERY_S,
        "live events after the recovery",
    )
    streamed = time.monotonic() - up
    # once serving, it keeps serving: no stale pooled connection answers 503 later
    settle = time.monotonic()
    wait_until(lambda: len(load.since(settle)) > 30, 60, "more load after recovery")
    failed = [e for e in load.since(up + served + 1.0) if e[2] != "ok"]
    assert not failed, failed[:5]
    back["live events"] = streamed
    figures = f"{mode}: 503 after {detected:.1f} s; serving again after " + ", ".join(
        f"{name} {t:.1f} s" for name, t in back.items()
    )
    assert max(back.values()) <= SERVING_S, figures
    return figures


def test_postgresql_restart_under_load_every_component_recovers(own_cluster, tmp_path):
    cluster, _ = own_cluster
    url = cluster.url
    tokens = {}
    with psycopg.connect(url, autocommit=True) as c:
        for role in ("viewer", "reporter"):
            name = f"{role}-{uuid.uuid4().hex[:6]}"
            add_user(c, name, role)
            tokens[role] = new_token(c, name, label="tests")
        villages = c.execute(
            "SELECT code, ST_X(label_point), ST_Y(label_point) FROM village ORDER BY code"
        ).fetchall()
    data_dir, inbox = tmp_path / "data", tmp_path / "data" / "inbox"
    inbox.mkdir(parents=True)
    env = riskmap_env(url, data_dir, write_rate_limit="100000/minute", api_nice="0")
    server = Server(env, tmp_path / "serve.log").start()
    base, api = server.base, server.proc
    runner = spawn([RISKMAP, "ingest", "run", "--no-rules"], env, tmp_path / "ingest.log")
    load = Load(base, tokens, villages)
    threads = [
        threading.Thread(target=load.read, args=("/api/warnings?limit=5", None)),
        threading.Thread(target=load.read, args=("/api/reports?limit=5", "viewer")),
        threading.Thread(target=load.write),
    ]
    lives: list[Live] = []
    figures = []
    try:
        wait_until(lambda: healthz(base)[0] == 200, 120, "the API answers", every=0.3)
        wait_until(
            lambda: healthz(base)[1]["components"]["ingest"]["status"] == "ok",
            120,
            "the runner's first heartbeat",
            every=0.3,
        )
        lives = [Live(base, tokens["viewer"]) for _ in range(2)]
        for live in lives:
            assert live.opened.wait(30), "live events open"
        for t in threads:
            t.start()
        wait_until(lambda: len(load.since(0)) > 20, 60, "the load running")
        for n in range(RESTARTS):
            mode = "fast" if n % 2 == 0 else "immediate"
            world = World(cluster, base, tmp_path, inbox, api, runner, load, lives, villages)
            figures.append(outage(world, n, mode))
    finally:
        load.stop.set()
        for t in threads:
            t.join(30)
        for live in lives:
            live.close()
        end(runner)
        server.stop()
    # every acknowledged write stored once; those whose answer failed at most once
    with psycopg.connect(url) as c:
        stored = Counter(
            dict(
                c.execute(
                    "SELECT text, count(*) FROM field_report WHERE text LIKE %s GROUP BY 1",
                    [f"{TAG} %"],
                ).fetchall()
            )
        )
    acked = {m for m, o in load.writes.items() if o == "ack"}
    assert acked <= set(stored) and max(stored.values()) == 1
    assert not {m for m, o in load.writes.items() if o == "no"} & set(stored)
    outcomes = Counter(o for *_, o in load.log)
    print(f"\nPostgreSQL restarts {RESTARTS}: " + "; ".join(figures) + f"; answers {outcomes}")
