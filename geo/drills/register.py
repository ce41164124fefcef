"""The register of drills (table ``drill``): open one with its schema, finish it, read it back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import psycopg

from riskmap.geo.drills import twin
from riskmap.geo.errors import InvalidArgumentError, NotFoundError

Targets = Literal["reference", "real"]
TARGETS: tuple[str, ...] = ("reference", "real")


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
    and a failure later leaves it visible as failed, not half-made)."""
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
        schema = twin.create_twin(conn, drill_id)
        conn.execute(twin.SQL("drill_schema.sql"), {"schema": schema, "id": drill_id})
        if spec.targets == "reference":
            twin.enter(conn, schema, local=True)
            conn.execute(twin.SQL("reference_terminals.sql"), {"receiver": spec.receiver_url})
    return get_drill(conn, drill_id)


def finish_drill(conn: psycopg.Connection, drill_id: int, error: str | None = None) -> None:
    """Mark the drill finished (or failed, with the error); committed."""
    with conn.transaction():
        twin.leave(conn)
        conn.execute(
            twin.SQL("drill_finish.sql"),
            {"id": drill_id, "status": "failed" if error else "finished", "error": error},
        )


def get_drill(conn: psycopg.Connection, drill_id: int) -> dict[str, Any]:
    """The register row of one drill; :class:`NotFoundError` when there is none."""
    row = twin.SQL.one(conn, "drill_get.sql", {"id": drill_id})
    if row is None:
        raise NotFoundError(f"no drill {drill_id}")
    return row


def list_drills(conn: psycopg.Connection, limit: int = 100) -> list[dict[str, Any]]:
    """Drills, newest first."""
    return twin.SQL.rows(conn, "drill_list.sql", {"limit": limit})
