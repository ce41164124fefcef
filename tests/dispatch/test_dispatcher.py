"""The dispatcher against real receivers: delivered once per row, shared safely between
dispatchers, retried on faults, dead when refused, never overtaking an older version."""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from riskmap.api.dispatch import service
from riskmap.api.receiver.client import journal
from riskmap.geo.settings import Settings
from riskmap.geo.warnings import lifecycle
from tests.conftest import clone_database, drop_database
from tests.dispatch import delivery_setup as ds
from tests.dispatch.receivers import reference_receiver, scripted_server


@pytest.fixture
def world(pg_cluster, storm_url, tmp_path) -> Iterator[tuple[str, Path]]:
    """A copy of the storm database of this test's own, and a data folder for its key."""
    url = clone_database(pg_cluster, storm_url, "t_dispatch")
    (tmp_path / "rx").mkdir()
    yield url, tmp_path
    drop_database(pg_cluster, url)


def settings(url: str, data_dir: Path, **kw) -> Settings:
    base = {
        "database_url": url,
        "data_dir": data_dir,
        "public_url": "http://127.0.0.1:9",  # nothing listens: acks are off in these tests
        "dispatch_backoff_s": 0.05,
        "dispatch_backoff_max_s": 0.2,
        "dispatch_timeout_s": 2.0,
        "dispatch_batch": 40,
        "dispatch_lanes": 3,
    }
    return Settings(**(base | kw))


def drain(s: Settings, url: str, *, copies: int = 1, stop_after: float = 60.0) -> list:
    """Run ``copies`` dispatchers at once until nothing is due (and no retry is pending)."""

    async def main():
        ds_ = [service.build(s, url) for _ in range(copies)]
        for i, d in enumerate(ds_):
            d.name = f"test-dispatcher-{i}"
        deadline = asyncio.get_running_loop().time() + stop_after
        try:
            while True:
                await asyncio.gather(*(d.run(asyncio.Event(), drain=True) for d in ds_))
                with psycopg.connect(url) as c:
                    left = c.execute(
                        "SELECT count(*) FROM outbox WHERE status = 'pending' AND channel <> 'sms'"
                    ).fetchone()[0]
                if not left or asyncio.get_running_loop().time() > deadline:
                    return [d.stats for d in ds_]
                await asyncio.sleep(0.05)
        finally:
            for d in ds_:
                await d.aclose()

    return asyncio.run(main())


def rows(url: str, sql: str, *args) -> list[tuple]:
    with psycopg.connect(url) as c:
        return c.execute(sql, args).fetchall()


def test_an_issued_warning_reaches_every_village_once(world) -> None:
    url, tmp = world
    secrets = {k: __import__("base64").b64decode(v) for k, v in ds.export_keys(url, tmp).items()}
    with reference_receiver(tmp / "rx", secrets, ack=False) as rx:
        counts = ds.point_terminals(url, rx)
        assert counts.get("ebm-xml", 0) > 20 and counts.get("http-json", 0) > 150
        codes = ds.villages(url)
        wid = ds.publish(url, codes, rule="test-flash-flood-all")
        expected = {
            r[0]: r[1]
            for r in rows(
                url,
                "SELECT idempotency_key, payload->>'village_code' FROM outbox"
                " WHERE warning_id = %s AND channel = 'broadcast'",
                wid,
            )
        }
        assert len(expected) == 222  # one terminal per village in the demo
        drain(settings(url, tmp), url)
        played = journal(rx)
    keys_played = Counter(e["idempotency_key"] for e in played)
    assert set(keys_played) == set(expected)
    assert max(keys_played.values()) == 1
    assert {e["village_code"] for e in played} == set(codes)
    status = rows(
        url,
        "SELECT status, count(*) FROM outbox WHERE warning_id = %s AND channel = 'broadcast'"
        " GROUP BY 1",
        wid,
    )
    assert status == [("sent", 222)]
    attempts = rows(
        url,
        "SELECT a.outcome, count(*), count(DISTINCT a.outbox_id), min(a.latency_ms) FROM"
        " delivery_attempt a JOIN outbox o ON o.id = a.outbox_id WHERE o.warning_id = %s"
        " AND o.channel = 'broadcast' GROUP BY 1",
        wid,
    )
    assert [(o, n, d) for o, n, d, _ in attempts] == [("delivered", 222, 222)]
    assert attempts[0][3] > 0
    # the wall map hears how far it got
    # (lanes emit their events concurrently: the highest id need not be the last committed
    # count, so the test asks whether the full count was announced)
    reached = rows(
        url,
        "SELECT max((payload #>> '{channels,broadcast,villages_reached}')::int)"
        " FROM event_log WHERE kind = 'coverage' AND (payload->>'warning_id')::bigint = %s",
        wid,
    )
    assert reached == [(222,)]


