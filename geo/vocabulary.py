"""The words and constants every layer shares: levels, time zone, XML namespaces, physical limits.

One home, so that a colour word, a grade word or the rain a period may not exceed means the
same thing in the rules, the CAP writer, the broadcast text, the feeds and the pages.
Terms follow DOMAIN.md: the signal colour (蓝/黄/橙/红), the warning grade (四级 … 一级) and the
response level (Ⅰ–Ⅳ, not here: a response is not a warning) are kept apart.
"""

from __future__ import annotations

from datetime import timedelta, timezone
from typing import Literal

# -- warning levels ------------------------------------------------------------------------------

Colour = Literal["blue", "yellow", "orange", "red"]
COLOURS: tuple[Colour, ...] = ("blue", "yellow", "orange", "red")  # low → high
#: Signal colour words, as a warning's headline says them (暴雨橙色预警).
COLOUR_ZH: dict[str, str] = {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}
COLOUR_EN: dict[str, str] = {c: c for c in COLOURS}
#: Warning grades (预警级别): 一级 is the highest, as red is.
GRADE_ZH: dict[str, str] = {"blue": "四级", "yellow": "三级", "orange": "二级", "red": "一级"}
GRADE_EN: dict[str, str] = {"blue": "IV", "yellow": "III", "orange": "II", "red": "I"}
COLOUR_OF_GRADE_ZH: dict[str, str] = {grade: colour for colour, grade in GRADE_ZH.items()}

# -- time ----------------------------------------------------------------------------------------

#: China keeps UTC+8 all year (no daylight saving since 1991): a fixed offset is exact for every
#: time a feed or warning carries, and cheaper than a zoneinfo lookup in vectorised code.
BEIJING_OFFSET = timedelta(hours=8)
BEIJING = timezone(BEIJING_OFFSET, "Asia/Shanghai")

# -- XML namespaces ------------------------------------------------------------------------------

CAP_12_NS = "urn:oasis:names:tc:emergency:cap:1.2"
CAP_11_NS = "urn:oasis:names:tc:emergency:cap:1.1"
ATOM_NS = "http://www.w3.org/2005/Atom"

# -- physical limits -----------------------------------------------------------------------------

#: Rain of one period (one hour to a day) above which a value is a sentinel or a unit error, not
#: rain; the village_rain table refuses it too (migration check constraint).
RAIN_MAX_MM = 2000.0
#: More rain within one hour is beyond any record (world record ≈ 305 mm).
HOURLY_RAIN_MAX_MM = 300.0

# -- rainfall frequency flags --------------------------------------------------------------------

#: A critical rainfall reached more often than once a year on average (partial-duration return
#: period below this) will over-warn (over_warn); one whose annual-maximum return period is
#: above the other may never warn (may_never_warn). Here, not in geo/frequency, so the API
#: states them without importing scipy.
OVER_WARN_BELOW_YEARS = 1.0
NEVER_WARN_ABOVE_YEARS = 50.0
