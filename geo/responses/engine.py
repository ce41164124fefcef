"""Proposing responses: after each rules cycle, every plan's conditions over every county.

A plan whose level holds for a county with no open response proposes starting one (the
response waits as ``proposed`` for a commander); over an active response at a lower level it
proposes raising it. Never more than one pending proposal per response: a higher level
supersedes the pending one, the same or a lower level changes nothing. A proposal a commander
dismissed keeps the same and lower levels quiet for the plan's ``quiet_hours``. Nothing starts
by itself: people decide (DOMAIN.md, the response is the county's decision).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.types.json import Jsonb

from riskmap.geo.plans.load import CompiledPlan, evaluate_levels
from riskmap.geo.plans.model import LEVEL_NUMBER, LEVELS
from riskmap.geo.plans.variables import compute_variables
from riskmap.geo.responses.store import SQL, event
from riskmap.geo.responses.tasks import flag_overdue

ACTOR = "plans"


@dataclass(frozen=True)
class Proposed:
    """One proposal made: start or raise, for which response, county, plan and level (1–4)."""

    response_id: int
    proposal_id: int
    kind: str
    county: str
    plan_id: str
    level: int


@dataclass(frozen=True)
class Evaluation:
    """What one evaluation did: proposals made and tasks flagged overdue."""

    proposed: list[Proposed]
    overdue: list[int]


def evaluate_plans(
    conn: psycopg.Connection,
    plans: Sequence[CompiledPlan],
    at: datetime,
    counties: Iterable[str] | None = None,
) -> Evaluation:
    """Evaluate ``plans`` for every county as of ``at``, propose what holds and flag overdue
    tasks; one transaction (a savepoint inside the caller's)."""
    with conn.transaction():
        codes, values = compute_variables(conn, at, list(counties) if counties else None)
        made: list[Proposed] = []
        for plan in plans:
            ranks = evaluate_levels(plan, values, len(codes))
            for i, county in enumerate(codes):
                if ranks[i] < 0:
                    continue
                key = LEVELS[int(ranks[i])]
                snapshot = {k: float(v[i]) for k, v in values.items() if v[i]}
                p = _propose(conn, plan, county, key, snapshot, at)
                if p is not None:
                    made.append(p)
        overdue = flag_overdue(conn, at)
    return Evaluation(made, overdue)


def _propose(
    conn: psycopg.Connection,
    plan: CompiledPlan,
    county: str,
    key: str,
    snapshot: dict[str, float],
    at: datetime,
) -> Proposed | None:
    level = LEVEL_NUMBER[key]
    args = {"county": county, "plan": plan.id}
    response = SQL.one(conn, "open_response.sql", args)
    if response is not None and response["status"] == "active" and response["level"] <= level:
        return None  # already at this level or higher
    pending = None if response is None else SQL.one(conn, "pending_proposal.sql", response)
    if pending is not None and pending["level"] <= level:
        return None  # one waits already, at this level or higher: no duplicate
    quiet = {**args, "level": level, "at": at, "quiet_s": plan.plan.quiet_hours * 3600}
    if SQL.one(conn, "quiet.sql", quiet, shape="tuple")[0]:
        return None
    if response is None:
        response = SQL.one(
            conn,
            "insert_response.sql",
            {
                **args,
                "version": plan.plan.version,
                "title_zh": plan.plan.title_zh,
                "title_en": plan.plan.title_en,
                "at": at,
            },
        )
    if pending is not None:
        decided = {"id": pending["id"], "status": "superseded", "actor": ACTOR, "at": at}
        SQL.one(conn, "decide_proposal.sql", {**decided, "reason": "a higher level holds"})
        event(conn, response["id"], "proposal_superseded", ACTOR, at,
              level_to=pending["level"], proposal_id=pending["id"])  # fmt: skip
    kind = "start" if response["status"] == "proposed" else "raise"
    proposal = SQL.one(
        conn,
        "insert_proposal.sql",
        {
            "response_id": response["id"],
            "kind": kind,
            "level": level,
            "at": at,
            "condition": plan.conditions[key].text,
            "variables": Jsonb(snapshot),
        },
    )
    event(
        conn, response["id"], "proposed", ACTOR, at,
        level_from=response["level"], level_to=level, proposal_id=proposal["id"],
        details={"kind": kind, "condition": plan.conditions[key].text, "variables": snapshot},
    )  # fmt: skip
    return Proposed(response["id"], proposal["id"], kind, county, plan.id, level)