def test_two_dispatchers_never_deliver_the_same_row_twice(world) -> None:
    url, tmp = world
    secrets = {k: __import__("base64").b64decode(v) for k, v in ds.export_keys(url, tmp).items()}
    with reference_receiver(tmp / "rx", secrets, ack=False) as rx:
        ds.point_terminals(url, rx)
        codes = ds.villages(url)
        wids = [
            ds.publish(url, codes, rule=f"test-two-{i}", hazard=ds.HAZARDS[i]) for i in range(3)
        ]
        # a generous timeout: on a loaded machine a 2 s one can expire a delivery the receiver
        # then takes, and its retry is a second attempt of the same row (not a second claim)
        stats = drain(settings(url, tmp, dispatch_batch=10, dispatch_timeout_s=15.0), url, copies=2)
        played = journal(rx)
    per_row = rows(
        url,
        "SELECT a.outbox_id, count(*), min(a.dispatcher) FROM delivery_attempt a"
        " JOIN outbox o ON o.id = a.outbox_id WHERE o.warning_id = ANY(%s)"
        " AND o.channel = 'broadcast' GROUP BY 1",
        wids,
    )
    assert len(per_row) == 3 * 222
    assert {n for _, n, _ in per_row} == {1}  # claimed once each: SKIP LOCKED works
    by = Counter(d for _, _, d in per_row)
    assert set(by) == {"test-dispatcher-0", "test-dispatcher-1"}  # both did their share
    assert sum(s.delivered for s in stats) >= 3 * 222
    assert len(played) == 3 * 222 and len({e["idempotency_key"] for e in played}) == 3 * 222


def test_faults_are_retried_and_refusals_are_dead_with_an_operator_alert(world) -> None:
    url, tmp = world
    ds.export_keys(url, tmp)
    tries: Counter[str] = Counter()
    lock = threading.Lock()
    # by village: which fault the first attempt meets; two villages never accept
    faults = ["500", "close", "slow", "429"]

    def script(seen):
        village = seen.path.rsplit("/", 1)[-1]
        key = seen.headers.get("Idempotency-Key")
        with lock:
            tries[key] += 1
            n = tries[key]
        if village == always_404:
            return (404, {}, b'{"error": "no such terminal"}')
        if village == always_500:
            return (500, {}, b"{}")
        if n == 1:
            fault = faults[int(village) % 4]
            if fault == "500":
                return (503, {}, b"{}")
            if fault == "close":
                return "close"
            if fault == "slow":
                return 3.0  # past the 2 s timeout
            return (429, {"Retry-After": "1"}, b"{}")
        return (200, {}, b'{"ok": true}')

    codes = ds.villages(url)[:24]
    always_404, always_500 = codes[0], codes[1]
    with scripted_server(script) as srv:
        ds.point_terminals(url, srv.url, ebm_every=1000)
        wid = ds.publish(url, codes, rule="test-faults")
        drain(settings(url, tmp, dispatch_max_attempts=3, dispatch_timeout_s=2.0), url)
    got = dict(
        rows(
            url,
            "SELECT payload->>'village_code', status FROM outbox"
            " WHERE warning_id = %s AND channel = 'broadcast'",
            wid,
        )
    )
    assert got[always_404] == "dead" and got[always_500] == "dead"
    assert {v for c, v in got.items() if c not in {always_404, always_500}} == {"sent"}
    attempts = dict(
        rows(
            url,
            "SELECT o.payload->>'village_code', array_agg(a.outcome || ':' ||"
            " coalesce(a.status_code::text, '-') ORDER BY a.attempt) FROM delivery_attempt a"
            " JOIN outbox o ON o.id = a.outbox_id WHERE o.warning_id = %s"
            " AND o.channel = 'broadcast' GROUP BY 1",
            wid,
        )
    )
    key_of = dict(
        rows(
            url,
            "SELECT payload->>'village_code', idempotency_key FROM outbox"
            " WHERE warning_id = %s AND channel = 'broadcast'",
            wid,
        )
    )
    # a reused keep-alive connection the server had closed may add a "retry:-" (no answer)
    assert attempts[always_404][-1] == "dead:404" and tries[key_of[always_404]] == 1
    assert len(attempts[always_500]) == 3 and attempts[always_500][-1] == "dead:500"
    for code in codes[2:]:
        assert attempts[code][-1] == "delivered:200", code
        assert tries[key_of[code]] == 2, code  # the fault, then the success
    closed = next(c for c in codes[2:] if int(c) % 4 == 1)
    assert "retry:-" in attempts[closed]  # "close": no answer at all
    refused = next(c for c in codes[2:] if int(c) % 4 == 0)
    assert "retry:503" in attempts[refused]
    slow = next(c for c in codes[2:] if int(c) % 4 == 2)
    assert "retry:-" in attempts[slow]  # timed out
    # the 429's Retry-After (1 s) was honoured: the retry came at least a second later
    r429 = next(c for c in codes[2:] if int(c) % 4 == 3)
    gap = rows(
        url,
        "SELECT max(a.at) - min(a.at) FROM delivery_attempt a JOIN outbox o ON o.id = a.outbox_id"
        " WHERE o.warning_id = %s AND o.payload->>'village_code' = %s",
        wid,
        r429,
    )[0][0]
    assert gap >= timedelta(seconds=1)
    alerts = rows(
        url,
        "SELECT payload FROM event_log WHERE kind = 'operator_alert'"
        " AND (payload->>'warning_id')::bigint = %s",
        wid,
    )
    assert {a[0]["village_code"] for a in alerts} == {always_404, always_500}
    assert all(a[0]["alert"] == "delivery_dead" for a in alerts)


