"""Warning texts rendered from the evidence of exactly the villages a warning covers.

A loudspeaker reads these texts to villages, so every number in them must be one village's own
number: the worst village's rain beside *that village's* critical rainfall, never the largest
rain of one village beside the largest threshold of another. The texts are rendered from the
per-village evidence (numbers and labels the rule's inputs gave, and the level each village
reached), so the lifecycle can render them again when a warning's area grows or merges and
the count in the headline is the count of the area.

Rule templates (``geo/rules/builtin/*.yaml``) are sentences of alternatives: the first
alternative whose placeholders all have a value is said, so a missing input chooses another
sentence instead of printing a dash or ``None``. Chinese text loses the spaces YAML folding
puts next to full-width punctuation; English counts agree with their nouns ("1 village").
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from riskmap.geo.rules.evidence import EvidenceTable
from riskmap.geo.rules.load import TEMPLATE_FIELDS, CompiledRule, Text
from riskmap.geo.rules.villages import Villages
from riskmap.geo.vocabulary import BEIJING, COLOUR_ZH, COLOURS

MAX_NAMES = 10  # village names spelled out before "等N个村"
MAX_WORST = 3  # villages whose trigger a description spells out

Evidence = Mapping[str, Mapping[str, float | str]]

# a CJK character or full-width punctuation: no ASCII space belongs next to one in zh-CN text
_WIDE = r"[\u2e80-\u9fff\u3000-\u303f\uff00-\uffef]"
_SPACE_NEXT_TO_WIDE = re.compile(rf"\s+(?={_WIDE})|(?<={_WIDE})\s+")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+(?=[,.;:!?)])")


def fmt(x: float) -> str:
    """A number as a text says it: to one decimal, and bare when that decimal is zero (80.96
    is said "81", not "81.0")."""
    r = round(float(x), 1)
    return f"{r:.0f}" if r.is_integer() else f"{r:.1f}"


def plural(n: int, noun: str, nouns: str | None = None) -> str:
    """``1 village``, ``2 villages``."""
    return f"{n} {noun if n == 1 else (nouns or noun + 's')}"


def clean_zh(text: str) -> str:
    """zh-CN text without the ASCII spaces YAML folding leaves next to Chinese and full-width
    punctuation (a speech synthesiser pauses on them; a reader sees them as typos)."""
    return _SPACE_NEXT_TO_WIDE.sub("", text).strip()


def clean_en(text: str) -> str:
    """English text with single spaces and none before punctuation."""
    return _SPACE_BEFORE_PUNCT.sub("", re.sub(r"\s+", " ", text)).strip()


def say(sentences: Text, subs: Mapping[str, str], *, zh: bool) -> str:
    """Render sentences: the first alternative whose placeholders all have values, per sentence;
    a sentence none of whose alternatives can be said is left out."""
    out = []
    for alternatives in sentences:
        for alt in alternatives:
            tpl = string.Template(alt)
            if set(tpl.get_identifiers()) <= subs.keys():
                out.append(tpl.substitute(subs))
                break
    return clean_zh("".join(out)) if zh else clean_en(" ".join(out))


def beijing_zh(t: datetime) -> str:
    """``7月14日10时`` (or ``10时05分``), Beijing time."""
    b = t.astimezone(BEIJING)
    return f"{b.month}月{b.day}日{b.hour}时" + (f"{b.minute:02d}分" if b.minute else "")


def beijing_en(t: datetime) -> str:
    """``10:00 on 14 July (Beijing time)``."""
    b = t.astimezone(BEIJING)
    return f"{b:%H:%M} on {b.day} {b:%B} (Beijing time)"


@dataclass(frozen=True)
class TextRenderer:
    """Renders one rule level's texts for any set of villages from their evidence.

    The engine attaches one to each proposal; the lifecycle calls it again with the area and
    evidence of the version it writes (a merged or grown area), so texts always match them.
    """

    compiled: CompiledRule
    colour: str
    villages: Villages
    at: datetime

    def __call__(self, codes: Sequence[str], evidence: Evidence) -> dict[str, str]:
        codes = list(codes)
        if (
            isinstance(evidence, EvidenceTable)
            and evidence.villages is self.villages
            and codes == evidence.codes
        ):
            return self.table(evidence)
        names = list(codes)  # a village no longer known is named by its code
        pos, found = self.villages.index(codes)
        known = np.flatnonzero(found).tolist()
        for i, name in zip(known, self.villages.names[pos].tolist(), strict=True):
            names[i] = str(name)
        counties = [str(c) for c in self.villages.counties[pos].tolist()]
        return render_texts(self.compiled, self.colour, codes, names, counties, evidence, self.at)

    def table(self, table: EvidenceTable) -> dict[str, str]:
        """The texts of exactly the villages of an evidence table the engine made, from its
        columns: the same texts :func:`render_texts` gives from its dicts, with Python work
        only for the villages a text names."""
        pos = table.positions
        numbers = {}
        for v in self.compiled.variables:
            a = table.numbers[v]
            numbers[v] = np.where(np.isfinite(a), a, np.nan)  # as _number reads the evidence
        ranks = np.full(len(pos), COLOURS.index(table.level), dtype=np.int8)
        names = self.villages.names
        area = _Area(
            n=len(pos),
            numbers=numbers,
            ranks=ranks,
            name=lambda i: str(names[pos[i]]),
            evidence=table.row,
            county=self.villages.county_names(pos),
        )
        return _render(self.compiled, self.colour, area, self.at)


@dataclass(frozen=True)
class _Area:
    """What the texts read of an area: per variable its numbers (NaN: none), per village its
    level's rank (-1: not a colour); a village's name and evidence by position."""

    n: int
    numbers: Mapping[str, np.ndarray]
    ranks: np.ndarray
    name: Callable[[int], str]
    evidence: Callable[[int], Mapping[str, float | str]]
    county: str


def render_texts(
    compiled: CompiledRule,
    colour: str,
    codes: Sequence[str],
    names: Sequence[str],
    counties: Sequence[str],
    evidence: Evidence,
    at: datetime,
) -> dict[str, str]:
    """The six texts (headline, description, instruction; zh and en) of one level of a rule.

    Parameters
    ----------
    compiled
        The rule.
    colour
        The warning's level (its templates are used).
    codes, names
        The villages of the area, aligned.
    counties
        County names of the villages (the headline names them).
    evidence
        Per village code, the numbers and labels the inputs gave and the ``level`` the village
        reached (default: ``colour``).
    at
        When the rule fired (said in Beijing time where a template asks for it).
    """
    evs = [evidence.get(c, {}) for c in codes]
    index = {c: COLOURS.index(c) for c in COLOURS}
    ranks = np.array([index.get(str(ev.get("level", colour)), -1) for ev in evs], dtype=np.int8)
    numbers = {
        v: np.array([_number(ev.get(v)) for ev in evs], dtype=float)  # None → NaN
        for v in compiled.variables
    }
    area = _Area(
        n=len(codes),
        numbers=numbers,
        ranks=ranks,
        name=names.__getitem__,
        evidence=evs.__getitem__,
        county="、".join(dict.fromkeys(c for c in counties if c)),
    )
    return _render(compiled, colour, area, at)


def _render(compiled: CompiledRule, colour: str, area: _Area, at: datetime) -> dict[str, str]:
    rule = compiled.rule
    n = area.n
    fired = _triggers(compiled, area)
    order = _worst_first(compiled, area, fired)
    listed = "、".join(area.name(i) for i in order[:MAX_NAMES].tolist())
    if n > MAX_NAMES:
        listed += f"等{n}个村"
    subs: dict[str, str] = {
        "county": area.county,
        "villages": listed,
        "n_villages": str(n),
        "n_villages_en": plural(n, "village"),
        "level_zh": COLOUR_ZH[colour],
        "level_en": colour,
        "title_zh": rule.title_zh,
        "title_en": rule.title_en,
        "at_zh": beijing_zh(at),
        "at_en": beijing_en(at),
    }
    subs = {k: v for k, v in subs.items() if v}
    counts = np.bincount(area.ranks[area.ranks >= 0].astype(np.intp), minlength=len(COLOURS))
    for k, c in enumerate(COLOURS):
        if counts[k]:
            subs[f"n_{c}"], subs[f"n_{c}_en"] = str(counts[k]), plural(int(counts[k]), "village")
    said = _placeholders(compiled, colour)
    for v in compiled.variables:
        if f"total_{v}" in said:  # an exact sum (fsum) only where a template says it
            a = area.numbers[v]
            vals = a[~np.isnan(a)].tolist()
            if vals:
                subs[f"total_{v}"] = fmt(round(math.fsum(vals), 1))
    if n:
        worst = int(order[0])
        name = area.name(worst)
        subs["worst_village"] = name
        subs |= _village_subs(compiled, area.evidence(worst))
        subs |= _where(compiled, area.evidence(worst), name)
    # the worst villages' triggers, each said once (many villages below one gauge say the same)
    zh_phrases: dict[str, None] = {}
    en_phrases: dict[str, None] = {}
    index, _, values, thresholds = fired
    for i in order[index[order] >= 0].tolist():
        if len(zh_phrases) >= MAX_WORST:
            break
        trig = (int(index[i]), 0.0, float(values[i]), float(thresholds[i]))
        ev, name = area.evidence(i), area.name(i)
        zh_phrases[_phrase(compiled, trig, ev, name, zh=True)] = None
        en_phrases[_phrase(compiled, trig, ev, name, zh=False)] = None
    if zh_phrases:
        subs["worst_zh"] = "；".join(zh_phrases)
        subs["worst_en"] = "; ".join(en_phrases)
    templates = compiled.templates[colour]
    return {f: say(templates[f], subs, zh=f.endswith("_zh")) for f in TEMPLATE_FIELDS}


def _placeholders(compiled: CompiledRule, colour: str) -> frozenset[str]:
    """Every placeholder the level's templates name."""
    return frozenset(
        name
        for sentences in compiled.templates[colour].values()
        for alternatives in sentences
        for alt in alternatives
        for name in string.Template(alt).get_identifiers()
    )


