"""The synthetic month through the alarm engine: every true event alarms (recall 100 %) at
its level, alarms are ≥ 80 % fewer than raw threshold crossings, device faults are faults.

Raw crossings are counted here by a plain loop, independently of the engine and of numpy.
"""

from __future__ import annotations

import itertools

import pytest

from riskmap.geo.worksafety.alarms import EngineResult, evaluate
from riskmap.geo.worksafety.synth import SynthMonth, synthetic_month


@pytest.fixture(scope="module")
def month() -> SynthMonth:
    return synthetic_month(seed=21)


@pytest.fixture(scope="module")
def result(month: SynthMonth) -> EngineResult:
    return evaluate(month.points, month.series, month.end, windows=month.windows)


def raw_crossings(month: SynthMonth) -> int:
    """Every reading that enters a threshold (at or past it) from outside it, for every
    threshold of every point, whatever the device flag: what a one-value-per-point system
    (today's rule) would raise."""
    total = 0
    for p in month.points:
        values = [float(v) for v in month.series[p.id].value]
        for th in p.thresholds.values:
            before = False
            for v in values:
                now = v >= th if p.thresholds.direction == "above" else v <= th
                if now and not before:
                    total += 1
                before = now
    return total


def test_same_seed_same_month() -> None:
    a, b = synthetic_month(seed=5, days=3), synthetic_month(seed=5, days=3)
    assert all((a.series[k].value == b.series[k].value).all() for k in a.series)
    c = synthetic_month(seed=6, days=3)
    assert any((a.series[k].value != c.series[k].value).any() for k in a.series)


def test_every_true_event_alarms_at_its_level(month: SynthMonth, result: EngineResult) -> None:
    assert len(month.events) == 16
    alarms = [a for a in result.alarms if a.kind == "threshold" and not a.suppressed]
    for e in month.events:
        hits = [
            a
            for a in alarms
            if a.point_id == e.point_id
            and a.began_at <= e.end
            and (a.cleared_at is None or a.cleared_at >= e.start)
        ]
        assert hits, f"true event missed: {e}"
        assert max(a.max_level for a in hits) >= e.rank, f"{e} alarmed below its level"
        first = min(a.opened_at for a in hits)
        # the engine needs the minimum duration (15 min for dam items) plus a ramp's noise
        assert first - e.start <= 3600, f"{e}: {first - e.start:.0f} s to alarm"


def test_alarms_at_least_80_percent_fewer_than_raw_crossings(
    month: SynthMonth, result: EngineResult
) -> None:
    raw = raw_crossings(month)
    alarms = sum(1 for a in result.alarms if a.kind == "threshold")
    assert raw > 1000  # the month does flood a plain system
    assert alarms <= 0.2 * raw, (alarms, raw)


def test_injected_device_faults_are_faults(month: SynthMonth, result: EngineResult) -> None:
    faults = [a for a in result.alarms if a.kind == "fault"]
    for f in month.faults:
        if f.kind == "flapping":
            continue
        found = [
            a
            for a in faults
            if a.point_id == f.point_id and a.began_at <= f.end and a.opened_at >= f.start - 3600
        ]
        assert found, f"fault not found: {f}"
    # and nothing else is called a fault: one per injected fault
    assert len(faults) == sum(1 for f in month.faults if f.kind != "flapping")


def test_a_stuck_sensor_yields_a_fault_not_an_alarm(month: SynthMonth, result: EngineResult):
    for f in (f for f in month.faults if f.kind == "stuck"):
        during = [
            a
            for a in result.alarms
            if a.point_id == f.point_id
            and a.kind == "threshold"
            and f.start <= a.opened_at <= f.end
        ]
        assert during == []


def test_a_device_fault_never_yields_a_threshold_alarm(month: SynthMonth, result: EngineResult):
    """No threshold alarm opens while its point has a fault open, and the out-of-range and jump
    readings (past every threshold) raised none."""
    faults = [a for a in result.alarms if a.kind == "fault"]
    for a in result.alarms:
        if a.kind != "threshold":
            continue
        for f in faults:
            if f.point_id == a.point_id:
                cleared = f.cleared_at if f.cleared_at is not None else float("inf")
                assert not (f.opened_at <= a.opened_at < cleared), (a, f)


def test_flapping_detector_is_marked_and_kept_from_events(month: SynthMonth, result):
    [spell] = [f for f in month.faults if f.kind == "flapping"]
    during = [
        a for a in result.alarms if a.point_id == spell.point_id and a.kind == "threshold"
        and spell.start <= a.opened_at <= spell.end
    ]  # fmt: skip
    assert during and sum(a.flapping for a in during) >= len(during) - 4
    notified = [c for c in result.changes if c.point_id == spell.point_id and c.kind == "threshold"]
    assert all(not (spell.start + 6 * 3600 <= c.at <= spell.end) for c in notified)


def test_maintenance_calibration_and_bump_test_are_not_notified(month, result) -> None:
    [w] = month.windows
    told = [c for c in result.changes if c.site_id == "ws-chem" and w.start <= c.at < w.end]
    assert told == []
    suppressed = [a for a in result.alarms if a.suppressed]
    assert [a.point_id for a in suppressed] == ["chem-G3"]  # the bump test; calibration is flag C


def test_crossing_quiet_stretches_changes_nothing(month: SynthMonth) -> None:
    """The engine crosses quiet stretches in one step; stepping every reading must give the
    same alarms, faults and state — on the month and on it cut into uneven batches."""
    from dataclasses import asdict

    from riskmap.geo.worksafety.point_engine import PointMachine

    for p in month.points:
        s = month.series[p.id]
        slow = PointMachine(p, windows=month.windows)
        slow.feed(s.tm, s.value, s.flag, skip_quiet=False)
        fast = PointMachine(p, windows=month.windows)
        cuts = [0, 7, 1000, 1001, 4000, len(s.tm)]
        for a, b in itertools.pairwise(cuts):
            fast.feed(s.tm[a:b], s.value[a:b], s.flag[a:b])
        assert [asdict(c.alarm) for c in fast.changes] == [asdict(c.alarm) for c in slow.changes]
        assert asdict(fast.s) == asdict(slow.s), p.id
