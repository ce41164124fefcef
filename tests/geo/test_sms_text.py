"""SMS wording and splitting, against hand-written texts and hand-counted splits."""

from __future__ import annotations

import re

import pytest

from riskmap.geo.warnings.texts import sms_parts, sms_text, sms_where

SIG = "麻阳苗族自治县应急管理局"
COUNTY = "麻阳苗族自治县"
# the storm's 立即转移 warning as the flash-flood rule words it (geo/rules/builtin/flash_flood.yaml)
RED_HEADLINE = "麻阳苗族自治县山洪灾害立即转移预警"
RED_INSTRUCTION = "危险区人员立即按转移路线撤离到安置点，不得返回。"
PREFIX = re.compile(r"^\((\d+)/(\d+)\)")


def test_red_evacuation_says_who_level_action_where_first() -> None:
    text = sms_text(
        SIG,
        RED_HEADLINE,
        RED_INSTRUCTION,
        colour="red",
        action="evacuate_now",
        event="山洪灾害",
        where="唐冲镇等12个乡镇73个村",
        county=COUNTY,
    )
    assert text == (
        "【麻阳苗族自治县应急管理局】山洪灾害红色预警：立即转移！唐冲镇等12个乡镇73个村。"
        "危险区人员立即按转移路线撤离到安置点，不得返回。"
    )
    assert len(text) == 66 and sms_parts(text) == [text]  # one SMS


@pytest.mark.parametrize(
    ("kw", "expected"),
    [
        # 准备转移, headline without the colour word
        (
            dict(
                headline="麻阳苗族自治县山洪灾害准备转移预警",
                instruction="危险区人员做好转移准备。",
                colour="orange",
                action="prepare_evacuation",
                event="山洪灾害",
                where="罗坡溪村",
            ),
            "【麻阳苗族自治县应急管理局】山洪灾害橙色预警：准备转移！罗坡溪村。危险区人员做好转移准备。",
        ),
        # a headline naming its colour is kept (less the county); no action
        (
            dict(
                headline="麻阳苗族自治县山洪灾害橙色预警（预报）",
                instruction="关注实况雨量。",
                colour="orange",
                event="山洪灾害",
                where="锦和镇9个村",
            ),
            "【麻阳苗族自治县应急管理局】山洪灾害橙色预警（预报）：锦和镇9个村。关注实况雨量。",
        ),
        # a cancel keeps its headline and never says 立即转移, even if the version kept the action
        (
            dict(
                headline="解除山洪灾害红色预警",
                instruction="请继续关注天气和汛情变化，注意安全。",
                colour="red",
                action="evacuate_now",
                event="山洪灾害",
                where="羊洲村",
                cancel=True,
            ),
            "【麻阳苗族自治县应急管理局】解除山洪灾害红色预警：羊洲村。请继续关注天气和汛情变化，注意安全。",
        ),
        # a drill says so right after the signature
        (
            dict(
                headline="麻阳苗族自治县暴雨黄色预警",
                instruction="注意防范。",
                colour="yellow",
                event="暴雨",
                where="",
                drill=True,
            ),
            "【麻阳苗族自治县应急管理局】【演练】暴雨黄色预警。注意防范。",
        ),
        # older callers (no colour): signature, headline, instruction as before
        (
            dict(headline="麻阳县发布暴雨黄色预警", instruction="请远离河道。"),
            "【麻阳苗族自治县应急管理局】麻阳县发布暴雨黄色预警。请远离河道。",
        ),
    ],
)
def test_sms_text_wording(kw: dict, expected: str) -> None:
    headline, instruction = kw.pop("headline"), kw.pop("instruction")
    county = COUNTY if "colour" in kw else ""
    assert sms_text(SIG, headline, instruction, county=county, **kw) == expected


