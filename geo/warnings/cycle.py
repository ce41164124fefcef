"""One cycle of the early-warning loop at a time T: first end every warning whose expiry passed
by T (with its all-clear), whatever happened since the last cycle, then evaluate every rule and
hand the proposals to the lifecycle (so an expired warning is never extended); last, the plans
read the warnings and observations as they now stand and propose responses (geo/responses)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psycopg

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.errors import RiskmapError
from riskmap.geo.plans import load_plans
from riskmap.geo.responses import Evaluation, evaluate_plans
from riskmap.geo.responses.demo import reset_responses_for_demo
from riskmap.geo.rules import run_rules
from riskmap.geo.warnings.lifecycle.candidates import yield_candidates
from riskmap.geo.warnings.lifecycle.expiry import expire_stale
from riskmap.geo.warnings.lifecycle.proposals import apply_proposals
from riskmap.geo.warnings.lifecycle.versions import Change
from riskmap.geo.warnings.proposal import Proposal

SQL = SqlFiles("riskmap.geo.warnings.sql")
log = logging.getLogger("riskmap.cycle")


@dataclass(frozen=True)
class CycleResult:
    """What one cycle did."""

    at: datetime
    proposals: list[Proposal]
    changes: list[Change]
    expired: list[Change]
    responses: Evaluation | None = None  # None when the plans could not be evaluated
    response_error: str | None = field(default=None)

    def counts(self) -> dict[str, int]:
        """Changes per action (new candidates, issues, extends, escalations, expiries …)."""
        out: dict[str, int] = {}
        for change in [*self.changes, *self.expired]:
            out[change.action] = out.get(change.action, 0) + 1
        return out


def run_cycle(
    conn: psycopg.Connection,
    at: datetime,
    rule_dirs: Iterable[Path] = (),
    plan_dirs: Iterable[Path] = (),
) -> CycleResult:
    """Expiry, then rules → proposals → lifecycle, then plans → response proposals and overdue
    tasks, all as of ``at`` (a past time replays)."""
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware (UTC or Beijing time), not naive")
    expired = expire_stale(conn, at)
    proposals = run_rules(conn, at, list(rule_dirs))
    changes = apply_proposals(conn, proposals, at)
    changes += yield_candidates(conn, proposals, at)
    responses, error = _responses(conn, at, plan_dirs)
    return CycleResult(at, proposals, changes, expired, responses, error)


def _responses(
    conn: psycopg.Connection, at: datetime, plan_dirs: Iterable[Path]
) -> tuple[Evaluation | None, str | None]:
    """Evaluate the plans; a broken site plan or a failed query must not stop the warnings, so
    the error is logged and reported instead (its savepoint is rolled back)."""
    try:
        return evaluate_plans(conn, load_plans(list(plan_dirs)), at), None
    except (RiskmapError, psycopg.Error) as exc:
        log.error("response plans not evaluated at %s: %s", at.isoformat(), exc)
        return None, str(exc)


def reset_for_demo(conn: psycopg.Connection) -> int:
    """Delete all warnings so a demo replay starts from a clean slate (needs a superuser: the
    append-only guards are bypassed, which production must never do). Returns warnings removed."""
    with conn.transaction():
        n = conn.execute("SELECT count(*) FROM warning").fetchone()[0]
        conn.execute(SQL("demo_reset.sql"))  # one script, no params
        reset_responses_for_demo(conn)
    return n
