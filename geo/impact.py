"""Impact summary of a warning, like an InaSAFE report: who and what is in the area, what help
is nearest, and whom to call.

All distances are geodesic (PostGIS geography, on the WGS 84 spheroid), in km, from the
affected area (0 for things inside it). The area is the union of the affected villages, or the
warning polygon when one is given.

Capacity gap
    ``people − free capacity`` (never below 0), where free capacity = capacity − occupancy,
    computed twice: over the ``k`` nearest shelters with free capacity
    (``capacity_gap_k``) and over every shelter within ``shelter_radius_km`` of the area
    (``capacity_gap_radius``). ``people`` is the population of the affected villages: the
    people a full evacuation would move.

Relief stock per hazard (:data:`HAZARD_STOCK`) and rescue specialties (:data:`HAZARD_TEAMS`)
are documented mappings; hazardous sites within 1 km of the area add the hazardous-chemicals
teams (the cascade).
"""

from __future__ import annotations

from typing import Literal, get_args

import psycopg
from psycopg.rows import dict_row

from riskmap.geo import resources
from riskmap.geo.db.sqlfiles import SqlFiles

SQL = SqlFiles("riskmap.geo.sql")

ImpactHazard = Literal[
    "flash_flood", "river_flood", "rainstorm", "geohazard", "forest_fire", "earthquake"
]
IMPACT_HAZARDS: tuple[str, ...] = get_args(ImpactHazard)

_FLOOD_STOCK = (
    "life_jacket",
    "sandbag",
    "drainage_pump",
    "assault_boat",
    "tent",
    "folding_bed",
    "quilt",
    "drinking_water",
    "instant_food",
    "generator",
    "flashlight",
)
#: Relief stock items (``stock.item``) relevant to each hazard.
HAZARD_STOCK: dict[str, tuple[str, ...]] = {
    "flash_flood": _FLOOD_STOCK,
    "river_flood": _FLOOD_STOCK,
    "rainstorm": _FLOOD_STOCK,
    "geohazard": (
        "tent",
        "folding_bed",
        "quilt",
        "first_aid_kit",
        "drinking_water",
        "instant_food",
        "flashlight",
        "loudspeaker",
        "chainsaw",
    ),
    "forest_fire": (
        "wind_fire_extinguisher",
        "fire_extinguisher",
        "chainsaw",
        "first_aid_kit",
        "drinking_water",
        "loudspeaker",
    ),
    "earthquake": (
        "tent",
        "folding_bed",
        "quilt",
        "first_aid_kit",
        "drinking_water",
        "instant_food",
        "generator",
        "flashlight",
    ),
}
#: Rescue team specialties (``rescue_team.specialty``) sent to each hazard.
HAZARD_TEAMS: dict[str, tuple[str, ...]] = {
    "flash_flood": ("flood_control",),
    "river_flood": ("flood_control",),
    "rainstorm": ("flood_control",),
    "geohazard": ("outdoor_rescue", "comprehensive"),
    "forest_fire": ("forest_fire",),
    "earthquake": ("outdoor_rescue", "comprehensive"),
}
#: Teams for hazardous sites in or near the area (cascade).
SITE_TEAMS: tuple[str, ...] = ("hazardous_chemicals",)
SITE_RADIUS_KM = 1.0


def _rows(conn: psycopg.Connection, name: str, params: dict) -> list[dict]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(SQL(name), params)
        return [_plain(r) for r in cur.fetchall()]


def _plain(row: dict) -> dict:
    """Round distances to metres and turn Decimals into numbers, so the dict is JSON-ready."""
    out = {}
    for key, value in row.items():
        if key == "distance_km" and value is not None:
            value = round(float(value), 3)
        elif type(value).__name__ == "Decimal":
            value = float(value) if value % 1 else int(value)
        out[key] = value
    return out


