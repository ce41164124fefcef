"""Instances starting together from one checkout, each with its own /metrics; one killed with
SIGKILL under load behind nginx: no failed GET, no missed live event, and it rejoins."""

from __future__ import annotations

import fcntl
import threading
import time
from collections import Counter

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.instances.conftest import Fleet, bearer, wait_until
from tests.instances.sse import Stream
from tests.instances.test_instances import new_warning, tile_of


def healthz_count(instance) -> dict[str, float]:
    """``/healthz`` requests counted by the instance, by its ``instance`` label."""
    text = httpx.get(f"{instance.base}/metrics", timeout=10).text
    out: Counter[str] = Counter()
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "riskmap_http_requests_total" and s.labels["route"] == "/healthz":
                out[s.labels["instance"]] += s.value
    return dict(out)


def live_dirs(fleet: Fleet) -> set[str]:
    return {p.name for p in (fleet.data_dir / "prometheus").iterdir() if p.is_dir()}


def test_instances_started_together_keep_their_own_metrics(fleet: Fleet) -> None:
    root = fleet.data_dir / "prometheus"
    before = live_dirs(fleet)
    assert len(before) == len(fleet.instances), "one directory per running instance"
    # what a killed instance leaves: a directory nobody holds, and an old-style loose file
    (root / "dead-run").mkdir()
    (root / "dead-run" / ".alive").write_text("")
    (root / "dead-run" / "counter_123.db").write_bytes(b"\0" * 64)
    (root / "counter_9.db").write_bytes(b"\0" * 64)
    news = [fleet.new_instance() for _ in range(3)]
    for instance in news:  # all at once, from the same checkout and data directory
        instance.start()
    try:
        for instance in news:
            instance.ready()
        assert not (root / "dead-run").exists() and not (root / "counter_9.db").exists()
        assert before <= live_dirs(fleet), "a live instance's metrics were never touched"
        assert len(live_dirs(fleet)) == len(before) + 3
        for k, instance in enumerate(news):
            start = healthz_count(instance).get(instance.name, 0)
            for _ in range(3 + 2 * k):
                with httpx.Client(base_url=instance.base) as fresh:  # new connections: any worker
                    assert fresh.get("/healthz").status_code == 200
            counted = healthz_count(instance)
            assert set(counted) == {instance.name}, "one instance, its own label"
            assert counted[instance.name] - start == 3 + 2 * k
        # the fleet's instances still count their own requests only
        for instance in fleet.instances:
            assert set(healthz_count(instance)) == {instance.name}
        news[0].kill()  # its directory stays until the next start cleans it
        killed = live_dirs(fleet) - before
        news[1].stop()  # a clean stop removes its own
        assert len(live_dirs(fleet)) == len(before) + 2
        again = fleet.new_instance().start().ready()
        news.append(again)
        assert len(live_dirs(fleet)) == len(before) + 2, "the killed one's was cleaned"
        assert killed & live_dirs(fleet) != killed
    finally:
        for instance in news:
            instance.stop()
    for path in root.iterdir():  # nothing left locked but the fleet's own
        if path.is_dir():
            with (path / ".alive").open("a") as probe:
                try:
                    fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    raise AssertionError(f"{path.name} is left without its instance")
                except BlockingIOError:
                    pass


def test_an_instance_killed_under_load_is_not_noticed_and_rejoins(fleet: Fleet) -> None:
    victim, survivor = fleet.instances
    viewer = bearer(fleet.tokens["viewer"])
    _, writer = fleet.user("forecaster")  # its own write allowance: earlier tests used theirs
    tile = tile_of(fleet.db_url, fleet.villages[-1])
    paths = ["/healthz", "/api/warnings", tile, "/api/me"]
    failures: list[str] = []
    answered = Counter()
    stop = threading.Event()

    def load(path: str) -> None:
        with httpx.Client(base_url=fleet.proxy, headers=viewer, timeout=20) as client:
            while not stop.is_set():
                try:
                    r = client.get(path)
                    answered[r.status_code] += 1
                    if r.status_code >= 400:
                        failures.append(f"{path}: {r.status_code} {r.text[:200]}")
                except httpx.HTTPError as exc:
                    failures.append(f"{path}: {exc!r}")

    def complete(stream: Stream) -> bool:
        got = {p.get("warning_id") for p in stream.payloads("warning")}
        return set(issued) <= got

    clients = [Stream(fleet.proxy, viewer, {"kinds": "warning"}, reconnect=True) for _ in range(4)]
    for stream in clients:
        stream.wait_open()
    threads = [threading.Thread(target=load, args=(p,)) for p in paths for _ in range(2)]
    for t in threads:
        t.start()
    issued = []
    try:
        time.sleep(1.0)
        issued.append(new_warning(fleet.proxy, writer, fleet.villages[-2]))
        # every client holds an event id to resume from, as a wall map does after its first
        wait_until(lambda: all(complete(s) for s in clients), 5, "the first event everywhere")
        victim.kill()
        for code in fleet.villages[-5:-2]:  # written while the victim is dead
            issued.append(new_warning(fleet.proxy, writer, code))
            time.sleep(0.3)
        time.sleep(1.0)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert not failures, (failures[:5], survivor.log.read_text()[-4000:])
    assert sum(answered.values()) > 50, answered

    try:
        report = [
            (s.connects, s.statuses, [p.get("warning_id") for p in s.payloads("warning")])
            for s in clients
        ]
        wait_until(lambda: all(complete(s) for s in clients), 15, f"every event: {issued} {report}")
        for stream in clients:
            ids = stream.ids()
            assert ids == sorted(set(ids)), "in order, none twice"
        assert any(s.connects > 1 for s in clients), "some were on the killed instance"
    finally:
        for stream in clients:
            stream.close()
    # restarted, it rejoins: nginx sends it requests again
    victim.start().ready()
    start = healthz_count(victim).get(victim.name, 0)

    def rejoined() -> bool:
        with httpx.Client(base_url=fleet.proxy) as client:
            for _ in range(6):
                assert client.get("/healthz").status_code == 200
        return healthz_count(victim).get(victim.name, 0) > start

    wait_until(rejoined, 10, "the restarted instance answers through nginx", step=0.5)
    assert set(healthz_count(survivor)) == {survivor.name}
