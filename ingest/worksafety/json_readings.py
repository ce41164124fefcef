"""Readings as JSON (MQTT messages and ``POST /api/readings``): one object or a list of them,
each ``{"point": id, "tm": ISO 8601 with its offset, "value": number, "flag": "N"}``; the point
may come from the MQTT topic instead. Each item is checked on its own: a bad one is refused
with its reason, the good ones are kept."""

from __future__ import annotations

import json
import math
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError, field_validator

Flag = Literal["N", "F", "M", "S", "D", "C", "T", "B"]


class ReadingIn(BaseModel):
    """One reading of a monitoring point, named by its id."""

    model_config = ConfigDict(extra="forbid")

    point: str
    tm: AwareDatetime  # a time without its offset is ambiguous (Beijing? UTC?): refused
    value: float
    flag: Flag = "N"  # HJ 212 data flags; only N counts for alarms

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("value must be a finite number")
        return v


def parse_json_readings(
    payload: bytes | str, point: str | None = None
) -> tuple[list[ReadingIn], list[tuple[str, str | None, str]]]:
    """The readings of a JSON payload and the refusals (record, field, reason) of its bad
    items; ``point`` fills in items that name none (MQTT topic ``…/<point id>``)."""
    try:
        doc = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as exc:
        return [], [("message", None, f"not JSON: {exc}"[:300])]
    items = doc if isinstance(doc, list) else [doc]
    good: list[ReadingIn] = []
    bad: list[tuple[str, str | None, str]] = []
    for i, item in enumerate(items, start=1):
        record = f"item {i}"
        if not isinstance(item, dict):
            bad.append((record, None, "not an object {point, tm, value, flag}"))
            continue
        if point is not None:
            item = {"point": point, **item}
        try:
            good.append(ReadingIn.model_validate(item))
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(x) for x in first["loc"]) or None
            bad.append((record, field, f"{first['msg']}"[:300]))
    return good, bad
