"""A warning written by a person at the desk, not fired by a rule (人工发布预警).

A county bureau warns over villages of its county; a city bureau (市应急管理局) may warn over
villages of several of its counties at once, a city-level warning whose CAP sender and
identifier carry the city's GB/T 2260 code. It starts as a candidate like a rule's (so the
usual review, edit and issue steps apply) or is published at once when the author asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg

from riskmap.geo.errors import InvalidArgumentError
from riskmap.geo.vocabulary import COLOURS
from riskmap.geo.warnings import cap, store
from riskmap.geo.warnings.lifecycle.versions import Change, change_of, check_time, publish_draft

RULE_ID = "manual"  # the warning's rule: none fired it
RULE_VERSION = "1"
MIN_HOURS = 0.1  # six minutes: shorter is no warning
CATEGORIES = ("Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport",
              "Infra", "CBRNE", "Other")  # fmt: skip


@dataclass(frozen=True)
class ManualWarning:
    """What the author writes: hazard, level, villages, the texts and how long it holds."""

    hazard: str
    colour: str
    village_codes: tuple[str, ...]
    event_zh: str
    headline_zh: str
    description_zh: str
    instruction_zh: str
    event_en: str = ""
    headline_en: str = ""
    description_en: str = ""
    instruction_en: str = ""
    hours: float = 6.0
    category: str = "Met"
    action: str | None = None
    cap_status: str = "Actual"


def create(
    conn: psycopg.Connection,
    spec: ManualWarning,
    issuer: str,
    actor: str,
    reason: str,
    *,
    issue: bool = False,
    at: datetime | None = None,
) -> Change:
    """Write a manual warning issued by the bureau of ``issuer`` (a city or county code whose
    area holds every village); a candidate, or published at once with ``issue``.

    Raises
    ------
    InvalidArgumentError
        A bad level, category, duration or issuer; villages unknown or outside the issuer's
        area (:class:`~riskmap.geo.errors.DataError`).
    """
    at = at or datetime.now(UTC)
    check_time(at)
    _check(spec)
    cap.sender_prefix(issuer)  # 6 digits or InvalidArgumentError
    if issuer.endswith("0000"):
        raise InvalidArgumentError(f"issuer {issuer} is a province: give a city or county code")
    villages = sorted(set(spec.village_codes))
    params = {
        "rule_id": RULE_ID,
        "rule_version": RULE_VERSION,
        "hazard": spec.hazard,
        "colour": spec.colour,
        "action": spec.action,
        "cap_status": spec.cap_status,
        "review": "forecaster",
        "at": at,
        "expires_at": at + timedelta(hours=spec.hours),
        "hold_hours": spec.hours,
        "village_codes": villages,
        "issuer_code": issuer,
    }
    with conn.transaction():
        store.issuer_of(conn, {"issuer_code": issuer}, villages)  # before any insert
        wid = store.insert_warning(conn, params)
        store.save_version(conn, wid, 1, _content(spec, villages, at, actor, reason, issuer))
        details = {"rule_id": RULE_ID, "colour": spec.colour, "issuer": issuer}
        store.audit(conn, wid, 1, "propose", actor, at, reason, details | {"manual": True})
        w = store.lock_warning(conn, wid)
        if not issue:
            return change_of(w, "propose", 1, "candidate", False)
        publish_draft(conn, w, 1, at, actor, "issue", reason, "issued")
    return change_of(w, "issue", 1, "issued", True)


def _check(spec: ManualWarning) -> None:
    if spec.colour not in COLOURS:
        raise InvalidArgumentError(f"colour must be one of {', '.join(COLOURS)}")
    if spec.category not in CATEGORIES:
        raise InvalidArgumentError(f"category must be one of {', '.join(CATEGORIES)}")
    if not MIN_HOURS <= spec.hours <= 720:
        raise InvalidArgumentError(f"hours must be between {MIN_HOURS} and 720")
    if not spec.village_codes:
        raise InvalidArgumentError("a warning needs at least one village")


def _content(
    spec: ManualWarning, villages: list[str], at: datetime, actor: str, reason: str, issuer: str
) -> dict:
    """Version 1: the author's texts (English falls back on the Chinese), no rule evidence."""
    return {
        "msg_type": "Alert",
        "colour": spec.colour,
        "action": spec.action,
        "village_codes": villages,
        "event_zh": spec.event_zh,
        "event_en": spec.event_en or spec.event_zh,
        "headline_zh": spec.headline_zh,
        "headline_en": spec.headline_en or spec.headline_zh,
        "description_zh": spec.description_zh,
        "description_en": spec.description_en or spec.description_zh,
        "instruction_zh": spec.instruction_zh,
        "instruction_en": spec.instruction_en or spec.instruction_zh,
        "category": spec.category,
        "urgency": "Expected",
        "severity": cap.SEVERITY_OF_COLOUR[spec.colour],
        "certainty": "Likely",
        "response_type": cap.response_type(spec.action, {}),
        "effective": at,
        "expires": at + timedelta(hours=spec.hours),
        "evidence": {
            "rule_id": RULE_ID,
            "manual": True,
            "issuer": issuer,
            "at": at.isoformat(),
            "villages": {},
        },
        "created_by": actor,
        "reason": reason,
    }
