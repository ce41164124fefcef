"""Set-up the benches share, built side by side before the first bench starts, so that the
benches themselves run alone on the machine (their figures are not shared with set-up work).

- **tools**, in any run, started before the bench cluster (they need no database): the tipg
  virtualenv (bench/tipg.py, for the tiles and city benches) and the floor page, MapLibre
  alone built by web/'s vite (bench/web_pages.py). Both are subprocesses (pip, node): threads
  suffice.
- **data**, in the quick run, started right after the migration: the demo county with its storm
  as the template the quick benches copy (bench/databases.py), the quick city (bench/city.py)
  and the delivery bench's county (bench/delivery.py), and numba's compilation of the zonal
  kernel into its disk cache (on a fresh checkout the first grid ingest would compile it). They
  are Python and PostgreSQL work, so each runs in a process of its own, using both cores:
  forked from multiprocessing's fork server, which imported their modules once while the
  cluster started and migrated (:func:`preload`; spawned, each imported them itself: ~2.5 s
  of CPU each), with no connection inherited; their sessions commit without waiting for the
  WAL flush (``synchronous_commit = off``: the set-up's data is thrown away with the cluster,
  and what is measured later runs with the cluster's own setting).

Only what the benches asked for is built (``python -m bench tiles`` builds the tipg venv and
the demo county, nothing else). A set-up that fails is reported here and left to the bench
that needs it, which tries again on its own and, failing, leaves its failed row in the table.
"""

from __future__ import annotations

import multiprocessing
import os
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from bench.results import quick

# which benches use each set-up
NEEDS = {
    "tipg": {"tiles", "city"},
    "floor": {"web"},
    "storm": {"rules", "tiles", "warnings", "instances", "web", "writes"},
    "city": {"city"},
    "delivery": {"delivery"},
    # numba's compiled zonal kernel, written to its disk cache (a fresh checkout has none)
    "numba": {"grid", "zonal", "delivery", "writes"},
}

# the modules the quick run's data jobs import, loaded once by the fork server
_PRELOAD = [
    "bench.databases",
    "bench.city",
    "bench.delivery",
    "riskmap.api.cli.demo_load",
    "riskmap.api.cli.demo_city",
    "riskmap.geo.risk.build",
    "riskmap.geo.risk.counties",
    "riskmap.geo.zonal_kernel",
]
_DATA = ("storm", "city", "delivery", "numba")
_CONTEXT = multiprocessing.get_context("forkserver")

_futures: dict[str, Future] = {}
_done: dict[str, Any] = {}
_started: dict[str, float] = {}


def wanted(setup: str, names: Iterable[str]) -> bool:
    """Whether a bench of ``names`` (all when empty) uses ``setup``."""
    names = set(names)
    return not names or bool(NEEDS[setup] & names)


_took: dict[str, float] = {}


def _submit(pool, name: str, fn: Callable, *args: Any) -> None:
    _started[name] = time.perf_counter()
    _futures[name] = future = pool.submit(fn, *args)
    future.add_done_callback(lambda _: _took.setdefault(name, time.perf_counter() - _started[name]))


def start_tools(names: Iterable[str], work: Path) -> None:
    """Start the tipg virtualenv and the floor page (``work``: a folder kept until the run ends)
    in the background, when a bench of ``names`` uses them."""
    from bench import tipg, web_pages

    names = list(names)
    pool = ThreadPoolExecutor(2, thread_name_prefix="bench-setup")
    if wanted("tipg", names):
        _submit(pool, "tipg", tipg.ensure_tipg)
    if wanted("floor", names):
        _submit(pool, "floor", web_pages.build_floor, work / "floor")
    pool.shutdown(wait=False)