def test_a_cancel_never_overtakes_the_alert_it_cancels(world) -> None:
    url, tmp = world
    secrets = {k: __import__("base64").b64decode(v) for k, v in ds.export_keys(url, tmp).items()}
    codes = ds.villages(url)[:5]
    with reference_receiver(tmp / "rx", secrets, ack=False) as rx:
        ds.point_terminals(url, rx, ebm_every=1000)
        # 1. not yet sent when the cancel comes: the alert is superseded, only the cancel plays
        w1 = ds.publish(url, codes, rule="test-cancel-early")
        with psycopg.connect(url) as c:
            lifecycle.cancel(c, w1, "张预报", "false alarm", at=datetime.now(UTC))
            c.commit()
        # 2. in flight (another dispatcher holds the rows) when the cancel comes
        w2 = ds.publish(url, codes, rule="test-cancel-in-flight")
        holder = psycopg.connect(url)
        held = holder.execute(
            "SELECT id FROM outbox WHERE warning_id = %s AND channel = 'broadcast' FOR UPDATE",
            (w2,),
        ).fetchall()
        assert len(held) == 5
        with psycopg.connect(url) as c:
            lifecycle.cancel(c, w2, "张预报", "false alarm", at=datetime.now(UTC))
            c.commit()
        s = settings(url, tmp)
        drain(s, url, stop_after=1.0)
        mid = [e for e in journal(rx) if e["warning_id"] == w2]
        assert mid == []  # the cancel waited for the alert in flight
        holder.execute(
            "UPDATE outbox SET status = 'sent', sent_at = now() WHERE id = ANY(%s)",
            ([h[0] for h in held],),
        )
        holder.commit()  # the other dispatcher delivered the alert
        holder.close()
        drain(s, url)
        played = journal(rx)
    early = [(e["version"], e["msg_type"]) for e in played if e["warning_id"] == w1]
    assert sorted(early) == [(2, "Cancel")] * 5
    late = [(e["version"], e["msg_type"]) for e in played if e["warning_id"] == w2]
    assert sorted(late) == [(2, "Cancel")] * 5
    sup = rows(
        url,
        "SELECT version, status, count(*) FROM outbox WHERE warning_id = %s"
        " AND channel = 'broadcast' GROUP BY 1, 2 ORDER BY 1",
        w1,
    )
    assert sup == [(1, "superseded", 5), (2, "sent", 5)]


def test_an_expired_message_is_not_played(world) -> None:
    url, tmp = world
    secrets = {k: __import__("base64").b64decode(v) for k, v in ds.export_keys(url, tmp).items()}
    codes = ds.villages(url)[:3]
    with reference_receiver(tmp / "rx", secrets, ack=False) as rx:
        ds.point_terminals(url, rx, ebm_every=1000)
        old = datetime.now(UTC) - timedelta(hours=4)  # held 3 h: over an hour ago
        wid = ds.publish(url, codes, rule="test-expired", at=old)
        drain(settings(url, tmp), url)
        played = [e for e in journal(rx) if e["warning_id"] == wid]
    assert played == []
    got = rows(
        url,
        "SELECT status, count(*) FROM outbox WHERE warning_id = %s AND channel = 'broadcast'"
        " GROUP BY 1",
        wid,
    )
    assert got == [("expired", 3)]


