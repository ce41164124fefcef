"""Alarm-flood control on the synthetic month (issue 21): raw threshold crossings against the
alarms the engine raises, recall of the injected true events with their time to alarm, and the
engine's throughput against a plain pandas rolling-window threshold check of the same readings.

The months are seeded (``geo/worksafety/synth.py``: a tailings dam, a chemical plant and a
fireworks warehouse, 23 points, a reading every 5 minutes); the full run takes 20 of them (seeds
1–20), the quick run 2. Raw crossings are what a one-value-per-point system raises: every
reading that enters a threshold from outside it, for every threshold. The peer alarms on each
threshold once the condition has held the same minimum duration (``rolling(...).min()``) — the
usual first attempt at flood control — and its alarms are counted too. Last, one month goes
through the database: COPY into ws_reading, then ``run_alarms`` (read, engine, write), against
the bare SELECT of the same readings that it must make anyway (the floor).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import psycopg

from bench.databases import create_database
from bench.results import Row, at_least, record, scaled
from riskmap.geo.worksafety.alarms import EngineResult, evaluate
from riskmap.geo.worksafety.runner import run_alarms
from riskmap.geo.worksafety.synth import SynthMonth, synthetic_month

SEEDS = scaled(20, 2)
BARE = "SELECT point_n, tm, value, flag FROM ws_reading WHERE tm > %(since)s AND tm <= %(until)s"
REPEATS = scaled(3, 1)


def raw_crossings(month: SynthMonth) -> int:
    """Readings entering a threshold from outside it, every threshold of every point."""
    total = 0
    for p in month.points:
        v = month.series[p.id].value
        for th in p.thresholds.values:
            past = v >= th if p.thresholds.direction == "above" else v <= th
            total += int(past[0]) + int(np.count_nonzero(past[1:] & ~past[:-1]))
    return total


def pandas_peer(month: SynthMonth) -> int:
    """Alarms of a rolling-window check: a threshold alarms when every reading of the last
    min_duration_s is past it (one alarm per rising edge)."""
    alarms = 0
    for p in month.points:
        s = month.series[p.id]
        index = pd.to_datetime(s.tm, unit="s")
        window = f"{int(p.params.min_duration_s) + 1}s"
        values = pd.Series(s.value, index=index)
        for th in p.thresholds.values:
            past = (values >= th) if p.thresholds.direction == "above" else (values <= th)
            held = past.astype(float).rolling(window).min().fillna(0.0) >= 1.0
            alarms += int((held & ~held.shift(1, fill_value=False)).sum())
    return alarms


def recall(month: SynthMonth, r: EngineResult) -> tuple[int, list[float], list[float]]:
    """(events alarmed at their level, seconds to first alarm, seconds to the event's level)."""
    hit, to_alarm, to_level = 0, [], []
    alarms = [a for a in r.alarms if a.kind == "threshold" and not a.suppressed]
    for e in month.events:
        mine = [
            a
            for a in alarms
            if a.point_id == e.point_id
            and a.began_at <= e.end
            and (a.cleared_at is None or a.cleared_at >= e.start)
        ]
        reached = [t for a in mine for t, rank in a.levels if rank >= e.rank]
        if mine and reached:
            hit += 1
            to_alarm.append(min(a.opened_at for a in mine) - e.start)
            to_level.append(min(reached) - e.level_at)
    return hit, to_alarm, to_level


def run(url: str = "") -> Iterator[str]:
    months = [synthetic_month(seed) for seed in range(1, SEEDS + 1)]
    readings = sum(m.readings for m in months)
    points = len(months[0].points)
    yield f"{len(months)} synthetic month(s), {readings:,} readings, {points} points each"
    results = [evaluate(m.points, m.series, m.end, windows=m.windows) for m in months]
    raw = sum(raw_crossings(m) for m in months)
    alarms = sum(sum(1 for a in r.alarms if a.kind == "threshold") for r in results)
    notified = sum(
        sum(1 for c in r.changes if c.kind == "threshold" and c.change in ("opened", "escalated"))
        for r in results
    )
    faults = sum(sum(1 for a in r.alarms if a.kind == "fault") for r in results)
    peer_alarms = sum(pandas_peer(m) for m in months)
    reduction = 100.0 * (1 - alarms / raw)
    yield (
        f"raw crossings {raw:,}; alarms {alarms:,} ({reduction:.1f} % fewer); notified event"
        f" openings/escalations {notified:,}; device faults {faults:,};"
        f" pandas rolling check alarms {peer_alarms:,}"
    )
    record(
        Row("ws_alarms", "alarm reduction vs raw threshold crossings", reduction, "%",
            peer="raw crossings (one value per point)", peer_value=float(raw), ratio=alarms / raw,
            target="≥ 80 % fewer", passed=at_least(reduction, 80.0),
            note=f"{alarms} alarms from {raw} raw crossings",
            extra={"raw_crossings": raw, "alarms": alarms, "notified": notified,
                   "faults": faults, "pandas_rolling_alarms": peer_alarms, "months": len(months)})
    )  # fmt: skip
    hits, to_alarm, to_level = 0, [], []
    events = sum(len(m.events) for m in months)
    for m, r in zip(months, results, strict=True):
        h, ta, tl = recall(m, r)
        hits, to_alarm, to_level = hits + h, to_alarm + ta, to_level + tl
    pct = 100.0 * hits / events
    median_min, max_min = statistics.median(to_alarm) / 60, max(to_alarm) / 60
    level_median, level_max = statistics.median(to_level) / 60, max(to_level) / 60
    yield (
        f"recall {hits}/{events} ({pct:.0f} %); time to alarm median {median_min:.0f} min,"
        f" max {max_min:.0f} min; to the event's level median {level_median:.0f}, max"
        f" {level_max:.0f} min"
    )
    record(
        Row("ws_alarms", "recall of true events (at their level)", pct, "%",
            target="100 %", passed=hits == events, note=f"{hits}/{events} events",
            extra={"events": events})
    )  # fmt: skip
    record(
        Row("ws_alarms", "time to alarm, median", median_min, "min",
            note=f"max {max_min:.0f} min; to the event's level: median {level_median:.0f},"
            f" max {level_max:.0f} min (minimum duration 15 min dam, 5 min gas)",
            extra={"max_min": max_min, "level_median_min": level_median,
                   "level_max_min": level_max})
    )  # fmt: skip
    ours = _best(lambda: [evaluate(m.points, m.series, m.end, windows=m.windows) for m in months])
    peer = _best(lambda: [pandas_peer(m) for m in months])
    yield f"engine {readings / ours:,.0f} readings/s; pandas rolling check {readings / peer:,.0f}"
    record(
        Row("ws_alarms", "alarm engine throughput", readings / ours, "readings/s",
            peer="pandas rolling-window threshold check", peer_value=readings / peer,
            note=f"{readings:,} readings, best of {REPEATS}")
    )  # fmt: skip
    if url:
        yield from through_database(url, months[0])


def through_database(url: str, month: SynthMonth) -> Iterator[str]:
    """The month in ws_reading, then one ``run_alarms`` to its end, against a bare SELECT of
    the same readings, row by row (fetched into Python, nothing else done with them)."""
    db = create_database(url, "bench_ws_alarms")
    with psycopg.connect(db) as conn:
        _load(conn, month)
        conn.commit()
        end = datetime.fromtimestamp(month.end, UTC)
        since = datetime.fromtimestamp(month.start - 1, UTC)
        args = {"since": since, "until": end}
        conn.execute(BARE, args).fetchall()  # warm, as the run will find them
        started = time.perf_counter()
        rows = len(conn.execute(BARE, args).fetchall())
        bare = time.perf_counter() - started
        started = time.perf_counter()
        done = run_alarms(conn, end)
        conn.commit()
        ours = time.perf_counter() - started
    assert done.readings == rows == month.readings, (done.readings, rows, month.readings)
    yield (
        f"through the database: run_alarms {rows / ours:,.0f} readings/s"
        f" ({done.alarms_written} alarm rows, {done.events_written} events);"
        f" bare SELECT {rows / bare:,.0f} readings/s"
    )
    record(
        Row("ws_alarms", "run_alarms: ws_reading → alarms, events (one month)", rows / ours,
            "readings/s", peer="bare SELECT of the same readings", peer_value=rows / bare,
            note=f"{rows:,} readings, {done.alarms_written} alarm rows written")
    )  # fmt: skip


def _load(conn: psycopg.Connection, month: SynthMonth) -> None:
    """The month's sites, points, thresholds and readings, inserted directly (no site file)."""
    conn.execute(
        "INSERT INTO dataset (id, title, synthetic, source) VALUES ('ws', '基准', true, 'bench')"
    )
    conn.execute(
        "INSERT INTO admin_unit (code, level, parent_code, name, gb2260, stat_code, dataset_id,"
        " geom) SELECT code, level, parent, name, code, code || '000000', 'ws',"
        " ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(109.6, 27.8), 4326), 0.5)) FROM (VALUES"
        " ('430000', 'province', NULL, '湖南省'), ('431200', 'city', '430000', '怀化市'),"
        " ('431226', 'county', '431200', '麻阳县')) AS a (code, level, parent, name)"
        " ON CONFLICT DO NOTHING"
    )
    here = "ST_SetSRID(ST_MakePoint(109.6, 27.8), 4326)"
    kinds = {"ws-dam": "tailings_dam", "ws-chem": "chemical_plant", "ws-fw": "fireworks_warehouse"}
    for site_id in {p.site_id for p in month.points}:
        name = next(p.site_name for p in month.points if p.site_id == site_id)
        conn.execute(
            "INSERT INTO hazardous_site (id, name, kind, admin_code, dataset_id, geom)"
            f" VALUES (%s, %s, %s, '431226', 'ws', {here})",
            (site_id, name, kinds[site_id]),
        )
        conn.execute(
            "INSERT INTO ws_site (site_id, supervising_section, config_sha256, dataset_id)"
            " VALUES (%s, %s, 'bench', 'ws')",
            (site_id, "矿山股" if site_id == "ws-dam" else "危化股"),
        )
    start, end = (datetime.fromtimestamp(t, UTC) for t in (month.start, month.end))
    conn.execute("SELECT ws_reading_ensure_partitions(%s, %s)", (start, end))
    for p in month.points:
        n = conn.execute(
            "INSERT INTO ws_point (id, site_id, item, quantity, name, unit, direction, phys_min,"
            " phys_max, max_jump, dataset_id, geom)"
            f" VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'ws', {here}) RETURNING n",
            (p.id, p.site_id, p.item, p.quantity, p.name, p.unit, p.thresholds.direction,
             p.phys_min, p.phys_max, p.max_jump),
        ).fetchone()[0]  # fmt: skip
        for lv, v in zip(p.thresholds.levels, p.thresholds.values, strict=True):
            conn.execute("INSERT INTO ws_threshold VALUES (%s, %s, %s)", (p.id, lv, v))
        s = month.series[p.id]
        with conn.cursor().copy("COPY ws_reading (point_n, tm, value, flag) FROM STDIN") as cp:
            for t, v, f in zip(s.tm, s.value, s.flag, strict=True):
                cp.write_row((n, datetime.fromtimestamp(float(t), UTC), float(v), str(f)))


def _best(fn) -> float:
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)
