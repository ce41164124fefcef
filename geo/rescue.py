"""Rescue teams for an impact summary: the right specialty for the hazard, within reach, and
enough of them for the people to move.

Specialties
    Each hazard has specialised teams (:data:`PRIMARY`: 防汛抢险 for floods, 森林消防 for forest
    fires, 户外救援 for geohazards and earthquakes) and supporting ones (:data:`SUPPORT`: the
    township comprehensive teams, which carry pumps, life jackets, chainsaws and fire beaters).
How many
    One team per ``people_per_team`` people to move, at least one (:func:`teams_needed`). The
    ratio (:data:`PEOPLE_PER_TEAM`) is a planning assumption ⚠, not a standard: a parameter.
Which
    Distances run from a team's base to the nearest warned village's representative point
    (``label_point``), on the WGS 84 spheroid. Every specialised team within ``reach_km`` is
    listed, nearest first; supporting teams follow, nearest first, while the list is shorter
    than the need. When no specialised team is within reach, the nearest one within
    :data:`SEARCH_KM` is listed anyway, flagged ``within_reach: false``, so the commander sees
    how far the specialists are. ``short`` is how many teams the need still lacks.
"""

from __future__ import annotations

import math

import psycopg

from riskmap.geo.db.sqlfiles import SqlFiles

SQL = SqlFiles("riskmap.geo.sql")

_FLOOD = ("flood_control",)
#: Specialised teams per impact hazard (``rescue_team.specialty``).
PRIMARY: dict[str, tuple[str, ...]] = {
    "flash_flood": _FLOOD,
    "river_flood": _FLOOD,
    "rainstorm": _FLOOD,
    "geohazard": ("outdoor_rescue",),
    "forest_fire": ("forest_fire",),
    "earthquake": ("outdoor_rescue",),
}
#: Supporting teams per impact hazard.
SUPPORT: dict[str, tuple[str, ...]] = {
    "flash_flood": ("comprehensive",),
    "river_flood": ("comprehensive",),
    "rainstorm": ("comprehensive",),
    "geohazard": ("comprehensive",),
    "forest_fire": ("comprehensive",),
    "earthquake": ("comprehensive",),
}
#: zh-CN names of the specialties, shown to users.
SPECIALTY_ZH: dict[str, str] = {
    "road_traffic": "道路交通应急救援",
    "flood_control": "防汛抢险救援",
    "hazardous_chemicals": "危险化学品应急救援",
    "forest_fire": "森林消防",
    "outdoor_rescue": "户外救援",
    "comprehensive": "综合应急救援",
    "medical": "医疗救护",
    "mine_rescue": "矿山救护",
}
#: People to move per rescue team ⚠ (planning assumption).
PEOPLE_PER_TEAM = 1000
#: How far a team is within reach (km): about an hour on county mountain roads ⚠.
TEAM_REACH_KM = 40.0
#: How far to look for a specialised team when none is within reach (km).
SEARCH_KM = 200.0


def teams_needed(people: int, per_team: int = PEOPLE_PER_TEAM) -> int:
    """Teams an evacuation of ``people`` calls for: one per ``per_team`` people, at least one."""
    if per_team < 1:
        raise ValueError("per_team must be at least 1")
    return max(1, math.ceil(people / per_team))


def select(candidates: list[dict], primary: set[str], needed: int, reach_km: float) -> list[dict]:
    """Pick teams from ``candidates`` (rows with ``specialty`` and ``distance_km``).

    Every primary team within reach, nearest first; then supporting teams within reach, nearest
    first, while fewer than ``needed``; the nearest primary team beyond reach when none is within.
    """
    ranked = sorted(candidates, key=lambda t: (t["distance_km"], t["id"]))
    near = [t for t in ranked if t["distance_km"] <= reach_km]
    chosen = [t for t in near if t["specialty"] in primary]
    if not chosen:
        chosen = [t for t in ranked if t["specialty"] in primary][:1]
    for t in near:
        if len(chosen) >= needed:
            break
        if t["specialty"] not in primary:
            chosen.append(t)
    return chosen


def rescue_teams(
    conn: psycopg.Connection,
    codes: list[str],
    hazard: str,
    people: int,
    *,
    reach_km: float = TEAM_REACH_KM,
    people_per_team: int = PEOPLE_PER_TEAM,
) -> dict:
    """The rescue teams to send to the villages ``codes`` for ``hazard``.

    Parameters
    ----------
    conn : connection (read-only query).
    codes : the warned villages.
    hazard : a key of :data:`PRIMARY`.
    people : people to move (sets how many teams are needed).
    reach_km : how far a team is within reach.
    people_per_team : people to move per team.

    Returns
    -------
    dict
        ``needed``, ``people_per_team``, ``reach_km``, ``specialties`` (primary and support),
        ``teams`` (chosen, see the module docstring; each with ``role`` ``"specialised"`` or
        ``"support"``, ``specialty_zh``, ``distance_km``, ``nearest_village``,
        ``within_reach``) and ``short``.
    """
    if hazard not in PRIMARY:
        raise ValueError(f"unknown hazard {hazard!r}")
    if not reach_km > 0:
        raise ValueError("reach_km must be positive")
    primary, support = PRIMARY[hazard], SUPPORT[hazard]
    search_km = max(SEARCH_KM, reach_km)
    rows = SQL.rows(
        conn,
        "impact_teams.sql",
        {
            "codes": codes,
            "specialties": [*primary, *support],
            "max_m": search_km * 1000.0,
            "max_deg": search_km / 50.0,
        },
    )
    for r in rows:
        r["distance_km"] = round(float(r.pop("distance_m")) / 1000.0, 3)
        r["members"] = int(r["members"])
    needed = teams_needed(people, people_per_team)
    chosen = select(rows, set(primary), needed, reach_km)
    teams = [
        {
            **t,
            "role": "specialised" if t["specialty"] in primary else "support",
            "specialty_zh": SPECIALTY_ZH.get(t["specialty"], t["specialty"]),
            "within_reach": t["distance_km"] <= reach_km,
        }
        for t in chosen
    ]
    return {
        "needed": needed,
        "people_per_team": people_per_team,
        "reach_km": reach_km,
        "specialties": {"specialised": list(primary), "support": list(support)},
        "teams": teams,
        "short": max(0, needed - sum(t["within_reach"] for t in teams)),
    }
