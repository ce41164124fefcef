"""The alarm engine on small hand-written series whose alarms are worked out by hand.

Readings come every 5 minutes (300 s) unless a test says otherwise; times are seconds.
"""

from __future__ import annotations

import numpy as np

from riskmap.geo.worksafety.alarms import EngineResult, Series, evaluate
from riskmap.geo.worksafety.levels import Thresholds
from riskmap.geo.worksafety.params import AlarmParams, MaintenanceWindow, PointSpec

STEP = 300.0
ABOVE = Thresholds.from_mapping({"blue": 10.0, "yellow": 20.0}, "above")
# no silence, stuck or flapping unless a test asks for it
QUIET = AlarmParams(
    min_duration_s=0, dead_band=0, hold_s=0, stuck_n=None, silent_s=None, flap_count=1000
)


def point(pid: str = "P1", thresholds: Thresholds = ABOVE, **kw) -> PointSpec:
    params = QUIET.with_overrides(kw.pop("params", {}))
    return PointSpec(pid, "dam", "pond_level", f"库水位 {pid}", "m", thresholds, params, **kw)


def run(p: PointSpec, values, flags=None, *, start=0.0, until=None, **kw) -> EngineResult:
    tm = start + STEP * np.arange(len(values))
    flag = None if flags is None else np.array(list(flags))
    series = Series(tm, np.asarray(values, float), flag)
    return evaluate([p], {p.id: series}, until if until is not None else tm[-1], **kw)


def threshold_alarms(r: EngineResult):
    return sorted((a for a in r.alarms if a.kind == "threshold"), key=lambda a: a.opened_at)


def faults(r: EngineResult):
    return sorted((a for a in r.alarms if a.kind == "fault"), key=lambda a: a.opened_at)


def test_minimum_duration() -> None:
    # min 900 s: above at 0, 300, 600 only (600 s held) → nothing; then above from 1200 on:
    # 1200, 1500, 1800, 2100 → the alarm opens at 2100, the condition having begun at 1200
    p = point(params={"min_duration_s": 900})
    r = run(p, [11, 11, 11, 5, 11, 11, 11, 11])
    [a] = threshold_alarms(r)
    assert (a.began_at, a.opened_at, a.level, a.cleared_at) == (1200, 2100, 1, None)


def test_hysteresis_dead_band() -> None:
    # blue at 10 with a 1 m band: 11 opens (t 0); 9.5 and 9.2 are inside the band and hold it;
    # 8.9 (t 1200) clears it; 10.2 (t 1500) opens a second alarm. Without a band: three alarms.
    values = [11, 9.5, 10.5, 9.2, 8.9, 10.2]
    banded = threshold_alarms(run(point(params={"dead_band": 1.0}), values))
    assert [(a.opened_at, a.cleared_at) for a in banded] == [(0, 1200), (1500, None)]
    plain = threshold_alarms(run(point(), values))
    assert [(a.opened_at, a.cleared_at) for a in plain] == [(0, 300), (600, 900), (1500, None)]


def test_reopening_within_hold_continues_the_alarm() -> None:
    # hold 1800 s: 11 (0) opens, 9 (300) clears, 11 (600) within the hold → same alarm;
    # 9 from 900: the hold runs out at 2700, where the clearing at 900 becomes final;
    # 11 at 3000 is a new alarm.
    p = point(params={"hold_s": 1800})
    r = run(p, [11, 9, 11, 9, 9, 9, 9, 9, 9, 9, 11])
    assert [(a.opened_at, a.cleared_at) for a in threshold_alarms(r)] == [(0, 900), (3000, None)]


def test_hold_runs_out_with_time_alone() -> None:
    # the last reading clears (t 600); no more readings. At until 2000 the hold (1800) has not
    # run out: still open; at until 2400 it has, and the clearing time is the reading's (600).
    p = point(params={"hold_s": 1800})
    [open_a] = threshold_alarms(run(p, [11, 11, 9], until=2000))
    assert open_a.cleared_at is None
    [closed] = threshold_alarms(run(p, [11, 11, 9], until=2400))
    assert closed.cleared_at == 600


