// Work-safety sites (安全生产风险监测): the "sites" layer — hazardous sites coloured by the
// highest threshold level their points reach now — and the site dialog #site-dialog: the
// site's contacts, its monitoring items and points, and a chart of each point's readings
// against its threshold lines. Contracts: layer id "sites", #site-dialog[data-site-id],
// .site-point[data-point-id] with a .site-chart each.

import type { GeoJSONSource, Map as MapLibreMap } from "maplibre-gl";
import { api } from "../shared/api";
import { WARNING_COLOURS } from "../shared/colours";
import { applyI18n, lang, t } from "../shared/i18n";
import { formatShort } from "../shared/time";
import { thresholdChart } from "./charts";
import { h, num } from "./dom";

const EMPTY: GeoJSON.FeatureCollection = { type: "FeatureCollection", features: [] };
/** a site without a point at a threshold: dark grey, so that a coloured one stands out */
export const QUIET_COLOUR = "#4d4d4d";
const REFRESH_MS = 60_000;

interface Level {
  level: string;
  colour: string;
}

interface SitePoint {
  id: string;
  name: string;
  unit: string;
  direction: "above" | "below";
  quantity: string;
  thresholds: Record<string, number>;
  latest_at: string | null;
  latest_value: number | null;
  latest_flag: string | null;
  level: Level | null;
}

interface SiteItem {
  item: string;
  item_zh: string;
  points: SitePoint[];
}

interface Site {
  id: string;
  name: string;
  kind: string;
  kind_zh: string;
  monitored: boolean;
  supervising_section: string | null;
  safety_contact_name: string | null;
  safety_contact_phone: string | null;
  maintenance_contact_name: string | null;
  maintenance_contact_phone: string | null;
  items: SiteItem[];
}

interface Series {
  id: string;
  name: string;
  unit: string;
  direction: "above" | "below";
  thresholds: Record<string, number>;
  readings: Array<[string, number, string]>;
}

export function addSiteLayer(map: MapLibreMap): void {
  map.addSource("sites", { type: "geojson", data: EMPTY });
  map.addLayer({
    id: "sites",
    type: "circle",
    source: "sites",
    layout: { "circle-sort-key": ["match", ["get", "colour"], "red", 4, "orange", 3, "yellow", 2, "blue", 1, 0] },
    paint: {
      "circle-color": ["match", ["get", "colour"], ...Object.entries(WARNING_COLOURS).flat(), QUIET_COLOUR] as unknown as string,
      "circle-radius": ["interpolate", ["linear"], ["zoom"], 8, 5, 13, 10],
      "circle-stroke-color": "#ffffff",
      "circle-stroke-width": 2,
    },
  });
}

/** Fill the layer from /api/sites (the level flattened to a colour the style can match). */
export async function loadSites(map: MapLibreMap): Promise<void> {
  const fc = await api<GeoJSON.FeatureCollection>("/api/sites");
  for (const f of fc.features) {
    const p = f.properties as Record<string, unknown>;
    const level = p.level_now as Level | null;
    p.colour = level?.colour ?? "none";
    p.level = level?.level ?? "none";
  }
  (map.getSource("sites") as GeoJSONSource | undefined)?.setData(fc);
}

/** Keep the layer current (readings arrive every few minutes). */
export function watchSites(map: MapLibreMap): void {
  window.setInterval(() => void loadSites(map).catch(() => undefined), REFRESH_MS);
}

function levelBadge(level: Level | null): HTMLElement {
  if (!level) return h("span", { class: "site-level none" }, t("site.level.none"));
  return h(
    "span",
    { class: `site-level ${level.colour}`, style: `background:${WARNING_COLOURS[level.colour]}` },
    t(`site.level.${level.level}`),
  );
}

function thresholdText(p: SitePoint): string {
  const order = p.direction === "above" ? ["blue", "high", "yellow", "orange", "high_high", "red"] : ["blue", "yellow", "orange", "red"];
  const parts = order.filter((k) => k in p.thresholds).map((k) => `${t(`site.level.${k}`)} ${p.direction === "above" ? "≥" : "≤"} ${num(p.thresholds[k], 2)}`);
  return parts.join(" · ");
}

