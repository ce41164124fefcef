"""What a rule hands to the warning lifecycle: one proposed warning level for an area.

The rules engine produces proposals (vectorised over villages, grouped by rule and level); the
lifecycle decides whether each becomes a new candidate, extends or escalates an existing
warning, or lets one run out. This small contract keeps the two apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from riskmap.geo.vocabulary import COLOURS, Colour

Review = Literal["auto", "forecaster"]
CapStatus = Literal["Actual", "Exercise", "Test"]


@dataclass(frozen=True)
class Proposal:
    """A rule fired at ``at`` for these villages at this level.

    ``evidence`` holds, per village code, the numbers that fired it (e.g. ``{"rain_3h": 112.4,
    "threshold": 100}``), so every warning can say why it exists.
    """

    rule_id: str
    rule_version: str
    hazard: str  # e.g. "rainstorm", "flash_flood", "river_flood", "geohazard", "forest_fire"
    colour: Colour
    at: datetime
    village_codes: tuple[str, ...]
    evidence: Mapping[str, Mapping[str, float | str]]  # a dict, or the engine's EvidenceTable
    event_zh: str
    event_en: str
    headline_zh: str
    headline_en: str
    description_zh: str
    description_en: str
    instruction_zh: str
    instruction_en: str
    category: str = "Met"  # CAP category
    urgency: str = "Expected"
    severity: str = "Moderate"
    certainty: str = "Likely"
    review: Review = "forecaster"
    hold_hours: float = 3.0  # how long after the rule stops firing before expiry / all-clear
    cap_status: CapStatus = "Actual"
    action: str | None = None  # e.g. "prepare_evacuation" / "evacuate_now" for flash floods
    extra: dict[str, str] = field(default_factory=dict)
    # renders the six texts again for (village codes, evidence) of a merged or grown area, so
    # counts and numbers always match the version's own villages (riskmap.geo.rules.render)
    render: Callable[[Any, Any], dict[str, str]] | None = field(
        default=None, compare=False, repr=False
    )

    @property
    def rank(self) -> int:
        """0 (blue) … 3 (red), for comparing levels."""
        return COLOURS.index(self.colour)
