"""The bundled storm replayed as it would arrive, hour by hour, into a copy of the storm database
(the demo's replay, ``riskmap demo``: api/cli/demo_load.py, but one hour at a time): each hour's
feed files go through the ingest pipeline, then the rules and plans run as of that hour. Every
file, warning change and response writes its live event (event_log), so a server over the
database pushes them to its event streams while this runs.

:func:`forget_storm` (in the test) makes the copy storm-free first; the replay itself runs as
a process of its own, as the ingest runner does: ``python -m tests.reliability.storm_replay
DATABASE_URL DATA_DIR [SECONDS]``. With SECONDS the hours are spread over that long (a soak);
it prints one line per hour and ``done`` at the end.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import psycopg

from riskmap.geo.demo.scenario import DEFAULT_START
from riskmap.geo.warnings.cycle import reset_for_demo, run_cycle
from riskmap.ingest.pipeline import forget, ingest_file

SCENARIO = Path(__file__).resolve().parents[2] / "data" / "scenarios" / "storm-431226"


def storm_files() -> list[Path]:
    """The storm's feed files in arrival order (their names start with their UTC time)."""
    return sorted(p for p in SCENARIO.iterdir() if p.suffix not in (".md", ".txt"))


def forget_storm(url: str) -> None:
    """Remove what the storm's files loaded, and every warning, from a copy of the storm
    database, so that replaying them loads them again (as ``riskmap demo`` does on a re-run)."""
    with psycopg.connect(url) as conn:
        forget(conn, [str(p) for p in storm_files()])
        reset_for_demo(conn)
        conn.commit()


def hours() -> list[tuple[int, list[Path]]]:
    """The files by the hour they arrive in: ``h`` holds those stamped h:00–h:59 UTC on the
    storm day (1 also those of the day before)."""
    by_hour: dict[int, list[Path]] = defaultdict(list)
    for path in storm_files():
        stamp = path.name[:14]  # 20260714T0105Z
        day, hh = int(stamp[6:8]), int(stamp[9:11])
        at = (day - DEFAULT_START.day) * 24 + hh
        by_hour[max(1, at)].append(path)
    return sorted(by_hour.items())


def replay(url: str, data_dir: Path, seconds: float = 0.0) -> None:
    """Each hour: its files ingested (one transaction each), then one rules cycle as of h:00
    (with the data it names, as ``riskmap demo`` runs them), committed. With ``seconds`` the
    n-th of the N hours begins no earlier than n/N of it: a pace, not a synchronisation."""
    plan = hours()
    started = time.monotonic()
    with psycopg.connect(url) as conn:
        for n, (hour, files) in enumerate(plan):
            time.sleep(max(0.0, started + seconds * n / len(plan) - time.monotonic()))
            for path in files:
                ingest_file(conn, path, data_dir=data_dir)
            result = run_cycle(conn, DEFAULT_START + timedelta(hours=hour))
            conn.commit()
            print(f"hour {hour}: {len(files)} files, {len(result.changes)} warning changes")
            sys.stdout.flush()
    print("done", flush=True)


if __name__ == "__main__":
    replay(sys.argv[1], Path(sys.argv[2]), float(sys.argv[3]) if len(sys.argv) > 3 else 0.0)
