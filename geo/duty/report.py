"""The daily duty report (值班日报) of one Beijing day and area: what the duty room saw and did.

Gathered from the tables the other parts write (rain per village, river and reservoir readings,
warnings and their versions, the delivery outbox, field reports, hand-over notes and, once
migration 0033 lands, responses), each section by one SQL file of this package, so the numbers
are those the rest of the system shows. The day is 00:00–24:00 Beijing time (UTC+8).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import psycopg

from riskmap.geo.db.sqlfiles import SqlFiles
from riskmap.geo.duty.handover import list_notes
from riskmap.geo.errors import InvalidArgumentError
from riskmap.geo.vocabulary import BEIJING, COLOURS, GRADE_ZH

SQL = SqlFiles("riskmap.geo.duty.sql")
NOT_REACHED = ("pending", "failed")
REACHED = ("acknowledged", "delivered")


@dataclass
class DutyReport:
    """Everything one 值班日报 shows; the templates render it, the API and CLI hand it out."""

    day: date
    area_code: str | None  # a county or city GB/T 2260 code; None: the whole installation
    area_name: str
    start: datetime  # 00:00 Beijing of ``day``, as UTC
    end: datetime
    generated_at: datetime
    roster: list[dict[str, Any]] = field(default_factory=list)
    rain: list[dict[str, Any]] = field(default_factory=list)  # per township, wettest first
    rivers: list[dict[str, Any]] = field(default_factory=list)
    reservoirs: list[dict[str, Any]] = field(default_factory=list)
    upstream: list[dict[str, Any]] = field(default_factory=list)
    issued: list[dict[str, Any]] = field(default_factory=list)
    ended: list[dict[str, Any]] = field(default_factory=list)
    candidates: dict[str, int] = field(default_factory=dict)
    deliveries: list[dict[str, Any]] = field(default_factory=list)  # per warning
    not_reached: list[dict[str, Any]] = field(default_factory=list)  # distinct villages
    field_reports: list[dict[str, Any]] = field(default_factory=list)
    handovers: list[dict[str, Any]] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Whether the day was over when the report was made (else it is 截至生成时)."""
        return self.generated_at >= self.end

    @property
    def shifts(self) -> list[dict[str, Any]]:
        """The county offices' shifts of the day: leader, chief and officers' names per shift."""
        out: dict[tuple, dict[str, Any]] = {}
        for r in self.roster:
            key = (r["org_code"], r["shift_start"])
            s = out.setdefault(
                key,
                {
                    "org_name": r["org_name"],
                    "start": r["shift_start"],
                    "end": r["shift_end"],
                    "duty_phone": r["duty_phone"],
                    "leader": [],
                    "chief": [],
                    "officer": [],
                },
            )
            s[r["post"]].append(r["name"])
        return list(out.values())

    @property
    def rain_max(self) -> dict[str, Any] | None:
        """The wettest township (its wettest village's total), None without rain data."""
        return self.rain[0] if self.rain else None

    @property
    def rain_mean(self) -> float | None:
        """Mean day total over every village with rain data."""
        n = sum(t["villages"] for t in self.rain)
        return sum(t["mean_mm"] * t["villages"] for t in self.rain) / n if n else None

    @property
    def issued_by_level(self) -> list[dict[str, Any]]:
        """Warnings issued per hazard (event) and level: ``{"event", "red", …, "total"}``,
        plus a last row ``合计``."""
        rows: dict[str, Counter] = {}
        for w in self.issued:
            rows.setdefault(w["event_zh"], Counter())[w["colour"]] += 1
        rows["合计"] = Counter(w["colour"] for w in self.issued)
        return [
            {"event": e, **{c: n[c] for c in COLOURS}, "total": n.total()} for e, n in rows.items()
        ]

    @property
    def issued_counts(self) -> list[tuple[str, int]]:
        """(grade word, count) of the warnings issued, highest grade first, zeros left out."""
        n = Counter(w["colour"] for w in self.issued)
        return [(GRADE_ZH[c], n[c]) for c in reversed(COLOURS) if n[c]]

    @property
    def delivery_totals(self) -> dict[str, int]:
        """Sums over the day's warnings (a village two warnings target counts twice)."""
        keys = ("villages", "reached", "not_reached", "no_terminal", "phones", "sms_sent")
        keys += ("sms_delivered",)
        return {k: sum(d[k] for d in self.deliveries) for k in keys}

    @property
    def report_totals(self) -> dict[str, int]:
        """Field reports not found false: count and people dead, injured, missing, affected."""
        real = [r for r in self.field_reports if r["status"] != "false"]
        sums = {k: sum(r[k] or 0 for r in real) for k in ("dead", "injured", "missing")}
        affected = sum(r["people_affected"] or 0 for r in real)
        return {"reports": len(real), "people_affected": affected} | sums

    @property
    def quiet(self) -> bool:
        """Nothing happened: no warnings, deliveries, reports, notes or responses."""
        return not (
            self.issued
            or self.ended
            or self.deliveries
            or self.field_reports
            or self.handovers
            or self.responses
            or any(self.candidates.values())
        )


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """00:00 and 24:00 Beijing time of ``day``, as UTC times (years 1900–2199)."""
    if not 1900 <= day.year < 2200:
        raise InvalidArgumentError(f"date must lie in the years 1900–2199, got {day.isoformat()}")
    start = datetime.combine(day, time(0), tzinfo=BEIJING).astimezone(UTC)
    return start, start + timedelta(days=1)


