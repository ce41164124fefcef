"""One API instance among several: its name and its own Prometheus multiprocess directory.

Several ``riskmap serve`` instances may run from one checkout and one data directory (behind a
reverse proxy, ``deploy/nginx.conf``). Each instance's workers write their metric files into
``data_dir/prometheus/<run id>/``, so a scrape of an instance adds up its own workers only.

Which directories are live is told by ``flock``, not by process ids (which are reused, and
meaningless on another machine): an instance holds an exclusive lock on ``<run id>/.alive``
for as long as it runs, and the kernel drops it when the process ends, even by SIGKILL. At
start, under ``prometheus/.start.lock`` (start-ups one at a time, so no instance can find
another's directory made but not yet locked), an instance removes every directory whose lock
it can take — a dead instance's — and never one whose lock is held. A clean stop removes the
instance's own directory. ``flock`` over NFS is not reliable: give instances on several
machines data directories of their own (they share only the database).
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import socket
import time
from pathlib import Path
from types import TracebackType
from typing import IO

ALIVE = ".alive"
START_LOCK = ".start.lock"


def default_name(port: int) -> str:
    """``host:port``: what a Prometheus scrape of the instance would call it."""
    return f"{socket.gethostname()}:{port}"


class MetricsDir:
    """``with MetricsDir(root) as path``: this instance's live metrics directory under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path: Path | None = None
        self._alive: IO[str] | None = None
        self.removed: list[str] = []  # dead instances' directories cleaned at start

    def __enter__(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / START_LOCK).open("a") as start:
            fcntl.flock(start, fcntl.LOCK_EX)  # released when closed
            self.removed = remove_dead(self.root)
            run_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{secrets.token_hex(3)}"
            path = self.root / run_id
            path.mkdir()
            self._alive = (path / ALIVE).open("w")
            fcntl.flock(self._alive, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._alive.write(f"{socket.gethostname()} {os.getpid()}\n")
            self._alive.flush()
        self.path = path
        return path

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
        if self._alive is not None:
            self._alive.close()


def remove_dead(root: Path) -> list[str]:
    """Remove the metrics directories under ``root`` that no running instance holds; their
    names. Loose metric files (the layout before per-instance directories) go too."""
    removed = []
    for child in sorted(root.iterdir()):
        if child.name.startswith("."):
            continue
        if not child.is_dir():
            if child.suffix == ".db":
                child.unlink(missing_ok=True)
                removed.append(child.name)
            continue
        try:
            probe = (child / ALIVE).open("a")
        except OSError:  # vanished meanwhile, or not ours to open
            continue
        with probe:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live instance holds it
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child.name)
    return removed
