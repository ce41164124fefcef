"""Small shared steps of the responses: the SQL folder, timeline rows and level words."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.plans.model import LEVEL_OF_NUMBER, ROMAN

SQL = SqlFiles("riskmap.geo.responses.sql")


def roman(level: int | None) -> str | None:
    """1 → "Ⅰ" … 4 → "Ⅳ" (None stays None)."""
    return None if level is None else ROMAN[LEVEL_OF_NUMBER[level]]


def event(
    conn: psycopg.Connection,
    response_id: int,
    kind: str,
    actor: str,
    at: datetime,
    *,
    level_from: int | None = None,
    level_to: int | None = None,
    task_id: int | None = None,
    proposal_id: int | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    """Append one timeline row (also the audit log and, by trigger, a live event)."""
    row = SQL.one(
        conn,
        "insert_event.sql",
        {
            "response_id": response_id,
            "at": at,
            "kind": kind,
            "actor": actor,
            "level_from": level_from,
            "level_to": level_to,
            "task_id": task_id,
            "proposal_id": proposal_id,
            "reason": reason,
            "details": Jsonb(details or {}),
        },
        shape="tuple",
    )
    return int(row[0])
