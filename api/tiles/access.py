"""Who may read tiles, and the tile routes' parameters and errors as the OpenAPI document
shows them.

Map clients cannot easily send a bearer header for tile requests, so tile and TileJSON requests
also take the token as ``?token=`` (see ``api/routers/tiles.py``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Path, Query, Request

from riskmap.api.auth import Credentials, known, unauthorised
from riskmap.api.deps import Connection
from riskmap.api.openapi import answers
from riskmap.api.users import Principal

# z, x and y are read as text (a word is 400, not FastAPI's 422: serving.tile_xyz) but are
# whole numbers, as the OpenAPI document says
Z = Annotated[str, Path(description="zoom, 0–24", json_schema_extra={"type": "integer"})]
X = Annotated[str, Path(description="column, 0 … 2^z − 1", json_schema_extra={"type": "integer"})]
Y = Annotated[str, Path(description="row, 0 … 2^z − 1", json_schema_extra={"type": "integer"})]
TILE_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "z, x or y is not a whole number"},
    404: {"description": "no such layer or rain grid, or a tile outside the grid (x or y ≥ 2^z)"},
    503: {"description": "too many tile requests waiting; try again after `Retry-After`"},
}
TOKEN_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "the layer needs a token (header, or ?token=); a bad token"},
    403: {"description": "the token's role may not read map layers"},
}


def _token_param(
    token: Annotated[
        str | None, Query(description="API token, for map clients that cannot send a header")
    ] = None,
) -> str | None:
    return token


Token = Annotated[str | None, Depends(_token_param)]


@answers(401, token="optional")
def _principal(request: Request, conn: Connection, creds: Credentials, token: Token):
    """The caller from the bearer header or ``?token=`` (tile requests only), else None."""
    raw = creds.credentials if creds is not None else token
    return None if raw is None else known(request, raw, conn)


TilePrincipal = Annotated[Principal | None, Depends(_principal)]


def admit(public: bool, principal: Principal | None) -> None:
    """Nothing for a public layer; else 401 without a caller, 403 for a role that may not read."""
    if public:
        return
    if principal is None:
        raise unauthorised("this layer needs a token (Authorization: Bearer, or ?token=)")
    if not principal.may("read"):
        raise HTTPException(403, f"role {principal.role!r} may not read map layers")


@answers(401, 403, token="required")
def _reader(principal: TilePrincipal) -> Principal:
    """The caller of a layer that needs a token (header or ``?token=``)."""
    admit(False, principal)
    assert principal is not None
    return principal


TileReader = Annotated[Principal, Depends(_reader)]
