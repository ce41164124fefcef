"""MICAPS 3, MICAPS 4 and GRIB through the real command: `riskmap ingest file` and the drop
folder (`riskmap ingest run --once --inbox`), each file told apart by its first bytes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import psycopg
import pytest

from tests.conftest import SHARED_DATA
from tests.ingest.micaps_files import rain_field, write_micaps3, write_micaps4

RISKMAP = str(Path(sys.executable).parent / "riskmap")
BEIJING_0800 = datetime(2026, 7, 14, 8)
UNKNOWN = "cannot tell what kind of feed this is"


def _cleanup(conn: psycopg.Connection) -> None:
    kinds = ["rain-grid", "micaps-stations"]
    logs = "SELECT id FROM ingest_log WHERE kind = ANY(%s)"
    conn.execute(f"DELETE FROM rain_obs WHERE ingest_id IN ({logs})", (kinds,))
    conn.execute(f"DELETE FROM village_rain WHERE ingest_id IN ({logs})", (kinds,))
    conn.execute("DELETE FROM village_rain WHERE product = 'gauge' AND source_ref LIKE 'CMA%'")
    conn.execute("DELETE FROM village_rain WHERE source_ref IN (SELECT id FROM grid_file)")
    conn.execute("DELETE FROM grid_file")
    conn.execute("DELETE FROM grid_definition")
    conn.execute("DELETE FROM station WHERE stcd LIKE 'CMA%'")
    conn.execute("DELETE FROM ingest_log WHERE kind = ANY(%s)", (kinds,))


@pytest.fixture
def db(db_url: str, mayang):
    with psycopg.connect(db_url, autocommit=True) as conn:
        _cleanup(conn)
        yield conn
        _cleanup(conn)


def files(folder: Path) -> dict[str, Path]:
    """One file of each format, named without an extension that would tell (as feeds send)."""
    folder.mkdir(parents=True, exist_ok=True)
    stations = [("Q8101", 109.80, 27.87, 300.0, "12.5"), ("Q8102", 109.70, 27.80, 250.0, "3.1")]
    grib = folder / "ecmwf_tp"
    shutil.copyfile(SHARED_DATA / "rain" / "grib" / "ecmwf_tp_two_grid_resolutions.grib1", grib)
    return {
        "micaps-stations": write_micaps3(folder / "26071408.000", stations, BEIJING_0800),
        "rain-grid": write_micaps4(
            folder / "26071408.024", rain_field(2), BEIJING_0800, lead=24, encoding="gbk"
        ),
        "grib": grib,
    }


def run(db_url: str, data: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKMAP_")}
    env.update(RISKMAP_DATABASE_URL=db_url, RISKMAP_DATA_DIR=str(data))
    return subprocess.run([RISKMAP, *args], env=env, capture_output=True, text=True, timeout=300,
                          check=False)  # fmt: skip


def kinds_logged(db, under: Path) -> dict[str, str]:
    """The ingest log of this test's own files (other test files of the session log theirs)."""
    rows = db.execute(
        "SELECT source, kind, status FROM ingest_log WHERE starts_with(source, %s)",
        (f"{under}/",),
    ).fetchall()
    return {Path(r[0]).name: f"{r[1]}:{r[2]}" for r in rows}


def test_ingest_file_tells_each_format_by_its_first_bytes(db, db_url: str, tmp_path: Path) -> None:
    made = files(tmp_path / "in")
    done = run(db_url, tmp_path / "data", "ingest", "file", *map(str, made.values()))
    assert done.returncode == 0, done.stdout + done.stderr
    assert UNKNOWN not in done.stdout
    assert "(micaps-stations): loaded" in done.stdout
    assert done.stdout.count("(rain-grid): loaded") == 2, done.stdout
    assert kinds_logged(db, tmp_path) == {
        "26071408.000": "micaps-stations:loaded",
        "26071408.024": "rain-grid:loaded",
        "ecmwf_tp": "rain-grid:loaded",
    }
    assert db.execute("SELECT count(*) FROM rain_obs WHERE stcd LIKE 'CMA%'").fetchone()[0] == 2
    assert db.execute("SELECT count(*) FROM grid_definition").fetchone()[0] == 3


def test_drop_folder_ingests_each_format(db, db_url: str, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    made = files(inbox)
    done = run(db_url, tmp_path / "data", "ingest", "run", "--once", "--no-rules",
               "--inbox", str(inbox))  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert UNKNOWN not in done.stdout + done.stderr
    assert kinds_logged(db, tmp_path) == {
        "26071408.000": "micaps-stations:loaded",
        "26071408.024": "rain-grid:loaded",
        "ecmwf_tp": "rain-grid:loaded",
    }
    for path in made.values():
        assert not path.exists()
        assert list((inbox / "archive").rglob(path.name)), f"{path.name} not archived"
    assert not (inbox / "rejected").exists() or not list((inbox / "rejected").rglob("*"))
