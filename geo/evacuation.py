"""Evacuation planning for an impact summary: who must move, and which shelter takes whom.

People to move
    A flood evacuation (山洪 立即转移, river, reservoir, rainstorm) moves the people of each
    village's danger zone (危险区人口) as the flash-flood survey records it, not the whole village;
    where a village has no survey figure its whole population stands in (an upper bound, flagged
    ``people_source = "population"``). A geohazard evacuation moves the people the hazard points
    in the area threaten (``"hazard_points"``). A forest fire or earthquake moves the village
    (``"population"``). See :data:`PEOPLE_SOURCE`.

Shelter allocation
    Distances run from each village's representative point (``label_point``, the point on its
    surface where its label and committee sit: always inside the village, unlike a centroid of a
    concave outline) to each shelter, on the WGS 84 spheroid. Measuring from the warned *area*
    instead, as this summary once did, gives 0 km for every shelter inside the area, i.e. for
    the nearest ones. Shelters with free places (capacity − occupancy) within ``reach_km`` of a
    village are candidates. The allocation is greedy over (village, shelter) pairs, shortest
    distance first (ties by village code, then shelter id): each pair moves as many people as
    the village still needs and the shelter still holds, until every need is met or the pairs
    run out. What is left is the gap, reported per village.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass

import psycopg

from riskmap.geo.db.sqlfiles import SqlFiles

SQL = SqlFiles("riskmap.geo.sql")

#: Where the people to move of each impact hazard come from.
PEOPLE_SOURCE: dict[str, str] = {
    "flash_flood": "danger_zone",
    "river_flood": "danger_zone",
    "rainstorm": "danger_zone",
    "geohazard": "hazard_points",
    "forest_fire": "population",
    "earthquake": "population",
}
#: Default reach of a shelter from a village (km): a bus ride within the county.
SHELTER_REACH_KM = 30.0


@dataclass(frozen=True)
class Move:
    """One line of an evacuation plan: ``people`` from ``village_code`` to ``shelter_id``."""

    village_code: str
    shelter_id: str
    people: int
    distance_km: float


def people_to_move(village: dict, source: str, hazard_point_people: int = 0) -> tuple[int, str]:
    """The people one village must move, and where the figure comes from.

    Parameters
    ----------
    village : a row of impact_villages.sql (``population``, ``danger_zone_population``).
    source : ``"danger_zone"``, ``"hazard_points"`` or ``"population"`` (:data:`PEOPLE_SOURCE`).
    hazard_point_people : people the village's hazard points in the area threaten.

    Returns
    -------
    tuple of (int, str)
        The count (at most the village's population) and the source actually used: a missing
        danger-zone figure falls back to ``"population"``.
    """
    population = int(village["population"])
    if source == "danger_zone":
        if village.get("danger_zone_population") is None:
            return population, "population"
        return min(population, int(village["danger_zone_population"])), "danger_zone"
    if source == "hazard_points":
        return min(population, int(hazard_point_people)), "hazard_points"
    if source == "population":
        return population, "population"
    raise ValueError(f"unknown people source {source!r}")


def allocate(
    need: dict[str, int], free: dict[str, int], pairs: Iterable[tuple[str, str, float]]
) -> list[Move]:
    """Greedy nearest-first allocation of people to shelter places.

    Parameters
    ----------
    need : people to move per village code.
    free : free places per shelter id.
    pairs : ``(village_code, shelter_id, distance_km)`` candidates, in any order.

    Returns
    -------
    list of Move
        In the order they were made (shortest pair first); a village's people may be split
        over several shelters and a shelter may take several villages.
    """
    left = {v: int(n) for v, n in need.items()}
    room = {s: int(n) for s, n in free.items()}
    moves: list[Move] = []
    for village, shelter, km in sorted(pairs, key=lambda p: (p[2], p[0], p[1])):
        take = min(left.get(village, 0), room.get(shelter, 0))
        if take <= 0:
            continue
        moves.append(Move(village, shelter, take, km))
        left[village] -= take
        room[shelter] -= take
        if not any(left.values()):
            break
    return moves


def plan(
    conn: psycopg.Connection,
    villages: list[dict],
    need: dict[str, int],
    *,
    reach_km: float = SHELTER_REACH_KM,
) -> dict:
    """Allocate the villages' people to shelters within ``reach_km`` and report the gap.

    Parameters
    ----------
    conn : connection (read-only queries).
    villages : impact_villages.sql rows (``code``, ``name``).
    need : people to move per village code.
    reach_km : the farthest a village's people are sent.

    Returns
    -------
    dict
        ``people_to_move``, ``placed``, ``gap``, ``reach_km``, ``distance_from``,
        ``free_within_reach`` (free places of every candidate shelter), ``allocation`` (one row
        per move, with names), ``shelters`` (the shelters used, with what each takes and has
        left, nearest first) and ``unplaced`` (villages with people left over).
    """
    if not reach_km > 0:
        raise ValueError("reach_km must be positive")
    codes = [v["code"] for v in villages]
    rows = SQL.rows(
        conn,
        "impact_shelter_options.sql",
        {"codes": codes, "reach_m": reach_km * 1000.0, "reach_deg": reach_km / 50.0},
        shape="tuple",
    )
    pairs = [(v, s, round(float(d) / 1000.0, 3)) for v, s, d in rows]
    candidates = sorted({s for _, s, _ in pairs})
    info = {
        r["id"]: r for r in SQL.rows(conn, "impact_shelters.sql", {"ids": candidates}, shape="dict")
    }
    moves = allocate(need, {s: info[s]["free"] for s in candidates}, pairs)
    names = {v["code"]: v["name"] for v in villages}
    taken: dict[str, int] = {}
    for m in moves:
        taken[m.shelter_id] = taken.get(m.shelter_id, 0) + m.people
    nearest = {}
    for v, s, d in pairs:
        nearest.setdefault(s, (d, v))  # pairs come nearest first
    used = [
        {
            **_plain(info[s]),
            "takes": taken[s],
            "free_after": info[s]["free"] - taken[s],
            "distance_km": nearest[s][0],
            "nearest_village": nearest[s][1],
        }
        for s in sorted(taken, key=lambda s: (nearest[s][0], s))
    ]
    placed_by_village: dict[str, int] = {}
    for m in moves:
        placed_by_village[m.village_code] = placed_by_village.get(m.village_code, 0) + m.people
    left = {c: need.get(c, 0) - placed_by_village.get(c, 0) for c in codes}
    unplaced = [
        {"village_code": c, "village_name": names[c], "people": n} for c, n in left.items() if n > 0
    ]
    total = sum(need.values())
    placed = sum(m.people for m in moves)
    return {
        "people_to_move": total,
        "placed": placed,
        "gap": total - placed,
        "reach_km": reach_km,
        "distance_from": "village representative point (label_point)",
        "free_within_reach": sum(info[s]["free"] for s in candidates),
        "allocation": [
            {
                **asdict(m),
                "village_name": names[m.village_code],
                "shelter_name": info[m.shelter_id]["name"],
            }
            for m in moves
        ],
        "shelters": used,
        "unplaced": unplaced,
    }


def _plain(row: dict) -> dict:
    """Decimals to numbers, so the dict is JSON-ready."""
    out = {}
    for k, v in row.items():
        if type(v).__name__ == "Decimal":
            v = int(v) if v % 1 == 0 else float(v)
        out[k] = v
    return out
