"""`make bench`: every benchmark against its named peer, on a throwaway PostGIS cluster.

``python -m bench NAME ...`` (``make bench BENCH="NAME ..."``) runs only the benches named
(``python -m bench --list`` lists them), on the same kind of throwaway cluster.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from bench import (
    archive,
    bulk_load,
    city,
    delivery,
    instances,
    rules_speed,
    station_rows,
    tiles,
    warnings_latency,
    web,
    writes_under_load,
    zonal_grid,
    zonal_scale,
)
from bench.common import free_port
from riskmap.geo.db.cluster import EmbeddedCluster
from riskmap.geo.db.migrate import migrate


def benches(url: str, tcp_url: str) -> list[tuple[str, str, Callable[[], Iterator[str]]]]:
    """(name, title, bench) of every benchmark, in the order ``make bench`` runs them."""
    villages = int(os.environ.get("BENCH_VILLAGES", "25000"))
    return [
        ("bulk", "bulk load (demo tables)", lambda: bulk_load.run(url, villages=villages)),
        ("stations", "station rows (SL 323)", lambda: station_rows.run(url)),
        ("grid", "new grid → village rainfall", lambda: zonal_grid.run(url)),
        ("zonal", "zonal statistics at scale", lambda: zonal_scale.run(url)),
        ("rules", "all built-in rules", lambda: rules_speed.run(url)),
        ("tiles", "vector tiles vs tipg", lambda: tiles.run(url, tcp_url)),
        ("warnings", "warning list under 200 clients vs a static file",
         lambda: warnings_latency.run(url)),
        ("instances", "warning list and village tiles through nginx: 1 vs 2 API instances",
         lambda: instances.run(url)),
        ("web", "web pages in Chromium vs a bare MapLibre page", lambda: web.run(url)),
        ("delivery", "warning delivery vs a bare httpx sender", lambda: delivery.run(url)),
        ("city", "city size (衡阳市, every county): rules, tiles, warning list",
         lambda: city.run(url, tcp_url)),
        ("archive", "rain archive → village annual maxima on Dask (1, 2 workers) vs exactextract",
         lambda: archive.run(url)),
        ("writes", "writes (rules run, ingest, update, issue) under 50 tile clients vs alone",
         lambda: writes_under_load.run(url)),
    ]  # fmt: skip


def main(names: list[str]) -> None:
    known = [name for name, _, _ in benches("", "")]
    if names == ["--list"]:
        print("\n".join(f"{n:<9} {t}" for n, t, _ in benches("", "")))
        return
    unknown = [n for n in names if n not in known]
    if unknown:
        sys.exit(f"unknown bench {', '.join(unknown)}; one of: {', '.join(known)}")
    base = Path(tempfile.mkdtemp(prefix="riskmap-bench-", dir="/tmp"))
    os.chmod(base, 0o755)
    # a loopback TCP port too: the tile benches' peer (tipg) refuses socket-only URLs
    cluster = EmbeddedCluster(base / "pg", fast_unsafe=False, tcp_port=free_port())
    try:
        url = cluster.up()
        migrate(url)
        for name, title, bench in benches(url, cluster.tcp_url_for()):
            if names and name not in names:
                continue
            print(f"== {title}", flush=True)
            started = time.perf_counter()
            for line in bench():
                print(f"   {line}", flush=True)
            print(f"   ({time.perf_counter() - started:.0f} s)", flush=True)
    finally:
        cluster.destroy()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1:])
