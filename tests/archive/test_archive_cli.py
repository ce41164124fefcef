"""`riskmap archive synth` then `riskmap archive stats` on a LocalCluster, as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import psycopg

from tests.archive.conftest import VILLAGES

RISKMAP = str(Path(sys.executable).with_name("riskmap"))


def test_synth_then_stats_on_a_local_cluster(archive_db, tmp_path) -> None:
    env = {**os.environ, "RISKMAP_DATABASE_URL": archive_db, "RISKMAP_DATA_DIR": str(tmp_path)}
    grids = tmp_path / "grids"
    made = subprocess.run(
        [RISKMAP, "archive", "synth", "--bbox", "100.0,40.0,100.4,40.3", "--res", "0.1",
         "--years", "1", "--start", "2015", "--seed", "2", "--out", str(grids)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert len(list(grids.glob("rain_2015??.nc"))) == 12
    pq = tmp_path / "max.parquet"
    run = subprocess.run(
        [RISKMAP, "archive", "stats", "--grids", str(grids), "--from", "2015-01-01",
         "--to", "2015-12-31", "--source", "t-cli", "--workers", "1", "--parquet", str(pq)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "15 rows of source 't-cli'" in run.stdout  # 3 villages × 5 durations × 1 year
    with psycopg.connect(archive_db) as conn:
        rows = conn.execute(
            "SELECT village_code, hours, complete FROM village_rain_annual_max"
            " WHERE source = 't-cli' AND year = 2015"
        ).fetchall()
    # the archive's months are UTC: Beijing 2015 misses its first 8 hours, still ≥ 90 %
    assert {r[0] for r in rows} == set(VILLAGES) and {(r[1], r[2]) for r in rows} == {(8752, True)}
    assert len(gpd.read_parquet(pq)) == 15

    bad = subprocess.run(
        [RISKMAP, "archive", "stats", "--grids", str(tmp_path / "nothing*.nc"), "--from",
         "2015-01-01", "--to", "2015-01-02", "--workers", "1"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    said = " ".join(bad.stderr.split())  # rich wraps long lines
    assert bad.returncode == 1 and "nothing*.nc: no NetCDF, GeoTIFF or Zarr files found" in said
