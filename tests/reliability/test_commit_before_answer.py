"""A write is committed before its answer leaves: a client told 2xx may rely on the row.

FastAPI runs the exit code of a request-scoped dependency with ``yield`` *after* the response
has been sent, so a connection dependency that commits there answers 200 first and commits
later: a commit that fails (a deferred constraint, the database going away) leaves a client
holding an acknowledgement of nothing — here a session token that does not exist — and a client
that reads right after its 200 may not see its own write yet. The dependency is function-scoped
(api/deps.py) so the commit comes first. A deferred constraint trigger, added here to this
test's own database, refuses every new token at commit time: signing in must then fail
visibly, never answer 200 with a token that is not stored.
"""

from __future__ import annotations

import httpx
import psycopg

from riskmap.api.passwords import set_password
from riskmap.api.users import add_user
from riskmap.geo.settings import Settings
from tests.api.conftest import start_server
from tests.reliability.conftest import new_database

PASSWORD = "commit-first-2026"

REFUSE_AT_COMMIT = """
CREATE FUNCTION test_refuse_token() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'test: tokens refused at commit' USING ERRCODE = 'check_violation';
END $$;
CREATE CONSTRAINT TRIGGER test_refuse_token AFTER INSERT ON api_token
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_refuse_token();
"""


def test_a_write_whose_commit_fails_is_not_answered_200(pg_cluster, tmp_path) -> None:
    url = new_database(pg_cluster, "t_commit")
    with psycopg.connect(url) as conn:
        add_user(conn, "commit-user", "viewer", display_name="提交测试")
        set_password(conn, "commit-user", PASSWORD)
        conn.commit()
    base, server, thread = start_server(Settings(data_dir=tmp_path), url)
    try:
        ok = httpx.post(
            f"{base}/api/session", json={"name": "commit-user", "password": PASSWORD}, timeout=30
        )
        assert ok.status_code == 200, ok.text  # signing in works: the token is stored
        token = ok.json()["token"]
        assert httpx.get(f"{base}/api/me", headers={"Authorization": f"Bearer {token}"}).is_success
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(REFUSE_AT_COMMIT)
            (before,) = conn.execute("SELECT count(*) FROM api_token").fetchone()
        refused = httpx.post(
            f"{base}/api/session", json={"name": "commit-user", "password": PASSWORD}, timeout=30
        )
        with psycopg.connect(url) as conn:
            (after,) = conn.execute("SELECT count(*) FROM api_token").fetchone()
        assert after == before  # the commit failed: nothing stored
        assert refused.status_code >= 500, (refused.status_code, refused.text)
        assert "token" not in refused.text
    finally:
        server.should_exit = True
        thread.join(timeout=30)
