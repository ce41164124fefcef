"""Rain tiles of periods nobody has drawn yet, asked for all at once, as a map asks for the
tiles of a new slider step. netCDF4/HDF5 is not thread-safe: before reads were serialised this
killed the server process with a bus error (the whole test run with it)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import morecantile

from riskmap.api.tiles import raster


def test_first_reads_of_many_periods_at_once_all_answer(service) -> None:
    with service.client("viewer") as c:
        periods = c.get("/tiles/rain/periods.json", params={"product": "qpe"}).json()
    assert len(periods) >= 8, periods
    # the tiles covering the demo county at z9, for every period: none read by this process yet
    tiles = list(morecantile.tms.get("WebMercatorQuad").tiles(109.45, 27.6, 110.2, 28.15, [9]))
    raster._decoded_once.cache_clear()
    jobs = [(p["valid_end"], t) for p in periods for t in tiles]

    def fetch(job):
        period, t = job
        with service.client("viewer") as c:
            r = c.get(f"/tiles/rain/{t.z}/{t.x}/{t.y}.png", params={"period": period})
        return r.status_code, r.headers.get("content-type"), r.content[:8]

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(fetch, jobs))
    assert all(a == (200, "image/png", b"\x89PNG\r\n\x1a\n") for a in answers), answers
    # the server is still there, and each period was read once
    with service.client() as c:
        assert c.get("/healthz").status_code in (200, 503)
    assert raster._decoded_once.cache_info().misses == len(periods)
