"""SIGKILL the dispatcher again and again while it delivers to the 222 demo villages: every
message reaches the receiver, none is played twice, and the outbox ends with nothing pending.

`make soak` runs the longer variant (RISKMAP_SOAK_KILLS, default 100 kills there)."""

from __future__ import annotations

import base64
import os
import random
import signal
import time
from collections import Counter

import psycopg
import pytest

from riskmap.api.receiver.client import health, journal
from tests.conftest import clone_database, drop_database
from tests.dispatch import delivery_setup as ds
from tests.dispatch.receivers import reference_receiver

KILLS = int(os.environ.get("RISKMAP_SOAK_KILLS", "8"))


@pytest.fixture
def world(pg_cluster, storm_url, tmp_path):
    url = clone_database(pg_cluster, storm_url, "t_kill")
    (tmp_path / "rx").mkdir()
    yield url, tmp_path
    drop_database(pg_cluster, url)


def pending(url: str) -> int:
    with psycopg.connect(url) as c:
        return c.execute("SELECT count(*) FROM outbox WHERE status = 'pending'").fetchone()[0]


def test_sigkill_at_random_points_loses_nothing_and_plays_nothing_twice(world, mosquitto):
    url, tmp = world
    secrets = {k: base64.b64decode(v) for k, v in ds.export_keys(url, tmp).items()}
    rng = random.Random(20261206)
    with reference_receiver(tmp / "rx", secrets, ack=False, mqtt_url=mosquitto.url) as rx:
        counts = ds.point_terminals(url, rx, mosquitto.url)
        assert set(counts) == {"http-json", "ebm-xml", "mqtt"}
        codes = ds.villages(url)
        wids = [
            ds.publish(url, codes, rule=f"kill-{i}", hazard=h) for i, h in enumerate(ds.HAZARDS)
        ]
        with psycopg.connect(url) as c:
            expected = {
                r[0]
                for r in c.execute(
                    "SELECT idempotency_key FROM outbox WHERE warning_id = ANY(%s)"
                    " AND channel = 'broadcast'",
                    (wids,),
                ).fetchall()
            }
            c.execute("UPDATE outbox SET status = 'sent' WHERE channel = 'sms'")  # not this test's
            c.commit()
        assert len(expected) == 5 * 222 >= 1000
        env = ds.dispatcher_env(
            url,
            tmp,
            public_url="http://127.0.0.1:9",
            dispatch_batch="15",
            dispatch_lanes="2",
            dispatch_backoff_s="0.05",
            dispatch_backoff_max_s="0.5",
        )
        progress = []
        for _ in range(KILLS):
            before = pending(url)
            if before == 0:
                break
            with ds.dispatcher_process(env, tmp / "dispatch.log") as proc:
                # kill mid-delivery, whatever the machine's load: once this run has sent
                # something (a start-up may take seconds), at a random point after that
                ds.wait_until(lambda b=before: pending(url) < b, 120, "delivery", every=0.02)
                time.sleep(rng.uniform(0.0, 0.3))
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
            progress.append(pending(url))
        # then one that may finish
        with ds.dispatcher_process(env, tmp / "dispatch.log"):
            ds.wait_until(lambda: pending(url) == 0, 120, "an empty outbox", every=0.2)
        ds.wait_until(lambda: len(journal(rx)) >= len(expected), 30, "the receiver's journal")
        played = journal(rx)
        counts_rx = health(rx)
    per_key = Counter(e["idempotency_key"] for e in played)
    assert set(per_key) == expected  # every message reached the receiver
    assert max(per_key.values()) == 1  # and none was played twice
    assert all(e["outcome"] == "played" for e in played)
    with psycopg.connect(url) as c:
        status = c.execute(
            "SELECT status, count(*) FROM outbox WHERE warning_id = ANY(%s)"
            " AND channel = 'broadcast' GROUP BY 1",
            (wids,),
        ).fetchall()
        attempts = c.execute("SELECT count(*) FROM delivery_attempt").fetchone()[0]
    assert status == [("sent", len(expected))]
    assert pending(url) == 0
    # the kills did land mid-way: delivery spread over several runs
    assert len(set(progress)) > 3, progress
    print(
        f"\nkills {KILLS}: pending after each {progress}; receiver repeats dropped"
        f" {counts_rx.get('duplicates')}; attempts recorded {attempts}"
    )
