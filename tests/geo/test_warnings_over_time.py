"""Warnings over time: two storms weeks apart, with and without rules runs between them.

Rain is written straight into ``village_rain`` (hourly analyses of chosen villages), so which
villages fire when is known by construction; the real rules (flash_flood.observed: 立即转移,
red, auto-issued, hold 6 h) and the real lifecycle run over it. The expected area of each
warning is computed here independently: a village belongs to the area at run time T when some
run at t in (T - hold, T] saw a window (t - 6 h, t] holding one of its rain hours.
Each test runs inside a transaction that is rolled back.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from riskmap.geo.warnings import lifecycle
from riskmap.geo.warnings.cycle import run_cycle

RULE = "flash_flood.observed"
HOLD = timedelta(hours=6)  # flash_flood.observed hold_hours (geo/rules/builtin/flash_flood.yaml)
WINDOW = timedelta(hours=6)  # its longest rain window
DAY0 = datetime(2027, 6, 1, 0, 0, tzinfo=UTC)  # far from the demo storm and other tests
RAIN_MM = 400.0  # in one hour: over every village's 1-hour evacuate-now threshold


@pytest.fixture
def db(mayang, conn: psycopg.Connection) -> Iterator[psycopg.Connection]:
    conn.execute("SELECT 1")
    yield conn


@pytest.fixture
def flashy(db) -> list[str]:
    """Villages with all three evacuate-now thresholds, each below RAIN_MM (checked here)."""
    rows = db.execute(
        """SELECT village_code FROM flash_flood_threshold
           GROUP BY village_code
           HAVING count(DISTINCT duration_h) FILTER (WHERE duration_h IN (1, 3, 6)) = 3
              AND max(immediate_mm) < %s AND max(prepare_mm) < %s
           ORDER BY village_code""",
        (RAIN_MM, RAIN_MM),
    ).fetchall()
    codes = [r[0] for r in rows]
    assert len(codes) >= 12
    return codes


def rain(db, villages: list[str], hour_end: datetime, mm: float = RAIN_MM) -> None:
    """One hourly analysis (qpe) of ``mm`` over each village for (hour_end - 1 h, hour_end]."""
    db.cursor().executemany(
        """INSERT INTO village_rain (village_code, product, valid_start, valid_end, issued_at,
                                     mean_mm, max_mm, coverage, source_ref)
           VALUES (%s, 'qpe', %s, %s, %s, %s, %s, 1, 'test')""",
        [(v, hour_end - timedelta(hours=1), hour_end, hour_end, mm, mm) for v in villages],
    )


def expected_area(
    rain_hours: dict[str, list[datetime]], runs: list[datetime], at: datetime
) -> set[str]:
    """Brute force: villages some run in (at - HOLD, at] saw firing (a rain hour in its
    window (t - WINDOW, t])."""
    return {
        v
        for v, hours in rain_hours.items()
        for t in runs
        if at - HOLD < t <= at and any(t - WINDOW < h <= t for h in hours)
    }


def red_warnings(db) -> list[dict]:
    rows = db.execute(
        """SELECT id, status, village_codes, expires_at, published_version FROM warning
           WHERE rule_id = %s AND colour = 'red' ORDER BY id""",
        (RULE,),
    ).fetchall()
    keys = ("id", "status", "villages", "expires_at", "published_version")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def published(db, wid: int) -> list[tuple]:
    return db.execute(
        """SELECT version, msg_type, village_codes, cap_sent, effective, expires
           FROM warning_version WHERE warning_id = %s AND state = 'published' ORDER BY version""",
        (wid,),
    ).fetchall()


def check_times(db) -> int:
    """sent ≤ effective < expires on every published version; returns how many were checked."""
    rows = db.execute(
        "SELECT cap_sent, effective, expires FROM warning_version WHERE state = 'published'"
    ).fetchall()
    assert all(s <= e < x for s, e, x in rows)
    return len(rows)


def storm_one(db, flashy) -> tuple[dict[str, list[datetime]], list[str]]:
    a = flashy[:6]
    hour = DAY0 + timedelta(hours=1)
    rain(db, a, hour)
    return {v: [hour] for v in a}, a


@pytest.mark.parametrize("runs_between", [False, True])
def test_a_storm_weeks_later_never_extends_the_old_warning(db, flashy, runs_between) -> None:
    rain_hours, a = storm_one(db, flashy)
    runs = [DAY0 + timedelta(hours=h) for h in range(1, 5)]
    for t in runs:
        run_cycle(db, t)
    [w1] = red_warnings(db)
    assert set(w1["villages"]) == expected_area(rain_hours, runs, runs[-1]) == set(a)
    if runs_between:  # hourly runs for two more days: the warning runs out on its own
        more = [runs[-1] + timedelta(hours=h) for h in range(1, 48)]
        for t in more:
            run_cycle(db, t)
        runs += more
        [w1] = red_warnings(db)
        assert w1["status"] == "expired"
    # three weeks later: rain over two of the old villages and four new ones
    later = DAY0 + timedelta(days=21)
    b = a[:2] + flashy[6:10]
    hour2 = later + timedelta(hours=1)
    rain(db, b, hour2)
    for v in b:
        rain_hours.setdefault(v, []).append(hour2)
    result = run_cycle(db, hour2)
    runs.append(hour2)
    old, new = red_warnings(db)
    assert old["id"] == w1["id"] and old["status"] == "expired"
    # the old one ended by its own expiry, weeks ago, with its all-clear (sent now if no run
    # between the storms saw it expire) and was never extended
    last_fired = DAY0 + timedelta(hours=6)  # the 1-hour rain leaves its 6-hour window after that
    assert old["expires_at"] <= last_fired + HOLD
    versions = published(db, old["id"])
    assert versions[-1][1] == "Cancel" and all(v[3] <= last_fired for v in versions[:-1])
    assert set(versions[-1][2]) == set(a)
    if not runs_between:
        assert [c.action for c in result.expired if c.warning_id == old["id"]] == ["expire"]
        assert versions[-1][3] == hour2
    # the new warning holds exactly the new storm's villages
    assert set(new["villages"]) == expected_area(rain_hours, runs, hour2) == set(b)
    assert new["status"] == "issued"
    assert set(published(db, new["id"])[0][2]) == set(b)
    assert check_times(db) >= 3


def test_villages_that_stop_firing_leave_the_area(db, flashy) -> None:
    """One event: A rains at hour 1, then A[0] and E at hour 7. A's other villages fired last at
    hour 6 (their 6-hour window), so at hour 12 they have not fired for the 6-hour hold time
    and leave: a CAP Update with exactly A[0] + E."""
    a, e = flashy[:5], flashy[5:8]
    h1, h7 = DAY0 + timedelta(hours=1), DAY0 + timedelta(hours=7)
    rain(db, a, h1)
    rain(db, [a[0], *e], h7)
    rain_hours = {v: [h1] for v in a}
    rain_hours[a[0]].append(h7)
    for v in e:
        rain_hours[v] = [h7]
    runs: list[datetime] = []
    areas = {}
    for h in range(1, 14):
        t = DAY0 + timedelta(hours=h)
        run_cycle(db, t)
        runs.append(t)
        [w] = [x for x in red_warnings(db) if x["status"] == "issued"]
        areas[h] = set(w["villages"])
        assert areas[h] == expected_area(rain_hours, runs, t), h
    assert areas[6] == set(a) and areas[7] == set(a) | set(e)
    assert areas[12] == {a[0], *e}  # written out by hand too
    versions = published(db, w["id"])
    smaller = [v for v in versions if set(v[2]) == {a[0], *e}]
    assert smaller and smaller[0][1] == "Update" and smaller[0][3] == DAY0 + timedelta(hours=12)
    trims = db.execute(
        "SELECT details FROM warning_audit WHERE warning_id = %s AND action = 'trim'", (w["id"],)
    ).fetchall()
    assert sorted(trims[0][0]["removed"]) == sorted(set(a) - {a[0]})
    # the loudspeakers of the villages that left hear it is over for them; the others are not
    # asked to repeat anything (a trim is not announced)
    left = set(a) - {a[0]}
    terminals = {
        r[0]
        for r in db.execute(
            "SELECT id FROM broadcast_terminal WHERE village_code = ANY(%s)", (list(left),)
        ).fetchall()
    }
    told = db.execute(
        "SELECT target, payload FROM outbox WHERE warning_id = %s AND version = %s"
        " AND channel = 'broadcast'",
        (w["id"], smaller[0][0]),
    ).fetchall()
    assert {t for t, _ in told} == terminals and len(terminals) >= len(left)
    for _, payload in told:
        assert payload["left_area"] is True and payload["msg_type"] == "Cancel"
        assert payload["village_code"] in left and payload["villages"] == [payload["village_code"]]
        assert "预警对本村解除。本村已不在预警范围内" in payload["text"]
    # the detail's expiry is the CAP's: the latest published non-Cancel version's <expires>
    detail = lifecycle.get_warning(db, w["id"])
    assert detail["expires_at"] == versions[-1][5]
    assert check_times(db) >= 3


def test_extension_refreshes_the_numbers(db, flashy) -> None:
    """Rain keeps falling on the same villages: the warning is extended; the latest numbers are
    kept per village and the extension Update carries them."""
    a = flashy[:3]
    for h in range(1, 6):
        rain(db, a, DAY0 + timedelta(hours=h), 100.0 + h)
    for h in range(1, 6):
        run_cycle(db, DAY0 + timedelta(hours=h))
    [w] = red_warnings(db)
    latest = db.execute(
        "SELECT village_code, last_fired_at, numbers FROM warning_village WHERE warning_id = %s",
        (w["id"],),
    ).fetchall()
    assert {r[0] for r in latest} == set(a)
    assert all(r[1] == DAY0 + timedelta(hours=5) for r in latest)
    # the 1-hour rain of the last hour is 105 mm (written above), the 6-hour sum 101+…+105
    ones = {
        r[0]: [x for k, x in r[2].items() if isinstance(x, (int, float)) and abs(x - 105) < 1e-6]
        for r in latest
    }
    assert all(ones.values()), latest
    versions = published(db, w["id"])
    ext = [v for v in versions if v[1] == "Update"]
    assert ext, "an extension Update once less than half the hold time was left"
    evidence = db.execute(
        "SELECT evidence FROM warning_version WHERE warning_id = %s AND version = %s",
        (w["id"], ext[-1][0]),
    ).fetchone()[0]
    fired_at = datetime.fromisoformat(evidence["at"])
    assert fired_at == ext[-1][3]  # numbers of the run that extended it, not of the first one
    assert ext[-1][5] == fired_at + HOLD and w["expires_at"] == versions[-1][5]
