"""Query parameter types several routers share: dates and times as ISO 8601 text only.

pydantic also reads a number as a Unix time (``?at=0.5`` is 1970-01-01T00:00:00.5Z, ``?date=0``
1 January 1970). No client means that, and the OpenAPI document promises ``date-time`` and
``date``: a number is 422 here, like any other value the document does not allow.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator

_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


def _text(value: Any) -> Any:
    if isinstance(value, int | float) or (isinstance(value, str) and _NUMBER.fullmatch(value)):
        raise ValueError("an ISO 8601 date or time (like 2026-07-14T10:00+08:00), not a number")
    return value


Instant = Annotated[datetime, BeforeValidator(_text)]
"""A date and time (a time zone may be required by the handler)."""
AwareInstant = Annotated[AwareDatetime, BeforeValidator(_text)]
"""A date and time with its time zone."""
Day = Annotated[date, BeforeValidator(_text)]
"""A calendar day, ``YYYY-MM-DD``."""
