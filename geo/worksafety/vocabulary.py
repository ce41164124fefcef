"""Names of site kinds, monitoring items and threshold levels: one home for the API, the
texts and the pages (Chinese first, as users read them)."""

from __future__ import annotations

SITE_KIND_ZH: dict[str, str] = {
    "chemical_plant": "危险化学品企业",
    "fireworks_warehouse": "烟花爆竹仓库",
    "fireworks_shop": "烟花爆竹零售点",
    "tailings_dam": "尾矿库",
    "open_pit_slope": "露天矿山边坡",
}

#: monitoring items (监测项目): GB 51108-2015 for tailings dams, AQ 3035 / GB 50493 for
#: chemical installations, the fireworks warehouse's own sensors
ITEM_ZH: dict[str, str] = {
    "surface_displacement": "坝体表面位移",
    "internal_displacement": "坝体内部位移",
    "phreatic_depth": "浸润线埋深",
    "dry_beach_length": "干滩长度",
    "freeboard": "安全超高",
    "pond_level": "库水位",
    "rainfall": "降雨量",
    "reservoir_landslide": "库区滑坡位移",
    "tank_level": "储罐液位",
    "temperature": "温度",
    "pressure": "压力",
    "combustible_gas": "可燃气体浓度",
    "toxic_gas": "有毒气体浓度",
    "humidity": "湿度",
    "stored_quantity": "库存量",
}

#: threshold levels, lowest first: the four colours of GB 51108, and the high / high-high
#: alarms (高报 / 高高报) of chemical installations placed beside yellow and red
LEVEL_RANK: dict[str, int] = {
    "blue": 0,
    "high": 1,
    "yellow": 2,
    "orange": 3,
    "high_high": 4,
    "red": 5,
}
#: the colour a level is drawn in on the map and named in texts
LEVEL_COLOUR: dict[str, str] = {
    "blue": "blue",
    "high": "yellow",
    "yellow": "yellow",
    "orange": "orange",
    "high_high": "red",
    "red": "red",
}
LEVEL_ZH: dict[str, str] = {
    "blue": "蓝色",
    "yellow": "黄色",
    "orange": "橙色",
    "red": "红色",
    "high": "高报",
    "high_high": "高高报",
}
