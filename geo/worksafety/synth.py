"""A synthetic month of readings for three demo sites, with the truth known (seeded).

A tailings dam (12 points over the GB 51108 items), a chemical plant (tanks, gas detectors) and a
fireworks warehouse, one reading every ``step_s`` seconds. Into white noise around each point's
normal value the generator puts:

- true events with a known start, end and level (a storm that lifts the pond and the phreatic
  line, a creeping displacement, a tank overfill, a gas leak, a hot warehouse, overstock);
- "near" spells where the normal value sits about one noise deviation inside the lowest
  threshold, so noise crosses it again and again (the raw threshold crossings that flood a
  plain alarm system);
- device faults: stuck sensors, silent gaps, out-of-range spikes, an impossible jump, and a gas
  detector that flaps around its high threshold for days;
- a maintenance window at the chemical plant with calibration readings (flag C) and a bump test.

Same seed, same month (numpy's PCG64 generator).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np

from riskmap.geo.worksafety.alarms import Series
from riskmap.geo.worksafety.levels import Thresholds
from riskmap.geo.worksafety.params import MaintenanceWindow, ParamBook, PointSpec

DAY = 86_400.0
HOUR = 3_600.0
SITES = {
    "ws-dam": "麻阳锰矿尾矿库",
    "ws-chem": "麻阳化工厂",
    "ws-fw": "麻阳烟花爆竹仓库",
}


@dataclass(frozen=True)
class TrueEvent:
    """A real excursion: the noise-free signal is past the lowest threshold from start to end
    and reaches ``level`` (its plateau sits inside that grade)."""

    point_id: str
    start: float
    end: float
    level: str
    rank: int
    level_at: float  # when the noise-free signal first reached ``level``


@dataclass(frozen=True)
class InjectedFault:
    point_id: str
    kind: str  # stuck | silent | range | jump | flapping
    start: float
    end: float


@dataclass
class SynthMonth:
    points: list[PointSpec]
    series: dict[str, Series]
    events: list[TrueEvent]
    faults: list[InjectedFault]
    windows: list[MaintenanceWindow]
    start: float
    end: float
    step_s: float
    normal: dict[str, float] = field(default_factory=dict)

    @property
    def readings(self) -> int:
        return sum(len(s.tm) for s in self.series.values())


@dataclass(frozen=True)
class _Tpl:
    pid: str
    site: str
    item: str
    name: str
    unit: str
    direction: str
    thresholds: dict[str, float]
    normal: float
    sigma: float
    phys: tuple[float | None, float | None] = (None, None)
    max_jump: float | None = None
    quantity: str = "amount"


_C = ("blue", "yellow", "orange", "red")
_H = ("high", "high_high")


def _colours(*v: float) -> dict[str, float]:
    return dict(zip(_C, v, strict=True))


def _highs(*v: float) -> dict[str, float]:
    return dict(zip(_H, v, strict=True))


TEMPLATES = [
    # tailings dam (GB 51108 items): displacement mm, depths and lengths m
    _Tpl("dam-GP1", "ws-dam", "surface_displacement", "坝顶表面位移 GP1", "mm", "above",
         _colours(30, 50, 70, 100), 10, 1.5, (-100, 500), 20),
    _Tpl("dam-GP2", "ws-dam", "surface_displacement", "坝顶表面位移 GP2", "mm", "above",
         _colours(30, 50, 70, 100), 12, 1.5, (-100, 500), 20),
    _Tpl("dam-GP3", "ws-dam", "surface_displacement", "坝坡表面位移 GP3", "mm", "above",
         _colours(30, 50, 70, 100), 8, 1.5, (-100, 500), 20),
    _Tpl("dam-GPV1", "ws-dam", "surface_displacement", "坝顶位移速率 GPV1", "mm/d", "above",
         _colours(2, 5, 10, 20), 0.5, 0.3, (-50, 200), 10, "rate"),
    _Tpl("dam-IN1", "ws-dam", "internal_displacement", "坝体内部位移 IN1", "mm", "above",
         _colours(20, 35, 50, 70), 8, 1.0, (-100, 300), 15),
    _Tpl("dam-P1", "ws-dam", "phreatic_depth", "浸润线埋深 P1", "m", "below",
         _colours(6.0, 5.5, 4.4, 4.0), 7.6, 0.05, (0, 30), 1.0),
    _Tpl("dam-P2", "ws-dam", "phreatic_depth", "浸润线埋深 P2", "m", "below",
         _colours(6.0, 5.5, 4.4, 4.0), 7.4, 0.05, (0, 30), 1.0),
    _Tpl("dam-P3", "ws-dam", "phreatic_depth", "浸润线埋深 P3", "m", "below",
         _colours(6.0, 5.5, 4.4, 4.0), 7.8, 0.05, (0, 30), 1.0),
    _Tpl("dam-DB1", "ws-dam", "dry_beach_length", "干滩长度 DB1", "m", "below",
         _colours(120, 100, 80, 70), 150, 1.5, (0, 1000), 20),
    _Tpl("dam-FB1", "ws-dam", "freeboard", "安全超高 FB1", "m", "below",
         _colours(1.5, 1.2, 1.0, 0.7), 2.2, 0.02, (-5, 20), 0.5),
    _Tpl("dam-PL1", "ws-dam", "pond_level", "库水位 PL1", "m", "above",
         _colours(318.0, 318.5, 319.0, 319.5), 316.5, 0.03, (300, 330), 0.5),
    _Tpl("dam-LS1", "ws-dam", "reservoir_landslide", "库区滑坡位移 LS1", "mm", "above",
         _colours(20, 40, 60, 80), 5, 1.0, (-100, 500), 20),
    # chemical plant (危险化学品重大危险源): tank, gas detectors
    _Tpl("chem-T1L", "ws-chem", "tank_level", "1号储罐液位", "m", "above",
         _highs(8.5, 9.2), 6.0, 0.05, (0, 10), 1.0),
    _Tpl("chem-T1T", "ws-chem", "temperature", "1号储罐温度", "°C", "above",
         _highs(45, 55), 25, 0.5, (-40, 150), 10),
    _Tpl("chem-T1P", "ws-chem", "pressure", "1号储罐压力", "MPa", "above",
         _highs(0.8, 1.0), 0.5, 0.01, (0, 2.5), 0.3),
    _Tpl("chem-T2L", "ws-chem", "tank_level", "2号储罐液位", "m", "above",
         _highs(8.5, 9.2), 5.0, 0.05, (0, 10), 1.0),
    _Tpl("chem-G1", "ws-chem", "combustible_gas", "罐区可燃气体 G1", "%LEL", "above",
         _highs(20, 40), 1.0, 0.8, (0, 100)),
    _Tpl("chem-G2", "ws-chem", "combustible_gas", "装卸区可燃气体 G2", "%LEL", "above",
         _highs(20, 40), 1.0, 0.8, (0, 100)),
    _Tpl("chem-G3", "ws-chem", "combustible_gas", "泵房可燃气体 G3", "%LEL", "above",
         _highs(20, 40), 1.0, 0.8, (0, 100)),
    _Tpl("chem-X1", "ws-chem", "toxic_gas", "罐区有毒气体 X1", "ppm", "above",
         _highs(10, 20), 0.5, 0.3, (0, 100)),
    # fireworks warehouse
    _Tpl("fw-W1", "ws-fw", "temperature", "1号库房温度", "°C", "above",
         _highs(35, 40), 26, 0.4, (-40, 80), 5),
    _Tpl("fw-W2", "ws-fw", "humidity", "1号库房湿度", "%RH", "above",
         _highs(80, 90), 60, 1.0, (0, 100), 15),
    _Tpl("fw-W3", "ws-fw", "stored_quantity", "1号库房存药量", "t", "above",
         _highs(9, 10), 6, 0.0, (0, 50)),
]  # fmt: skip

# (point, start day, ramp hours, plateau hours, level) — the storm over the dam on days 10–11
EVENTS = [
    ("dam-PL1", 10.0, 8, 14, "red"),
    ("dam-P1", 10.2, 10, 12, "orange"),
    ("dam-P2", 10.25, 10, 12, "red"),
    ("dam-P3", 10.3, 10, 10, "yellow"),
    ("dam-FB1", 10.1, 8, 12, "orange"),
    ("dam-DB1", 10.1, 8, 12, "yellow"),
    ("dam-GPV1", 10.6, 4, 8, "yellow"),
    ("dam-GP2", 20.0, 30, 24, "yellow"),
    ("dam-LS1", 11.0, 12, 12, "blue"),
    ("chem-T1L", 5.4, 2, 3, "high"),
    ("chem-G2", 15.6, 0.25, 1, "high_high"),
    ("chem-X1", 22.3, 0.5, 2, "high"),
    ("chem-T1T", 17.5, 3, 4, "high_high"),
    ("fw-W1", 18.5, 4, 5, "high"),
    ("fw-W2", 12.5, 6, 8, "high"),
    ("fw-W3", 25.0, 0.1, 30, "high"),
]


def synthetic_month(
    seed: int = 21,
    *,
    start: datetime = datetime(2026, 6, 1, tzinfo=UTC),
    days: int = 30,
    step_s: float = 300.0,
    book: ParamBook | None = None,
) -> SynthMonth:
    """The month: points (with ``book``'s parameters), readings, the truth and the windows.

    Events and faults are placed on fixed days, so ``days`` below 28 leaves some out.
    """
    rng = np.random.default_rng(seed)
    book = book or ParamBook()
    t0 = start.timestamp()
    tm = t0 + step_s * np.arange(int(days * DAY / step_s))
    day = (tm - t0) / DAY
    points, series, events, faults, normal = [], {}, [], [], {}
    for tpl in TEMPLATES:
        th = Thresholds.from_mapping(tpl.thresholds, tpl.direction)
        points.append(
            PointSpec(
                tpl.pid, tpl.site, tpl.item, tpl.name, tpl.unit, th,
                book.for_point(tpl.item, tpl.pid), tpl.phys[0], tpl.phys[1], tpl.max_jump,
                site_name=SITES[tpl.site], quantity=tpl.quantity,
            )
        )  # fmt: skip
        normal[tpl.pid] = tpl.normal
        clean = np.full(len(tm), float(tpl.normal))
        sign = 1.0 if tpl.direction == "above" else -1.0
        if tpl.item == "temperature" and tpl.site == "ws-fw":
            clean += 3.0 * np.sin(2 * np.pi * (day - 0.3))  # the warehouse's day and night
        _near_spells(clean, day, tpl, th, sign, rng)
        for pid, d0, ramp_h, plateau_h, lv in EVENTS:
            if pid == tpl.pid and d0 + (2 * ramp_h + plateau_h) / 24 < days:
                events.append(_event(clean, tm, t0, tpl, th, d0, ramp_h, plateau_h, lv))
        value = clean + rng.normal(0.0, tpl.sigma, len(tm)) if tpl.sigma else clean.copy()
        if tpl.phys[0] is not None:
            value = np.maximum(value, tpl.phys[0] if tpl.item.endswith("gas") else -np.inf)
        series[tpl.pid] = [tm.copy(), np.round(value, 3), np.full(len(tm), "N")]
    _inject_faults(series, t0, days, rng, faults)
    windows = _maintenance(series, t0, days)
    out = {pid: Series(t, v, f) for pid, (t, v, f) in series.items()}
    return SynthMonth(points, out, events, faults, windows, t0, float(tm[-1]), step_s, normal)


def _near_spells(clean, day, tpl: _Tpl, th: Thresholds, sign: float, rng) -> None:
    """Three spells of 6–20 h with the normal value one deviation inside the lowest threshold,
    reached and left over an hour (a drift, not a jump)."""
    if not tpl.sigma:
        return
    for _ in range(3):
        d0 = rng.uniform(0.5, 28.0)
        if 9.0 < d0 < 12.5:  # keep the storm's days for its events
            d0 += 4.0
        length = rng.uniform(6, 20) / 24
        near = th.values[0] - sign * tpl.sigma
        shape = np.interp(day, [d0, d0 + 1 / 24, d0 + length, d0 + length + 1 / 24], [0, 1, 1, 0])
        clean += shape * (near - clean)


def _event(clean, tm, t0, tpl: _Tpl, th: Thresholds, d0, ramp_h, plateau_h, lv) -> TrueEvent:
    """Lift the clean signal to a plateau inside grade ``lv`` and back (a trapezium)."""
    rank = th.levels.index(lv) + 1
    here = th.values[rank - 1]
    if rank < len(th.values):
        peak = (here + th.values[rank]) / 2
    else:
        peak = here + 0.5 * (here - (th.values[rank - 2] if rank > 1 else tpl.normal))
    a = t0 + d0 * DAY
    b, c = a + ramp_h * HOUR, a + (ramp_h + plateau_h) * HOUR
    d = c + ramp_h * HOUR
    base = clean.copy()
    shape = np.interp(tm, [a, b, c, d], [0.0, 1.0, 1.0, 0.0], left=0.0, right=0.0)
    clean[:] = base + shape * (peak - base)

    # the truth: when the noise-free signal is past the lowest threshold
    def past(v):
        return clean >= v if th.direction == "above" else clean <= v

    inside = np.flatnonzero(past(th.values[0]) & (tm >= a) & (tm <= d))
    at_level = np.flatnonzero(past(here) & (tm >= a) & (tm <= d))
    return TrueEvent(
        tpl.pid, float(tm[inside[0]]), float(tm[inside[-1]]), lv, rank, float(tm[at_level[0]])
    )


def _span(series, pid, t0, d_from, d_to):
    t = series[pid][0]
    return (t >= t0 + d_from * DAY) & (t < t0 + d_to * DAY)


def _inject_faults(series, t0, days, rng, faults: list[InjectedFault]) -> None:
    def note(pid, kind, d_from, d_to):
        if d_to <= days:
            faults.append(InjectedFault(pid, kind, t0 + d_from * DAY, t0 + d_to * DAY))
            return True
        return False

    # stuck sensors: the value freezes at what it read
    for pid, d_from, d_to in (
        ("dam-P3", 3.0, 5.0),
        ("chem-T2L", 7.0, 8.0),
        ("chem-G3", 19.0, 20.5),
    ):
        if note(pid, "stuck", d_from, d_to):
            m = _span(series, pid, t0, d_from, d_to)
            series[pid][1][m] = series[pid][1][np.flatnonzero(m)[0]]
    # silent devices: readings missing
    for pid, d_from, d_to in (
        ("dam-IN1", 8.0, 8.25),
        ("fw-W2", 14.0, 14.125),
        ("dam-GP1", 23.0, 23.5),
    ):
        if note(pid, "silent", d_from, d_to):
            keep = ~_span(series, pid, t0, d_from, d_to)
            series[pid] = [a[keep] for a in series[pid]]
    # out-of-range spikes (a single bad reading each) and an impossible jump
    for pid, d, v in (("dam-GP1", 6.3, 9999.0), ("dam-GP3", 16.7, 9999.0),
                      ("chem-G1", 2.2, 250.0), ("dam-PL1", 26.1, 0.0)):  # fmt: skip
        if note(pid, "range", d, d + 300 / DAY):
            i = np.flatnonzero(_span(series, pid, t0, d, days))[0]
            series[pid][1][i] = v
    if note("dam-DB1", "jump", 21.4, 21.4 + 300 / DAY):
        i = np.flatnonzero(_span(series, "dam-DB1", t0, 21.4, days))[0]
        series["dam-DB1"][1][i] -= 85.0  # 150 m of beach read as 65 m for one reading
    # a gas detector flapping around its high threshold (20 %LEL) for three days
    if note("chem-G1", "flapping", 24.0, 27.0):
        m = _span(series, "chem-G1", t0, 24.0, 27.0)
        series["chem-G1"][1][m] = np.round(rng.uniform(14.0, 26.0, int(m.sum())), 3)


def _maintenance(series, t0, days) -> list[MaintenanceWindow]:
    """Day 9, 08:00–12:00 at the chemical plant: calibration (flag C) of the tank pressure
    transmitter with test values past high-high, and a bump test of G3 (real gas, flag N)."""
    if days < 10:
        return []
    w = MaintenanceWindow(t0 + 9 * DAY + 8 * HOUR, t0 + 9 * DAY + 12 * HOUR, site_id="ws-chem")
    m = _span(series, "chem-T1P", t0, 9 + 9 / 24, 9 + 10 / 24)
    series["chem-T1P"][1][m] = 1.2
    series["chem-T1P"][2][m] = "C"
    g = _span(series, "chem-G3", t0, 9 + 10 / 24, 9 + 10.5 / 24)
    series["chem-G3"][1][g] = 50.0 + np.arange(int(g.sum())) * 0.1
    return [w]
