"""Processes that run beside the API: the dispatcher, and for the demo the reference receiver,
the fake SMS gateway and a private MQTT broker. Started as child processes of `riskmap serve`
or `riskmap demo` and stopped with them."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from riskmap.api.cli.common import console

RISKMAP = [sys.executable, "-m", "riskmap.api.cli"]


class Companions:
    """Child processes, terminated (then killed) in reverse order on exit."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.procs: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - owned by the child
        proc = subprocess.Popen(
            RISKMAP + args,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,  # Ctrl-C in the terminal reaches us; we stop them in order
            preexec_fn=_die_with_parent,
        )
        self.procs.append((name, proc))
        console.print(f"{name}: started (pid {proc.pid}, log {self.log_dir / (name + '.log')})")

    def stop(self) -> None:
        for _, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for name, proc in reversed(self.procs):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                console.print(f"{name}: did not stop in 10 s; killed")
                proc.kill()
                proc.wait()
        self.procs.clear()


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM if riskmap itself is killed (even with SIGKILL)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def companions(log_dir: Path) -> Iterator[Companions]:
    """Children stopped in order on any exit: Ctrl-C, an error, or SIGTERM (uvicorn re-raises
    the SIGTERM it caught once it has shut down; it becomes SystemExit here, so `finally` runs)."""
    c = Companions(log_dir)
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        yield c
    finally:
        c.stop()
        signal.signal(signal.SIGTERM, previous)
