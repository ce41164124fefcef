"""Wall maps and API users on a real `riskmap serve` while the storm replays (issue 17, "Load"):
no errors, every live event delivered to every wall map in order, memory flat.

The server runs with 2 workers (the product's default is 1; two exercise each worker's own
event listener) over a copy of the storm database made storm-free, and the bundled storm is
replayed into it hour by hour by a process of its own (storm_replay.py: the ingest pipeline,
then the rules and plans as of each hour), so observation, warning and response events really
arise during the load. Meanwhile, on one asyncio loop in this process:

* ``SSE`` wall maps hold /api/events open from the storm's start (Last-Event-ID), four in five
  with a viewer token (every event), one in five without (public events only);
* ``API`` users read in a loop, each next request as soon as its answer is in: the warning
  list (with and without a token), OGC village items, a village profile, village and warning
  vector tiles, /healthz.

The oracle is the event table read directly once the replay is over: each wall map must have
received exactly the ``event_log`` rows after its Last-Event-ID that it may see (``pos``, the
SSE id, migration 0040), in strictly increasing order, none missing, none twice, each with its
kind; and its one stream must never have dropped. The table's own ids run without a gap
(nothing here rolls back after its event was numbered). Every API answer is 200, 204 (an
empty tile) or 304 within 120 s (nginx's proxy_read_timeout in deploy/nginx.conf): no 5xx, no
4xx, no transport error. The settings leave admission control nothing to refuse (no API
writes, so tiles never wait for one; at most API tiles in one worker, far below its tile queue
of 512), so a 429 or 503 is a failure too. One exception, counted apart and reported: a GET
that failed before any answer on a kept-alive connection is sent once more on a new one, as
browsers and nginx do (load_clients.Readers); under this load the server may close an idle
connection just as the next request arrives. At most 1 % of the answers may need it; a
second failure is an error.

Memory: VmRSS of the server process and each worker, sampled every second over the load. The
first quarter is warm-up (streams and connections accepted, tile and token caches filled, the
allocator's arenas grown); after it a server that does not leak stays flat, so for each process
the median of the last quarter must stay within 1.05 × the second quarter's median + 5 MiB
(about 17 MiB for a 230 MiB worker). What may legitimately still grow is bounded and small:
the event hub's recent ids (≤ 10,000), the tile cache (a fixed set of tiles here, re-rendered
when warning tiles go stale), allocator fragmentation; measured, the workers grew 0.3–2 MiB
from the second quarter to the last, in both sizes. In `make soak` (500 wall maps, 200 users,
the storm spread over RISKMAP_SOAK_LOAD_S = 300 s) each worker serves some 5,000 requests and
30,000 event deliveries in the second half: a leak of about 3.5 KiB a request, 600 bytes an
event delivered or 120 KiB a second exceeds the bound. The short `make test` size (100 + 40,
the storm as fast as it goes, 25–35 s) catches only gross leaks (10 KiB an event delivered,
tried); it is there to keep the proof itself working.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise

import httpx
import morecantile
import psycopg
import pytest

from riskmap.api.users import add_user, new_token
from tests.conftest import clone_database, drop_database
from tests.reliability.load_clients import Readers, RssSampler, Wall, process_label, until
from tests.reliability.serving import Server, riskmap_env, spawn
from tests.reliability.storm_replay import forget_storm

SSE_CLIENTS = int(os.environ.get("RISKMAP_SOAK_SSE_CLIENTS", "100"))
API_CLIENTS = int(os.environ.get("RISKMAP_SOAK_API_CLIENTS", "40"))
LOAD_S = float(os.environ.get("RISKMAP_SOAK_LOAD_S", "0"))  # the storm spread over this long
WORKERS = 2
RSS_FACTOR, RSS_SLACK_MIB = 1.05, 5.0  # last quarter ≤ second quarter × factor + slack
ANSWERS = {200, 204, 304}
TILES = {"villages": 12, "warnings": 10}  # the vector tiles read, at this zoom


@dataclass
class World:
    url: str
    server: Server
    viewer: str  # a viewer's token
    villages: list[str]  # village codes
    tiles: list[str]  # tile paths over the county
    data_dir: str
    after: int  # the last event id before the storm


@pytest.fixture
def world(pg_cluster, storm_url, tmp_path):
    url = clone_database(pg_cluster, storm_url, "t_load")
    forget_storm(url)
    with psycopg.connect(url, autocommit=True) as c:
        name = f"wall-{uuid.uuid4().hex[:6]}"
        add_user(c, name, "viewer")
        viewer = new_token(c, name, label="tests")
        places = c.execute(
            "SELECT code, ST_X(label_point), ST_Y(label_point) FROM village ORDER BY code"
        ).fetchall()
        after = c.execute("SELECT coalesce(max(pos), 0) FROM event_log").fetchone()[0]
    data_dir = tmp_path / "data"
    # the load generator shares the two cores: the workers are not niced below it
    env = riskmap_env(url, data_dir, api_nice="0")
    server = Server(env, tmp_path / "serve.log", WORKERS).start()
    codes = [code for code, _, _ in places[:: len(places) // 8]]
    tiles = sorted(
        {
            f"/tiles/{layer}/{t.z}/{t.x}/{t.y}.mvt"
            for layer, zoom in TILES.items()
            for _, lon, lat in places[:: len(places) // 8]
            for t in [morecantile.tms.get("WebMercatorQuad").tile(lon, lat, zoom)]
        }
    )
    yield World(url, server, viewer, codes, tiles, str(data_dir), after)
    server.stop()
    drop_database(pg_cluster, url)


@dataclass
class Run:
    """What one load run saw."""

    walls: list[Wall]
    readers: Readers
    sampler: RssSampler
    every: list[tuple[int, str]]  # the event table after the start: (pos, kind)
    public: list[tuple[int, str]]  # its public rows
    opened_s: float  # every wall map open after
    storm_s: float  # the replay took
    load_s: float  # the users read for
    client_cpu_s: float  # CPU this process spent meanwhile
    workers_kept: bool  # the same worker processes at the end


def read_plan(w: World) -> list[tuple[str, str, dict[str, str]]]:
    """What each API user reads in turn (kind, path, headers)."""
    auth = {"Authorization": f"Bearer {w.viewer}"}
    plan = [
        ("warnings", "/api/warnings?limit=20", {}),
        ("warnings", "/api/warnings?limit=20&status=issued,candidate", auth),
        ("ogc items", "/ogc/collections/villages/items?limit=50", auth),
        ("healthz", "/healthz", {}),
    ]
    plan += [("village", f"/api/villages/{code}", auth) for code in w.villages[:4]]
    plan += [("tile", path, auth if "/villages/" in path else {}) for path in w.tiles]
    return plan


def expected_events(url: str, after: int) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The event table after ``after``: every row (pos, kind) and the public ones, by pos."""
    with psycopg.connect(url) as c:
        rows = c.execute(
            "SELECT pos, kind, public FROM event_log WHERE pos > %s ORDER BY pos", [after]
        ).fetchall()
        assert not c.execute("SELECT count(*) FROM event_log WHERE pos IS NULL").fetchone()[0]
    return [(p, k) for p, k, _ in rows], [(p, k) for p, k, public in rows if public]