/** A device's data flag (HJ 212: F 停运, M 维护, D 故障, …) in words. */
function flagText(flag: string): string {
  return "FMSDCT".includes(flag) ? t(`site.flag.${flag}`) : t("site.flag.other", { f: flag });
}

function latestText(p: SitePoint): HTMLElement {
  if (p.latest_value === null) return h("span", { class: "muted" }, t("site.no_reading"));
  const flag = p.latest_flag && p.latest_flag !== "N" ? h("span", { class: "site-flag" }, flagText(p.latest_flag)) : "";
  return h("span", {}, h("b", {}, `${num(p.latest_value, 2)} ${p.unit}`), " ", flag, h("span", { class: "muted" }, ` · ${formatShort(p.latest_at!)}`));
}

/** The site dialog (#site-dialog): opened by a click on a site. */
export class SiteDialog {
  private readonly dialog: HTMLDialogElement;
  private site: Site | null = null;
  private series = new Map<string, Series>();

  constructor() {
    this.dialog = document.getElementById("site-dialog") as HTMLDialogElement;
    this.dialog.querySelector("#site-close")!.addEventListener("click", () => this.dialog.close());
  }

  async open(id: string): Promise<void> {
    this.dialog.dataset.siteId = id;
    const body = this.dialog.querySelector<HTMLElement>("#site-body")!;
    body.replaceChildren(h("p", { class: "muted" }, t("site.loading")));
    this.dialog.querySelector("#site-title")!.textContent = "";
    if (!this.dialog.open) this.dialog.showModal();
    try {
      const site = await api<Site>(`/api/sites/${encodeURIComponent(id)}`);
      const readings = await api<{ points: Series[] }>(`/api/sites/${encodeURIComponent(id)}/readings`);
      this.site = site;
      this.series = new Map(readings.points.map((p) => [p.id, p]));
      this.render();
    } catch (err) {
      body.replaceChildren(h("p", { class: "error" }, `${t("site.failed")}: ${(err as Error).message}`));
    }
  }

  render(): void {
    const site = this.site;
    if (!site || !this.dialog.open) return;
    this.dialog.querySelector("#site-title")!.textContent = `${site.name}（${lang() === "zh" ? site.kind_zh : t(`site.kind.${site.kind}`)}）`;
    const body = this.dialog.querySelector<HTMLElement>("#site-body")!;
    const contacts = h(
      "p",
      { class: "site-contacts" },
      site.supervising_section ? `${t("site.section")}：${site.supervising_section}　` : "",
      site.safety_contact_name ? `${t("site.safety_contact")}：${site.safety_contact_name} ${site.safety_contact_phone ?? ""}　` : "",
      site.maintenance_contact_name ? `${t("site.maintenance_contact")}：${site.maintenance_contact_name} ${site.maintenance_contact_phone ?? ""}` : "",
    );
    const parts: HTMLElement[] = [contacts];
    if (!site.items.length) parts.push(h("p", { class: "muted" }, t("site.unmonitored")));
    for (const item of site.items) {
      const section = h("section", { class: "site-item", "data-item": item.item }, h("h3", {}, lang() === "zh" ? item.item_zh : t(`site.item.${item.item}`)));
      for (const p of item.points) {
        const chart = h("div", { class: "site-chart" });
        section.append(
          h(
            "div",
            { class: "site-point", "data-point-id": p.id },
            h("p", { class: "site-point-head" }, h("b", {}, p.name), " ", levelBadge(p.level), " ", latestText(p)),
            h("p", { class: "muted site-thresholds" }, thresholdText(p)),
            chart,
          ),
        );
        const s = this.series.get(p.id);
        // drawn once the section is in the dialog (the chart takes its width from the page)
        queueMicrotask(() => thresholdChart(chart, p.name, p.unit, p.thresholds, s?.readings ?? []));
      }
      parts.push(section);
    }
    body.replaceChildren(...parts);
    applyI18n(body);
  }
}
