"""Monitoring configurations of the demo county's work-safety sites (one YAML file per site).

The tailings dam (dam_height_m 32, 四等库 → 4级坝) gets points for every item of GB 51108-2015;
the chemical plant two tanks (液氯, 硫酸) and gas detectors; the fireworks warehouse its
temperature, humidity and stored quantity against the licensed 12.5 t. Thresholds follow the
rules of thumb the standards give, and are otherwise typical design values marked ⚠ — a real
site's come from its design (设计单位).

Where a value comes from:
- 浸润线埋深 red = GB 50863 minimum burial depth for the dam height (table "尾矿堆积坝外坡浸润线
  最小埋深", 30 m → 3 m, 60 m → 4 m, interpolated ⚠ from memory of the table); orange = 1.1 × red
  (GB 51108 §8.3.4 commentary); yellow 1.2 ×, blue 1.3 × ⚠.
- 干滩长度 / 安全超高 red = GB 50863 table 4.2.1 for a 4级 upstream dam: 50 m and 0.5 m ⚠ (from
  memory of the table); the other colours step up by experience (GB 51108 §8.3.5: "橙色预警阈值是
  根据调洪库容大小按经验值确定的") ⚠.
- 库水位 red = design highest flood level, yellow = 汛前控制水位, blue = 生产运行控制水位 (§8.3.6:
  taken from the design); the elevations here are invented.
- 降水量 (24 h): the CMA classes 大雨 25 / 暴雨 50 / 大暴雨 100 / 特大暴雨 250 mm; yellow at 暴雨
  (§8.3.7: "降水量黄色预警阈值是根据气象部门制定的降水量标准所对应的暴雨级降水量确定的").
- 库区滑坡体位移 orange = 80 % of red (§8.3.8); blue and yellow 40 % and 60 % ⚠.
- 可燃气体 high ≤ 25 %LEL, high_high ≤ 50 %LEL; 液氯 high ≤ 100 %OEL, high_high ≤ 200 %OEL
  (GB/T 50493-2019 §5.5.2); Cl₂ MAC 1 mg/m³ ≈ 0.34 ppm (GBZ 2.1) ⚠.
- HJ 212 factor codes: a01001 温度 and a01002 湿度 are the standard's; the dam's ``wk…`` and the
  gas detectors' ``g…`` codes are this demo's own, in the standard's style ⚠ (HJ 212's code
  tables list environmental factors only).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import geopandas as gpd
import yaml

from riskmap.geo.demo.people import People

SECTION = {
    "tailings_dam": "矿山股",
    "chemical_plant": "危化股",
    "fireworks_warehouse": "危化股",  # ⚠ counties often give fireworks to the 危化 section
}
DAM_DEPTH_TABLE = ((30.0, 3.0), (60.0, 4.0))  # GB 50863 (dam height m, min burial depth m) ⚠


def maintenance_contacts(people: People, sites: gpd.GeoDataFrame) -> dict[str, str]:
    """A device-maintenance contact (设备运维) for each monitored site; faults go to them."""
    return {
        s.id: people.one(org=f"{s.name}在线监测运维", title="设备运维", admin_code=s.admin_code)
        for s in sites.itertuples()
        if s.kind in SECTION
    }


def section_members(people: People, county_code: str, county_name: str) -> list[tuple[str, str]]:
    """(section, person) for two staff of each supervising section (监管股室) of the county's
    bureau: every alarm of a site they supervise reaches them, device faults included."""
    return [
        (
            section,
            people.one(
                org=f"{county_name}应急管理局{section}", title=title, admin_code=county_code
            ),
        )
        for section in sorted(set(SECTION.values()))
        for title in ("股长", "科员")
    ]


def site_configs(sites: gpd.GeoDataFrame, contacts: Mapping[str, str]) -> dict[str, dict]:
    """The configuration (as YAML-ready data) of every monitored site, by site id."""
    makers = {
        "tailings_dam": _dam,
        "chemical_plant": _chemical,
        "fireworks_warehouse": _fireworks,
    }
    out = {}
    for s in sites.itertuples():
        if s.kind not in makers:
            continue
        centre = s.geom.representative_point()
        items = makers[s.kind](s.id, s.details, centre.x, centre.y)
        out[s.id] = {
            "site": s.id,
            "supervising_section": SECTION[s.kind],
            "maintenance_contact": contacts.get(s.id),
            "auto_issue": False,  # a red dam alarm's 立即转移 is proposed, a commander issues it
            "items": items,
        }
    return out


def write_site_configs(configs: Mapping[str, dict], folder: Path) -> list[Path]:
    """Write one ``<site>.yaml`` per site into ``folder``; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for site, cfg in configs.items():
        path = folder / f"{site}.yaml"
        text = yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False, width=100)
        path.write_text(f"# {site}: demo monitoring configuration (synthetic)\n{text}", "utf-8")
        paths.append(path)
    return paths


