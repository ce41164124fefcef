"""The demo 24-hour duty roster (值班表): fourteen days of leaders, chiefs and officers.

Warnings go to whoever is on duty now; the roster rotates each office's pool so every office
has one leader and one chief at any time, each office with its own duty-room landline.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pandas as pd

from riskmap.geo.demo.resources.context import Ctx, plain_frame
from riskmap.geo.demo.resources.officials import DutyPool

ROSTER_DAYS = 14
# Prefecture (first four GB/T 2260 digits) → telephone area code.
AREA_CODE = {"4312": "0745", "4304": "0734"}
DEFAULT_AREA_CODE = "0731"


def _landlines(ctx: Ctx, n: int) -> list[str]:
    """``n`` distinct duty-room numbers such as 0745-5123456."""
    area = AREA_CODE.get(ctx.code[:4], DEFAULT_AREA_CODE)
    local = ctx.rng.choice(1_000_000, size=n, replace=False) + 5_000_000
    return [f"{area}-{x}" for x in local]


def make_duty_shifts(ctx: Ctx, pools: list[DutyPool], roster_start: datetime) -> pd.DataFrame:
    """Fourteen 24-hour days per office: a leader, a chief and one or two officers a day.

    Each post draws in turn from its own pool, so nobody holds two posts at once and each
    office has one leader and one chief at any time.
    """
    start = roster_start.astimezone(UTC)
    bounds = [start + timedelta(days=d) for d in range(ROSTER_DAYS + 1)]
    spans = [f"[{a.isoformat()},{b.isoformat()})" for a, b in pairwise(bounds)]
    phones = _landlines(ctx, len(pools))
    extra = ctx.rng.random((len(pools), ROSTER_DAYS)) < 0.5
    rows = []
    for pool, phone, two in zip(pools, phones, extra, strict=True):
        turn = 0
        for d, span in enumerate(spans):
            on = [("leader", pool.leader[d % len(pool.leader)])]
            on.append(("chief", pool.chief[d % len(pool.chief)]))
            for _ in range(2 if two[d] else 1):
                on.append(("officer", pool.officer[turn % len(pool.officer)]))
                turn += 1
            rows += [
                {
                    "org_code": pool.org_code,
                    "post": post,
                    "person_id": pid,
                    "shift": span,
                    "phone": phone,
                    "dataset_id": ctx.dataset_id,
                }
                for post, pid in on
            ]
    return plain_frame("duty_shift", rows)
