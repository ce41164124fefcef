"""One work-safety alarm cycle, as `riskmap sites alarms` and the demo run it.

1. The alarm engine advances every point over its new readings, with each site's own settings
   (``ws_site.config``, as `riskmap sites load` stored them) instead of the built-in defaults.
2. Each monitored site is graded from its points' open alarms by the rules of GB 39496-2020
   §5.5.4 (items from points, the dam from items: :mod:`.aggregate`) and the grade is kept in
   ``ws_site_grade`` — what the map colours the site by.
3. A site whose grade rose is told (:func:`.site_warning.propose_site_warning`: SMS to its
   safety officer and supervising section from orange up; a red tailings dam proposes the
   立即转移 warning of the villages below it); a device fault that opened is told to the
   maintenance contact and the section only. The same grade again is not told twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.worksafety.aggregate import COLOURS, grade_site
from riskmap.geo.worksafety.changes import SiteAlarmChange
from riskmap.geo.worksafety.config import parse_config
from riskmap.geo.worksafety.params import DEFAULT_ITEM_PARAMS, AlarmParams, ParamBook
from riskmap.geo.worksafety.runner import AlarmRun, run_alarms
from riskmap.geo.worksafety.site_warning import SiteAlarmOutcome, propose_site_warning
from riskmap.geo.worksafety.vocabulary import LEVEL_RANK, LEVEL_ZH

SQL = SqlFiles("riskmap.geo.worksafety.sql")
_RANK = {c: i for i, c in enumerate(COLOURS)}


@dataclass(frozen=True)
class SiteGradeChange:
    """A site's grade before and after this cycle (None: no alarm)."""

    site_id: str
    site_name: str
    level: str | None
    previous_level: str | None
    reason: str
    since: datetime | None

    @property
    def rose(self) -> bool:
        return self.level is not None and (
            self.previous_level is None or _RANK[self.level] > _RANK[self.previous_level]
        )


@dataclass
class Cycle:
    """What one cycle did: the engine's run, the grades that changed, what was told."""

    run: AlarmRun
    grades: list[SiteGradeChange] = field(default_factory=list)
    told: list[tuple[SiteAlarmChange, SiteAlarmOutcome]] = field(default_factory=list)


def param_book(conn: psycopg.Connection) -> ParamBook:
    """The engine's settings from every site's stored configuration: each point's effective
    alarm block (point over item over site over the loader's defaults)."""
    by_point: dict[str, dict[str, Any]] = {}
    for row in SQL.rows(conn, "site_configs.sql", shape="dict"):
        for block in (row["config"] or {}).get("items", {}).values():
            for point in block.get("points", []):
                alarm = point.get("alarm") or {}
                overrides = {
                    k: alarm[k]
                    for k in ("min_duration_s", "dead_band", "hold_s", "silent_s")
                    if alarm.get(k) is not None
                }
                if "stuck_n" in alarm:  # 0 in the file turns the check off
                    overrides["stuck_n"] = alarm["stuck_n"] or None
                by_point[point["id"]] = overrides
    return ParamBook(AlarmParams(), dict(DEFAULT_ITEM_PARAMS), by_point)


def grade_sites(conn: psycopg.Connection, at: datetime) -> list[SiteGradeChange]:
    """Grade every monitored site from its open alarms; store the grades; those that changed."""
    changed = []
    for row in SQL.rows(conn, "grade_inputs.sql", shape="dict"):
        alarms = row["alarms"]
        grade = grade_site(row["kind"], _station_levels(row, alarms))
        level = grade.level
        reason = grade.reason
        if level is not None:
            reason = f"{reason}（{_worst(alarms)}）"
        previous = row["previous_level"]
        # since the site's alarm began: kept while it lasts, the first open alarm's opening
        began = min((datetime.fromisoformat(a["opened_at"]) for a in alarms), default=at)
        since = None if level is None else (row["previous_since"] if previous else began)
        conn.execute(
            SQL("grade_upsert.sql"),
            {
                "site_id": row["site_id"],
                "level": level,
                "reason": reason,
                "items": Jsonb(
                    {n: {"level": g.level, "reason": g.reason} for n, g in grade.items.items()}
                ),
                "since": since,
                "at": at,
            },
        )
        if level != previous:
            changed.append(
                SiteGradeChange(row["site_id"], row["site_name"], level, previous, reason, since)
            )
    return changed


def _station_levels(row: dict[str, Any], alarms: list[dict[str, Any]]) -> dict[str, list]:
    """Per item, the levels of its alarming stations: from the stored configuration (a rate
    point and its amount point are one station); a site stored without one (written by hand,
    not by the loader) counts each alarming point."""
    if row["config"]:
        config = parse_config(row["config"], f"ws_site.config of {row['site_id']}")
        return config.station_levels({a["point_id"]: a["level"] for a in alarms})
    items: dict[str, list] = {}
    for a in alarms:
        items.setdefault(a["item"], []).append(a["level"])
    return items


def _worst(alarms: list[dict[str, Any]]) -> str:
    """The three most severe point readings behind the grade, e.g. 库水位 SW1 529.6 m."""
    shown = sorted(alarms, key=lambda a: -LEVEL_RANK[a["level"]])[:3]
    return "；".join(
        f"{a['name']} {LEVEL_ZH[a['level']]}"
        + ("" if a["value"] is None else f" {a['value']:g} {a['unit']}")
        for a in shown
    )


def run_cycle(conn: psycopg.Connection, until: datetime | None = None) -> Cycle:
    """Engine, grades, notices: one cycle up to ``until`` (default now). Not committed."""
    until = until or datetime.now(UTC)
    cycle = Cycle(run_alarms(conn, until, params=param_book(conn)))
    cycle.grades = grade_sites(conn, until)
    for g in cycle.grades:
        if not g.rose:
            continue
        change = SiteAlarmChange(
            g.site_id, None, g.level, g.previous_level, "threshold", g.since, g.reason
        )
        cycle.told.append((change, propose_site_warning(conn, change, at=until)))
    for c in cycle.run.changes:
        if c.kind == "fault" and c.change == "opened":
            change = SiteAlarmChange(
                c.site_id, c.item, c.fault_kind or "fault", None, "fault", c.opened_at_utc,
                c.summary_zh,
            )  # fmt: skip
            cycle.told.append((change, propose_site_warning(conn, change, at=c.at_utc)))
    return cycle
