"""The impact summary in a warning's detail plans the storm's red flash-flood evacuation:
the danger zones' people, shelters that take them at real distances, teams and contacts."""

from __future__ import annotations

import json
import os

import psycopg
from psycopg.rows import dict_row


def _one(db_url: str, query: str, params: dict | None = None) -> dict:
    with psycopg.connect(db_url, row_factory=dict_row) as conn:
        return conn.execute(query, params or {}).fetchone()


def test_red_flash_flood_evacuation_plan(service) -> None:
    w = _one(
        service.db_url,
        """SELECT id, village_codes FROM warning
           WHERE hazard = 'flash_flood' AND colour = 'red' AND action = 'evacuate_now'
           ORDER BY cardinality(village_codes) DESC, id LIMIT 1""",
    )
    with service.client("commander") as c:
        impact = c.get(f"/api/warnings/{w['id']}").json()["impact"]
    if os.environ.get("RISKMAP_DUMP_IMPACT"):  # for a person to read the plan
        with open(os.environ["RISKMAP_DUMP_IMPACT"], "w", encoding="utf-8") as f:
            json.dump(impact, f, ensure_ascii=False, indent=1)
    codes = w["village_codes"]
    people = _one(
        service.db_url,
        "SELECT sum(danger_zone_population) AS dz, sum(population) AS pop FROM village"
        " WHERE code = ANY(%(c)s)",
        {"c": codes},
    )
    t = impact["totals"]
    assert t["villages"] == len(codes)
    assert t["people"] == people["dz"] < t["population"] == people["pop"]
    ev = impact["evacuation"]
    assert ev["people_to_move"] == t["people"]
    assert ev["placed"] + ev["gap"] == t["people"] and ev["placed"] > 0
    assert all(m["distance_km"] > 0 for m in ev["allocation"])
    free = {s["id"]: s["capacity"] - s["occupancy"] for s in impact["shelters"]}
    assert all(s["takes"] <= free[s["id"]] for s in impact["shelters"])
    teams = impact["rescue_teams"]["teams"]
    assert teams[0]["specialty"] == "flood_control" and len(teams) > 1
    assert impact["contacts"][0]["concerns_kind"] == "village"
    assert {"village_cadre", "grid_officer"} <= {c["role"] for c in impact["contacts"]}
