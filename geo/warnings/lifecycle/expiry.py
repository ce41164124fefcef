"""Ending the warnings whose rule went quiet: the lifecycle's clock-driven step.

Neither a rule firing nor a person acting triggers this; each cycle runs it after the proposals,
so it stands apart from both.
"""

from __future__ import annotations

from datetime import datetime

import psycopg

from riskmap.geo.warnings import store
from riskmap.geo.warnings.lifecycle.versions import (
    Change,
    change_of,
    check_time,
    end_published,
    why,
)


def expire_stale(conn: psycopg.Connection, at: datetime) -> list[Change]:
    """End the warnings whose rule has not fired for their hold time.

    Issued warnings get an all-clear version (CAP ``Cancel``, responseType ``AllClear``) sent
    to the same villages and people; candidates are just marked expired.
    """
    check_time(at)
    changes: list[Change] = []
    with conn.transaction():
        for w in store.stale_warnings(conn, at):
            reason = f"rule {w['rule_id']} has not fired for {w['hold_hours']:g} h"
            if w["status"] == "candidate":
                store.discard_version(conn, w["id"], w["current_version"])
                store.update_warning(conn, w["id"], status="expired", ended_at=at)
                store.audit(
                    conn, w["id"], w["current_version"], "expire", "system", at, reason, why(w)
                )
                changes.append(change_of(w, "expire", w["current_version"], "expired", False))
            else:
                v = end_published(conn, w, at, "system", reason, "expire", "expired")
                changes.append(change_of(w, "expire", v, "expired", True))
    return changes
