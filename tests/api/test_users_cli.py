"""`riskmap users …` run for real against a database of its own."""

from __future__ import annotations

import psycopg

from riskmap.api.users import authenticate
from tests.api.test_cli_and_service import clean_env, run


def test_users_add_token_list_revoke(fresh_db: str) -> None:
    env = clean_env(RISKMAP_DATABASE_URL=fresh_db)
    add = run("users", "add", "li.na", "--role", "forecaster", "--display-name", "李娜", env=env)
    assert add.returncode == 0, add.stderr
    made = run("users", "token", "li.na", "--label", "laptop", env=env)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("rm_") and len(token) == 46
    with psycopg.connect(fresh_db) as conn:
        who = authenticate(conn, token)
        assert who is not None and (who.name, who.role) == ("li.na", "forecaster")
    listed = run("users", "list", env=env)
    assert "li.na" in listed.stdout and "forecaster" in listed.stdout
    assert run("users", "revoke", "li.na", env=env).returncode == 0
    with psycopg.connect(fresh_db) as conn:
        assert authenticate(conn, token) is None


def test_bad_role_and_unknown_user_fail_clearly(fresh_db: str) -> None:
    env = clean_env(RISKMAP_DATABASE_URL=fresh_db)
    bad = run("users", "add", "x.y", "--role", "boss", env=env)
    assert bad.returncode == 1 and "role must be one of" in bad.stderr
    nobody = run("users", "token", "nobody", env=env)
    assert nobody.returncode == 1 and "no active user named 'nobody'" in nobody.stderr
