"""Ending the warnings whose time ran out: the lifecycle's clock-driven step.

Neither a rule firing nor a person acting triggers this. A warning's expiry is one value: the
``<expires>`` of the CAP message that put it in force (the draft's while a candidate was never
published), which the database copies to ``warning.expires_at`` (migration 0026). A rules run at
time T ends every warning whose expiry passed by T *before* it looks at the proposals, so an
expired warning is never extended, however long ago it expired and whatever ran in between.
"""

from __future__ import annotations

from datetime import datetime

import psycopg

from riskmap.geo.vocabulary import BEIJING
from riskmap.geo.warnings import store
from riskmap.geo.warnings.lifecycle.versions import (
    Change,
    change_of,
    check_time,
    end_published,
    why,
)


def expire_stale(conn: psycopg.Connection, at: datetime) -> list[Change]:
    """End every open warning whose expiry passed by ``at``, in one transaction.

    Issued warnings get an all-clear version (CAP ``Cancel``, responseType ``AllClear``) sent
    to the same villages and people; candidates are just marked expired.
    """
    check_time(at)
    with conn.transaction():
        return end_expired(conn, at)


def end_expired(
    conn: psycopg.Connection, at: datetime, rule_id: str | None = None, hazard: str | None = None
) -> list[Change]:
    """End the open warnings (of one rule and hazard, if given) whose expiry passed by ``at``;
    runs inside the caller's transaction."""
    changes: list[Change] = []
    for w in store.stale_warnings(conn, at, rule_id, hazard):
        expired = w["expires_at"].astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
        last = w["last_fired_at"].astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
        reason = (
            f"expired at {expired} (Beijing time): rule {w['rule_id']} last fired at {last},"
            f" hold time {w['hold_hours']:g} h"
        )
        details = why(w) | {"expired_at": w["expires_at"].isoformat()}
        if w["status"] == "candidate":
            wid, v = w["id"], w["current_version"]
            store.discard_version(conn, wid, v)
            store.update_warning(conn, wid, status="expired", ended_at=at)
            store.audit(conn, wid, v, "expire", "system", at, reason, details)
            changes.append(change_of(w, "expire", v, "expired", False))
        else:
            v = end_published(conn, w, at, "system", reason, "expire", "expired")
            changes.append(change_of(w, "expire", v, "expired", True))
    return changes
