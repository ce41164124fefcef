"""Candidates yield to issued warnings: after a rules run, the villages an issued warning of the
same hazard at the same or a higher level has since covered leave every open candidate.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from riskmap.geo.vocabulary import COLOURS
from riskmap.geo.warnings import store
from riskmap.geo.warnings.lifecycle.content import yielded
from riskmap.geo.warnings.lifecycle.versions import (
    TEXT_FIELDS,
    Change,
    change_of,
    check_time,
    content_of,
    revise,
    why,
)
from riskmap.geo.warnings.proposal import Proposal


def yield_candidates(
    conn: psycopg.Connection, proposals: list[Proposal], at: datetime, actor: str = "rules"
) -> list[Change]:
    """Take out of every open candidate of the proposals' hazards the villages an issued warning
    of the same or a higher level covers now (e.g. a red warning grew over them after the
    candidate was made); a candidate left with nothing ends (audit ``suppress``), others are
    trimmed (audit ``trim``). Texts are rendered again for the remaining villages when the run's
    proposals carry the rule's renderer at that level. One transaction; run after
    :func:`apply_proposals` (the cycle does), which already keeps new villages out."""
    check_time(at)
    renders = {(p.rule_id, p.colour): p.render for p in proposals if p.render is not None}
    changes: list[Change] = []
    with conn.transaction():
        for hazard in sorted({p.hazard for p in proposals}):
            changes += _yield_hazard(conn, hazard, at, actor, renders)
    return changes


def _yield_hazard(
    conn: psycopg.Connection,
    hazard: str,
    at: datetime,
    actor: str,
    renders: dict[tuple[str, str], Any],
) -> list[Change]:
    changes: list[Change] = []
    for w in store.open_candidates(conn, hazard, at):
        rank = COLOURS.index(w["colour"])
        villages = list(w["village_codes"])
        cover = store.covering_warnings(conn, hazard, list(COLOURS[rank:]), villages, at, [w["id"]])
        covered = {c for r in cover for c in r["covered"]}
        if not covered:
            continue
        current = store.get_version(conn, w["id"], w["current_version"])
        keep = [v for v in villages if v not in covered]
        details = why(w) | {"decision": "suppress" if not keep else "trim"}
        details |= yielded(cover, covered)
        reason = (
            f"{len(covered)} villages are under issued warnings of the same hazard at"
            f" {w['colour']} or higher"
        )
        if not keep:
            store.discard_version(conn, w["id"], current["version"])
            store.update_warning(conn, w["id"], status="expired", ended_at=at)
            store.audit(conn, w["id"], current["version"], "suppress", actor, at, reason, details)
            changes.append(change_of(w, "suppress", current["version"], "expired", False))
            continue
        content = content_of(current)
        numbers = {v: n for v, n in current["evidence"].get("villages", {}).items() if v in keep}
        content["village_codes"] = keep
        content["evidence"] = current["evidence"] | {"villages": numbers}
        render = renders.get((w["rule_id"], w["colour"]))
        if render is not None and current["created_by"] == actor:
            content |= {k: v for k, v in render(keep, numbers).items() if k in TEXT_FIELDS}
        changes.append(revise(conn, w, current, content, at, actor, reason, "trim", details, False))
    return changes
