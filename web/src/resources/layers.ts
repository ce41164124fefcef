// The resource layers (shelters, warehouses, teams, experts), the chosen origin, the chosen
// warning's area and the nearest answers drawn on the map.

import type { Feature, FeatureCollection, Geometry, Point } from "geojson";
import type { GeoJSONSource, Map as MapLibreMap } from "maplibre-gl";
import { WARNING_COLOURS } from "../shared/colours";
import { KINDS, type Kind, type NearestReply, type Resources } from "./data";
import { addIcons } from "./icons";

export const LAYER_OF: Record<Kind, string> = {
  shelter: "shelters",
  warehouse: "warehouses",
  team: "teams",
  expert: "experts",
};

const EMPTY: FeatureCollection = { type: "FeatureCollection", features: [] };

/** Experts share the label point of the unit they serve: one icon per unit, with the count. */
function expertGroups(resources: Resources): FeatureCollection {
  const groups = new Map<string, Feature<Point, Record<string, unknown>>>();
  for (const f of resources.expert.features) {
    if (!f.geometry) continue;
    const code = String(f.properties.serves_code);
    const g = groups.get(code) ?? {
      type: "Feature" as const,
      geometry: f.geometry,
      properties: { id: code, kind: "expert", serves_code: code, serves_name: f.properties.serves_name, count: 0 },
    };
    g.properties.count = Number(g.properties.count) + 1;
    groups.set(code, g);
  }
  return { type: "FeatureCollection", features: [...groups.values()] };
}

export function addResourceLayers(map: MapLibreMap, resources: Resources): void {
  addIcons(map);
  const before = map.getLayer("village-label") ? "village-label" : map.getLayer("county-label") ? "county-label" : undefined;
  map.addSource("selected-warning", { type: "geojson", data: EMPTY });
  map.addLayer(
    {
      id: "selected-warning-fill",
      type: "fill",
      source: "selected-warning",
      paint: { "fill-color": ["coalesce", ["get", "fill"], "#888"], "fill-opacity": 0.3 },
    },
    before,
  );
  map.addLayer(
    {
      id: "selected-warning-line",
      type: "line",
      source: "selected-warning",
      paint: { "line-color": ["coalesce", ["get", "fill"], "#888"], "line-width": 2.5 },
    },
    before,
  );
  map.addSource("nearest-links", { type: "geojson", data: EMPTY });
  map.addLayer({
    id: "nearest-links",
    type: "line",
    source: "nearest-links",
    paint: { "line-color": "#263238", "line-width": 1.5, "line-dasharray": [2, 2] },
  });
  map.addSource("nearest-hits", { type: "geojson", data: EMPTY });
  map.addLayer({
    id: "nearest-hits",
    type: "circle",
    source: "nearest-hits",
    paint: { "circle-radius": 13, "circle-color": "rgba(0,0,0,0)", "circle-stroke-color": "#ffb300", "circle-stroke-width": 3 },
  });
  for (const kind of KINDS) {
    const data = kind === "expert" ? expertGroups(resources) : (resources[kind] as FeatureCollection);
    map.addSource(LAYER_OF[kind], { type: "geojson", data, promoteId: "id" });
    map.addLayer({
      id: LAYER_OF[kind],
      type: "symbol",
      source: LAYER_OF[kind],
      layout: {
        "icon-image": `icon-${kind}`,
        "icon-size": ["interpolate", ["linear"], ["zoom"], 8, kind === "warehouse" ? 0.5 : 0.65, 12, 0.9, 14, 1.1],
        "icon-allow-overlap": true,
        "icon-ignore-placement": true,
        "symbol-sort-key": kind === "warehouse" ? 1 : 2,
      },
    });
  }
  map.addSource("origin", { type: "geojson", data: EMPTY });
  map.addLayer({
    id: "origin",
    type: "circle",
    source: "origin",
    paint: { "circle-radius": 7, "circle-color": "#d81b60", "circle-stroke-color": "#fff", "circle-stroke-width": 2.5 },
  });
}

export function setVisible(map: MapLibreMap, kind: Kind, visible: boolean): void {
  map.setLayoutProperty(LAYER_OF[kind], "visibility", visible ? "visible" : "none");
}

/** Show only these warehouses (null: all). */
export function filterWarehouses(map: MapLibreMap, ids: string[] | null): void {
  map.setFilter(LAYER_OF.warehouse, ids === null ? null : ["in", ["get", "id"], ["literal", ids]]);
}

function set(map: MapLibreMap, source: string, data: FeatureCollection): void {
  (map.getSource(source) as GeoJSONSource).setData(data);
}

export function showOrigin(map: MapLibreMap, point: { lon: number; lat: number } | null): void {
  set(map, "origin", point ? { type: "FeatureCollection", features: [pointFeature(point.lon, point.lat)] } : EMPTY);
}

export function showWarning(map: MapLibreMap, geometry: Geometry | null, colour: string | null): void {
  const fill = colour ? WARNING_COLOURS[colour] : "#888";
  set(
    map,
    "selected-warning",
    geometry ? { type: "FeatureCollection", features: [{ type: "Feature", geometry, properties: { fill } }] } : EMPTY,
  );
}

/** Rings round every answer; from a point, a dashed line to the nearest of each kind. */
export function showNearest(map: MapLibreMap, replies: NearestReply[], from: { lon: number; lat: number } | null): void {
  const hits: Feature[] = [];
  const links: Feature[] = [];
  for (const reply of replies) {
    reply.features.forEach((f, i) => {
      if (!f.geometry) return;
      hits.push({ type: "Feature", geometry: f.geometry, properties: { kind: reply.kind } });
      if (i === 0 && from && reply.kind !== "expert") {
        links.push({
          type: "Feature",
          geometry: { type: "LineString", coordinates: [[from.lon, from.lat], f.geometry.coordinates] },
          properties: { kind: reply.kind },
        });
      }
    });
  }
  set(map, "nearest-hits", { type: "FeatureCollection", features: hits });
  set(map, "nearest-links", { type: "FeatureCollection", features: links });
}

function pointFeature(lon: number, lat: number): Feature<Point> {
  return { type: "Feature", geometry: { type: "Point", coordinates: [lon, lat] }, properties: {} };
}
