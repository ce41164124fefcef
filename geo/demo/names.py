"""Plausible Chinese names for synthetic places and people (the demo must read like a real county).

Every generator takes a numpy Generator so the same seed gives the same names.
"""

from __future__ import annotations

import numpy as np

# Common first characters of Hunan place names, and the generic endings they take.
_PLACE_HEAD = list(
    "竹杨石桥龙青黄高长新大小岩溪田坪塘冲湾坡山水江河兰梅桃李枫松柏金银铜马牛羊凤鹤云"
    "白红绿东西南北上下中前后老吴谢刘陈张周罗彭胡唐邓曾"
)
_PLACE_TAIL = list("口头坪湾冲溪塘坳岭坡田寨桥垅铺湖洲坝屯院庄")
_TOWNSHIP_TAIL = ["镇", "镇", "镇", "乡"]
_SURNAMES = list(
    "张王李刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余杜"
)
_GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红建国志文海波辉鹏飞斌宇浩")


def place_names(rng: np.random.Generator, n: int, *, taken: set[str] | None = None) -> list[str]:
    """``n`` distinct two- or three-character place stems such as 石溪 or 黄土坪."""
    taken = set() if taken is None else taken
    names: list[str] = []
    attempts = 0
    while len(names) < n:
        attempts += 1
        head = _PLACE_HEAD[rng.integers(len(_PLACE_HEAD))]
        tail = _PLACE_TAIL[rng.integers(len(_PLACE_TAIL))]
        middle = _PLACE_HEAD[rng.integers(len(_PLACE_HEAD))] if rng.random() < 0.45 else ""
        name = head + middle + tail
        if attempts > 50 * n + 1000:  # very large sets: disambiguate with a number (一组, 二组)
            name = f"{name}{len(names) + 1}"
        if name not in taken:
            taken.add(name)
            names.append(name)
    return names


def township_name(stem: str, rng: np.random.Generator) -> str:
    """A township name (e.g. 石溪镇) from a place stem."""
    return stem + _TOWNSHIP_TAIL[rng.integers(len(_TOWNSHIP_TAIL))]


def person_names(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` personal names (surname + one or two given characters); repeats are realistic."""
    surnames = rng.integers(len(_SURNAMES), size=n)
    first = rng.integers(len(_GIVEN), size=n)
    second = rng.integers(len(_GIVEN), size=n)
    double = rng.random(n) < 0.6
    return [
        _SURNAMES[s] + _GIVEN[a] + (_GIVEN[b] if d else "")
        for s, a, b, d in zip(surnames, first, second, double, strict=True)
    ]


def mobile_numbers(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct mainland mobile numbers (11 digits, 13x–19x prefixes)."""
    prefixes = np.array(
        [
            130,
            131,
            132,
            133,
            135,
            136,
            137,
            138,
            139,
            150,
            151,
            152,
            155,
            157,
            158,
            159,
            166,
            173,
            175,
            176,
            177,
            180,
            181,
            182,
            183,
            185,
            186,
            187,
            188,
            189,
            191,
            198,
            199,
        ]
    )
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        k = n - len(out)
        heads = prefixes[rng.integers(len(prefixes), size=k)]
        tails = rng.integers(0, 100_000_000, size=k)
        for h, t in zip(heads, tails, strict=True):
            number = f"{h}{t:08d}"
            if number not in seen:
                seen.add(number)
                out.append(number)
    return out
