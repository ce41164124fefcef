"""Maintenance windows (检修/标定): while one is open, a site's (or one point's) alarms are
kept as suppressed — stored, not counted, not told — so calibrating a gas detector or
re-levelling a GNSS antenna does not page the supervising section."""

from __future__ import annotations

from datetime import datetime

import psycopg

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.errors import InvalidArgumentError

SQL = SqlFiles("riskmap.geo.worksafety.sql")


def add_window(
    conn: psycopg.Connection,
    *,
    starts_at: datetime,
    ends_at: datetime,
    site_id: str | None = None,
    point_id: str | None = None,
    reason: str = "",
) -> int:
    """Store a window for a site or a point (one of them); its id."""
    if (site_id is None) == (point_id is None):
        raise InvalidArgumentError("a maintenance window names a site or a point, one of them")
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise InvalidArgumentError("give the window's times with a zone, e.g. +08:00")
    if not ends_at > starts_at:
        raise InvalidArgumentError("a maintenance window must end after it starts")
    try:
        row = SQL.one(
            conn,
            "maintenance_insert.sql",
            {"site_id": site_id, "point_id": point_id, "starts_at": starts_at,
             "ends_at": ends_at, "reason": reason},
            shape="tuple",
        )  # fmt: skip
    except psycopg.errors.ForeignKeyViolation:
        what = f"site {site_id}" if site_id else f"point {point_id}"
        raise InvalidArgumentError(f"no monitored {what} (未找到)") from None
    return row[0]
