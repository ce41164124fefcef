"""The emergency-resource one map (应急资源一张图): nearest shelters, warehouses, rescue teams
and experts to a point or an area, the expert pool, and resource totals per township.

Distances are geodesic (PostGIS geography, WGS 84 spheroid), in metres, from the point or
area (0 inside it). The planar KNN operator ``<->`` picks a candidate pool of at least 50
(:func:`pool_size`) through the spatial index and the geodesic distance orders it, so the
answer equals a full scan wherever fewer than the pool lie nearer in degrees than the k-th in
metres (always, at county scale). :mod:`riskmap.geo.impact` uses the same queries.

Experts (专家库) have no location of their own, only the admin unit they serve: their distance
is to that unit's area (0 inside it) and their point is the unit's label point.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal, get_args

import psycopg
from psycopg.rows import dict_row, tuple_row

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.errors import InvalidArgumentError, NotFoundError

SQL = SqlFiles("riskmap.geo.sql")

ResourceKind = Literal["shelter", "warehouse", "team", "expert"]
RESOURCE_KINDS: tuple[str, ...] = get_args(ResourceKind)
#: ``rescue_team.specialty`` values (0006_resources.sql).
Specialty = Literal[
    "road_traffic", "flood_control", "hazardous_chemicals", "forest_fire", "outdoor_rescue",
    "comprehensive", "medical", "mine_rescue",
]  # fmt: skip
SPECIALTIES: tuple[str, ...] = get_args(Specialty)
#: ``expert.specialty`` values (0006_resources.sql).
Expertise = Literal[
    "flood", "geohazard", "forest_fire", "hazardous_chemicals", "meteorology", "structural",
    "medical", "mining",
]  # fmt: skip
EXPERTISE: tuple[str, ...] = get_args(Expertise)
#: zh-CN labels shown to users.
KIND_LABELS = {
    "shelter": "避难场所", "warehouse": "应急物资仓库", "team": "救援队伍", "expert": "专家",
}  # fmt: skip
MAX_K = 1000


def pool_size(k: int) -> int:
    """How many KNN candidates to measure geodesically for the k nearest."""
    return max(50, 10 * k)


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _rows(conn: psycopg.Connection, name: str, params: dict) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(SQL(name), params)
        return [{k: _plain(v) for k, v in r.items()} for r in cur.fetchall()]


def point_wkb(lon: float, lat: float) -> bytes:
    """WKB of a lon/lat point (EPSG:4326), checked to lie on the globe.

    shapely (and numpy) is imported by the first point, not by the API workers' start."""
    import shapely

    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        raise InvalidArgumentError(
            f"lon must be in [-180, 180] and lat in [-90, 90], got {lon}, {lat}"
        )
    return shapely.to_wkb(shapely.Point(lon, lat))


def warning_area(conn: psycopg.Connection, warning_id: int) -> bytes:
    """The warning's polygon as WKB (EPSG:4326); NotFoundError if there is no such warning."""
    with conn.cursor(row_factory=tuple_row) as cur:
        found = cur.execute(SQL("resources_warning_area.sql"), {"id": warning_id}).fetchone()
    if found is None:
        raise NotFoundError(f"no warning {warning_id}")
    return bytes(found[0])


