"""The 值班日报 as HTML (Jinja2) and PDF (WeasyPrint), from one template.

WeasyPrint lays out the same HTML and CSS the browser shows, so the download and the page never
differ; it draws text with Pango and finds the CJK font (Noto Sans CJK SC, Debian's
fonts-noto-cjk, installed by ``make setup``) through fontconfig, and embeds the glyphs it used,
so the PDF's Chinese is real, searchable text.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING

from riskmap.geo.duty.report import DutyReport
from riskmap.geo.duty.roster import POST_ZH
from riskmap.geo.errors import RiskmapError
from riskmap.geo.vocabulary import BEIJING, COLOUR_ZH, GRADE_ZH

if TYPE_CHECKING:  # Jinja2 is imported by the first report drawn, not by the API's start
    from jinja2 import Environment

WEEKDAY_ZH = "一二三四五六日"
KIND_ZH = {
    "landslide": "滑坡",
    "collapse": "崩塌",
    "debris_flow": "泥石流",
    "flood": "洪水",
    "waterlogging": "内涝",
    "fire": "火情",
    "other": "其他",
}
REPORT_STATUS_ZH = {"received": "待核实", "verified": "已核实", "false": "不实"}
WARNING_STATUS_ZH = {
    "candidate": "待审核",
    "issued": "生效中",
    "cancelled": "已解除",
    "expired": "已到期",
    "rejected": "已驳回",
}

#: response levels (应急响应 Ⅰ–Ⅳ, Ⅰ highest), kept apart from warning grades
RESPONSE_LEVEL_ZH = {1: "Ⅰ级", 2: "Ⅱ级", 3: "Ⅲ级", 4: "Ⅳ级"}
RESPONSE_STATUS_ZH = {
    "proposed": "待启动",
    "active": "响应中",
    "ended": "已终止",
    "dismissed": "未启动",
}


class PdfUnavailableError(RiskmapError):
    """WeasyPrint cannot run here (its Pango libraries are missing)."""


def _bj(value: datetime | None, fmt: str = "%H:%M") -> str:
    """A time in Beijing time; ``—`` for none."""
    return "—" if value is None else value.astimezone(BEIJING).strftime(fmt)


def _mm(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _level(colour: str) -> str:
    """红色（一级）: the signal colour and the warning grade, kept apart but shown together."""
    return f"{COLOUR_ZH[colour]}（{GRADE_ZH[colour]}）"


def _weekday(day) -> str:
    return "星期" + WEEKDAY_ZH[day.weekday()]


@cache
def _environment() -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("riskmap.geo.duty", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(bj=_bj, mm=_mm, level=_level, weekday=_weekday)
    env.globals.update(
        COLOUR_ZH=COLOUR_ZH,
        GRADE_ZH=GRADE_ZH,
        POST_ZH=POST_ZH,
        KIND_ZH=KIND_ZH,
        REPORT_STATUS_ZH=REPORT_STATUS_ZH,
        WARNING_STATUS_ZH=WARNING_STATUS_ZH,
        RESPONSE_LEVEL_ZH=RESPONSE_LEVEL_ZH,
        RESPONSE_STATUS_ZH=RESPONSE_STATUS_ZH,
    )
    return env


def render_html(report: DutyReport) -> str:
    """The report as a standalone zh-CN HTML page (styles inline, no external files)."""
    return _environment().get_template("duty_report.html.j2").render(r=report)


def render_pdf(report: DutyReport) -> bytes:
    """The report as an A4 PDF with the CJK glyphs embedded."""
    try:
        from weasyprint import HTML
    except OSError as exc:  # the Pango shared libraries are not installed
        raise PdfUnavailableError(
            f"PDF output needs Pango (Debian: libpango-1.0-0, libpangoft2-1.0-0; `make setup`"
            f" installs them): {exc}"
        ) from exc
    return HTML(string=render_html(report)).write_pdf()
