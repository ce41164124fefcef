"""`make bench`: every benchmark against its named peer, on a throwaway PostGIS cluster."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from bench import (
    bulk_load,
    delivery,
    rules_speed,
    station_rows,
    tiles,
    warnings_latency,
    web,
    zonal_grid,
    zonal_scale,
)
from bench.common import free_port
from riskmap.geo.db.cluster import EmbeddedCluster
from riskmap.geo.db.migrate import migrate


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="riskmap-bench-", dir="/tmp"))
    os.chmod(base, 0o755)
    # a loopback TCP port too: the tile bench's peer (tipg) refuses socket-only URLs
    cluster = EmbeddedCluster(base / "pg", fast_unsafe=False, tcp_port=free_port())
    try:
        url = cluster.up()
        migrate(url)
        villages = int(os.environ.get("BENCH_VILLAGES", "25000"))
        benches = [
            ("bulk load (demo tables)", lambda: bulk_load.run(url, villages=villages)),
            ("station rows (SL 323)", lambda: station_rows.run(url)),
            ("new grid → village rainfall", lambda: zonal_grid.run(url)),
            ("zonal statistics at scale", lambda: zonal_scale.run(url)),
            ("all built-in rules", lambda: rules_speed.run(url)),
            ("vector tiles vs tipg", lambda: tiles.run(url, cluster.tcp_url_for())),
            ("warning list under 200 clients vs a static file", lambda: warnings_latency.run(url)),
            ("web pages in Chromium vs a bare MapLibre page", lambda: web.run(url)),
            ("warning delivery vs a bare httpx sender", lambda: delivery.run(url)),
        ]
        for title, bench in benches:
            print(f"== {title}", flush=True)
            for line in bench():
                print(f"   {line}", flush=True)
    finally:
        cluster.destroy()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
