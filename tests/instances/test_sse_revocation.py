"""Open live-event streams of a token end as soon as it is revoked, on every instance: signed out
through A, its streams on B and through nginx end within 2 s and their reconnects get 401;
`riskmap users revoke` ends them alike; a changed role ends the stream so the reconnect gets
the new view; other callers' streams stay open and keep receiving events."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import threading
import time
import uuid

import httpx
import psycopg
from psycopg.types.json import Jsonb

from tests.instances.conftest import PASSWORD, RISKMAP, ROOT, Fleet, bearer, wait_until

ENDS_WITHIN_S = 2.0


class Stream:
    """``/api/events`` read in a thread once (no reconnect): when it ended, its comments."""

    def __init__(self, base: str, headers: dict[str, str] | None = None) -> None:
        self.opened = threading.Event()
        self.ended = threading.Event()
        self.ended_at = 0.0
        self.status: int | None = None
        self.comments: list[str] = []
        self.data: list[str] = []
        self._sock: socket.socket | None = None
        args = (f"{base}/api/events", headers or {})
        threading.Thread(target=self._read, args=args, daemon=True).start()
        assert self.opened.wait(10), f"stream on {base} did not open (status {self.status})"

    def _read(self, url: str, headers: dict[str, str]) -> None:
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(5, read=60)) as client,
                client.stream("GET", url, headers=headers) as r,
            ):
                self.status = r.status_code
                self._sock = r.extensions["network_stream"].get_extra_info("socket")
                for line in r.iter_lines():
                    if line.startswith(":"):
                        self.comments.append(line[1:].strip())
                        self.opened.set()
                    elif line.startswith("data:"):
                        self.data.append(line[5:])
        except httpx.HTTPError:
            pass
        finally:
            self.ended_at = time.monotonic()
            self.ended.set()
            self.opened.set()

    def close(self) -> None:
        if self._sock is not None and not self.ended.is_set():
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)


def streams_end(streams: list[Stream], since: float) -> float:
    """Seconds from ``since`` until the last of ``streams`` ended (fails after 2 s and more)."""
    for s in streams:
        assert s.ended.wait(since + ENDS_WITHIN_S + 3 - time.monotonic()), "stream still open"
    took = max(s.ended_at for s in streams) - since
    assert took < ENDS_WITHIN_S, f"streams ended {took:.2f} s after the change"
    return took


def refused(base: str, token: str) -> int:
    return httpx.get(f"{base}/api/events", headers=bearer(token), timeout=10).status_code


def still_live(stream: Stream, db_url: str) -> None:
    """An event committed now reaches ``stream``: it was not ended with the others."""
    marker = uuid.uuid4().hex
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("SELECT riskmap_event('message', %s)", [Jsonb({"marker": marker})])
    wait_until(
        lambda: any(marker in d for d in stream.data), ENDS_WITHIN_S, "the other stream's event"
    )
    assert not stream.ended.is_set()


def test_signing_out_on_a_ends_the_tokens_streams_on_b_and_through_nginx(fleet: Fleet) -> None:
    a, b = fleet.instances
    name, _ = fleet.user("viewer", password=True)
    signed = httpx.post(
        f"{a.base}/api/session", json={"name": name, "password": PASSWORD}, timeout=30
    )
    assert signed.status_code == 200, signed.text
    token = signed.json()["token"]
    mine = [Stream(b.base, bearer(token)), Stream(fleet.proxy, bearer(token))]
    other = Stream(b.base, bearer(fleet.tokens["viewer"]))
    public = Stream(b.base)
    try:
        t0 = time.monotonic()
        assert httpx.delete(f"{a.base}/api/session", headers=bearer(token)).status_code == 204
        streams_end(mine, t0)
        assert all(s.status == 200 and "token revoked: stream ended" in s.comments for s in mine)
        assert refused(b.base, token) == 401
        assert refused(fleet.proxy, token) == 401
        still_live(other, fleet.db_url)
        assert not public.ended.is_set()
    finally:
        for s in (*mine, other, public):
            s.close()


def test_revoking_with_the_cli_ends_the_users_streams_on_every_instance(fleet: Fleet) -> None:
    name, token = fleet.user("forecaster")
    streams = [Stream(i.base, bearer(token)) for i in fleet.instances]
    t0 = time.monotonic()
    cli = subprocess.run(
        [RISKMAP, "users", "revoke", name],
        env=fleet.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert cli.returncode == 0, cli.stderr
    done = time.monotonic()
    for s in streams:  # the CLI's own start-up is not the servers' delay
        assert s.ended.wait(ENDS_WITHIN_S + 3), "stream still open"
        assert s.ended_at - done < ENDS_WITHIN_S and s.ended_at > t0
    assert all(refused(i.base, token) == 401 for i in fleet.instances)


def test_a_changed_role_ends_the_stream_and_the_reconnect_gets_the_new_view(fleet: Fleet) -> None:
    name, token = fleet.user("forecaster")
    stream = Stream(fleet.instances[1].base, bearer(token))
    t0 = time.monotonic()
    with psycopg.connect(fleet.db_url, autocommit=True) as conn:
        conn.execute("UPDATE app_user SET role = 'viewer' WHERE name = %s", [name])
    streams_end([stream], t0)
    assert "token changed: stream ended" in stream.comments
    r = httpx.get(f"{fleet.instances[0].base}/api/me", headers=bearer(token), timeout=10)
    assert r.status_code == 200 and r.json()["role"] == "viewer", r.text
