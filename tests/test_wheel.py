"""The built wheel: it carries every file of the three packages and runs from a clean venv.

The editable install used by the other tests maps riskmap.* onto the repository folders; a wheel
is what a bureau installs, so it is built here and run away from the checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from tests.conftest import SHARED_DATA

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a copy of the checkout's files (setuptools writes build/ into its source)."""
    src = tmp_path_factory.mktemp("src")
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for name in listed:
        if (ROOT / name).is_file() and not name.startswith(("data/", "tests/", "bench/")):
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(src)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (built,) = out.glob("riskmap-*.whl")
    return built


@pytest.fixture(scope="module")
def clean_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv holding only the wheel; third-party libraries are borrowed from the dev venv
    by a plain path line (its .pth files, hence the editable finder, are not processed)."""
    home = tmp_path_factory.mktemp("venv")
    venv.create(home, with_pip=True)
    py = home / "bin" / "python"
    subprocess.run(
        [py, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    site = subprocess.run(
        [py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "zz_dev_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return home


def tracked_package_files() -> set[str]:
    out = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "geo", "api", "ingest"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {f"riskmap/{line}" for line in out.splitlines() if (ROOT / line).is_file()}


def test_wheel_carries_every_file_of_the_packages(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(tracked_package_files() - names)
    assert missing == []
    assert not any(n.split("/")[0] in {"geo", "api", "ingest", "tests"} for n in names)


def run_installed(home: Path, *args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("RISKMAP_", "PYTHON"))}
    clean.update(env)
    return subprocess.run(
        [str(home / "bin" / args[0]), *args[1:]],
        env=clean,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_installed_wheel_runs_from_its_own_files(
    clean_venv: Path, fresh_db: str, tmp_path: Path
) -> None:
    where = run_installed(
        clean_venv, "python", "-c", "import riskmap.geo; print(riskmap.geo.__file__)", cwd=tmp_path
    )
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(clean_venv)

    helped = run_installed(clean_venv, "riskmap", "--help", cwd=tmp_path)
    assert helped.returncode == 0, helped.stderr
    for group in ("db", "data", "risk", "ingest", "rules", "users", "serve", "demo"):
        assert group in helped.stdout

    # package data: the built-in rule files and their test cases
    rules = run_installed(clean_venv, "riskmap", "rules", "check", cwd=tmp_path)
    assert rules.returncode == 0, rules.stdout + rules.stderr

    # package data: migrations (SQL files), then the CAP schemas and the ingest SQL
    env = {"RISKMAP_DATABASE_URL": fresh_db, "RISKMAP_DATA_DIR": str(tmp_path)}
    migrated = run_installed(clean_venv, "riskmap", "db", "migrate", cwd=tmp_path, **env)
    assert migrated.returncode == 0, migrated.stderr
    assert "schema is current" in migrated.stdout
    cap = SHARED_DATA / "cap" / "zh" / "tw_cwa_heavy_rain_2024.xml"
    loaded = run_installed(
        clean_venv, "riskmap", "ingest", "file", str(cap), "--kind", "cap", cwd=tmp_path, **env
    )
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert "loaded" in loaded.stdout


def test_installed_wheel_caches_the_compiled_zonal_pass(clean_venv: Path, tmp_path: Path) -> None:
    """numba compiles the per-grid zonal pass once (cache=True): beside the installed module
    when its folder is writable, and the next process loads it instead of compiling."""
    script = (
        "from riskmap.geo import zonal_kernel as z; z.warm(); s = z._zone_stats.stats;"
        " print(s.cache_path, sum(s.cache_hits.values()), sum(s.cache_misses.values()))"
    )
    first = run_installed(clean_venv, "python", "-c", script, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    again = run_installed(clean_venv, "python", "-c", script, cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    path, hits, misses = again.stdout.split()
    assert Path(path).is_relative_to(clean_venv) and Path(path).name == "__pycache__"
    assert (int(hits), int(misses)) == (2, 0)  # both index widths loaded, none compiled
    assert list(Path(path).glob("zonal_kernel._zone_stats-*.nbi"))