def test_the_dispatcher_rides_out_a_database_outage(world) -> None:
    """The database refuses connections for 2 s and drops every session mid-delivery."""
    url, tmp = world
    secrets = {k: __import__("base64").b64decode(v) for k, v in ds.export_keys(url, tmp).items()}
    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    admin = url.replace(f"/{name}", "/postgres") if f"/{name}" in url else None
    with reference_receiver(tmp / "rx", secrets, ack=False) as rx:
        ds.point_terminals(url, rx)
        codes = ds.villages(url)
        wids = [
            ds.publish(url, codes, rule=f"test-outage-{i}", hazard=ds.HAZARDS[i]) for i in range(3)
        ]
        s = settings(url, tmp, dispatch_batch=5, dispatch_lanes=2)

        async def main():
            d = service.build(s, url)
            stop = asyncio.Event()
            task = asyncio.create_task(d.run(stop))
            # mid-delivery: once the receiver has played the first messages
            first = asyncio.to_thread(ds.wait_until, lambda: journal(rx), 60, "a delivery", 0.02)
            await first
            await asyncio.to_thread(_outage, admin or _admin_url(url), name)
            for _ in range(600):
                await asyncio.sleep(0.1)
                with psycopg.connect(url) as c:
                    left = c.execute(
                        "SELECT count(*) FROM outbox WHERE status = 'pending'"
                        " AND channel = 'broadcast'"
                    ).fetchone()[0]
                if not left:
                    break
            stop.set()
            await task
            await d.aclose()
            return d.stats

        asyncio.run(main())
        played = journal(rx)
    expected = rows(
        url,
        "SELECT idempotency_key FROM outbox WHERE warning_id = ANY(%s) AND channel = 'broadcast'",
        wids,
    )
    assert {e["idempotency_key"] for e in played} == {r[0] for r in expected}
    assert len(played) == len(expected) == 3 * 222


def _admin_url(url: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(url)
    info["dbname"] = "postgres"
    return psycopg.conninfo.make_conninfo(**info)


def _outage(admin: str, name: str) -> None:
    import time

    with psycopg.connect(_admin_url(admin), autocommit=True) as c:
        c.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        c.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
        )
        time.sleep(2.0)  # the outage's length: time passing is the point
        c.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def test_dead_messages_can_be_queued_again_and_keys_exported_per_township(world) -> None:
    url, tmp = world
    codes = ds.villages(url)[:3]
    ds.export_keys(url, tmp)
    wid = ds.publish(url, codes, rule="test-retry-dead")
    with psycopg.connect(url) as c:
        c.execute(
            "UPDATE outbox SET status = 'dead', attempts = 8 WHERE warning_id = %s"
            " AND channel = 'broadcast'",
            (wid,),
        )
        c.commit()
    env = ds.dispatcher_env(url, tmp)
    done = subprocess.run(
        [*ds.RISKMAP, "dispatch", "retry-dead", "--warning", str(wid)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "3 dead messages queued again" in done.stdout
    got = rows(
        url,
        "SELECT status, attempts, count(*) FROM outbox WHERE warning_id = %s"
        " AND channel = 'broadcast' GROUP BY 1, 2",
        wid,
    )
    assert got == [("pending", 0, 3)]
    # a township's controller gets its own terminals' keys only
    township = rows(url, "SELECT parent_code FROM admin_unit WHERE code = %s", codes[0])[0][0]
    mine = {
        r[0]
        for r in rows(
            url,
            "SELECT t.id FROM broadcast_terminal t JOIN admin_unit a ON a.code = t.village_code"
            " WHERE a.parent_code = %s",
            township,
        )
    }
    out = tmp / "township-keys.json"
    done = subprocess.run(
        [*ds.RISKMAP, "terminals", "keys", "--export", str(out), "--area", township],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    exported = json.loads(out.read_text())
    assert {k.rsplit(":v", 1)[0] for k in exported} == mine and len(mine) >= 5
    assert oct(out.stat().st_mode & 0o777) == "0o600"
