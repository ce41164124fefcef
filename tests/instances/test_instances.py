"""Two instances behind nginx answer as one: a write through one is seen through the other
within 2 s (warning lists, tiles, live events and their replay), a revoked token is refused by
both at once, and rate limits are one allowance for both."""

from __future__ import annotations

import itertools
import math
import time

import httpx
import psycopg
import pytest

from tests.instances.conftest import LOGIN_LIMIT, PASSWORD, WRITE_LIMIT, Fleet, bearer, wait_until
from tests.instances.sse import Stream

VISIBLE_WITHIN_S = 2.0
_villages = itertools.count()
_addresses = (f"198.51.100.{i}" for i in itertools.count(1))


def new_warning(base: str, token: str, village: str, *, issue: bool = True) -> int:
    body = {
        "reason": "测试 instances",
        "hazard": "flash_flood",
        "colour": "orange",
        "village_codes": [village],
        "event_zh": "山洪",
        "headline_zh": "多实例测试",
        "description_zh": "多实例测试",
        "instruction_zh": "多实例测试",
        "issue": issue,
    }
    r = httpx.post(f"{base}/api/warnings", json=body, headers=bearer(token), timeout=30)
    assert r.status_code == 201, r.text
    return r.json()["warning_id"]


def listed(base: str, warning_id: int) -> bool:
    r = httpx.get(f"{base}/api/warnings", params={"limit": 500}, timeout=10)
    assert r.status_code == 200, r.text
    return warning_id in {f["id"] for f in r.json()["features"]}


def tile_of(db_url: str, village: str, z: int = 12) -> str:
    """The path of the warnings tile holding the village's centre (XYZ, Web Mercator)."""
    with psycopg.connect(db_url) as conn:
        lon, lat = conn.execute(
            "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM village"
            " WHERE code = %s) v",
            [village],
        ).fetchone()
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return f"/tiles/warnings/{z}/{x}/{y}.mvt"


def village(fleet: Fleet) -> str:
    """A village no other test has used (tiles and lists change only where we write)."""
    return fleet.villages[next(_villages)]


def test_a_warning_issued_through_a_is_listed_by_b_and_the_proxy(fleet: Fleet) -> None:
    a, b = fleet.instances
    _, forecaster = fleet.user("forecaster")  # its own write allowance (8 a minute here)
    assert listed(b.base, 0) is False  # B has built (and cached) the page before the write
    issued = new_warning(a.base, forecaster, village(fleet))
    t0 = time.monotonic()
    wait_until(lambda: listed(b.base, issued), VISIBLE_WITHIN_S, "B lists A's warning")
    took = time.monotonic() - t0
    # a review action through B (approve A's candidate) is public through A and the proxy
    candidate = new_warning(a.base, forecaster, village(fleet), issue=False)
    assert not listed(a.base, candidate)
    r = httpx.post(
        f"{b.base}/api/warnings/{candidate}/issue",
        json={"reason": "approved on B"},
        headers=bearer(forecaster),
        timeout=30,
    )
    assert r.status_code == 200, r.text
    wait_until(lambda: listed(a.base, candidate), VISIBLE_WITHIN_S, "A lists B's approval")
    assert all(listed(fleet.proxy, candidate) for _ in range(4))  # both upstreams in turn
    print(f"A's write listed by B after {took * 1000:.0f} ms")


def test_tile_caches_are_emptied_in_every_instance(fleet: Fleet) -> None:
    a, b = fleet.instances
    code = village(fleet)
    path = tile_of(fleet.db_url, code)
    with httpx.Client(base_url=b.base, timeout=10) as on_b:
        before = on_b.get(path).content
        assert on_b.get(path).content == before  # now from B's cache
        new_warning(a.base, fleet.user("forecaster")[1], code)
        wait_until(lambda: on_b.get(path).content != before, VISIBLE_WITHIN_S, "B's tile shows it")
    after = httpx.get(f"{b.base}{path}", timeout=10).content
    through_proxy = {httpx.get(f"{fleet.proxy}{path}", timeout=10).content for _ in range(4)}
    assert after and through_proxy == {after}, "both instances draw the new warning"


