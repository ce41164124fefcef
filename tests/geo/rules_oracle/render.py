"""Frozen copy of geo/rules/render.py before issue 19's columnar engine (commit c7a6138): the oracle
tests/geo/test_rules_columnar.py compares the engine against. Not used by the product."""

from __future__ import annotations

import math
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from riskmap.geo.rules.load import TEMPLATE_FIELDS, CompiledRule, Text
from riskmap.geo.vocabulary import BEIJING, COLOUR_ZH, COLOURS
from tests.geo.rules_oracle.villages import Villages

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
        names = list(codes)  # a village no longer known is named by its code
        pos, found = self.villages.index(codes)
        known = np.flatnonzero(found).tolist()
        for i, name in zip(known, self.villages.names[pos].tolist(), strict=True):
            names[i] = str(name)
        counties = [str(c) for c in self.villages.counties[pos].tolist()]
        return render_texts(self.compiled, self.colour, codes, names, counties, evidence, self.at)


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
    rule = compiled.rule
    n = len(codes)
    evs = [evidence.get(c, {}) for c in codes]
    levels = [str(ev.get("level", colour)) for ev in evs]
    triggers = _triggers(compiled, evs, levels)
    order = _worst_first(compiled, evs, levels, triggers)
    ordered_names = [names[i] for i in order]
    listed = "、".join(ordered_names[:MAX_NAMES])
    if n > MAX_NAMES:
        listed += f"等{n}个村"
    subs: dict[str, str] = {
        "county": "、".join(dict.fromkeys(c for c in counties if c)),
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
    for c in COLOURS:
        k = levels.count(c)
        if k:
            subs[f"n_{c}"], subs[f"n_{c}_en"] = str(k), plural(k, "village")
    for v in compiled.variables:
        vals = [x for x in map(_number, [ev.get(v) for ev in evs]) if x is not None]
        if vals:
            subs[f"total_{v}"] = fmt(round(math.fsum(vals), 1))
    if order:
        worst = order[0]
        subs["worst_village"] = names[worst]
        subs |= _village_subs(compiled, evs[worst])
        subs |= _where(compiled, evs[worst], names[worst])
    # the worst villages' triggers, each said once (many villages below one gauge say the same)
    zh_phrases: dict[str, None] = {}
    en_phrases: dict[str, None] = {}
    for i in order:
        if triggers[i] is not None and len(zh_phrases) < MAX_WORST:
            zh_phrases[_phrase(compiled, triggers[i], evs[i], names[i], zh=True)] = None
            en_phrases[_phrase(compiled, triggers[i], evs[i], names[i], zh=False)] = None
    if zh_phrases:
        subs["worst_zh"] = "；".join(zh_phrases)
        subs["worst_en"] = "; ".join(en_phrases)
    templates = compiled.templates[colour]
    return {f: say(templates[f], subs, zh=f.endswith("_zh")) for f in TEMPLATE_FIELDS}


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
# threshold). A plain tuple: one is made for every village of an area.
_Fired = tuple[int, float, float, float]


def _triggers(
    compiled: CompiledRule, evs: Sequence[Mapping[str, float | str]], levels: Sequence[str]
) -> list[_Fired | None]:
    """The trigger each village is quoted by: of those for its level that hold, one written for
    that level first, then the one it exceeds most (value / threshold); None if none holds.
    Runs for every village of an area (500,000 at most), hence the triggers of each level are
    sorted out once."""
    by_level: dict[str, list[tuple[int, bool, str, float | None, str | float]]] = {}
    out: list[_Fired | None] = []
    for ev, level in zip(evs, levels, strict=True):
        specs = by_level.get(level)
        if specs is None:
            specs = by_level[level] = [
                (i, bool(t.levels), t.value,
                 None if isinstance(t.threshold, str) else float(t.threshold), t.threshold)
                for i, t in enumerate(compiled.rule.triggers)
                if not t.levels or level in t.levels
            ]  # fmt: skip
        best: _Fired | None = None
        best_key: tuple[bool, float] = (False, -math.inf)
        for i, own, value_name, fixed, threshold_name in specs:
            value = _number(ev.get(value_name))
            threshold = fixed if fixed is not None else _number(ev.get(threshold_name))
            if value is None or threshold is None or value < threshold:
                continue
            ratio = value / threshold if threshold > 0 else math.inf
            # a trigger written for this level (over 保证水位 for red) before a general one
            key = (own, ratio)
            if best is None or key > best_key:
                best, best_key = (i, ratio, value, threshold), key
        out.append(best)
    return out


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
    evs: list[Mapping[str, float | str]],
    levels: list[str],
    triggers: list[_Fired | None],
) -> list[int]:
    """Village positions, worst first: higher level, then ``worst_by`` (or how far over its
    trigger), then the area's order."""
    n = len(evs)
    if compiled.worst_by is not None:
        values = {
            v: np.array([_number(ev.get(v)) for ev in evs], dtype=float)  # None → NaN
            for v in compiled.worst_by.names
        }
        score = compiled.worst_by.evaluate(values, n) if n else np.zeros(0)
        key2 = [-np.inf if math.isnan(s) else float(s) for s in score.tolist()]
    else:
        key2 = [t[1] if t is not None else -np.inf for t in triggers]
    index = {c: COLOURS.index(c) for c in COLOURS}
    rank = np.array([index.get(lv, -1) for lv in levels], dtype=float)
    # sorted by (-rank, -key2, position): lexsort's last key is the first, and it is stable
    return np.lexsort((-np.array(key2, dtype=float), -rank)).tolist()
