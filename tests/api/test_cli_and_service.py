"""The `riskmap` command and the HTTP service, run for real: subprocesses, a loopback server."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_scratch_dir

ROOT = Path(__file__).resolve().parents[2]
RISKMAP = str(Path(sys.executable).parent / "riskmap")


def run(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [RISKMAP, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKMAP_")}
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_db_commands_manage_an_embedded_cluster() -> None:
    data = make_scratch_dir("riskmap-cli-")
    env = clean_env(RISKMAP_DATA_DIR=str(data))
    try:
        st = run("db", "status", env=env)
        assert st.returncode == 3 and "initialised: no" in st.stdout
        up = run("db", "up", env=env)
        assert up.returncode == 0, up.stderr
        assert "applied" in up.stderr and "database up" in up.stdout
        again = run("db", "up", env=env)
        assert again.returncode == 0 and "applied" not in again.stderr  # harmless, nothing to do
        st = run("db", "status", env=env)
        assert st.returncode == 0 and "running:     yes" in st.stdout
        url = run("db", "url", env=env).stdout.strip()
        assert url.startswith("postgresql://") and str(data / "pg") in url
        mig = run("db", "migrate", env=env)
        assert "schema is current" in mig.stdout
        down = run("db", "down", env=env)
        assert down.returncode == 0 and "stopped" in down.stdout
        assert run("db", "status", env=env).returncode == 3
    finally:
        run("db", "down", env=env)
        subprocess.run(["rm", "-rf", str(data)], check=False)


def test_external_database_is_not_managed(fresh_db: str) -> None:
    env = clean_env(RISKMAP_DATABASE_URL=fresh_db)
    up = run("db", "up", env=env)
    assert up.returncode == 0, up.stderr
    assert "external" in up.stdout and "applied" in up.stderr  # migrated, not started
    down = run("db", "down", env=env)
    assert down.returncode == 0 and "nothing to stop" in down.stdout
    assert run("db", "url", env=env).stdout.strip() == fresh_db


def test_bad_settings_and_missing_counties_fail_clearly(db_url: str) -> None:
    bad = run("db", "url", env=clean_env(RISKMAP_DATABASE_URL="mysql://nope"))
    assert bad.returncode != 0 and "postgresql://" in (bad.stderr + bad.stdout)
    unknown = run("data", "demo", "--county", "999999", env=clean_env(RISKMAP_DATABASE_URL=db_url))
    assert unknown.returncode == 1 and "999999" in unknown.stderr
    assert "Traceback" not in unknown.stderr


@pytest.fixture(scope="module")
def server(db_url: str) -> str:
    """`riskmap serve` on a free loopback port, against the session database."""
    port = free_port()
    env = clean_env(RISKMAP_DATABASE_URL=db_url)
    proc = subprocess.Popen(
        [RISKMAP, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code in (200, 503):
                break
        except httpx.TransportError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail(f"server did not start: {proc.stdout.read()}")
    yield base
    proc.terminate()
    proc.wait(timeout=20)


def test_healthz_and_openapi(server: str) -> None:
    health = httpx.get(f"{server}/healthz")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok" and body["migrations_pending"] == []
    assert body["postgis"].startswith("3.")
    spec = httpx.get(f"{server}/openapi.json").json()
    assert spec["info"]["title"] == "riskmap"
    assert {"/healthz", "/api/datasets"} <= set(spec["paths"])


def test_an_idle_connection_outlives_a_proxys_keepalive(server: str) -> None:
    """uvicorn's default closes an idle connection after 5 s; a proxy (nginx keeps idle
    upstream connections 60 s) or a phone may send its next request just as it closes. Here one
    raw connection sends a request, idles 6 s, and sends another on the same socket."""
    host, port = server.removeprefix("http://").split(":")
    ask = f"GET /healthz HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    with socket.create_connection((host, int(port)), timeout=10) as s:
        statuses = []
        for pause in (0, 6):
            time.sleep(pause)
            s.sendall(ask)
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = s.recv(4096)
                assert chunk, f"closed by the server after {pause} s idle"
                head += chunk
            statuses.append(int(head.split(b" ", 2)[1]))
            length = int(re.search(rb"content-length: (\d+)", head, re.I).group(1))
            body = head.split(b"\r\n\r\n", 1)[1]
            while len(body) < length:
                body += s.recv(4096)
    assert all(code in (200, 503) for code in statuses) and len(statuses) == 2


def test_datasets_say_what_is_synthetic(server: str, db_url: str) -> None:
    import psycopg

    with psycopg.connect(db_url) as conn:
        conn.execute(
            "INSERT INTO dataset (id, title, synthetic, source) VALUES"
            " ('svc-test', '测试', true, 'tests') ON CONFLICT DO NOTHING"
        )
    rows = httpx.get(f"{server}/api/datasets").json()
    mine = [r for r in rows if r["id"] == "svc-test"]
    assert mine and mine[0]["synthetic"] is True and mine[0]["villages"] == 0


def test_demo_no_serve_loads_and_summarises(fresh_db: str) -> None:
    data = make_scratch_dir("riskmap-demo-")
    env = clean_env(RISKMAP_DATABASE_URL=fresh_db, RISKMAP_DATA_DIR=str(data))
    try:
        proc = run("demo", "--no-serve", "--county", "430421", "--villages", "40", env=env)
        assert proc.returncode == 0, proc.stderr
        assert "衡阳县" in proc.stdout and "40 villages" in proc.stdout
        assert (data / "generated" / "430421" / "dem.tif").exists()
        assert "risk map: 40 villages, 120 rows" in proc.stdout
        import psycopg

        with psycopg.connect(fresh_db) as conn:
            levels = conn.execute(
                "SELECT count(DISTINCT hazard), min(risk_level), max(risk_level) FROM village_risk"
            ).fetchone()
        assert levels[0] == 3 and 1 <= levels[1] <= levels[2] <= 4
    finally:
        subprocess.run(["rm", "-rf", str(data)], check=False)


def test_ingest_file_command_reports_and_exits_by_readability(db_url: str, tmp_path: Path) -> None:
    from tests.conftest import SHARED_DATA

    env = clean_env(RISKMAP_DATABASE_URL=db_url, RISKMAP_DATA_DIR=str(tmp_path))
    good = run(
        "ingest",
        "file",
        str(SHARED_DATA / "fire" / "firms_viirs_snpp_south_asia_24h_2025-06.csv"),
        env=env,
    )
    assert good.returncode == 0, good.stderr
    assert "hotspots" in good.stdout and ("loaded" in good.stdout or "duplicate" in good.stdout)
    html = run(
        "ingest",
        "file",
        str(SHARED_DATA / "cap" / "invalid" / "tw_ncdr_404_html_big5.cap"),
        env=env,
    )
    assert html.returncode == 2 and "rejected" in html.stdout and "HTML" in html.stdout
    kinds = run("ingest", "kinds", env=env)
    for kind in ("cap", "rain-grid", "hydro-sl323", "hazard-points", "hotspots", "earthquakes"):
        assert kind in kinds.stdout


def test_rules_check_passes_builtin_and_names_a_broken_site_rule(tmp_path: Path) -> None:
    ok = run("rules", "check", env=clean_env(RISKMAP_DATA_DIR=str(tmp_path)))
    assert ok.returncode == 0 and " 0 failed" in ok.stdout
    site = tmp_path / "rules"
    site.mkdir()
    (site / "broken.yaml").write_text(
        "rules:\n"
        "  - id: site.bad\n"
        "    version: '1'\n"
        "    hazard: rainstorm\n"
        "    title_zh: 坏规则\n"
        "    title_en: bad rule\n"
        "    inputs:\n"
        "      rain_3h: {kind: rain_window, hours: 3}\n"
        "    levels:\n"
        '      red: "rain_3h.__class__ >= 100"\n',
        encoding="utf-8",
    )
    bad = run(
        "rules", "check", env=clean_env(RISKMAP_DATA_DIR=str(tmp_path), RISKMAP_RULES_DIR=str(site))
    )
    assert bad.returncode == 1 and "broken.yaml" in bad.stdout and "FAIL" in bad.stdout
