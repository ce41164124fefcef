"""Migration 0017's rain accumulations give what the 0012 functions gave.

The 0012 ``village_rain_sum`` is kept here as a reference query (its SQL text, unchanged) and
the new ``village_rain_sum`` / ``village_rain_window`` / ``village_rain_windows`` /
``village_rain_forecast`` are compared with it: on the replayed storm for several times and
windows, and on hand-made and random periods that take the slow path (rolling sums, several
issues of a period, periods of several lengths, misaligned periods, gauge fallback).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from tests.conftest import ROOT

STORM = ROOT / "data" / "scenarios" / "storm-431226"
H = timedelta(hours=1)

# geo/db/migrations/0012_rain_grids.sql, village_rain_sum, with the parameters as placeholders
OLD_SUM = """
    WITH latest AS (
        SELECT DISTINCT ON (r.village_code, r.valid_start, r.valid_end)
               r.village_code, r.valid_start, r.valid_end, r.mean_mm, r.max_mm, r.coverage,
               extract(epoch FROM r.valid_end - r.valid_start) AS dur_s
        FROM village_rain r
        WHERE r.product = %(product)s AND r.valid_start >= %(from)s AND r.valid_end <= %(to)s
          AND (%(issued)s::timestamptz IS NULL OR r.issued_at = %(issued)s::timestamptz)
        ORDER BY r.village_code, r.valid_start, r.valid_end, r.issued_at DESC
    ), anchored AS (
        SELECT l.*, max(l.valid_end) OVER (PARTITION BY l.village_code, l.dur_s) AS anchor
        FROM latest l
    ), chained AS (
        SELECT a.* FROM anchored a
        WHERE mod(extract(epoch FROM a.anchor - a.valid_end)::numeric, a.dur_s::numeric) = 0
    ), kept AS (
        SELECT c.* FROM chained c
        WHERE NOT EXISTS (
            SELECT 1 FROM chained f
            WHERE f.village_code = c.village_code AND f.dur_s < c.dur_s
              AND f.valid_start < c.valid_end AND f.valid_end > c.valid_start)
    )
    SELECT k.village_code, sum(k.mean_mm), sum(k.max_mm),
           least(1.0, sum(k.coverage * k.dur_s)
                      / extract(epoch FROM %(to)s::timestamptz - %(from)s::timestamptz)),
           sum(k.dur_s) / 3600.0
    FROM kept k
    GROUP BY k.village_code
