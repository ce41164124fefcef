"""Request dependencies: a pooled connection from the pool opened in the app's lifespan."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import psycopg
from fastapi import Depends, Request
from psycopg.rows import dict_row


def _connection(request: Request) -> Iterator[psycopg.Connection]:
    with request.app.state.pool.connection() as conn:
        conn.row_factory = dict_row
        yield conn


Connection = Annotated[psycopg.Connection, Depends(_connection)]
