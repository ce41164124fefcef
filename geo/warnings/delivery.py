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

# How many times a terminal plays a message and the pause between plays (seconds), by colour:
# red and orange repeat until people have surely heard it; an all-clear plays once.
BROADCAST_REPEAT = {"red": (3, 60), "orange": (3, 120), "yellow": (2, 300), "blue": (1, 0)}


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
        "hazard": warning["hazard"],
        "event_zh": version["event_zh"],
        "action": version["action"],
        "headline_zh": version["headline_zh"],
        "villages": list(version["village_codes"]),
        "effective": cap.cap_time(version["effective"]),
        "expires": cap.cap_time(version["expires"]),
    }
    # what to do comes right after the headline: a villager must hear "立即转移" before the
    # rainfall figures of other villages, not forty seconds in
    speech = texts.speech_text(
        version["headline_zh"], version["instruction_zh"], version["description_zh"], drill=drill
    )
    plays, interval = BROADCAST_REPEAT[version["colour"]]
    if version["msg_type"] == "Cancel":
        plays, interval = 1, 0
    broadcast = {
        **head,
        "language": "zh-CN",
        "text": speech,
        "repeat": plays,
        "repeat_interval_s": interval,
    }
    places = store.SQL.rows(
        conn, "sms_places.sql", {"villages": version["village_codes"]}, shape="tuple"
    )
    sms = texts.sms_text(
        f"{county_name}应急管理局",
        version["headline_zh"],
        version["instruction_zh"],
        drill=drill,
        colour=version["colour"],
        action=version["action"],
        event=version["event_zh"],
        where=texts.sms_where(places),
        county=county_name,
        cancel=version["msg_type"] == "Cancel",
    )
    sms_payload = {**head, "text": sms, "chars": len(sms), "segments": texts.sms_segments(sms)}
    # site contacts get a text of their own (built in SQL): the adapter splits it when sending
    site_payload = dict(sms_payload)
    sms_payload["parts"] = texts.sms_parts(sms)
    feed = {
        **head,
        "identifier": version["cap_identifier"],
        "sender": version["cap_sender"],
        "sent": cap.cap_time(version["cap_sent"]),
        "references": version["references_text"],
    }
    n = store.outbox(conn, "outbox_cap_feed.sql", {**common, "payload": Jsonb(feed)})
    # villages that left the area hear that it is over for them, announced or not
    left = texts.left_area_text(f"{county_name}{version['event_zh']}", drill=drill)
    left_payload = {
        **head,
        "msg_type": "Cancel",
        "language": "zh-CN",
        "text": left,
        "repeat": 1,
        "repeat_interval_s": 0,
    }
    n += store.outbox(conn, "outbox_broadcast_left.sql", {**common, "payload": Jsonb(left_payload)})
    if not announce:
        store.supersede_older(conn, wid, ver)
        return n
    n += store.outbox(conn, "outbox_broadcast.sql", {**common, "payload": Jsonb(broadcast)})
    n += store.outbox(
        conn,
        "outbox_sms.sql",
        {**common, "payload": Jsonb(sms_payload), "at": version["cap_sent"]},
    )
    n += store.outbox(
        conn,
        "outbox_site_contacts.sql",
        {
            **common,
            "payload": Jsonb(site_payload),
            "colour": version["colour"],
            "site_text_prefix": f"【{county_name}应急管理局】{version['headline_zh']}。贵单位",
            "site_text_suffix": "位于预警区域或其1公里内，请立即落实安全防范措施，必要时停产撤人。"
            + ("【演练】" if drill else ""),
        },
    )
    store.supersede_older(conn, wid, ver)
    return n