def test_live_events_of_a_write_on_a_reach_clients_of_b_and_the_proxy(fleet: Fleet) -> None:
    a, b = fleet.instances
    viewer = bearer(fleet.tokens["viewer"])
    on_b = Stream(b.base, viewer, {"kinds": "warning"}).wait_open()
    via_proxy = Stream(fleet.proxy, viewer, {"kinds": "warning"}).wait_open()
    try:
        issued = new_warning(a.base, fleet.user("forecaster")[1], village(fleet))

        def seen(stream: Stream) -> bool:
            return any(p.get("warning_id") == issued for p in stream.payloads("warning"))

        wait_until(lambda: seen(on_b), VISIBLE_WITHIN_S, "B's client gets A's event")
        wait_until(lambda: seen(via_proxy), VISIBLE_WITHIN_S, "the proxied client gets it")
        event_id = next(
            int(e["id"]) for e in on_b.events if e["data"]["payload"].get("warning_id") == issued
        )
    finally:
        on_b.close()
        via_proxy.close()
    # Last-Event-ID replay gives the same events on either instance
    replays = []
    for base in (a.base, b.base):
        replay = Stream(base, viewer, {"kinds": "warning"}, last_id=event_id - 1)
        wait_until(lambda r=replay: event_id in r.ids(), VISIBLE_WITHIN_S, f"replay on {base}")
        replay.close()
        replays.append([i for i in replay.ids() if i <= event_id])
    assert replays[0] == replays[1] and replays[0][-1] == event_id


def test_a_revoked_token_is_refused_by_every_instance_at_once(fleet: Fleet) -> None:
    a, b = fleet.instances
    name, _ = fleet.user("viewer", password=True)
    body = {"name": name, "password": PASSWORD}
    signed = httpx.post(f"{a.base}/api/session", json=body, timeout=30)
    assert signed.status_code == 200, signed.text
    token = signed.json()["token"]
    tile = tile_of(fleet.db_url, fleet.villages[0]).replace("/warnings/", "/villages/")
    for instance in (a, b, a, b):  # both instances hold the check in their caches now
        assert httpx.get(f"{instance.base}/api/me", headers=bearer(token)).status_code == 200
        r = httpx.get(f"{instance.base}{tile}", params={"token": token})
        assert r.status_code in (200, 204), r.text
    out = httpx.delete(f"{a.base}/api/session", headers=bearer(token), timeout=30)
    assert out.status_code == 204
    # no wait: the first request after the sign-out returned is refused everywhere
    assert httpx.get(f"{b.base}/api/me", headers=bearer(token)).status_code == 401
    assert httpx.get(f"{b.base}{tile}", params={"token": token}).status_code == 401
    stream = httpx.get(f"{b.base}/api/events", headers=bearer(token), timeout=10)
    assert stream.status_code == 401
    for base in (a.base, fleet.proxy, fleet.proxy):
        assert httpx.get(f"{base}/api/me", headers=bearer(token)).status_code == 401


def test_failed_sign_ins_are_counted_once_for_all_instances(fleet: Fleet) -> None:
    a, b = fleet.instances
    name, _ = fleet.user("viewer", password=True)
    wrong = {"name": name, "password": "not-the-password"}
    for i in range(LOGIN_LIMIT):  # alternately on A and B, each from another address
        base = (a, b)[i % 2].base
        r = httpx.post(f"{base}/api/session", json=wrong, headers=_address(), timeout=30)
        assert r.status_code == 401, (i, r.text)
    right = {"name": name, "password": PASSWORD}
    for base in (a.base, b.base, fleet.proxy):
        r = httpx.post(f"{base}/api/session", json=right, headers=_address(), timeout=30)
        assert r.status_code == 429, r.text
        assert 0 < int(r.headers["retry-after"]) <= 15 * 60
    # one address spraying names through the proxy: the proxy's X-Forwarded-For is the key
    address = _address()
    for i in range(LOGIN_LIMIT):
        spray = {"name": f"nobody-{i}", "password": "summer-2026!"}
        r = httpx.post(f"{fleet.proxy}/api/session", json=spray, headers=address, timeout=30)
        assert r.status_code == 401
    other, _ = fleet.user("viewer", password=True)
    right = {"name": other, "password": PASSWORD}
    assert httpx.post(f"{b.base}/api/session", json=right, headers=address).status_code == 429
    assert httpx.post(f"{b.base}/api/session", json=right, headers=_address()).status_code == 200


def test_write_actions_are_counted_once_for_all_instances(fleet: Fleet) -> None:
    a, b = fleet.instances
    _, token = fleet.user("forecaster")
    for i in range(WRITE_LIMIT):
        new_warning((a, b)[i % 2].base, token, village(fleet), issue=False)
    for base in (a.base, b.base):
        r = httpx.post(
            f"{base}/api/warnings",
            json={"reason": "one too many"},
            headers=bearer(token),
            timeout=30,
        )
        assert r.status_code == 429, r.text
        assert 0 < int(r.headers["retry-after"]) <= 60


def _address() -> dict[str, str]:
    return {"X-Forwarded-For": next(_addresses)}


@pytest.fixture(autouse=True)
def _both_up(fleet: Fleet) -> None:
    """Every test starts with both instances answering (the kill test restarts its victim)."""
    for instance in fleet.instances:
        instance.ready()
