"""Outbox rows for a published version: loudspeakers, phones and the CAP feed.

Written in the transaction that publishes the version, so a warning is never issued without its
messages nor messages queued for a warning that was rolled back. The dispatcher delivers them
at least once; the idempotency key (warning, version, channel, target) lets receivers and the
dispatcher drop repeats.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from riskmap.geo.vocabulary import GRADE_ZH
from riskmap.geo.warnings import cap, store, texts


def write_outbox(
    conn: psycopg.Connection,
    warning: dict[str, Any],
    version: dict[str, Any],
    county_name: str,
    *,
    announce: bool = True,
) -> int:
    """Queue one message per broadcast terminal, per responsible phone and one for the CAP feed;
    orange and red versions also alert the safety contacts of hazardous sites in or within 1 km
    of the area (the cascade).

    Parameters
    ----------
    conn
        Connection inside the publishing transaction.
    warning
        The ``warning`` row (for its id and CAP status).
    version
        The just-published ``warning_version`` row (texts, villages, identifier).
    county_name
        Used in the SMS signature (【麻阳苗族自治县应急管理局】).
    announce
        False for an extension (same level and area, a later expiry): only the CAP feed row, so
        loudspeakers and phones do not repeat what they said, while CAP consumers learn the
        new ``<expires>`` and keep the alert in force.

    Returns
    -------
    int
        Outbox rows written.
    """
    drill = warning["cap_status"] != "Actual"
    wid, ver = warning["id"], version["version"]
    common = {
        "warning_id": wid,
        "version": ver,
        "villages": version["village_codes"],
        "key": f"warning:{wid}:v{ver}",
    }
    head = {
        "cap_identifier": version["cap_identifier"],
        "msg_type": version["msg_type"],
        "cap_status": warning["cap_status"],
        "colour": version["colour"],
        "level": GRADE_ZH[version["colour"]],
    }
    speech = texts.speech_text(
        version["headline_zh"], version["description_zh"], version["instruction_zh"], drill=drill
    )
    broadcast = {**head, "language": "zh-CN", "text": speech}
    sms = texts.sms_text(
        f"{county_name}应急管理局", version["headline_zh"], version["instruction_zh"], drill=drill
    )
    sms_payload = {**head, "text": sms, "chars": len(sms), "segments": texts.sms_segments(sms)}
    feed = {
        **head,
        "identifier": version["cap_identifier"],
        "sender": version["cap_sender"],
        "sent": cap.cap_time(version["cap_sent"]),
        "references": version["references_text"],
    }
    n = store.outbox(conn, "outbox_cap_feed.sql", {**common, "payload": Jsonb(feed)})
    if not announce:
        return n
    n += store.outbox(conn, "outbox_broadcast.sql", {**common, "payload": Jsonb(broadcast)})
    n += store.outbox(conn, "outbox_sms.sql", {**common, "payload": Jsonb(sms_payload)})
    n += store.outbox(
        conn,
        "outbox_site_contacts.sql",
        {
            **common,
            "payload": Jsonb(sms_payload),
            "colour": version["colour"],
            "site_text_prefix": f"【{county_name}应急管理局】{version['headline_zh']}。贵单位",
            "site_text_suffix": "位于预警区域或其1公里内，请立即落实安全防范措施，必要时停产撤人。"
            + ("【演练】" if drill else ""),
        },
    )
    return n