"""


def old_sum(conn, product, start, end, issued=None, memo: dict | None = None) -> dict[str, tuple]:
    """``memo``: for a database that does not change, each period is asked once (the
    reference is slow, which is why 0017 replaced it)."""
    key = (product, start, end, issued)
    if memo is not None and key in memo:
        return memo[key]
    params = {"product": product, "from": start, "to": end, "issued": issued}
    rows = conn.execute(OLD_SUM, params).fetchall()
    out = {r[0]: (r[1], r[2], r[3], float(r[4])) for r in rows}
    if memo is not None:
        memo[key] = out
    return out


def old_window(conn, at: datetime, hours: int, memo: dict | None = None) -> dict[str, tuple]:
    """0012 village_rain_window: qpe with some coverage, else the gauges."""
    start = at - timedelta(hours=hours)
    qpe = old_sum(conn, "qpe", start, at, memo=memo)
    out = {c: (*v[:3], "qpe") for c, v in qpe.items() if v[2] > 0}
    for code, v in old_sum(conn, "gauge", start, at, memo=memo).items():
        out.setdefault(code, (*v[:3], "gauge"))
    return out


def old_forecast(conn, issued, start, end) -> dict[str, tuple]:
    if issued is None:
        issued = conn.execute(
            "SELECT max(issued_at) FROM village_rain WHERE product = 'qpf'"
            " AND valid_start >= %s AND valid_end <= %s",
            (start, end),
        ).fetchone()[0]
        if issued is None:
            return {}
    return {c: (*v[:3], "qpf") for c, v in old_sum(conn, "qpf", start, end, issued).items()}


def new_sum(conn, product, start, end, issued=None) -> dict[str, tuple]:
    rows = conn.execute(
        "SELECT * FROM village_rain_sum(%s, %s, %s, %s)", (product, start, end, issued)
    ).fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


def new_window(conn, at: datetime, hours: int) -> dict[str, tuple]:
    rows = conn.execute("SELECT * FROM village_rain_window(%s, %s)", (at, hours)).fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


def new_windows(conn, at: datetime, hours: list[int]) -> dict[int, dict[str, tuple]]:
    out: dict[int, dict[str, tuple]] = {h: {} for h in hours}
    rows = conn.execute(
        "SELECT * FROM village_rain_windows(%s, %s::integer[])", (at, hours)
    ).fetchall()
    for r in rows:
        assert r[1] not in out[r[0]], f"two rows for {r[1]} over {r[0]} h"
        out[r[0]][r[1]] = tuple(r[2:])
    return out


def new_forecast(conn, issued, start, end) -> dict[str, tuple]:
    rows = conn.execute(
        "SELECT * FROM village_rain_forecast(%s, %s, %s)", (issued, start, end)
    ).fetchall()
    return {r[0]: tuple(r[1:]) for r in rows}


def same(got: dict[str, tuple], want: dict[str, tuple], what: str) -> None:
    """Equal keys and values; floats to rounding (the sums may add up in another order)."""
    assert set(got) == set(want), what
    for code, values in want.items():
        for g, w in zip(got[code], values, strict=True):
            if isinstance(w, str):
                assert g == w, (what, code)
            else:
                assert g == pytest.approx(w, rel=1e-12, abs=1e-9), (what, code, got[code], values)


def test_storm_windows_match_the_0012_functions(storm_url: str) -> None:
    hours = [1, 3, 6, 12, 24]
    memo: dict = {}  # the storm's database is only read
    with psycopg.connect(storm_url) as conn:
        products = dict(
            conn.execute("SELECT product, count(*) FROM village_rain GROUP BY 1").fetchall()
        )
        assert products.get("qpe", 0) > 0 and products.get("qpf", 0) > 0, products
        for at in (
            datetime(2026, 7, 14, 3, 0, tzinfo=UTC),
            datetime(2026, 7, 14, 6, 30, tzinfo=UTC),
            datetime(2026, 7, 14, 10, 0, tzinfo=UTC),
            datetime(2026, 7, 14, 13, 0, tzinfo=UTC),
            datetime(2026, 7, 15, 0, 0, tzinfo=UTC),
        ):
            together = new_windows(conn, at, hours)
            for h in hours:
                want = old_window(conn, at, h, memo)
                same(new_window(conn, at, h), want, f"window {h} h at {at}")
                same(together[h], want, f"windows, {h} h at {at}")
                for product in ("qpe", "gauge"):
                    start = at - timedelta(hours=h)
                    same(new_sum(conn, product, start, at), old_sum(conn, product, start, at,
                         memo=memo), f"{product} sum {h} h at {at}")  # fmt: skip
        at = datetime(2026, 7, 14, 10, 0, tzinfo=UTC)
        assert len(old_window(conn, at, 3)) > 100  # the storm is really compared
        runs = [
            r[0]
            for r in conn.execute(
                "SELECT DISTINCT issued_at FROM village_rain WHERE product = 'qpf' ORDER BY 1"
            )
        ]
        assert runs
        for issued in [None, *runs]:
            base = runs[0]
            for start, end in (
                (base, base + 3 * H),
                (base + H, base + 6 * H),
                (base, base + 24 * H),
            ):
                same(new_forecast(conn, issued, start, end), old_forecast(conn, issued, start, end),
                     f"forecast {issued} {start}–{end}")  # fmt: skip


@pytest.fixture
def db(db_url: str, mayang):
    with psycopg.connect(db_url) as conn:
        yield conn
        conn.rollback()


def village_codes(conn, n: int) -> list[str]:
    return [
        r[0]
        for r in conn.execute(
            "SELECT code FROM admin_unit WHERE level = 'village' AND gb2260 = '431226'"
            " ORDER BY code LIMIT %s",
            (n,),
        )
    ]


def insert(conn, rows) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO village_rain (village_code, product, valid_start, valid_end, issued_at,"
            " mean_mm, max_mm, coverage) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT DO NOTHING",
            rows,
        )


def compare_everything(conn, ats, hours) -> None:
    for at in ats:
        together = new_windows(conn, at, hours)
        for h in hours:
            want = old_window(conn, at, h)
            same(new_window(conn, at, h), want, f"window {h} h at {at}")
            same(together[h], want, f"windows, {h} h at {at}")
            for product in ("qpe", "gauge", "qpf"):
                start = at - timedelta(hours=h)
                same(new_sum(conn, product, start, at), old_sum(conn, product, start, at),
                     f"{product} sum {h} h at {at}")  # fmt: skip


def test_hand_made_periods_take_the_exact_path(db) -> None:
    a, b, c, d, e, f, g, k = village_codes(db, 8)
    at = datetime(2031, 7, 1, 12, tzinfo=UTC)
    rows = []
    for i in range(6):  # a: hourly analyses and a 6-hour one over them
        rows.append((a, "qpe", at - (i + 1) * H, at - i * H, at - i * H, 2.0, 3.0, 1.0))
    rows.append((a, "qpe", at - 6 * H, at, at, 30.0, 40.0, 1.0))
    rows.append((b, "gauge", at - H, at, at, 5.0, 5.0, 1.0))  # b: only a gauge
    rows.append((c, "qpe", at - H, at, at, 4.0, 6.0, 0.5))  # c: grid wins over its gauge
    rows.append((c, "gauge", at - H, at, at, 9.0, 9.0, 1.0))
    for i in range(8):  # d: rolling 3-hour sums ending every hour
        rows.append((d, "qpe", at - (i + 3) * H, at - i * H, at - i * H, 3.0 + i, 4.0 + i, 1.0))
    for i in range(4):  # e: two issues of each hour, the later one counts
        rows.append((e, "qpe", at - (i + 1) * H, at - i * H, at - i * H, 1.0, 1.0, 1.0))
        rows.append((e, "qpe", at - (i + 1) * H, at - i * H, at - i * H + H, 7.0, 8.0, 0.9))
    for i in range(5):  # f: hourly periods, one of them off the hour
        shift = timedelta(minutes=30) if i == 2 else timedelta(0)
        rows.append((f, "qpe", at - (i + 1) * H - shift, at - i * H - shift, at - i * H - shift,
                     1.5, 2.0, 1.0))  # fmt: skip
    rows.append((g, "qpe", at - H, at, at, 0.0, 0.0, 0.0))  # g: grid with no coverage → gauge
    rows.append((g, "gauge", at - 2 * H, at, at, 6.0, 6.0, 1.0))
    for i in range(3):  # k: half-hourly, hourly and 3-hourly periods over one another
        rows.append((k, "qpe", at - (i + 1) * 3 * H, at - i * 3 * H, at - i * 3 * H, 9.0, 9.5, 1.0))
        rows.append((k, "qpe", at - (i + 1) * H, at - i * H, at - i * H, 2.5, 2.5, 0.7))
    rows.append((k, "qpe", at - H / 2, at, at, 1.0, 1.0, 1.0))
    insert(db, rows)
    compare_everything(db, [at, at - H, at - H / 2, at + 2 * H], [1, 2, 3, 6, 12, 24])
    w = new_windows(db, at, [1, 6])
    assert w[6][a] == (12.0, 18.0, 1.0, "qpe") and w[1][b][3] == "gauge"
    assert w[1][c][3] == "qpe" and w[6][g][3] == "gauge"
    assert w[1][e][:2] == (7.0, 8.0)


def test_random_periods_match(db) -> None:
    rng = random.Random(20260723)
    codes = village_codes(db, 30)
    base = datetime(2031, 8, 1, tzinfo=UTC)
    rows = []
    for code in codes:
        for product in ("qpe", "gauge", "qpf"):
            if rng.random() < 0.3:
                continue
            for _ in range(rng.randint(1, 25)):
                dur = rng.choice([1, 1, 1, 2, 3, 6, 24]) * H
                if rng.random() < 0.1:
                    dur = timedelta(minutes=rng.choice([30, 90]))
                end = (
                    base
                    + rng.randint(-40, 0) * H
                    + rng.choice([0, 0, 0, 30]) * timedelta(minutes=1)
                )
                issued = end if product != "qpf" else base - rng.randint(1, 3) * H
                if product != "qpf" and rng.random() < 0.1:
                    issued = end + rng.randint(1, 3) * H
                mean = round(rng.uniform(0, 40), 1)
                cover = rng.choice([1.0, 1.0, 0.0, rng.random()])
                rows.append((code, product, end - dur, end, issued, mean, mean + 1, cover))
    insert(db, rows)
    compare_everything(db, [base, base - 5 * H, base - timedelta(minutes=30)], [1, 3, 6, 12, 24])
    for issued in [None, base - H, base - 2 * H, base - 3 * H]:
        for start, end in ((base - 24 * H, base), (base - 6 * H, base), (base - 48 * H, base)):
            same(new_forecast(db, issued, start, end), old_forecast(db, issued, start, end),
                 f"forecast {issued} {start}–{end}")  # fmt: skip
            want = old_sum(db, "qpf", start, end, issued)
            same(new_sum(db, "qpf", start, end, issued), want, f"qpf {issued} {start}–{end}")


def test_degenerate_arguments(db) -> None:
    at = datetime(2031, 7, 1, 12, tzinfo=UTC)
    assert new_windows(db, at, []) == {}
    assert new_windows(db, at, [0, -3]) == {0: {}, -3: {}}
    assert new_window(db, at, 0) == {}
    assert db.execute("SELECT count(*) FROM village_rain_window(NULL, 3)").fetchone()[0] == 0
    assert new_sum(db, "qpe", at, at) == {}
    assert new_sum(db, "qpe", at, at - H) == {}
    none = db.execute("SELECT count(*) FROM village_rain_sum(NULL, %s, %s)", (at - H, at))
    assert none.fetchone()[0] == 0
    together = new_windows(db, at, [3, 3, 1])
    assert set(together) == {1, 3}
