"""A private Mosquitto broker (MQTT) for the delivery tests, ``make demo`` and the bench.

We start our own ``mosquitto`` process with our own configuration, never Debian's system service:
it listens on 127.0.0.1 only, on a port the kernel chose (or one given), and keeps its
persistence file in our data folder, so QoS 1 messages queued for a disconnected persistent
subscriber (a terminal that was off) survive a broker restart.
"""

from __future__ import annotations

import atexit
import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Self

SYSTEM_BINARY = Path("/usr/sbin/mosquitto")  # Debian installs it outside a user's PATH


class BrokerError(RuntimeError):
    """The broker is missing, would not start or stopped answering."""


def mosquitto_binary() -> str:
    """Path of the ``mosquitto`` executable; a clear error when it is not installed."""
    found = shutil.which("mosquitto")
    if found:
        return found
    if SYSTEM_BINARY.is_file() and os.access(SYSTEM_BINARY, os.X_OK):
        return str(SYSTEM_BINARY)
    raise BrokerError(
        "mosquitto (the MQTT broker) is not installed: run `make setup`"
        " (it installs the Debian package mosquitto)"
    )


def free_port() -> int:
    """A loopback TCP port nobody listens on right now (chosen by the kernel)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """One ``mosquitto`` process listening on 127.0.0.1, persisting into ``data_dir``.

    ``start()`` returns once the port accepts connections; ``restart()`` keeps the port and the
    persistence file (queued QoS 1 messages and persistent sessions come back); ``stop()`` ends
    it with SIGTERM, which makes mosquitto save its database first.
    """

    def __init__(self, data_dir: Path, *, autosave_interval_s: int = 1) -> None:
        self.data_dir = Path(data_dir)
        self.autosave_interval_s = autosave_interval_s
        self.port: int | None = None
        self._proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        if self.port is None:
            raise BrokerError("the broker has not been started")
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def log_file(self) -> Path:
        return self.data_dir / "mosquitto.log"

    def start(self, port: int | None = None, *, timeout_s: float = 15.0) -> Self:
        """Start on ``port`` (a free one by default; the previous one after a stop)."""
        if self.running:
            raise BrokerError(f"the broker already runs on port {self.port}")
        binary = mosquitto_binary()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        chosen = port or self.port
        # A kernel-chosen port may be taken between our probe and mosquitto's bind: try again.
        for attempt in range(3):
            self.port = chosen or free_port()
            conf = self._write_config()
            # what mosquitto says before its log file is open (a bad config, a taken port)
            log = open(self.data_dir / "mosquitto.out", "ab")  # noqa: SIM115 (the child has it)
            try:
                self._proc = subprocess.Popen(
                    [binary, "-c", str(conf)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.data_dir,
                )
            finally:
                log.close()
            if self._wait_until_listening(timeout_s):
                atexit.register(self.stop)
                return self
            self._kill()
            if chosen or attempt == 2:
                break
        raise BrokerError(f"mosquitto did not start on 127.0.0.1:{self.port}: {self._log_tail()}")

    def stop(self, *, timeout_s: float = 10.0) -> None:
        """SIGTERM (mosquitto saves its persistence file), then SIGKILL if it lingers."""
        atexit.unregister(self.stop)
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout_s)

    def restart(self) -> Self:
        """Stop and start again on the same port with the same persistence file."""
        port = self.port
        self.stop()
        return self.start(port)

    def __enter__(self) -> Self:
        return self if self.running else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _write_config(self) -> Path:
        location = str(self.data_dir.resolve()) + "/"  # mosquitto wants the trailing slash
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            "persistence true",
            f"persistence_location {location}",
            "persistence_file mosquitto.db",
            f"autosave_interval {self.autosave_interval_s}",
            # run as whoever started us (as root mosquitto would switch to the 'mosquitto'
            # account, which cannot write our data folder)
            f"user {getpass.getuser()}",
            f"log_dest file {self.log_file.resolve()}",  # flushed line by line (stdout is not)
            "log_type error",
            "log_type warning",
            "log_type notice",
            "log_timestamp_format %Y-%m-%dT%H:%M:%S",
            "max_queued_messages 100000",  # per offline persistent session (terminals)
        ]
        conf = self.data_dir / "mosquitto.conf"
        conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return conf

    def _wait_until_listening(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                return False
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5),
            ):
                return True
            time.sleep(0.02)
        return False

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)

    def _log_tail(self, lines: int = 10) -> str:
        said = []
        for path in (self.data_dir / "mosquitto.out", self.log_file):
            with contextlib.suppress(OSError):
                said += path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        return " | ".join(said[-lines:]) or "(nothing logged)"
