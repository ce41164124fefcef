// The extent of some GeoJSON geometries, for fitBounds.

import type { Geometry, Position } from "geojson";

/** [west, south, east, north] of the geometries; null when they have no coordinates. */
export function boundsOf(geometries: Geometry[]): [number, number, number, number] | null {
  let w = Infinity;
  let s = Infinity;
  let e = -Infinity;
  let n = -Infinity;
  const visit = (c: unknown): void => {
    if (Array.isArray(c) && typeof c[0] === "number") {
      const [x, y] = c as Position;
      w = Math.min(w, x);
      e = Math.max(e, x);
      s = Math.min(s, y);
      n = Math.max(n, y);
    } else if (Array.isArray(c)) c.forEach(visit);
  };
  const walk = (g: Geometry): void => {
    if (g.type === "GeometryCollection") g.geometries.forEach(walk);
    else visit(g.coordinates);
  };
  geometries.forEach(walk);
  return w <= e ? [w, s, e, n] : null;
}
