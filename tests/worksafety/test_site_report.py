"""A site's monthly report on hand-made readings: raw crossings counted by hand, the month cut
in Beijing time, alarms and faults as the engine stored them; the CLI prints it."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from riskmap.geo.db.migrate import migrate
from riskmap.geo.worksafety.cycle import run_cycle
from riskmap.geo.worksafety.report import crossings, site_month

POINT = "ST_SetSRID(ST_MakePoint(110.0, 27.8), 4326)"
T0 = datetime(2026, 6, 10, tzinfo=UTC)
# 10-minute readings of a point that alarms when above blue 10 / yellow 20 / orange 30 / red 40
VALUES = [5, 12, 5, 12, 25, 35, 35, 35, 35, 5, 5, 5]
# by hand: blue entered at 12 (2nd), again at 12 (4th); yellow at 25; orange at 35 → 4
RAW = 4


def _fixture(conn: psycopg.Connection) -> None:
    conn.execute("INSERT INTO dataset (id, title, synthetic, source) VALUES ('r', 'r', true, 'r')")
    conn.execute(
        "INSERT INTO admin_unit (code, level, parent_code, name, gb2260, stat_code, dataset_id,"
        " geom) SELECT code, level, parent, name, code, code || '000000', 'r',"
        f" ST_Multi(ST_Buffer({POINT}, 0.5)) FROM (VALUES"
        " ('430000', 'province', NULL, '湖南省'), ('431200', 'city', '430000', '怀化市'),"
        " ('431226', 'county', '431200', '麻阳县')) AS a (code, level, parent, name)"
    )
    conn.execute(
        "INSERT INTO hazardous_site (id, name, kind, admin_code, dataset_id, geom)"
        f" VALUES ('d1', '试验尾矿库', 'tailings_dam', '431226', 'r', {POINT})"
    )
    conn.execute(
        "INSERT INTO ws_site (site_id, supervising_section, config_sha256, dataset_id)"
        " VALUES ('d1', '矿山股', 'x', 'r')"
    )
    (n,) = conn.execute(
        "INSERT INTO ws_point (id, site_id, item, name, unit, direction, dataset_id, geom)"
        f" VALUES ('d1-HP1', 'd1', 'reservoir_landslide', '库区滑坡体位移 HP1', 'mm', 'above',"
        f" 'r', {POINT}) RETURNING n"
    ).fetchone()
    for level, value in (("blue", 10), ("yellow", 20), ("orange", 30), ("red", 40)):
        conn.execute("INSERT INTO ws_threshold VALUES ('d1-HP1', %s, %s)", (level, value))
    conn.execute("SELECT ws_reading_ensure_partitions(%s, %s)", (T0, T0 + timedelta(days=25)))
    rows = [(n, T0 + timedelta(minutes=10 * i), v) for i, v in enumerate(VALUES)]
    # 30 June 17:00 UTC is 1 July 01:00 in Beijing: July's, not June's
    rows.append((n, datetime(2026, 6, 30, 17, tzinfo=UTC), 50.0))
    for row in rows:
        conn.execute("INSERT INTO ws_reading (point_n, tm, value) VALUES (%s, %s, %s)", row)


def test_crossings_by_hand() -> None:
    import numpy as np

    assert crossings(np.array(VALUES, float), [10, 20, 30, 40], "above") == RAW
    # below: ≤ 5 at the first reading (counts) and again at 5; ≤ 3 once, at 2 → 3
    assert crossings(np.array([4.0, 6, 5, 2, 6]), [5.0, 3.0], "below") == 3


def test_month_report_counts_crossings_alarms_and_cuts_beijing_months(fresh_db: str) -> None:
    migrate(fresh_db)
    with psycopg.connect(fresh_db) as conn:
        _fixture(conn)
        conn.commit()
        run_cycle(conn, T0 + timedelta(hours=3))
        conn.commit()
        alarms = conn.execute("SELECT count(*) FROM ws_alarm WHERE kind = 'threshold'").fetchone()[
            0
        ]
        m = site_month(conn, "d1", "2026-06")
        july = site_month(conn, "d1", "2026-07")
    (p,) = m.points
    assert (p.readings, p.raw_crossings) == (len(VALUES), RAW)
    assert p.alarms == alarms >= 1 and m.alarms < m.raw_crossings
    assert m.reduction == 100.0 * (1 - alarms / RAW)
    assert july.points[0].readings == 1 and july.points[0].raw_crossings == 4  # 50 ≥ each

    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKMAP_")}
    env["RISKMAP_DATABASE_URL"] = fresh_db
    riskmap = str(Path(sys.executable).parent / "riskmap")
    done = subprocess.run(
        [riskmap, "sites", "report", "d1", "--month", "2026-06"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "试验尾矿库 2026-06 月度监测报告" in done.stdout
    assert f"越限 raw crossings {RAW}; 报警 alarms {alarms}" in done.stdout
