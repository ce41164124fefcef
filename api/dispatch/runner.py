"""The dispatcher loop: claim due outbox rows, deliver them, record every attempt.

Each *lane* holds one connection and works in batches: in one transaction it claims up to
``batch`` due rows (``FOR UPDATE SKIP LOCKED``, so lanes and other dispatchers never take the
same row), delivers them concurrently, and records the outcomes and attempts before committing.
A dispatcher killed mid-batch therefore leaves its rows pending, and the next one delivers them
again: at least once, with the idempotency key for receivers to drop the repeat.

Lanes sleep on ``LISTEN riskmap_outbox`` (the outbox insert trigger) or until the next retry
falls due, never polling in a busy loop; a lost database connection is retried with backoff.
Retry delays come from tenacity's exponential backoff with jitter.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from cryptography.fernet import Fernet
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from tenacity import RetryCallState, wait_exponential_jitter

from riskmap.api.dispatch import keys, receipts
from riskmap.api.dispatch.model import Adapter, Message, Outcome
from riskmap.geo.db.sqlfiles import SqlFiles

SQL = SqlFiles("riskmap.api.dispatch.sql")
log = logging.getLogger("riskmap.dispatch")

CHANNEL = "riskmap_outbox"
IDLE_MAX_S = 30.0  # a safety net: look again at least this often even without a notification
HEARTBEAT_S = 5.0
COVERAGE_EVERY_S = 1.0


@dataclass
class Policy:
    """How hard to try: attempts before a message is dead, and the retry delays."""

    max_attempts: int = 8
    backoff_s: float = 2.0
    backoff_max_s: float = 300.0
    timeout_s: float = 10.0
    batch: int = 100
    lanes: int = 4

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds before attempt ``attempt + 1``: exponential with jitter, at least what the
        receiver asked for (Retry-After)."""
        wait = wait_exponential_jitter(
            multiplier=self.backoff_s, max=self.backoff_max_s, jitter=self.backoff_s
        )
        state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})
        state.attempt_number = attempt
        return max(float(wait(state)), retry_after or 0.0)


@dataclass
class Stats:
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    superseded: int = 0
    batches: int = 0
    started: float = field(default_factory=time.time)


