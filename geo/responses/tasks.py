"""A response's tasks: made from the plan when a level starts, assigned to whoever is on duty,
told by SMS through the delivery outbox, then acknowledged, done, overdue or cancelled.

A level starts its own tasks and those of the levels below it not started yet (a response
started at Ⅱ does the Ⅳ and Ⅲ measures too). A ``township.*`` task is made once per township
concerned: those with villages under warnings of the plan's hazards, or every township of the
county when there are none (an earthquake, a county-wide call). Deadlines count from the
moment the level starts.
"""

from __future__ import annotations

import string
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.types.json import Jsonb

from riskmap.geo.errors import ConflictError, NotFoundError
from riskmap.geo.plans.model import LEVEL_NUMBER, ROMAN
from riskmap.geo.responses.store import SQL, event, roman
from riskmap.geo.vocabulary import BEIJING
from riskmap.geo.warnings.texts import sms_parts

if TYPE_CHECKING:
    from riskmap.geo.plans.load import CompiledPlan

#: titles of an office's head, the last fallback when nobody is on duty there ⚠ (demo titles)
HEAD_TITLES = ("局长", "乡镇长", "街道办主任")
VILLAGES_SHOWN = 10


def create_tasks(
    conn: psycopg.Connection,
    response: dict[str, Any],
    plan: CompiledPlan,
    level: int,
    at: datetime,
    actor: str,
    county_name: str,
) -> list[dict[str, Any]]:
    """Make, assign and notify the tasks of ``level`` and of the lower levels not started."""
    started = {r[0] for r in SQL.rows(conn, "started_levels.sql", response, shape="tuple")}
    hazards = list(plan.plan.hazards)
    towns = SQL.rows(
        conn, "townships.sql", {"county": response["county_code"], "at": at, "hazards": hazards}
    )
    concerned = [t for t in towns if t["villages"]] or towns
    made = []
    for key, lv in plan.plan.levels.items():
        number = LEVEL_NUMBER[key]
        if number < level or number in started:
            continue
        words = {"county": county_name, "plan": plan.plan.title_zh, "level": ROMAN[key]}
        for seq, task in enumerate(lv.tasks):
            office, post = task.who.split(".")
            places = concerned if office == "township" else [None]
            for town in places:
                where = dict(words)
                if town is not None:
                    shown = town["villages"][:VILLAGES_SHOWN]
                    more = "等" if len(town["villages"]) > VILLAGES_SHOWN else ""
                    where |= {
                        "township": town["name"],
                        "villages": "、".join(shown) + more or "无",
                        "n_villages": str(len(town["villages"])),
                    }
                else:
                    where |= {"villages": "", "n_villages": "0"}
                row = _task(conn, response, task, number, seq, office, post, town, where, at)
                if row is not None:
                    made.append(row)
                    _notify(conn, response, row, county_name, actor, at)
    return made


def _task(conn, response, task, number, seq, office, post, town, words, at) -> dict | None:
    county = response["county_code"]
    code = town["code"] if town is not None else county
    kind = {"county": "duty", "township": "duty"}.get(office, office)
    who = SQL.one(
        conn,
        "assignee.sql",
        {
            "kind": kind,
            "office": code,
            "post": post if kind == "duty" else None,
            "specialty": post if kind == "team" else None,
            "at": at,
            "head_titles": list(HEAD_TITLES),
        },
    ) or {"person_id": None, "name": None, "phone": None, "how": "unassigned"}
    row = SQL.one(
        conn,
        "insert_task.sql",
        {
            "response_id": response["id"],
            "level": number,
            "seq": seq,
            "who": task.who,
            "office": code,
            "text_zh": string.Template(task.zh).safe_substitute(words),
            "text_en": string.Template(task.en).safe_substitute(words),
            "person_id": who["person_id"],
            "person_name": who["name"],
            "phone": who["phone"],
            "how": who["how"],
            "due_at": at + timedelta(minutes=task.minutes),
            "at": at,
        },
    )
    if row is not None:
        event(conn, response["id"], "task_created", "system", at, level_to=number,
              task_id=row["id"], details={"who": task.who, "person": who["name"],
                                          "assigned_how": who["how"], "office": code})  # fmt: skip
    return row


def _notify(conn, response, task, county_name, actor, at) -> None:
    due = task["due_at"].astimezone(BEIJING).strftime("%H:%M")
    text = (
        f"【{county_name}应急管理局】{response['plan_title_zh']}{roman(task['level'])}级应急响应"
        f"任务：{task['text_zh']}。请于{due}前完成，并在系统中确认收到。"
    )
    payload = {
        "kind": "response_task",
        "response_id": response["id"],
        "task_id": task["id"],
        "level": task["level"],
        "text": text,
        "parts": sms_parts(text),
    }
    row = SQL.one(conn, "task_sms.sql", {"task_id": task["id"], "payload": Jsonb(payload)})
    if row is not None:
        event(conn, response["id"], "task_notified", actor, at, task_id=task["id"],
              details={"outbox_id": row["id"], "channel": "sms"})  # fmt: skip


def flag_overdue(conn: psycopg.Connection, at: datetime) -> list[int]:
    """Flag the unfinished tasks past their deadline at ``at``, each once (one timeline row
    and live event each); returns their ids."""
    return [r[0] for r in SQL.rows(conn, "overdue.sql", {"at": at}, shape="tuple")]


def update_task(
    conn: psycopg.Connection,
    response_id: int,
    task_id: int,
    action: str,
    actor: str,
    note: str | None = None,
    *,
    at: datetime,
) -> dict[str, Any]:
    """Acknowledge (``ack``, 收到) or finish (``done``) a task of an active response."""
    if action not in ("ack", "done"):
        raise ValueError(f"action must be one of ack, done; got {action!r}")
    with conn.transaction():
        task = SQL.one(conn, "lock_task.sql", {"id": response_id, "task_id": task_id})
        if task is None:
            raise NotFoundError(f"response {response_id} has no task {task_id}")
        if task["response_status"] != "active" or task["status"] in ("done", "cancelled"):
            raise ConflictError(
                f"task {task_id} is {task['status']} in a {task['response_status']} response:"
                " only open tasks of an active response can be acknowledged or done"
            )
        if action == "ack" and task["status"] == "acknowledged":
            raise ConflictError(f"task {task_id} is acknowledged already")
        status = "done" if action == "done" else "acknowledged"
        params = {"task_id": task_id, "status": status, "at": at, "actor": actor, "note": note}
        row = SQL.one(conn, "update_task.sql", params)
        kind = "task_done" if action == "done" else "task_acknowledged"
        event(conn, response_id, kind, actor, at, task_id=task_id, reason=note,
              level_to=task["level"])  # fmt: skip
    return row
