"""Secrets and tokens never reach the logs of a real `riskmap serve`.

The service runs as operators run it, a subprocess at the debug log level, over a copy of the
storm database reached through a URL that carries a password, with the installation key and the
SMS gateway key in its environment. It is then used and misused: signing in (right and wrong
passwords, a password of the wrong length), bearer tokens in the header and in ``?token=``
(as map clients send them), a revoked token, forged tokens, Basic credentials, a 422, a signed
terminal acknowledgement and a signed gateway receipt. After a graceful stop, its stdout,
stderr and every log file under its data folder hold none of the secrets, while they do hold
the access lines of those requests (the logging was on).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import subprocess
import time
from datetime import UTC, datetime

import httpx
import psycopg
import pytest
from cryptography.fernet import Fernet

from riskmap.api.dispatch import keys, signing
from riskmap.api.passwords import set_password
from riskmap.api.users import add_user, new_token, revoke_tokens
from riskmap.geo.db.cluster import EmbeddedCluster
from tests.api.test_cli_and_service import RISKMAP, ROOT, clean_env, free_port
from tests.conftest import clone_database, drop_database
from tests.dispatch import delivery_setup as ds

PASSWORD = "Correct-Horse-7731-Battery"
WRONG = "Correct-Horse-7731-Batterz"
DB_PASSWORD = "db-Pa55word-q8Zt1"
GATEWAY_KEY = "gateway-key-5bR2xW9"


@pytest.fixture(scope="module")
def served(pg_cluster: EmbeddedCluster, storm_url: str, tmp_path_factory) -> dict:
    url = clone_database(pg_cluster, storm_url, prefix="t_logs")
    fernet_key = Fernet.generate_key().decode()
    with psycopg.connect(url) as conn:
        add_user(conn, "log-forecaster", "forecaster")
        api_token = new_token(conn, "log-forecaster", label="tests")
        add_user(conn, "log-viewer", "viewer")
        revoked = new_token(conn, "log-viewer", label="to revoke")
        conn.commit()
        set_password(conn, "log-forecaster", PASSWORD)
        fernet = Fernet(fernet_key.encode())
        keys.ensure_keys(conn, fernet)
        secrets = keys.export(conn, fernet)
    wid = ds.publish(url, ds.villages(url)[:1], rule="attack-logs")
    with psycopg.connect(url) as conn:
        bid, terminal, idem = conn.execute(
            "SELECT id, target, idempotency_key FROM outbox"
            " WHERE warning_id = %s AND channel = 'broadcast'",
            [wid],
        ).fetchone()
    parts = psycopg.conninfo.conninfo_to_dict(url)
    secret_url = (
        f"postgresql://{parts['user']}:{DB_PASSWORD}@/{parts['dbname']}"
        f"?host={parts['host']}&port={parts['port']}"
    )
    data = tmp_path_factory.mktemp("logs-data")
    env = clean_env(
        RISKMAP_DATABASE_URL=secret_url,
        RISKMAP_DATA_DIR=str(data),
        RISKMAP_SECRET_KEY=fernet_key,
        RISKMAP_SMS_GATEWAY_KEY=GATEWAY_KEY,
        RISKMAP_LOG_LEVEL="debug",
        RISKMAP_LOGIN_RATE_LIMIT="1000/minute",
        RISKMAP_WRITE_RATE_LIMIT="1000/minute",
    )
    port = free_port()
    out, err = data / "stdout.txt", data / "stderr.txt"
    with out.open("wb") as o, err.open("wb") as e:
        proc = subprocess.Popen(
            [RISKMAP, "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=o,
            stderr=e,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code in (200, 503):
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail(f"server did not start: {err.read_text()[-2000:]}")
            time.sleep(0.2)

        def revoke() -> None:
            with psycopg.connect(url) as conn:
                assert revoke_tokens(conn, "log-viewer") == 1

        found = _use_and_misuse(base, api_token, (revoked, revoke), (bid, terminal, idem), secrets)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        drop_database(pg_cluster, url)
    written = [p for p in data.rglob("*") if p.is_file()]
    logs = {
        str(p.relative_to(data)): p.read_text(errors="replace")
        for p in written
        if p.suffix in (".log", ".txt") or "log" in p.name
    }
    secret_values = {
        "sign-in password": PASSWORD,
        "a mistyped password": WRONG,
        "database password": DB_PASSWORD,
        "installation key": fernet_key,
        "SMS gateway key": GATEWAY_KEY,
        "API token": api_token,
        "API token's random part": api_token.removeprefix("rm_"),
        "revoked token": revoked,
        "terminal secrets": next(iter(secrets.values())),
        **found,
    }
    return {"logs": logs, "secrets": secret_values}


def _refused_soon(c: httpx.Client, headers: dict) -> None:
    """A revoked token is refused once the revocation's notification empties the worker's token
    cache (api/auth.py: milliseconds after the commit)."""
    deadline = time.monotonic() + 10
    while c.get("/api/me", headers=headers).status_code != 401:
        assert time.monotonic() < deadline, "revoked token still accepted"
        time.sleep(0.05)


def _use_and_misuse(base: str, api_token: str, revocable, broadcast, secrets) -> dict:
    """Requests of every kind; returns the secrets they made (the session token)."""
    bid, terminal, idem = broadcast
    revoked, revoke = revocable
    with httpx.Client(base_url=base, timeout=60) as c:
        signed_in = c.post("/api/session", json={"name": "log-forecaster", "password": PASSWORD})
        assert signed_in.status_code == 200, signed_in.text
        session = signed_in.json()["token"]
        bearer = {"Authorization": f"Bearer {session}"}
        assert c.get("/api/me", headers=bearer).status_code == 200
        assert c.get("/tiles/villages.json", params={"token": session}).status_code == 200
        assert c.get("/tiles/villages/10/830/426.mvt", params={"token": api_token}).status_code in (
            200,
            204,
        )
        assert c.get("/api/me", headers={"Authorization": f"Bearer {api_token}"}).status_code == 200
        wrong = c.post("/api/session", json={"name": "log-forecaster", "password": WRONG})
        assert wrong.status_code == 401
        long = c.post("/api/session", json={"name": "log-forecaster", "password": PASSWORD * 60})
        assert long.status_code == 422
        extra = c.post("/api/session", json={"name": "x", "password": PASSWORD, "totp": WRONG})
        assert extra.status_code == 422
        basic = base64.b64encode(f"log-forecaster:{PASSWORD}".encode()).decode()
        assert c.get("/api/me", headers={"Authorization": f"Basic {basic}"}).status_code == 401
        forged = {"Authorization": "Bearer rm_" + "Z" * 43}
        assert c.get("/api/me", headers=forged).status_code == 401
        assert c.get("/tiles/villages.json", params={"token": WRONG}).status_code == 401
        # signed out, the session token is refused; a revoked API token too
        assert c.delete("/api/session", headers=bearer).status_code == 204
        _refused_soon(c, bearer)
        viewer = {"Authorization": f"Bearer {revoked}"}
        assert c.get("/api/me", headers=viewer).status_code == 200
        revoke()
        _refused_soon(c, viewer)
        assert c.get("/tiles/villages.json", params={"token": revoked}).status_code == 401
        # a 422 whose input holds the token
        token = {"Authorization": f"Bearer {api_token}"}
        r = c.get("/api/warnings", params={"limit": session}, headers=token)
        assert r.status_code == 422
        # a terminal's signed acknowledgement and the gateway's signed receipt
        kid = f"{terminal}:v1"
        body = json.dumps(
            {
                "broadcast_id": bid,
                "idempotency_key": idem,
                "terminal_id": terminal,
                "result": "played",
                "played_at": datetime.now(UTC).isoformat(),
            }
        ).encode()
        head = signing.signed_headers(kid, base64.b64decode(secrets[kid]), body)
        ack = c.post(f"/api/broadcasts/{bid}/ack", content=body, headers=head)
        assert ack.status_code == 200, ack.text
        now = datetime.now(UTC).isoformat()
        doc = {"message_id": "m", "ref": "k#1/1", "status": "DELIVRD", "done_at": now}
        receipt = json.dumps(doc).encode()
        stamp = int(time.time())
        mac = hmac.new(GATEWAY_KEY.encode(), f"{stamp}.".encode() + receipt, hashlib.sha256)
        r = c.post(
            "/api/sms/receipts",
            content=receipt,
            headers={
                "X-Gateway-Timestamp": str(stamp),
                "X-Gateway-Signature": f"sha256={mac.hexdigest()}",
            },
        )
        assert r.status_code == 404, r.text  # signed right; no such message
    return {"session token": session, "session token's random part": session.removeprefix("rm_")}


def test_no_secret_reaches_stdout_stderr_or_log_files(served: dict) -> None:
    logs, secrets = served["logs"], served["secrets"]
    leaks = [
        f"{what} in {name}"
        for what, value in secrets.items()
        for name, text in logs.items()
        if value and value in text
    ]
    assert not leaks, leaks


def test_the_logs_did_record_the_requests(served: dict) -> None:
    """The test above means something only if the service logged these requests."""
    text = "\n".join(served["logs"].values())
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    access = [x for x in lines if x.get("logger") == "riskmap.access"]
    paths = {x.get("path") for x in access}
    assert {"/api/session", "/api/me", "/tiles/villages.json", "/api/sms/receipts"} <= paths
    assert any(x.get("user") == "log-forecaster" for x in access)
    # the most verbose level was on: our own debug lines (each worker's start, naming its
    # database) were written, and they too carry no secret (the test above read them)
    ready = [x for x in lines if x.get("level") == "DEBUG" and x.get("logger") == "riskmap.api"]
    assert ready
    assert all("ready: database " in x["message"] for x in ready)
    assert not any(DB_PASSWORD in x["message"] for x in ready)
