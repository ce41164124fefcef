"""The drill report as a duty officer reads it: Chinese first, each line with its English."""

from __future__ import annotations

from typing import Any

from riskmap.geo.vocabulary import BEIJING


def report_lines(report: dict[str, Any], *, max_late: int = 12) -> list[str]:
    """Lines for a terminal or a note: scores first, then what was late."""
    d, w, b, s, t = (report[k] for k in ("drill", "warnings", "broadcast", "sms", "tasks"))
    start = d["scenario_start"].astimezone(BEIJING)
    goal_issue, goal_ack = report["targets"]["issue_minutes"], report["targets"]["ack_minutes"]
    lines = [
        f"演练 {d['id']} 评估（{d['scenario']}，{d['county_code']}，"
        f"情景 {start:%Y-%m-%d %H:%M} 北京时间起）"
        f" / drill {d['id']} report",
        f"预警：共 {w['count']} 条（CAP 状态 Exercise），已发布 {w['issued']} 条，"
        f"{w['on_time']} 条在达到阈值后 {goal_issue:g} 分钟内发布，{w['not_issued']} 条未发布"
        f" / warnings: {w['count']}, issued {w['issued']}, on time {w['on_time']}",
    ]
    if w["median_issue_minutes"] is not None:
        lines.append(
            f"  达到阈值到发布：中位 {w['median_issue_minutes']:g} 分钟，"
            f"最长 {w['max_issue_minutes']:g} 分钟"
            " / threshold → issued: median, max (scenario clock)"
        )
    cover = "—" if b["coverage"] is None else f"{100 * b['coverage']:.1f}%"
    lines.append(
        f"村村响：应送达 {b['villages_targeted']} 个村，已送达 {b['villages_reached']} 个，"
        f"确认播放 {b['villages_acknowledged']} 个（覆盖率 {cover}）"
        f" / loudspeakers: villages targeted, reached, acknowledged"
    )
    if b["median_ack_seconds"] is not None:
        lines.append(
            f"  消息生成到确认播放：中位 {b['median_ack_seconds']:.1f} 秒，"
            f"最长 {b['max_ack_seconds']:.1f} 秒；"
            f"{b['pairs_acknowledged_on_time']}/{b['pairs']} 在 {goal_ack:g} 分钟内"
            " / queued → acknowledged (wall clock)"
        )
    lines.append(f"短信：{s['messages']} 条，{s['note_zh']} / SMS: {s['note_en']}")
    if t["responses_started"]:
        levels = "、".join(
            f"{r['plan_title_zh']} {'ⅠⅡⅢⅣ'[r['level'] - 1]}级" for r in t["responses_started"]
        )
        lines.append(
            f"应急响应：启动 {levels}；任务 {t['count']} 项，按时完成 {t['done_on_time']}，"
            f"超时完成 {t['done_late']}，到期未完成 {t['not_done_by_deadline']}"
            " / response tasks: on time, late, not done by the deadline"
        )
    else:
        lines.append("应急响应：本次演练未启动 / no response was started")
    late = report["late"]
    lines.append(f"超时或未完成事项 {len(late)} 项 / late or missed: {len(late)}")
    lines += [f"  · {item['zh']}" for item in late[:max_late]]
    if len(late) > max_late:
        lines.append(f"  … 另有 {len(late) - max_late} 项，见 GET /api/drills/{d['id']}/report")
    return lines
