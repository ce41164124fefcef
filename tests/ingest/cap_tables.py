"""The CAP tables emptied around a test (every CAP test module writes them in the session's
database; each test starts and ends with none)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg


def clean_cap(conn: psycopg.Connection) -> None:
    conn.rollback()
    conn.execute("DELETE FROM cap_feed_entry")
    conn.execute("DELETE FROM cap_alert")
    conn.execute("DELETE FROM ingest_log WHERE kind = 'cap'")
    conn.commit()


@contextmanager
def emptied_cap(db_url: str) -> Iterator[psycopg.Connection]:
    """A connection, the CAP tables empty before and after."""
    with psycopg.connect(db_url) as conn:
        clean_cap(conn)
        yield conn
        clean_cap(conn)
