"""Demo emergency vehicles with plausible Hunan plates, at teams and the county warehouse.

Dispatch moves people and stock by vehicle; each county team gets the kinds its specialty
uses, each township team a rescue vehicle, and the county warehouse its trucks.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np

from riskmap.geo.demo.resources.context import Ctx, geo_frame, serial_ids
from riskmap.geo.demo.resources.teams import COUNTY_TEAMS

# Prefecture (first four GB/T 2260 digits) → plate letter after 湘.
PLATE_LETTER = {"4312": "N", "4304": "D"}
DEFAULT_PLATE_LETTER = "A"
PLATE_PROVINCE = "湘"
_PLATE_LETTERS = np.array(list("ABCDEFGHJKLMNPQRSTUVWXYZ"))  # no I or O on plates

# Vehicle kind → (seats, payload in tonnes).
VEHICLE_SPECS: dict[str, tuple[int, float]] = {
    "rescue": (5, 1.0),
    "fire_engine": (6, 5.0),
    "ambulance": (4, 0.5),
    "truck": (3, 8.0),
    "boat_trailer": (0, 1.5),
    "command": (7, 0.5),
    "excavator": (1, 0.0),
}


def _plates(rng: np.random.Generator, n: int, letter: str) -> list[str]:
    """``n`` distinct plates such as 湘N3K0Q7: five characters, mostly digits, no I or O."""
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        k = n - len(out)
        digits = rng.integers(0, 10, (k, 5)).astype(str)
        letters = _PLATE_LETTERS[rng.integers(len(_PLATE_LETTERS), size=(k, 5))]
        chars = np.where(rng.random((k, 5)) < 0.8, digits, letters)
        for row in chars:
            plate = f"{PLATE_PROVINCE}{letter}{''.join(row)}"
            if plate not in seen:
                seen.add(plate)
                out.append(plate)
    return out


def make_vehicles(
    ctx: Ctx, teams: gpd.GeoDataFrame, warehouses: gpd.GeoDataFrame
) -> gpd.GeoDataFrame:
    """2–4 vehicles per county team, one per township team, trucks at the county warehouse."""
    rng = ctx.rng
    kinds_by_team = {s: kinds for s, _, kinds in COUNTY_TEAMS}
    kind, team_id, wh_id, geoms = [], [], [], []
    for tid, spec, geom in zip(teams["id"], teams["specialty"], teams.geometry, strict=True):
        picked = ["rescue"]
        if spec in kinds_by_team:
            picked = kinds_by_team[spec][: int(rng.integers(2, 5))]
        kind += picked
        team_id += [tid] * len(picked)
        wh_id += [None] * len(picked)
        geoms += [geom] * len(picked)
    trucks = int(rng.integers(2, 5))
    county_wh = warehouses.iloc[0]
    kind += ["truck"] * trucks
    team_id += [None] * trucks
    wh_id += [county_wh["id"]] * trucks
    geoms += [warehouses.geometry.iloc[0]] * trucks
    seats = np.array([VEHICLE_SPECS[k][0] for k in kind], dtype=np.int64)
    payload = np.array([VEHICLE_SPECS[k][1] for k in kind]) * rng.uniform(0.6, 1.25, len(kind))
    letter = PLATE_LETTER.get(ctx.code[:4], DEFAULT_PLATE_LETTER)
    data = {
        "id": serial_ids("VH", ctx.code, len(kind)),
        "plate": _plates(rng, len(kind), letter),
        "kind": kind,
        "seats": seats,
        "payload_t": payload.round(1),
        "team_id": team_id,
        "warehouse_id": wh_id,
        "dataset_id": ctx.dataset_id,
    }
    return geo_frame("vehicle", data, np.array(geoms, dtype=object))
