"""The drill report (演练评估): how fast warnings went out, how far they reached, what was late.

Two clocks, said so in the report: issuing is measured on the scenario clock (the rules ran
hour by hour through the replayed day, so "crossed" is the hour a rule first fired and "issued"
the ``sent`` time of the warning's first published version); delivery is measured on the wall
clock, because the dispatcher, the receivers and their acknowledgements really ran.

Targets are local choices ⚠ (no national figure found): a warning issued within 30 minutes of
its threshold, a loudspeaker confirming play-out within 10 minutes of the message being queued.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from statistics import median
from typing import Any

import psycopg

from riskmap.geo.drills import twin
from riskmap.geo.vocabulary import BEIJING

ISSUE_TARGET = timedelta(minutes=30)
ACK_TARGET = timedelta(minutes=10)
TASK_WORDS = {"open": "未确认", "acknowledged": "已确认未完成", "done": "已完成"}


def drill_report(
    conn: psycopg.Connection,
    drill: dict[str, Any],
    *,
    issue_target: timedelta = ISSUE_TARGET,
    ack_target: timedelta = ACK_TARGET,
) -> dict[str, Any]:
    """Score the drill ``drill`` (its register row) from its schema; JSON-ready.

    The connection's search_path is set to the drill's schema for the transaction (the caller
    commits or rolls back).
    """
    twin.enter(conn, drill["schema_name"], local=True)
    warnings = _warnings(twin.SQL.rows(conn, "report_warnings.sql"), issue_target)
    headlines = {i["id"]: i["headline_zh"] for i in warnings["items"]}
    broadcast = _broadcast(twin.SQL.rows(conn, "report_broadcast.sql"), ack_target, headlines)
    sms = _sms(twin.SQL.rows(conn, "report_sms.sql"), drill)
    tasks = _tasks(
        twin.SQL.rows(conn, "report_responses.sql"),
        twin.SQL.rows(conn, "report_tasks.sql"),
        drill["scenario_end"],
    )
    late = warnings.pop("late") + broadcast.pop("late") + tasks.pop("late")
    return {
        "drill": {k: drill[k] for k in ("id", "scenario", "county_code", "targets", "status")}
        | {"scenario_start": drill["scenario_start"], "scenario_end": drill["scenario_end"]},
        "targets": {
            "issue_minutes": issue_target.total_seconds() / 60,
            "ack_minutes": ack_target.total_seconds() / 60,
        },
        "clocks": {
            "issue": "scenario (threshold crossed → first version sent)",
            "delivery": "wall clock (message queued → sent / acknowledged)",
        },
        "warnings": warnings,
        "broadcast": broadcast,
        "sms": sms,
        "tasks": tasks,
        "late": late,
    }


def _minutes(a: datetime | None, b: datetime | None) -> float | None:
    return None if a is None or b is None else round((b - a).total_seconds() / 60, 1)


def _seconds(a: datetime | None, b: datetime | None) -> float | None:
    return None if a is None or b is None else round((b - a).total_seconds(), 3)


def _warnings(rows: list[dict[str, Any]], target: timedelta) -> dict[str, Any]:
    items, late = [], []
    for r in rows:
        delay = _minutes(r["crossed_at"], r["issued_at"])
        on_time = delay is not None and delay <= target.total_seconds() / 60
        items.append(
            {
                "id": r["id"],
                "drill_id": r["drill_id"],
                "cap_status": r["cap_status"],
                "cap_identifier": r["cap_identifier"],
                "hazard": r["hazard"],
                "colour": r["colour"],
                "level": r["level"],
                "review": r["review"],
                "status": r["status"],
                "headline_zh": r["headline_zh"],
                "headline_en": r["headline_en"],
                "villages": r["villages"],
                "crossed_at": r["crossed_at"],
                "issued_at": r["issued_at"],
                "issue_minutes": delay,
                "on_time": on_time,
            }
        )
        if not on_time:
            late.append(_late_warning(r, delay, target))
    delays = [i["issue_minutes"] for i in items if i["issue_minutes"] is not None]
    return {
        "count": len(items),
        "issued": len(delays),
        "not_issued": len(items) - len(delays),
        "on_time": sum(i["on_time"] for i in items),
        "median_issue_minutes": median(delays) if delays else None,
        "max_issue_minutes": max(delays) if delays else None,
        "items": items,
        "late": late,
    }


def _late_warning(r: dict[str, Any], delay: float | None, target: timedelta) -> dict[str, Any]:
    crossed = r["crossed_at"].astimezone(BEIJING).strftime("%H:%M")
    goal = int(target.total_seconds() // 60)
    if delay is None:
        zh = (
            f"预警 {r['id']}「{r['headline_zh']}」：{crossed} 达到阈值，"
            "演练结束时仍未发布（待预报员审核）"
        )
        en = f"warning {r['id']}: threshold crossed at {crossed}, still not issued at the end"
    else:
        zh = (
            f"预警 {r['id']}「{r['headline_zh']}」：达到阈值后 {delay:g} 分钟才发布"
            f"（目标 {goal} 分钟）"
        )
        en = f"warning {r['id']}: issued {delay:g} min after its threshold (target {goal})"
    return {"kind": "warning", "id": r["id"], "zh": zh, "en": en}


def _broadcast(
    rows: list[dict[str, Any]], target: timedelta, headlines: dict[int, str]
) -> dict[str, Any]:
    """Coverage per village (a village reached by any warning counts once) and times per
    (warning, village): queued → sent, queued → acknowledged."""
    villages = {r["village_code"] for r in rows}
    reached = {r["village_code"] for r in rows if r["sent_at"] is not None}
    acked = {r["village_code"] for r in rows if r["acked_at"] is not None}
    sent_s = [s for r in rows if (s := _seconds(r["queued_at"], r["sent_at"])) is not None]
    ack_s = [s for r in rows if (s := _seconds(r["queued_at"], r["acked_at"])) is not None]
    limit = target.total_seconds()
    late = []
    by_warning: dict[int, list[str]] = {}
    for r in rows:
        took = _seconds(r["queued_at"], r["acked_at"])
        if took is None or took > limit:
            by_warning.setdefault(r["warning_id"], []).append(r["village_code"])
    for wid, codes in by_warning.items():
        zh = (
            f"预警 {wid}「{headlines.get(wid, '')}」：{len(codes)} 个村的村村响"
            f"未在 {limit / 60:g} 分钟内确认播放"
        )
        en = (
            f"warning {wid}: {len(codes)} village loudspeaker(s) not confirmed"
            f" within {limit / 60:g} min"
        )
        late.append({"kind": "broadcast", "id": wid, "villages": sorted(codes), "zh": zh, "en": en})
    return {
        "villages_targeted": len(villages),
        "villages_reached": len(reached),
        "villages_acknowledged": len(acked),
        "coverage": round(len(acked) / len(villages), 4) if villages else None,
        "pairs": len(rows),  # (warning, village)
        "pairs_acknowledged_on_time": sum(
            1
            for r in rows
            if (t := _seconds(r["queued_at"], r["acked_at"])) is not None and t <= limit
        ),
        "median_sent_seconds": round(median(sent_s), 3) if sent_s else None,
        "median_ack_seconds": round(median(ack_s), 3) if ack_s else None,
        "max_ack_seconds": max(ack_s) if ack_s else None,
        "pending": sum(r["pending"] for r in rows),
        "failed": sum(r["failed"] for r in rows),
        "late": late,
    }


def _sms(rows: list[dict[str, Any]], drill: dict[str, Any]) -> dict[str, Any]:
    by_status: Counter[str] = Counter()
    phones = 0
    for r in rows:
        by_status[f"{r['kind']}:{r['status']}"] += r["messages"]
        phones += r["phones"] if r["kind"] == "warning" else 0
    held = drill["targets"] == "reference"
    return {
        "messages": sum(by_status.values()),
        "by_status": dict(sorted(by_status.items())),
        "held": held,
        "note_zh": "参考接收端演练：短信已生成、未发送到真实手机" if held else "短信经网关发出",
        "note_en": "reference targets: texts written, not sent to real phones"
        if held
        else "texts sent through the gateway",
    }


def _tasks(
    responses: list[dict[str, Any]], rows: list[dict[str, Any]], end: datetime
) -> dict[str, Any]:
    on_time = [r for r in rows if r["done_at"] is not None and r["done_at"] <= r["due_at"]]
    done_late = [r for r in rows if r["done_at"] is not None and r["done_at"] > r["due_at"]]
    missed = [r for r in rows if r["done_at"] is None and r["due_at"] <= end]
    late = [
        {
            "kind": "task",
            "id": r["id"],
            "zh": f"任务 {r['id']}（{r['person_name'] or r['who']}）：{r['text_zh']} —"
            f" 期限 {r['due_at'].astimezone(BEIJING):%H:%M}，"
            + (
                f"{r['done_at'].astimezone(BEIJING):%H:%M} 才完成"
                if r["done_at"]
                else f"演练结束时{TASK_WORDS.get(r['status'], r['status'])}"
            ),
            "en": f"task {r['id']} ({r['who']}): due {r['due_at'].isoformat()},"
            + (" done late" if r["done_at"] else f" {r['status']} at the end"),
        }
        for r in (*done_late, *missed)
    ]
    return {
        "responses_started": [dict(r) for r in responses],
        "count": len(rows),
        "done_on_time": len(on_time),
        "done_late": len(done_late),
        "not_done_by_deadline": len(missed),
        "open_not_yet_due": len(rows) - len(on_time) - len(done_late) - len(missed),
        "late": late,
    }
