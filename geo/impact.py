"""Impact summary of a warning, like an InaSAFE report, made for a commander who must plan an
evacuation: who must move and where to, which teams to send, and whom to call.

People to move and shelters
    :mod:`riskmap.geo.evacuation`: the danger-zone population (危险区人口) of flood warnings, the
    people hazard points threaten for geohazards; shelters allocated nearest-first by free
    places from each village's representative point, with the gap left.
Rescue teams
    :mod:`riskmap.geo.rescue`: the specialty the hazard calls for, within reach, several when
    the people to move need them.
Contacts
    Chosen by the warning's hazard (:data:`CONTACT_ORDER`): a reservoir warning calls the
    reservoir's 三个责任人 first, a geohazard warning the hazard points' monitors (群测群防员),
    every warning the villages' cadres and grid officers (网格员).
Facilities
    Schools, kindergartens and clinics are counted from the facility table, the same rows the
    summary lists, in the village rows and the totals alike.

Other distances (warehouses, hazardous sites) are geodesic from the affected area (0 inside
it). Relief stock per hazard (:data:`HAZARD_STOCK`) is a documented mapping; hazardous sites
within 1 km of the area add the hazardous-chemicals teams (the cascade).
"""

from __future__ import annotations

from typing import Literal, get_args

import psycopg
from psycopg.rows import dict_row

from riskmap.geo import evacuation, rescue, resources
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
#: Rescue team specialties sent to each hazard (specialised, then supporting teams).
HAZARD_TEAMS: dict[str, tuple[str, ...]] = {
    h: (*rescue.PRIMARY[h], *rescue.SUPPORT[h]) for h in IMPACT_HAZARDS
}
#: Teams for hazardous sites in or near the area (cascade).
SITE_TEAMS: tuple[str, ...] = ("hazardous_chemicals",)
SITE_RADIUS_KM = 1.0
#: Whom to call first, by the warning's hazard (rule hazards, before aliasing): the groups of
#: contacts (``concerns_kind``) in calling order; groups not named come last.
CONTACT_ORDER: dict[str, tuple[str, ...]] = {
    "reservoir": ("reservoir", "village", "hazard_point", "hazardous_site"),
    "geohazard": ("hazard_point", "village", "hazardous_site"),
}
DEFAULT_CONTACT_ORDER = ("village", "hazard_point", "hazardous_site", "reservoir")
#: Within a group, roles in calling order (the cadre decides, the grid officers knock on doors).
ROLE_ORDER = (
    "reservoir_administrative", "reservoir_technical", "reservoir_patrol",
    "hazard_monitor", "hazard_responsible",
    "village_cadre", "grid_officer", "disaster_info_officer",
    "site_safety",
)  # fmt: skip
#: zh-CN names of the duty roles, shown to users.
ROLE_ZH: dict[str, str] = {
    "reservoir_administrative": "水库行政责任人",
    "reservoir_technical": "水库技术责任人",
    "reservoir_patrol": "水库巡查责任人",
    "hazard_monitor": "群测群防员",
    "hazard_responsible": "隐患点责任人",
    "village_cadre": "村（社区）干部",
    "grid_officer": "网格员",
    "disaster_info_officer": "灾害信息员",
    "site_safety": "安全负责人",
}


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
    shelter_reach_km: float = evacuation.SHELTER_REACH_KM,
    team_reach_km: float = rescue.TEAM_REACH_KM,
    people_per_team: int = rescue.PEOPLE_PER_TEAM,
    warning_hazard: str | None = None,
    reservoirs: list[str] | None = None,
) -> dict:
    """What a warning touches, whom to move where, what help to send and whom to call.

    Parameters
    ----------
    conn : connection (read-only queries).
    village_codes : the affected villages (12-digit codes). May be empty when ``geom_wkb``
        is given: the villages overlapping the polygon are used.
    hazard : one of :data:`IMPACT_HAZARDS`; chooses the people to move, relief stock and teams.
    geom_wkb : the warning polygon (WKB, EPSG:4326); None for the villages' union.
    k : how many nearest warehouses (and site teams) to list.
    shelter_reach_km : the farthest a village's people are sent to a shelter.
    team_reach_km : how far a rescue team is within reach.
    people_per_team : people to move per rescue team (how many teams are needed).
    warning_hazard : the warning's own hazard when it differs from ``hazard`` (``"reservoir"``
        takes the river-flood stock and teams); chooses the contacts.
    reservoirs : station codes of the reservoirs concerned (reservoir warnings); None for the
        reservoirs whose flood path reaches the villages.

    Returns
    -------
    dict
        JSON-ready sections ``villages``, ``totals``, ``facilities``, ``hazard_points``,
        ``evacuation`` (people to move, allocation, shelters used, gap), ``shelters`` (the
        shelters used), ``warehouses``, ``rescue_teams``, ``hazardous_sites``, ``site_teams``,
        ``reservoirs`` and ``contacts`` (see the module docstring).

    Raises
    ------
    ValueError
        On an unknown hazard, ``k < 1``, no villages and no polygon, or unknown village codes.
    """
    if hazard not in HAZARD_STOCK:
        raise ValueError(f"unknown hazard {hazard!r}; allowed: {', '.join(IMPACT_HAZARDS)}")
    if k < 1:
        raise ValueError("k must be at least 1")
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

    facilities = _rows(conn, "impact_facilities.sql", base)
    points = _rows(conn, "impact_hazard_points.sql", base)
    need = _people_to_move(conn, villages, hazard, base)
    plan = evacuation.plan(conn, villages, need, reach_km=shelter_reach_km)
    totals = {
        "villages": len(villages),
        "population": sum(v["population"] for v in villages),
        "households": sum(v["households"] for v in villages),
        "danger_zone_population": sum(v["danger_zone_population"] or 0 for v in villages),
        "people": plan["people_to_move"],
        **{key: sum(v[key] for v in villages) for key in ("schools", "kindergartens", "clinics")},
    }
    sites = _rows(conn, "impact_sites.sql", {**base, "radius_m": SITE_RADIUS_KM * 1000.0})
    items = list(HAZARD_STOCK[hazard])
    told = warning_hazard or hazard
    if told == "reservoir" and reservoirs is None:
        reservoirs = [r[0] for r in SQL.rows(conn, "impact_reservoirs.sql", base, shape="tuple")]
    reservoirs = sorted(reservoirs or []) if told == "reservoir" else []
    contacts = _rows(
        conn,
        "impact_contacts.sql",
        {
            "codes": codes,
            "points": [p["id"] for p in points],
            "sites": [s["id"] for s in sites],
            "reservoirs": reservoirs,
        },
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
        "evacuation": plan,
        "shelters": plan["shelters"],
        "warehouses": {
            "items": items,
            "nearest": _km(resources.nearest(conn, "warehouse", area, k=k, items=items, pool=pool)),
        },
        "rescue_teams": rescue.rescue_teams(
            conn,
            codes,
            hazard,
            plan["people_to_move"],
            reach_km=team_reach_km,
            people_per_team=people_per_team,
        ),
        "hazardous_sites": sites,
        "site_teams": _teams(conn, area, list(SITE_TEAMS), k, pool) if sites else [],
        "reservoirs": reservoirs,
        "contacts": order_contacts(contacts, told),
    }


