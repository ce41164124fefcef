"""A thread that LISTENs on one PostgreSQL channel and hands each payload to a callback.

Why a thread with a blocking connection (not the event loop): the caches it empties are read
from sync handlers and threads too, and a callback must run before the next request is answered
whatever the loop is busy with. Every instance and every worker runs its own listener, so a
change committed through one instance empties the caches of all of them, within milliseconds.
While the listener is not connected ``active`` is False and callers must not trust their caches;
on every (re)connect ``on_notice("all")`` runs, since notices sent meanwhile were lost.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import psycopg

log = logging.getLogger("riskmap.notices")


class Listener:
    """LISTEN ``channel`` on a connection of its own; ``on_notice(payload)`` for each notice."""

    def __init__(
        self, database_url: str, channel: str, name: str, on_notice: Callable[[str], None]
    ) -> None:
        self.database_url = database_url
        self.channel = channel
        self.on_notice = on_notice
        self._listening = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def active(self) -> bool:
        return self._listening.is_set()

    def start(self, wait: float = 5.0) -> None:
        """Start; wait until LISTEN runs so no change is missed from then on."""
        self._thread.start()
        self._listening.wait(wait)

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set() and failures < 10:  # then give up: caches bypassed
            try:
                with psycopg.connect(
                    self.database_url, autocommit=True, application_name=self._thread.name
                ) as conn:
                    conn.execute(f"LISTEN {self.channel}")
                    self.on_notice("all")  # whatever happened while not listening
                    self._listening.set()
                    failures = 0
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=2.0):
                            self.on_notice(note.payload)
            except psycopg.Error as exc:
                failures += 1
                log.warning("%s lost its connection (%s); retrying", self._thread.name, exc)
            finally:
                self._listening.clear()
                self.on_notice("all")
            self._stop.wait(1.0)
