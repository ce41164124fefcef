"""Pydantic models of a plan file (应急预案): response levels, their conditions and tasks, tests.

A plan file holds ``plans:``, a list of plans. Each plan says, for each response level Ⅳ–Ⅰ
(keys ``IV`` … ``I``; Ⅰ is the highest), the condition that calls for it, written in the rules'
safe expression language over the fixed county variables of :mod:`riskmap.geo.plans.variables`,
and the tasks each duty post or department must do, with a deadline after the level starts.
Test cases give variables and the level expected. Response levels are not warning levels
(DOMAIN.md): nothing here mentions a colour except through a variable's name.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: Response levels, low → high. Stored as their number (Ⅰ = 1 … Ⅳ = 4).
LevelKey = Literal["IV", "III", "II", "I"]
LEVELS: tuple[LevelKey, ...] = ("IV", "III", "II", "I")
LEVEL_NUMBER: dict[str, int] = {"I": 1, "II": 2, "III": 3, "IV": 4}
LEVEL_OF_NUMBER: dict[int, LevelKey] = {n: k for k, n in LEVEL_NUMBER.items()}
ROMAN: dict[str, str] = {"I": "Ⅰ", "II": "Ⅱ", "III": "Ⅲ", "IV": "Ⅳ"}

#: Who a task goes to. ``county.*`` / ``township.*``: the leader (带班领导), chief (主班) or
#: officer (值班员) on duty in the county bureau or, one task each, in every township concerned;
#: ``warehouse.county``: the manager of the county relief warehouse; ``team.<specialty>``: the
#: leader of the county's rescue team of that specialty.
Assignee = Literal[
    "county.leader", "county.chief", "county.officer",
    "township.leader", "township.chief", "township.officer",
    "warehouse.county",
    "team.flood_control", "team.forest_fire", "team.hazardous_chemicals", "team.road_traffic",
    "team.outdoor_rescue", "team.comprehensive", "team.medical", "team.mine_rescue",
]  # fmt: skip
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")


def minutes_of(text: str) -> int:
    """``"1h30m"`` → 90; ``d``, ``h`` and ``m`` parts in that order, at least one."""
    m = _DURATION.match(text.strip())
    if not m or not any(m.groups()):
        raise ValueError(f"a duration such as 30m, 2h, 1h30m or 1d, not {text!r}")
    d, h, mins = (int(x or 0) for x in m.groups())
    return d * 1440 + h * 60 + mins


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Task(_Strict):
    """A task of a level: who does what by ``after`` the level starts.

    ``zh``/``en`` are ``string.Template`` texts; placeholders: ``$county``, ``$plan``,
    ``$level``, ``$township`` (township tasks), ``$villages`` (names of the villages under the
    plan's warnings there, at most ten) and ``$n_villages``.
    """

    after: str = Field(description="deadline after the level starts: 30m, 2h, 1h30m, 1d")
    who: Assignee
    zh: str = Field(min_length=1, max_length=300)
    en: str = Field(default="", max_length=500)

    @field_validator("after")
    @classmethod
    def _duration(cls, v: str) -> str:
        if minutes_of(v) > 7 * 1440:
            raise ValueError("a task deadline is at most 7d after the level starts")
        return v

    @property
    def minutes(self) -> int:
        return minutes_of(self.after)


class Level(_Strict):
    """One response level: when it is called for and the tasks it starts. A higher level also
    starts the tasks of the levels below it that have not been started yet."""

    when: str
    tasks: list[Task] = []


class TestCase(_Strict):
    """Given these county variables (absent = 0), the plan calls for ``expect``."""

    __test__ = False  # not a pytest class
    name: str
    given: dict[str, float] = {}
    expect: LevelKey | Literal["none"]


class Plan(_Strict):
    """A special emergency plan (专项应急预案) of a county."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_.-]*$")
    version: str = Field(min_length=1)
    title_zh: str = Field(min_length=1)
    title_en: str = Field(min_length=1)
    #: hazards of the warnings it concerns: their villages' townships get the township tasks
    hazards: tuple[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], ...] = ()
    #: after a commander dismisses a proposal, the same or a lower level is not proposed again
    #: for this long (hours); a higher level is
    quiet_hours: float = Field(default=6.0, ge=0, le=720)
    levels: dict[LevelKey, Level] = Field(min_length=1)
    tests: list[TestCase] = Field(min_length=1)

    @field_validator("levels")
    @classmethod
    def _ordered(cls, v: dict[str, Level]) -> dict[str, Level]:
        return {k: v[k] for k in LEVELS if k in v}


class PlanFile(_Strict):
    """A YAML plan file."""

    plans: list[Plan] = Field(min_length=1)
