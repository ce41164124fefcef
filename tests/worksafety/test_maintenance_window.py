"""A maintenance window declared with `riskmap sites maintenance` keeps the alarms inside it
suppressed: stored, but the site is not graded by them and nobody is told; a bad window is
refused with its reason."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import psycopg

from riskmap.geo.db.migrate import migrate
from riskmap.geo.worksafety.cycle import run_cycle
from tests.worksafety.test_site_report import T0, _fixture


def _riskmap(url: str, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKMAP_")}
    env["RISKMAP_DATABASE_URL"] = url
    riskmap = str(Path(sys.executable).parent / "riskmap")
    return subprocess.run(
        [riskmap, "sites", "maintenance", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_alarms_in_a_window_are_suppressed_and_tell_nobody(fresh_db: str) -> None:
    migrate(fresh_db)
    with psycopg.connect(fresh_db) as conn:
        _fixture(conn)
    start, end = T0 - timedelta(hours=1), T0 + timedelta(hours=5)
    done = _riskmap(fresh_db, "--site", "d1", "--from", start.isoformat(), "--to",
                    end.isoformat(), "--reason", "标定")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "maintenance window 1: d1" in done.stdout
    with psycopg.connect(fresh_db) as conn:
        cycle = run_cycle(conn, T0 + timedelta(hours=3))
        conn.commit()
        alarms = conn.execute(
            "SELECT count(*), bool_and(suppressed) FROM ws_alarm WHERE kind = 'threshold'"
        ).fetchone()
        notices = conn.execute("SELECT count(*) FROM ws_notice").fetchone()
    # the hand series of test_site_report climbs past orange inside the window
    assert alarms[0] >= 1 and alarms[1] is True
    assert [g.level for g in cycle.grades] == [] and cycle.told == [] and notices == (0,)


def test_a_bad_window_is_refused_with_its_reason(fresh_db: str) -> None:
    migrate(fresh_db)
    with psycopg.connect(fresh_db) as conn:
        _fixture(conn)
    t = T0.isoformat()
    later = (T0 + timedelta(hours=1)).isoformat()
    backwards = _riskmap(fresh_db, "--site", "d1", "--from", later, "--to", t)
    assert backwards.returncode != 0 and "must end after it starts" in backwards.stderr
    unknown = _riskmap(fresh_db, "--point", "nope", "--from", t, "--to", later)
    assert unknown.returncode != 0 and "no monitored point nope" in unknown.stderr
    both = _riskmap(fresh_db, "--site", "d1", "--point", "d1-HP1", "--from", t, "--to", later)
    assert both.returncode != 0 and "one of them" in both.stderr
