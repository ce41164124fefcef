"""Tokens and roles against the real server: 401 for who-are-you, 403 for you-may-not."""

from __future__ import annotations

import time

import psycopg
import pytest

from riskmap.api.users import PERMISSIONS, ROLES, add_user, new_token, revoke_tokens

REVOKED_WITHIN_S = 5.0  # far below the cache's own 60 s expiry: the notification did it


def test_no_token_is_401_with_challenge(service) -> None:
    with service.client() as c:
        r = c.get("/api/me")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"


def test_unknown_token_is_401(service) -> None:
    with service.client(headers={"Authorization": "Bearer rm_not-a-real-token"}) as c:
        assert c.get("/api/me").status_code == 401


@pytest.mark.parametrize("role", ROLES)
def test_each_role_sees_its_permissions(service, role: str) -> None:
    with service.client(role) as c:
        r = c.get("/api/me")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["role"] == role and body["name"] == f"test-{role}"
    assert set(body["permissions"]) == {p for p, rs in PERMISSIONS.items() if role in rs}


def test_tokens_are_stored_hashed_and_revocable(service) -> None:
    with psycopg.connect(service.db_url, autocommit=True) as conn:
        add_user(conn, "short-lived", "viewer")
        token = new_token(conn, "short-lived")
        stored = conn.execute("SELECT token_sha256 FROM api_token").fetchall()
        assert all(token.encode() not in bytes(s) for (s,) in stored)
        with service.client(headers={"Authorization": f"Bearer {token}"}) as c:
            assert c.get("/api/me").status_code == 200
            assert revoke_tokens(conn, "short-lived") == 1
            # the worker's token cache is emptied by the revocation's NOTIFY, which reaches
            # the listener thread a moment after the commit (longer on a busy machine)
            deadline = time.monotonic() + REVOKED_WITHIN_S
            while (code := c.get("/api/me").status_code) == 200 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert code == 401, f"revoked token still accepted after {REVOKED_WITHIN_S} s"
            assert c.get("/api/me").status_code == 401
