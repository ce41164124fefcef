"""The ``village_risk`` table: its rows from the classes, and replacing them.

One place knows the table's column order, which indicators each hazard fills and which it
cannot do without (the table's CHECK constraints say the same), so the build never has to.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import psycopg

from riskmap.geo.db.copy import copy_statement
from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.risk.scoring import (
    BREAKS,
    HAZARDS,
    METHOD,
    METHOD_VERSION,
    Hazard,
    risk_level,
    susceptibility,
)

SQL = SqlFiles("riskmap.geo.sql")

_COLUMNS = [
    "village_code",
    "hazard",
    "susceptibility_class",
    "exposure_class",
    "risk_level",
    "population",
    "households",
    "schools",
    "clinics",
    "hand_m_p10",
    "low_ground_share",
    "river_km",
    "slope_mean",
    "hazard_points_per_km2",
    "forest_fraction",
    "dem_coverage",
    "method",
    "method_version",
    "inputs",
]
_HAZARD_COLUMNS: dict[Hazard, tuple[str, ...]] = {
    "flash_flood": ("hand_m_p10", "low_ground_share", "river_km"),
    "geohazard": ("slope_mean", "hazard_points_per_km2"),
    "forest_fire": ("forest_fraction", "slope_mean"),
}
#: Indicators a row cannot do without (the table's CHECK constraints say the same).
_REQUIRED: dict[Hazard, tuple[str, ...]] = {
    "flash_flood": ("hand_m_p10",),
    "geohazard": ("slope_mean", "hazard_points_per_km2"),
    "forest_fire": ("forest_fraction", "slope_mean"),
}


def _value(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def village_risk_rows(
    rows: list,
    indicators: dict[str, np.ndarray],
    expo: np.ndarray,
    coverage: np.ndarray,
    keep: np.ndarray,
    inputs: dict,
) -> tuple[list[tuple], dict[str, dict[int, int]]]:
    """The ``village_risk`` rows (COPY order of :data:`_COLUMNS`) and level counts."""
    inputs_text = json.dumps(inputs, sort_keys=True)
    records: list[tuple] = []
    levels: dict[str, dict[int, int]] = {}
    for hazard in HAZARDS:
        sus = susceptibility(hazard, indicators)
        ok = keep & (sus > 0)
        for name in _REQUIRED[hazard]:
            ok &= ~np.isnan(indicators[name])
        risk = np.zeros_like(sus)
        risk[ok] = risk_level(sus[ok], expo[ok])
        levels[hazard] = {lv: int((risk[ok] == lv).sum()) for lv in (1, 2, 3, 4)}
        used = _HAZARD_COLUMNS[hazard]
        for i in np.flatnonzero(ok):
            r = rows[i]
            values = {
                name: (_value(indicators[name][i]) if name in used else None) for name in BREAKS
            }
            records.append(
                (
                    r[0],
                    hazard,
                    int(sus[i]),
                    int(expo[i]),
                    int(risk[i]),
                    int(r[2]),
                    int(r[3]),
                    int(r[4]),
                    int(r[5]),
                    *(values[name] for name in _COLUMNS[9:15]),
                    float(min(max(coverage[i], 0.0), 1.0)),
                    METHOD,
                    METHOD_VERSION,
                    inputs_text,
                )
            )
    return records, levels


def replace_rows(conn: psycopg.Connection, codes: list[str], rows: Sequence[tuple]) -> None:
    """Delete the villages' old rows and COPY the new ones (inside the caller's transaction)."""
    conn.execute(SQL("risk_delete.sql"), {"codes": codes})
    with conn.cursor().copy(copy_statement("village_risk", _COLUMNS)) as cp:
        for rec in rows:
            cp.write_row(rec)
