"""`riskmap serve` as a real process for the reliability tests: started in a session of its own
on a free loopback port, ready once /healthz answers 200, stopped or SIGKILLed with its workers.

Also the small pieces those tests share: :func:`wait_until` (a condition with a deadline, never
a fixed sleep), :func:`free_port`, :func:`riskmap_env` (a riskmap process's environment, built
from explicit settings only) and :func:`spawn` / :func:`end` for other riskmap commands.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx

from tests.conftest import ROOT

RISKMAP = str(Path(sys.executable).parent / "riskmap")

T = TypeVar("T")


def wait_until(check: Callable[[], T], seconds: float, what: str, every: float = 0.05) -> T:
    """The first truthy ``check()`` within ``seconds``, else a failure naming ``what``."""
    deadline = time.monotonic() + seconds
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what}: not within {seconds} s"
        time.sleep(every)


def free_port() -> int:
    """A loopback port the kernel just found free."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def riskmap_env(database_url: str, data_dir: Path, **settings: str) -> dict[str, str]:
    """This process's environment without its RISKMAP_ settings (nor a Prometheus directory
    of its own), for ``database_url`` and ``data_dir``, warnings-only logs, and ``settings``
    as RISKMAP_<NAME> (``write_rate_limit="100000/minute"`` → RISKMAP_WRITE_RATE_LIMIT)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RISKMAP_")}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env |= {
        "RISKMAP_DATABASE_URL": database_url,
        "RISKMAP_DATA_DIR": str(data_dir),
        "RISKMAP_LOG_LEVEL": "warning",
    }
    env |= {f"RISKMAP_{name.upper()}": str(value) for name, value in settings.items()}
    return env


def spawn(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """``argv`` in a session of its own (a group kill takes its children too), its output
    appended to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out:
        return subprocess.Popen(
            argv, env=env, cwd=ROOT, stdout=out, stderr=out, start_new_session=True
        )


def end(proc: subprocess.Popen) -> None:
    """SIGTERM, and SIGKILL to its whole session if it has not ended within 30 s."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


@dataclass
class Server:
    """`riskmap serve` in a session of its own (a kill takes its workers too)."""

    env: dict[str, str]
    log: Path
    workers: int = 1
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        argv = [RISKMAP, "serve", "--host", "127.0.0.1", "--port", str(self.port)]
        self.proc = spawn([*argv, "--workers", str(self.workers)], self.env, self.log)
        return self

    def ready(self, seconds: float = 120) -> Server:
        """Waits until /healthz answers 200; fails at once, with the log, if it exited."""

        def up() -> bool:
            assert self.proc is not None and self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                return httpx.get(f"{self.base}/healthz", timeout=5).status_code == 200
            except httpx.TransportError:
                return False

        wait_until(up, seconds, f"riskmap serve on {self.port} answers", every=0.2)
        return self

    def kill(self) -> None:
        """SIGKILL to the server and its workers at once."""
        assert self.proc is not None
        with contextlib.suppress(ProcessLookupError):  # the whole session has gone already
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        """A clean stop (SIGTERM), a kill if it takes longer than 30 s."""
        if self.proc is not None:
            end(self.proc)

    def pids(self) -> list[int]:
        """The server process and its descendants (its workers), from /proc."""
        assert self.proc is not None
        found, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            with contextlib.suppress(OSError):  # it ended meanwhile
                for task in Path(f"/proc/{pid}/task").iterdir():
                    todo += [int(c) for c in (task / "children").read_text().split()]
        return found
