"""Static SQL lives in ``.sql`` files beside the code that runs it; this loads and runs them.

Each module that runs SQL names its folder once (``SQL = SqlFiles("riskmap.geo.sql")``) and then
asks for text (``SQL("x.sql")``) or rows whose shape it chooses, whatever row factory the caller's
connection has (the API's connections yield dicts, the CLI's tuples).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from importlib import resources
from typing import Any, Literal

import psycopg
from psycopg.rows import dict_row, tuple_row

Params = Mapping[str, Any] | Sequence[Any] | None
Shape = Literal["dict", "tuple"]
_FACTORIES = {"dict": dict_row, "tuple": tuple_row}


@cache
def load_sql(package: str, name: str) -> str:
    """Text of ``name`` (e.g. ``"health.sql"``) inside ``package`` (e.g. ``"riskmap.api.sql"``)."""
    return (resources.files(package) / name).read_text(encoding="utf-8")


class SqlFiles:
    """The ``.sql`` files of one package."""

    def __init__(self, package: str) -> None:
        self.package = package

    def __call__(self, name: str) -> str:
        return load_sql(self.package, name)

    def rows(
        self, conn: psycopg.Connection, name: str, params: Params = None, *, shape: Shape = "dict"
    ) -> list[Any]:
        """Every row of the statement in ``name``, as dicts or tuples."""
        with conn.cursor(row_factory=_factory(shape)) as cur:
            return cur.execute(self(name), params).fetchall()

    def one(
        self, conn: psycopg.Connection, name: str, params: Params = None, *, shape: Shape = "dict"
    ) -> Any | None:
        """The first row of the statement in ``name`` (None when there is none)."""
        with conn.cursor(row_factory=_factory(shape)) as cur:
            return cur.execute(self(name), params).fetchone()


def _factory(shape: Shape):
    try:
        return _FACTORIES[shape]
    except KeyError:
        raise ValueError(f"shape must be one of {sorted(_FACTORIES)}, got {shape!r}") from None
