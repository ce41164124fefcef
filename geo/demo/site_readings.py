"""The demo storm as the work-safety devices saw it: ten-minute readings of every monitoring
point of the demo county's sites, from half a day before the storm to its end.

Quiet points wander a little on the safe side of their thresholds. The storm fills the tailings
dam's pond: the pond level (库水位) climbs past its design flood level, the freeboard (安全超高)
shrinks and the phreatic line (浸润线) rises towards the dam face — the dam alarm rises through
orange to red in the storm's last hours. One internal-displacement sensor sends the same value
all along (a stuck device: a fault for maintenance, not an alarm), and one combustible-gas
detector of the chemical plant flickers around its first alarm level (频繁波动: noise the engine
keeps off the notices). Seeded: the same storm always gives the same readings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import psycopg

from riskmap.geo.db.sqlfiles import SqlFiles

SQL = SqlFiles("riskmap.geo.demo.sql")

STEP = timedelta(minutes=10)
#: gas detectors report often (a leak is minutes; their silence check is five minutes)
FAST_ITEMS = frozenset({"combustible_gas", "toxic_gas"})
FAST_STEP = timedelta(minutes=2)
BEFORE = timedelta(hours=12)  # quiet readings before the storm starts

#: how far past its red threshold (in threshold steps) the storm drives each dam item's points,
#: by the point's id suffix: the pond and the freeboard beyond red, the first phreatic section
#: just past red, the others to orange and yellow, the dry beach to orange, the rain to orange
STORM_TARGETS: dict[str, float] = {
    "SW1": 0.4,  # 库水位: 0.4 steps past red
    "AC1": 0.4,  # 安全超高
    "JR1": 0.3,  # 浸润线埋深 1-1
    "JR2": -1.0,  # orange
    "JR3": -2.0,  # yellow
    "GT1": -1.0,  # 干滩长度: orange
    "YL1": -1.5,  # 24 h rain: between yellow and orange
}
STUCK_SUFFIX = "IN2"  # 坝体内部位移 IN2 sends one value all along
FLAPPING_SUFFIX = "GAS1"  # a combustible-gas detector of the chemical plant


@dataclass(frozen=True)
class DemoPoint:
    """What the generator needs of a ws_point: its id, site kind, direction and thresholds."""

    id: str
    site_kind: str
    item: str
    direction: str
    thresholds: Mapping[str, float]


def storm_curve(t: np.ndarray, start: datetime, hours: int) -> np.ndarray:
    """0 before the storm's second hour, rising smoothly to 1 at its last hour."""
    t0 = (start + timedelta(hours=2)).timestamp()
    t1 = (start + timedelta(hours=hours - 1)).timestamp()
    x = np.clip((t - t0) / (t1 - t0), 0.0, 1.0)
    return x * x * (3 - 2 * x)


def site_readings(
    points: list[DemoPoint], start: datetime, hours: int, *, seed: int
) -> pd.DataFrame:
    """Readings (point_id, tm, value, flag) every ten minutes (gas detectors every two) from
    12 h before ``start`` to ``hours`` after it."""
    rng = np.random.default_rng(seed + 211)
    grids = {
        step: pd.date_range(start - BEFORE, start + timedelta(hours=hours), freq=step)
        for step in (STEP, FAST_STEP)
    }
    frames = []
    flapping_done = False
    for p in sorted(points, key=lambda p: p.id):
        times = grids[FAST_STEP if p.item in FAST_ITEMS else STEP]
        t = times.asi8 / 1e9
        values = _quiet(p, len(t), rng)
        suffix = p.id.rsplit("-", 1)[-1]
        if p.site_kind == "tailings_dam" and suffix in STORM_TARGETS:
            curve = storm_curve(t, start, hours)
            values = values + curve * (_beyond_red(p, STORM_TARGETS[suffix]) - values[0])
        elif p.site_kind == "tailings_dam" and suffix == STUCK_SUFFIX:
            values = np.full(len(t), round(float(values[0]), 2))
        elif p.item == "combustible_gas" and not flapping_done and suffix.endswith(FLAPPING_SUFFIX):
            values = _flapping(p, t, start, rng)
            flapping_done = True
        frames.append(
            pd.DataFrame({"point_id": p.id, "tm": times, "value": np.round(values, 3), "flag": "N"})
        )
    return pd.concat(frames, ignore_index=True)


