"""The demo county's officials: bureau and township duty pools, village cadres and officers.

Every office needs people before anything can be assigned to them: the duty roster draws its
leaders, chiefs and officers from the pools made here, and warnings reach villages through the
cadres, grid officers and disaster information officers recorded here as duties.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from riskmap.geo.demo.resources.context import Ctx, bureau, town_org, village_org


@dataclass
class DutyPool:
    """Officials of one office who take turns on the duty roster, by post."""

    org_code: str
    leader: list[str]
    chief: list[str]
    officer: list[str]


def make_officials(ctx: Ctx) -> list[DutyPool]:
    """County bureau and township duty officials; township leaders and info officers."""
    p, code = ctx.people, ctx.code
    org = bureau(ctx.county)
    director = p.one(org=org, title="局长", admin_code=code)
    deputies = p.add(3, org=org, title="副局长", admin_code=code)
    pools = [
        DutyPool(
            code,
            leader=[director, *deputies],
            chief=p.add(4, org=org, title="股长", admin_code=code),
            officer=p.add(6, org=org, title="科员", admin_code=code),
        )
    ]
    for t in ctx.towns.itertuples(index=False):
        org = town_org(t.name, t.kind)
        sub = t.kind == "subdistrict"
        head = p.one(org=org, title="街道办主任" if sub else "乡镇长", admin_code=t.code)
        deputies = p.add(2, org=org, title="街道办副主任" if sub else "副乡镇长", admin_code=t.code)
        director = p.one(org=org, title="应急办主任", admin_code=t.code)
        staff = p.add(6, org=org, title="干部", admin_code=t.code)
        info = p.one(org=org, title="灾害信息员", admin_code=t.code)
        p.duty(head, "township_leader", admin_code=t.code)
        p.duty(info, "disaster_info_officer", admin_code=t.code)
        pools.append(DutyPool(t.code, [head, *deputies], [director, *staff[:2]], staff[2:]))
    return pools


def make_village_people(ctx: Ctx) -> None:
    """Per village a cadre, 1–3 grid officers and a disaster information officer."""
    v = ctx.villages
    pop = v["population"].to_numpy(dtype=float)
    grids = np.clip(np.rint(pop / 1000 + ctx.rng.uniform(-0.5, 0.5, len(v))), 1, 3).astype(int)
    p = ctx.people
    for code, name, kind, k in zip(v["code"], v["name"], v["kind"], grids, strict=True):
        org = village_org(name, kind)
        cadre = p.one(
            org=org, title="社区书记" if kind == "community" else "村支书", admin_code=code
        )
        p.duty(cadre, "village_cadre", admin_code=code)
        for pid in p.add(int(k), org=org, title="网格员", admin_code=code):
            p.duty(pid, "grid_officer", admin_code=code)
        info = p.one(org=org, title="灾害信息员", admin_code=code)
        p.duty(info, "disaster_info_officer", admin_code=code)
