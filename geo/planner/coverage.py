"""Resource coverage and gaps for planners (应急资源一张图): how far each village is from help,
whether each township's shelters hold its people at risk, and whether the stock lasts a large
event.

Distances are straight lines on the WGS 84 spheroid from each village's representative point
(``label_point``), measured by the service's own nearest-resource query
(:func:`riskmap.geo.resources.nearest`), as its evacuation plans measure them. No road network
is loaded in the database, so no distance here is by road; every frame says so in its
``route`` column.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import geopandas as gpd
import pandas as pd
import psycopg
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from riskmap.geo import evacuation, resources
from riskmap.geo.planner.data import (
    SQL,
    CrsLike,
    Hazard,
    _check_crs,
    _check_mode,
    _frame,
    _geoframe,
    risk,
)

NearestKind = Literal["shelter", "warehouse", "team"]
#: What the distances are: no road network is loaded, so they are straight lines.
ROUTE = "straight_line"
MINIMUM_NEEDS = Path(__file__).with_name("minimum_needs.yaml")


def village_points(
    conn: psycopg.Connection, *, county: str | None = None, crs: CrsLike | None = None
) -> gpd.GeoDataFrame:
    """Villages as their representative points, with population and danger-zone population."""
    return _geoframe(_frame(conn, "village_points.sql", {"county": county}), _check_crs(crs))


def nearest(
    conn: psycopg.Connection,
    kind: NearestKind,
    *,
    specialty: str | None = None,
    items: Sequence[str] | None = None,
    county: str | None = None,
    crs: CrsLike | None = None,
) -> gpd.GeoDataFrame:
    """The nearest resource of one kind to every village (straight line, see the module).

    Parameters
    ----------
    kind : ``"shelter"``, ``"warehouse"`` or ``"team"``.
    specialty : teams only: one of :data:`riskmap.geo.resources.SPECIALTIES`.
    items : warehouses only: count only warehouses holding any of these stock items.
    county : GB/T 2260 code (None = every county).

    Returns
    -------
    GeoDataFrame
        One row per village (its representative point): ``code``, ``name``, township,
        ``population``, ``resource_id``, ``resource_name``, ``distance_m`` (NaN where no such
        resource exists) and ``route`` (``"straight_line"``).
    """
    _check_mode(kind, NearestKind, "kind")
    filters: dict = {}
    if specialty is not None:
        filters["specialties"] = [specialty]
    if items is not None:
        filters["items"] = list(items)
    points = village_points(conn, county=county)
    found = [
        resources.nearest(conn, kind, resources.point_wkb(p.x, p.y), k=1, **filters)
        for p in points.geometry
    ]
    points["resource_id"] = [r[0]["id"] if r else None for r in found]
    points["resource_name"] = [r[0]["name"] if r else None for r in found]
    points["distance_m"] = [float(r[0]["distance_m"]) if r else math.nan for r in found]
    points["route"] = ROUTE
    target = _check_crs(crs)
    return points.to_crs(target) if target is not None else points


def people_at_risk(
    conn: psycopg.Connection, hazard: Hazard, *, min_risk: int = 3, county: str | None = None
) -> pd.DataFrame:
    """People each village must move when its risk level is at least ``min_risk`` (1-4).

    The count is the service's own (:func:`riskmap.geo.evacuation.people_to_move`): the
    danger-zone population (危险区人口) for a flash flood, the people the village's hazard points
    threaten for a geohazard, the whole village for a forest fire.
    """
    _check_mode(hazard, Hazard, "hazard")
    if min_risk not in (1, 2, 3, 4):
        raise ValueError(f"min_risk must be 1, 2, 3 or 4, got {min_risk!r}")
    maps = risk(conn, hazard=hazard)
    at_risk = set(maps.loc[maps["risk_level"] >= min_risk, "village_code"])
    source = evacuation.PEOPLE_SOURCE[hazard]
    threatened = {}
    if source == "hazard_points":
        threatened = dict(SQL.rows(conn, "hazard_point_people.sql", shape="tuple"))
    rows = []
    frame = _frame(conn, "village_points.sql", {"county": county}).drop(columns="wkb")
    for v in frame.astype(object).where(frame.notna(), None).to_dict("records"):
        if v["code"] not in at_risk:
            continue
        n, used = evacuation.people_to_move(v, source, int(threatened.get(v["code"], 0)))
        rows.append({"code": v["code"], "name": v["name"], "township_code": v["township_code"],
                     "township_name": v["township_name"], "population": int(v["population"]),
                     "people_to_move": n, "people_source": used})  # fmt: skip
    columns = ["code", "name", "township_code", "township_name", "population", "people_to_move",
               "people_source"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def shelter_balance(
    conn: psycopg.Connection, hazard: Hazard, *, min_risk: int = 3, county: str | None = None
) -> pd.DataFrame:
    """Shelter places against the people at risk, per township (乡镇).

    A shelter counts in the township its point lies in. ``free`` is capacity − occupancy;
    ``shortfall`` the people the township's own shelters cannot take (0 when they suffice);
    ``ratio`` free places per person to move (NaN with no one to move).
    """
    people = people_at_risk(conn, hazard, min_risk=min_risk, county=county)
    towns = _frame(conn, "townships.sql", {"county": county})[["code", "name"]]
    places = _frame(conn, "shelter_townships.sql")
    need = people.groupby("township_code").agg(
        villages_at_risk=("code", "size"), people_to_move=("people_to_move", "sum")
    )
    held = places.groupby("township_code").agg(
        shelters=("id", "size"), capacity=("capacity", "sum"), free=("free", "sum")
    )
    out = towns.rename(columns={"code": "township_code", "name": "township_name"})
    out = out.join(need, on="township_code").join(held, on="township_code")
    counts = ["villages_at_risk", "people_to_move", "shelters", "capacity", "free"]
    out[counts] = out[counts].fillna(0).astype(int)
    out["shortfall"] = (out["people_to_move"] - out["free"]).clip(lower=0)
    out["ratio"] = out["free"] / out["people_to_move"].where(out["people_to_move"] > 0)
    return out.sort_values(["shortfall", "township_code"], ascending=[False, True]).reset_index(
        drop=True
    )


class Need(BaseModel):
    """One line of a minimum-needs table (minimum_needs.yaml)."""

    model_config = ConfigDict(extra="forbid")
    item: str | None
    name: str
    unit: str
    per_person: float = Field(ge=0)
    per: Literal["day", "event"]
    basis: str


class NeedsTable(BaseModel):
    model_config = ConfigDict(extra="forbid")
    needs: list[Need] = Field(min_length=1)


def read_needs(path: str | Path = MINIMUM_NEEDS) -> pd.DataFrame:
    """A minimum-needs table, validated; a bad file raises ValueError naming file and field."""
    path = Path(path)
    try:
        table = NeedsTable.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ValueError(f"{path}: {where}: {first['msg']}") from exc
    return pd.DataFrame([n.model_dump() for n in table.needs])


def minimum_needs(
    people: int, *, days: int = 7, needs: str | Path | pd.DataFrame | None = None
) -> pd.DataFrame:
    """What ``people`` displaced for ``days`` need, InaSAFE-style, rounded up to whole units.

    ``needs`` is a table like ``minimum_needs.yaml`` (the default): ``per: day`` items are
    consumed every day, ``per: event`` items (tents, quilts) are needed once.
    """
    if int(people) != people or people < 0:
        raise ValueError(f"people must be a whole number ≥ 0, got {people!r}")
    if int(days) != days or days < 1:
        raise ValueError(f"days must be a whole number ≥ 1, got {days!r}")
    table = needs.copy() if isinstance(needs, pd.DataFrame) else read_needs(needs or MINIMUM_NEEDS)
    factor = table["per"].map({"day": days, "event": 1})
    # a small tolerance so that 0.19 × 1000 × 7 stays 1330, not 1331 from float noise
    table["need"] = [math.ceil(x - 1e-9) for x in table["per_person"] * people * factor]
    return table


def stock_gap(
    conn: psycopg.Connection,
    people: int,
    *,
    days: int = 7,
    needs: str | Path | pd.DataFrame | None = None,
    county: str | None = None,
) -> pd.DataFrame:
    """Minimum needs of ``people`` for ``days`` against the stock of every warehouse.

    Adds ``stock`` (sum over the county's warehouses; NaN for needs the stock register does not
    track), ``shortfall`` (need − stock, at least 0) and ``covered`` (stock ÷ need, capped at 1).
    """
    table = minimum_needs(people, days=days, needs=needs)
    stock = _frame(conn, "stock.sql")
    if county is not None:
        houses = _frame(conn, "warehouses.sql")
        mine = houses.loc[houses["admin_code"].str.startswith(county), "id"]
        stock = stock[stock["warehouse_id"].isin(mine)]
    totals = stock.groupby("item")["quantity"].sum()
    table["stock"] = [totals.get(i, 0.0) if i else math.nan for i in table["item"]]
    table["shortfall"] = (table["need"] - table["stock"]).clip(lower=0)
    table["covered"] = (table["stock"] / table["need"].where(table["need"] > 0)).clip(upper=1.0)
    return table


__all__ = [
    "ROUTE",
    "minimum_needs",
    "nearest",
    "people_at_risk",
    "read_needs",
    "shelter_balance",
    "stock_gap",
    "village_points",
]