def nearest(
    conn: psycopg.Connection,
    kind: str,
    area_wkb: bytes,
    *,
    k: int = 5,
    min_free: int = 0,
    items: list[str] | None = None,
    item: str | None = None,
    specialties: list[str] | None = None,
    expertise: list[str] | None = None,
    pool: int | None = None,
    area_prefix: str | None = None,
) -> list[dict]:
    """The ``k`` nearest resources of one kind to a point or area, nearest first.

    Parameters
    ----------
    conn : connection (read-only query).
    kind : one of :data:`RESOURCE_KINDS`.
    area_wkb : point or polygon, WKB in EPSG:4326.
    k : how many to return (1 … :data:`MAX_K`).
    min_free : shelters only: at least this many free places (capacity − occupancy).
    items, item : warehouses only: item codes (any of them), and/or one code or part of the
        zh-CN item name; only warehouses holding a matching item (quantity > 0) count, and
        only the matching stock is listed.
    specialties : teams only: any of these :data:`SPECIALTIES`.
    expertise : experts only: any of these :data:`EXPERTISE`.
    pool : KNN candidates measured geodesically (default :func:`pool_size`).
    area_prefix : only resources whose admin unit code starts with it (an area of
        responsibility: a county's 6 digits, a city's 4); None = all.

    Returns
    -------
    list of dict
        Rows with ``distance_m`` (geodesic metres) and ``lon``/``lat`` (teams, warehouses,
        shelters; for experts the label point of the unit they serve, ``serves_code``), sorted
        by distance then id.

    Raises
    ------
    InvalidArgumentError
        On an unknown kind or specialty, ``k`` out of range, negative ``min_free``, or a
        filter that does not belong to the kind.
    """
    if kind not in RESOURCE_KINDS:
        raise InvalidArgumentError(f"unknown kind {kind!r}; allowed: {', '.join(RESOURCE_KINDS)}")
    if not 1 <= k <= MAX_K:
        raise InvalidArgumentError(f"k must be between 1 and {MAX_K}, got {k}")
    wrong = [
        name
        for name, given, owner in (
            ("min_free", min_free not in (0, None), "shelter"),
            ("item", item is not None or items is not None, "warehouse"),
            ("specialty", specialties is not None, "team"),
            ("expertise", expertise is not None, "expert"),
        )
        if given and kind != owner
    ]
    if wrong:
        raise InvalidArgumentError(f"filter {', '.join(wrong)} does not apply to kind {kind!r}")
    base = {"area": area_wkb, "k": k, "pool": max(pool or pool_size(k), k)}
    base["area_prefix"] = area_prefix
    if kind == "shelter":
        if min_free is None or min_free < 0:
            raise InvalidArgumentError(f"min_free must be 0 or more, got {min_free}")
        return _rows(conn, "resources_nearest_shelter.sql", {**base, "min_free": min_free})
    if kind == "warehouse":
        item = item.strip() if item else None
        return _rows(
            conn, "resources_nearest_warehouse.sql", {**base, "items": items, "item": item or None}
        )
    if kind == "expert":
        _check_expertise(expertise)
        return _rows(conn, "resources_nearest_expert.sql", {**base, "specialties": expertise})
    unknown = sorted(set(specialties or ()) - set(SPECIALTIES))
    if unknown:
        raise InvalidArgumentError(
            f"unknown specialty {', '.join(unknown)}; allowed: {', '.join(SPECIALTIES)}"
        )
    return _rows(conn, "resources_nearest_team.sql", {**base, "specialties": specialties})


def _check_expertise(expertise: list[str] | None) -> None:
    unknown = sorted(set(expertise or ()) - set(EXPERTISE))
    if unknown:
        raise InvalidArgumentError(
            f"unknown expertise {', '.join(unknown)}; allowed: {', '.join(EXPERTISE)}"
        )


def experts(
    conn: psycopg.Connection, expertise: list[str] | None = None, county: str | None = None
) -> list[dict]:
    """The expert pool: name, specialty, employer, title, phone and the unit each one serves.

    Parameters
    ----------
    conn : connection (read-only query).
    expertise : any of these :data:`EXPERTISE` (None = every specialty).
    county : GB/T 2260 code of the county whose units they serve, or an area's code prefix (a
        city's 4 digits); None = every county.

    Returns
    -------
    list of dict
        One row per expert, by specialty then id, with ``serves_code``/``serves_name`` and
        ``lon``/``lat`` of that unit's label point (both None for an expert without a unit).
    """
    _check_expertise(expertise)
    return _rows(conn, "resources_experts.sql", {"specialties": expertise, "county": county})


def summary_by_township(conn: psycopg.Connection, county: str | None = None) -> dict:
    """Stock per item, shelter capacity, teams per specialty and experts for each township.

    A resource counts in the township of its admin unit (a village's parent township), an
    expert in that of the unit they serve; county-level resources make a group of their own
    (``level`` ``"county"``).

    Returns
    -------
    dict
        ``groups`` (one per township or county, see resources_summary.sql) and ``totals``
        summed over them: warehouses, stock per item, shelters, capacity, occupied, free,
        teams per specialty and experts.
    """
    groups = _rows(conn, "resources_summary.sql", {"county": county})
    stock: dict[str, dict] = {}
    teams: dict[str, int] = {}
    for g in groups:
        for s in g["stock"]:
            row = stock.setdefault(
                s["item"],
                {"item": s["item"], "item_name": s["item_name"], "unit": s["unit"], "quantity": 0,
                 "warehouses": 0},
            )  # fmt: skip
            row["quantity"] += s["quantity"]
            row["warehouses"] += s["warehouses"]
        for specialty, n in g["teams"].items():
            teams[specialty] = teams.get(specialty, 0) + n
    totals = {
        key: sum(g[key] for g in groups)
        for key in ("warehouses", "shelters", "capacity", "occupied", "free", "experts")
    }
    totals["stock"] = [stock[i] for i in sorted(stock)]
    totals["teams"] = dict(sorted(teams.items()))
    return {"groups": groups, "totals": totals}