def test_level_changes_within_one_alarm() -> None:
    # blue 10, yellow 20, min 600 s: 12 from 0 → blue at 600; 25 from 900 → yellow at 1500;
    # 15 at 1800 → back to blue (recorded, same alarm); 5 at 2100 → cleared.
    p = point(params={"min_duration_s": 600})
    r = run(p, [12, 12, 12, 25, 25, 25, 15, 5])
    [a] = threshold_alarms(r)
    assert a.levels == [[600, 1], [1500, 2], [1800, 1]]
    assert (a.max_level, a.peak, a.cleared_at) == (2, 25, 2100)
    kinds = [(c.change, c.level, c.previous_level) for c in r.changes]
    assert kinds == [
        ("opened", "blue", None),
        ("escalated", "yellow", "blue"),
        ("downgraded", "blue", "yellow"),
        ("cleared", None, "blue"),
    ]
    assert r.changes[2].summary_zh == (
        "库水位 降为蓝色预警：1 个测点报警；"
        "库水位 P1 蓝色预警：水位 15 m（蓝色 ≥ 10 m），持续 30 分钟"
    )


def test_stuck_sensor_is_a_fault_not_an_alarm() -> None:
    # stuck_n 3 and min 900 s: 12 at 0, 300, 600 → stuck at 600 (before 900 s have passed);
    # 12 goes on to 3000: no alarm. 12.5 at 3300 clears the fault and the condition starts
    # afresh: 3300 … 4200 → an alarm at 4200.
    p = point(params={"min_duration_s": 900, "stuck_n": 3})
    values = [12] * 11 + [12.5, 13, 12.5, 13]
    r = run(p, values)
    [f] = faults(r)
    assert (f.fault_kind, f.opened_at, f.cleared_at) == ("stuck", 600, 3300)
    [a] = threshold_alarms(r)
    assert (a.began_at, a.opened_at) == (3300, 4200)


def test_out_of_range_and_jumps_are_faults_never_alarms() -> None:
    # physical range 0–100, max jump 5, min 0: 150 (t 300) is out of range; back to 3 at 600 is
    # a jump from 150 (still a fault); 3.4 at 900 clears it. 30 at 1500 jumps (fault), 3.2 at
    # 1800 jumps back, 3.4 at 2100 clears. Values ≥ 10 were never counted: no threshold alarm.
    p = point(phys_min=0.0, phys_max=100.0, max_jump=5.0)
    r = run(p, [3, 150, 3, 3.4, 3.5, 30, 3.2, 3.4])
    got = [(f.fault_kind, f.opened_at, f.cleared_at) for f in faults(r)]
    assert got == [("range", 300, 900), ("jump", 1500, 2100)]
    assert threshold_alarms(r) == []
    fault_changes = [(c.kind, c.change, c.fault_kind) for c in r.changes]
    assert r.changes[0].summary_zh == (
        "库水位 P1 设备故障（超出量程）：读数 150 m 超出量程 0–100 m，请运维人员检查"
    )
    assert fault_changes == [("fault", "opened", "range"), ("fault", "cleared", "range"),
                             ("fault", "opened", "jump"), ("fault", "cleared", "jump")]  # fmt: skip


def test_silence_is_a_fault_and_state_carries_across_runs() -> None:
    # silent 3600 s: readings at 0 and 300, then nothing. At until 3000 nothing is wrong; at
    # until 5000 the device has been silent since 300 + 3600 = 3900. The next run sees a
    # reading at 7200, which clears it.
    p = point(params={"silent_s": 3600})
    assert faults(run(p, [1, 1], until=3000)) == []
    first = run(p, [1, 1], until=5000)
    [f] = faults(first)
    assert (f.fault_kind, f.opened_at, f.cleared_at) == ("silent", 3900, None)
    second = run(p, [2], start=7200, until=7200, states=first.states)
    [f2] = faults(second)
    assert (f2.opened_at, f2.cleared_at) == (3900, 7200)


def test_maintenance_window_suppresses() -> None:
    # a site window 600–1800: 12 from 900 opens an alarm inside it (suppressed: no event);
    # still alarming at 1800, after the window, it counts and the event opens then.
    p = point()
    window = MaintenanceWindow(600, 1800, site_id="dam")
    r = run(p, [5, 5, 5, 12, 12, 12, 12], windows=[window])
    [a] = threshold_alarms(r)
    assert (a.opened_at, a.suppressed) == (900, False)  # unsuppressed at 1800
    assert [(c.change, c.at) for c in r.changes] == [("opened", 1800)]
    # a window covering it all: the alarm stays suppressed and nobody is told
    r2 = run(p, [5, 5, 5, 12, 12, 12, 12], windows=[MaintenanceWindow(0, 9000, point_id="P1")])
    assert [a.suppressed for a in threshold_alarms(r2)] == [True]
    assert r2.changes == []


def test_readings_not_flagged_n_do_not_count() -> None:
    # calibration (C) readings at 50 for an hour: no alarm; a normal N reading at 5 between them
    r = run(point(), [50] * 12 + [5], "C" * 12 + "N")
    assert threshold_alarms(r) == []
    # min 600 s: N 12 at 0, D 2 at 300 (ignored), N 12 at 600 → the condition held 0–600
    r2 = run(point(params={"min_duration_s": 600}), [12, 2, 12], "NDN")
    [a] = threshold_alarms(r2)
    assert (a.began_at, a.opened_at) == (0, 600)


