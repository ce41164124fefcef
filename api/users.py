"""Users, roles and bearer tokens: who may read, report, review, command and administer.

Tokens are ``rm_`` plus 43 url-safe characters (256 random bits), shown once when made; only
their SHA-256 is kept, so a copy of the database does not hand out working tokens.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import dict_row

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.errors import InvalidArgumentError, NotFoundError

SQL = SqlFiles("riskmap.api.sql")

ROLES = ("viewer", "reporter", "forecaster", "commander", "admin", "integration")

# What each role may do. Reading issued warnings needs no token at all.
PERMISSIONS: dict[str, frozenset[str]] = {
    "read": frozenset(ROLES),
    "report": frozenset({"reporter", "forecaster", "commander", "admin"}),
    "review": frozenset({"forecaster", "commander", "admin"}),  # approve, edit, reject, escalate
    "cancel": frozenset({"commander", "admin"}),
    # emergency responses: start, raise, lower, end; accept or dismiss the plans' proposals
    "respond": frozenset({"commander", "admin"}),
    "task": frozenset({"reporter", "forecaster", "commander", "admin"}),  # ack / finish tasks
    "verify": frozenset({"forecaster", "commander", "admin"}),  # mark field reports
    "ack": frozenset({"integration", "admin"}),  # delivery acknowledgements, machine feeds
    "readings": frozenset({"integration", "admin"}),  # monitoring devices' gateways (issue 21)
    "duty": frozenset({"forecaster", "commander", "admin"}),  # hand-over notes (交接班记录)
    "admin": frozenset({"admin"}),
}
TOKEN_PREFIX = "rm_"
AREA_CODE = re.compile(r"[1-9]\d{5}")
SESSION_LABEL = "session"  # tokens made by signing in (POST /api/session)


@dataclass(frozen=True)
class Principal:
    """The caller behind a valid token."""

    name: str
    role: str
    display_name: str | None = None
    area: str | None = None  # GB/T 2260 code of a city or county; None = whole installation

    def may(self, permission: str) -> bool:
        return self.role in PERMISSIONS[permission]


def permissions_of(role: str) -> list[str]:
    """The permissions a role grants, sorted."""
    return sorted(p for p, roles in PERMISSIONS.items() if role in roles)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def parse_area(text: str | None) -> str | None:
    """The area code a user is bound to: a city (``430400``) or county (``431226``) GB/T 2260
    code; ``None``, ``""``, ``"all"`` or ``"none"`` mean the whole installation."""
    if text is None or text.strip().lower() in ("", "all", "none"):
        return None
    code = text.strip()
    if not AREA_CODE.fullmatch(code) or code.endswith("0000"):
        raise InvalidArgumentError(
            f"area must be a 6-digit GB/T 2260 city code (like 430400) or county code (like"
            f" 431226), or 'all' for the whole installation; got {text!r}"
        )
    return code


def add_user(
    conn: psycopg.Connection,
    name: str,
    role: str,
    display_name: str | None = None,
    phone: str | None = None,
    area: str | None = None,
) -> None:
    """Create a user or change an existing one's role, names and area (``area`` as
    :func:`parse_area` reads it; an existing user keeps its area when none is given)."""
    if role not in ROLES:
        raise InvalidArgumentError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    params = {"name": name, "role": role, "display_name": display_name, "phone": phone}
    params |= {"area": parse_area(area), "set_area": area is not None}
    with conn.transaction():
        conn.execute(SQL("user_upsert.sql"), params)


def new_token(
    conn: psycopg.Connection,
    name: str,
    label: str | None = None,
    expires_at: datetime | None = None,
) -> str:
    """Make a token for an active user; the only time its clear text exists."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with conn.transaction():
        row = conn.execute(
            SQL("token_insert.sql"),
            {"name": name, "hash": token_hash(token), "label": label, "expires_at": expires_at},
        ).fetchone()
    if row is None:
        raise NotFoundError(f"no active user named {name!r}; add it with `riskmap users add`")
    return token


def revoke_tokens(conn: psycopg.Connection, name: str) -> int:
    """Revoke every token of a user; returns how many were live."""
    with conn.transaction():
        cur = conn.execute(SQL("token_revoke.sql"), {"name": name})
    return cur.rowcount


def revoke_session(conn: psycopg.Connection, token: str) -> bool:
    """Revoke one sign-in token (label ``session``); False when ``token`` is not a live one."""
    with conn.transaction():
        params = {"hash": token_hash(token), "label": SESSION_LABEL}
        row = SQL.one(conn, "session_revoke.sql", params)
    return row is not None


def list_users(conn: psycopg.Connection) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(SQL("user_list.sql")).fetchall()


def authenticate(conn: psycopg.Connection, token: str) -> Principal | None:
    """The principal for a live token of an active user, or None."""
    found = check_token(conn, token)
    return None if found is None else found[0]


def check_token(conn: psycopg.Connection, token: str) -> tuple[Principal, datetime | None] | None:
    """The principal for a live token of an active user and when the token expires, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(SQL("token_check.sql"), {"hash": token_hash(token)}).fetchone()
    if row is None:
        return None
    principal = Principal(row["name"], row["role"], row["display_name"], row["area_code"])
    return principal, row["expires_at"]
