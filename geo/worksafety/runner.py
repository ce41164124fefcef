"""``run_alarms``: new ws_reading rows → the alarm engine → ws_alarm, ws_event, changes.

Each run reads, per point, the readings after the last one it processed up to ``until``,
advances the state machines from the state the previous run stored, and writes the alarms and
events that changed, all in the caller's transaction (an advisory lock keeps two runners from
interleaving). A reading that arrives with a time at or before its point's position is not
seen (the engine runs forward only); the ingest writes in time order per device. The stored
state keeps levels as ranks: when a point's thresholds change between runs, an open alarm goes
on at its rank and is judged against the new values from the next reading. Points without any
threshold are not run (nothing to alarm on; their device faults wait for thresholds too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import psycopg
from psycopg.rows import tuple_row
from psycopg.types.json import Jsonb

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.errors import InvalidArgumentError
from riskmap.geo.worksafety.alarms import Series, evaluate
from riskmap.geo.worksafety.events import EventState, SiteAlarmChange
from riskmap.geo.worksafety.levels import Thresholds
from riskmap.geo.worksafety.params import MaintenanceWindow, ParamBook, PointSpec
from riskmap.geo.worksafety.point_engine import AlarmRecord, PointState

SQL = SqlFiles("riskmap.geo.worksafety.sql")
LOCK_KEY = 21_0051  # pg_advisory_xact_lock: one alarm run at a time


@dataclass
class AlarmRun:
    """What one run did: its counts and the changes for the notification side."""

    until: datetime
    points: int
    readings: int
    changes: list[SiteAlarmChange] = field(default_factory=list)
    alarms_written: int = 0
    events_written: int = 0


def run_alarms(
    conn: psycopg.Connection, until: datetime | None = None, *, params: ParamBook | None = None
) -> AlarmRun:
    """Advance every point's alarms over its readings up to ``until`` (default: now).

    ``params`` gives the engine's settings per item and point (default: ``ParamBook()``, the
    built-in defaults per item). Nothing is committed here: the caller commits.
    """
    until = until or datetime.now(UTC)
    if until.tzinfo is None:
        raise InvalidArgumentError(f"until {until!r} must carry a time zone")
    book = params or ParamBook()
    conn.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
    points, by_n = _points(conn, book)
    states = {
        r["point_id"]: PointState.from_json(r["engine"]) for r in SQL.rows(conn, "states.sql")
    }
    # the earliest position of any point: older partitions need not be read
    positions = [states[p.id].last_tm if p.id in states else None for p in points]
    start = None if not positions or None in positions else min(positions)
    since = datetime.fromtimestamp(start, UTC) if start is not None else _MIN
    events = []
    for r in SQL.rows(conn, "open_events.sql"):
        e = EventState(**r["engine"])
        e.id = r["id"]
        events.append(e)
    windows = [
        MaintenanceWindow(r["starts"], r["ends"], site_id=r["site_id"], point_id=r["point_id"])
        for r in SQL.rows(conn, "windows.sql", {"since": since})
    ]
    readings, count = _readings(conn, by_n, since, until)
    result = evaluate(
        points,
        readings,
        until.timestamp(),
        states=states,
        windows=windows,
        open_events=events,
    )
    specs = {p.id: p for p in points}
    for e in result.events:
        _write_event(conn, e, specs)
    rows = [_alarm_row(a, specs[a.point_id], result.event_of.get(a.key)) for a in result.alarms]
    with conn.cursor() as cur:
        cur.executemany(SQL("alarm_upsert.sql"), rows)
        cur.executemany(
            SQL("state_upsert.sql"),
            [
                {"point_id": pid, "last_tm": _dt(s.last_tm), "engine": Jsonb(s.to_json()),
                 "until": until}
                for pid, s in result.states.items()
            ],
        )  # fmt: skip
    return AlarmRun(until, len(points), count, result.changes, len(rows), len(result.events))


_MIN = datetime(1900, 1, 1, tzinfo=UTC)


def _points(conn: psycopg.Connection, book: ParamBook) -> tuple[list[PointSpec], dict[int, str]]:
    """The points that have thresholds (a point without any has nothing to alarm on)."""
    points, by_n = [], {}
    for r in SQL.rows(conn, "points.sql"):
        if not r["thresholds"]:
            continue
        try:
            thresholds = Thresholds.from_mapping(r["thresholds"], r["direction"])
        except InvalidArgumentError as exc:
            raise InvalidArgumentError(f"ws_point {r['id']!r}: thresholds: {exc}") from exc
        points.append(
            PointSpec(
                r["id"], r["site_id"], r["item"], r["name"], r["unit"], thresholds,
                book.for_point(r["item"], r["id"]), r["phys_min"], r["phys_max"], r["max_jump"],
                site_name=r["site_name"], quantity=r["quantity"],
            )
        )  # fmt: skip
        by_n[r["n"]] = r["id"]
    return points, by_n


def _readings(
    conn: psycopg.Connection, by_n: dict[int, str], since: datetime, until: datetime
) -> tuple[dict[str, Series], int]:
    """The new readings as one numpy series per point (one row of arrays per point)."""
    series, count = {}, 0
    # tuples whatever the connection's row factory (the API's and some callers' give dicts)
    with conn.cursor(binary=True, row_factory=tuple_row) as cur:
        cur.execute(SQL("readings.sql"), {"since": since, "until": until})
        for n, t, v, flags in cur:
            count += len(t)
            pid = by_n.get(n)
            if pid is not None:
                flag = np.frombuffer(flags.encode("ascii"), "S1").astype(str)
                series[pid] = Series(np.array(t, float), np.array(v, float), flag)
    return series, count


def _write_event(conn: psycopg.Connection, e: EventState, specs: dict[str, PointSpec]) -> None:
    # level names from any of its points still configured (they share the item's scheme)
    th = next((specs[p].thresholds for p in e.points if p in specs), None)
    if th is None:
        raise InvalidArgumentError(
            f"ws_event of {e.site_id}/{e.item}: none of its points {e.points} has thresholds now"
        )
    row = {
        "site_id": e.site_id,
        "item": e.item,
        "state": "closed" if e.closed_at is not None else "open",
        "level": th.name(e.level),
        "max_level": th.name(e.max_level),
        "points_alarming": len(e.members),
        "points_total": len(e.points),
        "alarms": e.alarms,
        "first_at": _dt(e.first_at),
        "last_at": _dt(e.last_at),
        "closed_at": _dt(e.closed_at),
        "id": e.id,
    }
    engine = e.to_json()
    engine.pop("id")
    row["engine"] = Jsonb(engine)
    if e.id is None:
        e.id = SQL.one(conn, "event_insert.sql", row, shape="tuple")[0]
    else:
        conn.execute(SQL("event_update.sql"), row)


def _alarm_row(a: AlarmRecord, point: PointSpec, event: EventState | None) -> dict:
    th = point.thresholds
    return {
        "point_id": a.point_id,
        "kind": a.kind,
        "fault_kind": a.fault_kind,
        "level": th.name(a.level) if a.kind == "threshold" else None,
        "max_level": th.name(a.max_level) if a.kind == "threshold" else None,
        "began_at": _dt(a.began_at),
        "opened_at": _dt(a.opened_at),
        "last_at": _dt(a.last_at),
        "cleared_at": _dt(a.cleared_at),
        "peak": a.peak,
        "value": a.value,
        "levels": Jsonb([[_dt(t).isoformat(), th.name(int(r))] for t, r in a.levels]),
        "flapping": a.flapping,
        "suppressed": a.suppressed,
        "event_id": event.id if event is not None else None,
    }


def _dt(t: float | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t, UTC)