def phreatic_min_depth(dam_height_m: float) -> float:
    """Minimum burial depth of the phreatic line for the dam height, interpolated (GB 50863)."""
    (h0, d0), (h1, d1) = DAM_DEPTH_TABLE
    h = min(max(dam_height_m, h0), h1)
    return round(d0 + (d1 - d0) * (h - h0) / (h1 - h0), 2)


def _mn(site_id: str, logger: int) -> str:
    """A 14-digit HJ 212 device code (MN): the site id's digits, padded, then the logger."""
    digits = "".join(ch for ch in site_id if ch.isdigit())
    return f"{digits:0<13}{logger}"[:14]


def _pt(
    pid: str, name: str, unit: str, direction: str, th: dict, x: float, y: float, **extra
) -> dict:
    return {
        "id": pid,
        "name": name,
        "unit": unit,
        "direction": direction,
        **({"quantity": extra.pop("quantity")} if "quantity" in extra else {}),
        "thresholds": dict(th),
        **extra,
        "lon": round(x, 6),
        "lat": round(y, 6),
    }


def _dam(sid: str, details: Mapping, x: float, y: float) -> dict:
    """Every GB 51108 item of a wet tailings dam. The crest runs east–west through the site; the
    pond lies north of it, the downstream slope south."""
    mn = _mn(sid, 1)  # one data logger for the dam
    red = phreatic_min_depth(float(details.get("dam_height_m", 32)))
    depth = {
        "blue": round(1.3 * red, 2),
        "yellow": round(1.2 * red, 2),
        "orange": round(1.1 * red, 2),
        "red": red,
    }
    d = 0.0006  # about 60 m
    gnss = [(f"GP{k}", x + (k - 2.5) * d, y - 0.0002 * (k % 2)) for k in range(1, 5)]
    disp = {"blue": 20.0, "yellow": 30.0, "orange": 40.0, "red": 50.0}  # mm ⚠
    rate = {"blue": 2.0, "yellow": 3.0, "orange": 4.0, "red": 5.0}  # mm/d ⚠
    jump = dict(phys_min=-500.0, phys_max=500.0, max_jump=20.0)
    return {
        "surface_displacement": {
            "alarm": {"min_duration_s": 1800, "dead_band": 2.0, "hold_s": 21600, "stuck_n": 24},
            "points": [
                _pt(f"{sid}-{g}", f"坝体表面位移 {g}（累计）", "mm", "above", disp, gx, gy, **jump)
                for g, gx, gy in gnss
            ]
            + [
                _pt(
                    f"{sid}-{g}V",
                    f"坝体表面位移速率 {g}",
                    "mm/d",
                    "above",
                    rate,
                    gx,
                    gy,
                    quantity="rate",
                    rate_of=f"{sid}-{g}",
                    phys_min=-100.0,
                    phys_max=100.0,
                    max_jump=10.0,
                    alarm={"dead_band": 0.5},
                )
                for g, gx, gy in gnss
            ],
        },
        "internal_displacement": {
            "alarm": {"min_duration_s": 1800, "dead_band": 2.0, "hold_s": 21600, "stuck_n": 24},
            "points": [
                _pt(
                    f"{sid}-IN{k}",
                    f"坝体内部位移 IN{k}（测斜孔）",
                    "mm",
                    "above",
                    {"blue": 15.0, "yellow": 25.0, "orange": 35.0, "red": 45.0},
                    x + (k - 1.5) * d,
                    y - 0.0004,
                    **jump,
                )
                for k in (1, 2)
            ],
        },
        "phreatic_depth": {
            "alarm": {"min_duration_s": 1800, "dead_band": 0.1, "hold_s": 21600, "stuck_n": 48},
            "points": [
                _pt(
                    f"{sid}-JR{k}",
                    f"浸润线埋深 JR{k}（{k}-{k}断面）",
                    "m",
                    "below",
                    depth,
                    x + (k - 2) * d,
                    y - 0.0003,
                    phys_min=0.0,
                    phys_max=40.0,
                    max_jump=0.5,
                    mn=mn,
                    factor=f"wk020{k}",
                )
                for k in (1, 2, 3)
            ],
        },
        "dry_beach_length": {
            "alarm": {"min_duration_s": 1800, "dead_band": 2.0, "hold_s": 21600, "stuck_n": 48},
            "points": [
                _pt(
                    f"{sid}-GT1",
                    "干滩长度 GT1",
                    "m",
                    "below",
                    {"blue": 80.0, "yellow": 70.0, "orange": 60.0, "red": 50.0},
                    x,
                    y + 0.0005,
                    phys_min=0.0,
                    phys_max=600.0,
                    max_jump=15.0,
                    mn=mn,
                    factor="wk0301",
                )
            ],
        },
        "freeboard": {
            "alarm": {"min_duration_s": 600, "dead_band": 0.05, "hold_s": 21600, "stuck_n": 48},
            "points": [
                _pt(
                    f"{sid}-AC1",
                    "安全超高 AC1（滩顶高程 − 库水位）",
                    "m",
                    "below",
                    {"blue": 1.1, "yellow": 0.9, "orange": 0.7, "red": 0.5},
                    x,
                    y + 0.0002,
                    phys_min=-3.0,
                    phys_max=15.0,
                    max_jump=0.3,
                )
            ],
        },
        "pond_level": {
            "alarm": {"min_duration_s": 600, "dead_band": 0.05, "hold_s": 21600, "stuck_n": 48},
            "points": [
                _pt(
                    f"{sid}-SW1",
                    "库水位 SW1（对照汛前控制水位与设计最高洪水位）",
                    "m",
                    "above",
                    # 生产运行控制水位 / 汛前控制水位 / — / 设计最高洪水位 (crest 滩顶 530.0 m) ⚠
                    {"blue": 528.5, "yellow": 528.8, "orange": 529.2, "red": 529.5},
                    x,
                    y + 0.0008,
                    phys_min=515.0,
                    phys_max=535.0,
                    max_jump=0.5,
                    mn=mn,
                    factor="wk0401",
                )
            ],
        },
        "rainfall": {
            # a rain gauge reads 0 for days: no stuck check; accumulations alarm at once
            "alarm": {"min_duration_s": 0, "dead_band": 0.0, "hold_s": 43200, "stuck_n": 0},
            "points": [
                _pt(
                    f"{sid}-YL1",
                    "降水量 YL1（24小时累计）",
                    "mm",
                    "above",
                    {"blue": 25.0, "yellow": 50.0, "orange": 100.0, "red": 250.0},
                    x + 0.0008,
                    y + 0.0003,
                    phys_min=0.0,
                    phys_max=800.0,
                    max_jump=120.0,
                    mn=mn,
                    factor="wk0501",
                )
            ],
        },
        "reservoir_landslide": {
            "alarm": {"min_duration_s": 1800, "dead_band": 3.0, "hold_s": 21600, "stuck_n": 24},
            "points": [
                _pt(
                    f"{sid}-HP{k}",
                    f"库区滑坡体位移 HP{k}",
                    "mm",
                    "above",
                    {"blue": 40.0, "yellow": 60.0, "orange": 80.0, "red": 100.0},
                    x + (k - 1.5) * 2 * d,
                    y + 0.0015,
                    phys_min=-1000.0,
                    phys_max=1000.0,
                    max_jump=30.0,
                )
                for k in (1, 2)
            ],
        },
    }


