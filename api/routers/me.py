"""Who the caller is: lets clients check a token and learn what its role allows."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from riskmap.api.auth import Reader
from riskmap.api.users import PERMISSIONS

router = APIRouter(prefix="/api", tags=["auth"])


class Me(BaseModel):
    name: str
    role: str
    display_name: str | None
    permissions: list[str]


@router.get("/me", response_model=Me, summary="The caller behind the bearer token")
def me(principal: Reader) -> Me:
    """Name, role and permissions of the token's user (401 without a valid token)."""
    allowed = sorted(p for p, roles in PERMISSIONS.items() if principal.role in roles)
    return Me(
        name=principal.name,
        role=principal.role,
        display_name=principal.display_name,
        permissions=allowed,
    )
