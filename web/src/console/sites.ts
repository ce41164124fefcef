// Work-safety sites (安全生产风险监测) on the console: the "sites" layer kept current
// (shared/sites_layer.ts) and the site dialog #site-dialog: the
// site's contacts, its monitoring items and points, and a chart of each point's readings
// against its threshold lines. Contracts: layer id "sites", #site-dialog[data-site-id],
// .site-point[data-point-id] with a .site-chart each.

import type { Map as MapLibreMap } from "maplibre-gl";
import { api } from "../shared/api";
import { WARNING_COLOURS } from "../shared/colours";
import { applyI18n, lang, t } from "../shared/i18n";
import { loadSites } from "../shared/sites_layer";
import { formatShort } from "../shared/time";
import { thresholdChart } from "./charts";
import { h, num } from "./dom";

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
  grade: Level | null;
  grade_reason: string | null;
}

interface SiteAlarm {
  id: number;
  point_name: string;
  item_zh: string;
  unit: string;
  kind: "threshold" | "fault";
  fault_kind: string | null;
  level: Level | null;
  opened_at: string;
  value: number | null;
  flapping: boolean;
  suppressed: boolean;
}

interface Downstream {
  ord: number;
  village_code: string;
  village_name: string;
  township_name: string | null;
  distance_m: number;
  population: number | null;
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
  grade: (Level & { reason: string; since: string }) | null;
  items: SiteItem[];
  open_alarms: SiteAlarm[];
  faults: SiteAlarm[];
  downstream: Downstream[];
  exposed: Array<{ village_code: string; village_name: string; distance_m: number; bearing_deg: number }>;
}

interface Series {
  id: string;
  name: string;
  unit: string;
  direction: "above" | "below";
  thresholds: Record<string, number>;
  readings: Array<[string, number, string]>;
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
  const order = p.direction === "above" ? ["blue", "high", "yellow", "high_high", "orange", "red"] : ["blue", "yellow", "orange", "red"];
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
    parts.push(
      h(
        "p",
        { class: "site-grade", "data-level": site.grade?.level ?? "none" },
        `${t("site.grade")}：`,
        levelBadge(site.grade),
        site.grade ? h("span", {}, ` ${site.grade.reason}`, h("span", { class: "muted" }, ` · ${t("site.since")} ${formatShort(site.grade.since)}`)) : "",
      ),
    );
    if (site.open_alarms.length || site.faults.length) {
      const list = h("ul", { class: "site-alarms" });
      for (const a of [...site.open_alarms, ...site.faults]) {
        const what = a.kind === "fault" ? h("span", { class: "site-flag" }, t(`site.fault.${a.fault_kind}`)) : levelBadge(a.level);
        const notes = [a.flapping ? t("site.flapping") : "", a.suppressed ? t("site.suppressed") : ""].filter(Boolean).join(" · ");
        list.append(
          h(
            "li",
            { class: `site-alarm ${a.kind}`, "data-alarm-id": String(a.id) },
            what,
            ` ${a.point_name} ${a.value === null ? "" : `${num(a.value, 2)} ${a.unit}`}`,
            h("span", { class: "muted" }, ` · ${formatShort(a.opened_at)}${notes ? ` · ${notes}` : ""}`),
          ),
        );
      }
      parts.push(h("h3", {}, t("site.alarms")), list);
    }
    if (site.downstream.length) {
      const rows = site.downstream.map((d) =>
        h("li", { "data-village": d.village_code }, d.village_name, h("span", { class: "muted" }, ` ${d.township_name ?? ""} · ${t("site.along", { km: num(d.distance_m / 1000, 1) })}${d.population ? ` · ${t("site.people", { n: num(d.population) })}` : ""}`)),
      );
      parts.push(h("h3", {}, t("site.downstream")), h("ol", { class: "site-downstream" }, ...rows));
    }
    if (site.exposed.length) {
      const rows = site.exposed.map((v) =>
        h("li", { "data-village": v.village_code }, v.village_name, h("span", { class: "muted" }, ` · ${num(v.distance_m / 1000, 1)} km · ${v.bearing_deg}°`)),
      );
      parts.push(h("h3", {}, t("site.exposed")), h("ol", { class: "site-downstream site-exposed" }, ...rows));
    }
    for (const item of site.items) {
      const section = h(
        "section",
        { class: "site-item", "data-item": item.item },
        h("h3", {}, lang() === "zh" ? item.item_zh : t(`site.item.${item.item}`), " ", levelBadge(item.grade)),
      );
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
