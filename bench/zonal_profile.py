"""Where the time of a next grid goes (bench/zonal_scale.py, part c): the pipeline's functions and
SQL statements timed during real ingests, and the write of one period on its own."""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

import numpy as np
import psycopg
from affine import Affine

from bench.common import timed
from bench.zonal_data import DATASET, T0, write_grid
from riskmap.geo import zonal, zonal_cache
from riskmap.ingest.feeds.grids import feed as grids
from riskmap.ingest.feeds.grids import parts
from riskmap.ingest.pipeline import ingest_file


def timed_ingest(conn: psycopg.Connection, path: Path, store: Path) -> float:
    """Seconds of one grid file through the real pipeline (``ingest_file``), committed."""
    started = time.perf_counter()
    summary = ingest_file(conn, path, data_dir=store, kind="rain-grid")
    elapsed = time.perf_counter() - started
    assert summary.status == "loaded", summary.message
    return elapsed


class _Phases:
    """Wall time per phase of an ingest: wrapped functions and SQL statements by first line."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, owner: object, name: str, label: str) -> contextlib.AbstractContextManager:
        original = getattr(owner, name)
        phases = self

        def clocked(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                phases.seconds[label] += time.perf_counter() - started

        @contextlib.contextmanager
        def patched():
            setattr(owner, name, clocked)
            try:
                yield
            finally:
                setattr(owner, name, original)

        return patched()

    def cursor_class(self) -> type[psycopg.Cursor]:
        phases = self

        class TimedCursor(psycopg.Cursor):
            def execute(self, query, params=None, **kwargs):
                text = query if isinstance(query, str) else "composed"
                label = "sql: " + text.strip().splitlines()[0][:70]
                started = time.perf_counter()
                try:
                    return super().execute(query, params, **kwargs)
                finally:
                    phases.seconds[label] += time.perf_counter() - started

        return TimedCursor


# What the profile of a next grid times: (owner, attribute, label). Each is patched on its owner,
# so it must be the name the pipeline looks up when it calls (feed.py calls its own module's
# names, parts.grid_part calls parts._convert; village_rain.py calls zonal_cache.weights_for).
# Checked by tests/test_bench_profiled.py, so a renamed function fails `make test`, not a
# `make bench` run.
PROFILED = [
    (grids, "read_netcdf", "parse: open NetCDF (read_netcdf)"),
    (grids, "file_sha256", "parse: sha256 of the file"),
    (parts, "_convert", "parse: read + to mm + catalogue stats (_convert)"),
    (grids, "village_rain_for", "after_load: village_rain_for (total)"),
    (zonal_cache, "weights_for", "  weights lookup (zonal_cache.weights_for)"),
    (zonal.ZonalWeights, "stats", "  product: mean, max and coverage (one pass)"),
]


def profile(url: str, work: Path, store: Path, transform: Affine, shape, seeds) -> list[str]:
    """Where the time of a next grid (weights in memory) goes, averaged over ``seeds``."""
    phases = _Phases()
    patches = [phases.wrap(owner, name, label) for owner, name, label in PROFILED]
    totals = []
    with contextlib.ExitStack() as stack:
        for p in patches:
            stack.enter_context(p)
        with psycopg.connect(url, cursor_factory=phases.cursor_class()) as conn:
            for seed in seeds:
                totals.append(timed_ingest(conn, write_grid(work / f"p{seed}.nc", transform,
                                                            shape, seed), store))  # fmt: skip
    k = len(seeds)
    total = float(np.mean(totals))
    lines = [f"   profile of a next grid (mean of {k} ingests, {total * 1e3:.0f} ms each):"]
    for label, secs in sorted(phases.seconds.items(), key=lambda kv: -kv[1]):
        if secs / k >= 0.0005:
            lines.append(f"      {secs / k * 1e3:7.1f} ms  {label}")
    lines.append(_insert_split(url))
    return lines


def _insert_split(url: str) -> str:
    """Writing one period of 25,000 villages: the array row the pipeline writes (migration 0022)
    against the per-village rows it wrote before (still the path of a period stored twice), each
    measured on a period that is then rolled back."""
    from riskmap.geo.db.float8_arrays import Float8ArrayDumper
    from riskmap.geo.grids.village_rain import SQL

    with psycopg.connect(url) as conn:
        codes = [
            r[0]
            for r in conn.execute(
                "SELECT code FROM admin_unit WHERE dataset_id = %s AND level = 'village'"
                " ORDER BY code",
                (DATASET,),
            ).fetchall()
        ]
        set_id = conn.execute("SELECT id FROM village_set ORDER BY created_at DESC").fetchone()[0]
        rng = np.random.default_rng(5)
        mean = rng.gamma(2, 5, len(codes))
        start = T0 + timedelta(days=30)
        key = {
            "product": "qpe",
            "valid_start": start,
            "valid_end": start + timedelta(hours=1),
            "issued_at": start + timedelta(hours=1),
            "source_ref": "bench",
            "ingest_id": None,
        }
        grid_params = {
            **key,
            "village_set": set_id,
            "mean": mean,
            "max": mean * 1.5,
            "coverage": np.ones(len(codes)),
        }
        with conn.transaction(force_rollback=True), conn.cursor() as cur:
            cur.adapters.register_dumper(np.ndarray, Float8ArrayDumper)
            stmt = SQL("village_rain_grid.sql")
            array_s, _ = timed(lambda: cur.execute(stmt, grid_params))
        row_params = {
            **key,
            "codes": codes,
            "mean": [float(v) for v in mean],
            "max": [float(v) for v in mean * 1.5],
            "coverage": [1.0] * len(codes),
        }
        with conn.transaction(force_rollback=True):
            rows_s, _ = timed(lambda: conn.execute(SQL("village_rain.sql"), row_params))
    return (
        f"      one period of {len(codes):,} villages alone: one village_rain_grid array row"
        f" {array_s * 1e3:.1f} ms vs {len(codes):,} village_rain_row rows (the path before"
        f" migration 0022) {rows_s * 1e3:.0f} ms"
    )
