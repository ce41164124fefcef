// The work-safety sites layer ("sites"), shared by the console and the wall: hazardous sites
// from /api/sites in the colour of their grade — graded from their open alarms, so a reading
// that flickers past a threshold does not flash the map — dark grey when none, the most
// severe drawn on top.

import type { GeoJSONSource, Map as MapLibreMap } from "maplibre-gl";
import { api } from "./api";
import { WARNING_COLOURS } from "./colours";

/** a site without a point at a threshold: dark grey, so that a coloured one stands out */
export const QUIET_COLOUR = "#4d4d4d";

interface Grade {
  level: string;
  colour: string;
  reason: string;
}

/** Add the layer (below `before`, when given); `scale` enlarges it for a wall. */
export function addSiteLayer(map: MapLibreMap, scale = 1, before?: string): void {
  map.addSource("sites", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
  map.addLayer(
    {
      id: "sites",
      type: "circle",
      source: "sites",
      layout: { "circle-sort-key": ["match", ["get", "colour"], "red", 4, "orange", 3, "yellow", 2, "blue", 1, 0] },
      paint: {
        "circle-color": ["match", ["get", "colour"], ...Object.entries(WARNING_COLOURS).flat(), QUIET_COLOUR] as unknown as string,
        "circle-radius": ["interpolate", ["linear"], ["zoom"], 8, 5 * scale, 13, 10 * scale],
        "circle-stroke-color": "#ffffff",
        "circle-stroke-width": 2 * scale,
      },
    },
    before,
  );
}

/** Fill the layer from /api/sites, keeping the sites whose code starts with `prefix` (the
 * grade flattened to a colour the style can match). */
export async function loadSites(map: MapLibreMap, prefix: string | null = null): Promise<void> {
  const fc = await api<GeoJSON.FeatureCollection>("/api/sites");
  fc.features = fc.features.filter((f) => !prefix || String(f.properties?.admin_code ?? "").startsWith(prefix));
  for (const f of fc.features) {
    const p = f.properties as Record<string, unknown>;
    const grade = p.grade as Grade | null;
    p.colour = grade?.colour ?? "none";
    p.level = grade?.level ?? "none";
  }
  (map.getSource("sites") as GeoJSONSource | undefined)?.setData(fc);
}
