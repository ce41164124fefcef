"""A slow API worker is not a dead one: `riskmap serve --workers 2` passes
RISKMAP_WORKER_HEALTHCHECK_S to uvicorn's supervisor, which kills and replaces a worker that
does not answer its health ping within that time (uvicorn's own default, 5 s, killed workers that
were only starved of CPU on a loaded machine: a restart loop, each new worker slower to start).

A worker is frozen with SIGSTOP (as a starved one is, from the supervisor's side) for 6 s: with
the setting at 3 s it is replaced; at 20 s the same process serves on after SIGCONT.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

from tests.reliability.serving import Server, riskmap_env, wait_until

FROZEN_S = 6.0


def _workers(server: Server) -> set[int]:
    """The uvicorn worker processes (multiprocessing's spawned children) of ``server``."""
    assert server.proc is not None
    found = set()
    for pid in server.pids():
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:  # it ended meanwhile
            continue
        if b"spawn_main" in cmdline:
            found.add(pid)
    return found


def _freeze_one_worker(db_url: str, tmp_path: Path, healthcheck_s: int) -> tuple[int, set[int]]:
    """(the frozen worker, the workers 3 s after it was thawed) under ``healthcheck_s``."""
    env = riskmap_env(db_url, tmp_path / "data", worker_healthcheck_s=str(healthcheck_s))
    server = Server(env, tmp_path / "serve.log", workers=2).start()
    try:
        server.ready()
        workers = wait_until(lambda: len(w := _workers(server)) == 2 and w, 30, "two workers")
        frozen = min(workers)
        os.kill(frozen, signal.SIGSTOP)
        time.sleep(FROZEN_S)  # the condition is the passing of time: nothing else to wait for
        with contextlib.suppress(ProcessLookupError):  # killed by the supervisor meanwhile
            os.kill(frozen, signal.SIGCONT)
        time.sleep(3.0)  # a replacement, if any, is started within the supervisor's next round
        server.ready()
        return frozen, _workers(server)
    finally:
        server.stop()


def test_a_worker_slower_than_the_setting_is_replaced(db_url, tmp_path) -> None:
    frozen, after = _freeze_one_worker(db_url, tmp_path, healthcheck_s=3)
    assert frozen not in after, "a worker silent for 6 s with a 3 s health check must be killed"
    assert len(after) == 2, "and replaced"


def test_a_worker_within_the_setting_is_kept(db_url, tmp_path) -> None:
    frozen, after = _freeze_one_worker(db_url, tmp_path, healthcheck_s=20)
    assert frozen in after, "a worker silent for 6 s with a 20 s health check must be kept"
    assert len(after) == 2
