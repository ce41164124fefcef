"""The ``cap`` feed kind: claims upstream CAP documents, turns them into a Batch, and after the
load applies what Update/Cancel messages and expiry say about earlier alerts.

References are applied in SQL after every load, so an Update or Cancel takes effect in whichever
order it and the alert it references arrive.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import psycopg
from cryptography import x509

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.ingest.batch import Batch, Context, FeedReadError, TableLoad
from riskmap.ingest.feeds.upstream_cap.documents import collect
from riskmap.ingest.feeds.upstream_cap.elements import CAP_NS, local_name
from riskmap.ingest.feeds.upstream_cap.safe_xml import MAX_BYTES, head_text, root_tag

KIND = "cap"
EDXL_ROOT = "EDXLDistribution"
SQL = SqlFiles("riskmap.ingest.sql")
SNIFF_BYTES = 1 << 16  # how far into a wrapper sniffing looks for its first CAP alert
_ALERT_TAG = re.compile(r"<(?:[A-Za-z_][\w.-]*:)?alert[\s/>]")


def _frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows) if rows else pd.DataFrame()


def apply_references(conn: psycopg.Connection, ingest_id: int) -> dict[str, int]:
    """After-load step: Update/Cancel references set 'updated'/'cancelled' (both arrival orders),
    then alerts whose every info block has expired become 'expired'."""
    changed = conn.execute(SQL("cap_apply_references.sql"), {"ingest_id": ingest_id}).rowcount
    changed += conn.execute(SQL("cap_expire.sql"), {"now": datetime.now(UTC)}).rowcount
    return {"cap_alert_state": changed} if changed else {}


def parse_cap(data: bytes, source: str, trusted_certs: tuple[x509.Certificate, ...] = ()) -> Batch:
    """Batch of one CAP document's bytes: for the runner when it polls a URL, and for files.

    Each alert's XML signature is checked against ``trusted_certs``. Raises FeedReadError when
    the document is not a usable CAP message or feed at all.
    """
    got = collect(data, source, trusted_certs)
    alerts = [a.alert for a in got.alerts]
    loads = [
        TableLoad("cap_alert", _frame(alerts), key=("sender", "identifier")),
        TableLoad(
            "cap_info",
            _frame([i for a in got.alerts for i in a.infos]),
            key=("alert_id", "ordinal"),
        ),
        TableLoad(
            "cap_area",
            _frame([r for a in got.alerts for r in a.areas]),
            key=("alert_id", "info_ordinal", "ordinal"),
        ),
        TableLoad(
            "cap_reference",
            _frame([r for a in got.alerts for r in a.references]),
            key=("alert_id", "ref_sender", "ref_identifier"),
        ),
        TableLoad("cap_feed_entry", _frame(got.entries), key=("feed_id", "entry_id", "updated")),
    ]
    sent = [a["sent"] for a in alerts]
    expires = [i["expires"] for a in got.alerts for i in a.infos if i["expires"] is not None]
    valid_from = min(sent) if sent else None
    valid_to = max(expires) if expires else None
    if valid_to is not None and valid_from is not None and valid_to < valid_from:
        valid_to = None
    return Batch(
        KIND,
        loads,
        got.problems,
        valid_from=valid_from,
        valid_to=valid_to,
        after_load=apply_references,
        event={
            "cap_alerts": [
                {"id": a["id"], "identifier": a["identifier"], "msg_type": a["msg_type"]}
                for a in alerts[:50]
            ],
            "cap_feed_entries": len(got.entries),
        },
    )


class CapFeed:
    """CAP 1.1/1.2 messages, documents holding several (EDXL-DE, RSS, a list root) and CAP
    Atom index feeds."""

    kind = KIND
    description = (
        "CAP 1.1/1.2 alert messages, documents holding several (EDXL-DE, RSS, a list of"
        " alerts) and CAP Atom index feeds"
    )

    def sniff(self, path: Path, head: bytes) -> bool:
        """Claims ``.cap`` files, roots named ``alert`` or ``EDXLDistribution``, and any other
        root (Atom, RSS, a list such as ``<alerts>``) whose first 64 KiB hold a CAP namespace
        and an ``<alert>`` tag (an Atom feed: the CAP namespace or media type is enough)."""
        try:
            if path.suffix.lower() == ".cap":
                return True
            text = head_text(head)
            tag = root_tag(text)
            if tag is None:
                return False
            local = local_name(tag[1:].split()[0].rstrip("/"))
            if local in ("alert", EDXL_ROOT):
                return True
            if local.lower() == "html":
                return False
            if path.is_file() and path.stat().st_size > len(head):  # the head is 4 KiB
                with path.open("rb") as fh:
                    text = head_text(fh.read(SNIFF_BYTES))
            mentions_cap = any(ns in text for ns in CAP_NS)
            if local == "feed":
                return mentions_cap or "application/cap+xml" in text
            return mentions_cap and _ALERT_TAG.search(text) is not None
        except (OSError, ValueError, IndexError, LookupError):  # unreadable: not a CAP document
            return False

    def parse(self, path: Path, ctx: Context) -> Batch:
        """Read the file (bounded size) and parse it with :func:`parse_cap`."""
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise FeedReadError(f"{path.name}: {size} bytes is too large for a CAP document")
        return parse_cap(path.read_bytes(), path.name, ctx.trusted_certs)
