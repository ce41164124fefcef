"""Signing in and out of the web console: a name and password for a bearer token.

``POST /api/session`` answers an ordinary API token (label ``session``, expiring after the
``session_hours`` setting), so the console and scripts send the same ``Authorization: Bearer``
header. Every failure (unknown name, wrong password, inactive user, no password set) is the
same 401, and failures are counted per name and per client address (``login_rate_limit``) in
PostgreSQL (``api/ratelimit.py``), so instances behind a proxy share one allowance: beyond the
limit the answer is 429 with ``Retry-After``, whatever the password. Behind a reverse proxy the
client address is the proxy's ``X-Forwarded-For`` (uvicorn trusts it from ``forwarded_allow_ips``,
loopback by default; ``deploy/nginx.conf`` sets it).
``DELETE /api/session`` revokes the sign-in token it is called with.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, HTTPException, Request, Response
from limits import RateLimitItem
from pydantic import BaseModel, ConfigDict, Field

from riskmap.api import ratelimit
from riskmap.api.auth import Credentials, Reader, unauthorised
from riskmap.api.deps import Connection
from riskmap.api.passwords import MAX_LENGTH, check_password
from riskmap.api.users import SESSION_LABEL, new_token, permissions_of, revoke_session

router = APIRouter(prefix="/api", tags=["auth"])
BUCKET = "sign-in"

WRONG = "用户名或密码错误 Wrong name or password"
NOT_A_SESSION = (
    "这不是登录令牌，请用 `riskmap users revoke` 吊销 API 令牌"
    " This is not a sign-in token; revoke API tokens with `riskmap users revoke`"
)


class SignIn(BaseModel):
    """A user's name and sign-in password (set with `riskmap users passwd NAME`)."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=MAX_LENGTH)


class Session(BaseModel):
    """A bearer token for the signed-in user, with what its role allows."""

    token: str
    name: str
    role: str
    display_name: str | None
    permissions: list[str]
    expires_at: datetime


def _refuse_if_throttled(conn: Connection, limit: RateLimitItem, keys: list[str]) -> None:
    """429 when the name or the address has used up its failed sign-ins."""
    verdicts = [ratelimit.check(conn, BUCKET, key, limit, take=False) for key in keys]
    waits = [v.retry_after for v in verdicts if not v.allowed]
    if waits:
        detail = f"登录失败次数过多，请稍后再试 Too many failed sign-ins ({limit}); try again later"
        raise HTTPException(429, detail, headers={"Retry-After": str(max(waits))})


@router.post(
    "/session",
    response_model=Session,
    summary="Sign in with a name and password; answers a bearer token",
    responses={401: {"description": WRONG}, 429: {"description": "too many failed sign-ins"}},
)
def sign_in(body: SignIn, request: Request, conn: Connection) -> Session:
    """Check the password and make a token that expires after `session_hours`."""
    settings = request.app.state.settings
    limit = ratelimit.limit_of(settings.login_rate_limit)
    address = request.client.host if request.client else "unknown"
    keys = [f"name:{body.name}", f"address:{address}"]
    _refuse_if_throttled(conn, limit, keys)
    principal = check_password(conn, body.name, body.password)
    if principal is None:
        for key in keys:
            ratelimit.check(conn, BUCKET, key, limit)
        raise unauthorised(WRONG)
    request.state.user = principal.name
    expires_at = datetime.now(UTC) + timedelta(hours=settings.session_hours)
    token = new_token(conn, principal.name, label=SESSION_LABEL, expires_at=expires_at)
    return Session(
        token=token,
        name=principal.name,
        role=principal.role,
        display_name=principal.display_name,
        permissions=permissions_of(principal.role),
        expires_at=expires_at,
    )


@router.delete(
    "/session",
    status_code=204,
    summary="Sign out: revoke the sign-in token of this request",
    responses={409: {"description": "the bearer token is not a sign-in token"}},
)
def sign_out(principal: Reader, creds: Credentials, conn: Connection) -> Response:
    """Revoke the bearer token sent with this request when it came from `POST /api/session`.

    Other API tokens (`riskmap users token`) are left alone (409): signing out of the console
    must not cut off a script.
    """
    if creds is None or not revoke_session(conn, creds.credentials):
        raise HTTPException(409, NOT_A_SESSION)
    return Response(status_code=204)
