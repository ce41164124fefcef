// Clicks on the map: a point (station, hazard point, shelter, warehouse, team) or a warning
// area shows a popup; a village opens its profile, a work-safety site its dialog. The pointer shows what can be clicked.

import type { Map as MapLibreMap, MapGeoJSONFeature } from "maplibre-gl";
import { maplibregl } from "../shared/basemap";
import { lang, t } from "../shared/i18n";
import { formatShort } from "../shared/time";
import { grade } from "./candidate";
import { h, num } from "./dom";

const POINT_LAYERS = ["sites", "stations", "hazard-points", "shelters", "warehouses", "teams"];
const AREA_LAYERS = ["warnings-fill", "village-risk"];

function visible(map: MapLibreMap, ids: string[]): string[] {
  return ids.filter((id) => map.getLayer(id) && map.getLayoutProperty(id, "visibility") !== "none");
}

function stationBody(p: Record<string, unknown>): HTMLElement[] {
  const out: HTMLElement[] = [];
  if (p.level_m !== null && p.level_m !== undefined) {
    const limits = [
      ["station.warning", p.warning_level_m],
      ["station.guarantee", p.guarantee_level_m],
      ["station.flood_limit", p.flood_limit_level_m],
    ]
      .filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => `${t(k as string)} ${num(v as number, 2)}`);
    out.push(h("p", {}, `${t("station.level")} `, h("b", {}, `${num(p.level_m as number, 2)} m`), limits.length ? ` (${limits.join(" / ")})` : ""));
    out.push(h("p", {}, t(`station.${p.state}`), h("span", { class: "muted" }, ` · ${formatShort(p.level_at as string)}`)));
  }
  if (p.rain_24h_mm !== null && p.rain_24h_mm !== undefined) out.push(h("p", {}, `${t("station.rain24")} ${num(p.rain_24h_mm as number, 1)} mm`));
  return out;
}

function body(f: MapGeoJSONFeature): HTMLElement {
  const p = f.properties as Record<string, unknown>;
  const layer = f.layer.id;
  const name = String(p.name ?? p.stnm ?? p.headline_zh ?? p.id ?? "");
  const lines: Array<HTMLElement | null> = [];
  if (layer === "stations") lines.push(...stationBody(p));
  if (layer === "hazard-points") lines.push(h("p", {}, `${t(`kind.${p.kind}`)} · ${t("popup.people", { n: num(p.threatened_people as number) })}`));
  if (layer === "shelters") {
    const cap = Number(p.capacity ?? 0);
    lines.push(h("p", {}, t("popup.capacity", { n: num(cap), free: num(cap - Number(p.occupancy ?? 0)) })));
  }
  if (layer === "warehouses") lines.push(h("p", {}, t("popup.stock", { n: num(p.stock_items as number) })));
  if (layer === "teams") lines.push(h("p", {}, t("popup.members", { n: num(p.members as number) })));
  if (layer === "warnings-fill") {
    lines.push(h("p", {}, `${t(`colour.${p.colour}`)} · ${grade(String(p.level ?? ""))} · ${t(`hazard.${p.hazard}`)}`));
    if (p.action) lines.push(h("p", {}, t(`action.${p.action}`)));
    if (p.expires) lines.push(h("p", { class: "muted" }, t("cand.expires", { t: formatShort(p.expires as string) })));
  }
  const title = layer === "warnings-fill" ? `#${p.id}` : name;
  return h("div", { class: "popup", lang: lang() === "zh" ? "zh-CN" : "en" }, h("h3", {}, title), ...lines);
}

/** Wire clicks and the pointer; `onVillage` opens a village's profile, `onSite` a work-safety
 * site's dialog. */
export function wireClicks(map: MapLibreMap, onVillage: (code: string) => void, onSite: (id: string) => void): void {
  const popup = new maplibregl.Popup({ closeButton: true, maxWidth: "18rem" });
  map.on("click", (ev) => {
    const points = map.queryRenderedFeatures(
      [
        [ev.point.x - 6, ev.point.y - 6],
        [ev.point.x + 6, ev.point.y + 6],
      ],
      { layers: visible(map, POINT_LAYERS) },
    );
    const site = points.find((f) => f.layer.id === "sites");
    if (site) {
      popup.remove();
      onSite(String(site.properties.id));
      return;
    }
    if (points.length) {
      popup.setLngLat(ev.lngLat).setDOMContent(body(points[0])).addTo(map);
      return;
    }
    const areas = map.queryRenderedFeatures(ev.point, { layers: visible(map, AREA_LAYERS) });
    const village = areas.find((f) => f.layer.id === "village-risk");
    if (village?.properties.code) {
      popup.remove();
      onVillage(String(village.properties.code));
      return;
    }
    const warning = areas.find((f) => f.layer.id === "warnings-fill");
    if (warning) popup.setLngLat(ev.lngLat).setDOMContent(body(warning)).addTo(map);
  });
  map.on("mousemove", (ev) => {
    const hit = map.queryRenderedFeatures(ev.point, { layers: visible(map, [...POINT_LAYERS, ...AREA_LAYERS]) });
    map.getCanvas().style.cursor = hit.length ? "pointer" : "";
  });
}
