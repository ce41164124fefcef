"""The set-up of bench/writes_under_load.py: its database (the demo county with its risk maps
built, candidate warnings to issue), the ``riskmap serve`` servers over it and the village tiles
the load cycles."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from tempfile import mkdtemp

import httpx
import psycopg

from bench import databases


def build_db(url: str, name: str, county: str, villages: int | None) -> tuple[str, Path]:
    """A database of its own with the demo county as ``riskmap demo`` leaves it, risk built."""
    from rich.console import Console

    from riskmap.api.cli.common import DEFAULT_SEED
    from riskmap.api.cli.demo_load import load_demo
    from riskmap.geo.risk.build import build_risk
    from riskmap.geo.risk.catalogue import catalogued_dem
    from riskmap.geo.settings import Settings

    data = Path(mkdtemp(prefix="riskmap-bench-writes-", dir="/tmp"))
    os.chmod(data, 0o755)
    if villages is None and county == databases.COUNTY:  # the demo county as it is
        db = databases.demo_storm(url, name, data, risk=True)
    else:
        db = databases.create_database(url, name)
        settings = Settings(data_dir=data, rules_dir=None)
        quiet = Console(quiet=True)
        load_demo(settings, db, county, villages, DEFAULT_SEED, quiet, with_scenario=True)
        with psycopg.connect(db) as conn:
            build_risk(conn, catalogued_dem(conn, county), county=county)
            conn.commit()
    with psycopg.connect(db) as conn:
        conn.execute("SELECT tile_refresh(%s)", [[county]])
        conn.execute("ANALYZE")
        conn.commit()
    return db, data


def candidates(db: str, n: int) -> list[int]:
    """``n`` new candidate warnings, each of a rule of its own (nothing merges into them) over a
    village of its own, held long enough that no rules run ends them."""
    from riskmap.geo.warnings import lifecycle
    from riskmap.geo.warnings.proposal import Proposal

    now = datetime.now(UTC)
    made = []
    with psycopg.connect(db) as conn:
        # villages no issued red rainstorm warning covers: there a new red one is a candidate
        # (not suppressed as already warned at that level)
        codes = [
            r[0]
            for r in conn.execute(
                "SELECT code FROM village v WHERE NOT EXISTS (SELECT FROM warning w"
                " WHERE w.status = 'issued' AND w.hazard = 'rainstorm' AND w.colour = 'red'"
                " AND v.code = ANY(w.village_codes)) ORDER BY random()"
            )
        ]
        if len(codes) < n:
            raise RuntimeError(f"{len(codes)} villages without an open warning, {n} needed")
        for i in range(n):
            picked = (codes[i],)
            p = Proposal(
                rule_id=f"bench.writes.{uuid.uuid4().hex[:10]}",
                rule_version="1",
                hazard="rainstorm",
                colour="red",
                at=now,
                village_codes=picked,
                evidence={v: {"rain_3h": 88.5, "threshold": 80.0} for v in picked},
                event_zh="暴雨",
                event_en="Rainstorm",
                headline_zh="基准测试暴雨红色预警",
                headline_en="Bench rainstorm warning (red)",
                description_zh="基准测试用。",
                description_en="For the bench.",
                instruction_zh="注意防范。",
                instruction_en="Take care.",
                severity="Extreme",
                hold_hours=720,
            )
            (change,) = lifecycle.apply_proposals(conn, [p], now, actor="bench")
            assert change.status == "candidate", change
            made.append(change.warning_id)
        conn.commit()
    return made


def start_server(
    db: str, data: Path, port: int, log: Path, workers: int, **extra: str
) -> subprocess.Popen:
    """``riskmap serve`` with ``workers`` workers on 127.0.0.1:``port``; ``extra`` settings."""
    env = {
        **os.environ,
        "RISKMAP_DATABASE_URL": db,
        "RISKMAP_DATA_DIR": str(data),
        "RISKMAP_LOG_LEVEL": "warning",
        "RISKMAP_WRITE_RATE_LIMIT": "100000/minute",
    }
    env.update({f"RISKMAP_{k.upper()}": v for k, v in extra.items()})
    argv = [str(Path(sys.executable).parent / "riskmap"), "serve", "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--workers", str(workers)]
    return subprocess.Popen(
        argv, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )


def wait_ready(base: str, proc: subprocess.Popen, log: Path, seconds: float = 90) -> None:
    """Until ``base``'s /healthz answers 200; an error if the server exits or never does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"riskmap serve exited ({proc.returncode}); see {log}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{base} not ready after {seconds:.0f} s")


def stop(proc: subprocess.Popen) -> None:
    """Terminate a server (its whole process group if it does not stop in 20 s)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def tile_paths(db: str, county: str) -> list[str]:
    """The village tiles of zooms 8–14 over the county (the tiles bench's list)."""
    from bench.tiles import _tile_list

    with psycopg.connect(db) as conn:
        bounds = conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM"
            " (SELECT ST_Extent(geom) AS e FROM admin_unit WHERE code = %s) x",
            [county],
        ).fetchone()
    return [f"/tiles/villages/{t.z}/{t.x}/{t.y}.mvt" for t in _tile_list(bounds)]
