"""The words villagers hear: villages nearest the dam first, the near ones grouped, distances
said without brackets (a loudspeaker drops bracketed asides), the advice to climb, not run."""

from __future__ import annotations

from riskmap.geo.warnings.texts import speech_text
from riskmap.geo.worksafety.alarm_texts import Downstream, dam_warning_texts, notice_text

BELOW = [
    Downstream("1", "田垅村", 0.0),
    Downstream("2", "吴庄村", 120.0),
    Downstream("3", "溪坪村", 3083.0),
    Downstream("4", "马岭村", 4132.0),
]


def test_the_warning_names_villages_nearest_first_and_is_read_whole() -> None:
    t = dam_warning_texts("某县锰矿尾矿库", 32, "浸润线埋深3.2米", BELOW, 10)
    assert t["instruction_zh"] == (
        "立即转移！田垅村、吴庄村紧邻坝下，溪坪村在坝下约3.1公里，马岭村约4.1公里，"
        "这些村的群众马上离开沟谷和河边低处，向两边山坡高处转移，不要顺着沟谷往下游跑，"
        "不要返回拿东西。"
    )
    spoken = speech_text(t["headline_zh"], t["instruction_zh"], t["description_zh"])
    assert spoken.startswith("某县锰矿尾矿库溃坝风险红色预警，下游村庄立即转移。立即转移！田垅村")
    assert "溪坪村在坝下约三点一公里" in spoken and "坝高三十二米" in spoken
    assert "4 villages within 10 km" in t["description_en"]


def test_a_fault_says_it_is_not_a_danger_alarm() -> None:
    fault = notice_text("某县", "某尾矿库", "pond_level", "stuck", "fault", "读数6小时不变")
    assert fault == (
        "【某县应急管理局】设备故障：某尾矿库库水位监测设备读数6小时不变。这是设备故障，"
        "不是险情报警，请运维人员尽快到场检修，修复前请加密人工巡查。"
    )
    orange = notice_text("某县", "某化工厂", "toxic_gas", "high", "threshold", "氯气12ppm")
    assert orange.startswith("【某县应急管理局】某化工厂有毒气体浓度高报报警：氯气12ppm。")
