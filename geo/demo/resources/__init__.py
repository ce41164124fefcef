"""Synthetic emergency resources (应急资源一张图) for a demo county.

A county bureau's resource "one map" shows where help is: schools, clinics and the hospital
(who needs help), the three-level reserve of relief stock (county warehouse 库, township
station 站, village room 点), shelters, the five specialised rescue teams plus a
comprehensive team in every township, experts, vehicles, the village broadcast terminals
(村村响) and the 24-hour duty roster (值班表). None of it is public for a real county, so the
demo invents it, seeded and plausible for a Hunan mountain county, as frames whose columns are
exactly those of the database tables (``geo/db/migrations/0002``, ``0006``–``0008``).

Each table is built by its own module; this one composes them in a fixed order, which is
also the order of the random draws: changing it changes every seeded county.
"""

from __future__ import annotations

from datetime import datetime

import geopandas as gpd
import pandas as pd

from riskmap.geo.demo.boundaries import AdminOutline
from riskmap.geo.demo.people import People
from riskmap.geo.demo.resources.context import make_context
from riskmap.geo.demo.resources.experts import make_experts
from riskmap.geo.demo.resources.facilities import make_facilities
from riskmap.geo.demo.resources.officials import make_officials, make_village_people
from riskmap.geo.demo.resources.reserve import make_stock, make_warehouses
from riskmap.geo.demo.resources.roster import make_duty_shifts
from riskmap.geo.demo.resources.shelters import make_shelters
from riskmap.geo.demo.resources.teams import make_teams
from riskmap.geo.demo.resources.terminals import make_terminals
from riskmap.geo.demo.resources.vehicles import make_vehicles


def make_resources(
    county: AdminOutline,
    townships: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame,
    people: People,
    *,
    seed: int,
    dataset_id: str,
    roster_start: datetime,
    broadcast_url: str = "http://127.0.0.1:8900/broadcast/{code}",
) -> dict[str, pd.DataFrame]:
    """Invent a county's emergency resources, ready to load into the database.

    The demo needs a full resource "one map" (warehouses and stock, shelters, teams, experts,
    vehicles, broadcast terminals, the duty roster) to exercise dispatch, warning delivery and
    the map, and no real county publishes one. Everything is placed inside the synthetic
    townships and villages, seeded so that a seed always gives the same county, and built
    table by table with vectorised sampling so that 25,000 villages take seconds.

    Parameters
    ----------
    county
        The county outline (its code prefixes every id; its name is used in names).
    townships
        Output of ``make_townships`` (``roll_up`` optional: populations are summed from
        ``villages`` here); exactly one row has ``is_seat``.
    villages
        Output of ``make_villages``.
    people
        Registry that receives every person (village cadres, grid officers, disaster
        information officers, managers, team members, experts, duty officials) and their
        duties (``village_cadre``, ``grid_officer``, ``disaster_info_officer``,
        ``township_leader``, ``shelter_manager``).
    seed
        Seed of the ``numpy.random.default_rng`` used for every draw here.
    dataset_id
        Provenance id written to every row that has a ``dataset_id`` column.
    roster_start
        Timezone-aware start of the 14-day duty roster; each shift lasts 24 hours from it
        (08:00 Beijing time is 00:00 UTC).
    broadcast_url
        Template of the HTTP endpoint of a village terminal, with ``{code}`` for the village
        code (MQTT terminals use a local broker instead).

    Returns
    -------
    dict of str to pandas.DataFrame
        Keyed by table name (``facility``, ``warehouse``, ``stock``, ``shelter``,
        ``rescue_team``, ``team_member``, ``team_equipment``, ``expert``, ``vehicle``,
        ``broadcast_terminal``, ``duty_shift``), columns exactly those of the table (see
        :data:`~riskmap.geo.demo.resources.context.COLUMNS`); tables with a location are
        GeoDataFrames with a ``geom`` point column in EPSG:4326.

    Raises
    ------
    ValueError
        If ``roster_start`` is naive or the townships do not have exactly one seat.
    """
    if roster_start.tzinfo is None or roster_start.utcoffset() is None:
        raise ValueError("roster_start must be timezone-aware")
    ctx = make_context(county, townships, villages, people, seed=seed, dataset_id=dataset_id)
    pools = make_officials(ctx)
    make_village_people(ctx)
    out: dict[str, pd.DataFrame] = {"facility": make_facilities(ctx)}
    out["warehouse"] = make_warehouses(ctx)
    out["stock"] = make_stock(ctx, out["warehouse"])
    out["shelter"] = make_shelters(ctx)
    out["rescue_team"], out["team_member"], out["team_equipment"] = make_teams(ctx)
    out["expert"] = make_experts(ctx)
    out["vehicle"] = make_vehicles(ctx, out["rescue_team"], out["warehouse"])
    out["broadcast_terminal"] = make_terminals(ctx, broadcast_url)
    out["duty_shift"] = make_duty_shifts(ctx, pools, roster_start)
    return out
