"""Retention of monitoring readings: whole months go once all of them are older than the
configured days — by the function, by `riskmap sites retention`, and by a reading server at
its start (RISKMAP_HJ212_RETENTION_DAYS). Expected months worked out by hand."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from riskmap.geo.worksafety.readings import drop_old_readings
from riskmap.ingest.worksafety.sink import ReadingSink, SinkOptions
from tests.worksafety.hj212_db import ws_template_fixture, ws_url_fixture  # noqa: F401

MONTHS = ("ws_reading_202605", "ws_reading_202606", "ws_reading_202607")


def _parts(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'ws_reading'::regclass ORDER BY 1"
        ).fetchall()
    return [r[0] for r in rows]


def _three_months(url: str) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(
            "SELECT ws_reading_ensure_partitions(%s, %s)",
            (datetime(2026, 5, 2, tzinfo=UTC), datetime(2026, 7, 30, tzinfo=UTC)),
        )
    assert _parts(url) == list(MONTHS)


def test_function_drops_only_months_wholly_older(ws_url: str) -> None:
    _three_months(ws_url)
    # 15 August less 40 days is 6 July: May and June have ended by then, July has not
    with psycopg.connect(ws_url) as conn:
        assert drop_old_readings(conn, 40, datetime(2026, 8, 15, tzinfo=UTC)) == 2
    assert _parts(ws_url) == ["ws_reading_202607"]


def test_cli_and_a_server_at_start(ws_url: str) -> None:
    _three_months(ws_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKMAP_")}
    env["RISKMAP_DATABASE_URL"] = ws_url
    riskmap = str(Path(sys.executable).parent / "riskmap")
    # keeping the days since May ended (1 June), less one: May has wholly aged out, June has
    # not (it ended on 1 July, later) — May goes
    keep = (datetime.now(UTC) - datetime(2026, 6, 1, tzinfo=UTC)).days - 1
    done = subprocess.run(
        [riskmap, "sites", "retention", "--keep-days", str(keep)],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "1 month(s) dropped" in done.stdout
    assert _parts(ws_url) == ["ws_reading_202606", "ws_reading_202607"]

    # a server keeping the days since June ended, less one, drops June when it starts
    keep = (datetime.now(UTC) - datetime(2026, 7, 1, tzinfo=UTC)).days - 1

    async def start_and_stop() -> None:
        sink = ReadingSink(ws_url, "hj212", SinkOptions(retention_days=keep))
        await sink.start("test retention")
        await sink.close()

    asyncio.run(start_and_stop())
    assert _parts(ws_url) == ["ws_reading_202607"]
