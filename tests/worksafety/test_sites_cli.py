"""`riskmap sites load` run for real (a subprocess against its own database)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg

from riskmap.geo.db.migrate import migrate
from tests.worksafety.sites import CHEM, DAM, setup_sites, write

ROOT = Path(__file__).resolve().parents[2]


def _riskmap(*args: str, url: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKMAP_")}
    env["RISKMAP_DATABASE_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "riskmap.api.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )


def test_sites_load_command(fresh_db: str, tmp_path: Path) -> None:
    migrate(fresh_db)
    with psycopg.connect(fresh_db) as conn:
        setup_sites(conn)
    good = tmp_path / "good"
    write(good, "dam.yaml", DAM)
    write(good, "chem.yaml", CHEM)

    checked = _riskmap("sites", "load", "--check", str(good), url=fresh_db)
    assert checked.returncode == 0, checked.stderr
    assert "2 site file(s), 4 point(s): valid" in checked.stdout

    loaded = _riskmap("sites", "load", str(good), url=fresh_db)
    assert loaded.returncode == 0, loaded.stderr
    assert "loaded 2 site(s): 4 point(s) added, 0 kept, 0 removed, 13 threshold(s)" in loaded.stdout

    bad = write(tmp_path, "bad.yaml", CHEM.replace("site: T-CHEM", "site: T-GONE"))
    failed = _riskmap("sites", "load", str(good / "dam.yaml"), str(bad), url=fresh_db)
    assert failed.returncode == 1
    assert f"{bad}: site T-GONE: no such hazardous_site" in failed.stderr + failed.stdout

    again = _riskmap("sites", "load", str(good / "dam.yaml"), url=fresh_db)
    assert "0 point(s) added, 3 kept" in again.stdout
    with psycopg.connect(fresh_db) as conn:
        assert conn.execute("SELECT count(*) FROM ws_point").fetchone() == (4,)
