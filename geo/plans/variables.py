"""The fixed variables plan conditions read, computed per county by SQL as of a time.

Every variable is a number, 0 when there is nothing to count (no NULLs: a quiet county has all
zeros). Warnings count only when issued, in force at the time and real (CAP status ``Actual``:
drills never call for a response); a village counts once per variable however many warnings
cover it. Observations count the latest reading of each station within six hours before the
time (sensors: 24 hours), as the rules do.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import psycopg

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.vocabulary import COLOUR_ZH, COLOURS

SQL = SqlFiles("riskmap.geo.plans.sql")

#: hazards of the built-in rules whose warnings are counted per colour
HAZARDS: dict[str, str] = {
    "flash_flood": "山洪",
    "rainstorm": "暴雨",
    "river_flood": "江河洪水",
    "reservoir": "水库",
    "geohazard": "地质灾害",
    "forest_fire": "森林火险",
    "earthquake": "地震",
    "tailings_dam": "尾矿库溃坝风险",  # geo/worksafety: a red dam alarm's 立即转移 warning
}

#: field-report kinds behind the casualty variables of one hazard (variables.sql groups them)
REPORT_GROUPS: dict[str, str] = {
    "flood": "floods and waterlogging",
    "geohazard": "landslides, collapses and debris flows",
    "fire": "fires",
}


def _catalogue() -> dict[str, str]:
    out: dict[str, str] = {}
    for colour in COLOURS:
        out[f"villages_{colour}"] = f"villages under an issued {colour} warning of any hazard"
        for hazard, zh in HAZARDS.items():
            out[f"villages_{colour}_{hazard}"] = (
                f"villages under an issued {colour} {hazard} warning ({zh}{COLOUR_ZH[colour]}预警)"
            )
    for hazard, zh in HAZARDS.items():
        out[f"villages_{hazard}"] = (
            f"villages under an issued {hazard} warning of any colour ({zh})"
        )
    out |= {
        "villages_warned": "villages under any issued warning",
        "villages_evacuate_now": "villages under an issued 立即转移 (evacuate now) warning",
        "villages_prepare_evacuation": "villages under an issued 准备转移 (prepare) warning",
        "people_evacuate_now": "people living in the villages under 立即转移",
        "stations_over_warning": "river gauges whose latest stage ≥ 警戒水位 (warning stage)",
        "stations_over_guarantee": "river gauges whose latest stage ≥ 保证水位 (guaranteed stage)",
        "reservoirs_over_limit": "reservoirs whose latest level ≥ the day's 汛限水位",
        "reservoirs_over_design": "reservoirs whose latest level ≥ 设计洪水位 (design flood level)",
        "reservoirs_over_check": "reservoirs whose latest level ≥ 校核洪水位 (check flood level)",
        "quake_magnitude_24h": "largest magnitude of the last 24 h within 200 km of the county",
        "quake_magnitude_local_24h": "largest magnitude of the last 24 h within the county",
        "hotspots_24h": "satellite fire hotspots of the last 24 h inside the county",
        "fire_danger_max": "highest forest-fire danger level (1–5) in force over the county",
        "hazard_points_red_risk": "hazard points inside a red (一级) geohazard risk area in force",
        "hazard_points_orange_risk": "hazard points inside an orange (二级) risk area in force",
        "people_red_risk": "people threatened at the hazard points in red risk areas",
        "site_sensors_over_alarm": "sensors at hazardous sites (chemical plants, tailings"
        " dams, fireworks) beyond their alarm value (latest reading of 24 h)",
        "sites_over_alarm": "hazardous sites with at least one sensor beyond its alarm value",
        "hazard_sensors_over_alarm": "sensors at geohazard points beyond their alarm value",
        "reports_24h": "field reports (灾情直报) of the last 24 h not marked false",
        "dead_24h": "dead in the field reports of the last 24 h (死亡)",
        "missing_24h": "missing in the field reports of the last 24 h (失踪)",
        "injured_24h": "injured in the field reports of the last 24 h (受伤)",
    }
    for group, kinds in REPORT_GROUPS.items():
        out[f"dead_{group}_24h"] = f"dead in the last 24 h's field reports of {kinds}"
        out[f"missing_{group}_24h"] = f"missing in the last 24 h's field reports of {kinds}"
    return out


#: name → what it counts; the documented, fixed set (docs and `riskmap plans variables`)
VARIABLES: dict[str, str] = _catalogue()
NAMES = frozenset(VARIABLES)


def compute_variables(
    conn: psycopg.Connection, at: datetime, counties: Sequence[str] | None = None
) -> tuple[list[str], dict[str, np.ndarray]]:
    """The variables of every county with villages (or of ``counties``) as of ``at``.

    Returns
    -------
    codes, values
        County codes (sorted) and, per variable, a float array aligned with them.
    """
    if at.tzinfo is None:
        raise ValueError("at must be timezone-aware")
    params = {"at": at, "counties": list(counties) if counties is not None else None}
    codes = [r[0] for r in SQL.rows(conn, "counties.sql", params, shape="tuple")]
    index = {c: i for i, c in enumerate(codes)}
    values = {name: np.zeros(len(codes)) for name in VARIABLES}
    for county, name, value in SQL.rows(conn, "variables.sql", params, shape="tuple"):
        if name in values and county in index and value is not None:
            values[name][index[county]] = float(value)
    return codes, values
