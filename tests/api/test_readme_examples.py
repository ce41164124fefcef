"""The README's HTTP examples run as written after the README's own set-up: `riskmap demo`
(here `--no-serve` into a database of its own, then `riskmap serve`), the token it prints, and
the shell block of "The HTTP service" section with only the port changed, under
``set -e -o pipefail`` and with curl failing on any HTTP error status.

The demo's storm ends at the current hour, so its warnings are in force now: the last example
previews and issues one of its candidates, as a new user following the README would."""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest

from tests.api.test_cli_and_service import RISKMAP, clean_env, free_port, run
from tests.api.test_duty import _flat, _pdf_text
from tests.conftest import make_scratch_dir

README = Path(__file__).resolve().parents[2] / "README.md"


def _http_examples() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## The HTTP service", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```sh\n(.*?)```", section, flags=re.S)
    return block


@dataclass(frozen=True)
class Demo:
    base: str  # the URL of `riskmap serve`
    token: str  # the forecaster token `riskmap demo` printed
    printed: str  # what `riskmap demo` printed
    db_url: str


@pytest.fixture(scope="module")
def demo_server(pg_cluster) -> Iterator[Demo]:
    """`riskmap serve` over a fresh `riskmap demo --no-serve`."""
    import psycopg
    from psycopg import sql

    name = f"t_readme_{os.getpid()}"
    admin = pg_cluster.url_for("postgres")
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    data = make_scratch_dir("riskmap-readme-")
    env = clean_env(RISKMAP_DATABASE_URL=pg_cluster.url_for(name), RISKMAP_DATA_DIR=str(data))
    proc = None
    try:
        loaded = run("demo", "--no-serve", env=env, timeout=600)
        assert loaded.returncode == 0, loaded.stderr[-2000:]
        (token,) = re.findall(r"export RISKMAP_TOKEN=(rm_\S+)", loaded.stdout)
        port = free_port()
        proc = subprocess.Popen(
            [RISKMAP, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("riskmap serve did not start")
        yield Demo(base, token, loaded.stdout, pg_cluster.url_for(name))
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=20)
        subprocess.run(["rm", "-rf", str(data)], check=False)
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))


def test_the_http_examples_run_as_written(demo_server: Demo) -> None:
    base, token = demo_server.base, demo_server.token
    script = _http_examples()
    assert "http://127.0.0.1:8000" in script and "level=一级" in script
    script = script.replace("http://127.0.0.1:8000", base)
    prelude = 'set -e -o pipefail\ncurl() { command curl --fail-with-body "$@"; echo; }\n'
    env = os.environ | {"RISKMAP_TOKEN": token}
    done = subprocess.run(
        ["bash", "-c", prelude + script], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    out = done.stdout.replace(" ", "")
    assert out.count('"type":"FeatureCollection"') >= 2
    # the demo's storm is in force now: the public list and the ATOM feed are not empty
    assert '"numberReturned":1' in out
    assert "<entry>" in done.stdout and "<status>Draft</status>" in done.stdout
    assert '"action":"issue"' in out and '"published":true' in out


def test_the_printed_duty_report_commands_download_the_storm(demo_server: Demo, tmp_path) -> None:
    """`riskmap demo` ends by saying where the storm's 值班日报 downloads: the printed curl
    commands, run as printed, give PDFs whose numbers are the storm's as counted here in SQL
    (warnings issued on each Beijing day, the wettest village of the storm)."""
    printed = demo_server.printed
    commands = re.findall(r"^  (curl .*api/duty/report\?date=.*)$", printed, flags=re.M)
    days = re.findall(r"date=(\d{4}-\d\d-\d\d)&format=pdf", "\n".join(commands))
    assert 1 <= len(days) <= 2 and "值班日报" in printed
    script = "set -e\n" + "\n".join(
        c.replace("http://127.0.0.1:8000", demo_server.base).replace(
            "curl ", "curl --fail-with-body ", 1
        )
        for c in commands
    )
    env = os.environ | {"RISKMAP_TOKEN": demo_server.token}
    done = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    zone = ZoneInfo("Asia/Shanghai")
    wettest = []
    with psycopg.connect(demo_server.db_url) as conn:
        for day in days:
            start = datetime.combine(date.fromisoformat(day), clock(), zone)
            bounds = [start, start + timedelta(days=1)]
            (issued,) = conn.execute(
                "SELECT count(*) FROM warning_version v JOIN warning w ON w.id = v.warning_id"
                " WHERE v.state = 'published' AND v.msg_type = 'Alert'"
                " AND w.cap_status = 'Actual' AND v.cap_sent >= %s AND v.cap_sent < %s",
                bounds,
            ).fetchone()
            row = conn.execute(
                "SELECT a.name, sum(r.mean_mm) FROM village_rain r"
                " JOIN admin_unit a ON a.code = r.village_code WHERE r.product = 'qpe'"
                " AND r.valid_start >= %s AND r.valid_end <= %s"
                " GROUP BY a.name ORDER BY 2 DESC LIMIT 1",
                bounds,
            ).fetchone()
            text = _flat(_pdf_text((tmp_path / f"duty-report-{day}.pdf").read_bytes()))
            assert "值班日报" in text and f"发布{issued}条" in text, (day, issued)
            if row is not None:
                wettest.append(row[1])
                assert _flat(row[0]) in text, (day, row)
    assert wettest and max(wettest) > 50  # the storm is in the reports: tens of millimetres
