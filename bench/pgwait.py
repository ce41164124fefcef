"""What the database sessions wait on while a bench runs, and how long a backend waited for a CPU.

* :class:`Sampler` — ``pg_stat_activity`` of the bench database sampled every ``SAMPLE_S``: the
  wait event per kind of session (by ``application_name``). "CPU" = active with no wait event,
  i.e. running or waiting for a core; "idle in transaction" = the database waits for its client.
* :func:`schedstat` — the Linux scheduler's accounting (``/proc/PID/schedstat``) of a backend:
  time on a CPU against time runnable but waiting for one.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg

SAMPLE_S = 0.025
KINDS = {"riskmap-tile-render": "tile render", "riskmap-api": "API (issue, token checks)"}


def _kind(app: str) -> str:
    """The kind of session of an ``application_name``: the bench's own are named ``bench-…``."""
    if app.startswith("bench-"):
        return app.removeprefix("bench-")
    return KINDS.get(app, app or "other")


class Sampler:
    """``pg_stat_activity`` of the bench database every ``SAMPLE_S``: (kind of session, what it
    was doing) counted, for sessions not idle."""

    QUERY = """
        SELECT application_name, state, wait_event_type, wait_event
        FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid()
          AND backend_type = 'client backend' AND state <> 'idle'
    """

    def __init__(self, db: str) -> None:
        self.db = db
        self.counts: Counter[tuple[str, str]] = Counter()
        self.samples = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Sampler:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        with psycopg.connect(self.db, autocommit=True, application_name="sampler") as conn:
            while not self._stop.wait(SAMPLE_S):
                self.samples += 1
                for app, state, wtype, wevent in conn.execute(self.QUERY):
                    if state == "active":
                        what = f"{wtype}:{wevent}" if wtype else "CPU (running or runnable)"
                    else:
                        what = state  # idle in transaction: the client is working
                    self.counts[(_kind(app or ""), what)] += 1

    def lines(self) -> Iterator[str]:
        """One report line per kind of session, the busiest first."""
        per_kind: dict[str, Counter[str]] = {}
        for (kind, what), n in self.counts.items():
            per_kind.setdefault(kind, Counter())[what] += n
        for kind, whats in sorted(per_kind.items(), key=lambda kv: -kv[1].total()):
            total = whats.total()
            top = ", ".join(f"{w} {n / total:.0%}" for w, n in whats.most_common(5))
            busy = total / max(1, self.samples)
            yield f"  {kind}: {busy:.1f} sessions busy on average; {top}"


def schedstat(pid: int, tid: int | None = None) -> tuple[float, float]:
    """(seconds on a CPU, seconds runnable but waiting for one) of a process or thread."""
    path = f"/proc/{pid}/task/{tid}/schedstat" if tid else f"/proc/{pid}/schedstat"
    try:
        run, wait, _ = Path(path).read_text().split()
    except (OSError, ValueError):
        return 0.0, 0.0
    return int(run) / 1e9, int(wait) / 1e9
