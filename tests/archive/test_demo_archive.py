"""The demo gives every demo village ten years of annual maxima from its synthetic archive."""

from __future__ import annotations

import numpy as np
import psycopg

from riskmap.geo.archive.demo import SOURCE, demo_annual_maxima


def test_demo_villages_get_ten_years_of_maxima(db_url, mayang, tmp_path) -> None:
    with psycopg.connect(db_url) as conn:
        got = demo_annual_maxima(conn, "431226", 7, tmp_path)
        again = demo_annual_maxima(conn, "431226", 7, tmp_path)  # the archive is reused
        villages = conn.execute(
            "SELECT count(*) FROM admin_unit WHERE level = 'village' AND gb2260 = '431226'"
        ).fetchone()[0]
        rows = conn.execute(
            "SELECT village_code, duration_h, year, max_mm, hours, complete"
            " FROM village_rain_annual_max WHERE source = %s",
            (SOURCE,),
        ).fetchall()
    assert got.generated_s > 0 and again.generated_s == 0
    assert got.report.villages == villages and len(rows) == villages * 5 * 10
    assert {r[2] for r in rows} == set(range(2015, 2025))
    # 2015 lacks its first 8 Beijing hours (the archive's months are UTC): still ≥ 90 %
    assert all(r[5] for r in rows) and min(r[4] for r in rows) == 8760 - 8
    by = {(r[0], r[1], r[2]): r[3] for r in rows}
    for (code, d, year), mm in by.items():  # a longer window holds a shorter one's maximum
        if d > 1:
            prev = {3: 1, 6: 3, 12: 6, 24: 12}[d]
            assert mm >= by[(code, prev, year)] - 1e-9
    one_hour = np.median([mm for (_, d, _), mm in by.items() if d == 1])
    one_day = np.median([mm for (_, d, _), mm in by.items() if d == 24])
    # Hunan's storms: the median annual maximum at a station is ~40–50 mm in an hour and
    # ~100–130 mm in a day (湖南省暴雨洪水查算手册's maps); a village's mean over its cells a
    # little less. Before the generator drew on a fixed least domain a county got 15 / 42 mm.
    assert 20 < one_hour < 60 and 60 < one_day < 200
