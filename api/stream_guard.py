"""Open event streams end when their token stops being valid, in every instance at once.

A Server-Sent Events stream (``GET /api/events``) checks its token once, when it opens, and may
then stay open for hours; without more, a revoked token's wall map would keep receiving events
until it reconnected. Each worker keeps one :class:`StreamGuard` of its streams opened with a
token. When the token cache is emptied — the ``tokens`` notification that every instance's
workers receive when a token or user changes (api/auth.py), or the cache's listener
reconnecting — the guard checks each distinct token of its streams again, all on one pooled
connection in a thread, and ends the streams whose token is no longer valid (revoked, expired,
user deactivated) or whose caller changed (role or area: the stream's filters were built for
the old one). The client's reconnect then gets 401, or a stream with the new filters.

Checks coalesce: a notification arriving during a check makes one more check afterwards (the
first may have read the database before the change committed), never one per stream. Every
``RECHECK_S`` seconds the tokens are checked again through the cache as well, which ends the
streams of tokens that expired and covers a listener that lost its connection; those checks
are answered by the cache without a query while it holds a fresh check.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from riskmap.api.auth import TOKEN_TTL_S, TokenCache
from riskmap.api.users import Principal, authenticate

log = logging.getLogger("riskmap.events")

RECHECK_S = TOKEN_TTL_S


@dataclass(eq=False)  # compared and hashed by identity: kept in a set
class Watch:
    """One open stream: its token, the caller it was opened for, how to end it."""

    token: str
    principal: Principal
    end: Callable[[], None]
    reason: str | None = None  # why the guard ended it: "revoked" or "changed"


class StreamGuard:
    """This worker's streams opened with a token, checked again when tokens change."""

    def __init__(self, app: Any, cache: TokenCache | None, loop: asyncio.AbstractEventLoop):
        self.app = app
        self.cache = cache
        self.loop = loop
        self.watches: set[Watch] = set()
        self._checking: asyncio.Task | None = None
        self._again = False
        self._ticker: asyncio.Task | None = None
        if cache is not None:
            cache.on_change(self.changed)

    def watch(self, token: str, principal: Principal, end: Callable[[], None]) -> Watch:
        """Guard a stream from now on. A change notified between the stream's own token check
        and this call would be missed, so the token is checked once more now (the cache
        answers, unless a change emptied it meanwhile)."""
        w = Watch(token, principal, end)
        self.watches.add(w)
        if self._ticker is None:
            self._ticker = self.loop.create_task(self._tick(), name="riskmap-stream-guard")
        self._recheck_soon()
        return w

    def unwatch(self, w: Watch) -> None:
        self.watches.discard(w)
        if not self.watches and self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None

    def changed(self) -> None:
        """The token cache was emptied (called from its listener thread)."""
        if self.watches and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._recheck_soon)

    def _recheck_soon(self) -> None:
        if not self.watches:
            return
        if self._checking is not None:
            self._again = True  # the running check may predate the change: once more after it
            return
        self._checking = self.loop.create_task(self._recheck(), name="riskmap-stream-recheck")

    async def _recheck(self) -> None:
        try:
            while True:
                self._again = False
                tokens = {w.token for w in self.watches}
                try:
                    verdicts = await asyncio.to_thread(self._check, tokens)
                except Exception as exc:  # the database away: keep the streams, check later
                    log.warning("could not check the event streams' tokens (%s)", exc)
                    return
                for w in list(self.watches):
                    now = verdicts.get(w.token, w.principal)
                    if now is None or _view(now) != _view(w.principal):
                        w.reason = "revoked" if now is None else "changed"
                        self.unwatch(w)
                        log.info("event stream of %s ended: token %s", w.principal.name, w.reason)
                        w.end()
                if not self._again or not self.watches:
                    return
        finally:
            self._checking = None

    def _check(self, tokens: set[str]) -> dict[str, Principal | None]:
        """The caller behind each token now (None: no longer valid); runs in a thread. Cached
        checks first; the others on one pooled connection."""
        verdicts: dict[str, Principal | None] = {}
        misses = []
        for token in tokens:
            hit = self.cache.cached(token) if self.cache is not None else None
            if hit is None:
                misses.append(token)
            else:
                verdicts[token] = hit
        if misses:
            with self.app.state.pool.connection() as conn:
                for token in misses:
                    if self.cache is not None:
                        verdicts[token] = self.cache.check(conn, token)
                    else:
                        verdicts[token] = authenticate(conn, token)
                conn.commit()  # the checks note the tokens' use
        return verdicts

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(RECHECK_S)
            self._recheck_soon()


def _view(p: Principal) -> tuple[str, str, str | None]:
    """What a stream's filters depend on (a new display name does not end it)."""
    return p.name, p.role, p.area


def guard_of(app: Any) -> StreamGuard:
    """The app's guard for this event loop (made on the first stream)."""
    loop = asyncio.get_running_loop()
    cache = getattr(app.state, "tokens", None)
    guard: StreamGuard | None = getattr(app.state, "stream_guard", None)
    if guard is None or guard.loop is not loop or guard.cache is not cache:
        guard = StreamGuard(app, cache, loop)
        app.state.stream_guard = guard
    return guard
