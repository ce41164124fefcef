"""A site alarm reaches people: the site's and the bureau's people by SMS, and, for a red alarm
of a tailings dam, the villages below it through a proposed 立即转移 warning.

The alarm engine calls :func:`propose_site_warning` with each :class:`SiteAlarmChange`:

* orange / red (high / high-high) alarms are texted through the delivery outbox to the site's
  安全负责人 and the members of its supervising section (危化股 / 矿山股) in its county; a
  device fault only to the site's maintenance contact and that section — never to a village,
  never to a loudspeaker (a broken sensor is not a danger);
* a red alarm of a tailings dam also proposes a red 立即转移 warning (hazard ``tailings_dam``,
  CAP category Safety) for the dam's stored downstream villages, nearest first, through the
  warning lifecycle: a candidate for the commander's review, or issued at once when the site's
  ``ws_site.auto_issue`` says so; once issued, the built-in tailings-dam plan
  (``geo/plans/builtin/tailings_dam.yaml``) is evaluated for the county, which proposes a
  response for the commander to start.

One transaction: the notice, its SMS and the warning are written together or not at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from riskmap.geo.errors import InvalidArgumentError, NotFoundError
from riskmap.geo.plans.load import load_plans
from riskmap.geo.responses.engine import Proposed, evaluate_plans
from riskmap.geo.warnings import lifecycle
from riskmap.geo.warnings.lifecycle import Change
from riskmap.geo.warnings.proposal import Proposal
from riskmap.geo.worksafety import alarm_texts
from riskmap.geo.worksafety.changes import SiteAlarmChange
from riskmap.geo.worksafety.downstream_store import SQL, downstream_villages

HAZARD = "tailings_dam"
PLAN_ID = "tailings_dam"
RULE_VERSION = "1"
HOLD_HOURS = 12.0  # a dam alarm is not over in an hour: the warning holds half a day unless ended
#: threshold levels whose alarms are texted (blue and yellow stay on the console)
NOTIFY_LEVELS = frozenset({"orange", "red", "high", "high_high"})
ACTOR = "worksafety"


@dataclass(frozen=True)
class SiteAlarmOutcome:
    """What one alarm change led to: the notice (None when nothing was sent), SMS queued,
    the warning step (None when no warning), and response proposals."""

    notice_id: int | None
    sms: int
    warning: Change | None
    responses: list[Proposed]


def rule_id_of(site_id: str) -> str:
    """The warning rule of one dam: its repeated red alarms extend the same warning."""
    return f"ws_site:{site_id}"


def propose_site_warning(
    conn: psycopg.Connection, change: SiteAlarmChange, *, at: datetime | None = None
) -> SiteAlarmOutcome:
    """Notify the site's people of ``change`` and, for a red tailings-dam alarm, propose (or
    issue, with ``auto_issue``) the 立即转移 warning of the villages below the dam.

    Parameters
    ----------
    conn
        Connection; one transaction (a savepoint inside the caller's).
    change
        The alarm change the engine reports.
    at
        Now (warning times, the plan evaluation); default the wall clock.

    Raises
    ------
    NotFoundError
        The site is not in hazardous_site.
    InvalidArgumentError
        A bad kind or a naive time; a site with no ws_site row (no supervising section).
    """
    at = at or datetime.now(UTC)
    _check(change, at)
    site = SQL.one(conn, "alarm_site.sql", {"site_id": change.site_id})
    if site is None:
        raise NotFoundError(f"site {change.site_id} is not in hazardous_site")
    if not site["monitored"]:
        raise InvalidArgumentError(
            f"site {change.site_id} has no ws_site row: load its monitoring configuration first"
        )
    if change.kind == "threshold" and change.level not in NOTIFY_LEVELS:
        return SiteAlarmOutcome(None, 0, None, [])
    with conn.transaction():
        notice_id = SQL.one(conn, "insert_notice.sql", _notice_row(change), shape="tuple")[0]
        warning = responses = None
        if change.kind == "threshold" and change.level == "red" and site["kind"] == HAZARD:
            warning = _dam_warning(conn, site, change, at)
            if warning is not None:
                conn.execute(
                    SQL("notice_warning.sql"),
                    {"warning_id": warning.warning_id, "notice_id": notice_id},
                )
                responses = _plan(conn, site, at) if warning.published else []
        sms = _notify(conn, site, change, notice_id, _warning_note(warning))
    return SiteAlarmOutcome(notice_id, sms, warning, responses or [])


def _check(change: SiteAlarmChange, at: datetime) -> None:
    if change.kind not in ("threshold", "fault"):
        raise InvalidArgumentError(f"kind must be 'threshold' or 'fault', got {change.kind!r}")
    if change.opened_at.tzinfo is None or at.tzinfo is None:
        raise InvalidArgumentError("times must be timezone-aware")
    if not change.summary_zh.strip():
        raise InvalidArgumentError("summary_zh must not be empty")


def _notice_row(change: SiteAlarmChange) -> dict[str, Any]:
    return {
        "site_id": change.site_id,
        "item": change.item,
        "kind": change.kind,
        "level": change.level,
        "previous_level": change.previous_level,
        "opened_at": change.opened_at,
        "summary_zh": change.summary_zh,
    }


def _dam_warning(
    conn: psycopg.Connection, site: dict[str, Any], change: SiteAlarmChange, at: datetime
) -> Change | None:
    """The red 立即转移 proposal for the dam's downstream villages (None when it has none)."""
    rows = downstream_villages(conn, site["id"])
    if not rows:
        return None
    names = {
        r["village_code"]: alarm_texts.Downstream(r["village_code"], r["name"], r["distance_m"])
        for r in rows
    }
    order = [r["village_code"] for r in rows]
    reach = rows[0]["max_distance_m"]
    height = (site["details"] or {}).get("dam_height_m")
    evidence: dict[str, dict[str, float | str]] = {
        r["village_code"]: {
            "level": "red",
            "order": r["ord"],
            "distance_m": round(r["distance_m"], 1),
            "below_crest_m": round(r["below_crest_m"], 1),
            "site_id": site["id"],
            "item": change.item or "",
        }
        for r in rows
    }

    def render(codes: Any, _evidence: Any) -> dict[str, str]:
        kept = [names[c] for c in order if c in set(codes)]
        return alarm_texts.dam_warning_texts(
            site["name"], height, change.summary_zh, kept, reach / 1000
        )

    texts = render(order, evidence)
    proposal = Proposal(
        rule_id=rule_id_of(site["id"]),
        rule_version=RULE_VERSION,
        hazard=HAZARD,
        colour="red",
        at=at,
        village_codes=tuple(order),
        evidence=evidence,
        event_zh="尾矿库溃坝风险",
        event_en="Tailings dam failure risk",
        category="Safety",
        urgency="Immediate",
        severity="Extreme",
        certainty="Likely",
        review="auto" if site["auto_issue"] else "forecaster",
        hold_hours=HOLD_HOURS,
        action="evacuate_now",
        render=render,
        **texts,
    )
    (step,) = lifecycle.apply_proposals(conn, [proposal], at, actor=ACTOR)
    return step


def _plan(conn: psycopg.Connection, site: dict[str, Any], at: datetime) -> list[Proposed]:
    """Evaluate the tailings-dam plan for the site's county now that the warning is issued."""
    plans = [p for p in load_plans([], include_builtin=True) if p.id == PLAN_ID]
    if not plans or site["county_code"] is None:
        return []
    return evaluate_plans(conn, plans, at, [site["county_code"]]).proposed


def _warning_note(warning: Change | None) -> str:
    if warning is None:
        return ""
    if warning.published:
        return "已向坝下村庄发布立即转移预警。"
    return "坝下村庄立即转移预警已提交，待指挥长审核发布。"


def _notify(
    conn: psycopg.Connection,
    site: dict[str, Any],
    change: SiteAlarmChange,
    notice_id: int,
    note: str,
) -> int:
    text = alarm_texts.notice_text(
        site["county_name"] or "",
        site["name"],
        change.item,
        change.level,
        change.kind,
        change.summary_zh,
        note,
    )
    payload = {
        "kind": "ws_site_alarm",
        "alarm_kind": change.kind,
        "site_id": site["id"],
        "site_name": site["name"],
        "item": change.item,
        "level": change.level,
        "opened_at": change.opened_at.isoformat(),
        "text": text,
    }
    rows = SQL.rows(
        conn,
        "outbox_notice.sql",
        {
            "notice_id": notice_id,
            "kind": change.kind,
            "safety_contact": site["safety_contact_id"],
            "maintenance_contact": site["maintenance_contact"],
            "county_code": site["county_code"],
            "section": site["supervising_section"],
            "payload": Jsonb(payload),
        },
    )
    return len(rows)
