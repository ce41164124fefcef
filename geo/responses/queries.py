"""Reading responses: the list with task counts, and one response with its proposals, tasks and
timeline. ``area`` is a code prefix (api/areas.py): only the counties within it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg

from riskmap.geo.responses.store import SQL


def list_responses(
    conn: psycopg.Connection,
    *,
    area: str | None = None,
    status: list[str] | None = None,
    county: str | None = None,
    plan: str | None = None,
    limit: int = 100,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """Responses newest first (``overdue`` counted as of ``now``, default the clock)."""
    params = {"area": area, "status": status or None, "county": county, "plan": plan, "id": None}
    params |= {"limit": limit, "now": now or datetime.now(UTC)}
    return SQL.rows(conn, "list.sql", params)


def get_response(
    conn: psycopg.Connection, response_id: int, *, now: datetime | None = None
) -> dict[str, Any] | None:
    """One response with ``proposals``, ``task_list`` and ``timeline``; None if there is none."""
    now = now or datetime.now(UTC)
    params = {"area": None, "status": None, "county": None, "plan": None, "limit": 1}
    found = SQL.one(conn, "list.sql", {**params, "id": response_id, "now": now})
    if found is None:
        return None
    ids = {"id": response_id, "now": now}
    found["proposals"] = SQL.rows(conn, "proposals.sql", ids)
    found["task_list"] = SQL.rows(conn, "tasks.sql", ids)
    found["timeline"] = SQL.rows(conn, "timeline.sql", ids)
    return found
