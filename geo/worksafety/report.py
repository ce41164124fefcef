"""A site's monthly monitoring report (月度监测报告): per point the readings, the raw threshold
crossings a one-value-per-point system would have raised, the alarms the engine raised, and
the device faults — what the supervising section reviews each month, and the measure of
alarm-flood control (alarms against raw crossings)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import TYPE_CHECKING

import psycopg

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.errors import InvalidArgumentError, NotFoundError
from riskmap.geo.vocabulary import BEIJING

if TYPE_CHECKING:  # imported by the functions: the API's workers start without numpy
    import numpy as np

SQL = SqlFiles("riskmap.geo.worksafety.sql")


def crossings(values: np.ndarray, thresholds: list[float], direction: str) -> int:
    """Readings entering a threshold from outside it, over every threshold (the first reading
    counts when it is already past one)."""
    import numpy as np

    total = 0
    for th in thresholds:
        past = values >= th if direction == "above" else values <= th
        if past.size:
            total += int(past[0]) + int(np.count_nonzero(past[1:] & ~past[:-1]))
    return total


@dataclass
class PointMonth:
    id: str
    name: str
    item: str
    readings: int
    raw_crossings: int
    alarms: int = 0
    max_level: str | None = None
    faults: Counter = field(default_factory=Counter)
    flapping: int = 0
    suppressed: int = 0


@dataclass
class SiteMonth:
    site_id: str
    site_name: str
    kind: str
    month: str  # YYYY-MM, Beijing time
    points: list[PointMonth]
    events: int
    notices: int

    @property
    def raw_crossings(self) -> int:
        return sum(p.raw_crossings for p in self.points)

    @property
    def alarms(self) -> int:
        return sum(p.alarms for p in self.points)

    @property
    def faults(self) -> Counter:
        return sum((p.faults for p in self.points), Counter())

    @property
    def reduction(self) -> float | None:
        """How many fewer alarms than raw crossings, in % (None without crossings)."""
        raw = self.raw_crossings
        return None if raw == 0 else 100.0 * (1 - self.alarms / raw)


_ORDER = ("blue", "high", "yellow", "high_high", "orange", "red")


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """[start, end) of a Beijing-time month ``YYYY-MM``."""
    try:
        first = date.fromisoformat(f"{month}-01")
    except ValueError:
        raise InvalidArgumentError(f"month must be YYYY-MM, got {month!r}") from None
    nxt = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return (datetime.combine(first, time(), BEIJING), datetime.combine(nxt, time(), BEIJING))


def site_month(conn: psycopg.Connection, site_id: str, month: str) -> SiteMonth:
    """The report of ``site_id`` for the Beijing-time ``month`` (YYYY-MM)."""
    import numpy as np

    start, end = month_bounds(month)
    args = {"site": site_id, "start": start, "end": end}
    site = SQL.one(conn, "report_site.sql", args)
    if site is None:
        raise NotFoundError(f"no hazardous site {site_id} (未找到该危险源)")
    points = {}
    for r in SQL.rows(conn, "report_points.sql", args):
        values = np.asarray(r["v"], dtype=float)
        th = [r["thresholds"][k] for k in _ORDER if k in r["thresholds"]]
        points[r["id"]] = PointMonth(
            r["id"], r["name"], r["item"], len(values), crossings(values, th, r["direction"])
        )
    for a in SQL.rows(conn, "report_alarms.sql", args):
        p = points.get(a["point_id"])
        if p is None:
            continue
        if a["kind"] == "fault":
            p.faults[a["fault_kind"]] += 1
            continue
        p.alarms += 1
        p.flapping += int(a["flapping"])
        p.suppressed += int(a["suppressed"])
        if p.max_level is None or _ORDER.index(a["max_level"]) > _ORDER.index(p.max_level):
            p.max_level = a["max_level"]
    return SiteMonth(
        site["id"], site["name"], site["kind"], month, list(points.values()),
        site["events"], site["notices"],
    )  # fmt: skip
