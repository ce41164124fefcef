"""The CAP ``<polygon>``s of a warning area: hole-free, at most 100 points, faithful to villages.

Why this is not just "the union's outer rings"
----------------------------------------------
A CAP polygon has no holes, and consumers (phones, siren controllers, aggregators) alert every
point inside it. The union of a warning's villages often has holes: villages that were **not**
warned lie enclosed by warned ones. Dropping the holes (what we did before) alerted those
villages. The ``<geocode>``s stay authoritative (one per warned village); the polygons must agree
with them closely enough that a consumer drawing or matching polygons reaches the same villages.

The promise (checked for every published version of the demo storm by the tests)
---------------------------------------------------------------------------------
- every polygon is closed, valid, hole-free, has at most :data:`MAX_RING_POINTS` points and
  coordinates on a 1e-6° grid (six decimals, as written);
- every warned village is covered by at least :data:`MIN_COVERED` of its area;
- every other village is covered by less than :data:`MAX_STRAY` of its area (1 %: the slivers
  simplification leaves along shared borders, never a village).

The algorithm
-------------
1. **Area.** The unary union of the warned village outlines, made valid, as polygons.
2. **Holes.** A hole is *filled* when filling it covers no other village by more than
   :data:`FILL_SHARE` of that village's area (gaps and slivers between outlines); otherwise it is
   **cut open**: the polygon is split by the vertical line through a point inside that hole
   (intersection with the two half-planes), so the hole lies on the border of both halves and
   vanishes from each. The halves are treated again until no part has a hole left (each cut
   opens at least one hole, so this ends).
3. **Points.** Each hole-free part is simplified (Douglas–Peucker, topology preserved) with the
   smallest tolerance of :data:`SIMPLIFY_DEGREES` that brings every ring to at most 100 points,
   then snapped to the 1e-6° grid (``set_precision``, which keeps it valid). The result is
   accepted only if it is *faithful*: what it adds covers no other village by more than
   ``share`` of its area and what it drops uncovers no warned village by more than ``share``.
   If no tolerance gives a faithful ring of 100 points, the part is cut in two across its longer
   side and each half is treated alone: as many polygons as needed.
4. **Check.** The polygons are checked as a whole against the promise above (a village touched
   by several parts adds their shares). If that fails, the whole area is redone with a quarter of
   the share; the last attempt simplifies nothing (only the grid snap, whose error is below a
   square metre), cutting parts until each has at most 100 points, so an answer always exists.
"""

from __future__ import annotations

from collections.abc import Sequence

import shapely
from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry

MAX_RING_POINTS = 100  # WEA and several aggregators accept at most 100 points per polygon
PRECISION = 1e-6  # six decimals (about 0.1 m)
MIN_COVERED = 0.99  # a warned village is covered by at least 99 % of its area
MAX_STRAY = 0.01  # another village is covered by less than 1 % of its area
FILL_SHARE = 0.001  # a hole is filled only if it covers other villages by at most 0.1 %
#: Douglas–Peucker tolerances tried in turn (degrees: 0 … about 50 m)
SIMPLIFY_DEGREES = (0.0, 1e-5, 2e-5, 5e-5, 1e-4, 2e-4, 5e-4)
#: share of a village one part may add (others) or drop (warned), tried in turn; 0 = exact
SHARES = (0.002, 0.0005, 0.0)


def area_polygons(warned: Sequence[BaseGeometry], others: Sequence[BaseGeometry]) -> list[Polygon]:
    """Hole-free polygons for the union of ``warned`` outlines that keep ``others`` out.

    ``others`` are the outlines of the villages that are not warned (at least those near the
    area; farther ones cannot be touched). Raises nothing: the last attempt is exact.
    """
    ctx = _Villages(warned, others)
    parts = _polygons(shapely.make_valid(shapely.union_all(list(warned))))
    for share in SHARES:
        out = [q for p in parts for h in _hole_free(p, ctx) for q in _fit(h, ctx, share)]
        if share == 0.0 or ctx.faithful(out):
            return out
    raise AssertionError("unreachable: the exact attempt always returns")


