"""Reading and writing warning rows: the small database steps the lifecycle is made of.

Nothing here opens a transaction; the lifecycle's public functions wrap these in one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.errors import DataError, NotFoundError
from riskmap.geo.vocabulary import BEIJING
from riskmap.geo.warnings import cap

SQL = SqlFiles("riskmap.geo.warnings.sql")
Row = dict[str, Any]
# warning columns the lifecycle may set directly (the area goes through set_area; expires_at
# is derived by the database from the version in force, migration 0026: never set it here)
_WARNING_FIELDS = frozenset(
    {"rule_version", "colour", "action", "status", "review", "current_version",
     "published_version", "last_fired_at", "hold_hours", "ended_at"}
)  # fmt: skip


def _run(conn: psycopg.Connection, name: str, params: dict[str, Any]) -> psycopg.Cursor:
    cur = conn.cursor(row_factory=dict_row)
    cur.execute(SQL(name), params)
    return cur


def county_of(conn: psycopg.Connection, villages: list[str]) -> tuple[str, str]:
    """GB/T 2260 code and name of the one county the villages lie in; unknown codes raise."""
    rows = _run(conn, "villages.sql", {"villages": villages}).fetchall()
    missing = sorted(set(villages) - {r["code"] for r in rows})
    if missing:
        raise DataError(f"unknown village codes: {', '.join(missing[:10])}")
    counties = {(r["county_code"], r["county_name"] or r["county_code"]) for r in rows}
    if len(counties) != 1:
        raise DataError(f"a warning's villages must lie in one county, got {sorted(counties)}")
    return counties.pop()


def issuer_of(conn: psycopg.Connection, warning: Row, villages: list[str]) -> tuple[str, str]:
    """GB/T 2260 code and name of the bureau issuing a warning: its ``issuer_code`` (a city or
    county, whose area must hold every village), else the one county its villages lie in."""
    issuer = warning.get("issuer_code")
    if issuer is None:
        return county_of(conn, villages)
    rows = _run(conn, "villages.sql", {"villages": villages}).fetchall()
    missing = sorted(set(villages) - {r["code"] for r in rows})
    if missing:
        raise DataError(f"unknown village codes: {', '.join(missing[:10])}")
    prefix = issuer[:4] if issuer.endswith("00") else issuer
    outside = sorted(r["code"] for r in rows if not r["code"].startswith(prefix))
    if outside:
        raise DataError(f"villages outside the issuer {issuer}: {', '.join(outside[:10])}")
    row = _run(conn, "unit_name.sql", {"code": issuer}).fetchone()
    if row is None:
        raise DataError(f"unknown issuer {issuer}: no city or county with that code is loaded")
    return issuer, row["name"]


def lock_rule(conn: psycopg.Connection, rule_id: str, hazard: str) -> None:
    """Serialise lifecycle runs of one rule so two runners cannot open twin warnings."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"warning:{rule_id}/{hazard}",))


def open_warnings(conn: psycopg.Connection, rule_id: str, hazard: str, at: datetime) -> list[Row]:
    """Candidate and issued warnings of a rule and hazard in force at ``at``, locked."""
    params = {"rule_id": rule_id, "hazard": hazard, "at": at}
    return _run(conn, "open_warnings.sql", params).fetchall()


def open_candidates(conn: psycopg.Connection, hazard: str, at: datetime) -> list[Row]:
    """Candidates of a hazard (any rule) still in force at ``at``, locked for update."""
    return _run(conn, "open_candidates.sql", {"hazard": hazard, "at": at}).fetchall()


def lock_warning(conn: psycopg.Connection, warning_id: int) -> Row:
    """The warning row, locked for update; NotFoundError when there is none."""
    row = _run(conn, "lock_warning.sql", {"id": warning_id}).fetchone()
    if row is None:
        raise NotFoundError(f"no warning {warning_id}")
    return row


