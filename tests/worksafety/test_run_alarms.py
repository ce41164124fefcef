"""run_alarms on the real database: readings in ws_reading, alarms and events written, and a
second run continuing the first (incremental: no duplicate alarm, events carried over)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from riskmap.geo.worksafety.params import AlarmParams, ParamBook, PointSpec
from riskmap.geo.worksafety.runner import run_alarms
from riskmap.geo.worksafety.synth import synthetic_month

T0 = datetime(2026, 6, 1, tzinfo=UTC)
POINT = "ST_SetSRID(ST_MakePoint(110.0, 27.8), 4326)"


def _site(conn: psycopg.Connection, site_id: str, name: str, kind: str) -> None:
    conn.execute(
        "INSERT INTO dataset (id, title, synthetic, source) VALUES ('wst', '测试', true, 't')"
        " ON CONFLICT DO NOTHING"
    )
    conn.execute(
        "INSERT INTO admin_unit (code, level, parent_code, name, gb2260, stat_code, dataset_id,"
        " geom) SELECT code, level, parent, name, code, code || '000000', 'wst',"
        " ST_Multi(ST_Buffer(" + POINT + ", 0.5)) FROM (VALUES"
        " ('430000', 'province', NULL, '湖南省'), ('431200', 'city', '430000', '怀化市'),"
        " ('431226', 'county', '431200', '麻阳县')) AS a (code, level, parent, name)"
        " ON CONFLICT DO NOTHING"
    )
    conn.execute(
        "INSERT INTO hazardous_site (id, name, kind, admin_code, dataset_id, geom)"
        f" VALUES (%s, %s, %s, '431226', 'wst', {POINT})",
        (site_id, name, kind),
    )
    conn.execute(
        "INSERT INTO ws_site (site_id, supervising_section, config_sha256, dataset_id)"
        " VALUES (%s, '矿山股', 'x', 'wst')",
        (site_id,),
    )


def _point(conn: psycopg.Connection, p: PointSpec) -> int:
    n = conn.execute(
        "INSERT INTO ws_point (id, site_id, item, quantity, name, unit, direction, phys_min,"
        " phys_max, max_jump, dataset_id, geom)"
        f" VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'wst', {POINT}) RETURNING n",
        (p.id, p.site_id, p.item, p.quantity, p.name, p.unit, p.thresholds.direction,
         p.phys_min, p.phys_max, p.max_jump),
    ).fetchone()[0]  # fmt: skip
    for lv, v in zip(p.thresholds.levels, p.thresholds.values, strict=True):
        conn.execute("INSERT INTO ws_threshold VALUES (%s, %s, %s)", (p.id, lv, v))
    return n


def _readings(conn: psycopg.Connection, n: int, tm, values, flags=None) -> None:
    conn.execute("SELECT ws_reading_ensure_partitions(%s, %s)", (T0, T0 + timedelta(days=31)))
    flags = flags if flags is not None else ["N"] * len(tm)
    with conn.cursor().copy("COPY ws_reading (point_n, tm, value, flag) FROM STDIN") as copy:
        for t, v, f in zip(tm, values, flags, strict=True):
            copy.write_row((n, datetime.fromtimestamp(float(t), UTC), float(v), str(f)))


def _alarms(conn: psycopg.Connection):
    return conn.execute(
        "SELECT point_id, kind, coalesce(fault_kind, ''), opened_at, cleared_at,"
        " coalesce(max_level, ''), levels, suppressed, flapping"
        " FROM ws_alarm ORDER BY point_id, opened_at, kind"
    ).fetchall()


def test_hand_series_alarms_escalates_clears_across_runs(conn: psycopg.Connection) -> None:
    from riskmap.geo.worksafety.levels import Thresholds

    _site(conn, "dam1", "麻阳锰矿尾矿库", "tailings_dam")
    th = Thresholds.from_mapping({"blue": 318.0, "yellow": 318.5}, "above")
    n = _point(conn, PointSpec("PL1", "dam1", "pond_level", "库水位 PL1", "m", th))
    t0 = T0.timestamp()
    # every 5 min: 318.2 ×3 (blue held 600 s at +600), 318.6 ×3 (yellow held 600 s at +1500),
    # 318.3 (+1800: back to blue), 317 (+2100: clear; hold 0 → final at once)
    values = [318.2, 318.2, 318.2, 318.6, 318.6, 318.6, 318.3, 317.0]
    _readings(conn, n, [t0 + 300 * i for i in range(8)], values)
    book = ParamBook(default=AlarmParams(min_duration_s=600, hold_s=0, stuck_n=None, silent_s=None))
    first = run_alarms(conn, T0 + timedelta(seconds=900), params=book)
    assert (first.readings, [(c.change, c.level) for c in first.changes]) == (
        4,
        [("opened", "blue")],
    )
    assert first.changes[0].summary_zh == (
        "麻阳锰矿尾矿库 库水位 PL1 蓝色预警：水位 318.2 m（蓝色 ≥ 318 m），持续 10 分钟"
    )
    second = run_alarms(conn, T0 + timedelta(seconds=2100), params=book)
    assert second.readings == 4
    assert [(c.change, c.level, c.previous_level) for c in second.changes] == [
        ("escalated", "yellow", "blue"),
        ("downgraded", "blue", "yellow"),
        ("cleared", None, "blue"),
    ]
    [alarm] = _alarms(conn)
    at = lambda s: T0 + timedelta(seconds=s)  # noqa: E731
    assert alarm[:6] == ("PL1", "threshold", "", at(600), at(2100), "yellow")
    assert [lv for _, lv in alarm[6]] == ["blue", "yellow", "blue"]
    events = conn.execute(
        "SELECT site_id, item, state, max_level, points_total, alarms, first_at, closed_at"
        " FROM ws_event"
    ).fetchall()
    assert events == [("dam1", "pond_level", "closed", "yellow", 1, 1, at(600), at(2100))]
    event_id = conn.execute("SELECT id FROM ws_event").fetchone()[0]
    assert {c.event_id for c in first.changes + second.changes} == {event_id}
    assert conn.execute("SELECT event_id FROM ws_alarm").fetchone() == (event_id,)
    assert first.changes[0].opened_at_utc == at(600)
    third = run_alarms(conn, T0 + timedelta(seconds=2100), params=book)
    assert (third.readings, third.changes) == (0, [])
    assert len(_alarms(conn)) == 1


@pytest.mark.parametrize("split_day", [10.5])
def test_month_in_two_runs_equals_one_run(
    conn: psycopg.Connection, db_url: str, split_day: float
) -> None:
    """The dam's synthetic month, run once to the end and (in another transaction) in two runs
    split inside the storm: the same alarms, faults and events, none twice."""
    month = synthetic_month(seed=21)
    dam = [p for p in month.points if p.site_id == "ws-dam"]

    def load(c: psycopg.Connection) -> None:
        _site(c, "ws-dam", "麻阳锰矿尾矿库", "tailings_dam")
        for p in dam:
            s = month.series[p.id]
            _readings(c, _point(c, p), s.tm, s.value, s.flag)

    end = datetime.fromtimestamp(month.end, UTC)
    load(conn)
    whole = run_alarms(conn, end)
    one_run = _alarms(conn)
    one_events = conn.execute("SELECT count(*), sum(alarms) FROM ws_event").fetchone()
    conn.rollback()
    load(conn)
    split = datetime.fromtimestamp(month.start + split_day * 86400, UTC)
    a = run_alarms(conn, split)
    open_mid = conn.execute("SELECT count(*) FROM ws_event WHERE state = 'open'").fetchone()[0]
    b = run_alarms(conn, end)
    assert open_mid >= 1  # the storm's events were open at the split and carried over
    assert a.readings + b.readings == whole.readings == sum(len(month.series[p.id].tm) for p in dam)
    assert _alarms(conn) == one_run
    assert conn.execute("SELECT count(*), sum(alarms) FROM ws_event").fetchone() == one_events
    assert len(a.changes) + len(b.changes) == len(whole.changes)
    # the storm raised the dam's pond level to red: one event, red, with its alarm
    red = conn.execute(
        "SELECT count(*) FROM ws_event WHERE item = 'pond_level' AND max_level = 'red'"
    ).fetchone()[0]
    assert red == 1
    kinds = conn.execute(
        "SELECT fault_kind, count(*) FROM ws_alarm WHERE kind = 'fault' GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert kinds == [("jump", 1), ("range", 3), ("silent", 2), ("stuck", 1)]


def test_cli_sites_alarms_prints_the_changes(fresh_db: str) -> None:
    """`riskmap sites alarms --until` on a database of its own: migrates, runs, commits."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from riskmap.geo.db.migrate import migrate
    from riskmap.geo.worksafety.levels import Thresholds

    migrate(fresh_db)
    with psycopg.connect(fresh_db) as c:
        _site(c, "dam1", "麻阳锰矿尾矿库", "tailings_dam")
        th = Thresholds.from_mapping(
            {"blue": 6.0, "yellow": 5.5, "orange": 4.4, "red": 4.0}, "below"
        )
        n = _point(c, PointSpec("P2", "dam1", "phreatic_depth", "浸润线埋深 P2", "m", th))
        t0 = T0.timestamp()
        # 4.3 m (orange) every 5 min from 00:00 UTC: open after the default 15 min, at 00:15
        _readings(c, n, [t0 + 300 * i for i in range(4)], [4.3, 4.3, 4.2, 4.1])
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKMAP_")}
    env["RISKMAP_DATABASE_URL"] = fresh_db
    riskmap = str(Path(sys.executable).parent / "riskmap")
    args = [riskmap, "sites", "alarms", "--until", "2026-06-01T08:20+08:00"]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    # the alarm, the dam graded from it (one orange point: the dam orange), and the notice
    # (nobody to text in this database: no safety officer, no section staff)
    assert done.stdout.strip().splitlines() == [
        "06-01 08:15  threshold/opened         麻阳锰矿尾矿库 浸润线埋深 P2 橙色预警："
        "埋深 4.1 m（橙色 ≤ 4.4 m），持续 15 分钟",
        "site dam1 麻阳锰矿尾矿库: none → orange  最高为浸润线埋深橙色预警，尾矿库为橙色预警"
        "（浸润线埋深 P2 橙色 4.1 m）",
        "told dam1 threshold orange: 0 SMS",
    ]
    assert "4 readings of 1 points" in done.stderr
    with psycopg.connect(fresh_db) as c:
        assert c.execute("SELECT count(*) FROM ws_alarm").fetchone() == (1,)
    again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert (again.returncode, again.stdout) == (0, "")
