"""Starting a server for a benchmark in its own process and waiting until it answers (needs
httpx, so not in bench/common.py, which the tipg virtualenv imports)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from bench.cpu_sample import processes

ROOT = Path(__file__).resolve().parents[1]


def start_uvicorn(
    app: str, port: int, env: dict[str, str], log: Path, workers: int = 1
) -> subprocess.Popen:
    """``uvicorn --factory app`` on 127.0.0.1:``port``, its output in ``log``."""
    cmd = [
        sys.executable, "-m", "uvicorn", "--factory", app, "--host", "127.0.0.1",
        "--port", str(port), "--workers", str(workers), "--log-level", "warning",
        "--no-access-log",
    ]  # fmt: skip
    out = log.open("wb")
    return subprocess.Popen(cmd, env=os.environ | env, stdout=out, stderr=out, cwd=ROOT)


def wait_ok(url: str, proc: subprocess.Popen, seconds: float = 60) -> bytes:
    """The body of ``url`` once it answers 200; an error if the server exits or never does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}); see its log")
        try:
            r = httpx.get(url, timeout=5)
            if r.status_code == 200:
                return r.content
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {seconds:.0f} s")


def stop(proc: subprocess.Popen, seconds: float = 30) -> None:
    """Stop a server started here: terminate (it drains), kill if it has not ended in time."""
    proc.terminate()
    try:
        proc.wait(seconds)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def start_riskmap(
    db_url: str, port: int, log: Path, workers: int = 2, **settings: str
) -> subprocess.Popen:
    """``riskmap serve --workers N`` over ``db_url`` on 127.0.0.1:``port``, with ``settings``
    as RISKMAP_<NAME> (the tiles benches' servers)."""
    env = {**os.environ, "RISKMAP_DATABASE_URL": db_url, "RISKMAP_LOG_LEVEL": "warning"}
    env.update({f"RISKMAP_{k.upper()}": v for k, v in settings.items()})
    argv = [str(Path(sys.executable).parent / "riskmap"), "serve", "--host", "127.0.0.1"]
    argv += ["--port", str(port), "--workers", str(workers)]
    return subprocess.Popen(argv, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)


def renice_tree(pid: int, nice: int) -> None:
    """Every thread of ``pid`` and of its descendants at niceness ``nice`` (never raised)."""
    procs = processes()
    tree = {pid}
    grew = True
    while grew:
        grew = False
        for child, (_, parent, _) in procs.items():
            if parent in tree and child not in tree:
                tree.add(child)
                grew = True
    for member in tree:
        for task in Path(f"/proc/{member}/task").glob("*"):
            with contextlib.suppress(OSError):  # ended meanwhile
                tid = int(task.name)
                if os.getpriority(os.PRIO_PROCESS, tid) < nice:
                    os.setpriority(os.PRIO_PROCESS, tid, nice)
