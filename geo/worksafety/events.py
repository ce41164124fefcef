"""Alarms of one site and item merge into one event (事件), with counts.

An event opens when the first counting alarm of its site and item opens, takes the highest
level of its open alarms, and closes when the last of them clears. Suppressed alarms
(maintenance) and alarms of a flapping point at its lowest grade do not count: they are kept
in ws_alarm, but nobody is called for them. Device faults never join an event: each one is a
change of its own, for the site's maintenance contact and the supervising section — never for
villages.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Literal

from riskmap.geo.worksafety import texts
from riskmap.geo.worksafety.params import PointSpec
from riskmap.geo.worksafety.point_engine import PointChange


@dataclass
class SiteAlarmChange:
    """What the notification side acts on: an event opened/escalated/…, or a device fault.

    ``kind`` threshold: an item's event (``level`` its level name now, ``previous_level``
    before; ``change`` opened, escalated, downgraded or cleared). ``kind`` fault: one point's
    device fault (``fault_kind`` stuck|range|jump|silent; ``change`` opened or cleared), for
    maintenance only.
    """

    site_id: str
    item: str
    kind: Literal["threshold", "fault"]
    change: Literal["opened", "escalated", "downgraded", "cleared"]
    level: str | None
    previous_level: str | None
    opened_at: float  # the event's (or fault's) first time, epoch seconds
    at: float  # when this change happened
    summary_zh: str
    point_id: str | None = None  # the point that caused it
    fault_kind: str | None = None
    points_alarming: int = 0
    event: EventState | None = field(default=None, repr=False, compare=False)

    @property
    def event_id(self) -> int | None:
        """ws_event.id of a threshold change once the runner wrote it (an idempotency key
        with ``change`` and ``level`` for the notification side)."""
        return self.event.id if self.event is not None else None

    @property
    def at_utc(self) -> datetime:
        return datetime.fromtimestamp(self.at, UTC)

    @property
    def opened_at_utc(self) -> datetime:
        return datetime.fromtimestamp(self.opened_at, UTC)


@dataclass
class EventState:
    """An open event, as the merger keeps it (and ws_event stores it)."""

    site_id: str
    item: str
    first_at: float
    last_at: float
    level: int = 0
    max_level: int = 0
    members: dict[str, int] = field(default_factory=dict)  # point → rank of its counting alarm
    points: list[str] = field(default_factory=list)  # every point that alarmed in it
    alarms: int = 0  # alarms that joined it
    closed_at: float | None = None
    id: int | None = None  # ws_event.id once written

    def to_json(self) -> dict:
        return asdict(self)


class EventMerger:
    """Applies point changes in time order to the open events; collects site changes."""

    def __init__(self, open_events: list[EventState] | None = None) -> None:
        self.open: dict[tuple[str, str], EventState] = {
            (e.site_id, e.item): e for e in open_events or []
        }
        self.closed: list[EventState] = []
        self.touched: dict[int, EventState] = {}  # by id(), for the writer
        self.changes: list[SiteAlarmChange] = []
        self.joined: dict[tuple, EventState] = {}  # alarm key → the event it joined

    def apply(self, c: PointChange, point: PointSpec) -> None:
        a = c.alarm
        if a.kind == "fault":
            if not a.suppressed and c.change in ("opened", "cleared"):
                self.changes.append(self._fault_change(c, point))
            return
        key = (point.site_id, point.item)
        event = self.open.get(key)
        rank = c.level if c.change != "cleared" and c.counts else 0
        before = event.members.get(point.id, 0) if event else 0
        if event is not None:
            event.last_at = c.at
            self._touch(event)
        if rank == before:
            return
        if event is None:
            event = EventState(point.site_id, point.item, c.at, c.at)
            self.open[key] = event
            self._touch(event)
        if rank:
            if before == 0:
                event.alarms += 1
                if point.id not in event.points:
                    event.points.append(point.id)
            event.members[point.id] = rank
            self.joined[a.key] = event
        else:
            event.members.pop(point.id, None)
        previous = event.level
        event.level = max(event.members.values(), default=0)
        event.max_level = max(event.max_level, event.level)
        th = point.thresholds
        n = len(event.members)
        if event.level == 0:
            event.closed_at = c.at
            del self.open[key]
            self.closed.append(event)
            text = texts.cleared_text(point, event.max_level, event.first_at, c.at)
            self._site(event, point, "cleared", None, th.name(previous), c, text)
            return
        if event.level == previous:
            return
        change = (
            "opened" if previous == 0 else "escalated" if event.level > previous else "downgraded"
        )
        detail = texts.alarm_text(point, rank, c.value, a.began_at, c.at) if rank else ""
        if change == "downgraded":  # 降为…: the event's level now, then this point's state
            text = texts.lowered_text(point, event.level, n)
            if detail:
                text += "；" + detail.removeprefix(f"{point.site_name} ")
        else:
            text = texts.event_text(point, event.level, n, detail)
        self._site(event, point, change, th.name(event.level), th.name(previous), c, text)

    def _site(self, event, point, change, level, previous, c: PointChange, text: str) -> None:
        self.changes.append(
            SiteAlarmChange(
                point.site_id, point.item, "threshold", change, level, previous, event.first_at,
                c.at, text, point_id=point.id, points_alarming=len(event.members), event=event,
            )
        )  # fmt: skip

    def _fault_change(self, c: PointChange, point: PointSpec) -> SiteAlarmChange:
        a = c.alarm
        if c.change == "opened":
            since = a.began_at - (point.params.silent_s or 0.0)
            text = texts.fault_text(
                point, a.fault_kind, c.value, since if a.fault_kind == "silent" else c.at,
                n=point.params.stuck_n or 0,
            )  # fmt: skip
        else:
            text = texts.fault_cleared_text(point, a.fault_kind)
        return SiteAlarmChange(
            point.site_id, point.item, "fault", c.change, None, None, a.opened_at, c.at, text,
            point_id=point.id, fault_kind=a.fault_kind,
        )  # fmt: skip

    def _touch(self, event: EventState) -> None:
        self.touched[id(event)] = event