def _number(x: object) -> float | None:
    if type(x) is float:  # the usual case, first: this runs for every village and variable
        return x if math.isfinite(x) else None
    if isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x):
        return float(x)
    return None


def _village_subs(compiled: CompiledRule, ev: Mapping[str, float | str]) -> dict[str, str]:
    """One village's own variables and labels as placeholder values (missing ones left out)."""
    out = {}
    for v in compiled.variables:
        x = _number(ev.get(v))
        if x is not None:
            out[v] = fmt(x)
    for label in compiled.labels:
        s = ev.get(label)
        if isinstance(s, str) and s.strip() and s not in ("None", "nan"):
            out[label] = s
            if label.endswith("_station_name"):
                # "麻阳" is said "麻阳站", but "邓屯水文站" must not become "邓屯水文站站"
                out[f"{label}_site"] = s if s.endswith("站") else s + "站"
    return out


def _where(compiled: CompiledRule, ev: Mapping[str, float | str], village: str) -> dict[str, str]:
    """Where a distance input (``*_km``) puts its object relative to the village: inside it (a
    distance that rounds to nothing; "约0公里" reads as an error) or about N km from it."""
    out = {}
    for v in compiled.variables:
        x = _number(ev.get(v))
        if not v.endswith("_km") or x is None:
            continue
        inside = x < 0.05
        out[f"{v}_where_zh"] = f"在{village}境内" if inside else f"在距{village}约{fmt(x)}公里"
        out[f"{v}_where_en"] = (
            f"inside {village}" if inside else f"about {fmt(x)} km from {village}"
        )
    return out


