"""HMAC-SHA256 signatures between riskmap and village broadcast terminals, both ways.

A signed request carries three headers::

    X-Riskmap-Key-Id: BT431226001:v2          (terminal id and key version)
    X-Riskmap-Timestamp: 1796540400           (Unix seconds when it was signed)
    X-Riskmap-Signature: sha256=<hex of HMAC-SHA256(secret, timestamp + "." + body)>

Receivers refuse a signature that does not match, an unknown or retired key, and a timestamp
more than five minutes away from their clock (replays); together with the idempotency key in
the body this makes a captured message useless. MQTT has no headers in v3.1.1, so a message on
a topic is an envelope holding the same three values and the body as a string.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterable, Mapping

KEY_ID = "X-Riskmap-Key-Id"
TIMESTAMP = "X-Riskmap-Timestamp"
SIGNATURE = "X-Riskmap-Signature"
REPLAY_WINDOW_S = 300

# key id → the secrets that may have signed it (several while a rotation is under way)
Lookup = Callable[[str], Iterable[bytes]]


class SignatureError(ValueError):
    """Why a signed message was refused (said to the sender, never the secret)."""


def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(key_id: str, secret: bytes, body: bytes, *, now: float | None = None) -> dict:
    ts = int(time.time() if now is None else now)
    return {KEY_ID: key_id, TIMESTAMP: str(ts), SIGNATURE: signature(secret, ts, body)}


def verify(
    headers: Mapping[str, str],
    body: bytes,
    lookup: Lookup,
    *,
    now: float | None = None,
    window_s: float = REPLAY_WINDOW_S,
    names: tuple[str | None, str, str] = (KEY_ID, TIMESTAMP, SIGNATURE),
) -> str:
    """The key id that signed ``body``; :class:`SignatureError` when it must be refused.

    ``names``: the key-id, timestamp and signature headers (another party's, e.g. the SMS
    gateway's; a key-id header of None means one key and the id "")."""
    kid_name, ts_name, sig_name = names
    low = {k.lower(): v for k, v in headers.items()}
    key_id = low.get(kid_name.lower()) if kid_name else ""
    stamp = low.get(ts_name.lower())
    given = low.get(sig_name.lower())
    if key_id is None or not stamp or not given:
        wanted = ", ".join(n for n in names if n)
        raise SignatureError(f"unsigned: {wanted} are required")
    at = time.time() if now is None else now
    try:
        ts = int(stamp)
        skew = abs(at - ts)  # OverflowError for an integer no float holds (1 and 400 zeros)
    except (ValueError, OverflowError):
        raise SignatureError(f"{ts_name} is not Unix seconds: {stamp[:40]!r}") from None
    if skew > window_s:
        raise SignatureError(
            f"timestamp {ts} is {skew:.0f} s from now; at most {window_s:.0f} s allowed"
        )
    for secret in lookup(key_id):
        if hmac.compare_digest(signature(secret, ts, body), given):
            return key_id
    who = f"key {key_id[:80]!r}" if key_id else "the key"
    raise SignatureError(f"bad signature for {who} (unknown, retired or altered)")


def envelope(key_id: str, secret: bytes, body: bytes, *, now: float | None = None) -> bytes:
    """An MQTT message: the signature headers and the body (as text) in one JSON object."""
    h = signed_headers(key_id, secret, body, now=now)
    return json.dumps(
        {
            "key_id": h[KEY_ID],
            "timestamp": int(h[TIMESTAMP]),
            "signature": h[SIGNATURE],
            "body": body.decode(),
        },
        ensure_ascii=False,
    ).encode()


def open_envelope(
    data: bytes, lookup: Lookup, *, now: float | None = None, window_s: float = REPLAY_WINDOW_S
) -> tuple[str, bytes]:
    """(key id, body) of a verified MQTT envelope; :class:`SignatureError` otherwise."""
    try:
        env = json.loads(data)
        headers = {
            KEY_ID: str(env["key_id"]),
            TIMESTAMP: str(env["timestamp"]),
            SIGNATURE: str(env["signature"]),
        }
        body = str(env["body"]).encode()
    except (ValueError, KeyError, TypeError) as exc:
        raise SignatureError(f"not a signed envelope: {exc}") from None
    return verify(headers, body, lookup, now=now, window_s=window_s), body