def stale_warnings(
    conn: psycopg.Connection, at: datetime, rule_id: str | None = None, hazard: str | None = None
) -> list[Row]:
    """Open warnings whose expiry passed by ``at`` (of one rule and hazard if given), locked."""
    params = {"at": at, "rule_id": rule_id, "hazard": hazard}
    return _run(conn, "stale_warnings.sql", params).fetchall()


def _plain(obj: object) -> dict:
    if isinstance(obj, Mapping):  # a rule's evidence table (riskmap.geo.rules.evidence)
        return dict(obj.items())
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _jsonb(obj: object) -> Jsonb:
    """``Jsonb`` that also writes any mapping (the rules engine's evidence is a read-only
    mapping made from columns, not a dict) as a JSON object."""
    return Jsonb(obj, dumps=lambda o: json.dumps(o, default=_plain))


def record_firing(
    conn: psycopg.Connection,
    warning_id: int,
    villages: list[str],
    at: datetime,
    colour: str,
    numbers: dict[str, Any],
) -> None:
    """Remember that the rule fired for these villages of the warning at ``at`` (and why)."""
    params = {
        "id": warning_id,
        "villages": villages,
        "at": at,
        "colour": colour,
        "numbers": _jsonb(numbers),
    }
    _run(conn, "fired_villages.sql", params)


def village_firings(conn: psycopg.Connection, warning_id: int) -> dict[str, Row]:
    """Per village of the warning's area: ``last_fired_at`` and the latest ``numbers``."""
    rows = _run(conn, "village_firings.sql", {"id": warning_id}).fetchall()
    return {r["code"]: r for r in rows}


def covering_warnings(
    conn: psycopg.Connection,
    hazard: str,
    colours: list[str],
    villages: list[str],
    at: datetime,
    exclude: list[int],
) -> list[Row]:
    """Issued warnings of the hazard in force at ``at`` at one of ``colours`` that cover some of
    ``villages`` (``covered``), other than the ``exclude`` ids."""
    params = {
        "hazard": hazard,
        "colours": colours,
        "villages": villages,
        "at": at,
        "exclude": exclude,
    }
    return _run(conn, "covering_warnings.sql", params).fetchall()


def upstream_conflicts(
    conn: psycopg.Connection, hazard: str, colour: str, villages: list[str], at: datetime
) -> list[Row]:
    """Upstream CAP signals in force at ``at`` for the hazard over some of the villages at
    another colour than ``colour``."""
    params = {"hazard": hazard, "colour": colour, "villages": villages, "at": at}
    return _run(conn, "upstream_conflicts.sql", params).fetchall()


def insert_warning(conn: psycopg.Connection, params: dict[str, Any]) -> int:
    """Insert a candidate warning (its geometry the union of its villages); returns its id.
    ``issuer_code`` (optional): the issuing city or county bureau (NULL: its villages' county)."""
    params = {"issuer_code": None} | params
    return _run(conn, "insert_warning.sql", params).fetchone()["id"]


def update_warning(conn: psycopg.Connection, warning_id: int, **fields: Any) -> None:
    """Set some warning columns (names checked against a fixed list) and ``updated_at``."""
    unknown = set(fields) - _WARNING_FIELDS
    if unknown:
        raise ValueError(f"cannot set warning columns {sorted(unknown)}")
    sets = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(k), sql.Placeholder(k)) for k in fields
    )
    query = sql.SQL("UPDATE warning SET {}, updated_at = now() WHERE id = {}").format(
        sets, sql.Placeholder("id")
    )
    conn.execute(query, {**fields, "id": warning_id})


def set_area(conn: psycopg.Connection, warning_id: int, villages: list[str]) -> None:
    """Set the warning's villages; its geometry becomes the union of their polygons."""
    _run(conn, "update_area.sql", {"id": warning_id, "village_codes": villages})


def save_version(conn: psycopg.Connection, warning_id: int, version: int, content: Row) -> None:
    """Insert a draft version or rewrite the draft in place (published ones refuse)."""
    params = {**content, "warning_id": warning_id, "version": version}
    params["evidence"] = _jsonb(content["evidence"])
    _run(conn, "save_version.sql", params)


