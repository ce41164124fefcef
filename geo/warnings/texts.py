"""Message text for delivery: speech for village loudspeakers, SMS, and all-clear wording.

A speech synthesiser reads one language and stumbles over symbols and units, so broadcast text is
Chinese only with units spelled out; SMS text counts segments (70 Chinese characters fit one
segment, 67 per segment once a message is split).
"""

from __future__ import annotations

import math
import re

from riskmap.geo.vocabulary import COLOUR_ZH

SMS_SINGLE = 70
SMS_PART = 67

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
    if drill:
        text = "演练，演练。" + text + "演练结束。"
    return f"{text}重复一遍：{text}"


def sms_text(signature: str, headline: str, instruction: str, *, drill: bool = False) -> str:
    """One SMS: signature, headline and what to do (the full text is on the warning page)."""
    body = headline.strip().rstrip("。") + "。" + instruction.strip()
    return f"【{signature}】" + ("【演练】" if drill else "") + body


def sms_segments(text: str) -> int:
    """SMS segments ``text`` costs (UCS-2: 70 characters alone, 67 per concatenated part)."""
    n = len(text)
    return 1 if n <= SMS_SINGLE else math.ceil(n / SMS_PART)


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


def recolour(text: str, old: str, new: str) -> str:
    """Replace the colour word in a template text when a forecaster changes the level by hand."""
    text = text.replace(COLOUR_ZH[old], COLOUR_ZH[new])
    return re.sub(rf"\b{old}\b", new, re.sub(rf"\b{old.title()}\b", new.title(), text))
