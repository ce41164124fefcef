"""The tiles benches' peer, tipg 1.6 (developmentseed: FastAPI + asyncpg + ``ST_AsMVT``): its own
virtualenv (``.venv-bench-tipg``, made with pip on first use, so its dependencies never mix
with riskmap's), its server over one collection (the villages), and its tile URLs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIPG_VENV = ROOT / ".venv-bench-tipg"
TIPG_REQUIREMENT = "tipg==1.6.*"
TIPG_COLLECTION = "public.village"


def ensure_tipg() -> Path:
    """The tipg virtualenv's python, creating the venv with pip on first use."""
    python = TIPG_VENV / "bin" / "python"
    probe = [str(python), "-c", "import tipg, uvicorn, uvloop"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    # away from the checkout: pip would see riskmap's egg-info on the path and complain
    clean = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([sys.executable, "-m", "venv", str(TIPG_VENV)], check=True, cwd="/", env=clean)
    pip = [str(python), "-m", "pip", "install", "--quiet", TIPG_REQUIREMENT, "uvicorn", "uvloop"]
    subprocess.run(pip, check=True, cwd="/", env=clean)
    return python


def tipg_path(t) -> str:
    """tipg's URL path of tile ``t`` (z, x, y), asking for the attributes it can give."""
    return (
        f"/collections/{TIPG_COLLECTION}/tiles/WebMercatorQuad/{t.z}/{t.x}/{t.y}"
        "?properties=code,name,township_code"
    )


def tipg_ready(base: str) -> str:
    """The URL that answers once tipg has read the collection."""
    return f"{base}/collections/{TIPG_COLLECTION}"


def start_tipg(python: Path, tcp_url: str, port: int, log: Path, workers: int) -> subprocess.Popen:
    """tipg on 127.0.0.1:``port`` with ``workers`` uvicorn workers over ``tcp_url``."""
    env = {
        **os.environ,
        "DATABASE_URL": tcp_url,
        "TIPG_DB_SCHEMAS": '["public"]',
        "TIPG_DB_TABLES": f'["{TIPG_COLLECTION}"]',
        "TIPG_TILE_BUFFER": "64",
        "TIPG_TILE_RESOLUTION": "4096",
        "TIPG_MAX_FEATURES_PER_TILE": "100000",
    }
    # started at the usual priority, as riskmap's workers are; once it answers, lowered to the
    # niceness riskmap's workers take after their start (RISKMAP_API_NICE, servers.renice_tree):
    # the same priority against PostgreSQL and the load generator while measured
    argv = [str(python), "-m", "uvicorn", "tipg.main:app", "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--workers", str(workers), "--log-level", "warning"]
    return subprocess.Popen(argv, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
