// The wall's map layers: warning areas (fill + outline, red drawn on top), the latest rainfall
// grid and village outlines and names, sized to be read across a room.

import type { GeoJSONSource, Map as MapLibreMap, PaddingOptions, RasterTileSource } from "maplibre-gl";
import { withToken } from "../shared/api";
import { boundsOf } from "../shared/bounds";
import { WARNING_COLOURS } from "../shared/colours";
import { addSiteLayer } from "../shared/sites_layer";
import type { WarningFeature } from "./data";
import type { WallLayer } from "./params";

const RANK: Record<string, number> = { blue: 1, yellow: 2, orange: 3, red: 4 };
const colourExpr = [
  "match",
  ["get", "colour"],
  ...Object.entries(WARNING_COLOURS).flat(),
  "#888888",
] as unknown as string;

/** Add the layers below the base map's labels; `scale` enlarges lines and text for the wall. */
export function addWallLayers(map: MapLibreMap, layers: Set<WallLayer>, scale: number, signedIn: boolean): void {
  const before = map.getLayer("village-label") ? "village-label" : map.getLayer("county-label") ? "county-label" : undefined;
  if (layers.has("rain") && signedIn) {
    map.addSource("rain", { type: "raster", url: withToken("/tiles/rain.json"), tileSize: 256 });
    map.addLayer({ id: "rain", type: "raster", source: "rain", paint: { "raster-opacity": 0.6 } }, before);
  }
  map.addSource("warnings", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
  map.addLayer(
    {
      id: "warnings-fill",
      type: "fill",
      source: "warnings",
      layout: { "fill-sort-key": ["get", "rank"] },
      paint: { "fill-color": colourExpr, "fill-opacity": 0.38 },
    },
    before,
  );
  map.addLayer(
    {
      id: "warnings-line",
      type: "line",
      source: "warnings",
      layout: { "line-sort-key": ["get", "rank"], "line-join": "round" },
      paint: { "line-color": colourExpr, "line-width": 2.5 * scale },
    },
    before,
  );
  if (layers.has("sites") && signedIn) addSiteLayer(map, scale, before); // work-safety sites
  const villages = layers.has("villages");
  for (const id of ["village-line", "village-label"]) {
    if (map.getLayer(id)) map.setLayoutProperty(id, "visibility", villages ? "visible" : "none");
  }
  if (villages && map.getLayer("village-label")) map.setLayerZoomRange("village-label", 10, 24);
  for (const [id, size] of [
    ["village-label", 11],
    ["township-label", 13],
    ["county-label", 15],
  ] as const) {
    if (map.getLayer(id)) map.setLayoutProperty(id, "text-size", size * scale);
  }
}

export function setWarnings(map: MapLibreMap, warnings: WarningFeature[]): void {
  const features = warnings.map((w) => ({
    type: "Feature" as const,
    id: w.id,
    geometry: w.geometry,
    properties: { id: w.id, colour: w.properties.colour, rank: RANK[w.properties.colour] ?? 0 },
  }));
  (map.getSource("warnings") as GeoJSONSource).setData({ type: "FeatureCollection", features });
}

/** The latest grid came in: ask for the tiles again. */
export function reloadRain(map: MapLibreMap): void {
  const source = map.getSource("rain") as RasterTileSource | undefined;
  if (!source) return;
  const url = new URL(withToken("/tiles/rain.json"));
  url.searchParams.set("at", String(Date.now()));
  source.setUrl(url.toString());
}

/** The warnings of the highest colour present (what the map is fitted to). */
export function highest(warnings: WarningFeature[]): WarningFeature[] {
  const top = Math.max(0, ...warnings.map((w) => RANK[w.properties.colour] ?? 0));
  return warnings.filter((w) => (RANK[w.properties.colour] ?? 0) === top);
}

/** Fit the map to the highest-level warning areas (or `fallback` when none) unless they are
 * the ones it was fitted to last (`last`, the key this returns): the wall moves only when the
 * picture changes, not on every refresh. */
export function fitHighest(
  map: MapLibreMap,
  warnings: WarningFeature[],
  fallback: [number, number, number, number],
  last: string,
  options: { padding: number | PaddingOptions; animate: boolean },
): string {
  const top = highest(warnings);
  const key = top.map((w) => `${w.id}:${w.properties.colour}`).sort().join(",") || "none";
  if (key === last) return key;
  const bounds = (top.length ? boundsOf(top.map((w) => w.geometry)) : null) ?? fallback;
  map.fitBounds(bounds, { padding: options.padding, maxZoom: 13, duration: options.animate ? 1500 : 0 });
  return key;
}

/** A county's extent from the county outlines of the base map's tiles loaded so far (the
 * public wall has no townships to measure); null when none of it is loaded. */
export function countyBoundsFromTiles(map: MapLibreMap, code: string): [number, number, number, number] | null {
  if (!map.getSource("counties")) return null;
  const parts = map.querySourceFeatures("counties", { sourceLayer: "counties", filter: ["==", ["get", "code"], code] });
  return parts.length ? boundsOf(parts.map((f) => f.geometry)) : null;
}
