// The console's map layers (ids are a contract: tests and the benchmark query them) and the
// layer panel #layers: a checkbox per layer, the hazard radios of the village risk layer, and a
// legend under each layer.

import type { GeoJSONSource, Map as MapLibreMap, VectorTileSource } from "maplibre-gl";
import { withToken } from "../shared/api";
import { HAZARDS, RISK_COLOURS, WARNING_COLOURS, WARNING_ORDER, type Hazard } from "../shared/colours";
import { applyI18n } from "../shared/i18n";
import { h } from "./dom";
import { loadCollection, STATION_COLOURS, STATION_STATES } from "./points";
import { addSiteLayer, QUIET_COLOUR } from "./sites";

const EMPTY: GeoJSON.FeatureCollection = { type: "FeatureCollection", features: [] };

/** Point layers: id, source kind, colour; drawn as circles (no sprite sheet offline). */
const POINTS = {
  "hazard-points": { colour: "#8c510a", radius: 4.5 },
  shelters: { colour: "#1b9e77", radius: 6 },
  warehouses: { colour: "#6a3d9a", radius: 4.5 },
  teams: { colour: "#222222", radius: 5.5 },
} as const;

interface Toggle {
  value: string; // the checkbox value: the main layer id
  layers: string[]; // what it shows and hides
  key: string; // i18n key of its name
  private: boolean; // needs a token
  on: boolean; // visible at first
  legend: () => HTMLElement | null;
}

function swatchRow(items: Array<[string, string]>, shape: "box" | "dot" = "box"): HTMLElement {
  return h(
    "ul",
    { class: "legend-row" },
    ...items.map(([colour, key]) =>
      h("li", {}, h("span", { class: `swatch ${shape}`, style: `background:${colour}` }), h("span", { "data-i18n": key })),
    ),
  );
}

const TOGGLES: Toggle[] = [
  {
    value: "village-risk",
    layers: ["village-risk"],
    key: "layer.village-risk",
    private: true,
    on: true,
    legend: () => swatchRow([1, 2, 3, 4].map((n) => [RISK_COLOURS[n], `risk.${n}`])),
  },
  { value: "rain", layers: ["rain"], key: "layer.rain", private: true, on: true, legend: () => null },
  {
    value: "warnings-fill",
    layers: ["warnings-fill", "warnings-line"],
    key: "layer.warnings",
    private: false,
    on: true,
    legend: () => swatchRow([...WARNING_ORDER].reverse().map((c) => [WARNING_COLOURS[c], `colour.${c}`])),
  },
  {
    value: "stations",
    layers: ["stations"],
    key: "layer.stations",
    private: true,
    on: true,
    legend: () =>
      swatchRow(
        STATION_STATES.filter((s) => s !== "above_design_flood" && s !== "above_flood_limit").map((s) => [STATION_COLOURS[s], `station.${s}`]),
        "dot",
      ),
  },
  {
    value: "sites",
    layers: ["sites"],
    key: "layer.sites",
    private: true,
    on: true,
    legend: () =>
      swatchRow(
        [...(["red", "orange", "yellow", "blue"] as const).map((c): [string, string] => [WARNING_COLOURS[c], `site.level.${c}`]), [QUIET_COLOUR, "site.legend.none"]],
        "dot",
      ),
  },
  ...(Object.keys(POINTS) as Array<keyof typeof POINTS>).map((id) => ({
    value: id,
    layers: [id],
    key: `layer.${id}`,
    private: true,
    on: id === "shelters",
    legend: () => null,
  })),
];

/** Add the page's sources and layers (below the labels, which addLabels puts on top). */
export function addLayers(map: MapLibreMap, signedIn: boolean): void {
  if (signedIn) {
    map.addLayer(
      {
        id: "village-risk",
        type: "fill",
        source: "villages",
        "source-layer": "villages",
        paint: { "fill-color": riskColour("flash_flood") as string, "fill-opacity": 0.5 },
      },
      "village-line",
    );
  }
  map.addSource("warnings", { type: "vector", url: withToken("/tiles/warnings.json") });
  const colour = ["match", ["get", "colour"], ...Object.entries(WARNING_COLOURS).flat(), "#888888"] as unknown as string;
  const rank = ["match", ["get", "colour"], "red", 4, "orange", 3, "yellow", 2, 1] as unknown as number;
  map.addLayer({
    id: "warnings-fill",
    type: "fill",
    source: "warnings",
    "source-layer": "warnings",
    layout: { "fill-sort-key": rank },
    paint: { "fill-color": colour, "fill-opacity": 0.35 },
  });
  map.addLayer({
    id: "warnings-line",
    type: "line",
    source: "warnings",
    "source-layer": "warnings",
    layout: { "line-sort-key": rank },
    paint: { "line-color": colour, "line-width": 2.2 },
  });
  map.addSource("candidate-area", { type: "geojson", data: EMPTY });
  map.addLayer({
    id: "candidate-area",
    type: "line",
    source: "candidate-area",
    paint: { "line-color": "#12324f", "line-width": 3, "line-dasharray": [2, 1.5] },
  });
  if (signedIn) {
    map.addLayer({
      id: "village-selected",
      type: "line",
      source: "villages",
      "source-layer": "villages",
      filter: ["==", ["get", "code"], ""],
      paint: { "line-color": "#12324f", "line-width": 3.5 },
    });
    addPointLayers(map);
    addSiteLayer(map);
  }
}

