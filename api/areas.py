"""Areas of responsibility (责任区域): the one rule every router uses to keep a user to its area.

A user bound to a county (431226) sees and acts on what lies in that county; a user bound to a
city (430400) on every county whose code starts with the city's four digits (4304…); a user
bound to no area, and the public, on the whole installation. SQL takes the *prefix* as
``%(area)s`` (NULL: everything) and compares codes with ``LIKE %(area)s || '%%'``: village codes
(12 digits), township codes (9) and county codes (6) all start with their county's code, so one
comparison serves every table. The filter lives in the SQL (lists, counts and pages stay right);
this module only turns a principal into the prefix and answers "may this caller see / act on
this warning or village" with a 403 that names the caller's area.

Seeing a warning needs one of its villages in the area (a county sees the city-level warning
that covers it); acting on one (review, cancel) needs every village in the area and the issuing
bureau within it (a county cannot change the city's warning).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import psycopg
from fastapi import HTTPException

from riskmap.api.users import Principal
from riskmap.geo.db.sqlfiles import SqlFiles

SQL = SqlFiles("riskmap.api.sql")
#: a GB/T 2260 city (430400) or county (431226) code: six digits, not a province's (..0000)
CITY_OR_COUNTY = r"^[1-9]\d(?:[1-9]\d{3}|0[1-9]\d\d|00[1-9]\d|000[1-9])$"
#: live-event kinds about area data: an area-bound client gets them only for its area
AREA_EVENT_KINDS = frozenset(
    {"warning", "delivery", "coverage", "field_report", "operator_alert", "response"}
)


def prefix_of(code: str | None) -> str | None:
    """The code prefix of an area: a city's four digits (430400 → 4304), a county's six."""
    if code is None:
        return None
    return code[:4] if code.endswith("00") else code


def scope(principal: Principal | None) -> str | None:
    """The ``%(area)s`` parameter for ``principal``: its area's prefix, None for everything."""
    return None if principal is None else prefix_of(principal.area)


def within(prefix: str | None, code: str | None) -> bool:
    """Whether ``code`` (county, township or village) lies in the area of ``prefix``."""
    return prefix is None or (code is not None and code.startswith(prefix))


def label(conn: psycopg.Connection, code: str) -> str:
    """``衡阳市 (430400)``: the area's name when it is loaded, else its code."""
    row = conn.execute(SQL("area_name.sql"), {"code": code}).fetchone()
    name = None if row is None else (row["name"] if isinstance(row, Mapping) else row[0])
    return f"{name} ({code})" if name else code


def outside(conn: psycopg.Connection, principal: Principal, what: str) -> HTTPException:
    """403: ``what`` lies outside the caller's area (named)."""
    area = label(conn, principal.area or "")
    return HTTPException(
        403, f"{what} lies outside your area of responsibility, {area} (不在您的责任区域内)"
    )


def check_codes(
    conn: psycopg.Connection, principal: Principal | None, codes: Iterable[str], what: str
) -> None:
    """403 unless every code lies in the caller's area; ``what`` names them in the message."""
    prefix = scope(principal)
    bad = sorted(c for c in codes if not within(prefix, c))
    if bad:
        shown = ", ".join(bad[:5]) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        raise outside(conn, principal, f"{what} {shown}")


def check_warning(
    conn: psycopg.Connection, principal: Principal | None, warning_id: int, *, act: bool = False
) -> None:
    """403 unless the caller may see (``act``: act on) the warning; nothing for unknown ids
    (the handler's own lookup answers 404)."""
    prefix = scope(principal)
    if prefix is None:
        return
    row = conn.execute(SQL("warning_area.sql"), {"id": warning_id, "area": prefix}).fetchone()
    if row is None:
        return
    seen, owned = (row["seen"], row["owned"]) if isinstance(row, Mapping) else row
    if not seen:
        raise outside(conn, principal, f"warning {warning_id}")
    if act and not owned:
        area = label(conn, principal.area or "")
        raise HTTPException(
            403,
            f"warning {warning_id} covers villages outside your area of responsibility, {area},"
            " or was issued by another bureau: only the issuing bureau (or one above it) may"
            " act on it (只有发布单位或其上级可以处理)",
        )


def event_in_area(prefix: str | None, kind: str, payload: Mapping[str, Any]) -> bool:
    """Whether a live event belongs to the area of ``prefix`` (events of kinds that are not
    area data, e.g. observations, go to everyone). The database adds ``counties`` to every
    payload about a warning or a village (migration 0032)."""
    if prefix is None or kind not in AREA_EVENT_KINDS:
        return True
    counties = payload.get("counties") or []
    return any(isinstance(c, str) and c.startswith(prefix) for c in counties)