def test_flapping_point_is_marked_and_its_lowest_grade_alarms_not_notified() -> None:
    # flap 3 entries per hour: 12/8 alternating; entries at 0, 600, 1200 → the third alarm
    # (opened 1200) is flapping and does not open an event. Events: opened 0, cleared 300,
    # opened 600, cleared 900.
    p = point(params={"flap_count": 3, "flap_window_s": 3600})
    r = run(p, [12, 8, 12, 8, 12, 8])
    assert [a.flapping for a in threshold_alarms(r)] == [False, False, True]
    assert [(c.change, c.at) for c in r.changes] == [
        ("opened", 0), ("cleared", 300), ("opened", 600), ("cleared", 900)
    ]  # fmt: skip


def test_alarms_of_one_site_and_item_merge_into_one_event() -> None:
    # P1 blue from 0 to 1200, P2 yellow from 300 to 900: one event — opened blue (0), escalated
    # yellow (300), downgraded blue (900), cleared (1200) — with two points and two alarms.
    p1, p2 = point("P1"), point("P2")
    tm = STEP * np.arange(6)
    readings = {
        "P1": Series(tm, np.array([12, 12, 12, 12, 5, 5], float)),
        "P2": Series(tm, np.array([5, 25, 25, 5, 5, 5], float)),
    }
    r = evaluate([p1, p2], readings, tm[-1])
    got = [(c.change, c.at, c.level, c.points_alarming) for c in r.changes]
    assert got == [
        ("opened", 0, "blue", 1),
        ("escalated", 300, "yellow", 2),
        ("downgraded", 900, "blue", 1),
        ("cleared", 1200, None, 0),
    ]
    [event] = r.events
    assert (event.alarms, sorted(event.points), event.max_level) == (2, ["P1", "P2"], 2)
    assert r.changes[1].summary_zh == (
        "库水位 黄色预警：2 个测点报警；库水位 P2 黄色预警：水位 25 m（黄色 ≥ 20 m），持续 0 分钟"
    )


def test_alarm_text_reads_as_the_duty_officer_expects() -> None:
    depth = Thresholds.from_mapping(
        {"blue": 6.0, "yellow": 5.5, "orange": 4.4, "red": 4.0}, "below"
    )
    params = QUIET.with_overrides({"min_duration_s": 600})
    p = PointSpec(
        "P2",
        "dam",
        "phreatic_depth",
        "浸润线埋深 P2",
        "m",
        depth,
        params,
        site_name="麻阳锰矿尾矿库",
    )
    # 5.9 m from 0: blue opens at 600; 4.3, 4.2, 4.1 from 900: orange held 600 s at 1500,
    # 25 minutes after the condition began
    tm = STEP * np.arange(6)
    r = evaluate([p], {"P2": Series(tm, np.array([5.9, 5.9, 5.9, 4.3, 4.2, 4.1]))}, tm[-1])
    assert [(c.change, c.at) for c in r.changes] == [("opened", 600), ("escalated", 1500)]
    assert r.changes[1].summary_zh == (
        "麻阳锰矿尾矿库 浸润线埋深 P2 橙色预警：埋深 4.1 m（橙色 ≤ 4.4 m），持续 25 分钟"
    )


def test_parameters_per_item_with_point_overrides() -> None:
    import pytest

    from riskmap.geo.errors import InvalidArgumentError
    from riskmap.geo.worksafety.params import ParamBook

    book = ParamBook(
        default=AlarmParams(min_duration_s=900),
        by_item={"pond_level": AlarmParams(min_duration_s=600, hold_s=0)},
        by_point={"PL2": {"dead_band": 0.05, "stuck_n": None}},
    )
    assert book.for_point("freeboard", "FB1").min_duration_s == 900  # the default
    pl1 = book.for_point("pond_level", "PL1")
    assert (pl1.min_duration_s, pl1.hold_s, pl1.dead_band) == (600, 0, 0)
    pl2 = book.for_point("pond_level", "PL2")
    assert (pl2.min_duration_s, pl2.dead_band, pl2.stuck_n) == (600, 0.05, None)
    with pytest.raises(InvalidArgumentError, match="unknown alarm parameters \\['hold'\\]"):
        AlarmParams().with_overrides({"hold": 5})
    with pytest.raises(InvalidArgumentError, match="stuck_n"):
        AlarmParams(stuck_n=1)
