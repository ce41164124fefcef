"""Per-terminal signing secrets: made, rotated, exported and looked up.

Secrets must be readable by the dispatcher to sign (HMAC needs the secret itself, so a hash will
not do); they are kept encrypted with the installation's key (Fernet: AES-128-CBC + HMAC, from
the ``cryptography`` package) so a database dump alone does not let anyone forge a broadcast.
The installation key comes from ``RISKMAP_SECRET_KEY`` or a 0600 file in the data directory.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
from psycopg.rows import tuple_row

from riskmap.geo.db.sqlfiles import SqlFiles

# cryptography is imported by the first key made or secret read, not by every API worker's start
# (the signed acknowledgement routes import this module)
if TYPE_CHECKING:
    from cryptography.fernet import Fernet

SQL = SqlFiles("riskmap.api.dispatch.sql")


class InstallationKeyError(RuntimeError):
    """The installation key is missing or cannot decrypt a stored secret."""


def installation_key(secret_key: str | None, key_file: Path) -> Fernet:
    """The Fernet that encrypts terminal secrets; a new key file is made on first use."""
    from cryptography.fernet import Fernet

    if secret_key:
        return Fernet(secret_key.encode())
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(Fernet.generate_key())
    return Fernet(key_file.read_bytes().strip())


def _rows(conn: psycopg.Connection, name: str, params: dict | None = None) -> list[tuple]:
    """Plain tuples whatever the connection's row factory (the API's gives dicts)."""
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(SQL(name), params)
        return cur.fetchall()


def key_id(terminal_id: str, version: int) -> str:
    return f"{terminal_id}:v{version}"


def parse_key_id(kid: str) -> tuple[str, int] | None:
    terminal, _, ver = kid.rpartition(":v")
    return (terminal, int(ver)) if terminal and ver.isdigit() else None


def decrypt(fernet: Fernet, blob: bytes) -> bytes:
    from cryptography.fernet import InvalidToken

    try:
        return fernet.decrypt(bytes(blob))
    except InvalidToken:
        raise InstallationKeyError(
            "a stored terminal secret cannot be decrypted with this installation key"
            " (RISKMAP_SECRET_KEY or data_dir/secret.key changed?)"
        ) from None


def ensure_keys(conn: psycopg.Connection, fernet: Fernet) -> int:
    """Give every terminal without a key its first one; returns how many were made."""
    todo = [r[0] for r in _rows(conn, "keys_missing.sql")]
    for tid in todo:
        conn.execute(
            SQL("keys_insert.sql"),
            {"terminal_id": tid, "secret": fernet.encrypt(secrets.token_bytes(32))},
        )
    return len(todo)


def rotate(conn: psycopg.Connection, fernet: Fernet, terminal_id: str) -> tuple[str, bytes]:
    """A new key for one terminal; older ones keep verifying until :func:`retire_old`."""
    secret = secrets.token_bytes(32)
    row = _rows(
        conn, "keys_insert.sql", {"terminal_id": terminal_id, "secret": fernet.encrypt(secret)}
    )
    if not row:
        raise LookupError(f"no broadcast terminal {terminal_id!r}")
    return key_id(terminal_id, row[0][0]), secret


def retire_old(conn: psycopg.Connection, terminal_id: str) -> int:
    """Retire every key of a terminal but its newest (the end of a rotation)."""
    return conn.execute(SQL("keys_retire.sql"), {"terminal_id": terminal_id}).rowcount


def secrets_for(conn: psycopg.Connection, fernet: Fernet, kid: str) -> list[bytes]:
    """The unretired secret a key id names (empty when unknown or retired)."""
    parsed = parse_key_id(kid)
    if parsed is None:
        return []
    rows = _rows(conn, "keys_lookup.sql", {"terminal_id": parsed[0], "version": parsed[1]})
    return [decrypt(fernet, r[0]) for r in rows]


def export(conn: psycopg.Connection, fernet: Fernet, area: str | None = None) -> dict[str, str]:
    """Unretired keys as {key id: base64 secret}: what a controller is given. ``area``: only
    the terminals of villages whose code starts with it (a township's controller gets its own
    terminals' keys, not the county's, which would let it forge another township's)."""
    rows = _rows(conn, "keys_export.sql", {"area": area or ""})
    return {
        key_id(tid, ver): base64.b64encode(decrypt(fernet, blob)).decode()
        for tid, ver, blob in rows
    }
