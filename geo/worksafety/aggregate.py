"""Grade a monitoring item (监测项目) from its points' levels and a whole site from its items.

A tailings dam is not graded by its worst point alone: GB 39496-2020 §5.5.4 makes several
points of one level raise their item a level (4 blue points → a yellow item, 3 yellow → orange,
2 orange → red) and several items raise the dam (4 blue items count as 1 yellow item, …). The
counts are data (``gb51108_aggregation.yaml``); this module only applies them, and says why in
Chinese so the duty officer can read the reason beside the colour.

Point levels come from the alarm engine (``riskmap.geo.worksafety.levels``); ``None`` is a
point without an alarm. ``SiteConfig.station_levels`` turns point id → level into the
``{item: [level per 监测点]}`` these functions take (a GNSS station's amount and rate count once).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, model_validator

from riskmap.geo.worksafety.vocabulary import ITEM_ZH
from riskmap.geo.worksafety.vocabulary import LEVEL_TEXT_ZH as LEVEL_ZH

COLOURS = ("blue", "yellow", "orange", "red")
_RANK = {c: i for i, c in enumerate(COLOURS)}
# site kinds graded by another kind's rules
_SAME_RULES = {"fireworks_shop": "fireworks_warehouse"}


class Promote(BaseModel):
    """``count`` members at ``level`` raise the group to ``to``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    level: str
    count: int
    to: Literal["blue", "yellow", "orange", "red"]


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    cascade: bool = False
    promote: tuple[Promote, ...] = ()


class KindRules(BaseModel):
    """How one kind of site is graded (one block of the YAML file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    standard: str
    levels: tuple[str, ...]
    colour: dict[str, Literal["blue", "yellow", "orange", "red"]] | None = None
    item: Step
    dam: Step | None = None
    site: Literal["highest"] | None = None

    @model_validator(mode="after")
    def _coherent(self) -> KindRules:
        colour = self.colour_of
        unknown = [lv for lv in self.levels if lv not in colour]
        if unknown:
            raise ValueError(f"levels without a colour: {unknown}")
        for p in self.item.promote:
            if p.level not in self.levels or p.count < 1:
                raise ValueError(f"item rule {p}: level must be one of {self.levels}, count ≥ 1")
        if self.item.cascade and any(colour[lv] != lv for lv in self.levels):
            raise ValueError("item cascade needs point levels that are colours")
        if (self.dam is None) == (self.site is None):
            raise ValueError("give either `dam` (counted items) or `site: highest`")
        for p in self.dam.promote if self.dam else ():
            if p.level not in COLOURS or p.count < 1:
                raise ValueError(f"dam rule {p}: level must be one of {COLOURS}, count ≥ 1")
        return self

    @property
    def colour_of(self) -> dict[str, str]:
        return self.colour or {lv: lv for lv in self.levels}


@dataclass(frozen=True)
class ItemGrade:
    """An item's level (a colour, or None) with the reason, and its points' levels counted."""

    item: str
    level: str | None
    reason: str
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SiteGrade:
    """The site's level with the reason, and each item's grade."""

    kind: str
    level: str | None
    reason: str
    items: dict[str, ItemGrade]


@cache
def load_rules() -> dict[str, KindRules]:
    """The bundled rules, validated (cached: the file ships with the package)."""
    text = (resources.files(__package__) / "gb51108_aggregation.yaml").read_text("utf-8")
    return parse_rules(yaml.safe_load(text))


def parse_rules(data: Mapping) -> dict[str, KindRules]:
    """Rules from the YAML structure (``{kind: {...}}``); raises pydantic's ValidationError."""
    return {kind: KindRules.model_validate(block) for kind, block in data.items()}


def grade_item(
    kind: str, item: str, levels: Sequence[str | None], rules: Mapping[str, KindRules] | None = None
) -> ItemGrade:
    """Grade one item of a ``kind`` site from its points' levels (None = no alarm)."""
    r = _rules_for(kind, rules)
    bad = sorted({lv for lv in levels if lv is not None and lv not in r.levels})
    if bad:
        raise ValueError(f"{item}: point levels {bad} are not among {list(r.levels)}")
    counts = Counter(lv for lv in levels if lv is not None)
    if not counts:
        return ItemGrade(item, None, "无监测点预警", {})
    colour = r.colour_of
    top = max(counts, key=lambda lv: (_RANK[colour[lv]], r.levels.index(lv)))
    level, reason = colour[top], f"最高为{LEVEL_ZH[top]}"
    if top != colour[top]:
        reason += f"，即{LEVEL_ZH[colour[top]]}"
    promoted, steps = _promote(counts, r.item, unit="个监测点", to_word="项目升为")
    if promoted is not None and _RANK[promoted] > _RANK[level]:
        level, reason = promoted, steps[-1]
    return ItemGrade(item, level, reason, dict(counts))


def grade_site(
    kind: str,
    point_levels: Mapping[str, Sequence[str | None]],
    rules: Mapping[str, KindRules] | None = None,
) -> SiteGrade:
    """Grade every item of a ``kind`` site (``{item: [point level or None, ...]}``), then the
    site: by counted items (tailings dams) or by its highest item."""
    r = _rules_for(kind, rules)
    items = {name: grade_item(kind, name, lv, rules) for name, lv in point_levels.items()}
    counts = Counter(g.level for g in items.values() if g.level is not None)
    if not counts:
        return SiteGrade(kind, None, "无监测项目预警", items)
    top = max(counts, key=_RANK.__getitem__)
    names = "、".join(ITEM_ZH.get(n, n) for n, g in items.items() if g.level == top)
    level, reason = top, f"最高为{names}{LEVEL_ZH[top]}"
    if r.dam is not None:
        promoted, steps = _promote(counts, r.dam, unit="项监测项目", to_word="计为1项")
        if promoted is not None and _RANK[promoted] > _RANK[level]:
            level, reason = promoted, "；".join(steps)
    whole = "尾矿库" if kind == "tailings_dam" else "场所"
    return SiteGrade(kind, level, f"{reason}，{whole}为{LEVEL_ZH[level]}", items)


def _promote(counts: Counter, step: Step, *, unit: str, to_word: str) -> tuple[str | None, list]:
    """Apply the count rules, lowest level first; with ``cascade`` a promoted member counts at
    its new level (4 blue + 2 yellow items = 3 yellow). Returns the highest promotion (or
    None) and the Chinese steps that led to it."""
    have = Counter(counts)
    best, steps = None, []
    for p in sorted(step.promote, key=lambda p: _RANK.get(p.to, 0)):
        n = have[p.level] if step.cascade else counts[p.level]
        if n < p.count:
            continue
        made = n // p.count
        if step.cascade:
            have[p.to] += made
        what = f"{n}{unit}{LEVEL_ZH[p.level]}"
        if to_word == "计为1项":
            steps.append(f"{what}，计为{made}项{LEVEL_ZH[p.to]}")
        else:
            steps.append(f"{what}，{to_word}{LEVEL_ZH[p.to]}")
        if best is None or _RANK[p.to] > _RANK[best]:
            best = p.to
    return best, steps


def _rules_for(kind: str, rules: Mapping[str, KindRules] | None) -> KindRules:
    table = load_rules() if rules is None else rules
    key = _SAME_RULES.get(kind, kind)
    if key not in table:
        raise ValueError(f"no grading rules for site kind {kind!r}; one of {sorted(table)}")
    return table[key]


__all__ = [
    "ITEM_ZH",
    "LEVEL_ZH",
    "ItemGrade",
    "SiteGrade",
    "grade_item",
    "grade_site",
    "load_rules",
]
