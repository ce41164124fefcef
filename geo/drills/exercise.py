"""One hour of a drill: the real early-warning cycle, run inside the drill's schema.

Nothing here is drill-specific logic on purpose: the same expiry, rules, lifecycle and plans
run as in production (``run_cycle``), only against the drill's twins, so a drill exercises the
code that would run on the day. What differs is done by the schema (warnings forced to CAP
status Exercise, texts marked 演练) and by two stand-ins, since a replay runs faster than people
can act: the drill's forecaster issues each candidate a set time after it was proposed (the
time a review takes ⚠, so the report measures the chain with a realistic delay, not zero), and
the drill's commander starts each response the plans propose ten minutes later, so the plan's
tasks are created, assigned to the people on duty and can be scored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path

import psycopg

from riskmap.geo.drills.twin import SQL
from riskmap.geo.errors import InvalidArgumentError
from riskmap.geo.plans.load import CompiledPlan
from riskmap.geo.responses import actions
from riskmap.geo.warnings.cycle import CycleResult, run_cycle
from riskmap.geo.warnings.lifecycle import review

DRILL_COMMANDER = "drill-commander"
DRILL_FORECASTER = "drill-forecaster"
CYCLE = timedelta(hours=1)
DECIDE_AFTER = timedelta(minutes=10)  # as the demo's commander: after a phone call ⚠


def drill_cycle(
    conn: psycopg.Connection,
    at: datetime,
    rule_dirs: Iterable[Path],
    plan_dirs: Iterable[Path],
    plans: Sequence[CompiledPlan],
    *,
    review_after: timedelta | None = timedelta(minutes=20),
    commander: bool = True,
) -> tuple[CycleResult, list[int], list[int]]:
    """Run the cycle at ``at`` on a connection already in the drill's schema; the forecaster
    (``review_after``; None: candidates wait for people) issues what is due before the next
    cycle, the ``commander`` starts the responses the plans proposed. Returns the cycle, the
    warnings issued by the forecaster and the responses started (the caller commits)."""
    result = run_cycle(conn, at, list(rule_dirs), list(plan_dirs))
    issued = [] if review_after is None else review_candidates(conn, at, review_after)
    started = start_proposed_responses(conn, plans, at) if commander else []
    return result, issued, started


def review_candidates(conn: psycopg.Connection, at: datetime, after: timedelta) -> list[int]:
    """Issue every candidate ``after`` its proposal, up to the next cycle (one that ran out
    before its review is left: the report lists it as not issued)."""
    minutes = after.total_seconds() / 60
    issued = []
    rows = SQL.rows(conn, "candidates_due.sql", {"after": minutes, "until": at + CYCLE})
    for row in rows:
        try:
            review.issue(
                conn,
                row["id"],
                DRILL_FORECASTER,
                "演练：预报员审核后发布 (drill: issued after review)",
                at=max(row["review_at"], at),
            )
        except (InvalidArgumentError, psycopg.errors.CheckViolation):  # ran out first
            continue
        issued.append(row["id"])
    return issued


def start_proposed_responses(
    conn: psycopg.Connection, plans: Sequence[CompiledPlan], at: datetime
) -> list[int]:
    """Accept every pending start proposal made by ``at``: the drill's commander."""
    started = []
    for row in SQL.rows(conn, "pending_starts.sql", {"at": at}):
        actions.accept(
            conn,
            plans,
            row["response_id"],
            row["id"],
            DRILL_COMMANDER,
            "演练：指挥长根据预案启动应急响应 (drill: the commander starts the response)",
            at=row["at"] + DECIDE_AFTER,
        )
        started.append(row["response_id"])
    return started
