"""The rules' rain windows summed from the grid arrays equal the SQL village_rain_windows.

On the replayed storm (hourly analyses through the real grid pipeline, gauges where grids do not
reach) at several times, and on hand-made grid rows with partial village sets, NaN villages,
zero coverage and gauge fallback; periods the arrays cannot sum alone (several lengths, village
rows of analyses) are left to SQL (None).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
import pytest

from riskmap.geo.db.float8_arrays import Float8ArrayDumper
from riskmap.geo.rules import rain_arrays
from riskmap.geo.rules.villages import Villages, fetch_villages

HOURS = [1, 3, 6, 12, 24]
H = timedelta(hours=1)


def sql_windows(conn, at, hours, villages: Villages) -> dict[int, np.ndarray]:
    out = {h: np.full(len(villages), np.nan) for h in hours}
    for h, codes, rain in conn.execute(
        "SELECT window_hours, array_agg(village_code), array_agg(rain_mm)"
        " FROM village_rain_windows(%s, %s::integer[]) GROUP BY 1",
        (at, hours),
    ):
        pos, found = villages.index(codes)
        out[h][pos] = np.asarray(rain, dtype=float)[found]
    return out


def assert_same(got: dict[int, np.ndarray], want: dict[int, np.ndarray]) -> None:
    assert set(got) == set(want)
    for h in want:
        assert np.array_equal(np.isnan(got[h]), np.isnan(want[h])), h
        np.testing.assert_allclose(got[h], want[h], rtol=1e-12, atol=1e-9, equal_nan=True)


def test_storm_windows_from_arrays_equal_sql(storm_url: str) -> None:
    with psycopg.connect(storm_url) as conn:
        villages = fetch_villages(conn)
        assert villages.version
        grids = conn.execute("SELECT count(*) FROM village_rain_grid").fetchone()[0]
        assert grids > 0
        summed = 0
        for at in (
            datetime(2026, 7, 14, 3, 0, tzinfo=UTC),
            datetime(2026, 7, 14, 10, 0, tzinfo=UTC),
            datetime(2026, 7, 14, 13, 0, tzinfo=UTC),
            datetime(2026, 7, 15, 0, 0, tzinfo=UTC),
        ):
            got = rain_arrays.rain_windows(conn, at, HOURS, villages)
            if got is None:
                continue
            summed += 1
            want = sql_windows(conn, at, HOURS, villages)
            assert_same(got, want)
            assert np.isfinite(want[3]).sum() > 100  # the storm is really compared
        assert summed >= 3


@pytest.fixture
def hand(db_url: str, mayang):
    """Hand-made grid rows over the Mayang villages (rolled back afterwards)."""
    with psycopg.connect(db_url) as conn:
        yield conn
        conn.rollback()


def put_grid(conn, set_id: str, start: datetime, hours: float, mean, coverage) -> None:
    end = start + timedelta(hours=hours)
    with conn.cursor() as cur:
        cur.adapters.register_dumper(np.ndarray, Float8ArrayDumper)
        cur.execute(
            "INSERT INTO village_rain_grid (product, valid_start, valid_end, issued_at,"
            " village_set, mean_mm, max_mm, coverage) VALUES ('qpe', %s, %s, %s, %s, %b, %b, %b)",
            (start, end, end, set_id, np.asarray(mean), np.asarray(mean) * 1.5,
             np.asarray(coverage)),
        )  # fmt: skip


def test_hand_made_grids_gauges_and_declines(hand) -> None:
    conn = hand
    at = datetime(2031, 3, 1, 12, tzinfo=UTC)
    villages = fetch_villages(conn)
    codes = [str(c) for c in villages.codes if str(c).startswith("431226")][:40]
    rng = np.random.default_rng(3)
    # two village orders: reversed first 30, and the last 25 (overlapping), plus a code that is
    # no village any more (NULL in the stored order, as after a deletion)
    conn.execute(
        "INSERT INTO village_set (id, codes) VALUES ('t-a', %s), ('t-b', %s)",
        (codes[:30][::-1], [*codes[15:], None]),
    )
    for i in range(8):  # hourly grids ending at at - i h
        set_id = "t-a" if i % 2 else "t-b"
        n = 30 if set_id == "t-a" else 26
        mean = rng.gamma(2, 3, n)
        mean[rng.random(n) < 0.2] = np.nan  # villages without a value this hour
        cov = rng.uniform(0.2, 1.0, n)
        if i == 0:
            cov[:3] = 0.0  # zero coverage: such a village falls back to its gauge
        put_grid(conn, set_id, at - (i + 1) * H, 1, mean, cov)
    for code in codes[::3]:  # gauges for some villages, some also under the grids
        for i in range(4):
            conn.execute(
                "INSERT INTO village_rain (village_code, product, valid_start, valid_end,"
                " issued_at, mean_mm, max_mm, coverage) VALUES (%s, 'gauge', %s, %s, %s, %s,"
                " %s, 1)",
                (code, at - (i + 1) * H, at - i * H, at - i * H, 2.5 + i, 2.5 + i),
            )
    got = rain_arrays.rain_windows(conn, at, HOURS, villages)
    assert got is not None
    want = sql_windows(conn, at, HOURS, villages)
    assert_same(got, want)
    assert np.isfinite(want[6]).sum() >= 35
    # a 3-hour analysis among the hourly ones: the arrays decline, SQL decides
    put_grid(conn, "t-a", at - 12 * H, 3, rng.gamma(2, 3, 30), np.ones(30))
    assert rain_arrays.rain_windows(conn, at, HOURS, villages) is None
    conn.execute("DELETE FROM village_rain_grid WHERE valid_end = %s", (at - 9 * H,))
    assert rain_arrays.rain_windows(conn, at, HOURS, villages) is not None
    # a village row of analyses in the span: SQL decides too
    conn.execute(
        "INSERT INTO village_rain_row (village_code, product, valid_start, valid_end, issued_at,"
        " mean_mm, max_mm, coverage) VALUES (%s, 'qpe', %s, %s, %s, 1, 1, 1)",
        (codes[0], at - 20 * H, at - 19 * H, at - 19 * H),
    )
    assert rain_arrays.rain_windows(conn, at, HOURS, villages) is None


def test_float8_arrays_cross_the_wire_bit_for_bit(db_url: str) -> None:
    from riskmap.geo.db.float8_arrays import FLOAT8_ARRAY_OID, Float8ArrayLoader

    values = np.random.default_rng(5).gamma(2, 5, 1000)
    values[[3, 7]] = [np.nan, 0.0]
    with psycopg.connect(db_url) as conn, conn.cursor(binary=True) as cur:
        cur.adapters.register_dumper(np.ndarray, Float8ArrayDumper)
        cur.adapters.register_loader(FLOAT8_ARRAY_OID, Float8ArrayLoader)
        back, n, text = cur.execute(
            "SELECT a, cardinality(a), a[1]::text FROM (SELECT %b::float8[] AS a) x", (values,)
        ).fetchone()
        assert n == 1000 and float(text) == values[0]
        assert np.array_equal(back, values, equal_nan=True)
        with_null = cur.execute("SELECT ARRAY[1.5, NULL, 'NaN', -2]::float8[]").fetchone()[0]
        assert np.array_equal(with_null, [1.5, np.nan, np.nan, -2.0], equal_nan=True)
        assert cur.execute("SELECT '{}'::float8[]").fetchone()[0].size == 0


def test_one_village_by_index_equals_the_view(storm_url: str) -> None:
    """village_rain_of (position lookup) gives the view's rows of a village, and the per-village
    village_rain_sums_exact (the API's village page) what the all-village sums give."""
    at = datetime(2026, 7, 14, 10, 0, tzinfo=UTC)
    starts = [at - timedelta(hours=h) for h in (1, 3, 6, 24)]
    with psycopg.connect(storm_url) as conn:
        codes = [
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT village_code FROM village_rain WHERE product = 'qpe'"
                " ORDER BY 1 LIMIT 6"
            )
        ]
        assert len(codes) == 6
        for code in codes:
            view = sorted(
                conn.execute("SELECT * FROM village_rain WHERE village_code = %s", (code,))
            )
            assert (
                view and sorted(conn.execute("SELECT * FROM village_rain_of(%s)", (code,))) == view
            )
            part = sorted(
                conn.execute("SELECT * FROM village_rain_of(%s, %s, %s)", (code, starts[-1], at))
            )
            assert part == [r for r in view if r[2] >= starts[-1] and r[3] <= at]
            for product in ("qpe", "gauge"):
                exact = {
                    r[0]: r[1:]
                    for r in conn.execute(
                        "SELECT * FROM village_rain_sums_exact(%s, %s, %s, %s, NULL)",
                        (code, product, at, starts),
                    )
                }
                for start in starts:
                    bulk = conn.execute(
                        "SELECT rain_mm, max_mm, hours FROM village_rain_sum(%s, %s, %s)"
                        " WHERE village_code = %s",
                        (product, start, at, code),
                    ).fetchone()
                    if bulk is None:
                        assert start not in exact
                        continue
                    rain, top, _cov, seconds = exact[start]
                    assert rain == pytest.approx(bulk[0], rel=1e-12)
                    assert top == pytest.approx(bulk[1], rel=1e-12)
                    assert seconds / 3600 == pytest.approx(bulk[2], rel=1e-12)
