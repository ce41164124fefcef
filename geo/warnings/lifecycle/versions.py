"""Writing and publishing warning versions: the steps every lifecycle path shares.

Rule proposals, forecasters' actions and expiry all end in the same few moves (revise a draft
or add an Update, publish it with its outbox rows, drop a pending draft, publish the message
that ends a warning); they live here once so the three paths cannot drift apart.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any, Literal

import psycopg

from riskmap.geo.errors import ConflictError, InvalidArgumentError
from riskmap.geo.vocabulary import BEIJING
from riskmap.geo.warnings import delivery, store, texts

Action = Literal[
    "propose", "issue", "update", "extend", "escalate", "deescalate", "reject", "cancel",
    "expire", "edit", "trim", "suppress",
]  # fmt: skip
TEXT_FIELDS = (
    "event_zh", "event_en", "headline_zh", "headline_en", "description_zh", "description_en",
    "instruction_zh", "instruction_en",
)  # fmt: skip
CONTENT_FIELDS = (
    "msg_type", "colour", "action", "village_codes", *TEXT_FIELDS, "category", "urgency",
    "severity", "certainty", "response_type", "effective", "expires", "evidence",
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Change:
    """What one lifecycle step did to one warning."""

    warning_id: int
    action: Action
    version: int
    status: str
    colour: str
    published: bool  # whether this step sent a version to the public (outbox rows written)


def check_time(at: datetime) -> None:
    """Refuse naive times: every lifecycle time is stored in UTC."""
    if at.tzinfo is None:
        raise InvalidArgumentError("times must be timezone-aware (store UTC)")


def why(w: dict[str, Any], version: dict[str, Any] | None = None) -> dict[str, Any]:
    """The audit details that say which rule and level a warning stands on."""
    out = {"rule_id": w["rule_id"], "rule_version": w["rule_version"], "colour": w["colour"]}
    if version is not None:
        out["numbers"] = version["evidence"].get("villages", {})
    return out


def content_of(version: dict[str, Any]) -> dict[str, Any]:
    """A stored version's content, ready to be changed and saved as another."""
    return {k: version[k] for k in (*CONTENT_FIELDS, "created_by", "reason")}


def change_of(w: dict[str, Any], action: Action, version: int, status: str, sent: bool) -> Change:
    """The :class:`Change` of a step on warning row ``w``."""
    return Change(w["id"], action, version, status, w["colour"], sent)


def beijing(t: datetime) -> str:
    """A time as messages to people say it: Beijing time to the minute."""
    return t.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")


def check_in_force(w: dict[str, Any], at: datetime) -> None:
    """Refuse to change a warning whose expiry has passed: it is over, whatever its status
    column says until the next run sends its all-clear; an expired warning is never extended."""
    if w["expires_at"] <= at:
        raise ConflictError(
            f"warning {w['id']} expired at {beijing(w['expires_at'])} (Beijing time) and can no"
            " longer change; the next rules run ends it with its all-clear, and a new warning"
            " comes from the rules if the danger is still there"
        )


def check_fresh(w: dict[str, Any], draft: dict[str, Any], at: datetime) -> None:
    """Refuse to publish a draft whose time ran out: its numbers are older than the rule's hold
    time, so nothing says the danger is still there (and its CAP would expire before it is
    sent)."""
    if draft["expires"] <= at:
        fired = draft["evidence"].get("at")
        when = beijing(datetime.fromisoformat(fired)) if fired else "?"
        raise ConflictError(
            f"warning {w['id']} version {draft['version']} is stale: its rule {w['rule_id']}"
            f" fired at {when} and its hold time of {w['hold_hours']:g} h ran out at"
            f" {beijing(draft['expires'])} (Beijing time); run the rules again (a new candidate"
            " comes if the rule still fires) or reject it"
        )


