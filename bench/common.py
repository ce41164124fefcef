"""Helpers the benchmarks share (standard library only: the tiles bench's load generator imports
this package from the tipg virtualenv)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

T = TypeVar("T")


def with_db(url: str, name: str) -> str:
    """The same server URL pointing at database ``name``."""
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


def free_port() -> int:
    """A loopback port nothing listens on now (for a server the bench starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """(seconds ``fn()`` took, what it returned)."""
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out