def area_prefix(code: str | None) -> str | None:
    """A city's four digits (430400 → 4304), a county's six: the prefix every code of the area
    starts with (the rule of riskmap.api.areas)."""
    if code is None:
        return None
    if len(code) != 6 or not code.isdigit() or code.endswith("0000"):
        raise InvalidArgumentError(f"area must be a 6-digit city or county code, got {code!r}")
    return code[:4] if code.endswith("00") else code


def build_report(
    conn: psycopg.Connection, day: date, area_code: str | None, now: datetime | None = None
) -> DutyReport:
    """The 值班日报 of ``day`` (Beijing) for ``area_code`` (county or city; None: all)."""
    start, end = day_bounds(day)
    prefix = area_prefix(area_code)
    p = {"d0": start, "d1": end, "area": prefix, "mmdd": day.strftime("%m%d")}
    name = SQL.one(conn, "report_area.sql", {"code": area_code}) if area_code else None
    report = DutyReport(
        day=day,
        area_code=area_code,
        area_name=(name or {}).get("name") or area_code or "全辖区",
        start=start,
        end=end,
        generated_at=now or datetime.now(UTC),
    )
    report.roster = SQL.rows(conn, "report_duty_roster.sql", p)
    report.rain = SQL.rows(conn, "report_rain.sql", p)
    report.rivers = SQL.rows(conn, "report_rivers.sql", p)
    report.reservoirs = SQL.rows(conn, "report_reservoirs.sql", p)
    report.upstream = SQL.rows(conn, "report_upstream.sql", p)
    report.issued = SQL.rows(conn, "report_warnings_issued.sql", p)
    report.ended = SQL.rows(conn, "report_warnings_ended.sql", p)
    report.candidates = {r["status"]: r["n"] for r in SQL.rows(conn, "report_candidates.sql", p)}
    report.deliveries, report.not_reached = _deliveries(SQL.rows(conn, "report_deliveries.sql", p))
    report.field_reports = SQL.rows(conn, "report_field_reports.sql", p)
    report.handovers = list_notes(conn, prefix, since=start, until=end)
    report.responses = SQL.rows(conn, "report_responses.sql", p)
    return report


def _deliveries(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Per warning: villages by state and SMS counts; and the distinct villages not reached."""
    per: dict[int, dict[str, Any]] = {}
    missed: dict[str, dict[str, Any]] = {}
    for r in rows:
        w = per.setdefault(
            r["warning_id"],
            {
                "warning_id": r["warning_id"],
                "version": r["version"],
                "event_zh": r["event_zh"],
                "colour": r["colour"],
                "villages": 0,
                "reached": 0,
                "not_reached": 0,
                "no_terminal": 0,
                "phones": 0,
                "sms_sent": 0,
                "sms_delivered": 0,
            },
        )
        w["villages"] += 1
        state = r["state"]
        w["reached" if state in REACHED else "not_reached" if state in NOT_REACHED else state] += 1
        for k in ("phones", "sms_sent", "sms_delivered"):
            w[k] = r[k]
        if state in NOT_REACHED:
            v = missed.setdefault(
                r["code"],
                {
                    "code": r["code"],
                    "name": r["name"],
                    "township": r["township_name"],
                    "warnings": [],
                },
            )
            v["warnings"].append(r["warning_id"])
    return list(per.values()), sorted(missed.values(), key=lambda v: v["code"])
