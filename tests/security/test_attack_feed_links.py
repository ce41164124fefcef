"""A CAP feed's ATOM entries may not send the runner elsewhere (server-side request forgery): a
link to another host or port, a redirect there, or another scheme is refused unasked, recorded
on the entry with its reason, and never tried again; a host the source lists in ``link_hosts``
is followed. Two real HTTP servers on loopback: the feed's publisher and an "internal" service
that must never see a request."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from riskmap.geo.db.migrate import migrate
from riskmap.ingest.runner import Runner
from riskmap.ingest.sources import Source
from tests.conftest import SHARED_DATA
from tests.ingest.route_host import RouteHost as Host

CAP = (SHARED_DATA / "cap" / "spec_examples" / "cap12_A2_severe_thunderstorm.xml").read_bytes()


@pytest.fixture
def feeds_db(fresh_db: str) -> str:
    """A database of its own: the CAP message loaded here is not a duplicate elsewhere."""
    migrate(fresh_db)
    return fresh_db


def atom(entries: dict[str, str]) -> bytes:
    """An ATOM index whose entries (id → link) only link to their CAP messages."""
    body = "".join(
        f"""<entry><id>{eid}</id><title>t</title><updated>2026-07-14T02:00:00Z</updated>
        <link rel="alternate" type="application/cap+xml" href="{href}"/></entry>"""
        for eid, href in entries.items()
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><id>urn:test:links-feed</id><title>t</title>
<updated>2026-07-14T02:00:00Z</updated>{body}</feed>""".encode()


def entries(db_url: str, prefix: str) -> dict[str, tuple]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT entry_id, disposition, fetched_at IS NOT NULL, reason FROM cap_feed_entry"
            " WHERE entry_id LIKE %s",
            [prefix + "%"],
        ).fetchall()
    return {r[0]: r[1:] for r in rows}


def test_links_off_the_feeds_host_are_refused_unasked(feeds_db: str, tmp_path: Path) -> None:
    internal = Host({"/secret": CAP, "/admin": CAP})
    p = "urn:test:ssrf-1:"
    try:
        feed = Host({"/alerts/ok.xml": CAP, "/alerts/moved.xml": ("redirect", "")})
        feed.routes["/alerts/moved.xml"] = ("redirect", f"{internal.base}/admin")
        feed.routes["/feed.atom"] = atom(
            {
                f"{p}same": "/alerts/ok.xml",
                f"{p}other-port": f"{internal.base}/secret",
                f"{p}other-name": f"http://localhost:{feed.port}/alerts/ok.xml",
                f"{p}redirect": "/alerts/moved.xml",
                f"{p}scheme": "file:///etc/passwd",
            }
        )
        source = Source(name="links-feed", url=f"{feed.base}/feed.atom", kind="cap")
        runner = Runner(feeds_db, tmp_path, tmp_path / "inbox", [source], backoff_s=0.01)
        runner.run_once()
        got = entries(feeds_db, p)
        runner.run_once()  # refused entries are not tried again
    finally:
        feed.close()
        internal.close()
    assert internal.requests == []  # the internal service never saw a request
    assert feed.requests.count("/alerts/ok.xml") == 1  # once, by its own address
    assert feed.requests.count("/alerts/moved.xml") == 1  # asked; its redirect was not followed
    assert got[f"{p}same"][:2] == ("fetch", True)
    refused = {k.removeprefix(p): v for k, v in got.items() if k != f"{p}same"}
    assert {k: v[:2] for k, v in refused.items()} == dict.fromkeys(
        ["other-port", "other-name", "redirect", "scheme"], ("unusable", False)
    )
    assert f"127.0.0.1:{internal.port} is neither the feed's host" in refused["other-port"][2]
    assert f"localhost:{feed.port} is neither" in refused["other-name"][2]
    assert f"{internal.base}/admin" in refused["redirect"][2]
    assert "only http and https" in refused["scheme"][2]
    assert entries(feeds_db, p) == got  # the second run changed nothing


def test_a_listed_link_host_is_followed(feeds_db: str, tmp_path: Path) -> None:
    mirror = Host({"/a2.xml": CAP})
    p = "urn:test:ssrf-2:"
    try:
        feed = Host({})
        feed.routes["/feed.atom"] = atom({f"{p}mirror": f"{mirror.base}/a2.xml"})
        source = Source(
            name="links-feed-2",
            url=f"{feed.base}/feed.atom",
            kind="cap",
            link_hosts=[f"127.0.0.1:{mirror.port}"],
        )
        Runner(feeds_db, tmp_path, tmp_path / "inbox", [source], backoff_s=0.01).run_once()
    finally:
        feed.close()
        mirror.close()
    assert mirror.requests == ["/a2.xml"]
    assert entries(feeds_db, p)[f"{p}mirror"][:2] == ("fetch", True)