def _chemical(sid: str, details: Mapping, x: float, y: float) -> dict:
    """Two tanks (液氯 V101 pressurised, 硫酸 V102 atmospheric) with level, temperature and
    pressure; combustible and toxic (Cl₂) gas detectors. High / high-high per AQ 3035."""
    mn = _mn(sid, 1)
    d = 0.0003
    tanks = [("V101", "液氯储罐", x - d, y), ("V102", "硫酸储罐", x + d, y)]
    level = {"V101": (80.0, 85.0), "V102": (85.0, 92.0)}  # % of height ⚠ design values
    temp = {"V101": (40.0, 45.0), "V102": (45.0, 55.0)}  # °C ⚠
    fast = {"min_duration_s": 10, "hold_s": 600}
    return {
        "tank_level": {
            "alarm": {**fast, "min_duration_s": 30, "dead_band": 1.0, "stuck_n": 0},
            "points": [
                _pt(
                    f"{sid}-{t}-L",
                    f"{n}{t} 液位",
                    "%",
                    "above",
                    dict(zip(("high", "high_high"), level[t], strict=True)),
                    tx,
                    ty,
                    phys_min=0.0,
                    phys_max=100.0,
                    max_jump=5.0,
                )
                for t, n, tx, ty in tanks
            ],
        },
        "temperature": {
            "alarm": {**fast, "min_duration_s": 60, "dead_band": 1.0, "stuck_n": 120},
            "points": [
                _pt(
                    f"{sid}-{t}-T",
                    f"{n}{t} 温度",
                    "°C",
                    "above",
                    dict(zip(("high", "high_high"), temp[t], strict=True)),
                    tx,
                    ty,
                    phys_min=-40.0,
                    phys_max=150.0,
                    max_jump=10.0,
                )
                for t, n, tx, ty in tanks
            ],
        },
        "pressure": {
            "alarm": {**fast, "min_duration_s": 30, "dead_band": 0.02, "stuck_n": 120},
            "points": [
                _pt(
                    f"{sid}-V101-P",
                    "液氯储罐V101 压力",
                    "MPa",
                    "above",
                    {"high": 1.2, "high_high": 1.4},  # design pressure 1.6 MPa ⚠
                    x - d,
                    y,
                    phys_min=0.0,
                    phys_max=2.5,
                    max_jump=0.3,
                )
            ],
        },
        "combustible_gas": {
            # detectors rightly read 0 for months: no stuck check
            "alarm": {**fast, "dead_band": 2.0, "stuck_n": 0, "silent_s": 300},
            "points": [
                _pt(
                    f"{sid}-GAS{k}",
                    f"可燃气体探测器 GAS{k}（{place}）",
                    "%LEL",
                    "above",
                    {"high": 25.0, "high_high": 50.0},
                    x + (k - 1.5) * 2 * d,
                    y - d,
                    phys_min=0.0,
                    phys_max=100.0,
                    max_jump=60.0,
                    mn=mn,
                    factor=f"g0100{k}",
                )
                for k, place in ((1, "装卸区"), (2, "泵房"))
            ],
        },
        "toxic_gas": {
            "alarm": {**fast, "dead_band": 0.05, "stuck_n": 0, "silent_s": 300},
            "points": [
                _pt(
                    f"{sid}-CL{k}",
                    f"有毒气体（氯气）探测器 CL{k}（{place}）",
                    "ppm",
                    "above",
                    {"high": 0.3, "high_high": 0.6},  # ≤ 100 % / 200 % OEL (Cl₂ ≈ 0.34 ppm)
                    x - d + (k - 1.5) * d,
                    y + d,
                    phys_min=0.0,
                    phys_max=10.0,
                    max_jump=8.0,
                    mn=mn,
                    factor=f"g0200{k}",
                )
                for k, place in ((1, "液氯储罐区"), (2, "汽化器间"))
            ],
        },
    }


