"""Monthly partitions of ws_reading: made ahead for a time range, dropped whole by retention,
with month edges in UTC whatever the session's time zone."""

from __future__ import annotations

from datetime import UTC, datetime

import psycopg


def _parts(conn: psycopg.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = 'ws_reading'::regclass ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def test_partitions_made_for_a_range_and_dropped_by_retention(conn: psycopg.Connection) -> None:
    conn.execute("SET TIME ZONE 'Asia/Shanghai'")  # month edges must still be UTC
    made = conn.execute(
        "SELECT ws_reading_ensure_partitions(%s, %s)",
        (datetime(2026, 5, 31, 23, tzinfo=UTC), datetime(2026, 7, 1, 0, tzinfo=UTC)),
    ).fetchone()
    assert made == (3,)
    assert _parts(conn) == ["ws_reading_202605", "ws_reading_202606", "ws_reading_202607"]
    # again: nothing new
    again = conn.execute(
        "SELECT ws_reading_ensure_partitions(%s, %s)",
        (datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 6, 30, tzinfo=UTC)),
    ).fetchone()
    assert again == (0,)
    # 2026-06-30 23:30 UTC is July in Beijing but June in the table
    conn.execute(
        "INSERT INTO ws_reading (point_n, tm, value) VALUES (1, %s, 1.0), (1, %s, 2.0)",
        (datetime(2026, 6, 30, 23, 30, tzinfo=UTC), datetime(2026, 7, 1, 0, 0, tzinfo=UTC)),
    )
    per_part = conn.execute(
        "SELECT tableoid::regclass::text, value FROM ws_reading ORDER BY value"
    ).fetchall()
    assert per_part == [("ws_reading_202606", 1.0), ("ws_reading_202607", 2.0)]
    # retention: months ending at or before 1 July go; July stays
    dropped = conn.execute(
        "SELECT ws_reading_drop_before(%s)", (datetime(2026, 7, 1, tzinfo=UTC),)
    ).fetchone()
    assert dropped == (2,)
    assert _parts(conn) == ["ws_reading_202607"]
    assert conn.execute("SELECT count(*) FROM ws_reading").fetchone() == (1,)
