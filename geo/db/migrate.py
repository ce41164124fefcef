"""Schema migrations: ordered SQL files in geo/db/migrations applied by yoyo-migrations.

yoyo was chosen because it applies plain, reviewable ``.sql`` files (no ORM models to keep in step),
tracks what ran in a table, takes a lock so two processes cannot migrate at once, and speaks
psycopg 3.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from yoyo import get_backend, read_migrations
from yoyo.exceptions import LockTimeout

from riskmap.geo.errors import DatabaseError

MIGRATIONS = Path(str(resources.files("riskmap.geo.db") / "migrations"))


def _yoyo_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise DatabaseError(f"database URL must start with postgresql://, got {url.split(':')[0]!r}")


def _backend(url: str):
    try:
        return get_backend(_yoyo_url(url), migration_table="_yoyo_migration")
    except Exception as exc:  # yoyo re-raises the driver's connection errors untyped
        raise DatabaseError(f"cannot connect to the database to migrate it: {exc}") from exc


def pending(url: str) -> list[str]:
    """Ids of the migrations not yet applied (empty when the schema is current)."""
    backend = _backend(url)
    return [m.id for m in backend.to_apply(read_migrations(str(MIGRATIONS)))]


def migrate(url: str, *, lock_timeout: float = 60.0) -> list[str]:
    """Apply every pending migration in order, each in its own transaction; returns their ids."""
    backend = _backend(url)
    migrations = read_migrations(str(MIGRATIONS))
    try:
        with backend.lock(timeout=lock_timeout):
            todo = backend.to_apply(migrations)
            backend.apply_migrations(todo)
    except LockTimeout as exc:
        raise DatabaseError(f"another process holds the migration lock: {exc}") from exc
    except Exception as exc:
        if isinstance(exc, DatabaseError):
            raise
        raise DatabaseError(f"migration failed and was rolled back: {exc}") from exc
    return [m.id for m in todo]
