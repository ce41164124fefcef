"""What MICAPS type 3 and type 4 files share: the text, its tokens, the header time, the period.

A MICAPS file is whitespace-separated text whose first line is ``diamond <type> <description>``
(the description runs to the end of that line), in UTF-8 (with or without BOM) or GBK/GB 18030
as Chinese forecasting offices write it. Every later token is kept with its line number, so an
error names the line and the field.

Times: the header's year (two or four digits), month, day and hour are Beijing time (UTC+8) by
convention; they are stored in UTC. Two-digit years follow POSIX ``%y``: 69–99 → 1969–1999,
00–68 → 2000–2068.

Which rain: the description must say it is rainfall (降水, 降雨, 雨量, rain, precip, QPE, QPF)
and how long the accumulation is (``24小时降水量``, ``3h``, ``1 hour``, 日降水 = 24 h); type 3
files may instead carry level -1 (6 h rain) or -2 (24 h rain), MICAPS's plotting codes. A
file that does not say either is refused rather than guessed at.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from riskmap.geo.vocabulary import BEIJING_OFFSET
from riskmap.ingest.batch import FeedReadError

_MAGIC = re.compile(rb"^\s*diamond\s+(\d+)", re.IGNORECASE)
_RAIN = re.compile(r"降水|降雨|雨量|rain|precip|qp[ef]", re.IGNORECASE)
_HOURS = re.compile(r"(\d{1,3})\s*(?:个)?\s*(?:小时|hours?\b|hrs?\b|h\b|h(?=[^a-z]))", re.I)
_DAILY = re.compile(r"日降水|日雨量|daily", re.IGNORECASE)
LEVEL_HOURS = {-1: 6, -2: 24}  # MICAPS type 3 plotting codes for 6 h and 24 h rain
MAX_LEAD_H = 24 * 366  # a longer lead or accumulation is a damaged header, not a forecast


def micaps_type(head: bytes) -> int | None:
    """The MICAPS type a file's first bytes declare (``diamond 4`` → 4), else None."""
    m = _MAGIC.match(head.removeprefix(codecs.BOM_UTF8))
    return int(m.group(1)) if m else None


@dataclass(frozen=True)
class Token:
    """One whitespace-separated word of the file and the line it is on."""

    text: str
    line: int


@dataclass
class MicapsText:
    """A MICAPS file split into its type, description and the tokens after the first line."""

    name: str
    type: int
    description: str
    tokens: list[Token]
    pos: int = 0

    def peek(self, field: str) -> Token:
        """The next token, left in place; running out names the field that is missing."""
        if self.pos >= len(self.tokens):
            last = self.tokens[-1].line if self.tokens else 1
            raise FeedReadError(f"{self.name}: line {last}: the file ends before field {field}")
        return self.tokens[self.pos]

    def take(self, field: str) -> Token:
        """The next token, consumed."""
        token = self.peek(field)
        self.pos += 1
        return token

    def number(self, field: str) -> float:
        """The next token as a number; anything else is an error naming line and field."""
        token = self.take(field)
        try:
            return float(token.text)
        except ValueError:
            raise FeedReadError(
                f"{self.name}: line {token.line}, field {field}: {token.text!r} is not a number"
            ) from None

    def integer(self, field: str) -> int:
        """The next token as a whole number (``12`` or ``12.0``)."""
        line = self.peek(field).line
        value = self.number(field)
        if not value.is_integer():
            raise FeedReadError(
                f"{self.name}: line {line}, field {field}: {value:g} is not a whole number"
            )
        return int(value)


def read_text(path: Path) -> MicapsText:
    """Decode (UTF-8, else GB 18030, a superset of GBK) and tokenise a MICAPS file."""
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise FeedReadError(
                f"{path.name}: line 1: neither UTF-8 nor GBK/GB 18030 text ({exc})"
            ) from exc
    lines = text.splitlines()
    top = next((i for i, line in enumerate(lines) if line.strip()), 0)  # blank lines before
    first = lines[top].split(maxsplit=2) if lines else []
    if len(first) < 2 or first[0].lower() != "diamond" or not first[1].isdecimal():
        raise FeedReadError(f"{path.name}: line {top + 1}: not a MICAPS file (no 'diamond <type>')")
    tokens = [  # commas dropped, as in "1,234" (thousands), the way nmc-met-io reads them
        Token(word, n)
        for n, line in enumerate(lines[top + 1 :], start=top + 2)
        for word in line.replace(",", "").split()
    ]
    return MicapsText(path.name, int(first[1]), first[2].strip() if len(first) > 2 else "", tokens)


def header_time(text: MicapsText) -> tuple[datetime, int]:
    """Year, month, day, hour (Beijing time) → aware UTC time, and the line they are on."""
    year_token = text.peek("year")
    year = text.integer("year")
    if len(year_token.text.split(".")[0]) <= 2:
        year += 1900 if year >= 69 else 2000
    month, day, hour = text.integer("month"), text.integer("day"), text.integer("hour")
    try:
        local = datetime(year, month, day, hour)
    except (ValueError, OverflowError) as exc:
        raise FeedReadError(
            f"{text.name}: line {year_token.line}, field year/month/day/hour:"
            f" {year}-{month}-{day} {hour}h is not a time ({exc})"
        ) from exc
    return (local - BEIJING_OFFSET).replace(tzinfo=UTC), year_token.line


def rain_hours(text: MicapsText, level: int | None = None) -> int:
    """Hours of accumulation the description (or a type 3 level code) states; refuses a file
    that is not rainfall or does not say its period."""
    desc = text.description
    by_level = LEVEL_HOURS.get(level) if level is not None else None
    if not (_RAIN.search(desc) or by_level):
        raise FeedReadError(
            f"{text.name}: line 1, field description: {desc!r} is not a rainfall product"
            " (expected 降水/降雨/雨量/rain/precipitation in the description)"
        )
    m = _HOURS.search(desc)
    hours = int(m.group(1)) if m else (24 if _DAILY.search(desc) else None)
    if hours is not None and by_level is not None and hours != by_level:
        raise FeedReadError(
            f"{text.name}: line 2, field level: level {level} means {by_level} h rain but the"
            f" description {desc!r} says {hours} h"
        )
    hours = hours or by_level
    if hours and hours > MAX_LEAD_H:
        raise FeedReadError(f"{text.name}: line 1, field description: {hours} h accumulation")
    if not hours:
        raise FeedReadError(
            f"{text.name}: line 1, field description: {desc!r} does not state the"
            " accumulation period (e.g. '24小时降水量', '3h rain')"
        )
    return hours