def start_data(url: str, tcp_url: str, names: Iterable[str]) -> None:
    """The quick run: build the demo county's storm template and the quick city on the
    migrated cluster at ``url``, each in a process of its own."""
    if not quick():
        return
    from bench import city, databases, delivery

    names = list(names)
    jobs = []
    # the folders made here: a process's own clean-up at its exit would remove them
    if wanted("storm", names):
        keep = keep_folder("riskmap-bench-storm-")
        jobs.append(("storm", databases.build_storm_template, url, keep))
    if wanted("city", names):
        keep = keep_folder("riskmap-bench-city-")
        jobs.append(("city", city.build_new, url, tcp_url, keep))
    if wanted("numba", names):
        from riskmap.geo import zonal_kernel

        jobs.append(("numba", zonal_kernel.warm))
    if wanted("delivery", names):
        keep = keep_folder("riskmap-bench-delivery-")
        jobs.append(("delivery", delivery.build_database, url, keep))
    if not jobs:
        return
    pool = ProcessPoolExecutor(len(jobs), mp_context=_CONTEXT, initializer=_no_commit_wait)
    for name, fn, *args in jobs:
        _submit(pool, name, fn, *args)
    pool.shutdown(wait=False)


def preload(names: Iterable[str]) -> None:
    """The quick run: start the fork server the data jobs are forked from, importing their
    modules now, beside the cluster's start (returns at once)."""
    names = list(names)
    if not quick() or not any(wanted(setup, names) for setup in _DATA):
        return
    from multiprocessing import forkserver

    _CONTEXT.set_forkserver_preload(_PRELOAD)
    forkserver.ensure_running()


def _no_commit_wait() -> None:
    """A data job's sessions (libpq reads PGOPTIONS at each connection)."""
    os.environ["PGOPTIONS"] = "-c synchronous_commit=off"


def wait_all(url: str) -> Iterable[str]:
    """Wait for every set-up started; a line for each (its time, or its error). Then a
    checkpoint on ``url``'s server: what the set-up wrote is on disk before the first bench
    (not flushed during one, or by the first DROP DATABASE, which waits for a checkpoint)."""
    yield from wait_builds()
    yield from checkpoint(url)


def wait_builds() -> Iterable[str]:
    """Wait for every set-up started; a line for each (its time, or its error)."""
    for name, future in list(_futures.items()):
        try:
            _done[name] = future.result()
        except Exception as exc:  # the bench that needs it tries again and fails in the table
            traceback.print_exc()
            yield f"set-up {name} failed ({type(exc).__name__}: {exc}); its benches retry it"
        else:
            took = _took.get(name, time.perf_counter() - _started[name])
            yield f"set-up {name} ready after {took:.0f} s"
        del _futures[name]
    _collect_storm()


def checkpoint(url: str) -> Iterable[str]:
    """A checkpoint on ``url``'s server (see :func:`wait_all`); a line with its time."""
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
    yield f"checkpoint after the set-up: {time.perf_counter() - started:.1f} s"


def _collect_storm() -> None:
    if "storm" in _done:
        from bench import databases

        databases.use_storm_template(_done.pop("storm"))


def result(name: str) -> Any | None:
    """What set-up ``name`` built (waiting for it if it still runs); None when it did not run
    or failed (the bench then builds its own)."""
    future = _futures.pop(name, None)
    if future is not None:
        try:
            _done[name] = future.result()
        except Exception:
            traceback.print_exc()
            return None
    return _done.get(name)


def tipg_python() -> Path:
    """The tipg virtualenv's python (built now if the set-up did not)."""
    from bench import tipg

    return result("tipg") or tipg.ensure_tipg()


def floor(out: Path) -> Path:
    """The floor page's built folder (built into ``out`` now if the set-up did not)."""
    from bench import web_pages

    return result("floor") or web_pages.build_floor(out)


def keep_folder(prefix: str) -> Path:
    """A folder for set-up files that stays until the run ends (bench/__main__.py removes
    what is under its work folder; this is for files outside it, readable by PostgreSQL)."""
    import atexit
    import shutil

    folder = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    os.chmod(folder, 0o755)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder
