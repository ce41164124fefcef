"""Bearer-token authentication, role checks and write rate limits as FastAPI dependencies.

401 means "who are you?" (no token, unknown, revoked or expired) and carries
``WWW-Authenticate: Bearer``; 403 means "you may not" (valid token, wrong role); 429 means
"slow down" on write actions, with ``Retry-After``. Limits are counted per user per worker
process by the ``limits`` library (moving window).
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from riskmap.api.deps import Connection
from riskmap.api.users import PERMISSIONS, Principal, authenticate

_bearer = HTTPBearer(auto_error=False, description="Token from `riskmap users token NAME`")
_limiter = MovingWindowRateLimiter(MemoryStorage())

Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def unauthorised(detail: str) -> HTTPException:
    """401 with the Bearer challenge: the caller is unknown (no, bad or revoked token)."""
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


def optional_principal(request: Request, conn: Connection, creds: Credentials) -> Principal | None:
    """The caller if a token was sent (a bad token is still an error), else None."""
    if creds is None:
        return None
    principal = authenticate(conn, creds.credentials)
    if principal is None:
        raise unauthorised("token unknown, revoked or expired")
    request.state.user = principal.name
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


def require(permission: str, *, write: bool = False):
    """A dependency that admits callers whose role grants ``permission``.

    ``write=True`` also applies the per-user write rate limit (settings ``write_rate_limit``).
    """
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    def dependency(request: Request, principal: OptionalPrincipal) -> Principal:
        if principal is None:
            raise unauthorised("this needs a bearer token")
        if not principal.may(permission):
            raise HTTPException(
                403, f"role {principal.role!r} may not {permission}; ask an administrator"
            )
        if write:
            limit = parse(request.app.state.settings.write_rate_limit)
            if not _limiter.hit(limit, "write", principal.name):
                reset, _ = _limiter.get_window_stats(limit, "write", principal.name)
                wait = max(1, int(reset - time.time()))
                detail = f"too many write actions ({limit}); try again later"
                raise HTTPException(429, detail, headers={"Retry-After": str(wait)})
        return principal

    return dependency


Reader = Annotated[Principal, Depends(require("read"))]
