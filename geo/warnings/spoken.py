"""Broadcast text as an announcer reads it: numbers in Chinese words, asides left out.

A synthesiser reads "72.5" digit by digit or in another language and reads out every bracket,
and loudspeaker terminals with their own engine do no better. So numbers are written as a
broadcaster says them (七十二点五, 二〇二六年, 十四时三十分, hotlines digit by digit) and
bracketed asides are dropped (（预报）, 【…】 signatures), keeping a leading 【演练】 as spoken
words, since listeners must hear that it is a drill.
"""

from __future__ import annotations

import re

DIGITS = "零一二三四五六七八九"
YEAR_DIGITS = "〇一二三四五六七八九"  # years are read digit by digit: 二〇二六年
PHONE_DIGITS = "零幺二三四五六七八九"  # phone numbers: 一 is said 幺 (yāo) to tell it from 七
MAX_INTEGER = 10**12  # up to 九千九百九十九亿…; longer digit runs are codes: read digit by digit

_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")
_DRILL = re.compile(r"^\s*【演练】\s*")
_ASIDES = [
    re.compile(r"\s*（[^（）]*）"),
    re.compile(r"\s*\([^()]*\)"),
    re.compile(r"\s*【[^【】]*】"),
]
_THOUSANDS = re.compile(r"(?<![\d.])\d{1,3}(?:,\d{3})+(?![\d,])")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*[%％]")
_BELOW_ZERO = re.compile(r"(?<![\dA-Za-z.])[-−](\d+(?:\.\d+)?)(?=\s*(?:℃|摄氏度))")
_CLOCK = re.compile(r"(?<![\d.])([01]?\d|2[0-4])[:：]([0-5]\d)(?![\d.])")
_HOTLINE = re.compile(r"((?:拨打|电话|热线|致电|手机)[:：\s]*)(\d[\d\s-]+\d)")
_MOBILE = re.compile(r"(?<![\d.])1[3-9]\d{9}(?![\d.])")
_CODE = re.compile(r"(?<=[A-Za-z])\d+")  # road and station codes: G65, S229
_YEAR = re.compile(r"(?<![\d.])([12]\d{3})(?=年(?!一遇))")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def integer(n: int) -> str:
    """``n`` (0 ≤ n < 10¹²) in Chinese words: 205 → 二百零五, 10 → 十, 110 → 一百一十."""
    if not 0 <= n < MAX_INTEGER:
        raise ValueError(f"{n} is out of range for Chinese number words")
    if n == 0:
        return "零"
    groups = []  # of four digits, lowest first: 万 and 亿 come every four digits
    while n:
        n, g = divmod(n, 10000)
        groups.append(g)
    out, gap = "", False
    for i in reversed(range(len(groups))):
        g = groups[i]
        if g == 0:
            gap = bool(out)
            continue
        if out and (gap or g < 1000):  # 一万零五百, 一亿零五
            out += "零"
        out += _four(g) + ("", "万", "亿")[i]
        gap = False
    # a leading 一十 is said 十 (十五, 十万), elsewhere kept (一百一十)
    return out[1:] if out.startswith("一十") else out


def _four(g: int) -> str:
    out, zero = "", False
    for d, unit in zip(f"{g:04d}", ("千", "百", "十", ""), strict=True):
        if d == "0":
            zero = bool(out)
        else:
            out += ("零" if zero else "") + DIGITS[int(d)] + unit
            zero = False
    return out


def number(text: str) -> str:
    """A decimal number as said: 72.5 → 七十二点五, 0.05 → 零点零五, 07 → 零七."""
    whole, _, frac = text.partition(".")
    if (len(whole) > 1 and whole.startswith("0")) or int(whole) >= MAX_INTEGER:
        said = "".join(DIGITS[int(d)] for d in whole)  # 05 (minutes), long codes
    else:
        said = integer(int(whole))
    if frac:
        said += "点" + "".join(DIGITS[int(d)] for d in frac)
    return said


def _digits(text: str, table: str = DIGITS) -> str:
    return "".join(table[int(d)] for d in text if d.isdigit())


def _clock(m: re.Match) -> str:
    hour, minute = int(m[1]), int(m[2])
    said = integer(hour) + "时"
    if minute:
        said += ("零" if minute < 10 else "") + integer(minute) + "分"
    return said


def spoken(text: str) -> str:
    """``text`` with every number in words and bracketed asides removed (see the module)."""
    text = text.translate(_FULLWIDTH)
    drill = bool(_DRILL.match(text))
    text = _DRILL.sub("", text)
    for pattern in _ASIDES:  # innermost first, again while nested asides remain
        while pattern.search(text):
            text = pattern.sub("", text)
    text = _THOUSANDS.sub(lambda m: m[0].replace(",", ""), text)
    text = _PERCENT.sub(r"百分之\1", text)
    text = _BELOW_ZERO.sub(r"零下\1", text)
    text = _CLOCK.sub(_clock, text)
    text = _HOTLINE.sub(lambda m: m[1] + _digits(m[2], PHONE_DIGITS), text)
    text = _MOBILE.sub(lambda m: _digits(m[0], PHONE_DIGITS), text)
    text = _CODE.sub(lambda m: _digits(m[0]), text)
    text = _YEAR.sub(lambda m: _digits(m[1], YEAR_DIGITS), text)
    text = _NUMBER.sub(lambda m: number(m[0]), text)
    return ("演练，" if drill else "") + text
