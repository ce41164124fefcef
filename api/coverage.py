"""A warning's coverage summary: which villages its loudspeakers and phones reached, by township.

Commanders ask one question after issuing: who has not heard it yet? ``not_reached`` answers
it: villages whose loudspeakers neither took nor played the message ``minutes`` after issue.
"""

from __future__ import annotations

from typing import Any

import psycopg

from riskmap.geo.db.sqlfiles import SqlFiles

SQL = SqlFiles("riskmap.api.sql")
STATES = ("acknowledged", "delivered", "pending", "failed", "no_terminal")


def coverage(conn: psycopg.Connection, warning_id: int, minutes: float) -> dict[str, Any] | None:
    """None when the warning was never announced (no loudspeaker or SMS messages)."""
    rows = conn.execute(SQL("warnings_coverage.sql"), {"id": warning_id}).fetchall()
    if not rows:
        return None
    first = rows[0]
    townships: dict[str, dict[str, Any]] = {}
    totals = dict.fromkeys(STATES, 0)
    sums = dict.fromkeys(("terminals", "phones", "sms_sent", "sms_delivered", "sms_failed"), 0)
    villages = []
    for r in rows:
        totals[r["state"]] += 1
        for k in sums:
            sums[k] += r[k]
        t = townships.setdefault(
            r["township_code"],
            {"code": r["township_code"], "name": r["township_name"], "villages": 0}
            | dict.fromkeys(STATES, 0),
        )
        t["villages"] += 1
        t[r["state"]] += 1
        villages.append({k: r[k] for k in r if k not in {"version", "msg_type", "published_at"}})
    late = first["age_s"] is not None and first["age_s"] > minutes * 60
    not_reached = [
        {"code": v["code"], "name": v["name"], "township": v["township_name"], "state": v["state"]}
        for v in villages
        if late and v["state"] in {"pending", "failed"}
    ]
    for v in villages:
        v.pop("age_s", None)
    return {
        "version": first["version"],
        "msg_type": first["msg_type"],
        "published_at": first["published_at"],
        "villages_total": len(rows),
        "villages_by_state": totals,
        "messages": sums,
        "by_township": list(townships.values()),
        "villages": villages,
        "not_reached_minutes": minutes,
        "not_reached": not_reached,
    }
