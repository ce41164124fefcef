"""A whole city in the demo (市 · 县): its county-level units, each an ordinary demo county.

A city bureau watches all its counties on one map, so the demo loads every county-level unit of
the city (衡阳市 4304: twelve, districts 区 and county-level cities 市 included) on its real
outline. Each is generated and loaded exactly as ``--county`` would (same seed, same county,
its own dataset ``demo-<code>``), so reloading one later changes nothing of the others.
"""

from __future__ import annotations

from pathlib import Path

import psycopg

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.demo.boundaries import AdminOutline, children, load_outline
from riskmap.geo.errors import InvalidArgumentError

SQL = SqlFiles("riskmap.geo.demo.sql")


def city_code(text: str) -> str:
    """The six-digit city code of ``text`` ("4304" or "430400")."""
    code = text.strip()
    if len(code) == 4 and code.isdigit():
        code += "00"
    if not (len(code) == 6 and code.isdigit() and code.endswith("00") and code[2:4] != "00"):
        raise InvalidArgumentError(
            f"a city is given by its GB/T 2260 code, 4 or 6 digits (4304, 430400): {text!r}"
        )
    return code


def city_counties(city: str, bundled_path: Path) -> tuple[AdminOutline, list[AdminOutline]]:
    """The city's outline and its county-level units' outlines, by code.

    Raises
    ------
    InvalidArgumentError
        If ``city`` is not a city's code or no county outline of it can be found (offline, only
        the bundled cities Huaihua 4312 and Hengyang 4304 are complete).
    """
    code = city_code(city)
    outline = load_outline(code, bundled_path=bundled_path)
    if outline.level != "city":
        raise InvalidArgumentError(f"{code} ({outline.name}) is a {outline.level}, not a city")
    units = [c for c in children(code, bundled_path=bundled_path) if c.level == "county"]
    if not units:
        raise InvalidArgumentError(f"no county outlines of {outline.name} ({code}) are available")
    return outline, units


def loaded_counties(conn: psycopg.Connection, city: str) -> list[str]:
    """The codes of the city's counties that have villages in the database."""
    return [
        r[0] for r in SQL.rows(conn, "city_counties.sql", {"city": city_code(city)}, shape="tuple")
    ]