def impact_summary(
    conn: psycopg.Connection,
    village_codes: list[str],
    *,
    hazard: str,
    geom_wkb: bytes | None = None,
    k: int = 3,
    shelter_radius_km: float = 10.0,
) -> dict:
    """What a warning touches and what can help, for the warning's villages.

    Parameters
    ----------
    conn : connection (read-only queries).
    village_codes : the affected villages (12-digit codes). May be empty when ``geom_wkb``
        is given: the villages overlapping the polygon are used.
    hazard : one of :data:`IMPACT_HAZARDS`; chooses the relief stock and rescue teams.
    geom_wkb : the warning polygon (WKB, EPSG:4326); None for the villages' union.
    k : how many nearest shelters, warehouses and teams to list.
    shelter_radius_km : radius for the second capacity-gap figure.

    Returns
    -------
    dict
        JSON-ready sections ``villages``, ``totals``, ``facilities``, ``hazard_points``,
        ``shelters``, ``capacity``, ``warehouses``, ``rescue_teams``, ``hazardous_sites``,
        ``site_teams`` and ``contacts`` (see the module docstring for the definitions).

    Raises
    ------
    ValueError
        On an unknown hazard, ``k < 1``, no villages and no polygon, or unknown village codes.
    """
    if hazard not in HAZARD_STOCK:
        raise ValueError(f"unknown hazard {hazard!r}; allowed: {', '.join(IMPACT_HAZARDS)}")
    if k < 1:
        raise ValueError("k must be at least 1")
    if not shelter_radius_km > 0:
        raise ValueError("shelter_radius_km must be positive")
    codes = sorted(set(village_codes))
    if not codes and geom_wkb is None:
        raise ValueError("give village codes or a polygon (geom_wkb)")
    if not codes:
        codes = [
            r[0]
            for r in SQL.rows(
                conn, "impact_villages_in_area.sql", {"area": geom_wkb}, shape="tuple"
            )
        ]
    villages = _rows(conn, "impact_villages.sql", {"codes": codes})
    missing = sorted(set(codes) - {v["code"] for v in villages})
    if missing:
        raise ValueError(f"unknown village codes: {', '.join(missing)}")
    area = geom_wkb
    if area is None:
        area = bytes(SQL.rows(conn, "impact_area.sql", {"codes": codes}, shape="tuple")[0][0])
    pool = resources.pool_size(k)
    base = {"area": area, "codes": codes, "k": k, "pool": pool}

    totals = {
        "villages": len(villages),
        "people": sum(v["population"] for v in villages),
        "households": sum(v["households"] for v in villages),
        "schools": sum(v["schools"] for v in villages),
        "clinics": sum(v["clinics"] for v in villages),
    }
    facilities = _rows(conn, "impact_facilities.sql", base)
    points = _rows(conn, "impact_hazard_points.sql", base)
    shelters_all = _km(resources.nearest(conn, "shelter", area, k=pool, min_free=1, pool=pool))
    shelters = shelters_all[:k]
    sites = _rows(conn, "impact_sites.sql", {**base, "radius_m": SITE_RADIUS_KM * 1000.0})
    items = list(HAZARD_STOCK[hazard])
    contacts = _rows(
        conn,
        "impact_contacts.sql",
        {"codes": codes, "points": [p["id"] for p in points], "sites": [s["id"] for s in sites]},
    )
    return {
        "hazard": hazard,
        "villages": villages,
        "totals": totals,
        "facilities": {
            "by_kind": _count_by(facilities, "kind"),
            "points": facilities,
        },
        "hazard_points": {
            "count": len(points),
            "threatened_people": sum(p["threatened_people"] for p in points),
            "threatened_households": sum(p["threatened_households"] for p in points),
            "points": points,
        },
        "shelters": shelters,
        "capacity": _capacity(totals["people"], shelters, shelters_all, shelter_radius_km, k),
        "warehouses": {
            "items": items,
            "nearest": _km(resources.nearest(conn, "warehouse", area, k=k, items=items, pool=pool)),
        },
        "rescue_teams": _teams(conn, area, list(HAZARD_TEAMS[hazard]), k, pool),
        "hazardous_sites": sites,
        "site_teams": _teams(conn, area, list(SITE_TEAMS), k, pool) if sites else [],
        "contacts": contacts,
    }


def _km(rows: list[dict]) -> list[dict]:
    """Distances in km (rounded to metres), as the impact summary reports them."""
    for r in rows:
        r["distance_km"] = round(r.pop("distance_m") / 1000.0, 3)
    return rows


def _teams(
    conn: psycopg.Connection, area: bytes, specialties: list[str], k: int, pool: int
) -> list[dict]:
    return _km(resources.nearest(conn, "team", area, k=k, specialties=specialties, pool=pool))


def _count_by(rows: list[dict], key: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in rows:
        out[r[key]] = out.get(r[key], 0) + 1
    return dict(sorted(out.items()))


def _capacity(
    people: int, nearest: list[dict], candidates: list[dict], radius_km: float, k: int
) -> dict:
    """Free capacity and the gap, over the k nearest shelters and within the radius.

    ``candidates`` are the nearest shelters with free capacity in order; the radius sum is
    exact as long as the pool reaches beyond the radius (flagged otherwise).
    """
    free_k = sum(s["free"] for s in nearest)
    within = [s for s in candidates if s["distance_km"] <= radius_km]
    free_r = sum(s["free"] for s in within)
    return {
        "people": people,
        "k": k,
        "free_capacity_k": free_k,
        "capacity_gap_k": max(0, people - free_k),
        "radius_km": radius_km,
        "shelters_within_radius": len(within),
        "free_capacity_radius": free_r,
        "capacity_gap_radius": max(0, people - free_r),
        "radius_complete": len(within) < len(candidates) or len(candidates) < max(50, 10 * k),
    }


#: Rule hazards that share another hazard's relief stock and teams.
HAZARD_ALIASES: dict[str, str] = {"reservoir": "river_flood", "upstream": "rainstorm"}


def warning_impact(conn: psycopg.Connection, warning_id: int, *, k: int = 3) -> dict:
    """The impact summary of a stored warning (its villages, hazard and area).

    Raises
    ------
    LookupError
        If there is no such warning.
    """
    rows = SQL.rows(conn, "impact_warning.sql", {"id": warning_id}, shape="tuple")
    if not rows:
        raise LookupError(f"no warning {warning_id}")
    codes, hazard, geom = rows[0]
    hazard = HAZARD_ALIASES.get(hazard, hazard)
    summary = impact_summary(conn, list(codes), hazard=hazard, geom_wkb=bytes(geom), k=k)
    return {"warning_id": warning_id, "hazard": hazard, **summary}
