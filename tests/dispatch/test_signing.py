"""The HMAC scheme between riskmap and terminals, and the per-terminal keys behind it.

Reference signatures come from OpenSSL (a fixed vector computed once with ``openssl dgst`` and
a fresh one computed in the test), not from Python's hmac module that signing.py uses.
"""

from __future__ import annotations

import base64
import json
import secrets
import subprocess

import psycopg
import pytest
from cryptography.fernet import Fernet

from riskmap.api.dispatch import keys, signing

TS = 1796540400
BODY = '{"broadcast_id":1,"text":"山洪警报"}'.encode()
# printf '%s' '1796540400.{"broadcast_id":1,"text":"山洪警报"}' \
#   | openssl dgst -sha256 -hmac 'riskmap-test-secret'
OPENSSL_VECTOR = "cfd3b743d9c6e5fd35c071d0fd7631aeb6ac345b5236ae57bfc55757dfd33543"
KID = "BT431226000001:v1"


def openssl_hmac(secret: bytes, data: bytes) -> str:
    out = subprocess.run(
        ["openssl", "dgst", "-sha256", "-mac", "HMAC", "-macopt", f"hexkey:{secret.hex()}"],
        input=data,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return out.strip().rsplit("= ", 1)[1]


def held(*secrets_: bytes):
    return lambda kid: list(secrets_) if kid == KID else []


def test_signature_matches_openssl() -> None:
    assert signing.signature(b"riskmap-test-secret", TS, BODY) == "sha256=" + OPENSSL_VECTOR
    secret = secrets.token_bytes(32)
    expected = openssl_hmac(secret, str(TS).encode() + b"." + BODY)
    assert signing.signature(secret, TS, BODY) == "sha256=" + expected


def test_signed_headers_verify_and_name_the_key() -> None:
    secret = secrets.token_bytes(32)
    headers = signing.signed_headers(KID, secret, BODY, now=TS)
    assert headers == {
        "X-Riskmap-Key-Id": KID,
        "X-Riskmap-Timestamp": str(TS),
        "X-Riskmap-Signature": "sha256=" + openssl_hmac(secret, f"{TS}.".encode() + BODY),
    }
    lower = {k.lower(): v for k, v in headers.items()}  # header names are case-insensitive
    assert signing.verify(lower, BODY, held(secret), now=TS + 10) == KID


def test_a_forged_signature_is_refused() -> None:
    mine, forger = secrets.token_bytes(32), secrets.token_bytes(32)
    headers = signing.signed_headers(KID, forger, BODY, now=TS)
    with pytest.raises(signing.SignatureError, match="bad signature"):
        signing.verify(headers, BODY, held(mine), now=TS)
    # the control: the same headers pass if the forger's secret were held
    assert signing.verify(headers, BODY, held(forger), now=TS) == KID


def test_an_altered_body_or_timestamp_is_refused() -> None:
    secret = secrets.token_bytes(32)
    headers = signing.signed_headers(KID, secret, BODY, now=TS)
    altered = BODY.replace("山洪".encode(), "演练".encode())
    with pytest.raises(signing.SignatureError, match="bad signature"):
        signing.verify(headers, altered, held(secret), now=TS)
    moved = headers | {"X-Riskmap-Timestamp": str(TS + 60)}
    with pytest.raises(signing.SignatureError, match="bad signature"):
        signing.verify(moved, BODY, held(secret), now=TS + 60)
    assert signing.verify(headers, BODY, held(secret), now=TS) == KID  # unaltered passes


def test_replays_outside_five_minutes_are_refused() -> None:
    secret = secrets.token_bytes(32)
    headers = signing.signed_headers(KID, secret, BODY, now=TS)
    assert signing.verify(headers, BODY, held(secret), now=TS + 300) == KID
    assert signing.verify(headers, BODY, held(secret), now=TS - 300) == KID  # clock skew
    for at in (TS + 301, TS - 301, TS + 86400):
        with pytest.raises(signing.SignatureError, match="timestamp"):
            signing.verify(headers, BODY, held(secret), now=at)
    # the control: only the window refuses it
    assert signing.verify(headers, BODY, held(secret), now=TS + 86400, window_s=1e9) == KID


def test_unsigned_and_malformed_headers_are_refused() -> None:
    secret = secrets.token_bytes(32)
    headers = signing.signed_headers(KID, secret, BODY, now=TS)
    for drop in headers:
        with pytest.raises(signing.SignatureError, match="unsigned"):
            signing.verify({k: v for k, v in headers.items() if k != drop}, BODY, held(secret))
    with pytest.raises(signing.SignatureError, match="Unix seconds"):
        signing.verify(headers | {"X-Riskmap-Timestamp": "yesterday"}, BODY, held(secret))


def test_an_unknown_key_is_refused() -> None:
    secret = secrets.token_bytes(32)
    headers = signing.signed_headers("BT431226999999:v1", secret, BODY, now=TS)
    with pytest.raises(signing.SignatureError, match="unknown, retired or altered"):
        signing.verify(headers, BODY, held(secret), now=TS)


def test_mqtt_envelope_round_trip_and_tampering() -> None:
    secret = secrets.token_bytes(32)
    env = signing.envelope(KID, secret, BODY, now=TS)
    assert signing.open_envelope(env, held(secret), now=TS) == (KID, BODY)
    doc = json.loads(env)
    doc["body"] = doc["body"].replace("山洪", "演练")
    with pytest.raises(signing.SignatureError, match="bad signature"):
        signing.open_envelope(json.dumps(doc).encode(), held(secret), now=TS)
    with pytest.raises(signing.SignatureError, match="not a signed envelope"):
        signing.open_envelope(b"[1, 2]", held(secret), now=TS)


# -- per-terminal keys in the database ------------------------------------------------------


@pytest.fixture
def terminals(conn: psycopg.Connection, mayang) -> list[str]:
    rows = conn.execute("SELECT id FROM broadcast_terminal ORDER BY id LIMIT 3").fetchall()
    assert len(rows) == 3
    return [r[0] for r in rows]


def test_every_terminal_gets_one_key_and_secrets_are_stored_encrypted(
    conn: psycopg.Connection, terminals: list[str]
) -> None:
    fernet = Fernet(Fernet.generate_key())
    total = conn.execute("SELECT count(*) FROM broadcast_terminal").fetchone()[0]
    assert keys.ensure_keys(conn, fernet) == total
    assert keys.ensure_keys(conn, fernet) == 0  # idempotent
    exported = keys.export(conn, fernet)
    assert len(exported) == total
    tid = terminals[0]
    secret = base64.b64decode(exported[f"{tid}:v1"])
    assert len(secret) == 32
    stored = conn.execute(
        "SELECT secret FROM terminal_key WHERE terminal_id = %s", (tid,)
    ).fetchone()[0]
    assert secret not in bytes(stored)  # a dump alone does not reveal it
    assert keys.secrets_for(conn, fernet, f"{tid}:v1") == [secret]
    with pytest.raises(keys.InstallationKeyError):
        keys.secrets_for(conn, Fernet(Fernet.generate_key()), f"{tid}:v1")


def test_rotation_keeps_both_keys_until_the_old_one_is_retired(
    conn: psycopg.Connection, terminals: list[str]
) -> None:
    fernet = Fernet(Fernet.generate_key())
    keys.ensure_keys(conn, fernet)
    tid, other = terminals[0], terminals[1]

    def lookup(kid: str) -> list[bytes]:
        return keys.secrets_for(conn, fernet, kid)

    old = base64.b64decode(keys.export(conn, fernet)[f"{tid}:v1"])
    new_kid, new = keys.rotate(conn, fernet, tid)
    assert new_kid == f"{tid}:v2" and new != old
    signed_old = signing.signed_headers(f"{tid}:v1", old, BODY)
    signed_new = signing.signed_headers(new_kid, new, BODY)
    assert signing.verify(signed_old, BODY, lookup) == f"{tid}:v1"
    assert signing.verify(signed_new, BODY, lookup) == new_kid
    assert {f"{tid}:v1", f"{tid}:v2"} <= set(keys.export(conn, fernet))

    assert keys.retire_old(conn, tid) == 1
    with pytest.raises(signing.SignatureError, match="bad signature"):
        signing.verify(signed_old, BODY, lookup)
    assert signing.verify(signed_new, BODY, lookup) == new_kid
    exported = keys.export(conn, fernet)
    assert f"{tid}:v1" not in exported and f"{tid}:v2" in exported
    assert f"{other}:v1" in exported  # other terminals untouched
    # another terminal's key cannot stand in: its id names its own secret only
    forged = signing.signed_headers(f"{other}:v1", new, BODY)
    with pytest.raises(signing.SignatureError):
        signing.verify(forged, BODY, lookup)


def test_key_ids_that_name_nothing(conn: psycopg.Connection, terminals: list[str]) -> None:
    fernet = Fernet(Fernet.generate_key())
    keys.ensure_keys(conn, fernet)
    assert keys.secrets_for(conn, fernet, "no-version") == []
    assert keys.secrets_for(conn, fernet, f"{terminals[0]}:v99") == []
    assert keys.secrets_for(conn, fernet, "BT000000000000:v1") == []
    with pytest.raises(LookupError):
        keys.rotate(conn, fernet, "BT000000000000")
