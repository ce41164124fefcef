"""A wall map that reconnects with Last-Event-ID never misses an event (issue 17).

Event ids used to be taken when a transaction inserted its event, not when it committed: a long
transaction holding a small id that committed after a short one with a larger id reached live
clients, but a client that had seen the larger id and reconnected skipped it. Over the real
server and database: one long and one short transaction in that order, then many concurrent
transactions of random length while a client keeps hanging up and resuming.
"""

from __future__ import annotations

import json
import queue
import random
import threading
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from riskmap.geo.settings import Settings
from tests.api.conftest import start_server
from tests.api.test_events import Stream
from tests.reliability.conftest import new_database


@pytest.fixture(scope="module")
def server(pg_cluster, tmp_path_factory) -> Iterator[tuple[str, str]]:
    url = new_database(pg_cluster)
    settings = Settings(data_dir=tmp_path_factory.mktemp("events-data"))
    base, srv, thread = start_server(settings, url)
    yield base, url
    srv.should_exit = True
    thread.join(timeout=10)


def _event(conn: psycopg.Connection, kind: str, mark: str) -> None:
    conn.execute("SELECT riskmap_event(%s, %s::jsonb, true)", [kind, json.dumps({"mark": mark})])


def _marks(stream: Stream, n: int, timeout: float = 5.0) -> list[tuple[int, str]]:
    return [
        (int(e["id"]), e["data"]["payload"]["mark"])
        for e in (stream.next(timeout=timeout) for _ in range(n))
    ]


def test_a_transaction_committing_late_is_replayed(server) -> None:
    base, url = server
    kind = f"rel_{uuid.uuid4().hex[:8]}"
    live = Stream(base, params={"kinds": kind})
    with psycopg.connect(url) as slow, psycopg.connect(url, autocommit=True) as fast:
        _event(slow, kind, "long")  # inserted first, still open
        _event(fast, kind, "short")  # inserted and committed after it
        ((seen, mark),) = _marks(live, 1)
        assert mark == "short"
        live.close()  # the wall map hangs up …
        slow.commit()  # … and the long transaction commits meanwhile
    again = Stream(base, params={"kinds": kind}, headers={"Last-Event-ID": str(seen)})
    try:
        assert [m for _, m in _marks(again, 1)] == ["long"]
    finally:
        again.close()


def test_reconnecting_clients_miss_nothing_under_concurrent_commits(server) -> None:
    base, url = server
    kind = f"rel_{uuid.uuid4().hex[:8]}"
    writers, per_writer = 6, 12
    rng = random.Random(17)
    plans = [
        [rng.choice((0.0, 0.0, 0.02, 0.15)) for _ in range(per_writer)] for _ in range(writers)
    ]
    committed: list[str] = []
    lock = threading.Lock()

    def write(w: int) -> None:
        with psycopg.connect(url) as conn:
            for i, hold in enumerate(plans[w]):
                mark = f"{w}-{i}"
                _event(conn, kind, mark)
                time.sleep(hold)  # long transactions hold their event open before committing
                conn.commit()
                with lock:
                    committed.append(mark)

    got: dict[str, int] = {}
    last = 0
    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(got) < writers * per_writer:
        assert time.monotonic() < deadline, f"only {len(got)} events arrived"
        stream = Stream(base, params={"kinds": kind}, headers={"Last-Event-ID": str(last)})
        try:
            for _ in range(rng.randint(1, 8)):  # a few events, then hang up
                try:
                    ((pos, mark),) = _marks(stream, 1, timeout=2.0)
                except (AssertionError, queue.Empty):  # nothing more for now
                    break
                assert mark not in got, f"{mark} delivered twice"
                got[mark] = pos
                last = pos
        finally:
            stream.close()
    for t in threads:
        t.join()
    assert sorted(got) == sorted(committed)
    with psycopg.connect(url) as conn:  # each with the id it is stored under
        query = "SELECT payload->>'mark', pos FROM event_log WHERE kind = %s"
        stored = dict(conn.execute(query, [kind]).fetchall())
    assert got == stored
