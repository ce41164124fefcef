"""The register of drills (table ``drill``): open one with its schema, finish it, read it back,
drop it.

A drill's process holds a PostgreSQL advisory lock for as long as it runs (taken when the drill
is registered, released when it finishes and, whatever happens, when its session ends). A drill
recorded as running whose lock nobody holds was killed or lost its connection: the register is
read as failed, with that reason, instead of running forever. No heartbeat to tune, and no pid
or host to trust on another machine: the lock dies with the session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import psycopg

from riskmap.geo.drills import twin
from riskmap.geo.errors import ConflictError, InvalidArgumentError, NotFoundError

Targets = Literal["reference", "real"]
TARGETS: tuple[str, ...] = ("reference", "real")
#: first key of the drills' advisory locks (the second is the drill id): "dril" in ASCII
LOCK_SPACE = 0x6472696C
LOST = (
    "the process running the drill ended without finishing it (killed, or its database"
    " connection was lost); 演练进程中断"
)


@dataclass(frozen=True)
class DrillSpec:
    """What to drill: a scenario over a county, from ``start`` for ``hours``, delivered to the
    reference receiver (``receiver_url``) or to the real terminals and phones."""

    scenario: str
    county: str
    start: datetime
    end: datetime
    targets: Targets = "reference"
    receiver_url: str | None = None
    started_by: str = "cli"

    def __post_init__(self) -> None:
        if self.targets not in TARGETS:
            raise InvalidArgumentError(
                f"targets must be one of {list(TARGETS)}, got {self.targets!r}"
            )
        if self.targets == "reference" and not self.receiver_url:
            raise InvalidArgumentError("targets 'reference' needs the reference receiver's URL")
        if self.start.tzinfo is None or self.end <= self.start:
            raise InvalidArgumentError("start must be timezone-aware and before end")


def open_drill(conn: psycopg.Connection, spec: DrillSpec) -> dict[str, Any]:
    """Register the drill and create its schema (committed: the drill is listed from now on,
    and a failure later leaves it visible as failed, not half-made). The session of ``conn``
    holds the drill's lock from here until :func:`finish_drill` or its end: run the drill on
    this connection."""
    with conn.transaction():
        drill_id = twin.SQL.one(
            conn,
            "drill_insert.sql",
            {
                "scenario": spec.scenario,
                "county": spec.county,
                "targets": spec.targets,
                "receiver_url": spec.receiver_url if spec.targets == "reference" else None,
                "start": spec.start,
                "end": spec.end,
                "by": spec.started_by,
            },
            shape="tuple",
        )[0]
        twin.SQL.one(conn, "drill_lock.sql", _lock(drill_id))  # before anyone sees it running
        schema = twin.create_twin(conn, drill_id)
        conn.execute(twin.SQL("drill_schema.sql"), {"schema": schema, "id": drill_id})
        if spec.targets == "reference":
            twin.enter(conn, schema, local=True)
            conn.execute(twin.SQL("reference_terminals.sql"), {"receiver": spec.receiver_url})
    return get_drill(conn, drill_id)


def finish_drill(conn: psycopg.Connection, drill_id: int, error: str | None = None) -> None:
    """Mark the drill finished (or failed, with the error); committed, then its lock let go."""
    with conn.transaction():
        twin.leave(conn)
        conn.execute(
            twin.SQL("drill_finish.sql"),
            {"id": drill_id, "status": "failed" if error else "finished", "error": error},
        )
    with conn.transaction():
        twin.SQL.one(conn, "drill_unlock.sql", _lock(drill_id))


def get_drill(conn: psycopg.Connection, drill_id: int) -> dict[str, Any]:
    """The register row of one drill, with the status its lock tells (a running drill whose
    process is gone is ``failed``); :class:`NotFoundError` when there is none."""
    rows = _rows(conn, drill_id=drill_id)
    if not rows:
        raise NotFoundError(f"no drill {drill_id}")
    return rows[0]


def list_drills(
    conn: psycopg.Connection, limit: int = 100, area: str | None = None
) -> list[dict[str, Any]]:
    """Drills, newest first; ``area``: only those run for a county whose code starts with it
    (a county's code, a city's four digits; None: every drill)."""
    return _rows(conn, limit=limit, area=area)


def drop_drill(conn: psycopg.Connection, drill_id: int, *, force: bool = False) -> dict[str, Any]:
    """Remove a drill: its schema (warnings, messages, tasks, report data) and its register row;
    committed. Returns the row as it was.

    Raises
    ------
    NotFoundError
        There is no drill ``drill_id``.
    ConflictError
        The drill is still running (its process holds the lock) and ``force`` is False. With
        ``force`` the schema goes from under the running process, which then fails; the drop
        waits for the transaction the process has open (at most one replayed hour).
    """
    drill = get_drill(conn, drill_id)
    if drill["status"] == "running" and not force:
        raise ConflictError(
            f"drill {drill_id} is running (its process is alive): let it finish, stop it, or"
            " drop it anyway with force (riskmap drill drop --force)"
        )
    with conn.transaction():
        twin.drop_twin(conn, twin.schema_name(drill_id))
        if twin.SQL.one(conn, "drill_delete.sql", {"id": drill_id}) is None:
            raise NotFoundError(f"no drill {drill_id} (dropped meanwhile)")
    return drill


def _lock(drill_id: int) -> dict[str, int]:
    return {"space": LOCK_SPACE, "id": drill_id}


def _rows(
    conn: psycopg.Connection,
    *,
    drill_id: int | None = None,
    area: str | None = None,
    limit: int = 1,
) -> list[dict[str, Any]]:
    params = {"id": drill_id, "area": area, "limit": limit, "space": LOCK_SPACE, "lost": LOST}
    return twin.SQL.rows(conn, "drill_rows.sql", params)
