"""Small hand-made sites for the loader tests: a dam and a chemical plant in a made-up province,
and YAML configurations written as text, as a bureau would write them."""

from __future__ import annotations

from pathlib import Path

import psycopg

SETUP = """
INSERT INTO dataset (id, title, synthetic, source) VALUES ('t-ws', 't', true, 'test');
INSERT INTO admin_unit (code, level, name, gb2260, stat_code, dataset_id, geom)
VALUES ('990000', 'province', '测试省', '990000', '990000000000', 't-ws',
        ST_Multi(ST_MakeEnvelope(109, 27, 110, 28, 4326)));
INSERT INTO person (id, name, phone, org, title, dataset_id)
VALUES ('P-T1', '张三', '13900000001', '运维公司', '设备运维', 't-ws');
INSERT INTO hazardous_site (id, name, kind, admin_code, dataset_id, geom) VALUES
  ('T-DAM', '测试尾矿库', 'tailings_dam', '990000', 't-ws', ST_Point(109.5, 27.5, 4326)),
  ('T-CHEM', '测试化工厂', 'chemical_plant', '990000', 't-ws', ST_Point(109.6, 27.6, 4326));
"""

DAM = """\
site: T-DAM
supervising_section: 矿山股
maintenance_contact: P-T1
alarm: {hold_s: 7200}
items:
  phreatic_depth:
    alarm: {min_duration_s: 1800, dead_band: 0.1}
    points:
      - id: T-JR1
        name: 浸润线 JR1
        unit: m
        direction: below
        thresholds: {blue: 4.0, yellow: 3.7, orange: 3.4, red: 3.1}
        phys_min: 0
        phys_max: 40
        max_jump: 0.5
        mn: "99000000000001"
        factor: wk0201
        lon: 109.501
        lat: 27.499
        alarm: {stuck_n: 48}
      - id: T-JR2
        name: 浸润线 JR2
        unit: m
        direction: below
        thresholds: {blue: 4.0, yellow: 3.7, orange: 3.4, red: 3.1}
        mn: "99000000000001"
        factor: wk0202
  rainfall:
    alarm: {stuck_n: 0}
    points:
      - id: T-YL1
        name: 降水量 YL1
        unit: mm
        direction: above
        thresholds: {yellow: 50, orange: 100, red: 250}
"""

CHEM = """\
site: T-CHEM
supervising_section: 危化股
items:
  combustible_gas:
    points:
      - id: T-GAS1
        name: 可燃气体 GAS1
        unit: "%LEL"
        direction: above
        thresholds: {high: 25, high_high: 50}
"""


def setup_sites(conn: psycopg.Connection) -> None:
    conn.execute(SETUP)


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path