# The trigger a village is quoted by: (its index, how far over it is (value / threshold), value,
# threshold).
_Fired = tuple[int, float, float, float]


def _triggers(
    compiled: CompiledRule, area: _Area
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The trigger each village is quoted by, as arrays over the area (index -1: none holds;
    how far over it is, value, threshold): of those for its level that hold, one written for
    that level first, then the one it exceeds most (value / threshold), the first on a tie."""
    n = area.n
    best = np.full(n, -1, dtype=np.intp)
    best_own = np.zeros(n, dtype=bool)
    best_ratio = np.full(n, -np.inf)
    best_value = np.full(n, np.nan)
    best_threshold = np.full(n, np.nan)
    with np.errstate(all="ignore"):
        for i, t in enumerate(compiled.rule.triggers):
            value = area.numbers[t.value]
            if isinstance(t.threshold, str):  # a variable: NULL (NaN) never holds
                threshold = area.numbers[t.threshold]
                holds = ~np.isnan(value) & ~np.isnan(threshold) & ~(value < threshold)
            else:  # a number, compared as written
                threshold = np.full(n, float(t.threshold))
                holds = ~np.isnan(value) & ~(value < threshold)
            if t.levels:
                holds &= np.isin(area.ranks, [COLOURS.index(c) for c in t.levels])
            ratio = np.where(threshold > 0, value / threshold, np.inf)
            own = bool(t.levels)
            # a trigger written for this level (over 保证水位 for red) before a general one
            better = holds & (
                (best < 0) | (own & ~best_own) | ((own == best_own) & (ratio > best_ratio))
            )
            best[better] = i
            best_own[better] = own
            best_ratio[better] = ratio[better]
            best_value[better] = value[better]
            best_threshold[better] = threshold[better]
    return best, best_ratio, best_value, best_threshold


def _phrase(
    compiled: CompiledRule,
    fired: _Fired,
    ev: Mapping[str, float | str],
    village: str,
    *,
    zh: bool,
) -> str:
    """What crossed what at one village, as its trigger says it (with the village's own
    numbers and labels: only the few villages quoted get them formatted)."""
    index, _, value, threshold = fired
    trig = compiled.rule.triggers[index]
    text = trig.zh if zh else trig.en
    alternatives = (text,) if isinstance(text, str) else tuple(text)
    subs = _village_subs(compiled, ev) | {
        "value": fmt(value),
        "threshold": fmt(threshold),
        "village": village,
    }
    return say((alternatives,), subs, zh=zh)


def _worst_first(
    compiled: CompiledRule,
    area: _Area,
    fired: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> np.ndarray:
    """Village positions, worst first: higher level, then ``worst_by`` (or how far over its
    trigger), then the area's order."""
    n = area.n
    if compiled.worst_by is not None:
        values = {v: area.numbers[v] for v in compiled.worst_by.names}
        score = compiled.worst_by.evaluate(values, n) if n else np.zeros(0)
        key2 = np.where(np.isnan(score), -np.inf, score)
    else:
        key2 = np.where(fired[0] >= 0, fired[1], -np.inf)
    rank = area.ranks.astype(float)
    # sorted by (-rank, -key2, position): lexsort's last key is the first, and it is stable
    return np.lexsort((-key2, -rank))
