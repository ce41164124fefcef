"""One point's alarm state machine over its readings in time order.

Per reading (flag 'N' only; others are ignored but show the device is talking):
1. device faults first — out of the physical range (``range``), an impossible change from the
   previous reading (``jump``), the same value ``stuck_n`` times in a row (``stuck``), or no
   reading for ``silent_s`` (``silent``). A fault is never a threshold alarm: while one is open
   the point's readings do not count, and a condition building up towards an alarm restarts.
2. the threshold condition: an alarm opens once the level has held ``min_duration_s`` (at the
   lowest level held over that time), escalates once a higher level has held as long, drops a
   level or clears only past the dead band, and a re-opening within ``hold_s`` of clearing
   continues the same alarm (its clearing becomes final only when the hold time has passed).
3. flapping: ``flap_count`` entries into the condition within ``flap_window_s`` mark the point;
   alarms opened while it flaps carry the mark.

Times are epoch seconds (floats); the state is a plain dataclass the runner stores as JSON, so a
later run continues where this one stopped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np

from riskmap.geo.worksafety.levels import level, more_severe
from riskmap.geo.worksafety.params import MaintenanceWindow, PointSpec

FaultKind = Literal["stuck", "range", "jump", "silent"]
Change = Literal["opened", "level", "cleared", "unsuppressed"]


@dataclass
class AlarmRecord:
    """An alarm (kind threshold) or a device fault (kind fault) of one point."""

    point_id: str
    kind: Literal["threshold", "fault"]
    began_at: float  # the condition (or fault) began
    opened_at: float  # the alarm was raised (began_at + the minimum duration)
    level: int = 0  # current rank (threshold alarms)
    max_level: int = 0
    fault_kind: FaultKind | None = None
    peak: float | None = None  # most severe value seen
    value: float | None = None  # last counted value
    last_at: float | None = None
    cleared_at: float | None = None
    levels: list[list[float]] = field(default_factory=list)  # [[t, rank], ...] changes
    flapping: bool = False
    suppressed: bool = False  # opened in a maintenance window

    @property
    def key(self) -> tuple[str, str, float]:
        return (self.point_id, self.kind, self.opened_at)


@dataclass
class PointChange:
    """Something that happened to an alarm at time ``at`` (the runner and events act on it)."""

    at: float
    change: Change
    alarm: AlarmRecord  # the record as it is now (it may change after this)
    level: int  # the alarm's rank at ``at``
    previous_level: int
    counts: bool  # whether the alarm counts towards its event then (not suppressed, not flapping)
    value: float | None  # the alarm's last value at ``at``


@dataclass
class PointState:
    """Everything the machine remembers between readings (and between runs)."""

    last_tm: float | None = None  # last reading of any flag (silence)
    prev_value: float | None = None  # previous N reading (jump, stuck)
    prev_tm: float | None = None
    same_count: int = 0
    pending_since: float | None = None
    pending_level: int = 0
    up_since: float | None = None
    up_level: int = 0
    clearing_since: float | None = None
    in_condition: bool = False
    entries: list[float] = field(default_factory=list)  # condition entries in the flap window
    flapping: bool = False
    alarm: AlarmRecord | None = None
    fault: AlarmRecord | None = None

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> PointState:
        data = dict(data)
        for name in ("alarm", "fault"):
            if data.get(name) is not None:
                data[name] = AlarmRecord(**data[name])
        return cls(**data)


class PointMachine:
    """Advances one point's state over its readings; collects changes and touched alarms."""

    def __init__(
        self,
        point: PointSpec,
        state: PointState | None = None,
        windows: list[MaintenanceWindow] | tuple[MaintenanceWindow, ...] = (),
    ) -> None:
        self.point = point
        self.p = point.params
        self.s = state or PointState()
        self.windows = [w for w in windows if w.point_id == point.id or w.site_id == point.site_id]
        self.changes: list[PointChange] = []
        self.touched: dict[tuple, AlarmRecord] = {}  # alarms to write, by key

    # --- public ---------------------------------------------------------------------------
    def feed(
        self,
        tm: np.ndarray,
        value: np.ndarray,
        flag: np.ndarray | None = None,
        *,
        skip_quiet: bool = True,
    ) -> None:
        """Readings of this point in time order, all later than the state's last reading.

        Levels, range and the quiet stretches are found with numpy first; the state machine
        then steps reading by reading except over quiet stretches (``skip_quiet``: normal,
        in range, no jump, not stuck, no gap) met while nothing is open or building up, which
        it crosses in one step — the same result as stepping through them, most of the time
        saved (most readings of a month are quiet).
        """
        tm = np.asarray(tm, dtype=float)
        value = np.asarray(value, dtype=float)
        n = len(tm)
        ok = np.ones(n, bool) if flag is None else np.asarray(flag) == "N"
        raw = level(value, self.point.thresholds)
        held = level(value, self.point.thresholds, self.p.dead_band)
        lo, hi = self.point.phys_min, self.point.phys_max
        out = np.zeros(n, bool)
        if lo is not None:
            out |= value < lo
        if hi is not None:
            out |= value > hi
        quiet, run = self._quiet(tm, value, ok, raw, out) if skip_quiet else (None, None)
        if quiet is None:
            for i in range(n):
                self._one(float(tm[i]), float(value[i]), bool(ok[i]), int(raw[i]),
                          int(held[i]), bool(out[i]))  # fmt: skip
            return
        loud = np.flatnonzero(~quiet)
        next_loud = np.append(loud, n)[np.searchsorted(loud, np.arange(n))]
        s, i = self.s, 0
        while i < n:
            if quiet[i] and s.alarm is None and s.fault is None and s.pending_since is None:
                j = int(next_loud[i])  # cross the quiet stretch i … j-1 at once
                s.last_tm = s.prev_tm = float(tm[j - 1])
                s.prev_value, s.same_count = float(value[j - 1]), int(run[j - 1])
                s.in_condition = False
                if s.entries:
                    self._flapping(s.last_tm, False)
                i = j
                continue
            self._one(float(tm[i]), float(value[i]), bool(ok[i]), int(raw[i]), int(held[i]),
                      bool(out[i]))  # fmt: skip
            i += 1

    def _quiet(self, tm, value, ok, raw, out):
        """Readings that change nothing when the point is idle: N, normal, in range, after an
        N reading within the silence limit, no jump from it, and not (nearly) stuck. Also the
        count of equal N values in a row ending at each reading (the stuck counter)."""
        p, point, s = self.p, self.point, self.s
        n = len(tm)
        quiet = ok & (raw == 0) & ~out
        quiet[0] = False  # the first reading is compared with the stored state: step it
        quiet[1:] &= ok[:-1]
        if p.silent_s is not None:
            quiet[1:] &= np.diff(tm) <= p.silent_s
        if point.max_jump is not None:
            quiet[1:] &= np.abs(np.diff(value)) <= point.max_jump
        # equal N values in a row (non-N readings in between do not break a run, as in _one)
        run = np.ones(n, np.int64)
        idx = np.flatnonzero(ok)
        if len(idx):
            v = value[idx]
            same = np.empty(len(idx), bool)
            same[0] = s.prev_value is not None and v[0] == s.prev_value
            same[1:] = v[1:] == v[:-1]
            if p.silent_s is not None:  # a gap restarts the count (_one forgets the value)
                last = np.concatenate(([s.last_tm if s.last_tm is not None else tm[0]], tm))
                gaps = np.cumsum(np.diff(last) > p.silent_s)
                same[0] &= gaps[idx[0]] == 0
                same[1:] &= gaps[idx[1:]] == gaps[idx[:-1]]
            k = np.arange(len(idx))
            start = np.maximum.accumulate(np.where(same, -1, k))
            counts = k - start + 1
            carried = start < 0  # the run goes on from the stored state
            counts[carried] = k[carried] + 1 + s.same_count
            run[idx] = counts
        if p.stuck_n is not None:
            quiet &= run < p.stuck_n
        return quiet, run

    def advance_to(self, until: float) -> None:
        """Time passes with no reading up to ``until``: a hold runs out, a device falls silent."""
        s = self.s
        hold_over = s.clearing_since is not None and until - s.clearing_since >= self.p.hold_s
        if s.alarm is not None and hold_over:
            self._close_alarm(s.clearing_since)
        silent = self.p.silent_s
        quiet = silent is not None and s.last_tm is not None and until - s.last_tm > silent
        if quiet and s.fault is None:
            self._open_fault("silent", s.last_tm + silent, None)

    # --- one reading ----------------------------------------------------------------------
    def _one(self, t: float, v: float, ok: bool, raw: int, held: int, out: bool) -> None:
        s, p = self.s, self.p
        if (
            s.alarm is not None
            and s.clearing_since is not None
            and t - s.clearing_since >= p.hold_s
        ):
            self._close_alarm(s.clearing_since)
        gap = s.last_tm is not None and p.silent_s is not None and t - s.last_tm > p.silent_s
        if gap:
            if s.fault is None:
                self._open_fault("silent", s.last_tm + p.silent_s, None)
            if s.fault is not None and s.fault.fault_kind == "silent":
                self._close_fault(t)
            self._restart()
            s.prev_value = None  # a change across a long gap is not a jump
        s.last_tm = t
        if not ok:
            return
        fault = self._fault_of(t, v, out)
        s.prev_value, s.prev_tm = v, t
        if fault is not None:
            if s.fault is None:
                self._open_fault(fault, t, v)
            else:
                s.fault.value, s.fault.last_at = v, t
                self._touch(s.fault)
            self._restart()
            return
        if s.fault is not None:
            self._close_fault(t)
        self._flapping(t, raw >= 1)
        if s.alarm is None:
            self._idle(t, v, raw)
        else:
            self._alarming(t, v, raw, held)

    def _fault_of(self, t: float, v: float, out: bool) -> FaultKind | None:
        s, point = self.s, self.point
        same = s.prev_value is not None and v == s.prev_value
        s.same_count = s.same_count + 1 if same else 1
        if out:
            return "range"
        jumpy = point.max_jump is not None and s.prev_value is not None
        if jumpy and abs(v - s.prev_value) > point.max_jump:
            return "jump"
        if self.p.stuck_n is not None and s.same_count >= self.p.stuck_n:
            return "stuck"
        return None

    def _flapping(self, t: float, condition: bool) -> None:
        s, p = self.s, self.p
        if condition and not s.in_condition:
            s.entries.append(t)
        s.in_condition = condition
        while s.entries and s.entries[0] <= t - p.flap_window_s:
            s.entries.pop(0)
        s.flapping = len(s.entries) >= p.flap_count

    def _idle(self, t: float, v: float, raw: int) -> None:
        s = self.s
        if raw < 1:
            s.pending_since = None
            return
        if s.pending_since is None:
            s.pending_since, s.pending_level = t, raw
        else:
            s.pending_level = min(s.pending_level, raw)
        if t - s.pending_since >= self.p.min_duration_s:
            a = AlarmRecord(
                self.point.id, "threshold", s.pending_since, t, s.pending_level, s.pending_level,
                peak=v, value=v, last_at=t, levels=[[t, s.pending_level]],
                flapping=s.flapping, suppressed=self._in_window(t),
            )  # fmt: skip
            s.alarm, s.pending_since = a, None
            self._emit(t, "opened", a, 0)

    def _alarming(self, t: float, v: float, raw: int, held: int) -> None:
        s, a, direction = self.s, self.s.alarm, self.point.thresholds.direction
        assert a is not None
        if s.clearing_since is not None:
            if raw < 1:
                return  # still clear, the hold runs on
            s.clearing_since = None  # back within the hold: the same alarm goes on
        a.peak = v if a.peak is None else more_severe(a.peak, v, direction)
        a.value, a.last_at = v, t
        if a.suppressed and not self._in_window(t):
            a.suppressed = False
            self._emit(t, "unsuppressed", a, 0)
        if held < 1:
            s.clearing_since, s.up_since = t, None
            self._touch(a)
            return
        if held < a.level:
            self._set_level(t, a, held)
        if raw > a.level:
            if s.up_since is None:
                s.up_since, s.up_level = t, raw
            else:
                s.up_level = min(s.up_level, raw)
            if t - s.up_since >= self.p.min_duration_s:
                self._set_level(t, a, s.up_level)
                s.up_since = None
        else:
            s.up_since = None
        self._touch(a)

    # --- helpers --------------------------------------------------------------------------
    def _set_level(self, t: float, a: AlarmRecord, rank: int) -> None:
        previous = a.level
        a.level, a.max_level = rank, max(a.max_level, rank)
        a.levels.append([t, rank])
        if rank > previous and a.flapping and rank >= 2:
            a.flapping = False  # a flapping point rising past its lowest grade is no noise
        self._emit(t, "level", a, previous)

    def _restart(self) -> None:
        """A fault or a gap: the condition's build-up restarts (an open alarm stays open)."""
        s = self.s
        s.pending_since = s.up_since = None
        s.in_condition = False

    def _open_fault(self, kind: FaultKind, t: float, v: float | None) -> None:
        f = AlarmRecord(self.point.id, "fault", t, t, fault_kind=kind, value=v, peak=v,
                        last_at=t, suppressed=self._in_window(t))  # fmt: skip
        self.s.fault = f
        self._emit(t, "opened", f, 0)

    def _close_fault(self, t: float) -> None:
        f = self.s.fault
        assert f is not None
        f.cleared_at = t
        self.s.fault = None
        self._emit(t, "cleared", f, 0)

    def _close_alarm(self, t: float) -> None:
        a = self.s.alarm
        assert a is not None
        a.cleared_at = t
        self.s.alarm, self.s.clearing_since, self.s.up_since = None, None, None
        self._emit(t, "cleared", a, a.level)

    def _in_window(self, t: float) -> bool:
        return any(w.covers(self.point, t) for w in self.windows)

    def _emit(self, t: float, change: Change, a: AlarmRecord, previous: int) -> None:
        counts = a.kind == "threshold" and not (a.suppressed or a.flapping)
        self.changes.append(PointChange(t, change, a, a.level, previous, counts, a.value))
        self._touch(a)

    def _touch(self, a: AlarmRecord) -> None:
        self.touched[a.key] = a
