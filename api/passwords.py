"""Sign-in passwords for people at the web console: argon2id hashes, checked in constant work.

Only the PHC string of an argon2id hash is stored (``app_user.password_hash``, migration 0029).
Checking a name that does not exist, is inactive or has no password still runs one argon2
verification, against a dummy hash made with the same parameters, so the time taken does not
tell which names exist. Hashes made with weaker parameters than the current ones are replaced
at the next successful sign-in.
"""

from __future__ import annotations

import secrets
import threading
from functools import cache

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from riskmap.api.users import SQL, Principal
from riskmap.geo.errors import InvalidArgumentError, NotFoundError

MIN_LENGTH = 10
MAX_LENGTH = 1000  # longer input only costs hashing time
TOO_SHORT = f"密码至少需要 {MIN_LENGTH} 个字符 The password needs at least {MIN_LENGTH} characters"

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile: 64 MiB, 3 passes
# Each hash holds 64 MiB while it runs: a burst of sign-ins queues here instead of taking
# the memory of the whole API thread pool at once.
_hashing = threading.BoundedSemaphore(4)


def check_strength(password: str) -> None:
    """Raise InvalidArgumentError for a password too short (or absurdly long) to accept."""
    if len(password) < MIN_LENGTH:
        raise InvalidArgumentError(TOO_SHORT)
    if len(password) > MAX_LENGTH:
        raise InvalidArgumentError(
            f"密码最多 {MAX_LENGTH} 个字符 The password may have at most {MAX_LENGTH} characters"
        )


def hash_password(password: str) -> str:
    """The argon2id PHC string of ``password`` (salted: two calls give different strings)."""
    with _hashing:
        return _hasher.hash(password)


def set_password(conn: psycopg.Connection, name: str, password: str) -> None:
    """Give an existing user a (new) sign-in password; the user's tokens stay valid."""
    check_strength(password)
    hashed = hash_password(password)
    with conn.transaction():
        row = SQL.one(conn, "user_password_set.sql", {"name": name, "hash": hashed})
    if row is None:
        raise NotFoundError(f"no user named {name!r}; add it with `riskmap users add`")


@cache
def _dummy_hash() -> str:
    """A hash nobody knows the password of, with the current parameters (made once)."""
    return _hasher.hash(secrets.token_urlsafe(32))


def _matches(stored: str, password: str) -> bool:
    try:
        with _hashing:
            return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def check_password(conn: psycopg.Connection, name: str, password: str) -> Principal | None:
    """The principal when ``name`` is an active user whose password is ``password``, else None.

    Unknown names, inactive users and users without a password cost the same argon2 work as a
    wrong password, and all give None.
    """
    dummy = _dummy_hash()  # made before the look-up: the first call is slow for any name
    row = SQL.one(conn, "user_password_get.sql", {"name": name})
    stored = row["password_hash"] if row is not None and row["active"] else None
    if len(password) > MAX_LENGTH:  # never accepted by set_password
        stored = None
    ok = _matches(stored or dummy, password[:MAX_LENGTH])
    if stored is None or not ok:
        return None
    if _hasher.check_needs_rehash(stored):
        params = {"name": name, "old": stored, "new": hash_password(password)}
        with conn.transaction():
            conn.execute(SQL("user_password_rehash.sql"), params)
    return Principal(row["name"], row["role"], row["display_name"], row["area_code"])