@pytest.mark.parametrize(
    ("places", "expected"),
    [
        ([], ""),
        ([("羊洲村", "锦和镇")], "羊洲村"),
        (
            [("羊洲村", "锦和镇"), ("周湾村", "高村乡"), ("田垅村", "锦和镇")],
            "羊洲村、周湾村、田垅村",
        ),
        (
            [("甲村", "锦和镇"), ("乙村", "锦和镇"), ("丙村", "锦和镇"), ("丁村", "锦和镇")],
            "锦和镇4个村",
        ),
        (
            [
                ("甲村", "锦和镇"),
                ("乙村", "高村乡"),
                ("丙村", "高村乡"),
                ("丁村", "锦和镇"),
                ("戊村", "高村乡"),
            ],
            "高村乡、锦和镇5个村",
        ),
        # a tie keeps the order the villages came in
        (
            [("甲村", "锦和镇"), ("乙村", "高村乡"), ("丙村", "高村乡"), ("丁村", "锦和镇")],
            "锦和镇、高村乡4个村",
        ),
        (
            [("甲村", "兰里镇"), ("乙村", "高村乡"), ("丙村", "高村乡"), ("丁村", "锦和镇")],
            "高村乡等3个乡镇4个村",
        ),
    ],
)
def test_sms_where(places: list[tuple[str, str]], expected: str) -> None:
    assert sms_where(places) == expected


def test_seventy_characters_are_one_part_seventy_one_are_two() -> None:
    assert sms_parts("雨" * 70) == ["雨" * 70]
    assert sms_parts("  短信。 ") == ["短信。"]
    assert sms_parts("雨" * 71) == ["(1/2)" + "雨" * 65, "(2/2)" + "雨" * 6]


def test_split_after_the_last_clause_mark_that_fits() -> None:
    text = (
        "【麻阳苗族自治县应急管理局】山洪灾害红色预警：立即转移！唐冲镇等12个乡镇73个村。"
        "危险区人员立即按转移路线撤离到安置点，不得返回。村监测员加强巡查，关注雨情和后续预警。"
    )
    # 14 + 9 + 5 + 14 + 19 = 61 characters up to the comma; 不得返回。 would make 66 > 65
    assert sms_parts(text) == [
        "(1/2)【麻阳苗族自治县应急管理局】山洪灾害红色预警：立即转移！唐冲镇等12个乡镇73个村。"
        "危险区人员立即按转移路线撤离到安置点，",
        "(2/2)不得返回。村监测员加强巡查，关注雨情和后续预警。",
    ]
    # marks at 40 and 60 characters: the later one (fewer parts)
    text = "雨" * 39 + "，" + "雨" * 19 + "。" + "雨" * 30
    assert sms_parts(text) == ["(1/2)" + "雨" * 39 + "，" + "雨" * 19 + "。", "(2/2)" + "雨" * 30]


def test_a_mark_early_in_the_part_is_not_worth_a_short_part() -> None:
    text = "雨" * 10 + "，" + "雨" * 80
    assert sms_parts(text) == ["(1/2)" + "雨" * 10 + "，" + "雨" * 54, "(2/2)" + "雨" * 26]


def test_never_cut_inside_a_number_or_brackets() -> None:
    text = "【麻阳苗族自治县应急管理局】" + "雨" * 50 + "123.5毫米，" + "注意" * 5
    assert sms_parts(text) == [
        "(1/2)【麻阳苗族自治县应急管理局】" + "雨" * 50,
        "(2/2)123.5毫米，注意注意注意注意注意",
    ]
    text = "雨" * 63 + "【演练】" + "雨" * 10
    assert sms_parts(text) == ["(1/2)" + "雨" * 63, "(2/2)【演练】" + "雨" * 10]


def test_ten_parts_or_more_make_the_prefix_wider() -> None:
    parts = sms_parts("雨" * 700)
    assert len(parts) == 12
    assert parts[0] == "(1/12)" + "雨" * 63 and len(parts[0]) == 69
    assert parts[10] == "(11/12)" + "雨" * 63 and len(parts[10]) == 70
    assert parts[11] == "(12/12)" + "雨" * 7


@pytest.mark.parametrize("n", [71, 100, 139, 140, 141, 333, 1000])
def test_parts_fit_number_and_rebuild_the_text(n: int) -> None:
    text = ("山洪，" * 400)[:n]
    parts = sms_parts(text)
    assert all(len(p) <= 70 for p in parts)
    numbers = [tuple(map(int, PREFIX.match(p).groups())) for p in parts]
    assert numbers == [(i, len(parts)) for i in range(1, len(parts) + 1)]
    assert "".join(PREFIX.sub("", p) for p in parts) == text
