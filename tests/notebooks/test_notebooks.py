"""Every planner notebook: committed without outputs, and run top to bottom headless.

Each ``notebooks/*.ipynb`` is checked for outputs and execution counts with nbformat (the rule
nbstripout enforces, checked here without it), then executed by nbclient in a python3 kernel of
this interpreter against a throwaway copy of the replayed storm with risk maps built and a few
rules cycles run. The kernel finds its database through ``RISKMAP_DATABASE_URL`` (the notebooks
call ``planner.connect()``), writes its exports under a temporary ``RISKMAP_DATA_DIR`` and draws
with matplotlib's Agg backend; any error in any cell fails the test.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import nbformat
import psycopg
import pytest
from nbclient import NotebookClient
from psycopg import sql

from tests.conftest import clone_database

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
COUNTY = "431226"
CELL_TIMEOUT_S = 120


ARCHIVE_SOURCE = "demo-synthetic-10y"


@pytest.fixture(scope="module")
def notebook_db(planner_url: str) -> str:
    """The storm copy a planner's database resembles (tests/conftest.py ``planner_url``), with
    an archive's annual maxima and their frequencies (05_rainfall_frequency) where the copy has
    none: ten seeded Gumbel years per village and duration, then the real batch."""
    from riskmap.geo.frequency import run_frequency

    with psycopg.connect(planner_url) as conn:
        if conn.execute("SELECT 1 FROM village_rain_annual_max LIMIT 1").fetchone() is None:
            _synthetic_annual_maxima(conn)
        (source,) = conn.execute(
            "SELECT min(source) FROM village_rain_annual_max m WHERE NOT EXISTS "
            "(SELECT 1 FROM village_rain_frequency f WHERE f.source = m.source)"
        ).fetchone()
        if source is not None:
            run_frequency(conn, source, bootstrap_samples=100)
        conn.commit()
    return planner_url


def _synthetic_annual_maxima(conn: psycopg.Connection) -> None:
    """Ten years of annual maxima per village for 1–24 h, deeper for longer durations."""
    import numpy as np

    codes = [r[0] for r in conn.execute("SELECT code FROM village ORDER BY code")]
    rng = np.random.default_rng(19)
    rows = []
    for code in codes:
        wet = rng.uniform(0.8, 1.25)  # some villages wetter than others
        for hours in (1, 3, 6, 12, 24):
            loc = 32.0 * hours**0.42 * wet
            maxima = rng.gumbel(loc, 0.28 * loc, size=10)
            rows += [
                (ARCHIVE_SOURCE, code, hours, 2016 + i, max(float(x), 0.0), 8760, True)
                for i, x in enumerate(maxima)
            ]
    conn.cursor().executemany(
        "INSERT INTO village_rain_annual_max (source, village_code, duration_h, year, max_mm,"
        " hours, complete) VALUES (%s, %s, %s, %s, %s, %s, %s)",
        rows,
    )


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS, "notebooks/ holds no .ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count"))
    ]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs or execution counts (nbstripout)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_runs_headless(
    path: Path, notebook_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RISKMAP_DATABASE_URL", notebook_db)
    monkeypatch.setenv("RISKMAP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    (tmp_path / "data").mkdir()
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        allow_errors=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    started = time.monotonic()
    client.execute()  # raises CellExecutionError (cell source and traceback) on any error
    elapsed = time.monotonic() - started
    assert elapsed < 120, f"{path.name} took {elapsed:.0f} s; a notebook must run in under 2 min"
    print(f"{path.name}: {elapsed:.1f} s")