async def load(w: World) -> Run:
    """The run: wall maps open, then users, the memory sampler and the storm; until the storm
    is over and every wall map has its last event. Returns what was seen."""
    walls = [Wall(None if i % 5 == 4 else w.viewer) for i in range(SSE_CLIENTS)]
    readers = Readers(read_plan(w))
    streams = httpx.AsyncClient(
        base_url=w.server.base,
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=0),
        timeout=httpx.Timeout(30, read=60),  # a ping every 15 s at the least
    )
    users = httpx.AsyncClient(
        base_url=w.server.base,
        limits=httpx.Limits(max_connections=API_CLIENTS),
        # deploy/nginx.conf's proxy_read_timeout: a slower answer would be a 504 there
        timeout=httpx.Timeout(120),
    )
    main = w.server.proc.pid
    workers = [p for p in w.server.pids() if process_label(p, main) == "worker"]
    assert len(workers) == WORKERS, w.server.pids()
    sampler = RssSampler({"main": main} | {f"worker{n + 1}": p for n, p in enumerate(workers)})
    async with streams, users:
        began = time.monotonic()
        wall_tasks = [asyncio.create_task(wall.run(streams, w.after)) for wall in walls]
        await until(
            lambda: all(x.opened or x.failure for x in walls), 120, "every event stream open"
        )
        opened = time.monotonic() - began
        sampling = asyncio.create_task(sampler.run())
        client_cpu = time.process_time()
        user_tasks = [asyncio.create_task(readers.user(users, n)) for n in range(API_CLIENTS)]
        storm_log = w.server.log.with_name("storm.log")
        argv = [sys.executable, "-m", "tests.reliability.storm_replay", w.url, w.data_dir]
        storm = spawn([*argv, str(LOAD_S)], dict(os.environ), storm_log)
        started = time.monotonic()
        await until(lambda: storm.poll() is not None, 300 + LOAD_S, "the storm replayed")
        assert storm.returncode == 0, storm_log.read_text()[-3000:]
        replayed = time.monotonic() - started
        every, public = expected_events(w.url, w.after)
        assert every, "the storm made no events"

        def caught_up() -> bool:
            return all(
                x.failure or x.last() >= (every if x.token else public or [(0, "")])[-1][0]
                for x in walls
            )

        await until(caught_up, 60, "every wall map has the storm's last event")
        readers.stop.set()
        await asyncio.gather(*user_tasks)
        ended = time.monotonic()
        sampling.cancel()
        for task in wall_tasks:
            task.cancel()
        await asyncio.gather(sampling, *wall_tasks, return_exceptions=True)
    alive = [p for p in w.server.pids() if process_label(p, main) == "worker"]
    return Run(
        walls,
        readers,
        sampler,
        every,
        public,
        opened_s=opened,
        storm_s=replayed,
        load_s=ended - started,
        client_cpu_s=time.process_time() - client_cpu,
        workers_kept=sorted(alive) == sorted(workers),
    )


