"""Computing and storing the downstream villages of the county's tailings dams, once per dam.

The path depends only on the DEM and the dam, so it is computed when a dam or the DEM changes
(`riskmap sites downstream`) and read when an alarm needs it: a red alarm must name its
villages at once, not wait for flow routing over the whole DEM.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import shapely

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.errors import NotFoundError
from riskmap.geo.terrain.dem import Dem, read_geotiff
from riskmap.geo.terrain.flow import Drainage, drainage
from riskmap.geo.worksafety.downstream import (
    DEFAULT_BUFFER_M,
    DEFAULT_MAX_DISTANCE_M,
    FlowPath,
    ThreatenedVillage,
    flow_path,
    threatened_villages,
)

SQL = SqlFiles("riskmap.geo.worksafety.sql")


@dataclass(frozen=True)
class DamDownstream:
    """What was stored for one dam."""

    site_id: str
    site_name: str
    path: FlowPath
    villages: list[ThreatenedVillage]


def compute_downstream(
    conn: psycopg.Connection,
    dem_path: str | Path,
    *,
    site_id: str | None = None,
    max_distance_m: float = DEFAULT_MAX_DISTANCE_M,
    buffer_m: float = DEFAULT_BUFFER_M,
    at: datetime | None = None,
) -> list[DamDownstream]:
    """Compute and store the path and villages of one tailings dam (``site_id``) or of all.

    The crest is ``details.crest_elevation_m`` when the site gives it, else the toe elevation
    plus ``details.dam_height_m``. One transaction: a dam that fails leaves the earlier rows.

    Raises
    ------
    NotFoundError
        ``site_id`` is not a tailings dam (or there is none).
    InvalidArgumentError
        A dam outside the DEM, or with neither height nor crest (the message names the site).
    """
    dem = read_geotiff(dem_path)
    dams = SQL.rows(conn, "dams.sql", {"site": site_id})
    if not dams:
        what = f"site {site_id} is not a tailings dam" if site_id else "no tailings dam"
        raise NotFoundError(f"{what} in hazardous_site")
    drain = drainage(dem)  # once for every dam of the DEM
    at = at or datetime.now(UTC)
    out: list[DamDownstream] = []
    with conn.transaction():
        for dam in dams:
            out.append(_one(conn, dem, drain, dam, str(dem_path), max_distance_m, buffer_m, at))
    return out


def _one(
    conn: psycopg.Connection,
    dem: Dem,
    drain: Drainage,
    dam: dict[str, Any],
    dem_path: str,
    max_distance_m: float,
    buffer_m: float,
    at: datetime,
) -> DamDownstream:
    start = (float(dam["lon"]), float(dam["lat"]))
    try:
        path = flow_path(
            dem,
            *start,
            dam_height_m=dam["dam_height_m"],
            crest_elevation_m=dam["crest_elevation_m"],
            max_distance_m=max_distance_m,
            drain=drain,
        )
    except ValueError as exc:
        raise type(exc)(f"tailings dam {dam['id']}: {exc}") from exc
    line = path.line(start)
    rows = SQL.rows(conn, "villages_near_line.sql", {"wkt": line.wkt, "buffer_m": buffer_m})
    villages = threatened_villages(
        path,
        dem,
        [r["code"] for r in rows],
        [r["name"] for r in rows],
        [shapely.from_wkb(bytes(r["wkb"])) for r in rows],
        start=start,
        buffer_m=buffer_m,
    )
    sid = dam["id"]
    conn.execute(SQL("delete_path.sql"), {"site_id": sid})
    conn.execute(
        SQL("insert_path.sql"),
        {
            "site_id": sid,
            "toe": path.toe_elevation_m,
            "crest": path.crest_elevation_m,
            "max_distance_m": max_distance_m,
            "buffer_m": buffer_m,
            "length_m": path.length_m,
            "stop_reason": path.stop_reason,
            "dem_path": dem_path,
            "at": at,
            "wkt": line.wkt,
        },
    )
    for v in villages:
        conn.execute(
            SQL("insert_downstream_village.sql"),
            {
                "site_id": sid,
                "code": v.code,
                "ord": v.order,
                "distance_m": v.distance_m,
                "offset_m": v.offset_m,
                "min_elevation_m": v.min_elevation_m,
                "below_crest_m": v.below_crest_m,
            },
        )
    return DamDownstream(sid, dam["name"], path, villages)


def downstream_villages(conn: psycopg.Connection, site_id: str) -> list[dict[str, Any]]:
    """The stored downstream villages of a dam, nearest first (empty when none computed)."""
    return SQL.rows(conn, "downstream_villages.sql", {"site_id": site_id})
