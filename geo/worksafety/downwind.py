"""The villages a major-hazard chemical installation (危险化学品重大危险源) threatens: those within
its emergency planning radius, narrowed to the downwind sector when the wind is known.

The shape follows the Emergency Response Guidebook (ERG, green pages) that Chinese practice
also uses for toxic releases (紧急隔离距离 / 下风向疏散距离): everyone within a small
*initial isolation* circle all round, and downwind of it a *protective action* zone. ERG draws
that zone as a square downwind whose width equals its length, i.e. ±26.6° (atan ½) at its far
edge and wider near the source; we keep villages whose bearing from the site lies within
±30° of the downwind bearing (the square plus a margin for the wind's wobble). When the wind
is light its direction is unreliable and a plume meanders: below 2 m/s the sector widens to
±60°, and in calm air (静风, wind below 0.5 m/s as HJ 2.2-2018 defines it) every direction
counts. Without a wind observation the whole planning circle counts.

Distances and bearings are geodesic (pyproj on WGS 84), from the site to the village's point
nearest it, so a sector means the same on the ground at any latitude.

The planning radius comes from the site (``details.emergency_radius_m``, from its own plan or
its 外部安全防护距离 under GB/T 37243-2019) or, failing that, from the installation's grade
(GB 18218-2018 一级 … 四级) through :data:`DEFAULT_RADIUS_M`. Those defaults are this project's
placeholders (no national table sets a radius per grade): a county sets its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import psycopg

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.errors import InvalidArgumentError, NotFoundError

#: Planning radius (m) by major-hazard grade when the site gives none: placeholders, see above.
DEFAULT_RADIUS_M: dict[str, float] = {
    "一级": 5000.0,
    "二级": 3000.0,
    "三级": 2000.0,
    "四级": 1000.0,
}
#: Initial isolation radius (m) all round when the site gives none (``details.isolation_m``).
DEFAULT_ISOLATION_M = 500.0
CALM_MS = 0.5  # 静风 (HJ 2.2-2018)
LIGHT_MS = 2.0
SQL = SqlFiles("riskmap.geo.worksafety.sql")

Reason = Literal["isolation", "downwind", "radius"]


@dataclass(frozen=True)
class Wind:
    """A wind observation: the direction it blows *from* (degrees clockwise from north, as
    meteorologists report it) and its speed (m/s, 10 m above ground)."""

    from_deg: float
    speed_ms: float

    @property
    def downwind_deg(self) -> float:
        """Bearing the air goes to."""
        return (self.from_deg + 180.0) % 360.0


@dataclass(frozen=True)
class ExposedVillage:
    """A village in the zone: distance (m) and bearing (°) from the site to its nearest point,
    and why it is in (``isolation`` circle, ``downwind`` sector, or ``radius`` without wind)."""

    code: str
    name: str
    distance_m: float
    bearing_deg: float
    reason: Reason


def sector_half_angle(wind: Wind) -> float:
    """Half-width (°) of the downwind sector for this wind: 30, 60 below 2 m/s, 180 in calm."""
    if wind.speed_ms < 0:
        raise InvalidArgumentError(f"wind speed must be >= 0, got {wind.speed_ms}")
    if wind.speed_ms < CALM_MS:
        return 180.0
    return 60.0 if wind.speed_ms < LIGHT_MS else 30.0


def planning_radius(details: Mapping[str, Any]) -> float:
    """The site's emergency planning radius (m): its own, else its grade's default.

    Raises
    ------
    InvalidArgumentError
        Neither a positive ``emergency_radius_m`` nor a known ``major_hazard_source`` grade.
    """
    own = details.get("emergency_radius_m")
    if own is not None:
        if not float(own) > 0:
            raise InvalidArgumentError(f"details.emergency_radius_m must be > 0, got {own}")
        return float(own)
    grade = details.get("major_hazard_source")
    if grade in DEFAULT_RADIUS_M:
        return DEFAULT_RADIUS_M[grade]
    raise InvalidArgumentError(
        "give details.emergency_radius_m or details.major_hazard_source"
        f" (one of {', '.join(DEFAULT_RADIUS_M)}), got {grade!r}"
    )


def exposed_villages(
    site: tuple[float, float],
    villages: Sequence[tuple[str, str, float, float]],
    radius_m: float,
    wind: Wind | None = None,
    *,
    isolation_m: float = DEFAULT_ISOLATION_M,
) -> list[ExposedVillage]:
    """Villages (code, name, lon, lat of the point nearest the site) within ``radius_m``: all
    of them without wind; with wind those within ``isolation_m`` all round and those in the
    downwind sector. Nearest first.
    """
    if not radius_m > 0:
        raise InvalidArgumentError(f"radius_m must be > 0, got {radius_m}")
    if isolation_m < 0:
        raise InvalidArgumentError(f"isolation_m must be >= 0, got {isolation_m}")
    half = sector_half_angle(wind) if wind is not None else 180.0
    out: list[ExposedVillage] = []
    for code, name, lon, lat in villages:
        az, _, dist = _geod().inv(site[0], site[1], lon, lat)
        bearing = az % 360.0
        if dist > radius_m:
            continue
        if wind is None:
            reason: Reason = "radius"
        elif dist <= isolation_m or dist == 0.0:
            reason = "isolation"
        elif _off_axis(bearing, wind.downwind_deg) <= half:
            reason = "downwind"
        else:
            continue
        out.append(ExposedVillage(code, name, float(dist), bearing, reason))
    out.sort(key=lambda v: (v.distance_m, v.code))
    return out


def _off_axis(bearing: float, axis: float) -> float:
    """Angle (0–180°) between two bearings."""
    d = abs(bearing - axis) % 360.0
    return min(d, 360.0 - d)


def site_exposed_villages(
    conn: psycopg.Connection, site_id: str, wind: Wind | None = None
) -> list[ExposedVillage]:
    """:func:`exposed_villages` of a stored chemical installation, its radius from its details.

    Raises
    ------
    NotFoundError
        No such site, or it is not a chemical plant.
    InvalidArgumentError
        Its details give no radius and no grade.
    """
    site = SQL.one(conn, "chemical_site.sql", {"site_id": site_id})
    if site is None or site["kind"] != "chemical_plant":
        raise NotFoundError(f"site {site_id} is not a chemical plant in hazardous_site")
    details = site["details"] or {}
    try:
        radius = planning_radius(details)
    except InvalidArgumentError as exc:
        raise InvalidArgumentError(f"site {site_id}: {exc}") from exc
    isolation = float(details.get("isolation_m", min(DEFAULT_ISOLATION_M, radius)))
    near = SQL.rows(
        conn,
        "villages_within.sql",
        {"lon": site["lon"], "lat": site["lat"], "radius_m": radius},
        shape="tuple",
    )
    return exposed_villages((site["lon"], site["lat"]), near, radius, wind, isolation_m=isolation)


@cache
def _geod():  # pyproj on first use: the API's workers start without it
    import pyproj

    return pyproj.Geod(ellps="WGS84")
