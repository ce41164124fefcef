"""Operations over the real server: /healthz content, /metrics, request ids, JSON logs and safe
5xx answers; and `riskmap serve --workers 2` with JSON logs and metrics summed over workers."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest
import uvicorn
from prometheus_client.parser import text_string_to_metric_families

from riskmap.api.app import create_app
from riskmap.api.observability import RequestIdFilter, json_formatter
from riskmap.geo.settings import Settings
from tests.dispatch.delivery_setup import wait_until

ROOT = Path(__file__).resolve().parents[2]
RISKMAP = str(Path(sys.executable).parent / "riskmap")


def scrape(client: httpx.Client) -> dict[tuple[str, tuple], float]:
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            labels = dict(s.labels)
            if family.name.startswith(("riskmap_http", "riskmap_sse", "riskmap_events")):
                # every process metric names the instance that answered (several behind a proxy)
                assert labels.pop("instance", "").startswith(f"{socket.gethostname()}:"), s
            out[(s.name, tuple(sorted(labels.items())))] = s.value
    return out


def requests_of(metrics: dict, route: str, status: str = "200") -> float:
    key = ("riskmap_http_requests_total", (("method", "GET"), ("route", route), ("status", status)))
    return metrics.get(key, 0.0)


def test_healthz_reports_database_schema_and_service_heartbeats(service) -> None:
    with psycopg.connect(service.db_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO service_heartbeat (name, last_seen) VALUES"
            " ('dispatcher', now() - interval '1 hour'), ('ingest', now()),"
            " ('test-probe', now() - interval '10 seconds')"
            " ON CONFLICT (name) DO UPDATE SET last_seen = EXCLUDED.last_seen"
        )
        try:
            with service.client() as c:
                r = c.get("/healthz")
        finally:
            conn.execute(
                "DELETE FROM service_heartbeat WHERE name IN ('dispatcher', 'ingest', 'test-probe')"
            )
        with service.client() as c:
            after = c.get("/healthz").json()
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok" and body["database"] == "reachable"
    assert body["migrations_pending"] == [] and body["events_listener"] == "listening"
    comp = body["components"]
    assert comp["dispatcher"]["status"] == "stale" and comp["dispatcher"]["age_seconds"] >= 3599
    assert comp["ingest"]["status"] == "ok" and comp["ingest"]["age_seconds"] < 60
    assert comp["test-probe"]["status"] == "ok" and comp["test-probe"]["stale_after_seconds"] == 300
    # a dev setup that never ran them is still healthy, and says so
    assert after["status"] == "ok"
    assert after["components"]["dispatcher"] == {
        "status": "never", "last_seen": None, "age_seconds": None, "stale_after_seconds": 120.0,
    }  # fmt: skip


def test_metrics_count_requests_by_route_and_read_the_database(service) -> None:
    with service.client("viewer") as c:
        before = scrape(c)
        for _ in range(3):
            assert c.get("/healthz").status_code == 200
        assert c.get("/api/no-such-thing-xyz").status_code == 404
        after = scrape(c)
    assert requests_of(after, "/healthz") - requests_of(before, "/healthz") == 3
    assert requests_of(after, "unmatched", "404") - requests_of(before, "unmatched", "404") == 1
    assert not [k for k in after if "no-such-thing" in str(k)]
    bucket = ("riskmap_http_request_duration_seconds_count",
              (("method", "GET"), ("route", "/healthz"), ("status", "200")))  # fmt: skip
    assert after[bucket] - before.get(bucket, 0) == 3
    with psycopg.connect(service.db_url) as conn:
        warnings = conn.execute(
            "SELECT status, colour, count(*) FROM warning GROUP BY 1, 2"
        ).fetchall()
        pending = conn.execute("SELECT count(*) FROM outbox WHERE status = 'pending'").fetchone()
    assert warnings, "the storm raised warnings"
    for status, colour, n in warnings:
        key = ("riskmap_warnings", (("colour", colour), ("status", status)))
        assert after[key] == n
    assert after[("riskmap_outbox_pending", ())] == pending[0]


def test_metrics_count_event_clients_and_events(service) -> None:
    kind = f"test_metrics_{uuid.uuid4().hex[:6]}"
    with service.client("viewer") as c, c.stream("GET", "/api/events", params={"kinds": kind}) as s:
        lines = s.iter_lines()
        assert next(lines).startswith(":")  # the stream is open
        with psycopg.connect(service.db_url, autocommit=True) as conn:
            conn.execute("SELECT riskmap_event(%s, '{}'::jsonb)", [kind])
        assert any(line == f"event: {kind}" for line, _ in zip(lines, range(10), strict=False))
        with service.client() as other:
            m = scrape(other)
        assert m[("riskmap_sse_clients", ())] >= 1
        assert m[("riskmap_sse_events_sent_total", (("kind", kind),))] == 1
        assert m[("riskmap_events_received_total", (("kind", kind),))] == 1


def test_request_ids_are_returned_and_made_when_missing(service) -> None:
    with service.client() as c:
        given = c.get("/healthz", headers={"X-Request-ID": "wall-map-42:abc"})
        made = c.get("/healthz")
        insane = c.get("/healthz", headers={"X-Request-ID": "x" * 500})
    assert given.headers["x-request-id"] == "wall-map-42:abc"
    assert len(made.headers["x-request-id"]) == 32
    assert insane.headers["x-request-id"] != "x" * 500


def test_access_log_lines_are_json_with_request_id_and_user(service) -> None:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(json_formatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("riskmap.access")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    rid = uuid.uuid4().hex
    try:
        with service.client("viewer") as c:
            assert c.get("/api/me", headers={"X-Request-ID": rid}).status_code == 200
        # the server thread writes the access line as the response completes
        wait_until(lambda: rid in buffer.getvalue(), 10, "the access log line")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    (line,) = [x for x in lines if x.get("request_id") == rid]
    assert line["method"] == "GET" and line["path"] == "/api/me" and line["route"] == "/api/me"
    assert line["status"] == 200 and line["user"] == "test-viewer" and line["duration_ms"] >= 0
    assert line["level"] == "INFO" and line["logger"] == "riskmap.access"


def test_a_database_error_is_a_503_without_sql(service) -> None:
    with psycopg.connect(service.db_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE service_heartbeat RENAME TO service_heartbeat_away")
        try:
            with service.client() as c:
                r = c.get("/healthz", headers={"X-Request-ID": "db-down-1"})
        finally:
            conn.execute("ALTER TABLE service_heartbeat_away RENAME TO service_heartbeat")
    assert r.status_code == 503
    assert r.json() == {
        "detail": "database unavailable or query failed",
        "request_id": "db-down-1",
    }
    for leak in ("SELECT", "service_heartbeat", "relation", "Traceback", "psycopg"):
        assert leak not in r.text
    assert r.headers["x-request-id"] == "db-down-1"


def _serve_app(app) -> tuple[str, uvicorn.Server, threading.Thread]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="critical", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.02)
    return f"http://127.0.0.1:{sock.getsockname()[1]}", server, thread


def test_an_unexpected_error_is_a_500_with_request_id_only(service, tmp_path) -> None:
    app = create_app(Settings(data_dir=tmp_path), database_url=service.db_url)

    @app.get("/boom", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("SELECT secret FROM app_user -- at /srv/riskmap/api.py line 1")

    base, server, thread = _serve_app(app)
    try:
        r = httpx.get(f"{base}/boom", headers={"X-Request-ID": "boom-1"})
        m = httpx.get(f"{base}/metrics").text
    finally:
        server.should_exit = True
        thread.join(10)
    assert r.status_code == 500
    assert r.json() == {"detail": "internal error", "request_id": "boom-1"}
    assert r.headers["x-request-id"] == "boom-1"
    assert "secret" not in r.text and "Traceback" not in r.text
    assert 'route="/boom",status="500"' in m


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_with_two_workers_logs_json_and_sums_metrics(service, tmp_path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKMAP_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env |= {"RISKMAP_DATABASE_URL": service.db_url, "RISKMAP_DATA_DIR": str(tmp_path)}
    log = (tmp_path / "serve.log").open("w+")
    proc = subprocess.Popen(
        [RISKMAP, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert time.monotonic() < deadline and proc.poll() is None, "serve did not start"
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        with httpx.Client(base_url=base) as c:  # new connections: both workers answer
            before = requests_of(scrape(c), "/healthz")
            for i in range(20):
                with httpx.Client(base_url=base) as one:
                    one.get("/healthz", headers={"X-Request-ID": f"multi-{i}"})
            sums = {requests_of(scrape(c), "/healthz") - before for _ in range(4)}
        assert sums == {20.0}, "every scrape adds up both workers"
        # three listeners now (this process's test server and two workers): a raw notification
        # is logged once, by whichever holds the adopter lock
        mark = uuid.uuid4().hex
        with psycopg.connect(service.db_url, autocommit=True) as conn:
            body = json.dumps({"kind": "field_report", "mark": mark})
            conn.execute("SELECT pg_notify('riskmap_events', %s)", [body])
            count = "SELECT count(*) FROM event_log WHERE payload->>'mark' = %s"
            deadline = time.monotonic() + 5
            while conn.execute(count, [mark]).fetchone()[0] == 0:
                assert time.monotonic() < deadline, "the raw notification was not logged"
                time.sleep(0.05)
            time.sleep(1.0)  # a second copy must not come: nothing to wait for but time
            assert conn.execute(count, [mark]).fetchone()[0] == 1
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert (tmp_path / "prometheus").is_dir()
    log.seek(0)
    records = [json.loads(line) for line in log if line.startswith("{")]
    access = [r for r in records if r.get("logger") == "riskmap.access"]
    assert {r["request_id"] for r in access} >= {f"multi-{i}" for i in range(20)}
    assert all(r["status"] == 200 for r in access if r["path"] == "/healthz")
    assert not [r for r in records if r.get("logger") == "uvicorn.access"]
    # uvicorn's start-up lines are JSON too, without its ANSI-coloured copy of the message
    started = [r for r in records if r.get("logger") == "uvicorn.error"]
    assert started and not [r for r in started if "color_message" in r]


@pytest.mark.parametrize("path", ["/healthz", "/metrics", "/api/events"])
def test_operation_routes_are_documented(service, path) -> None:
    with service.client() as c:
        spec = c.get("/openapi.json").json()
    op = spec["paths"][path]["get"]
    assert op["summary"] and op["tags"] == [("events" if "events" in path else "operations")]
    tags = {t["name"]: t for t in spec["tags"]}
    assert tags[op["tags"][0]]["description"]


def test_an_unreachable_database_is_a_quick_503(pg_cluster, tmp_path) -> None:
    from riskmap.geo.db.migrate import migrate

    name = f"t_ops_{uuid.uuid4().hex[:8]}"
    admin = pg_cluster.url_for("postgres")
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    url = pg_cluster.url_for(name)
    migrate(url)
    base, server, thread = _serve_app(create_app(Settings(data_dir=tmp_path), database_url=url))
    try:
        assert httpx.get(f"{base}/healthz").status_code == 200
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        started = time.monotonic()
        r = httpx.get(f"{base}/healthz", timeout=30)
        took = time.monotonic() - started
    finally:
        server.should_exit = True
        thread.join(10)
    assert r.status_code == 503 and took < 10
    assert r.json()["detail"] == "database unavailable or query failed"
    assert name not in r.text and "does not exist" not in r.text


def test_docs_page_needs_no_cdn(service) -> None:
    """/docs works on an offline network: every script and style it loads comes from us."""
    import re

    with service.client() as c:
        page = c.get("/docs")
        assert page.status_code == 200 and "SwaggerUIBundle" in page.text
        assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert assets and all(a.startswith("/") for a in assets), assets
        for asset in assets:
            assert c.get(asset).status_code == 200, asset
        assert c.get("/redoc").status_code == 404
        # the bundled Swagger UI must read the OpenAPI version FastAPI writes (3.1 needs UI 5)
        bundle = c.get(next(a for a in assets if a.endswith("swagger-ui-bundle.js"))).text
        ui = re.search(r'PACKAGE_VERSION:"(\d+)\.', bundle)
        assert c.get("/openapi.json").json()["openapi"].startswith("3.1")
        assert ui is not None and int(ui.group(1)) >= 5, ui


def test_api_workers_yield_the_cpu_to_the_database() -> None:
    """RISKMAP_API_NICE: a worker lowers its own priority to the setting, never raises it."""
    code = (
        "import os; from riskmap.api.app import _lower_priority as low;"
        " low(5); a = os.getpriority(os.PRIO_PROCESS, 0);"
        " low(2); b = os.getpriority(os.PRIO_PROCESS, 0); print(a, b)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    assert out == ["5", "5"]
    assert Settings().api_nice == 5 and Settings(api_nice=0).api_nice == 0
