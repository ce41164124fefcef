"""Pydantic models of a rule file: rules, their inputs, levels, CAP fields, templates and tests.

A rule file holds ``rules:``, a list of rules. Each rule names its inputs (from the fixed
catalogue below; each kind provides one or more variables, e.g. an input ``river`` of kind
``river_stage`` provides ``river``, ``river_over_warning``, ``river_z`` …), conditions per
level in the safe expression language (:mod:`riskmap.geo.rules.expr`), CAP fields, zh-CN and English
templates (``string.Template`` placeholders ``$name``), the review policy and test cases.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from riskmap.geo.vocabulary import COLOURS, Colour
from riskmap.geo.warnings.proposal import Review

NAME = r"^[a-z][a-z0-9_]*$"
Relation = Literal["downstream", "floodplain", "rain_area", "nearby"]
Urgency = Literal["Immediate", "Expected", "Future", "Past", "Unknown"]
Severity = Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]
Certainty = Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]
Category = Literal[
    "Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env", "Transport", "Infra",
    "CBRNE", "Other",
]  # fmt: skip
Action = Literal["prepare_evacuation", "evacuate_now"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


class _Input(_Strict):
    """One input kind: ``OUTPUTS`` are the numeric variables it adds (suffixes of the input's
    name; ``""`` is the name itself), ``LABELS`` text shown in the evidence only."""

    OUTPUTS: ClassVar[tuple[str, ...]] = ("",)
    LABELS: ClassVar[tuple[str, ...]] = ()


class RainWindow(_Input):
    """Observed village rain (mm) over the last ``hours`` up to the run time."""

    kind: Literal["rain_window"]
    hours: Literal[1, 3, 6, 12, 24]


class RainForecast(_Input):
    """Forecast village rain (mm) over the next ``hours``, latest QPF run issued by then."""

    kind: Literal["rain_forecast"]
    hours: int = Field(ge=1, le=72)


class FlashThreshold(_Input):
    """The village's own critical rainfall (mm) for ``duration_h``; NULL where it has none."""

    kind: Literal["flash_threshold"]
    duration_h: Literal[1, 3, 6, 12, 24]
    stage: Literal["prepare", "immediate"]


class RiverStage(_Input):
    """Latest stage at the river gauges concerning the village, the gauge highest against its
    indicators: ``name`` = (Z − WRZ) / (GRZ − WRZ), ≥ 0 over warning, ≥ 1 over guarantee."""

    OUTPUTS: ClassVar[tuple[str, ...]] = (
        "", "_over_warning", "_over_alarm", "_over_guarantee", "_z", "_wrz", "_grz",
    )  # fmt: skip
    LABELS: ClassVar[tuple[str, ...]] = ("_station",)
    kind: Literal["river_stage"]
    relations: tuple[Relation, ...] = ("downstream",)
    max_age_hours: float = Field(default=6.0, gt=0, le=72)


class ReservoirLevel(_Input):
    """Latest RZ of the reservoirs concerning the village against the 汛限水位 of the day:
    ``name`` = RZ − limit (m); flags for over limit, design and check flood levels."""

    OUTPUTS: ClassVar[tuple[str, ...]] = (
        "", "_over_limit", "_over_design", "_over_check", "_rz", "_limit",
    )  # fmt: skip
    LABELS: ClassVar[tuple[str, ...]] = ("_station",)
    kind: Literal["reservoir_level"]
    relations: tuple[Relation, ...] = ("downstream",)
    max_age_hours: float = Field(default=6.0, gt=0, le=72)


class GeohazardRisk(_Input):
    """Lowest (most severe) level 1–4 of the active regional geohazard risk areas containing
    the village's hazard points, with the people, households and points at that level."""

    OUTPUTS: ClassVar[tuple[str, ...]] = ("", "_people", "_households", "_points")
    kind: Literal["geohazard_risk_level"]


class HotspotDistance(_Input):
    """Distance (km) from the village to the nearest satellite hotspot of the last ``hours``
    within ``max_km`` (NULL beyond), and how many lie within ``max_km``."""

    OUTPUTS: ClassVar[tuple[str, ...]] = ("", "_count")
    kind: Literal["hotspot_distance_km"]
    hours: float = Field(default=24.0, gt=0, le=240)
    max_km: float = Field(default=20.0, gt=0, le=200)