def test_wall_maps_and_users_during_a_storm(world: World) -> None:
    world.server.ready()
    run = asyncio.run(load(world))
    walls, readers, sampler, every, public = (
        run.walls,
        run.readers,
        run.sampler,
        run.every,
        run.public,
    )
    kinds = Counter(k for _, k in every)

    # the figures first, so that a failure below comes with them
    rate = readers.answered() / run.load_s
    print(
        f"\nload: {len(walls)} wall maps (open in {run.opened_s:.1f} s), {API_CLIENTS} API"
        f" users, {WORKERS} workers; storm replayed in {run.storm_s:.1f} s, load"
        f" {run.load_s:.1f} s; {readers.answered()} answers, {rate:.0f} requests/s;"
        f" events {len(every)} ({dict(kinds)}), {len(public)} public;"
        f" answers {dict(sorted(readers.statuses.items()))}; errors {dict(readers.errors)}"
    )
    print(readers.latencies())
    cpu = ", ".join(f"{k} {v:.0f} s" for k, v in sampler.cpu.items())
    print(
        f"CPU during the load: {cpu}, the clients {run.client_cpu_s:.0f} s; the machine"
        f" {sampler.busy:.0%} busy ({os.cpu_count()} cores); retried on a closed kept-alive"
        f" connection: {dict(readers.retried)}"
    )
    print(sampler.table())
    medians = {label: sampler.quarter_medians(label) for label in sampler.pids}
    for label, q in medians.items():
        bound = RSS_FACTOR * q[1] + RSS_SLACK_MIB
        print(f"{label}: quarter medians {', '.join(f'{m:.1f}' for m in q)} MiB (≤ {bound:.1f})")

    # no API request failed
    assert not readers.errors, (readers.errors, readers.failed)
    assert sum(readers.retried.values()) <= readers.answered() / 100, readers.retried
    bad = {key: n for key, n in readers.statuses.items() if key[1] not in ANSWERS}
    assert not bad, bad
    assert {kind for kind, _ in readers.statuses} == {k for k, _, _ in read_plan(world)}
    # every wall map: its one stream held, exactly the table's events it may see, in order
    failures = Counter(x.failure for x in walls if x.failure)
    assert not failures, failures
    ids = [i for i, _ in every]
    assert ids == list(range(ids[0], ids[0] + len(ids))), "the event table has gaps"
    for n, wall in enumerate(walls):
        ids = [i for i, _ in wall.events]
        assert all(a < b for a, b in pairwise(ids)), f"wall {n}: out of order"
        want = every if wall.token else public
        if wall.events != want:
            missing = sorted(set(want) - set(wall.events))[:5]
            extra = sorted(set(wall.events) - set(want))[:5]
            raise AssertionError(f"wall {n}: missing {missing}, unexpected {extra}")
    assert kinds["warning"] and kinds["observation"], kinds  # the storm really ran
    # memory: no worker restarted, and none grew over the second half of the run
    assert run.workers_kept, "a worker was replaced during the run"
    for label, (_, q2, _, q4) in medians.items():
        bound = RSS_FACTOR * q2 + RSS_SLACK_MIB
        assert q4 <= bound, f"{label}: RSS {q2:.1f} → {q4:.1f} MiB (bound {bound:.1f})"