class _Villages:
    """The warned and other outlines, indexed, with the checks the algorithm needs."""

    def __init__(self, warned: Sequence[BaseGeometry], others: Sequence[BaseGeometry]) -> None:
        self.warned = list(warned)
        self.others = [o for o in others if o.area > 0]
        self.warned_tree = shapely.STRtree(self.warned)
        self.others_tree = shapely.STRtree(self.others)

    def strays(self, extra: BaseGeometry) -> list[float]:
        """The share of each other village that ``extra`` covers (those it touches)."""
        if extra.is_empty:
            return []
        hits = self.others_tree.query(extra, predicate="intersects")
        return [self.others[i].intersection(extra).area / self.others[i].area for i in hits]

    def losses(self, lost: BaseGeometry) -> list[float]:
        """The share of each warned village that ``lost`` uncovers."""
        if lost.is_empty:
            return []
        hits = self.warned_tree.query(lost, predicate="intersects")
        return [self.warned[i].intersection(lost).area / self.warned[i].area for i in hits]

    def faithful(self, polygons: list[Polygon]) -> bool:
        """The promise over the whole area: warned villages covered, others kept out."""
        cover = shapely.union_all(polygons) if polygons else Polygon()
        hits = self.others_tree.query(cover, predicate="intersects")
        if any(self.others[i].intersection(cover).area >= MAX_STRAY * self.others[i].area
               for i in hits):  # fmt: skip
            return False
        return all(w.intersection(cover).area >= MIN_COVERED * w.area for w in self.warned)


def _hole_free(p: Polygon, ctx: _Villages) -> list[Polygon]:
    """Step 2: fill the holes that hold no other village, cut the polygon open at the others."""
    kept = [r for r in p.interiors if max(ctx.strays(Polygon(r)), default=0.0) > FILL_SHARE]
    if not kept:
        return [Polygon(p.exterior)]
    filled = Polygon(p.exterior, kept)
    x = Polygon(kept[0]).representative_point().x
    minx, miny, maxx, maxy = filled.bounds
    halves = (box(minx - 1, miny - 1, x, maxy + 1), box(x, miny - 1, maxx + 1, maxy + 1))
    return [q for part in _cut(filled, halves) for q in _hole_free(part, ctx)]


def _fit(p: Polygon, ctx: _Villages, share: float) -> list[Polygon]:
    """Step 3: the part with at most MAX_RING_POINTS points per ring, faithful within ``share``;
    cut in two when no tolerance does it."""
    for tolerance in SIMPLIFY_DEGREES if share > 0 else (0.0,):
        g = shapely.simplify(p, tolerance, preserve_topology=True) if tolerance else p
        g = shapely.set_precision(g, PRECISION)  # valid output; may split or collapse
        parts = [Polygon(q.exterior) for q in _polygons(g) if q.area > 0]
        if not parts:  # smaller than the 1e-6 grid: its geocode still names the village
            return []
        if any(len(q.exterior.coords) > MAX_RING_POINTS for q in parts):
            continue
        if share == 0.0:
            return parts
        got = shapely.union_all(parts)
        added, dropped = got.difference(p), p.difference(got)
        if max(ctx.strays(added), default=0.0) <= share and (
            max(ctx.losses(dropped), default=0.0) <= share
        ):
            return parts
    minx, miny, maxx, maxy = p.bounds
    if maxx - minx >= maxy - miny:
        mid = (minx + maxx) / 2
        halves = (box(minx - 1, miny - 1, mid, maxy + 1), box(mid, miny - 1, maxx + 1, maxy + 1))
    else:
        mid = (miny + maxy) / 2
        halves = (box(minx - 1, miny - 1, maxx + 1, mid), box(minx - 1, mid, maxx + 1, maxy + 1))
    return [q for part in _cut(p, halves) for q in _fit(part, ctx, share)]


def _cut(p: Polygon, halves: tuple[Polygon, Polygon]) -> list[Polygon]:
    """The polygons of ``p`` on either side of a cut (the two boxes share one edge)."""
    return [part for h in halves for part in _polygons(p.intersection(h))]


def _polygons(geom: BaseGeometry) -> list[Polygon]:
    """The polygons of any geometry (collections flattened, lines and points dropped)."""
    if geom.is_empty:
        return []
    if isinstance(geom, Polygon):
        return [geom]
    return [p for g in getattr(geom, "geoms", []) for p in _polygons(g)]