def _fireworks(sid: str, details: Mapping, x: float, y: float) -> dict:
    """Warehouse temperature and humidity, and stored net explosive mass against the licence."""
    limit = float(details.get("net_explosive_t", 12.5))
    stored = {  # 80 %, 90 %, 95 % of the licensed quantity; red at the limit (超量储存)
        "blue": round(0.8 * limit, 3),
        "yellow": round(0.9 * limit, 3),
        "orange": round(0.95 * limit, 3),
        "red": limit,
    }
    rooms = [("K1", x - 0.0002, y), ("K2", x + 0.0002, y)]
    return {
        "temperature": {
            "alarm": {"min_duration_s": 600, "dead_band": 0.5, "hold_s": 7200, "stuck_n": 72},
            "points": [
                _pt(
                    f"{sid}-{r}-T",
                    f"{r}库房温度",
                    "°C",
                    "above",
                    {"blue": 30.0, "yellow": 32.0, "orange": 35.0, "red": 38.0},  # ⚠
                    rx,
                    ry,
                    phys_min=-30.0,
                    phys_max=80.0,
                    max_jump=8.0,
                    mn=_mn(sid, k),  # one logger per room
                    factor="a01001",  # HJ 212-2017 温度
                )
                for k, (r, rx, ry) in enumerate(rooms, start=1)
            ],
        },
        "humidity": {
            "alarm": {"min_duration_s": 1800, "dead_band": 2.0, "hold_s": 7200, "stuck_n": 72},
            "points": [
                _pt(
                    f"{sid}-{r}-H",
                    f"{r}库房相对湿度",
                    "%RH",
                    "above",
                    {"blue": 70.0, "yellow": 75.0, "orange": 80.0, "red": 85.0},  # ⚠
                    rx,
                    ry,
                    phys_min=0.0,
                    phys_max=100.0,
                    max_jump=20.0,
                    mn=_mn(sid, k),
                    factor="a01002",  # HJ 212-2017 湿度
                )
                for k, (r, rx, ry) in enumerate(rooms, start=1)
            ],
        },
        "stored_quantity": {
            # changes only when goods move: no stuck check; reported at least daily
            "alarm": {"min_duration_s": 0, "dead_band": 0.0, "stuck_n": 0, "silent_s": 86400},
            "points": [
                _pt(
                    f"{sid}-KC1",
                    f"库存药量 KC1（核定 {limit:g} t）",
                    "t",
                    "above",
                    stored,
                    x,
                    y,
                    phys_min=0.0,
                    phys_max=round(3 * limit, 3),
                    max_jump=limit,
                )
            ],
        },
    }


__all__ = [
    "maintenance_contacts",
    "phreatic_min_depth",
    "site_configs",
    "write_site_configs",
]
