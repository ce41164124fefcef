"""Map tiles draw warnings as the public received them: while a forecaster's draft waits for
review, the warnings and villages layers keep the published colour and villages (the OGC
collections' rule), not the draft's. Expected values come from the fates set by hand in
test_ogc's ``fates`` fixture: ``pending`` was issued yellow over two villages, then its rule
fired red over one more village, a draft not yet published."""

from __future__ import annotations

import morecantile
import psycopg

from tests.api.test_ogc import LEVEL, fates  # noqa: F401  (the fixture, used by name)
from tests.api.test_tiles import _decode

TMS = morecantile.tms.get("WebMercatorQuad")


def _centroid(db_url: str, code: str) -> tuple[float, float]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_PointOnSurface(geom) c FROM village"
            " WHERE code = %s) p",
            [code],
        ).fetchone()


def test_warnings_layer_draws_the_published_version(service, fates) -> None:  # noqa: F811
    pending, in_force = fates.ids["pending"], fates.ids["in_force"]
    drawn: dict[int, dict] = {}
    with service.client() as c:
        for code in fates.villages["pending"] + fates.villages["in_force"]:
            t = TMS.tile(*_centroid(service.db_url, code), 12)
            r = c.get(f"/tiles/warnings/12/{t.x}/{t.y}.mvt")
            assert r.status_code == 200, (code, r.status_code)
            for f in _decode(r.content)["warnings"]["features"]:
                drawn[f["properties"]["id"]] = f["properties"]
    assert (drawn[in_force]["colour"], drawn[in_force]["level"]) == ("red", LEVEL["red"])
    # issued yellow; the red draft waits for a forecaster
    assert (drawn[pending]["colour"], drawn[pending]["level"]) == ("yellow", LEVEL["yellow"])


def test_villages_layer_colours_by_the_published_version(service, fates) -> None:  # noqa: F811
    expected = dict.fromkeys(fates.villages["pending"], "yellow")  # as published
    expected |= dict.fromkeys(fates.villages["pending_draft_only"])  # only in the draft
    expected |= dict.fromkeys(fates.villages["in_force"], "red")
    got: dict[str, str | None] = {}
    with service.client("viewer") as c:
        for code in expected:
            t = TMS.tile(*_centroid(service.db_url, code), 12)
            r = c.get(f"/tiles/villages/12/{t.x}/{t.y}.mvt")
            assert r.status_code == 200, (code, r.status_code)
            props = {
                f["properties"]["code"]: f["properties"]
                for f in _decode(r.content)["villages"]["features"]
            }
            got[code] = props[code].get("warning")
    assert got == expected
