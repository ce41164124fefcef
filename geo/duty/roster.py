"""Who is on duty at a given time (值班表 lookup), grouped by duty office."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.errors import InvalidArgumentError

SQL = SqlFiles("riskmap.geo.duty.sql")
#: zh-CN names of the roster's posts (duty_shift.post)
POST_ZH = {"leader": "带班领导", "chief": "值班长", "officer": "值班员"}


def on_duty(
    conn: psycopg.Connection, at: datetime, area: str | None = None
) -> list[dict[str, Any]]:
    """The duty offices in ``area`` (a code prefix; None: all) with their people at ``at``.

    Parameters
    ----------
    conn : an open connection.
    at : a timezone-aware time; the roster's shifts are half-open ``[start, end)``.
    area : a county (431226), city (4312) or township code prefix.

    Returns
    -------
    One dict per office, county bureaus first: ``org_code``, ``org_name``, ``org_level``,
    ``duty_phone`` (the duty-room line), ``leader`` and ``chief`` (a person or None) and
    ``officers`` (a list). A person: ``person_id``, ``name``, ``title``, ``org``, ``phone``,
    ``shift_start``, ``shift_end``.
    """
    if at.tzinfo is None:
        raise InvalidArgumentError("at must be timezone-aware (e.g. 2026-07-14T10:00+08:00)")
    offices: dict[str, dict[str, Any]] = {}
    for r in SQL.rows(conn, "on_duty.sql", {"at": at, "area": area}):
        office = offices.setdefault(
            r["org_code"],
            {
                "org_code": r["org_code"],
                "org_name": r["org_name"],
                "org_level": r["org_level"],
                "duty_phone": r["duty_phone"],
                "leader": None,
                "chief": None,
                "officers": [],
            },
        )
        person = {
            "person_id": r["person_id"],
            "name": r["name"],
            "title": r["title"],
            "org": r["org"],
            "phone": r["mobile"],
            "shift_start": r["shift_start"],
            "shift_end": r["shift_end"],
        }
        if r["post"] == "officer":
            office["officers"].append(person)
        else:
            office[r["post"]] = person
        office["duty_phone"] = office["duty_phone"] or r["duty_phone"]
    return list(offices.values())
