"""Writes before map tiles (api/tiles/admission.py), on real ``riskmap serve`` processes over a
real PostGIS database.

Wall times on a busy two-core machine prove nothing, so the map load is made deterministic by
the database: a test session holds a lock the tile statements need, so every tile the server
lets through stays in flight, holding what it holds (a pooled connection and a thread for a rain
tile), for as long as the test wants. Then:

* with rain tiles stuck, a warning is still issued: at most ``RISKMAP_TILE_CONCURRENCY`` of
  them hold a pooled connection, the rest wait without one (and beyond ``RISKMAP_TILE_QUEUE``
  are refused with 503 and ``Retry-After``). Before, the stuck rain tiles held all ten pooled
  connections and the write queued behind the rest of them until the pool timed out;
* with a write stuck (its warning row locked), no new tile request is served by any worker of
  the instance until the write is done (writes first). Before, tiles were served throughout.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg
import pytest

from riskmap.api.users import add_user, new_token
from riskmap.geo.db.cluster import EmbeddedCluster
from riskmap.geo.warnings import lifecycle
from riskmap.geo.warnings.proposal import Proposal
from tests.conftest import clone_database, drop_database, make_scratch_dir
from tests.reliability.serving import Server, riskmap_env, wait_until

RASTER_CAP = 1  # RISKMAP_TILE_CONCURRENCY of the first server
QUEUE = 8  # RISKMAP_TILE_QUEUE of the first server
RAIN_TILES = 40  # stuck rain tile requests: more than the pool's 10 connections
POOL = 10  # the API pool's connections per worker (api/app.py)


class Setup:
    def __init__(self, db: str, capped: Server, gated: Server, tokens: dict[str, str]) -> None:
        self.db, self.capped, self.gated, self.tokens = db, capped, gated, tokens

    def candidate(self) -> int:
        """A new candidate warning over a village no open warning covers."""
        now = datetime.now(UTC)
        with psycopg.connect(self.db) as conn:
            (code,) = conn.execute(
                "SELECT code FROM village WHERE code NOT IN (SELECT unnest(village_codes)"
                " FROM warning WHERE status IN ('candidate', 'issued')) ORDER BY code LIMIT 1"
            ).fetchone()
            p = Proposal(
                rule_id=f"test.writes-first.{time.time_ns()}",
                rule_version="1",
                hazard="rainstorm",
                colour="yellow",
                at=now,
                village_codes=(code,),
                evidence={code: {"rain_3h": 88.5, "threshold": 80.0}},
                event_zh="暴雨",
                event_en="Rainstorm",
                headline_zh="测试暴雨黄色预警",
                headline_en="Test rainstorm warning (yellow)",
                description_zh="测试用。",
                description_en="For tests.",
                instruction_zh="注意防范。",
                instruction_en="Take care.",
                severity="Moderate",
                hold_hours=720,
            )
            (change,) = lifecycle.apply_proposals(conn, [p], now, actor="tests")
            conn.commit()
        return change.warning_id

    def waiting_on_lock(self, table_word: str) -> int:
        """Sessions of the database waiting for a lock in a statement naming ``table_word``."""
        with psycopg.connect(self.db, autocommit=True) as conn:
            return conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND query LIKE %s",
                [f"%{table_word}%"],
            ).fetchone()[0]


def _server(db: str, folder: Path, workers: int, **settings: str) -> Server:
    """One ``riskmap serve`` process started over ``db``, its data and log in ``folder``."""
    env = riskmap_env(db, folder, write_rate_limit="10000/minute", **settings)
    return Server(env, folder / "serve.log", workers).start()


@pytest.fixture(scope="module")
def setup(pg_cluster: EmbeddedCluster, storm_url: str) -> Iterator[Setup]:
    from riskmap.geo.warnings.cycle import reset_for_demo

    db = clone_database(pg_cluster, storm_url, prefix="t_rel_writes")
    with psycopg.connect(db) as conn:  # the template may hold other modules' warnings
        reset_for_demo(conn)
        conn.commit()
    with psycopg.connect(db, autocommit=True) as conn:
        tokens = {}
        for role in ("forecaster", "viewer"):
            add_user(conn, f"writes-{role}", role)
            tokens[role] = new_token(conn, f"writes-{role}", label="tests")
    folder = make_scratch_dir("writes-under-tiles-")
    capped = _server(
        db, folder / "capped", 1, tile_concurrency=str(RASTER_CAP), tile_queue=str(QUEUE)
    )
    gated = _server(db, folder / "gated", 2, tile_write_pause_ms="20000")
    try:
        yield Setup(db, capped.ready(60), gated.ready(60), tokens)
    finally:
        capped.kill()
        gated.kill()
        drop_database(pg_cluster, db)
        shutil.rmtree(folder, ignore_errors=True)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_warning_is_issued_while_rain_tiles_are_stuck(setup: Setup) -> None:
    server = setup.capped
    wid = setup.candidate()
    viewer = _bearer(setup.tokens["viewer"])
    with httpx.Client(base_url=server.base, headers=viewer, timeout=5) as c:
        assert c.get("/tiles/rain/9/420/213.png").status_code in (200, 404)  # the token cached
    locker = psycopg.connect(setup.db)
    pool = ThreadPoolExecutor(RAIN_TILES)
    try:
        locker.execute("LOCK TABLE grid_file IN ACCESS EXCLUSIVE MODE")  # every rain tile waits

        def rain(i: int) -> httpx.Response:
            url = f"{server.base}/tiles/rain/10/{840 + i % 8}/{426 + i // 8}.png"
            return httpx.get(url, headers=viewer, timeout=60)

        tiles: list[Future[httpx.Response]] = [pool.submit(rain, i) for i in range(RAIN_TILES)]
        wait_until(lambda: setup.waiting_on_lock("grid_file"), 10, "a rain tile stuck on the lock")
        time.sleep(0.5)  # every tile request reaches the server

        # the write finds a pooled connection: without the cap the stuck tiles held all ten
        # and it queued behind the rest of them (until the pool's 30 s timeout)
        with httpx.Client(base_url=server.base, timeout=15) as c:
            r = c.post(
                f"/api/warnings/{wid}/issue",
                json={"reason": "stuck map tiles must not hold a warning"},
                headers=_bearer(setup.tokens["forecaster"]),
            )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "issued"

        # only the capped number of rain tiles holds a pooled connection (stuck on the lock);
        # QUEUE more wait for the cap, without one, and the rest were refused at once
        assert setup.waiting_on_lock("grid_file") == RASTER_CAP
        refused = [t.result() for t in tiles if t.done()]
        assert len(refused) == RAIN_TILES - RASTER_CAP - QUEUE
        for answer in refused:
            assert answer.status_code == 503
            assert answer.headers["Retry-After"] == "1"
    finally:
        locker.rollback()
        locker.close()
        done = [t.result() for t in tiles] if "tiles" in locals() else []
        pool.shutdown()
    answered = [r.status_code for r in done if r.status_code != 503]
    assert len(answered) == RASTER_CAP + QUEUE
    assert set(answered) <= {200, 404}, answered  # 404: no rain grid for that period


def test_no_tile_is_served_while_a_write_runs(setup: Setup) -> None:
    server = setup.gated
    wid = setup.candidate()
    viewer = _bearer(setup.tokens["viewer"])
    paths = [f"/tiles/villages/11/{1640 + i % 4}/{852 + i // 4}.mvt" for i in range(16)]
    with httpx.Client(base_url=server.base, headers=viewer, timeout=10) as c:
        assert c.get(paths[0]).status_code in (200, 204)  # tokens and outlines ready

    locker = psycopg.connect(setup.db)
    pool = ThreadPoolExecutor(len(paths) + 1)
    landed: dict[str, float] = {}
    try:
        # the write will wait for this row lock: a write in flight for as long as the test wants
        locker.execute("SELECT id FROM warning WHERE id = %s FOR UPDATE", [wid])

        def issue() -> httpx.Response:
            r = httpx.post(
                f"{server.base}/api/warnings/{wid}/issue",
                json={"reason": "the map waits for this"},
                headers=_bearer(setup.tokens["forecaster"]),
                timeout=60,
            )
            landed["issue"] = time.monotonic()
            return r

        def tile(path: str) -> httpx.Response:
            # a connection of its own each: the tiles reach both workers of the instance
            r = httpx.get(f"{server.base}{path}", headers=viewer, timeout=60)
            landed[path] = time.monotonic()
            return r

        write = pool.submit(issue)
        wait_until(lambda: setup.waiting_on_lock("warning"), 10, "the write stuck on the row")
        tiles = [pool.submit(tile, p) for p in paths]
        time.sleep(1.0)  # served at once before: milliseconds each
        assert not any(t.done() for t in tiles), "a tile was served while a write ran"
        assert not write.done()
    finally:
        released = time.monotonic()
        locker.rollback()  # the write goes on, then the tiles
        locker.close()
    assert write.result().status_code == 200, write.result().text
    for t in tiles:
        assert t.result().status_code in (200, 204)
    pool.shutdown()
    assert min(landed[p] for p in paths) > released  # none answered before the write went on
