"""The demo's commander: starts the flood-control responses the storm replay proposes.

So that ``make demo`` shows a response proposed by the plans *and* started by a person, the
demo commander accepts each pending start proposal of the demo plans ten minutes after it was
made (as a duty commander would after a phone call); raise proposals are left for the console.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import psycopg

from riskmap.geo.plans.load import CompiledPlan
from riskmap.geo.responses import actions
from riskmap.geo.responses.store import SQL

DEMO_COMMANDER = "demo-commander"
DEMO_PLANS = ("flood_control",)
DECIDE_AFTER = timedelta(minutes=10)


def start_demo_responses(
    conn: psycopg.Connection, plans: Sequence[CompiledPlan], at: datetime
) -> list[int]:
    """Accept the pending start proposals of :data:`DEMO_PLANS` made by ``at``; returns the
    responses started."""
    started = []
    for row in SQL.rows(conn, "demo_pending_starts.sql", {"plans": list(DEMO_PLANS), "at": at}):
        actions.accept(
            conn,
            plans,
            row["response_id"],
            row["id"],
            DEMO_COMMANDER,
            "演示：指挥长根据预案启动应急响应 (demo: the commander starts the response)",
            at=row["at"] + DECIDE_AFTER,
        )
        started.append(row["response_id"])
    return started


def reset_responses_for_demo(conn: psycopg.Connection) -> None:
    """Delete every response (superuser: the timeline's append-only guard is bypassed, which
    production must never do); part of the demo's clean slate."""
    conn.execute(SQL("demo_reset.sql"))
