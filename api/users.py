"""Users, roles and bearer tokens: who may read, report, review, command and administer.

Tokens are ``rm_`` plus 43 url-safe characters (256 random bits), shown once when made; only
their SHA-256 is kept, so a copy of the database does not hand out working tokens.
"""

from __future__ import annotations

import hashlib
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
    "verify": frozenset({"forecaster", "commander", "admin"}),  # mark field reports
    "ack": frozenset({"integration", "admin"}),  # delivery acknowledgements, machine feeds
    "admin": frozenset({"admin"}),
}
TOKEN_PREFIX = "rm_"
SESSION_LABEL = "session"  # tokens made by signing in (POST /api/session)


@dataclass(frozen=True)
class Principal:
    """The caller behind a valid token."""

    name: str
    role: str
    display_name: str | None = None

    def may(self, permission: str) -> bool:
        return self.role in PERMISSIONS[permission]


def permissions_of(role: str) -> list[str]:
    """The permissions a role grants, sorted."""
    return sorted(p for p, roles in PERMISSIONS.items() if role in roles)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def add_user(
    conn: psycopg.Connection,
    name: str,
    role: str,
    display_name: str | None = None,
    phone: str | None = None,
) -> None:
    """Create a user or change an existing one's role and names."""
    if role not in ROLES:
        raise InvalidArgumentError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    with conn.transaction():
        conn.execute(
            SQL("user_upsert.sql"),
            {"name": name, "role": role, "display_name": display_name, "phone": phone},
        )


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
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(SQL("token_check.sql"), {"hash": token_hash(token)}).fetchone()
    if row is None:
        return None
    return Principal(row["name"], row["role"], row["display_name"])
