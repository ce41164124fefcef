"""A delivery world for dispatcher tests: a copy of the storm database whose 222 village
terminals point at real loopback receivers, signing keys made and exported, and warnings
published *now* through the real lifecycle (auto-issued, as 立即转移 is)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from riskmap.api.dispatch import keys
from riskmap.geo.warnings import lifecycle
from riskmap.geo.warnings.proposal import Proposal

RISKMAP = [sys.executable, "-m", "riskmap.api.cli"]


def installation_key(data_dir: Path):
    return keys.installation_key(None, data_dir / "secret.key")


def point_terminals(
    url: str, receiver_url: str, broker_url: str | None = None, *, ebm_every: int = 5
) -> dict[str, int]:
    """Every terminal to the receiver (http-json, each ``ebm_every``-th ebm-xml), or to the
    broker for each 10th when a broker is given; all online. Returns protocol counts."""
    with psycopg.connect(url) as conn:
        conn.execute(
            """UPDATE broadcast_terminal t SET status = 'online',
                   protocol = CASE WHEN %(broker)s::text IS NOT NULL AND n %% 10 = 3 THEN 'mqtt'
                                   WHEN n %% %(ebm)s = 1 THEN 'ebm-xml' ELSE 'http-json' END,
                   endpoint = CASE WHEN %(broker)s::text IS NOT NULL AND n %% 10 = 3
                                   THEN %(broker)s || '/riskmap/broadcast/' || t.village_code
                                   ELSE %(receiver)s || '/broadcast/' || t.village_code END
               FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM broadcast_terminal) x
               WHERE x.id = t.id""",
            {"broker": broker_url, "receiver": receiver_url, "ebm": ebm_every},
        )
        rows = conn.execute(
            "SELECT protocol, count(*) FROM broadcast_terminal GROUP BY 1"
        ).fetchall()
    return dict(rows)


def export_keys(url: str, data_dir: Path) -> dict[str, str]:
    fernet = installation_key(data_dir)
    with psycopg.connect(url) as conn:
        keys.ensure_keys(conn, fernet)
        return keys.export(conn, fernet)


def villages(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT code FROM village ORDER BY code").fetchall()
    return [r[0] for r in rows]


# Warnings of one hazard over the same villages merge (a new one yields to an issued one), so
# tests that need several warnings at once give each its own hazard.
HAZARDS = ("flash_flood", "geohazard", "rainstorm", "river_flood", "forest_fire")


def publish(
    url: str,
    codes: list[str],
    *,
    rule: str,
    colour: str = "red",
    at: datetime | None = None,
    hazard: str = "flash_flood",
) -> int:
    """An auto-issued 立即转移 warning for ``codes`` (published at once)."""
    at = at or datetime.now(UTC)
    p = Proposal(
        rule_id=rule,
        rule_version="1.0.0",
        hazard=hazard,
        colour=colour,
        at=at,
        village_codes=tuple(codes),
        evidence={c: {"rain_1h": 61.5, "threshold": 60} for c in codes},
        event_zh="山洪灾害",
        event_en="Flash flood",
        headline_zh="麻阳苗族自治县发布山洪灾害红色预警",
        headline_en="Flash flood red warning",
        description_zh="过去1小时降雨量已达61.5毫米，超过立即转移临界雨量。",
        description_en="61.5 mm of rain in 1 h, above the evacuation threshold.",
        instruction_zh="请危险区群众立即转移到安置点。",
        instruction_en="Evacuate now to the shelters.",
        category="Geo",
        urgency="Immediate",
        severity="Extreme",
        certainty="Observed",
        review="auto",
        action="evacuate_now",
    )
    with psycopg.connect(url) as conn:
        [change] = lifecycle.apply_proposals(conn, [p], at)
        conn.commit()
    assert change.published, change
    return change.warning_id


def outbox_counts(url: str) -> dict[tuple[str, str], int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT channel, status, count(*) FROM outbox GROUP BY 1, 2").fetchall()
    return {(c, s): n for c, s, n in rows}


def dispatcher_env(url: str, data_dir: Path, **settings: str) -> dict[str, str]:
    env = {
        **os.environ,
        "RISKMAP_DATABASE_URL": url,
        "RISKMAP_DATA_DIR": str(data_dir),
        "RISKMAP_LOG_LEVEL": "warning",
    }
    env.update({f"RISKMAP_{k.upper()}": v for k, v in settings.items()})
    return env


@contextmanager
def dispatcher_process(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """`riskmap dispatch run` as a real process (killed at the end if still running)."""
    with open(log, "ab") as out:
        proc = subprocess.Popen([*RISKMAP, "dispatch", "run"], env=env, stdout=out, stderr=out)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def wait_until(check, timeout_s: float, what: str, every: float = 0.1):
    deadline = time.monotonic() + timeout_s
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(every)