function addPointLayers(map: MapLibreMap): void {
  for (const id of ["hazard-points", "shelters"] as const) {
    map.addSource(id, { type: "vector", url: withToken(`/tiles/${id}.json`) });
  }
  map.addSource("warehouses", { type: "geojson", data: EMPTY });
  map.addSource("teams", { type: "geojson", data: EMPTY });
  map.addSource("stations", { type: "geojson", data: EMPTY });
  for (const [id, style] of Object.entries(POINTS)) {
    const vector = id === "hazard-points" || id === "shelters";
    map.addLayer({
      id,
      type: "circle",
      source: id,
      ...(vector ? { "source-layer": id } : {}),
      paint: {
        "circle-color": style.colour,
        "circle-radius": ["interpolate", ["linear"], ["zoom"], 8, style.radius * 0.7, 13, style.radius * 1.6],
        "circle-stroke-color": "#ffffff",
        "circle-stroke-width": 1.2,
      },
    });
  }
  const stateColour = ["match", ["get", "state"], ...Object.entries(STATION_COLOURS).flat(), "#7a7a7a"] as unknown as string;
  map.addLayer({
    id: "stations",
    type: "circle",
    source: "stations",
    layout: { "circle-sort-key": ["match", ["get", "state"], "rain", 0, "normal", 1, 2] },
    paint: {
      "circle-color": stateColour,
      "circle-radius": ["match", ["get", "state"], "rain", 3.5, 7],
      "circle-stroke-color": "#1d1d1f",
      "circle-stroke-width": ["match", ["get", "state"], "rain", 0.6, 1.5],
    },
  });
}

/** Fill the GeoJSON point sources from the OGC API; resolves when all have answered. */
export async function loadPoints(map: MapLibreMap): Promise<void> {
  const wanted: Array<[string, "stations" | "warehouses" | "rescue-teams"]> = [
    ["stations", "stations"],
    ["warehouses", "warehouses"],
    ["teams", "rescue-teams"],
  ];
  const results = await Promise.allSettled(wanted.map(([, c]) => loadCollection(c)));
  results.forEach((r, i) => {
    const source = map.getSource(wanted[i][0]) as GeoJSONSource | undefined;
    if (r.status === "fulfilled" && source) source.setData(r.value);
    else if (r.status === "rejected") markUnavailable(wanted[i][0]);
  });
}

function markUnavailable(layer: string): void {
  const input = document.querySelector<HTMLInputElement>(`#layers input[value="${layer}"]`);
  const li = input?.closest("li");
  if (li && !li.querySelector(".unavailable")) {
    li.append(h("span", { class: "unavailable", "data-i18n": "layers.unavailable" }));
    applyI18n(li);
  }
}

export function riskColour(hazard: Hazard): unknown {
  return ["match", ["get", hazard], ...[1, 2, 3, 4].flatMap((n) => [n, RISK_COLOURS[n]]), "rgba(0,0,0,0)"];
}

/** Outline the village whose profile is open (none: null). */
export function selectVillage(map: MapLibreMap, code: string | null): void {
  if (map.getLayer("village-selected")) map.setFilter("village-selected", ["==", ["get", "code"], code ?? ""]);
}

/** Re-read the warnings tiles now (an issued or cancelled warning changes them at once; the
 * tiles are cached for a minute, so the URLs change). */
export function refreshWarnings(map: MapLibreMap): void {
  const source = map.getSource("warnings") as VectorTileSource | undefined;
  if (!source?.tiles?.length) return;
  const stamp = String(Date.now());
  source.setTiles(
    source.tiles.map((u) => {
      const url = new URL(u.replace(/\{/g, "%7B").replace(/\}/g, "%7D"));
      url.searchParams.set("v", stamp);
      return url.toString().replace(/%7B/gi, "{").replace(/%7D/gi, "}");
    }),
  );
}

/** Build the layer panel's content in `root` (#layers) and wire it to the map. */
export function buildLayerPanel(root: HTMLElement, map: MapLibreMap, signedIn: boolean, onToggle: (value: string, on: boolean) => void): void {
  const list = h("ul", { class: "layer-list" });
  for (const toggle of TOGGLES) {
    if (toggle.private && !signedIn) continue;
    const input = h("input", { type: "checkbox", value: toggle.value, id: `layer-${toggle.value}` });
    input.checked = toggle.on;
    const item = h("li", {}, h("label", { for: input.id }, input, h("span", { "data-i18n": toggle.key })));
    if (toggle.value === "village-risk") item.append(hazardRadios(map));
    const legend = toggle.legend();
    if (legend) item.append(legend);
    input.addEventListener("change", () => {
      for (const id of toggle.layers) if (map.getLayer(id)) map.setLayoutProperty(id, "visibility", input.checked ? "visible" : "none");
      item.classList.toggle("off", !input.checked);
      onToggle(toggle.value, input.checked);
    });
    for (const id of toggle.layers) if (map.getLayer(id)) map.setLayoutProperty(id, "visibility", toggle.on ? "visible" : "none");
    item.classList.toggle("off", !toggle.on);
    list.append(item);
  }
  root.append(list);
  if (!signedIn) root.append(h("p", { class: "muted", "data-i18n": "layers.public" }));
  applyI18n(root);
}

function hazardRadios(map: MapLibreMap): HTMLElement {
  const set = h("fieldset", { class: "hazards" }, h("legend", { class: "sr-only", "data-i18n": "layers.hazard" }));
  for (const hazard of HAZARDS) {
    const radio = h("input", { type: "radio", name: "hazard", value: hazard, id: `hazard-${hazard}` });
    radio.checked = hazard === "flash_flood";
    radio.addEventListener("change", () => {
      if (radio.checked && map.getLayer("village-risk")) map.setPaintProperty("village-risk", "fill-color", riskColour(hazard));
    });
    set.append(h("label", { for: radio.id }, radio, h("span", { "data-i18n": `hazard.${hazard}` })));
  }
  return set;
}
