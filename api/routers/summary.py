"""City views: totals per county for the city wall map (市级大屏, ``/api/summary?by=county``).

One SQL statement (``summary_by_county.sql``) counts everything per county of the caller's
area; the total row is the sum of the county rows, so the figures on the wall always add up.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from riskmap.api.areas import scope
from riskmap.api.auth import OptionalPrincipal
from riskmap.api.deps import Connection
from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.evacuation import PEOPLE_SOURCE

SQL = SqlFiles("riskmap.api.sql")

router = APIRouter(prefix="/api", tags=["warnings"])

COUNTS = ("blue", "yellow", "orange", "red", "villages_warned", "villages_to_move",
          "people_to_move", "candidates", "field_reports", "villages_targeted",
          "villages_reached", "villages_acknowledged")  # fmt: skip


class Levels(BaseModel):
    """Active warnings (issued, in force now) by colour; a warning over villages of several
    counties counts once in each of them."""

    blue: int = Field(description="蓝色 (四级)")
    yellow: int = Field(description="黄色 (三级)")
    orange: int = Field(description="橙色 (二级)")
    red: int = Field(description="红色 (一级)")


class Delivery(BaseModel):
    """Delivery coverage of the active warnings' newest announced version, per village."""

    villages_targeted: int = Field(description="villages sent a loudspeaker or SMS message")
    villages_reached: int = Field(description="a loudspeaker took or played it, or an SMS went")
    villages_acknowledged: int = Field(description="a loudspeaker confirmed playing it")


class CountyTotals(BaseModel):
    code: str | None = Field(description="GB/T 2260 county code; null on the total row")
    name: str = Field(description="county name, or 合计 Total")
    warnings: Levels
    villages_warned: int = Field(description="villages under an active warning")
    villages_to_move: int = Field(
        description="villages under an active warning asking people to move (准备转移/立即转移)"
    )
    people_to_move: int = Field(
        description="their people as the evacuation plan counts them: the danger-zone"
        " population for floods, people threatened by hazard points for geohazards, else the"
        " population (geo/evacuation.py)"
    )
    candidates: int | None = Field(
        description="candidate warnings waiting for review; null unless the caller may review"
    )
    field_reports: int | None = Field(
        description="field reports observed in the last `hours` hours, not found false;"
        " null for the public"
    )
    delivery: Delivery | None = Field(description="null for the public")


class Summary(BaseModel):
    by: Literal["county"]
    area: str | None = Field(description="the caller's area (city or county code); null = all")
    hours: int = Field(description="window of the field-report counts (hours)")
    counties: list[CountyTotals] = Field(description="every loaded county of the area")
    total: CountyTotals = Field(description="the sum of the county rows")


def _row(r: dict, internal: bool) -> CountyTotals:
    delivery = None
    if internal:
        delivery = Delivery(**{k: r[k] for k in Delivery.model_fields})
    return CountyTotals(
        code=r["code"],
        name=r["name"],
        warnings=Levels(**{k: r[k] for k in Levels.model_fields}),
        villages_warned=r["villages_warned"],
        villages_to_move=r["villages_to_move"],
        people_to_move=r["people_to_move"],
        candidates=r["candidates"],
        field_reports=r["field_reports"],
        delivery=delivery,
    )


@router.get("/summary", response_model=Summary, summary="Totals per county (city wall map)")
def summary(
    conn: Connection,
    principal: OptionalPrincipal,
    by: Annotated[Literal["county"], Query(description="grouping: county")] = "county",
    hours: Annotated[int, Query(ge=1, le=24 * 31, description="field-report window")] = 24,
) -> Summary:
    """Per county of the caller's area (the public: every county, issued warnings only):
    active warnings by level, villages and people to move, candidates waiting for review,
    field reports and delivery coverage; ``total`` adds the county rows up."""
    internal = principal is not None
    params = {
        "area": scope(principal),
        "internal": internal,
        "reviewer": internal and principal.may("review"),
        "hours": hours,
        "hazards": list(PEOPLE_SOURCE),
        "sources": list(PEOPLE_SOURCE.values()),
    }
    rows = conn.execute(SQL("summary_by_county.sql"), params).fetchall()
    total: dict = {"code": None, "name": "合计 Total"}
    hidden = {"candidates"} if not params["reviewer"] else set()
    if not internal:
        hidden |= {"field_reports", *Delivery.model_fields}
    for k in COUNTS:
        total[k] = None if k in hidden else sum(r[k] for r in rows)
    return Summary(
        by=by,
        area=None if principal is None else principal.area,
        hours=hours,
        counties=[_row(r, internal) for r in rows],
        total=_row(total, internal),
    )
