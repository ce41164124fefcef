"""`riskmap users …` run for real against a database of its own (at a terminal, too)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time

import psycopg
from argon2 import PasswordHasher
from psycopg.rows import dict_row

from riskmap.api.passwords import check_password
from riskmap.api.users import authenticate
from tests.api.test_cli_and_service import RISKMAP, clean_env, run


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


def passwd_stdin(name: str, line: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [RISKMAP, "users", "passwd", name, "--password-stdin"],
        input=line,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def stored_hash(db_url: str, name: str) -> str | None:
    with psycopg.connect(db_url) as conn:
        row = conn.execute("SELECT password_hash FROM app_user WHERE name = %s", [name]).fetchone()
    return row[0]


def test_users_passwd_from_stdin(fresh_db: str) -> None:
    env = clean_env(RISKMAP_DATABASE_URL=fresh_db)
    assert run("users", "add", "wang.fang", "--role", "viewer", env=env).returncode == 0
    made = run("users", "token", "wang.fang", env=env).stdout.strip()
    done = passwd_stdin("wang.fang", "jinjiang-flood-2026\n", env)
    assert done.returncode == 0, done.stderr
    assert "password set for wang.fang" in done.stdout
    stored = stored_hash(fresh_db, "wang.fang")
    assert stored is not None and stored.startswith("$argon2id$")
    assert "jinjiang-flood-2026" not in stored
    assert PasswordHasher().verify(stored, "jinjiang-flood-2026")  # only the line, no newline
    with psycopg.connect(fresh_db, row_factory=dict_row) as conn:
        who = check_password(conn, "wang.fang", "jinjiang-flood-2026")
        assert who is not None and (who.name, who.role) == ("wang.fang", "viewer")
        assert check_password(conn, "wang.fang", "jinjiang-flood-2025") is None
        assert authenticate(conn, made) is not None  # setting a password keeps the tokens
    again = passwd_stdin("wang.fang", "a-new-password-1\n", env)
    assert again.returncode == 0 and stored_hash(fresh_db, "wang.fang") != stored


def test_users_passwd_refuses_short_passwords_and_unknown_users(fresh_db: str) -> None:
    env = clean_env(RISKMAP_DATABASE_URL=fresh_db)
    assert run("users", "add", "zhao.lei", "--role", "viewer", env=env).returncode == 0
    short = passwd_stdin("zhao.lei", "123456789\n", env)  # nine characters
    assert short.returncode == 1
    assert "密码至少需要 10 个字符 The password needs at least 10 characters" in short.stderr
    assert stored_hash(fresh_db, "zhao.lei") is None
    nobody = passwd_stdin("nobody", "long-enough-password\n", env)
    assert nobody.returncode == 1 and "no user named 'nobody'" in nobody.stderr


def test_users_passwd_asks_twice_without_echo(fresh_db: str) -> None:
    """At a terminal: a too-short password and a mistyped repeat are asked again, and what is
    typed never appears on the screen."""
    env = clean_env(RISKMAP_DATABASE_URL=fresh_db)
    assert run("users", "add", "sun.li", "--role", "forecaster", env=env).returncode == 0
    typed = ["short", "first-try-123", "first-try-124", "lanxi-bridge-5", "lanxi-bridge-5"]
    code, screen = in_terminal(["users", "passwd", "sun.li"], env, typed)
    assert code == 0, screen
    assert screen.count("New password:") == 3 and screen.count("Repeat the password:") == 2
    assert "密码至少需要 10 个字符" in screen and "两次输入不一致" in screen
    assert not any(t in screen for t in typed)
    assert PasswordHasher().verify(stored_hash(fresh_db, "sun.li"), "lanxi-bridge-5")


def in_terminal(args: list[str], env: dict[str, str], typed: list[str]) -> tuple[int, str]:
    """Run ``riskmap ARGS`` with a pseudo-terminal as its controlling terminal (``setsid -c``),
    typing the next of ``typed`` at each password prompt; the exit code and the screen."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        ["setsid", "-w", "-c", RISKMAP, *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
    )
    os.close(follower)
    screen, left = b"", list(typed)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1)
        if ready:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            screen += chunk
            prompts = screen.count(b"password: ")
            while left and prompts > len(typed) - len(left):
                os.write(leader, left.pop(0).encode() + b"\n")
        elif proc.poll() is not None:
            break
    os.close(leader)
    return proc.wait(timeout=30), screen.decode("utf-8", "replace")