class FireDanger(_Input):
    """Highest active forest-fire danger level (1–5) over the village."""

    kind: Literal["fire_danger_level"]


class QuakeIntensity(_Input):
    """Estimated intensity at the village from the earthquakes of the last ``hours``."""

    OUTPUTS: ClassVar[tuple[str, ...]] = ("", "_magnitude", "_distance_km")
    kind: Literal["quake_intensity"]
    hours: float = Field(default=24.0, gt=0, le=240)
    region: Literal["eastern", "moderate"] = "eastern"


class UpstreamCapColour(_Input):
    """Highest colour (1 blue … 4 red) of active upstream CAP alerts covering the village."""

    kind: Literal["upstream_cap_colour"]
    LABELS: ClassVar[tuple[str, ...]] = ("_event",)


class SensorOverAlarm(_Input):
    """Sensors of the village's hazard points and sites over their alarm value: ``name`` =
    how many, ``name_ratio`` the highest reading / alarm value."""

    OUTPUTS: ClassVar[tuple[str, ...]] = ("", "_ratio")
    kind: Literal["sensor_over_alarm"]
    max_age_hours: float = Field(default=24.0, gt=0, le=240)


InputSpec = Annotated[
    RainWindow
    | RainForecast
    | FlashThreshold
    | RiverStage
    | ReservoirLevel
    | GeohazardRisk
    | HotspotDistance
    | FireDanger
    | QuakeIntensity
    | UpstreamCapColour
    | SensorOverAlarm,
    Field(discriminator="kind"),
]
INPUT_KINDS: tuple[str, ...] = (
    "rain_window", "rain_forecast", "flash_threshold", "river_stage", "reservoir_level",
    "geohazard_risk_level", "hotspot_distance_km", "fire_danger_level", "quake_intensity",
    "upstream_cap_colour", "sensor_over_alarm",
)  # fmt: skip


class Scope(_Strict):
    """Which villages a rule considers: all (default), those whose code starts with one of
    ``codes`` (a county, township or village code), and/or those where ``where`` holds."""

    codes: tuple[Annotated[str, Field(pattern=r"^[1-9]\d{5}(\d{3}){0,2}$")], ...] | None = None
    where: str | None = None


class Templates(_Strict):
    """Message templates; unset fields fall back to the rule's."""

    headline_zh: str | None = None
    headline_en: str | None = None
    description_zh: str | None = None
    description_en: str | None = None
    instruction_zh: str | None = None
    instruction_en: str | None = None


class Level(_Strict):
    """One level of a rule: when it fires, its CAP fields, action and templates."""

    when: str
    urgency: Urgency = "Expected"
    severity: Severity = "Moderate"
    certainty: Certainty = "Likely"
    action: Action | None = None
    review: Review | None = None  # default: the rule's
    templates: Templates = Templates()


class TestCase(_Strict):
    """Given these input values for one village (absent = NULL), the rule gives ``expect``."""

    __test__ = False  # not a pytest class
    name: str
    inputs: dict[str, float | None]
    expect: Colour | Literal["none"]


class Rule(_Strict):
    """A rule: which villages, what it reads, when each level fires and what it says."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_.-]*$")
    version: str = Field(min_length=1)
    hazard: str = Field(pattern=NAME)
    title_zh: str
    title_en: str
    event_zh: str
    event_en: str
    category: Category = "Met"
    scope: Scope = Scope()
    inputs: dict[Annotated[str, Field(pattern=NAME)], InputSpec] = Field(min_length=1)
    levels: dict[Colour, Level] = Field(min_length=1)
    templates: Templates = Templates()
    review: Review = "forecaster"
    hold_hours: float = Field(default=3.0, gt=0, le=240)
    tests: list[TestCase] = Field(min_length=1)

    @field_validator("levels")
    @classmethod
    def _ordered(cls, v: dict[Colour, Level]) -> dict[Colour, Level]:
        return {c: v[c] for c in COLOURS if c in v}


class RuleFile(_Strict):
    """A YAML rule file."""

    rules: list[Rule] = Field(min_length=1)
