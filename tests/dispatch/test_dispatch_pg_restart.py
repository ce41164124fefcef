"""PostgreSQL itself stops and starts again under a running dispatcher (a cluster of this test's
own, so the session's other tests never see it go): the dispatcher reconnects by itself and
every message still reaches the receiver exactly once."""

from __future__ import annotations

import base64
import time

import psycopg
import pytest

from riskmap.api.receiver.client import journal
from tests.conftest import own_demo_cluster
from tests.dispatch import delivery_setup as ds
from tests.dispatch.receivers import reference_receiver


@pytest.fixture(scope="module")
def own_cluster():
    yield from own_demo_cluster("riskmap-restart-", 20260723, fast_unsafe=True)


def test_postgresql_restarting_under_the_dispatcher_loses_nothing(own_cluster, tmp_path):
    cluster, _ = own_cluster
    url = cluster.url
    (tmp_path / "rx").mkdir()
    secrets = {k: base64.b64decode(v) for k, v in ds.export_keys(url, tmp_path).items()}
    with reference_receiver(tmp_path / "rx", secrets, ack=False) as rx:
        ds.point_terminals(url, rx)
        codes = ds.villages(url)
        wids = [ds.publish(url, codes, rule=f"restart-{h}", hazard=h) for h in ds.HAZARDS[:4]]
        with psycopg.connect(url) as c:
            expected = {
                r[0]
                for r in c.execute(
                    "SELECT idempotency_key FROM outbox WHERE warning_id = ANY(%s)"
                    " AND channel = 'broadcast'",
                    (wids,),
                ).fetchall()
            }
        env = ds.dispatcher_env(
            url,
            tmp_path,
            public_url="http://127.0.0.1:9",
            dispatch_batch="10",
            dispatch_lanes="2",
        )
        with ds.dispatcher_process(env, tmp_path / "dispatch.log") as proc:
            ds.wait_until(lambda: len(journal(rx)) >= 50, 60, "the first deliveries")
            cluster.down()  # a real stop: every session ends, nothing answers
            stopped_with = len(journal(rx))
            time.sleep(3.0)
            cluster.up()
            ds.wait_until(
                lambda: {e["idempotency_key"] for e in journal(rx)} >= expected,
                120,
                "every message after the restart",
                every=0.5,
            )
            assert proc.poll() is None, "the dispatcher died with the database"
        played = journal(rx)
    assert stopped_with < len(expected)  # the stop came mid-delivery
    keys = [e["idempotency_key"] for e in played]
    assert set(keys) == expected and len(keys) == len(expected)  # each played once
    log = (tmp_path / "dispatch.log").read_text()
    assert "database unavailable" in log  # it saw the outage and rode it out
