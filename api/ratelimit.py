"""Rate limits kept in PostgreSQL, so every worker of every instance counts against one allowance.

Why not the ``limits`` library's storage: its shared backends are Redis, Memcached and MongoDB,
servers a county bureau does not run; PostgreSQL is already there. ``limits`` still parses the
settings ("10/15 minutes"). Each check is one call of ``rate_limit_hit`` (migration 0036: a
moving window per key, updated under a row lock), committed at once: a hit must count even when
the request it belongs to fails and rolls back (a wrong password is exactly such a request), and
no row lock may be held while a handler runs. It runs on the request's own connection, before
the request writes anything: a second pooled connection per request would let ten concurrent
writes hold the whole pool while each waits for one more.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import psycopg
from limits import RateLimitItem, parse

from riskmap.geo.db.sqlfiles import SqlFiles

SQL = SqlFiles("riskmap.api.sql")


@dataclass(frozen=True)
class Verdict:
    """Whether a hit is (or would be) allowed; if not, whole seconds to wait (≥ 1)."""

    allowed: bool
    retry_after: int = 0


def limit_of(text: str) -> RateLimitItem:
    """A limit in the ``limits`` syntax ("120/minute", "10/15 minutes")."""
    return parse(text)


def check(
    conn: psycopg.Connection, bucket: str, key: str, limit: RateLimitItem, *, take: bool = True
) -> Verdict:
    """Count one hit of ``key`` in ``bucket`` (``take=False``: only look) against ``limit``.

    Commits ``conn``: call it before the request's own writes."""
    params = {
        "bucket": bucket,
        "key": key,
        "max": limit.amount,
        "seconds": float(limit.get_expiry()),
        "take": take,
    }
    row = SQL.one(conn, "rate_limit_hit.sql", params)
    conn.commit()
    allowed, retry = row["allowed"], row["retry_after_s"]
    if allowed:
        return Verdict(True)
    return Verdict(False, max(1, math.ceil(retry)))
