"""The alarm engine: every point's state machine, then the events of sites and items.

Pure Python and numpy, no database: :func:`evaluate` takes the points, their new readings and
the state left by the previous run, and returns the new state, the alarms and events to write
and the changes to notify. :mod:`riskmap.geo.worksafety.runner` does the reading and writing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from riskmap.geo.worksafety.events import EventMerger, EventState, SiteAlarmChange
from riskmap.geo.worksafety.params import MaintenanceWindow, PointSpec
from riskmap.geo.worksafety.point_engine import (
    AlarmRecord,
    PointChange,
    PointMachine,
    PointState,
)


@dataclass(frozen=True)
class Series:
    """One point's readings in time order: epoch seconds, values, device flags ('N' counts)."""

    tm: np.ndarray
    value: np.ndarray
    flag: np.ndarray | None = None


@dataclass
class EngineResult:
    states: dict[str, PointState]
    alarms: list[AlarmRecord]  # alarms and faults opened or changed in this run
    events: list[EventState]  # events opened, changed or closed in this run
    open_events: list[EventState]
    changes: list[SiteAlarmChange]  # for the notification side, in time order
    point_changes: list[PointChange]
    event_of: dict[tuple, EventState]  # alarm key → the event it joined in this run


def evaluate(
    points: Sequence[PointSpec],
    readings: Mapping[str, Series],
    until: float,
    *,
    states: Mapping[str, PointState] | None = None,
    windows: Sequence[MaintenanceWindow] = (),
    open_events: Sequence[EventState] = (),
) -> EngineResult:
    """Advance every point over its readings up to ``until``, then merge into events.

    ``readings`` must hold only readings later than each point's state (the runner reads them
    so); ``until`` is the time up to which the run knows all readings (silence, hold times).
    """
    states = dict(states or {})
    by_id = {p.id: p for p in points}
    changes: list[PointChange] = []
    touched: list[AlarmRecord] = []
    for point in points:
        machine = PointMachine(point, states.get(point.id), windows)
        series = readings.get(point.id)
        if series is not None and len(series.tm):
            machine.feed(series.tm, series.value, series.flag)
        machine.advance_to(until)
        states[point.id] = machine.s
        changes.extend(machine.changes)
        touched.extend(machine.touched.values())
    # time order across points; at one instant a clearing goes before an opening
    rank = {"cleared": 0, "level": 1, "unsuppressed": 1, "opened": 2}
    changes.sort(key=lambda c: (c.at, rank[c.change]))
    merger = EventMerger([e for e in open_events])
    for c in changes:
        merger.apply(c, by_id[c.alarm.point_id])
    return EngineResult(
        states=states,
        alarms=touched,
        events=list(merger.touched.values()),
        open_events=list(merger.open.values()),
        changes=merger.changes,
        point_changes=changes,
        event_of=merger.joined,
    )
