"""Bearer-token authentication, role checks and write rate limits as FastAPI dependencies.

401 means "who are you?" (no token, unknown, revoked or expired) and carries
``WWW-Authenticate: Bearer``; 403 means "you may not" (valid token, wrong role); 429 means
"slow down" on write actions, with ``Retry-After``. Write limits are counted per user in
PostgreSQL (``api/ratelimit.py``), so every worker of every instance shares one allowance.

Token checks are cached per worker (:class:`TokenCache`) for every route — JSON, tiles and
live events alike — and the cache is emptied by the ``tokens`` notification that migrations
0019/0023 send when a token or user changes, in every worker of every instance at once; a
revoked token is refused as soon as its revocation's notification arrives (milliseconds after
the commit). Checks also lapse after a minute, or when the token expires if sooner. Open event
streams are checked again on each of those notifications (:meth:`TokenCache.on_change`,
api/stream_guard.py): a revoked token's streams end at once, in every instance.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Annotated, Any

import psycopg
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from limits import RateLimitItem

from riskmap.api import ratelimit
from riskmap.api.deps import Connection
from riskmap.api.notices import Listener
from riskmap.api.openapi import answers
from riskmap.api.users import PERMISSIONS, Principal, authenticate, check_token

log = logging.getLogger("riskmap.auth")

_bearer = HTTPBearer(auto_error=False, description="Token from `riskmap users token NAME`")

Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]

CHANNEL = "riskmap_tiles"  # the invalidation channel of migration 0019 (payload 'tokens')
TOKEN_TTL_S = 60.0
MAX_CACHED = 10_000


class TokenCache:
    """This worker's successful token checks; unknown tokens are never cached."""

    def __init__(self, database_url: str) -> None:
        self._checks: dict[str, tuple[Principal, float]] = {}
        self._generation = 0
        self._lock = threading.Lock()
        self._watchers: list[Callable[[], None]] = []
        self.listener = Listener(database_url, CHANNEL, "riskmap-tokens", self._notice)

    def start(self) -> None:
        self.listener.start()

    def stop(self) -> None:
        self.listener.stop()

    def cached(self, token: str) -> Principal | None:
        """The principal of a check still valid, without a query (None: ask the database)."""
        if not self.listener.active:
            return None
        hit = self._checks.get(token)
        if hit is None or hit[1] < time.monotonic():
            return None
        return hit[0]

    def check(self, conn: psycopg.Connection, token: str) -> Principal | None:
        """The principal for ``token`` from the cache or the database (None: not a live one)."""
        hit = self.cached(token)
        if hit is not None:
            return hit
        generation = self._generation  # a change notified during the query voids its answer
        found = check_token(conn, token)
        if found is None:
            return None
        principal, expires_at = found
        ttl = TOKEN_TTL_S
        if expires_at is not None:
            ttl = min(ttl, (expires_at - datetime.now(UTC)).total_seconds())
        with self._lock:
            if self.listener.active and generation == self._generation and ttl > 0:
                if len(self._checks) >= MAX_CACHED:
                    self._checks.clear()
                self._checks[token] = (principal, time.monotonic() + ttl)
        return principal

    def on_change(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` after each emptying of the cache (a token or user changed, or
        the listener reconnected), from the listener's thread: it must only hand work on."""
        self._watchers.append(callback)

    def _notice(self, payload: str) -> None:
        if payload in ("tokens", "all"):
            with self._lock:
                self._generation += 1
                self._checks.clear()
            for callback in list(self._watchers):
                try:
                    callback()
                except Exception:  # never the listener's end: its caches must keep emptying
                    log.exception("token change callback failed")


def lookup(app: Any, token: str, conn: psycopg.Connection | None = None) -> Principal | None:
    """The caller behind ``token`` through the app's token cache (when it runs); ``conn`` or a
    pooled connection of its own (committed: the check notes the token's use) on a miss."""
    cache: TokenCache | None = getattr(app.state, "tokens", None)
    if cache is not None:
        hit = cache.cached(token)
        if hit is not None:
            return hit
    if conn is None:
        with app.state.pool.connection() as own:
            principal = cache.check(own, token) if cache else authenticate(own, token)
            own.commit()
        return principal
    return cache.check(conn, token) if cache else authenticate(conn, token)


def unauthorised(detail: str) -> HTTPException:
    """401 with the Bearer challenge: the caller is unknown (no, bad or revoked token)."""
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


def known(request: Request, token: str, conn: psycopg.Connection | None = None) -> Principal:
    """The caller behind ``token`` (noted on the request for the access log), else 401."""
    principal = lookup(request.app, token, conn)
    if principal is None:
        raise unauthorised("token unknown, revoked or expired")
    request.state.user = principal.name
    return principal


@answers(401, token="optional")
def optional_principal(request: Request, conn: Connection, creds: Credentials) -> Principal | None:
    """The caller if a token was sent (a bad token is still an error), else None."""
    return None if creds is None else known(request, creds.credentials, conn)


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


@lru_cache(maxsize=16)
def _limit(text: str) -> RateLimitItem:
    return ratelimit.limit_of(text)


def require(permission: str, *, write: bool = False):
    """A dependency that admits callers whose role grants ``permission``.

    ``write=True`` also applies the per-user write rate limit (settings ``write_rate_limit``).
    """
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    def dependency(request: Request, conn: Connection, principal: OptionalPrincipal) -> Principal:
        if principal is None:
            raise unauthorised("this needs a bearer token")
        if not principal.may(permission):
            raise HTTPException(
                403, f"role {principal.role!r} may not {permission}; ask an administrator"
            )
        if write:
            limit = _limit(request.app.state.settings.write_rate_limit)
            verdict = ratelimit.check(conn, "write", principal.name, limit)  # commits the check
            if not verdict.allowed:
                detail = f"too many write actions ({limit}); try again later"
                headers = {"Retry-After": str(verdict.retry_after)}
                raise HTTPException(429, detail, headers=headers)
        return principal

    return answers(401, 403, *([429] if write else []), token="required")(dependency)


Reader = Annotated[Principal, Depends(require("read"))]
