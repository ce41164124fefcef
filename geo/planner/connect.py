"""One call from a notebook to the database: ``conn = planner.connect()``."""

from __future__ import annotations

import psycopg


def connect(url: str | None = None) -> psycopg.Connection:
    """Open an autocommit connection for reading (a notebook never holds a transaction open).

    Parameters
    ----------
    url : libpq URL (``postgresql://…``). None: the configured database, read from the
        ``RISKMAP_`` settings as the command line does — ``RISKMAP_DATABASE_URL`` when set,
        else the embedded cluster, started if it is not running.

    The schema is not migrated here: run ``riskmap db migrate`` (or ``riskmap demo``) first.
    This is the only planner function that reads settings; the loaders take the connection.
    """
    if url is None:
        from riskmap.geo.settings import Settings

        url = Settings().resolve_database_url()
    elif not url.startswith(("postgresql://", "postgres://")):
        raise ValueError(f"url must be a postgresql:// URL, got {url!r}")
    return psycopg.connect(url, autocommit=True)
