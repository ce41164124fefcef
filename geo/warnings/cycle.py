"""One cycle of the early-warning loop: evaluate every rule at a time, hand the proposals to the
lifecycle, and let warnings whose rules went quiet run out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.rules import run_rules
from riskmap.geo.warnings.lifecycle.expiry import expire_stale
from riskmap.geo.warnings.lifecycle.proposals import apply_proposals
from riskmap.geo.warnings.lifecycle.versions import Change
from riskmap.geo.warnings.proposal import Proposal

SQL = SqlFiles("riskmap.geo.warnings.sql")


@dataclass(frozen=True)
class CycleResult:
    """What one cycle did."""

    at: datetime
    proposals: list[Proposal]
    changes: list[Change]
    expired: list[Change]

    def counts(self) -> dict[str, int]:
        """Changes per action (new candidates, issues, extends, escalations, expiries …)."""
        out: dict[str, int] = {}
        for change in [*self.changes, *self.expired]:
            out[change.action] = out.get(change.action, 0) + 1
        return out


def run_cycle(
    conn: psycopg.Connection, at: datetime, rule_dirs: Iterable[Path] = ()
) -> CycleResult:
    """Rules → proposals → lifecycle, then expiry, all as of ``at`` (a past time replays)."""
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware (UTC or Beijing time), not naive")
    proposals = run_rules(conn, at, list(rule_dirs))
    changes = apply_proposals(conn, proposals, at)
    expired = expire_stale(conn, at)
    return CycleResult(at, proposals, changes, expired)


def reset_for_demo(conn: psycopg.Connection) -> int:
    """Delete all warnings so a demo replay starts from a clean slate (needs a superuser: the
    append-only guards are bypassed, which production must never do). Returns warnings removed."""
    with conn.transaction():
        n = conn.execute("SELECT count(*) FROM warning").fetchone()[0]
        conn.execute(SQL("demo_reset.sql"))  # one script, no params
    return n
