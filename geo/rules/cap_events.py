"""CAP events in both languages, for the relay of upstream alerts (upstream.cap_relay): the
signal type of a Chinese event, its English name, and the Chinese hazard of an English event — a
relay read to villages names the hazard (转发：雷电蓝色预警信号), never in an English word."""

from __future__ import annotations

import re

# The English names of China's meteorological warning signals (预警信号), for English texts.
SIGNAL_EN = {
    "台风": "Typhoon", "暴雨": "Rainstorm", "暴雪": "Snowstorm", "寒潮": "Cold wave",
    "大风": "Gale", "沙尘暴": "Sandstorm", "高温": "Heat", "干旱": "Drought", "雷电": "Lightning",
    "冰雹": "Hail", "霜冻": "Frost", "大雾": "Fog", "霾": "Haze", "道路结冰": "Road icing",
}  # fmt: skip

# The Chinese hazard name of an English CAP event, so a relay read to villages names the hazard
# (转发：雷电蓝色预警信号) instead of only 上级预警信号. First match wins: specific words first.
EVENT_ZH_OF_EN: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(rf"\b(?:{words})\b", re.IGNORECASE), zh)
    for words, zh in (
        (r"typhoon|hurricane|tropical cyclones?|tropical storm", "台风"),
        (r"tsunamis?", "海啸"),
        (r"thunderstorms?|lightning", "雷电"),
        (r"freezing rain", "冻雨"),
        (r"rainstorms?|heavy rain|rainfall|rain", "暴雨"),
        (r"blizzards?|snowstorms?|heavy snow|snow", "暴雪"),
        (r"cold wave", "寒潮"),
        (r"low temperatures?|extreme cold|cold", "低温"),
        (r"sandstorms?|dust storms?", "沙尘暴"),
        (r"gales?|winds?", "大风"),
        (r"heat(?:wave)?|high temperatures?", "高温"),
        (r"drought", "干旱"),
        (r"hail", "冰雹"),
        (r"frost", "霜冻"),
        (r"fog", "大雾"),
        (r"haze", "霾"),
        (r"ice|icy roads?|icing", "道路结冰"),
        (r"floods?|flooding", "洪水"),
        (r"avalanches?", "雪崩"),
        (r"earthquakes?", "地震"),
        (r"landslides?|mudslides?|debris flows?", "地质灾害"),
        (r"wildfires?|forest fires?|bush ?fires?", "森林火险"),
    )
)


def event_zh_of_en(event: str | None) -> str | None:
    """暴雨 for "Heavy rain warning"; None when no known hazard is named (the relay then says
    上级预警信号, never an English word in a Chinese text)."""
    if not event:
        return None
    for pattern, zh in EVENT_ZH_OF_EN:
        if pattern.search(event):
            return zh
    return None


def signal_type(event: str) -> str:
    """暴雨 from 暴雨, 暴雨预警 or 暴雨红色预警信号 (the event without colour and suffix)."""
    for word in ("预警信号", "预警", "信号", "红色", "橙色", "黄色", "蓝色"):
        event = event.replace(word, "")
    return event.strip() or event
