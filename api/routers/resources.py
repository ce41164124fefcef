"""Emergency-resource one map (应急资源一张图): nearest shelters, warehouses, rescue teams and
experts to a point or a warning's area, the expert pool, and resource totals per township. Needs
a token ("read").

Experts have no location of their own, only the admin unit they serve: their ``distance_m`` is
to that unit's area (0 inside it) and their point is the unit's label point (``located``
``"service_area"``)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from riskmap.api.areas import check_warning, outside, scope, within
from riskmap.api.auth import Reader
from riskmap.api.deps import Connection
from riskmap.api.responses import invalid, point_feature
from riskmap.api.users import Principal
from riskmap.geo import resources
from riskmap.geo.resources import Expertise, ResourceKind, Specialty

router = APIRouter(prefix="/api/resources", tags=["resources"])

#: which query filter belongs to which kind
_FILTER_KIND = {
    "min_free": "shelter", "item": "warehouse", "specialty": "team", "expertise": "expert",
}  # fmt: skip


@router.get("/nearest", summary="最近的避难场所、物资仓库或救援队伍 Nearest resources")
def nearest(
    conn: Connection,
    who: Reader,
    kind: Annotated[
        ResourceKind,
        Query(description="shelter 避难场所, warehouse 仓库, team 队伍, expert 专家"),
    ],
    lon: Annotated[float | None, Query(ge=-180, le=180, description="WGS 84 longitude")] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90, description="WGS 84 latitude")] = None,
    warning_id: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="measure from its area")
    ] = None,
    k: Annotated[int, Query(ge=1, le=100)] = 5,
    min_free: Annotated[
        int | None, Query(ge=0, le=10**7, description="shelters: free places")
    ] = None,
    item: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=40,
            pattern=r"^[^\x00-\x1f]+$",
            description="warehouses: item code or part of its name",
        ),
    ] = None,
    specialty: Annotated[Specialty | None, Query(description="teams: specialty")] = None,
    expertise: Annotated[Expertise | None, Query(description="experts: specialty")] = None,
) -> dict[str, Any]:
    """The ``k`` nearest resources of ``kind`` to a point (``lon`` + ``lat``) or to a warning's
    area (``warning_id``; 0 m inside it), as GeoJSON point features sorted by geodesic
    ``distance_m``. Experts are measured to the admin unit they serve (0 m inside it)."""
    if warning_id is not None and (lon is not None or lat is not None):
        raise invalid("warning_id", "give either lon and lat or warning_id, not both")
    if warning_id is None:
        for name, value in (("lon", lon), ("lat", lat)):
            if value is None:
                raise invalid(name, f"{name} is required (give lon and lat, or warning_id)")
    given = {"min_free": min_free, "item": item, "specialty": specialty, "expertise": expertise}
    for name, value in given.items():
        if value is not None and _FILTER_KIND[name] != kind:
            raise invalid(name, f"{name} applies to kind {_FILTER_KIND[name]}, not {kind}")
    if warning_id is not None:
        check_warning(conn, who, warning_id)
        area = resources.warning_area(conn, warning_id)
        origin: dict[str, Any] = {"warning_id": warning_id}
    else:
        area = resources.point_wkb(lon, lat)
        origin = {"lon": lon, "lat": lat}
    rows = resources.nearest(
        conn,
        kind,
        area,
        k=k,
        min_free=min_free or 0,
        item=item,
        specialties=[specialty] if specialty else None,
        expertise=[expertise] if expertise else None,
        area_prefix=scope(who),  # only the caller's area's resources
    )
    return {
        "type": "FeatureCollection",
        "kind": kind,
        "kind_zh": resources.KIND_LABELS[kind],
        "origin": origin,
        "features": [_feature(kind, r) for r in rows],
    }


def _feature(kind: str, row: dict[str, Any]) -> dict[str, Any]:
    """A point feature; an expert's point is the unit they serve (null when they have none)."""
    if kind != "expert":
        return point_feature(row)
    if row["lon"] is None:
        props = {k: v for k, v in row.items() if k not in ("lon", "lat")}
        feature = {"type": "Feature", "id": row["id"], "geometry": None, "properties": props}
    else:
        feature = point_feature(row)
    feature["properties"]["located"] = "service_area"
    return feature


@router.get("/experts", summary="专家库 Expert pool")
def experts(
    conn: Connection,
    who: Reader,
    expertise: Annotated[Expertise | None, Query(description="specialty")] = None,
    county: Annotated[str | None, Query(pattern=r"^[1-9]\d{5}$", description="GB/T 2260")] = None,
) -> dict[str, Any]:
    """Every expert with specialty, employer, title, phone and the admin unit they serve, as
    GeoJSON features placed at that unit's label point (experts have no location of their
    own; ``located`` says so)."""
    rows = resources.experts(conn, [expertise] if expertise else None, _county(conn, who, county))
    return {"type": "FeatureCollection", "features": [_feature("expert", r) for r in rows]}


@router.get("/summary", summary="各乡镇应急资源汇总 Resource totals per township")
def summary(
    conn: Connection,
    who: Reader,
    by: Annotated[Literal["township"], Query(description="grouping (township)")] = "township",
    county: Annotated[str | None, Query(pattern=r"^[1-9]\d{5}$", description="GB/T 2260")] = None,
) -> dict[str, Any]:
    """Per township: relief stock per item, shelter capacity/occupied/free and rescue teams per
    specialty; county-level resources form their own group; ``totals`` sums the groups."""
    return {"by": by, **resources.summary_by_township(conn, _county(conn, who, county))}


def _county(conn: Connection, who: Principal, county: str | None) -> str | None:
    """The county (or area prefix) to limit a listing to: the one asked for, which must lie
    in the caller's area (403), else the caller's area."""
    prefix = scope(who)
    if county is None:
        return prefix
    if not within(prefix, county):
        raise outside(conn, who, f"county {county}")
    return county
