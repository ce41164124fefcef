"""Who the caller is: lets clients check a token and learn what its role allows and where."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from riskmap.api.areas import label
from riskmap.api.auth import Reader
from riskmap.api.deps import Connection
from riskmap.api.users import PERMISSIONS

router = APIRouter(prefix="/api", tags=["auth"])


class Me(BaseModel):
    name: str
    role: str
    display_name: str | None
    permissions: list[str]
    area: str | None = Field(
        description="GB/T 2260 code of the caller's area of responsibility: a city (430400,"
        " all its counties) or a county (431226); null = the whole installation"
    )
    area_name: str | None = Field(description="e.g. 衡阳市 (430400); null with no area")


@router.get("/me", response_model=Me, summary="The caller behind the bearer token")
def me(principal: Reader, conn: Connection) -> Me:
    """Name, role, permissions and area of the token's user (401 without a valid token)."""
    allowed = sorted(p for p, roles in PERMISSIONS.items() if principal.role in roles)
    return Me(
        name=principal.name,
        role=principal.role,
        display_name=principal.display_name,
        permissions=allowed,
        area=principal.area,
        area_name=label(conn, principal.area) if principal.area else None,
    )