def get_version(conn: psycopg.Connection, warning_id: int, version: int) -> Row:
    """One version row."""
    return _run(conn, "get_version.sql", {"id": warning_id, "version": version}).fetchone()


def next_version(conn: psycopg.Connection, warning_id: int) -> int:
    """The number a new version gets (discarded drafts keep their numbers)."""
    return (_run(conn, "max_version.sql", {"id": warning_id}).fetchone()["v"] or 0) + 1


def discard_version(conn: psycopg.Connection, warning_id: int, version: int) -> None:
    """Mark a draft as discarded (it was never sent; it stays in the history)."""
    _run(conn, "discard_version.sql", {"id": warning_id, "version": version})


def _allocate_identifier(
    conn: psycopg.Connection, prefix: str, at: datetime
) -> tuple[str, datetime]:
    """A free identifier for ``at`` (to the second), moving to the next second when the nine
    serials of a second are used; the sender's lock keeps two publishers apart."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"cap-id:{prefix}",))
    sent = at.replace(microsecond=0)
    while True:
        stamp = sent.astimezone(BEIJING).strftime("%Y%m%d%H%M%S")
        pattern = f"{prefix}\\_{stamp}\\_%"
        taken = {
            r["cap_identifier"]
            for r in _run(conn, "identifiers_taken.sql", {"pattern": pattern}).fetchall()
        }
        for serial in cap.SERIALS:
            ident = cap.identifier(prefix, sent, serial)
            if ident not in taken:
                return ident, sent
        sent += timedelta(seconds=1)


def publish_version(
    conn: psycopg.Connection, warning_id: int, version: int, county: str, at: datetime
) -> Row:
    """Give a draft its CAP identifier, sender, sent time and references; it becomes immutable."""
    earlier = [
        (r["cap_sender"], r["cap_identifier"], r["cap_sent"])
        for r in _run(conn, "published_refs.sql", {"id": warning_id}).fetchall()
    ]
    ident, sent = _allocate_identifier(conn, cap.sender_prefix(county), at)
    params = {
        "id": warning_id,
        "version": version,
        "identifier": ident,
        "sender": cap.sender_address(county),
        "sent": sent,
        "references": cap.references(earlier),
    }
    row = _run(conn, "publish_version.sql", params).fetchone()
    if row is None:
        raise DataError(f"warning {warning_id} version {version} is not a draft")
    return row


def audit(
    conn: psycopg.Connection,
    warning_id: int,
    version: int | None,
    action: str,
    actor: str,
    at: datetime,
    reason: str | None,
    details: dict[str, Any],
) -> None:
    """Append one row to the audit log."""
    params = {
        "warning_id": warning_id,
        "version": version,
        "action": action,
        "actor": actor,
        "at": at,
        "reason": reason,
        "details": _jsonb(details),
    }
    _run(conn, "insert_audit.sql", params)


def outbox(conn: psycopg.Connection, name: str, params: dict[str, Any]) -> int:
    """Write outbox rows with one of the outbox_*.sql statements; returns rows written."""
    return _run(conn, name, params).rowcount


def supersede_older(conn: psycopg.Connection, warning_id: int, version: int) -> int:
    """Mark undelivered messages of older versions to the same targets superseded."""
    params = {"warning_id": warning_id, "version": version}
    return _run(conn, "outbox_supersede.sql", params).rowcount


def read_warning(conn: psycopg.Connection, warning_id: int) -> dict[str, Any]:
    """The warning with ``geometry`` (GeoJSON), ``versions`` and ``audit`` lists."""
    row = _run(conn, "get_warning.sql", {"id": warning_id}).fetchone()
    if row is None:
        raise NotFoundError(f"no warning {warning_id}")
    row.pop("geom", None)
    row["versions"] = _run(conn, "get_versions.sql", {"id": warning_id}).fetchall()
    row["audit"] = _run(conn, "get_audit.sql", {"id": warning_id}).fetchall()
    return row
