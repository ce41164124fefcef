// The offline base map: hillshade from the project's DEM (Terrarium tiles), rivers, county /
// township / village boundaries with Chinese labels, all from this server. CJK labels are drawn
// with the browser's own fonts (localIdeographFontFamily); only Latin glyphs (0-255) are served.

import maplibregl, { type Map as MapLibreMap, type StyleSpecification } from "maplibre-gl";
import "maplibre-gl/dist/maplibre-gl.css";
import { absolute, getToken, withToken } from "./api";

export const FONT_STACK = "DejaVu Sans Book";
export const LOCAL_IDEOGRAPHS =
  "'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', 'Microsoft YaHei', 'PingFang SC', sans-serif";

/** The demo county's extent, used until the data's own bounds arrive. */
export const DEFAULT_BOUNDS: [number, number, number, number] = [109.45, 27.6, 110.2, 28.15];

export interface BaseOptions {
  /** draw village and township outlines (need a viewer token) */
  private?: boolean;
}

export function baseStyle(options: BaseOptions = {}): StyleSpecification {
  const signedIn = options.private ?? getToken() !== null;
  const style: StyleSpecification = {
    version: 8,
    name: "riskmap offline",
    // not absolute(): URL() would percent-encode the {fontstack} and {range} tokens
    glyphs: `${location.origin}/fonts/{fontstack}/{range}.pbf`,
    sources: {
      terrain: { type: "raster-dem", url: absolute("/tiles/terrain.json"), tileSize: 256, encoding: "terrarium" },
      counties: { type: "vector", url: absolute("/tiles/counties.json") },
      rivers: { type: "vector", url: absolute("/tiles/rivers.json") },
    },
    layers: [
      { id: "background", type: "background", paint: { "background-color": "#f3f1ea" } },
      {
        id: "hillshade",
        type: "hillshade",
        source: "terrain",
        paint: {
          "hillshade-exaggeration": 0.45,
          "hillshade-shadow-color": "#5d5a52",
          "hillshade-highlight-color": "#ffffff",
          "hillshade-accent-color": "#8a8576",
        },
      },
      {
        id: "rivers",
        type: "line",
        source: "rivers",
        "source-layer": "rivers",
        paint: {
          "line-color": "#5b9bd5",
          "line-width": ["interpolate", ["linear"], ["get", "strahler"], 1, 0.6, 3, 1.4, 6, 3.2],
        },
      },
      {
        id: "county-line",
        type: "line",
        source: "counties",
        "source-layer": "counties",
        paint: { "line-color": "#6b4f7a", "line-width": ["match", ["get", "level"], "city", 2.6, 1.8] },
      },
    ],
  };
  if (signedIn) {
    style.sources.townships = { type: "vector", url: withToken("/tiles/townships.json") };
    style.sources.villages = { type: "vector", url: withToken("/tiles/villages.json") };
    // names on one point per unit: outlines cut into tiles were labelled once per piece
    style.sources["admin-labels"] = { type: "vector", url: withToken("/tiles/admin-labels.json") };
    style.layers.push(
      {
        id: "village-line",
        type: "line",
        source: "villages",
        "source-layer": "villages",
        minzoom: 9,
        paint: { "line-color": "#8c8c8c", "line-width": 0.4, "line-opacity": 0.7 },
      },
      {
        id: "township-line",
        type: "line",
        source: "townships",
        "source-layer": "townships",
        paint: { "line-color": "#7d6a8a", "line-width": 1, "line-dasharray": [3, 2] },
      },
    );
  }
  return style;
}

