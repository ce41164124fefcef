"""SMS delivery receipts: the gateway's word that a part reached the phone (or did not).

The gateway POSTs one receipt per part to ``/api/sms/receipts``, signed with HMAC-SHA256 of
the shared key (``verify``). ``record_receipt`` stores it in ``sms_receipt`` and, once every
part of the outbox row has a final receipt, settles the row: ``acked`` (all delivered) or
``failed`` (one undeliverable). Only a ``sent`` row is settled; a receipt that overtakes the
dispatcher's bookkeeping (it died after the gateway took the message) waits in the table, and
the dispatcher calls ``apply_receipts`` after marking rows sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import tuple_row

from riskmap.api.dispatch import signing
from riskmap.api.dispatch.signing import REPLAY_WINDOW_S
from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.errors import InvalidArgumentError, NotFoundError

SQL = SqlFiles("riskmap.api.dispatch.sql")
TIMESTAMP = "X-Gateway-Timestamp"
SIGNATURE = "X-Gateway-Signature"
# the gateway's final words (CMPP/SMPP stat values); anything else (ENROUTE, ACCEPTD) is interim
DELIVERED = {"DELIVRD": True}
UNDELIVERED = {"UNDELIV", "EXPIRED", "REJECTD", "DELETED", "UNKNOWN", "FAILED"}
REF = re.compile(r"^(?P<key>.+)#(?P<part>[1-9]\d{0,2})/(?P<parts>[1-9]\d{0,2})$")


def verify(
    headers: Mapping[str, str],
    body: bytes,
    key: str,
    *,
    now: float | None = None,
    window_s: float = REPLAY_WINDOW_S,
) -> None:
    """Raise :class:`SignatureError` unless ``body`` was signed with ``key`` within the window
    (``sha256=`` hex of HMAC-SHA256(key, timestamp + "." + body), the terminals' scheme with
    the gateway's header names); a replay after five minutes is refused like a forgery."""
    signing.verify(
        headers,
        body,
        lambda _kid: [key.encode()],
        now=now,
        window_s=window_s,
        names=(None, TIMESTAMP, SIGNATURE),
    )


def parse(receipt: Mapping[str, Any]) -> dict[str, Any]:
    """The fields ``record_receipt`` needs, checked; :class:`InvalidArgumentError` otherwise."""
    try:
        message_id, ref, status = (str(receipt[k]) for k in ("message_id", "ref", "status"))
        done_at = receipt["done_at"]
        if isinstance(done_at, str):
            done_at = datetime.fromisoformat(done_at)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidArgumentError(f"not a receipt: {exc!r}") from None
    m = REF.match(ref)
    if not message_id or not status or m is None:
        raise InvalidArgumentError("a receipt needs message_id, status and ref '<key>#<i>/<n>'")
    part, parts = int(m["part"]), int(m["parts"])
    if part > parts:
        raise InvalidArgumentError(f"part {part} of {parts}?")
    if not isinstance(done_at, datetime) or done_at.tzinfo is None:
        raise InvalidArgumentError("done_at must be a time with its UTC offset")
    status = status.upper()
    delivered = True if status in DELIVERED else False if status in UNDELIVERED else None
    return {
        "message_id": message_id[:200],
        "key": m["key"],
        "part": part,
        "parts": parts,
        "status": status[:40],
        "delivered": delivered,
        "done_at": done_at,
    }


def record_receipt(conn: psycopg.Connection, receipt: Mapping[str, Any]) -> dict[str, Any]:
    """Store one receipt and settle its outbox row when it was the last part; idempotent.

    Returns ``recorded`` (False for a repeat), ``outbox_id``, ``part``, ``parts`` and the row's
    ``outbox_status`` afterwards. Unknown references raise :class:`NotFoundError`. The caller
    commits.
    """
    r = parse(receipt)
    row = SQL.one(conn, "receipt_outbox.sql", {"key": r["key"]})
    if row is None:
        raise NotFoundError(f"no SMS message with reference {r['key'][:120]!r}")
    stored = SQL.one(conn, "receipt_insert.sql", {**r, "outbox_id": row["id"]})
    settled = apply_receipts(conn, [row["id"]])
    if settled and row["warning_id"] is not None:  # the wall map's delivery counts change
        conn.execute(SQL("coverage_event.sql"), {"warning_ids": [row["warning_id"]]})
    return {
        "recorded": stored is not None,
        "outbox_id": row["id"],
        "part": r["part"],
        "parts": r["parts"],
        "outbox_status": settled.get(row["id"], row["status"]),
    }


def apply_receipts(conn: psycopg.Connection, outbox_ids: Iterable[int]) -> dict[int, str]:
    """Settle the given rows that are ``sent`` and fully receipted; {outbox id: new status}.

    The dispatcher calls this after recording rows as sent, in the same transaction, so
    receipts that came first are not lost."""
    rows = SQL.rows(conn, "receipt_apply.sql", {"ids": list(outbox_ids)}, shape="tuple")
    return dict(rows)


async def apply_receipts_async(
    conn: psycopg.AsyncConnection, outbox_ids: Iterable[int]
) -> dict[int, str]:
    """``apply_receipts`` for the dispatcher's async connections."""
    async with conn.cursor(row_factory=tuple_row) as cur:
        await cur.execute(SQL("receipt_apply.sql"), {"ids": list(outbox_ids)})
        return dict(await cur.fetchall())
