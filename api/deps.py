"""Request dependencies: a pooled connection from the pool opened in the app's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio
import psycopg
from fastapi import Depends, Request
from psycopg.rows import dict_row

from riskmap.api.openapi import answers

WAITERS = 32  # threads that may wait for a pooled connection at once (the rest queue)


@answers(503)  # a database that is down or a query that failed (api/errors.py)
async def _connection(request: Request) -> AsyncIterator[psycopg.Connection]:
    """A pooled connection, committed when the request succeeds and rolled back when it fails.

    Taken and given back in worker threads counted by limiters of their own, not the threadpool
    the sync handlers run in: with a plain sync dependency, 40+ concurrent requests fill every
    thread with requests waiting for a connection while the requests holding the connections
    wait for a thread to run their handler, and the server stalls until the pool times out.
    """
    state = request.app.state
    if getattr(state, "connection_waiters", None) is None:
        state.connection_waiters = anyio.CapacityLimiter(WAITERS)
    cm = state.pool.connection()
    conn = await anyio.to_thread.run_sync(cm.__enter__, limiter=state.connection_waiters)
    exit_limiter = anyio.CapacityLimiter(1)  # giving back never waits for a free thread
    try:
        conn.row_factory = dict_row
        yield conn
    except BaseException as exc:
        with anyio.CancelScope(shield=True):  # a client that hung up must not leak it
            await anyio.to_thread.run_sync(
                cm.__exit__, type(exc), exc, exc.__traceback__, limiter=exit_limiter
            )
        raise
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(cm.__exit__, None, None, None, limiter=exit_limiter)


# Function-scoped: FastAPI runs a request-scoped dependency's exit after the response has been
# sent, which would commit after answering — a failed commit then leaves a client holding a 2xx
# for nothing (tests/reliability/test_commit_before_answer.py). Here the commit comes first.
Connection = Annotated[psycopg.Connection, Depends(_connection, scope="function")]