/** Labels go on top of everything the page adds; call after the page's own layers. */
export function addLabels(map: MapLibreMap): void {
  const signedIn = map.getSource("townships") !== undefined;
  if (signedIn) {
    map.addLayer({
      id: "village-label",
      type: "symbol",
      source: "admin-labels",
      "source-layer": "admin-labels",
      filter: ["==", ["get", "level"], "village"],
      minzoom: 11,
      layout: { "text-field": ["get", "name"], "text-font": [FONT_STACK], "text-size": 11 },
      paint: { "text-color": "#333", "text-halo-color": "#fff", "text-halo-width": 1.2 },
    });
    map.addLayer({
      id: "township-label",
      type: "symbol",
      source: "admin-labels",
      "source-layer": "admin-labels",
      filter: ["==", ["get", "level"], "township"],
      minzoom: 8.5,
      maxzoom: 12,
      layout: { "text-field": ["get", "name"], "text-font": [FONT_STACK], "text-size": 13 },
      paint: { "text-color": "#4b3a57", "text-halo-color": "#fff", "text-halo-width": 1.5 },
    });
  }
  map.addLayer({
    id: "county-label",
    type: "symbol",
    source: "counties",
    "source-layer": "county-labels",
    maxzoom: 9,
    layout: { "text-field": ["get", "name"], "text-font": [FONT_STACK], "text-size": 15 },
    paint: { "text-color": "#3f2a4f", "text-halo-color": "#fff", "text-halo-width": 1.6 },
  });
}

export interface MapOptions extends BaseOptions {
  container: HTMLElement | string;
  bounds?: [number, number, number, number];
  interactive?: boolean;
}

export function createMap(options: MapOptions): MapLibreMap {
  const map = new maplibregl.Map({
    container: options.container,
    style: baseStyle(options),
    bounds: options.bounds ?? DEFAULT_BOUNDS,
    fitBoundsOptions: { padding: 20 },
    interactive: options.interactive ?? true,
    localIdeographFontFamily: LOCAL_IDEOGRAPHS,
    attributionControl: { compact: true, customAttribution: "riskmap · 边界无审图号 no 审图号" },
    maxZoom: 16,
    minZoom: 4,
    // the test browser (SwiftShader) and wall screenshots need the last frame kept
    canvasContextAttributes: { preserveDrawingBuffer: true },
  });
  if (options.interactive !== false) {
    map.addControl(new maplibregl.NavigationControl({ visualizePitch: false }), "top-right");
    map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
  }
  map.once("load", () => {
    void veilOutsideTerrain(map);
    void addOnlineBasemap(map);
  });
  // expose for tests and the benchmark (queryRenderedFeatures from the page)
  (window as unknown as { riskmapMap: MapLibreMap }).riskmapMap = map;
  return map;
}

/** An online raster basemap (e.g. Tianditu with the bureau's key) under everything, only when
 * the operator configured one (RISKMAP_ONLINE_BASEMAP; off by default: the pages work offline). */
async function addOnlineBasemap(map: MapLibreMap): Promise<void> {
  let online: { tiles: string[]; attribution: string } | null = null;
  try {
    const response = await fetch("/api/web-config");
    if (!response.ok) return;
    online = (await response.json()).online_basemap;
  } catch {
    return;
  }
  if (!online || map.getSource("online-basemap")) return;
  map.addSource("online-basemap", { type: "raster", tiles: online.tiles, tileSize: 256, attribution: online.attribution });
  map.addLayer({ id: "online-basemap", type: "raster", source: "online-basemap" }, map.getLayer("hillshade") ? "hillshade" : undefined);
}

/** Outside the DEMs the terrain tiles continue the edge heights, which the hillshade draws as
 * streaks: a veil in the background colour over everything beyond the DEMs' bounds hides them
 * (and keeps the eye on the county), below rivers, outlines and every data layer. */
async function veilOutsideTerrain(map: MapLibreMap): Promise<void> {
  let bounds: [number, number, number, number] | undefined;
  try {
    const response = await fetch("/tiles/terrain.json");
    if (!response.ok) return;
    bounds = (await response.json()).bounds;
  } catch {
    return; // no terrain: nothing to veil
  }
  if (!bounds || map.getSource("outside-terrain")) return;
  const [w, s, e, n] = bounds;
  map.addSource("outside-terrain", {
    type: "geojson",
    data: {
      type: "Feature",
      properties: {},
      geometry: {
        type: "Polygon",
        coordinates: [
          [[-180, -85], [180, -85], [180, 85], [-180, 85], [-180, -85]],
          [[w, s], [w, n], [e, n], [e, s], [w, s]],
        ],
      },
    },
  });
  map.addLayer(
    { id: "outside-terrain", type: "fill", source: "outside-terrain", paint: { "fill-color": "#f3f1ea", "fill-opacity": 0.92 } },
    map.getLayer("rivers") ? "rivers" : undefined,
  );
}

export { maplibregl };
