"""The demo county's expert pool (专家库), about twenty experts across the allowed specialties.

Consultation during an event draws on experts, who are people with an employer, not a team.
"""

from __future__ import annotations

import pandas as pd

from riskmap.geo.demo.resources.context import Ctx, plain_frame

# Experts: specialty, how many, employer (after the county name), titles to draw from.
EXPERTS: list[tuple[str, int, str, tuple[str, ...]]] = [
    ("flood", 4, "水利局", ("高级工程师", "工程师")),
    ("geohazard", 4, "自然资源局", ("高级工程师", "工程师")),
    ("forest_fire", 3, "林业局", ("高级工程师", "工程师")),
    ("hazardous_chemicals", 2, "应急管理局", ("高级工程师", "注册安全工程师")),
    ("meteorology", 2, "气象局", ("高级工程师", "工程师")),
    ("structural", 2, "住房和城乡建设局", ("高级工程师", "注册结构工程师")),
    ("medical", 2, "人民医院", ("主任医师", "副主任医师")),
    ("mining", 1, "应急管理局", ("高级工程师",)),
]


def make_experts(ctx: Ctx) -> pd.DataFrame:
    """About twenty county experts across the specialties the ``expert`` table allows."""
    rows = []
    for specialty, count, employer, titles in EXPERTS:
        org = f"{ctx.county.name}{employer}"
        for _ in range(count):
            title = titles[int(ctx.rng.integers(len(titles)))]
            pid = ctx.people.one(org=org, title=title, admin_code=ctx.code)
            rows.append(
                {
                    "person_id": pid,
                    "specialty": specialty,
                    "employer": org,
                    "dataset_id": ctx.dataset_id,
                }
            )
    return plain_frame("expert", rows)
