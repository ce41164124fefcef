"""``Idempotency-Key`` on the writes a client may have to send again (IETF draft
draft-ietf-httpapi-idempotency-key-header, as Stripe and others run it).

A field report sent from a phone on a weak 2G link, or an "issue" click whose answer was lost
when a server died, can be sent again with the same key: the first request's answer comes back
(``Idempotent-Replayed: true``) and nothing is written twice. The key's row is inserted in the
request's own transaction before anything is written, and the answer stored in that
transaction (migration 0043): the write and its kept answer are committed together or not at
all, so a request that failed leaves the key free for the retry. A concurrent request with the
same key waits on that row, then replays the answer. Keys are per user and kept 24 hours; the
same key with another request (method, path or content) is 422, as the draft asks.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Annotated, Any

import psycopg
from fastapi import Header, HTTPException, Request
from fastapi.responses import JSONResponse
from psycopg.types.json import Jsonb
from pydantic_core import to_jsonable_python

from riskmap.geo.db.sqlfiles import SqlFiles

SQL = SqlFiles("riskmap.api.sql")
KEEP_HOURS = 24
REPLAYED = "Idempotent-Replayed"

KeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=257,
        pattern=r'^(?:"[\x20\x21\x23-\x7e]{1,255}"|[\x21\x23-\x7e]{1,255})$',
        description="Send the same key again (same request) to get the first answer instead of"
        f" a second write; a string of 1–255 visible ASCII characters, quoted or not, unique per"
        f" user for {KEEP_HOURS} hours (e.g. a UUID). Reusing one for another request is 422.",
    ),
]


@dataclass
class Idempotency:
    """One request's key (None: the client sent none) and what identifies the request."""

    key: str | None
    method: str
    path: str
    principal: str = field(default="", init=False)

    def replay(self, conn: psycopg.Connection, principal: str, content: Any) -> JSONResponse | None:
        """Claim the key for this request (None: go on and write), or the answer kept for it.

        ``content`` is the request as parsed (JSON-able): the same report sent as JSON or as
        multipart fields fingerprints alike, and a new multipart boundary changes nothing."""
        if self.key is None:
            return None
        self.principal = principal
        text = json.dumps(
            [self.method, self.path, content], sort_keys=True, ensure_ascii=False, default=str
        )
        params = {
            "principal": principal,
            "key": self.key,
            "fingerprint": hashlib.sha256(text.encode()).digest(),
        }
        conn.execute(SQL("idempotency_prune.sql"), {"keep_hours": KEEP_HOURS})
        if SQL.one(conn, "idempotency_claim.sql", params) is not None:
            return None
        kept = SQL.one(conn, "idempotency_get.sql", params)
        conn.rollback()  # nothing of this request is written
        if kept is None:  # expired and pruned by another request in between: rare; try again
            raise HTTPException(409, "this Idempotency-Key was just released; send it again")
        if bytes(kept["fingerprint"]) != params["fingerprint"]:
            raise HTTPException(
                422, f"Idempotency-Key {self.key!r} was used for another request; use a new key"
            )
        if kept["status"] is None:
            raise HTTPException(409, "a request with this Idempotency-Key is still in progress")
        return JSONResponse(kept["body"], status_code=kept["status"], headers={REPLAYED: "true"})

    def keep(self, conn: psycopg.Connection, status: int, body: Any) -> None:
        """Store the answer in the request's transaction (the caller commits), serialised as
        FastAPI sends it (pydantic: datetimes in UTC end in ``Z``), so a replay is the same."""
        if self.key is None:
            return
        params = {"principal": self.principal, "key": self.key, "status": status}
        kept = conn.execute(
            SQL("idempotency_keep.sql"), params | {"body": Jsonb(to_jsonable_python(body))}
        )
        if kept.rowcount != 1:  # the claim is this transaction's own row: cannot be gone
            raise RuntimeError(f"Idempotency-Key {self.key!r}: claimed row not found")


def idempotency(request: Request, key: KeyHeader = None) -> Idempotency:
    """The request's key, unquoted (the draft sends a structured-field string, ``"…"``)."""
    if key is not None and key.startswith('"'):
        key = key[1:-1]
    return Idempotency(key, request.method, request.url.path)