def _people_to_move(
    conn: psycopg.Connection, villages: list[dict], hazard: str, base: dict
) -> dict[str, int]:
    """People to move per village (:func:`riskmap.geo.evacuation.people_to_move`); each village
    row gains ``people_to_move`` and ``people_source``."""
    source = evacuation.PEOPLE_SOURCE[hazard]
    threatened: dict[str, int] = {}
    if source == "hazard_points":
        rows = SQL.rows(conn, "impact_hazard_point_people.sql", base, shape="tuple")
        threatened = {code: int(n) for code, n in rows}
    need = {}
    for v in villages:
        n, used = evacuation.people_to_move(v, source, threatened.get(v["code"], 0))
        v["people_to_move"], v["people_source"] = n, used
        need[v["code"]] = n
    return need


def order_contacts(contacts: list[dict], hazard: str) -> list[dict]:
    """Contacts in calling order for the warning's ``hazard``, each with ``call_order`` (1 for
    the first group to call) and ``role_zh``."""
    groups = CONTACT_ORDER.get(hazard, DEFAULT_CONTACT_ORDER)
    rank = {g: i for i, g in enumerate(groups)}
    role_rank = {r: i for i, r in enumerate(ROLE_ORDER)}
    out = [
        {
            **c,
            "role_zh": ROLE_ZH.get(c["role"], c["role"]),
            "call_order": rank.get(c["concerns_kind"], len(groups)) + 1,
        }
        for c in contacts
    ]
    out.sort(
        key=lambda c: (
            c["call_order"],
            str(c["concerns"]),
            role_rank.get(c["role"], len(ROLE_ORDER)),
            c["name"],
            c["phone"],
        )
    )
    return out


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


#: Rule hazards that share another hazard's people to move, relief stock and teams.
HAZARD_ALIASES: dict[str, str] = {"reservoir": "river_flood", "upstream": "rainstorm"}


def warning_impact(conn: psycopg.Connection, warning_id: int, *, k: int = 3) -> dict:
    """The impact summary of a stored warning (its villages, hazard and area).

    A reservoir warning's contacts are the 三个责任人 of the reservoirs its evidence names (else
    of those whose flood path reaches its villages).

    Raises
    ------
    LookupError
        If there is no such warning.
    """
    rows = SQL.rows(conn, "impact_warning.sql", {"id": warning_id}, shape="tuple")
    if not rows:
        raise LookupError(f"no warning {warning_id}")
    codes, told, geom = rows[0]
    hazard = HAZARD_ALIASES.get(told, told)
    named = None
    if told == "reservoir":
        stations = SQL.rows(conn, "impact_warning_stations.sql", {"id": warning_id}, shape="tuple")
        named = [stcd for stcd, sttp in stations if sttp == "RR"] or None
    summary = impact_summary(
        conn,
        list(codes),
        hazard=hazard,
        geom_wkb=bytes(geom),
        k=k,
        warning_hazard=told,
        reservoirs=named,
    )
    return {"warning_id": warning_id, "warning_hazard": told, **summary}
