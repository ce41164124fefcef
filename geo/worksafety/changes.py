"""What the alarm engine reports when a site's alarm changes: the contract between it and the
modules that warn and notify (`riskmap.geo.worksafety.site_warning`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

AlarmKind = Literal["threshold", "fault"]


@dataclass(frozen=True)
class SiteAlarmChange:
    """An alarm of a site opened, rose or fell.

    Attributes
    ----------
    site_id
        ``hazardous_site.id``.
    item
        The monitoring item (``ws_point.item``), None for a whole-site (dam-level) alarm.
    level
        ``blue``/``yellow``/``orange``/``red`` (dams), ``high``/``high_high`` (chemical
        installations); for a device fault, the fault's kind (e.g. ``stuck``).
    previous_level
        The level before the change, None when the alarm opens.
    kind
        ``threshold`` (a reading beyond a threshold) or ``fault`` (the device, not the site).
    opened_at
        When the alarm opened (timezone-aware).
    summary_zh
        One line for people, e.g. ``浸润线埋深 3.2 m，低于红色报警值 4.0 m``.
    """

    site_id: str
    item: str | None
    level: str
    previous_level: str | None
    kind: AlarmKind
    opened_at: datetime
    summary_zh: str