def _levels(p: DemoPoint) -> list[float]:
    order = ("blue", "yellow", "orange", "red") if "blue" in p.thresholds else ("high", "high_high")
    return [p.thresholds[k] for k in order if k in p.thresholds]


def _step(p: DemoPoint) -> float:
    levels = _levels(p)
    return abs(levels[-1] - levels[0]) / max(1, len(levels) - 1) or 1.0


def _quiet(p: DemoPoint, n: int, rng: np.random.Generator) -> np.ndarray:
    """Two steps on the safe side of the first threshold, wandering a little; a rain gauge
    reads 0, and a reading that cannot go below 0 (a gas, a displacement) stays above it."""
    if p.item == "rainfall":
        return np.zeros(n)
    first, step = _levels(p)[0], _step(p)
    sign = 1.0 if p.direction == "above" else -1.0
    base, scale = first - sign * 2.0 * step, 0.01 * step
    floor = p.direction == "above" and first > 0
    if floor and base < 0.2 * first:
        base, scale = 0.2 * first, 0.01 * first
    noise = np.cumsum(rng.normal(0.0, scale, n))  # a slow wander
    out = base + noise - noise.mean() + rng.normal(0.0, 2.0 * scale, n)
    return np.maximum(out, 0.0) if floor else out


def _beyond_red(p: DemoPoint, steps: float) -> float:
    """``steps`` threshold steps past the red one along the direction (negative: before it)."""
    sign = 1.0 if p.direction == "above" else -1.0
    return _levels(p)[-1] + sign * steps * _step(p)


def _flapping(p: DemoPoint, t: np.ndarray, start: datetime, rng: np.random.Generator) -> np.ndarray:
    """Around its first alarm level for four hours before the storm: in, out, in again."""
    high = _levels(p)[0]
    values = 0.1 * high + rng.normal(0.0, 0.01 * high, len(t))
    window = (t >= (start - timedelta(hours=6)).timestamp()) & (
        t < (start - timedelta(hours=2)).timestamp()
    )
    # ten minutes over the level, ten under: in and out of alarm all afternoon
    wiggle = high * (1.0 + 0.12 * np.where((t // 600) % 2 == 0, 1.0, -1.0))
    values[window] = wiggle[window]
    return values


def write_site_readings(conn: psycopg.Connection, frame: pd.DataFrame) -> int:
    """Write the readings (ws_reading, months made ahead); returns how many."""
    if frame.empty:
        return 0
    conn.execute(
        SQL("ensure_reading_partitions.sql"),
        {"start": frame.tm.min().to_pydatetime(), "end": frame.tm.max().to_pydatetime()},
    )
    numbers = dict(SQL.rows(conn, "point_numbers.sql", shape="tuple"))
    with conn.cursor().copy("COPY ws_reading (point_n, tm, value, flag) FROM STDIN") as copy:
        for pid, tm, value, flag in frame.itertuples(index=False):
            copy.write_row((numbers[pid], tm.to_pydatetime(), float(value), flag))
    return len(frame)


def demo_points(conn: psycopg.Connection, county: str) -> list[DemoPoint]:
    """The monitoring points of the county's sites with their thresholds."""
    return [
        DemoPoint(r["id"], r["site_kind"], r["item"], r["direction"], r["thresholds"])
        for r in SQL.rows(conn, "site_points_thresholds.sql", {"county": county})
    ]


def replay_site_readings(
    conn: psycopg.Connection, county: str, start: datetime, hours: int, *, seed: int
) -> int:
    """The storm's readings of the county's sites, written afresh: an earlier run's readings,
    alarms, events and grades of these sites are forgotten first (demo only)."""
    conn.execute(SQL("reset_site_alarms.sql"), {"county": county})
    frame = site_readings(demo_points(conn, county), start, hours, seed=seed)
    return write_site_readings(conn, frame)