def revise(
    conn: psycopg.Connection,
    w: dict[str, Any],
    current: dict[str, Any],
    content: dict[str, Any],
    at: datetime,
    actor: str,
    reason: str | None,
    action: Action,
    details: dict[str, Any],
    publish: bool | None = None,
    *,
    announce: bool = True,
) -> Change:
    """Write new content: in place over a draft, else as a new Update version; publish it when
    asked (default: when it replaced a published version, i.e. a person changed what is out)."""
    wid = w["id"]
    check_in_force(w, at)
    if current["state"] == "draft":
        version = current["version"]
    else:
        version = store.next_version(conn, wid)
        expires = max(content["expires"], w["expires_at"])  # an Update never shortens it
        content = content | {"msg_type": "Update", "effective": at, "expires": expires}
    content = content | {"created_by": actor, "reason": reason or content["reason"]}
    reason = content["reason"]
    store.save_version(conn, wid, version, content)
    store.update_warning(
        conn, wid, colour=content["colour"], action=content["action"], current_version=version
    )
    if sorted(content["village_codes"]) != sorted(w["village_codes"]):
        store.set_area(conn, wid, content["village_codes"])
    store.audit(conn, wid, version, action, actor, at, reason, why(w) | details)
    if publish is None:
        publish = w["status"] == "issued" and current["state"] != "draft"
    status = "issued" if publish else w["status"]
    if publish:
        publish_draft(conn, w, version, at, actor, "issue", reason, "issued", announce=announce)
    return Change(wid, action, version, status, content["colour"], publish)


def publish_draft(
    conn: psycopg.Connection,
    w: dict[str, Any],
    version: int,
    at: datetime,
    actor: str,
    action: Action,
    reason: str | None,
    status: str,
    *,
    announce: bool = True,
) -> dict[str, Any]:
    """Publish a draft: CAP identifier and references, warning status, outbox rows, audit.

    ``announce=False`` (an extension: same level, same area, later expiry) queues the CAP feed
    only: machines must learn the new expiry, people were told already."""
    wid = w["id"]
    w = store.lock_warning(conn, wid)  # re-read: callers may have changed it in this transaction
    draft = store.get_version(conn, wid, version)
    check_fresh(w, draft, at)
    county, county_name = store.issuer_of(conn, w, draft["village_codes"])
    row = store.publish_version(conn, wid, version, county, at)
    ended = at if status in ("cancelled", "expired") else None
    store.update_warning(
        conn, wid, status=status, published_version=version, current_version=version, ended_at=ended
    )
    n = delivery.write_outbox(conn, w, row, county_name, announce=announce)
    details = why(w, row) | {
        "cap_identifier": row["cap_identifier"],
        "msg_type": row["msg_type"],
        "references": row["references_text"],
        "outbox_rows": n,
    }
    store.audit(conn, wid, version, action, actor, at, reason, details)
    return row


def drop_draft(conn: psycopg.Connection, w: dict[str, Any]) -> dict[str, Any]:
    """Discard an issued warning's pending draft; the warning reverts to its published version."""
    wid = w["id"]
    store.discard_version(conn, wid, w["current_version"])
    base = store.get_version(conn, wid, w["published_version"])
    store.update_warning(
        conn, wid, colour=base["colour"], action=base["action"], current_version=base["version"]
    )
    if sorted(base["village_codes"]) != sorted(w["village_codes"]):
        store.set_area(conn, wid, base["village_codes"])
    return base


def end_published(
    conn: psycopg.Connection,
    w: dict[str, Any],
    at: datetime,
    actor: str,
    reason: str | None,
    action: Action,
    status: str,
) -> int:
    """Publish the message that ends an issued warning (expired: 解除, cancelled: 撤销)."""
    wid = w["id"]
    if w["current_version"] != w["published_version"]:
        base = drop_draft(conn, w)
    else:
        base = store.get_version(conn, wid, w["published_version"])
    version = store.next_version(conn, wid)
    ending = texts.all_clear(
        base["event_zh"], base["event_en"], base["colour"], cancelled=status == "cancelled"
    )
    content = (
        content_of(base)
        | ending
        | {
            "msg_type": "Cancel",
            "urgency": "Past",
            "severity": "Minor",
            "certainty": "Observed",
            "response_type": "AllClear",
            "effective": at,
            "expires": at + timedelta(hours=w["hold_hours"]),
            "created_by": actor,
            "reason": reason,
        }
    )
    store.save_version(conn, wid, version, content)
    store.update_warning(conn, wid, current_version=version)
    publish_draft(conn, w, version, at, actor, action, reason, status)
    return version
