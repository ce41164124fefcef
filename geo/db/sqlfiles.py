"""Static SQL lives in ``.sql`` files beside the code that runs it; this loads them once."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def load_sql(package: str, name: str) -> str:
    """Text of ``name`` (e.g. ``"health.sql"``) inside ``package`` (e.g. ``"riskmap.api.sql"``)."""
    return (resources.files(package) / name).read_text(encoding="utf-8")
