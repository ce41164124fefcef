"""The demo's rain archive: ten synthetic years over the demo county, reduced to each village's
annual maxima so a planner sees them (source ``demo-synthetic-10y``).

The archive is generated once per county extent and seed under ``<cache>/archive/`` and reused,
and the reduction runs on Dask's threaded scheduler in this process: a LocalCluster's start-up
would cost more than the whole small archive.
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg

from riskmap.geo.archive import stats, synth
from riskmap.geo.archive.run import RunReport, run_archive_stats
from riskmap.geo.db.sqlfiles import SqlFiles

SQL = SqlFiles("riskmap.geo.archive.sql")
SOURCE = "demo-synthetic-10y"
FIRST_YEAR, YEARS, RES = 2015, 10, 0.05


@dataclass
class DemoArchive:
    folder: Path
    generated_s: float  # 0 when the archive was already there
    report: RunReport | None


def demo_annual_maxima(
    conn: psycopg.Connection, county: str, seed: int, cache_dir: Path
) -> DemoArchive | None:
    """Generate (or reuse) the county's archive and store its villages' annual maxima."""
    row = SQL.one(conn, "county_extent.sql", {"county": county}, shape="tuple")
    if row is None or row[0] is None:
        return None  # no villages loaded
    spec = synth.snapped_spec(row[0], row[1], row[2], row[3], RES)
    extent = f"{spec.west:g}_{spec.south:g}_{spec.east:g}_{spec.north:g}"
    key = f"v{synth.VERSION}-{county}-{seed}-{extent}-{RES:g}"
    folder = Path(cache_dir) / "archive" / key
    done = folder / ".complete"
    began = time.perf_counter()
    generated = 0.0
    if not done.exists():
        shutil.rmtree(folder, ignore_errors=True)
        synth.generate(spec, FIRST_YEAR, YEARS, seed, folder)
        done.touch()
        generated = time.perf_counter() - began
    start, end = stats.year_bounds_utc(FIRST_YEAR, FIRST_YEAR + YEARS - 1)
    report = run_archive_stats(conn, folder, start, end, SOURCE, cache_dir, distributed=False)
    return DemoArchive(folder, generated, report)
