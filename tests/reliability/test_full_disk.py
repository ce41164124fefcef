"""A full disk during ingest: the data directory (grid store, zonal-weights cache, inbox) on a
small tmpfs of its own, filled up before a rain grid arrives.

Whatever the disk refuses, nothing is left half-written: the grid is rejected with the disk's
reason and no partial copy stays in the store, no catalogue row, no village rain, no loaded
ingest_log row; a cache the disk refuses is only a cache (the grid still loads, no partial cache
file stays); and once there is space again the same file loads whole.

Why a tmpfs: a real filesystem answering ENOSPC at the byte the space runs out, as a full disk
does, for every writer in the process (the grid copy, numpy's cache, the archive move). The test
runs as root (mount needs it), as `make test` does (it installs system packages); where mounting
is not permitted it fails, saying so: an untested full disk is not a pass.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import netCDF4
import psycopg
import pytest

from riskmap.geo import zonal_cache
from riskmap.ingest.runner import Runner
from tests.conftest import ROOT, clone_database, drop_database

SCENARIO = ROOT / "data" / "scenarios" / "storm-431226"
GRID = SCENARIO / "20260714T0230Z_qpf_6h.nc"  # six periods, ~57 KB
DISK_BYTES = 4 * 2**20


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs of this test's own, unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES}", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs here ({done.stderr.strip()}): run the tests as root")
    try:
        yield mount
    finally:
        release(mount)
        quiet = {"capture_output": True, "check": False}
        if subprocess.run(["umount", str(mount)], **quiet).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], **quiet)  # freed when the last file closes


def release(mount: Path) -> None:
    """Close what this process still holds open on the disk: the grids read in-process stay in
    xarray's file cache (and in the log records of the refusal) after the ingest."""
    from xarray.backends.file_manager import FILE_CACHE

    gc.collect()
    for key in [k for k in list(FILE_CACHE.keys()) if str(mount) in repr(k)]:
        with contextlib.suppress(Exception):
            FILE_CACHE.pop(key).close()


@pytest.fixture
def url(pg_cluster, storm_url) -> Iterator[str]:
    url = clone_database(pg_cluster, storm_url, "t_full_disk")
    yield url
    drop_database(pg_cluster, url)


def free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill(disk: Path, leave: int) -> Path:
    """A filler file that leaves about ``leave`` bytes free on ``disk``."""
    filler = disk / f"filler-{uuid.uuid4().hex[:6]}"
    size = max(free_bytes(disk) - leave, 0)
    with filler.open("wb") as fh:
        fh.truncate(0)
        fh.write(b"\0" * size)  # written, not sparse: tmpfs counts the pages
    assert abs(free_bytes(disk) - leave) <= 8192, free_bytes(disk)
    return filler


def shifted_grid(dest: Path, days: int) -> Path:
    """The storm's forecast grid with its times moved by ``days`` (content no ingest holds)."""
    shutil.copyfile(GRID, dest)
    with netCDF4.Dataset(dest, "a") as nc:
        for name in ("time", "time_bnds", "forecast_reference_time"):
            if name in nc.variables:
                nc.variables[name][...] = nc.variables[name][...] + days * 24
    return dest


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def state(url: str, sha: str) -> dict[str, int]:
    """What the database holds of the grid with this SHA-256."""
    with psycopg.connect(url) as c:
        return {
            "ingest_log": c.execute(
                "SELECT count(*) FROM ingest_log WHERE sha256 = %s AND status <> 'rejected'",
                [sha],
            ).fetchone()[0],
            "grid_file": c.execute(
                "SELECT count(*) FROM grid_file WHERE sha256 = %s", [sha]
            ).fetchone()[0],
            "village_rain_grid": c.execute(
                "SELECT count(*) FROM village_rain_grid WHERE source_ref LIKE %s",
                [f"{sha[:20]}-%"],
            ).fetchone()[0],
        }


def test_a_full_disk_rejects_the_grid_whole_and_space_lets_it_load(disk, url, caplog):
    data = disk / "data"
    runner = Runner(url, data, data / "inbox")
    grid = shifted_grid(runner.inbox / "qpf_6h.nc", days=140)
    sha = hashlib.sha256(grid.read_bytes()).hexdigest()
    size = grid.stat().st_size
    zonal_cache.clear_memory_cache()  # the weights are built and cached on this disk

    # 1. the disk fills up while the grid is copied into the store
    filler = fill(disk, leave=size // 3)
    [summary] = runner.run_once()
    assert summary.status == "rejected"
    assert "No space left on device" in (summary.message or ""), summary.message
    assert not (runner.inbox / grid.name).exists()
    [refused] = files_under(runner.inbox / "rejected")
    assert refused.read_bytes()[:4] == b"\x89HDF"
    assert files_under(data / "grids") == [], "a partial grid stayed in the store"
    assert state(url, sha) == {"ingest_log": 0, "grid_file": 0, "village_rain_grid": 0}

    # 2. space for the grid but not for the zonal-weights cache: a cache is only a cache
    filler.unlink()
    filler = fill(disk, leave=size + 16384)
    refused.rename(runner.inbox / grid.name)  # what an operator does once there is space
    [summary] = runner.run_once()
    assert summary.status == "loaded", summary.message
    assert [p.name for p in files_under(data / "cache")] == [], "a partial cache file stayed"
    assert "not written" in caplog.text and "No space left on device" in caplog.text

    # 3. with space again, the next grid loads whole and its weights are cached
    filler.unlink()
    zonal_cache.clear_memory_cache()
    other = shifted_grid(runner.inbox / "qpf_6h_next.nc", days=141)
    other_sha = hashlib.sha256(other.read_bytes()).hexdigest()
    [summary] = runner.run_once()
    assert summary.status == "loaded", summary.message
    [cached] = files_under(data / "cache" / "zonal")
    assert cached.stat().st_size > 16384  # more than step 2 left free
    with psycopg.connect(url) as c:
        stored = c.execute(
            "SELECT DISTINCT path, sha256 FROM grid_file WHERE sha256 = ANY(%s)", [[sha, other_sha]]
        ).fetchall()
    assert len(stored) == 2 and files_under(data / "grids") == sorted(Path(p) for p, _ in stored)
    for path, digest in stored:
        assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == digest, path
    for digest in (sha, other_sha):
        assert state(url, digest) == {"ingest_log": 1, "grid_file": 6, "village_rain_grid": 6}