class Dispatcher:
    """Delivers the outbox of one database with the adapters it is given.

    ``adapters`` maps a route (``broadcast:http-json``, ``broadcast:ebm-xml``,
    ``broadcast:mqtt``, ``sms``, ``cap-feed``) to its adapter; channels without an adapter are
    left pending (e.g. SMS while no gateway is configured) and counted in /healthz.
    """

    def __init__(
        self,
        url: str,
        adapters: dict[str, Adapter],
        fernet: Fernet,
        policy: Policy | None = None,
        *,
        name: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.url = url
        # what "now" is when judging whether a message's warning has ended (default: the
        # database's now()); a drill replaying a past day judges by its own scenario time
        self.clock = clock
        self.adapters = adapters
        self.fernet = fernet
        self.policy = policy or Policy()
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.stats = Stats()
        self.skip = [c for c in ("sms", "cap-feed") if c not in adapters]
        self._wake = asyncio.Event()
        self._secrets: dict[tuple[str, int], bytes] = {}
        self._coverage_due: set[int] = set()
        self._coverage_at = 0.0

    # ---- the loop -------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event, *, drain: bool = False) -> Stats:
        """Deliver until ``stop`` is set; ``drain``: return once nothing is due."""
        tasks = [asyncio.create_task(self._lane(i, stop, drain)) for i in range(self.policy.lanes)]
        helpers = []
        if not drain:
            helpers = [
                asyncio.create_task(self._listen(stop)),
                asyncio.create_task(self._heartbeat(stop)),
            ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in helpers:
                t.cancel()
            for t in helpers:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await t
        return self.stats

    async def _lane(self, lane: int, stop: asyncio.Event, drain: bool) -> None:
        conn: psycopg.AsyncConnection | None = None
        failures = 0
        while not stop.is_set():
            try:
                if conn is None or conn.closed:
                    conn = await psycopg.AsyncConnection.connect(
                        self.url, row_factory=dict_row, application_name="riskmap-dispatch"
                    )
                n = await self.batch(conn)
                failures = 0
                if n:
                    continue
                if drain:
                    await self._emit_coverage(conn)
                    return
                await self._sleep(conn, stop)
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                failures += 1
                log.warning("lane %d: database unavailable (%s); retrying", lane, exc)
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()
                conn = None
                await _wait(stop, min(0.5 * 2**failures, 10.0))
            except Exception:  # a bug in one batch must not stop the lane: log, back off, go on
                failures += 1
                log.exception("lane %d: batch failed; its rows stay pending", lane)
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()
                conn = None
                await _wait(stop, min(0.5 * 2**failures, 10.0))
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    async def _sleep(self, conn: psycopg.AsyncConnection, stop: asyncio.Event) -> None:
        """Until a notification, the next retry falling due, or stop."""
        await self._emit_coverage(conn)
        cur = await conn.execute(SQL("next_due.sql"), {"skip_channels": self.skip})
        due = await cur.fetchone()
        await conn.rollback()
        gap = next(iter(due.values())) if due else None
        # due rows this lane could not claim are held by another lane or dispatcher, or wait for
        # an older version in flight: look again in half a second, not in a tight loop
        timeout = IDLE_MAX_S if gap is None else min(gap if gap > 0 else 0.5, IDLE_MAX_S)
        waiter = asyncio.ensure_future(self._wake.wait())
        stopper = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({waiter, stopper}, timeout=timeout, return_when="FIRST_COMPLETED")
        finally:
            waiter.cancel()
            stopper.cancel()
        self._wake.clear()

    async def _listen(self, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(
                    self.url, autocommit=True, application_name="riskmap-dispatch-listen"
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self._wake.set()  # rows may have come while we were not listening
                    failures = 0
                    async for _ in conn.notifies():
                        self._wake.set()
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                failures += 1
                log.warning("listener: database unavailable (%s); retrying", exc)
                await _wait(stop, min(0.5 * 2**failures, 10.0))

    async def _heartbeat(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            with contextlib.suppress(psycopg.Error, OSError):
                async with await psycopg.AsyncConnection.connect(
                    self.url, autocommit=True, application_name="riskmap-dispatch-heartbeat"
                ) as conn:
                    while not stop.is_set():
                        s = self.stats
                        detail = {
                            "dispatcher": self.name,
                            "delivered": s.delivered,
                            "retried": s.retried,
                            "dead": s.dead,
                            "waiting_channels": self.skip,
                        }
                        await conn.execute(SQL("heartbeat.sql"), {"detail": Jsonb(detail)})
                        await _wait(stop, HEARTBEAT_S)
            await _wait(stop, 1.0)

    # ---- one batch --------------------------------------------------------------------------

    async def batch(self, conn: psycopg.AsyncConnection) -> int:
        """Claim, deliver and record one batch; returns the rows handled (0: nothing due)."""
        async with conn.transaction():
            cur = await conn.execute(
                SQL("claim.sql"),
                {
                    "limit": self.policy.batch,
                    "skip_channels": self.skip,
                    "clock": self.clock() if self.clock else None,
                },
            )
            rows = await cur.fetchall()
            if not rows:
                return 0
            results = await asyncio.gather(*(self._one(r) for r in rows))
            await conn.execute(SQL("record.sql"), self._record_params(rows, results))
            texted = [
                r["id"]
                for r, (kind, *_) in zip(rows, results, strict=True)
                if r["channel"] == "sms" and kind == "delivered"
            ]
            if texted:  # receipts that came before we recorded the row as sent
                await receipts.apply_receipts_async(conn, texted)
        # response-task SMS rows have no warning (migration 0033): no coverage to count
        self._coverage_due.update(r["warning_id"] for r in rows if r["warning_id"] is not None)
        if time.monotonic() - self._coverage_at >= COVERAGE_EVERY_S:
            await self._emit_coverage(conn)
        self.stats.batches += 1
        return len(rows)

    async def _emit_coverage(self, conn: psycopg.AsyncConnection) -> None:
        """A coverage event per warning delivered to since the last one: after commits (so the
        newest event counts every batch before it), at most once a second per lane (the
        count runs over all the warning's messages), and when the lane goes idle."""
        if not self._coverage_due:
            return
        touched, self._coverage_due = sorted(self._coverage_due), set()
        self._coverage_at = time.monotonic()
        async with conn.transaction():
            await conn.execute(SQL("coverage_event.sql"), {"warning_ids": touched})

    async def _one(self, row: dict[str, Any]) -> tuple[str, Outcome, float, datetime]:
        at = datetime.now(UTC)
        if row["ended"]:
            return "expired", Outcome(False, retry=False, error="expired before delivery"), 0.0, at
        if row["stale"]:
            err = "a newer version replaced it before delivery"
            return "superseded", Outcome(False, retry=False, error=err), 0.0, at
        route = row["channel"]
        if route == "broadcast":
            route = f"broadcast:{row['payload'].get('protocol', 'http-json')}"
        adapter = self.adapters.get(route)
        attempt = row["attempts"] + 1
        t0 = time.perf_counter()
        if adapter is None:
            outcome = Outcome(False, retry=False, error=f"no adapter for {route}")
        else:
            try:
                msg = self._message(row, attempt)
                outcome = await asyncio.wait_for(
                    adapter.deliver(msg), timeout=self.policy.timeout_s + 5
                )
            except keys.InstallationKeyError as exc:
                outcome = Outcome(False, retry=True, error=str(exc))
            except TimeoutError:
                outcome = Outcome(False, retry=True, error="delivery timed out")
            except Exception as exc:  # an adapter bug must not lose the message
                log.exception("adapter %s failed on outbox %s", route, row["id"])
                outcome = Outcome(False, retry=True, error=f"{type(exc).__name__}: {exc}")
        latency = (time.perf_counter() - t0) * 1000
        if outcome.delivered:
            kind = "delivered"
        elif not outcome.retry or attempt >= self.policy.max_attempts:
            kind = "dead"
        else:
            kind = "retry"
        return kind, outcome, latency, at

    def _message(self, row: dict[str, Any], attempt: int) -> Message:
        kid = secret = None
        if row["key_version"] is not None:
            cache_key = (row["target"], row["key_version"])
            secret = self._secrets.get(cache_key)
            if secret is None:
                secret = keys.decrypt(self.fernet, row["key_secret"])
                self._secrets[cache_key] = secret
            kid = keys.key_id(row["target"], row["key_version"])
        return Message(
            id=row["id"],
            warning_id=row["warning_id"],
            version=row["version"],
            channel=row["channel"],
            target=row["target"],
            payload=row["payload"],
            idempotency_key=row["idempotency_key"],
            attempt=attempt,
            key_id=kid,
            secret=secret,
        )

    def _record_params(self, rows: list[dict], results: list[tuple]) -> dict[str, Any]:
        now = datetime.now(UTC)
        p: dict[str, list] = {k: [] for k in ("ids", "outcome", "status_code", "latency_ms")}
        p.update({k: [] for k in ("error", "next_at", "provider_ref", "at")})
        for row, (kind, oc, latency, at) in zip(rows, results, strict=True):
            attempt = row["attempts"] + 1
            p["ids"].append(row["id"])
            p["outcome"].append(kind)
            p["status_code"].append(oc.status_code)
            p["latency_ms"].append(round(latency, 3))
            p["error"].append(None if oc.delivered else (oc.error or "failed")[:2000])
            nxt = None
            if kind == "retry":
                nxt = now + timedelta(seconds=self.policy.delay(attempt, oc.retry_after))
            p["next_at"].append(nxt)
            p["provider_ref"].append(oc.provider_ref)
            p["at"].append(at)
            s = self.stats
            if kind == "delivered":
                s.delivered += 1
            elif kind == "retry":
                s.retried += 1
            elif kind == "dead":
                s.dead += 1
                log.error("outbox %s dead after %d attempts: %s", row["id"], attempt, oc.error)
            else:
                s.superseded += 1
        p["dispatcher"] = self.name
        return p

    async def aclose(self) -> None:
        for adapter in {id(a): a for a in self.adapters.values()}.values():
            with contextlib.suppress(Exception):
                await adapter.aclose()


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
