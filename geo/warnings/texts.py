"""Message text for delivery: speech for village loudspeakers, SMS, and all-clear wording.

A speech synthesiser reads one language and stumbles over symbols and units, so broadcast text is
Chinese only with units spelled out; SMS text counts segments (70 Chinese characters fit one
segment, 67 per segment once a message is split).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from riskmap.geo.vocabulary import COLOUR_ZH
from riskmap.geo.warnings.spoken import spoken

SMS_SINGLE = 70
SMS_PART = 67
SMS_ACTION_ZH = {"evacuate_now": "立即转移", "prepare_evacuation": "准备转移"}

_SPOKEN = [
    (re.compile(r"(\d),(\d{3})"), r"\1\2"),  # 1,234 → 1234
    (re.compile(r"(\d+(?:\.\d+)?)\s*%"), r"百分之\1"),
    (re.compile(r"(\d)\s*[~～\-–—]\s*(\d)"), r"\1至\2"),
    (re.compile(r"(\d)\s*m³/s"), r"\1立方米每秒"),
    (re.compile(r"(\d)\s*mm"), r"\1毫米"),
    (re.compile(r"(\d)\s*km"), r"\1公里"),
    (re.compile(r"(\d)\s*m(?![A-Za-z³²])"), r"\1米"),
    (re.compile(r"(\d)\s*[hH](?![A-Za-z])"), r"\1小时"),
    (re.compile(r"(\d)\s*℃"), r"\1摄氏度"),
    (re.compile(r"≥"), "大于等于"),
    (re.compile(r"≤"), "小于等于"),
    (re.compile(r">"), "超过"),
    (re.compile(r"<"), "低于"),
    (re.compile(r"\s+"), ""),
]


def speech_text(*parts: str, drill: bool = False) -> str:
    """Chinese text a speech synthesiser reads plainly: units spelled out, no symbols.

    Repeated once, as village broadcasts are, so a listener who missed the start hears it all.
    """
    text = "。".join(p.strip().rstrip("。") for p in parts if p.strip()) + "。"
    for pattern, repl in _SPOKEN:
        text = pattern.sub(repl, text)
    text = spoken(text)  # numbers as a broadcaster reads them, no bracketed asides
    if drill:
        # 演练 first in both rounds (a listener may tune in at the repeat); the close says what
        # it was, once: "演练结束" after each round sounded like the drill had ended mid-message
        return f"演练，演练。{text}重复一遍：演练，演练。{text}以上是演练，不是真实预警。"
    return f"{text}重复一遍：{text}"


def sms_text(
    signature: str,
    headline: str,
    instruction: str,
    *,
    drill: bool = False,
    colour: str | None = None,
    action: str | None = None,
    event: str = "",
    where: str = "",
    county: str = "",
    cancel: bool = False,
) -> str:
    """One SMS, most important words first: a phone's notification and the first part of a split
    message show about 70 characters, so those say who sends, how grave, what to do and where::

        【麻阳苗族自治县应急管理局】山洪灾害红色预警：立即转移！<where>。<instruction>

    The headline's county name is dropped (the signature names the county). A headline without
    the colour word (山洪灾害立即转移预警) gives way to event + colour (山洪灾害红色预警), and
    the action (立即转移 / 准备转移) follows; a cancel (解除/撤销…) keeps its headline, no action.
    Without ``colour`` (older callers): signature, headline and instruction, as before.
    """
    mark = "【演练】" if drill else ""
    head = headline.strip().rstrip("。")
    if colour is None:
        return f"【{signature}】{mark}{head}。{instruction.strip()}"
    if county and head.startswith(county):
        head = head[len(county) :]
    name = head if COLOUR_ZH[colour] in head or cancel else f"{event}{COLOUR_ZH[colour]}预警"
    todo = "" if cancel else SMS_ACTION_ZH.get(action or "", "")
    lead = f"{name}：{todo}！" if todo else f"{name}："
    place = f"{where}。" if where else ""
    if not todo and not place:
        lead = f"{name}。"
    return f"【{signature}】{mark}{lead}{place}{instruction.strip()}"


def sms_segments(text: str) -> int:
    """SMS segments ``text`` costs (UCS-2: 70 characters alone, 67 per concatenated part),
    counted in UTF-16 units: a character beyond the basic plane (a rare name, 𠀀) takes two."""
    n = len(text.encode("utf-16-le")) // 2
    return 1 if n <= SMS_SINGLE else math.ceil(n / SMS_PART)


def sms_where(places: Sequence[tuple[str, str]]) -> str:
    """Where, in few characters: up to three villages by name, else townships and a count.

    ``places`` are (village name, township name) pairs of the warning's villages. Townships are
    named by how many of their villages are warned (most first), at most two; e.g. 羊洲村、周湾村 ·
    锦和镇5个村 · 锦和镇、高村乡9个村 · 锦和镇等12个乡镇73个村.
    """
    if len(places) <= 3:
        return "、".join(v for v, _ in places)
    count: dict[str, int] = {}
    for _, town in places:
        count[town] = count.get(town, 0) + 1
    towns = sorted(count, key=lambda t: -count[t])  # stable: ties keep the villages' order
    n = len(places)
    if len(towns) <= 2:
        return f"{'、'.join(towns)}{n}个村"
    return f"{towns[0]}等{len(towns)}个乡镇{n}个村"


def sms_parts(text: str) -> list[str]:
    """The messages we send for ``text``: itself when it fits one SMS (70 characters), else
    numbered parts "(1/3)…" of at most 70 characters each, number included.

    Each part is a message of its own, one segment each, so a long warning costs exactly its
    parts; the 【signature】 stays in part 1 only (repeating it would cost a part in two-part
    texts) and the numbers tell the reader the order, whatever order the phone shows them in.
    A part ends after a clause mark (。；！？，、) when one lies in its second half, else at the
    limit, moved back so that it never cuts a 【…】 or a number.
    """
    text = text.strip()
    if len(text) <= SMS_SINGLE:
        return [text]
    width = 1  # digits of the part count, hence of the "(i/n)" prefix
    while True:
        pieces = _split(text, SMS_SINGLE - (3 + 2 * width))
        if len(str(len(pieces))) <= width:
            break
        width += 1
    n = len(pieces)
    return [f"({i}/{n}){p}" for i, p in enumerate(pieces, 1)]


_CLAUSE_END = frozenset("。；！？，、")
_UNBREAKABLE = re.compile(r"【[^】]*】|\d+(?:[.:,]\d+)*")


def _split(text: str, budget: int) -> list[str]:
    """Pieces of at most ``budget`` characters (see sms_parts for where they end)."""
    pieces = []
    while len(text) > budget:
        spans = [m.span() for m in _UNBREAKABLE.finditer(text)]
        cut = next(
            (
                c
                for c in range(budget, budget // 2 - 1, -1)
                if text[c - 1] in _CLAUSE_END and _inside(spans, c) is None
            ),
            None,
        )
        if cut is None:
            cut = budget
            while (start := _inside(spans, cut)) is not None and start > 0:
                cut = start
        pieces.append(text[:cut])
        text = text[cut:]
    pieces.append(text)
    return pieces


def _inside(spans: list[tuple[int, int]], cut: int) -> int | None:
    """Start of the unbreakable span a cut at ``cut`` would fall inside, if any."""
    return next((a for a, b in spans if a < cut < b), None)


def all_clear(event_zh: str, event_en: str, colour: str, *, cancelled: bool) -> dict[str, str]:
    """Texts of the message that ends a warning: expired (解除) or withdrawn (撤销)."""
    zh_verb, en_verb = ("撤销", "withdrawn") if cancelled else ("解除", "lifted")
    zh = f"{event_zh}{COLOUR_ZH[colour]}预警"
    return {
        "headline_zh": f"{zh_verb}{zh}",
        "headline_en": f"{event_en} {colour} warning {en_verb}",
        "description_zh": f"{zh}已{zh_verb}。",
        "description_en": f"The {event_en} {colour} warning has been {en_verb}.",
        "instruction_zh": "请继续关注天气和汛情变化，注意安全。",
        "instruction_en": "Stay informed and take care.",
    }


def left_area_text(event: str, *, drill: bool = False) -> str:
    """Loudspeaker text for a village the warning no longer covers (the rule stopped firing
    there): said once, plainly, so nobody stays away from home for a warning that has moved on."""
    return speech_text(
        f"{event}预警对本村解除",
        "本村已不在预警范围内",
        "请继续关注天气和汛情变化，听从村里安排，注意安全",
        drill=drill,
    )


def recolour(text: str, old: str, new: str) -> str:
    """Replace the colour word in a template text when a forecaster changes the level by hand."""
    text = text.replace(COLOUR_ZH[old], COLOUR_ZH[new])
    return re.sub(rf"\b{old}\b", new, re.sub(rf"\b{old.title()}\b", new.title(), text))
