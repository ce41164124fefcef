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
#: CAP responseType: what the instruction asks people to do (checked against the instruction by
#: tests/geo/test_rules_texts.py).
Response = Literal[
    "Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "None",
]  # fmt: skip


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


class RainOutlook(_Input):
    """Rain of one ``hours`` window that starts in the past and ends in the coming hours: the
    observed rain of the last ``hours - k`` hours plus the forecast of the next ``k`` (实况 +
    预报), the wettest such window for k = 1 … ``hours``. ``name_observed`` and
    ``name_forecast`` are its two parts, so a text can say how much has already fallen."""

    OUTPUTS: ClassVar[tuple[str, ...]] = ("", "_observed", "_forecast")
    kind: Literal["rain_outlook"]
    hours: Literal[1, 3, 6, 12, 24]


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
    LABELS: ClassVar[tuple[str, ...]] = ("_station", "_station_name", "_river")
    kind: Literal["river_stage"]
    relations: tuple[Relation, ...] = ("downstream",)
    max_age_hours: float = Field(default=6.0, gt=0, le=72)


class ReservoirLevel(_Input):
    """Latest RZ of the reservoirs concerning the village against the 汛限水位 of the day:
    ``name`` = RZ − limit (m); flags for over limit, design and check flood levels."""

    OUTPUTS: ClassVar[tuple[str, ...]] = (
        "", "_over_limit", "_over_design", "_over_check", "_rz", "_limit",
    )  # fmt: skip
    LABELS: ClassVar[tuple[str, ...]] = ("_station", "_station_name")
    kind: Literal["reservoir_level"]
    relations: tuple[Relation, ...] = ("downstream",)
    max_age_hours: float = Field(default=6.0, gt=0, le=72)


class GeohazardRisk(_Input):
    """Lowest (most severe) level 1–4 of the active regional geohazard risk areas containing
    the village's hazard points, with the people, households and points at that level."""

    OUTPUTS: ClassVar[tuple[str, ...]] = ("", "_people", "_households", "_points")
    kind: Literal["geohazard_risk_level"]


class HotspotDistance(_Input):
    """Satellite hotspots of the last ``hours`` within ``max_km`` of the village, weighed.

    Detections repeating at one spot on earlier days (a factory's heat, see
    ``hotspot_distance.sql``) are set aside; ``cover`` keeps those on forest (``forest``: the
    forest-cover layer ≥ 0.5 there, or no layer covering the point), on open land, mostly
    farmland where straw is burnt (``farmland``), or ``any``. ``name`` is the distance (km) to
    the nearest kept hotspot, ``_count`` how many are kept, ``_confident`` 1 when the nearest
    is of nominal or high confidence (VIIRS ``n``/``h``, MODIS ≥ 30 %) or is not alone,
    ``_set_aside`` how many repeating detections were set aside; labels say what was seen.
    """

    OUTPUTS: ClassVar[tuple[str, ...]] = ("", "_count", "_confident", "_set_aside")
    LABELS: ClassVar[tuple[str, ...]] = (
        "_satellite", "_satellite_en", "_time", "_time_en", "_confidence", "_confidence_en",
    )  # fmt: skip
    kind: Literal["hotspot_distance_km"]
    hours: float = Field(default=24.0, gt=0, le=240)
    max_km: float = Field(default=20.0, gt=0, le=200)
    cover: Literal["forest", "farmland", "any"] = "any"


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
    """Highest colour (1 blue … 4 red) of active upstream CAP alerts covering the village.

    ``require_verified``: only alerts whose XML signature verified against the trusted
    certificates count; unsigned ('unverified') and 'invalid' ones never fire the rule. The
    labels carry the source's event, issuer and headline into Chinese texts only when it wrote
    Chinese (an English event goes to ``_event_en``): a relay to the villages stays zh-CN."""

    kind: Literal["upstream_cap_colour"]
    LABELS: ClassVar[tuple[str, ...]] = ("_event", "_event_en", "_issuer", "_headline")
    require_verified: bool = False


class SensorOverAlarm(_Input):
    """Sensors of the village's hazard points and sites over their alarm value: ``name`` =
    how many, ``name_ratio`` the highest reading / alarm value."""

    OUTPUTS: ClassVar[tuple[str, ...]] = ("", "_ratio")
    kind: Literal["sensor_over_alarm"]
    max_age_hours: float = Field(default=24.0, gt=0, le=240)


InputSpec = Annotated[
    RainWindow
    | RainForecast
    | RainOutlook
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
    "rain_window", "rain_forecast", "rain_outlook", "flash_threshold", "river_stage",
    "reservoir_level", "geohazard_risk_level", "hotspot_distance_km", "fire_danger_level",
    "quake_intensity", "upstream_cap_colour", "sensor_over_alarm",
)  # fmt: skip


class Scope(_Strict):
    """Which villages a rule considers: all (default), those whose code starts with one of
    ``codes`` (a county, township or village code), and/or those where ``where`` holds."""

    codes: tuple[Annotated[str, Field(pattern=r"^[1-9]\d{5}(\d{3}){0,2}$")], ...] | None = None
    where: str | None = None


#: A text: one template, or a list of sentences, each one template or a list of alternatives
#: of which the first whose placeholders all have a value is said (a missing input chooses
#: another sentence, never a placeholder or a dash); a sentence none of whose alternatives can
#: be said is left out.
Sentence = str | list[str | list[str]]


class Templates(_Strict):
    """Message templates (see :data:`Sentence`); unset fields fall back to the rule's (the
    CAP event to the rule's ``event_zh``/``event_en``: a relay sets it to the source's)."""

    event_zh: Sentence | None = None
    event_en: Sentence | None = None
    headline_zh: Sentence | None = None
    headline_en: Sentence | None = None
    description_zh: Sentence | None = None
    description_en: Sentence | None = None
    instruction_zh: Sentence | None = None
    instruction_en: Sentence | None = None


class Trigger(_Strict):
    """What a text says crossed what at a village: ``value`` reached ``threshold`` (a variable
    or a number), said for the worst villages by ``zh``/``en`` (placeholders: ``$village``,
    ``$value``, ``$threshold`` and that village's own variables and labels). ``levels``: the
    village levels it speaks for (default all)."""

    value: Annotated[str, Field(pattern=NAME)]
    threshold: Annotated[str, Field(pattern=NAME)] | float
    levels: tuple[Colour, ...] = ()
    zh: str | list[str]  # alternatives, as in a sentence
    en: str | list[str]


class Level(_Strict):
    """One level of a rule: when it fires, its CAP fields, action and templates."""

    when: str
    urgency: Urgency = "Expected"
    severity: Severity = "Moderate"
    certainty: Certainty = "Likely"
    action: Action | None = None
    response: Response | None = None  # CAP responseType; default: from the action, else Monitor
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
    triggers: list[Trigger] = []
    worst_by: str | None = None  # expression: the larger, the worse a village (texts quote it)
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
