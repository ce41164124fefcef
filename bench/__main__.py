"""`make bench`: every benchmark against its named peer, on a throwaway PostGIS cluster."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from bench import bulk_load
from geo.db.cluster import EmbeddedCluster
from geo.db.migrate import migrate


def main() -> None:
    base = Path(tempfile.mkdtemp(prefix="riskmap-bench-", dir="/tmp"))
    os.chmod(base, 0o755)
    cluster = EmbeddedCluster(base / "pg", fast_unsafe=False)
    try:
        url = cluster.up()
        migrate(url)
        for line in bulk_load.run(url, villages=int(os.environ.get("BENCH_VILLAGES", "25000"))):
            print(line, flush=True)
    finally:
        cluster.destroy()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
