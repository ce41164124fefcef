"""`riskmap ingest run`: the drop folder and HTTP polling against a real server on loopback."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest

from riskmap.ingest.runner import Runner
from riskmap.ingest.sources import Source, load_sources
from tests.dispatch.delivery_setup import wait_until
from tests.ingest.person_feed import PersonCsv
from tests.ingest.route_host import RouteHost

assert PersonCsv.kind
CSV = "id,name,phone\nrn1,孙八,13800000011\n"


class FeedHost:
    """A feed's remote host, played by a real HTTP server on 127.0.0.1 (a third party we cannot
    reach). It fails the first `fail_first` requests with 503 and honours If-None-Match."""

    def __init__(self, body: str, fail_first: int = 0) -> None:
        self.body = body.encode()
        self.fail_left = fail_first
        self.requests: list[str] = []
        host = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host.requests.append(self.path)
                etag = '"' + hashlib.sha1(host.body).hexdigest() + '"'
                if host.fail_left > 0:
                    host.fail_left -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("ETag", etag)
                self.send_header("Content-Type", "text/csv")
                self.end_headers()
                self.wfile.write(host.body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/feeds/people.csv"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def clean(db_url: str):
    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO dataset (id, title, synthetic, source) VALUES"
            " ('pipeline-test', 't', true, 'tests') ON CONFLICT DO NOTHING"
        )
    yield
    with psycopg.connect(db_url) as conn:
        conn.execute("DELETE FROM dataset WHERE id = 'pipeline-test'")
        conn.execute("DELETE FROM ingest_log WHERE kind = 'test-person-csv'")


def count(db_url: str, query: str) -> int:
    with psycopg.connect(db_url) as conn:
        return conn.execute(query).fetchone()[0]


def test_drop_folder_files_are_ingested_and_filed(db_url: str, clean, tmp_path: Path) -> None:
    runner = Runner(db_url, tmp_path, tmp_path / "inbox")
    (runner.inbox / "a.csv").write_text(CSV, encoding="utf-8")
    (runner.inbox / "b.csv.part").write_text(CSV, encoding="utf-8")  # still uploading
    (runner.inbox / "junk.bin").write_bytes(b"\x00\x01 not a feed")
    summaries = runner.run_once()
    assert sorted(s.status for s in summaries) == ["loaded", "rejected"]
    assert count(db_url, "SELECT count(*) FROM person WHERE id = 'rn1'") == 1
    assert (runner.inbox / "b.csv.part").exists()
    assert list((runner.inbox / "archive").rglob("a.csv"))
    assert list((runner.inbox / "rejected").rglob("junk.bin"))
    assert count(db_url, "SELECT count(*) FROM service_heartbeat WHERE name = 'ingest'") == 1


def test_polling_retries_with_backoff_then_skips_unchanged(
    db_url: str, clean, tmp_path: Path
) -> None:
    host = FeedHost(CSV, fail_first=2)
    try:
        source = Source(name="people", url=host.url, interval_s=1, attempts=4)
        runner = Runner(db_url, tmp_path, tmp_path / "inbox", [source], backoff_s=0.05)
        first = runner.run_once()
        assert [s.status for s in first] == ["loaded"]
        assert len(host.requests) == 3  # two 503s, then success
        second = runner.run_once()  # unchanged: 304, nothing ingested
        assert second == [] and len(host.requests) == 4
    finally:
        host.close()


def test_an_unreachable_source_does_not_stop_the_others(db_url: str, clean, tmp_path: Path) -> None:
    host = FeedHost(CSV)
    try:
        dead = Source(name="dead", url="http://127.0.0.1:9/nothing.csv", attempts=2)
        alive = Source(name="alive", url=host.url)
        runner = Runner(db_url, tmp_path, tmp_path / "inbox", [dead, alive], backoff_s=0.01)
        summaries = runner.run_once()
        by_source = {s.source: s.status for s in summaries}
        assert by_source[str(dead.url)] == "rejected"
        assert by_source[host.url] == "loaded"
        assert runner.state["dead"].failures == 1
    finally:
        host.close()


def test_sources_file_is_validated(tmp_path: Path) -> None:
    from riskmap.geo.errors import DataError

    good = tmp_path / "sources.yaml"
    good.write_text("sources:\n  - name: cma-cap\n    url: http://127.0.0.1:1/x.xml\n")
    assert load_sources(good)[0].interval_s == 300
    bad = tmp_path / "bad.yaml"
    bad.write_text("sources:\n  - name: Bad Name\n    url: not-a-url\n")
    with pytest.raises(DataError, match=r"bad\.yaml"):
        load_sources(bad)
    assert load_sources(tmp_path / "missing.yaml") == []


def test_ingest_run_watches_the_drop_folder(db_url: str, tmp_path: Path) -> None:
    """The real command, as a process: a file dropped while it runs is picked up."""
    inbox = tmp_path / "inbox"
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKMAP_")}
    env.update(RISKMAP_DATABASE_URL=db_url, RISKMAP_DATA_DIR=str(tmp_path))
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "riskmap"), "ingest", "run", "--inbox", str(inbox)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:

        def running() -> bool:  # its first pass is done: its heartbeat names this inbox
            with psycopg.connect(db_url) as conn:
                return bool(
                    conn.execute(
                        "SELECT count(*) FROM service_heartbeat"
                        " WHERE name = 'ingest' AND detail->>'inbox' = %s",
                        [str(inbox)],
                    ).fetchone()[0]
                )

        wait_until(running, 60, "the runner's first pass")
        # a file no feed recognises: the runner must still pick it up and file it as rejected
        (inbox / "dropped.dat").write_bytes(b"unrecognised")
        wait_until(lambda: list((inbox / "rejected").rglob("dropped.dat")), 30, "the filing")
        n = count(db_url, "SELECT count(*) FROM ingest_log WHERE source LIKE '%dropped.dat'")
        assert n == 1
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_atom_entries_are_followed_to_their_cap_messages(db_url: str, tmp_path: Path) -> None:
    from tests.conftest import SHARED_DATA

    cap = (SHARED_DATA / "cap" / "spec_examples" / "cap12_A2_severe_thunderstorm.xml").read_bytes()
    atom = b"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>urn:test:riskmap-runner-feed</id>
  <title>test alerts</title>
  <updated>2026-07-14T02:00:00Z</updated>
  <entry>
    <id>urn:test:entry-1</id>
    <title>Severe thunderstorm</title>
    <updated>2026-07-14T02:00:00Z</updated>
    <link rel="alternate" type="application/cap+xml" href="/alerts/a2.xml"/>
  </entry>
</feed>"""
    host = RouteHost({"/feed.atom": atom, "/alerts/a2.xml": cap})
    try:
        source = Source(name="cap-feed", url=f"{host.base}/feed.atom", kind="cap")
        runner = Runner(db_url, tmp_path, tmp_path / "inbox", [source], backoff_s=0.01)
        summaries = runner.run_once()
        assert "/alerts/a2.xml" in host.requests, [(s.source, s.status) for s in summaries]
        assert [s.status for s in summaries] == ["loaded", "loaded"]
        with psycopg.connect(db_url) as conn:
            row = conn.execute(
                "SELECT e.fetched_at IS NOT NULL, a.identifier FROM cap_feed_entry e"
                " JOIN cap_alert a ON a.id = e.alert_id WHERE e.entry_id = 'urn:test:entry-1'"
            ).fetchone()
        assert row == (True, "KSTO1055887203")
        again = runner.run_once()  # nothing new to follow
        assert host.requests.count("/alerts/a2.xml") == 1 and len(again) <= 1
    finally:
        host.close()
