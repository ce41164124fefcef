"""Where new shelters or reserve points would help most: location-allocation with PySAL spopt.

Two classic models, solved exactly by spopt with PuLP's bundled CBC solver:

- ``"max_cover"`` (maximal covering location, MCLP, Church & ReVelle 1974): open ``add`` new
  sites so that the most people live within ``radius_m`` of an open site;
- ``"p_median"`` (Hakimi 1964): open ``add`` new sites so that the people-weighted mean distance
  to the nearest open site is least.

Existing sites stay open (spopt's predefined facilities), so the answer is what the new ones
add. Distances are straight lines: geodesic on the CRS's ellipsoid for a geographic CRS,
Euclidean for a projected one in metres (no road network is loaded). spopt is a planner extra
(``pip install riskmap[planner]``), imported only here.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Literal, get_args

import geopandas as gpd
import numpy as np
import pandas as pd

Objective = Literal["max_cover", "p_median"]


@dataclass(frozen=True)
class Siting:
    """The answer of :func:`locate`: the chosen sites and what they change."""

    objective: str
    radius_m: float | None
    #: the chosen candidates (their rows), each with ``newly_covered`` (weight it brings within
    #: the radius that no other open site reaches) and ``serves`` (weight nearest to it after)
    chosen: gpd.GeoDataFrame
    #: per demand row: nearest open site and distance before and after
    assignment: pd.DataFrame
    #: ``covered``, ``share``, ``mean_distance_m``, ``max_distance_m`` with existing sites only
    before: dict
    #: the same with the chosen sites open too
    after: dict

    @property
    def gain(self) -> dict:
        """What the new sites buy: more people covered, shorter people-weighted distance."""
        return {
            "covered": self.after["covered"] - self.before["covered"],
            "share": self.after["share"] - self.before["share"],
            "mean_distance_m": self.after["mean_distance_m"] - self.before["mean_distance_m"],
        }


def locate(
    demand: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame,
    *,
    add: int,
    objective: Objective = "max_cover",
    existing: gpd.GeoDataFrame | None = None,
    radius_m: float | None = None,
    weight: str = "people",
    time_limit_s: int = 120,
) -> Siting:
    """Choose ``add`` of ``candidates`` to open beside ``existing`` sites.

    Parameters
    ----------
    demand : where people are (points, or polygons measured from a representative point),
        with a ``weight`` column (people to serve, ≥ 0).
    candidates : possible new sites (points).
    add : how many to open (1 … ``len(candidates)``).
    objective : ``"max_cover"`` (needs ``radius_m``) or ``"p_median"``.
    existing : sites already open (points), kept open; None = none.
    radius_m : service radius in metres: the coverage to maximise (max_cover), and reported
        for both objectives.
    time_limit_s : CBC's time limit; a model not solved to optimality raises RuntimeError.

    Raises
    ------
    ValueError
        On a bad mode, count, radius or weight, or frames in different or unusable CRSs.
    """
    if objective not in get_args(Objective):
        allowed = ", ".join(map(repr, get_args(Objective)))
        raise ValueError(f"objective must be one of {allowed}, got {objective!r}")
    frames = {"demand": demand, "candidates": candidates}
    if existing is not None:
        frames["existing"] = existing
    crs = _common_crs(frames)
    if not isinstance(add, int | np.integer) or not 1 <= add <= len(candidates):
        raise ValueError(f"add must be a whole number from 1 to {len(candidates)}, got {add!r}")
    if objective == "max_cover" and radius_m is None:
        raise ValueError("objective 'max_cover' needs radius_m (the service radius in metres)")
    if radius_m is not None and not radius_m > 0:
        raise ValueError(f"radius_m must be positive, got {radius_m!r}")
    weights = _weights(demand, weight)
    sites = pd.concat(
        [g.geometry for g in (existing, candidates) if g is not None], ignore_index=True
    )
    n_old = 0 if existing is None else len(existing)
    cost = distance_matrix(demand.geometry.representative_point(), sites, crs)
    opened = _solve(cost, weights, objective, radius_m, n_old, add, time_limit_s)
    new = [j - n_old for j in opened if j >= n_old]
    old = list(range(n_old))
    before = _served(cost, weights, old, radius_m) if old else _nothing(weights)
    after = _served(cost, weights, old + [n_old + j for j in new], radius_m)
    chosen = candidates.iloc[new].copy()
    nearest_after = after.pop("_nearest")
    before.pop("_nearest", None)
    chosen["serves"] = [float(weights[nearest_after == n_old + j].sum()) for j in new]
    chosen["newly_covered"] = _newly_covered(cost, weights, old, n_old, new, radius_m)
    labels = [existing.index[j] if j < n_old else candidates.index[j - n_old]
              for j in nearest_after]  # fmt: skip
    assignment = pd.DataFrame(
        {
            "weight": weights,
            "before_m": cost[:, old].min(axis=1) if old else np.nan,
            "after_m": cost[np.arange(len(weights)), nearest_after],
            "site": ["existing" if j < n_old else "new" for j in nearest_after],
            "site_index": labels,
        },
        index=demand.index,
    )
    return Siting(objective, radius_m, chosen, assignment, before, after)


def distance_matrix(origins: gpd.GeoSeries, sites: gpd.GeoSeries, crs) -> np.ndarray:
    """Straight-line distances in metres, origins × sites (geodesic for a geographic CRS)."""
    ox, oy = origins.x.to_numpy(), origins.y.to_numpy()
    sx, sy = sites.x.to_numpy(), sites.y.to_numpy()
    if crs.is_geographic:
        geod = crs.get_geod()
        lon1, lat1 = np.repeat(ox, len(sx)), np.repeat(oy, len(sx))
        lon2, lat2 = np.tile(sx, len(ox)), np.tile(sy, len(ox))
        _, _, dist = geod.inv(lon1, lat1, lon2, lat2)
        return np.asarray(dist, dtype=float).reshape(len(ox), len(sx))
    return np.hypot(ox[:, None] - sx[None, :], oy[:, None] - sy[None, :])


def _common_crs(frames: dict[str, gpd.GeoDataFrame]):
    crss = {name: g.crs for name, g in frames.items()}
    missing = [name for name, c in crss.items() if c is None]
    if missing:
        raise ValueError(f"{', '.join(missing)} has no CRS; set one (e.g. .set_crs('EPSG:4326'))")
    first_name, first = next(iter(crss.items()))
    for name, c in crss.items():
        if c != first:
            raise ValueError(
                f"CRS mismatch: {first_name} is {first.to_string()}, {name} is {c.to_string()}; "
                f"reproject one with .to_crs()"
            )
    if not first.is_geographic:
        unit = first.axis_info[0].unit_name if first.axis_info else "?"
        if unit not in ("metre", "meter"):
            raise ValueError(f"projected CRS {first.to_string()} is in {unit}, not metres")
    for name in ("candidates", "existing"):
        g = frames.get(name)
        if g is not None and not (g.geom_type == "Point").all():
            raise ValueError(f"{name} must be points")
    return first


def _weights(demand: gpd.GeoDataFrame, weight: str) -> np.ndarray:
    if weight not in demand.columns:
        raise ValueError(f"demand has no column {weight!r} (the people to serve)")
    values = pd.to_numeric(demand[weight], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values) | (values < 0))
    if len(bad):
        raise ValueError(
            f"demand row {demand.index[bad[0]]!r}: {weight} must be a number ≥ 0, "
            f"got {demand[weight].iloc[bad[0]]!r}"
        )
    return values


def _solve(cost, weights, objective, radius_m, n_old, add, time_limit_s) -> list[int]:
    """Indices of the open sites (existing first) in spopt's optimal solution."""
    import pulp
    from spopt.locate import MCLP, PMedian

    predefined = np.zeros(cost.shape[1], dtype=int)
    predefined[:n_old] = 1
    fixed = predefined if n_old else None
    p = n_old + add
    with warnings.catch_warnings():
        # spopt builds its models with PuLP 3 calls that PuLP 4 drops (and PuLP's bundled CBC
        # goes with them); the planner extra pins pulp<4, so the notices say nothing to a user
        warnings.simplefilter("ignore", DeprecationWarning)
        if objective == "max_cover":
            # a client is covered by a site when cost ≤ radius
            model = MCLP.from_cost_matrix(
                cost, weights, radius_m, p, predefined_facilities_arr=fixed
            )
        else:
            model = PMedian.from_cost_matrix(cost, weights, p, predefined_facilities_arr=fixed)
        solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit_s)
        model = model.solve(solver, results=False)
    status = pulp.LpStatus[model.problem.status]
    if status != "Optimal":
        raise RuntimeError(f"{objective} model not solved to optimality: {status}")
    return [j for j, var in enumerate(model.fac_vars) if var.value() > 0.5]


def _served(cost, weights, open_sites, radius_m) -> dict:
    sub = cost[:, open_sites]
    nearest = np.asarray(open_sites)[sub.argmin(axis=1)]
    dist = sub.min(axis=1)
    total = float(weights.sum())
    covered = float(weights[dist <= radius_m].sum()) if radius_m is not None else np.nan
    return {
        "covered": covered,
        "share": covered / total if total else np.nan,
        "mean_distance_m": float(np.average(dist, weights=weights)) if total else np.nan,
        "max_distance_m": float(dist[weights > 0].max()) if (weights > 0).any() else np.nan,
        "_nearest": nearest,
    }


def _nothing(weights) -> dict:
    return {"covered": 0.0, "share": 0.0, "mean_distance_m": np.nan, "max_distance_m": np.nan}


def _newly_covered(cost, weights, old, n_old, new, radius_m) -> list[float]:
    if radius_m is None:
        return [np.nan] * len(new)
    within = cost <= radius_m
    out = []
    for j in new:
        others = old + [n_old + k for k in new if k != j]
        reached = within[:, others].any(axis=1) if others else np.zeros(len(weights), bool)
        out.append(float(weights[within[:, n_old + j] & ~reached].sum()))
    return out
