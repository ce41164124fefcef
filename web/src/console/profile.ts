// The village profile #village-profile: people, risk by hazard with its method, critical
// rainfall, the rain chart #village-rain-chart, accumulated rain, station levels, responsible
// persons, hazard points nearby and the village's warnings. Opens on a click on the map.

import { api } from "../shared/api";
import { RISK_COLOURS, WARNING_COLOURS } from "../shared/colours";
import { applyI18n, lang, t } from "../shared/i18n";
import { formatShort, formatTime } from "../shared/time";
import { errorText } from "./actions";
import { levelChart, rainChart, type LevelStation, type Threshold } from "./charts";
import { h, num } from "./dom";
import { contactLine } from "./impact";
import type { Contact } from "./types";
import { rainSeries, type RainReply } from "./village_rain";

interface Profile {
  village: {
    code: string;
    name: string;
    population: number | null;
    households: number | null;
    schools: number | null;
    clinics: number | null;
    area_km2: number | null;
    township_name: string;
    county_name: string;
  };
  risk: Array<{ hazard: string; risk_level: number; susceptibility_class: number; exposure_class: number; method: string; method_version: string; computed_at: string }>;
  flash_flood_thresholds: Threshold[];
  responsible: Contact[];
  hazard_points: { radius_m: number; features: Array<{ properties: { name: string; kind: string; scale: string; threatened_people: number; distance_m: number; monitor_name: string | null; monitor_phone: string | null } }> };
}


interface VillageWarnings {
  warnings: Array<{ id: number; colour: string; level: string; status: string; headline_zh: string; headline_en: string | null; first_fired_at: string; expires_at: string | null }>;
}

export class VillageProfile {
  private code: string | null = null;
  private token = 0;
  /** the control that opened the profile from the keyboard (focus returns to it) */
  private opener: HTMLElement | null = null;

  constructor(
    private readonly panel: HTMLElement,
    private readonly onShow: () => void,
    private readonly onHide: () => void,
  ) {
    panel.querySelector<HTMLButtonElement>("#profile-close")!.addEventListener("click", () => this.close());
  }

  get openCode(): string | null {
    return this.code;
  }

  close(): void {
    this.code = null;
    this.panel.hidden = true;
    this.onHide();
    if (this.opener?.isConnected) this.opener.focus();
    this.opener = null;
  }

  async open(code: string): Promise<void> {
    this.code = code;
    const mine = ++this.token;
    const title = this.panel.querySelector<HTMLElement>("#profile-title")!;
    const body = this.panel.querySelector<HTMLElement>("#profile-body")!;
    title.textContent = code;
    body.replaceChildren(h("p", { class: "muted" }, t("profile.loading")));
    const active = document.activeElement as HTMLElement | null;
    if (active && active !== document.body && active.tagName !== "CANVAS" && !this.panel.contains(active)) {
      this.opener = active;
    }
    this.panel.hidden = false;
    this.onShow();
    if (this.opener) this.panel.querySelector<HTMLElement>("#profile-close")!.focus();
    const to = new Date(Math.floor(Date.now() / 3.6e6) * 3.6e6).toISOString();
    try {
      const [profile, rain, levels, warnings] = await Promise.all([
        api<Profile>(`/api/villages/${code}`),
        rainSeries(code),
        api<{ stations: LevelStation[] }>(`/api/villages/${code}/levels?to=${encodeURIComponent(to)}`),
        api<VillageWarnings>(`/api/villages/${code}/warnings`),
      ]);
      if (mine !== this.token) return;
      const v = profile.village;
      title.textContent = v.name;
      title.append(h("span", { class: "sub" }, ` ${v.township_name} · ${v.code}`));
      const chart = h("div", { id: "village-rain-chart", class: "chart" });
      body.replaceChildren(
        facts(profile),
        riskTable(profile),
        thresholdTable(profile.flash_flood_thresholds),
        h("section", {}, h("h3", {}, t("profile.rain")), chart, windowsLine(rain)),
        levelsBlock(levels.stations),
        people(profile.responsible),
        hazardPoints(profile),
        warningsList(warnings),
      );
      applyI18n(body);
      rainChart(chart, rain.series, rain.step_minutes, profile.flash_flood_thresholds, 24);
      body.querySelectorAll<HTMLElement>(".level-chart").forEach((el, i) => levelChart(el, levels.stations.filter(hasLevels)[i]));
    } catch (err) {
      if (mine !== this.token) return;
      body.replaceChildren(h("p", { class: "error", role: "alert" }, t("profile.failed", { detail: errorText(err) })));
    }
  }

  /** Redraw in the other language. */
  rerender(): void {
    if (this.code) void this.open(this.code);
  }
}

function hasLevels(s: LevelStation): boolean {
  return s.series.some((o) => o.level_m !== null);
}

function facts(p: Profile): HTMLElement {
  const v = p.village;
  const item = (key: string, value: string, field: string) => h("div", { class: "stat" }, h("dt", {}, t(key)), h("dd", { "data-field": field }, value));
  return h(
    "dl",
    { class: "stats" },
    item("profile.population", num(v.population), "population"),
    item("profile.households", num(v.households), "households"),
    item("profile.schools", num(v.schools), "schools"),
    item("profile.clinics", num(v.clinics), "clinics"),
    item("profile.area", num(v.area_km2, 1), "area_km2"),
  );
}

function riskTable(p: Profile): HTMLElement {
  const rows = p.risk.map((r) =>
    h(
      "tr",
      {},
      h("th", { scope: "row" }, t(`hazard.${r.hazard}`)),
      h("td", {}, h("span", { class: "swatch", style: `background:${RISK_COLOURS[r.risk_level] ?? "#ccc"}` }), t(`risk.${r.risk_level}`)),
      h(
        "td",
        {},
        h(
          "details",
          {},
          h("summary", {}, `${t("profile.method")} v${r.method_version}`),
          h("p", { class: "method" }, r.method),
          h("p", { class: "muted" }, t("profile.computed", { t: formatTime(r.computed_at) })),
        ),
      ),
    ),
  );
  return h(
    "section",
    {},
    h("h3", {}, t("profile.risk")),
    h("table", { class: "grid" }, h("thead", {}, h("tr", {}, h("th", {}, t("profile.hazard")), h("th", {}, t("profile.level")), h("th", {}, t("profile.method")))), h("tbody", {}, ...rows)),
  );
}

function thresholdTable(rows: Threshold[]): HTMLElement {
  if (rows.length === 0) return h("section", {}, h("h3", {}, t("profile.thresholds")), h("p", { class: "muted" }, t("profile.no_thresholds")));
  return h(
    "section",
    {},
    h("h3", {}, t("profile.thresholds")),
    h(
      "table",
      { class: "grid" },
      h("thead", {}, h("tr", {}, h("th", {}, t("profile.duration")), h("th", {}, t("profile.prepare")), h("th", {}, t("profile.immediate")))),
      h("tbody", {}, ...rows.map((r) => h("tr", {}, h("th", { scope: "row" }, `${r.duration_h} h${r.soil_state && r.soil_state !== "any" ? ` (${r.soil_state})` : ""}`), h("td", {}, num(r.prepare_mm, 1)), h("td", {}, num(r.immediate_mm, 1))))),
    ),
  );
}

function windowsLine(w: RainReply): HTMLElement {
  return h(
    "p",
    { class: "windows" },
    h("span", { class: "muted" }, `${t("profile.windows")}: `),
    ...w.windows.map((x) => h("span", { class: "window" }, `${x.hours} h `, h("b", {}, num(x.rain_mm, 1)), ` ${t("chart.mm")}`)),
  );
}

function levelsBlock(stations: LevelStation[]): HTMLElement {
  const withData = stations.filter(hasLevels);
  if (withData.length === 0) return h("section", {}, h("h3", {}, t("profile.levels")), h("p", { class: "muted" }, t("profile.no_levels")));
  return h("section", {}, h("h3", {}, t("profile.levels")), ...withData.map(() => h("div", { class: "chart level-chart" })));
}

function people(contacts: Contact[]): HTMLElement {
  return h(
    "section",
    {},
    h("h3", {}, t("profile.responsible")),
    contacts.length ? h("ul", { class: "contacts" }, ...contacts.map((c) => contactLine(c))) : h("p", { class: "muted" }, t("profile.none")),
  );
}

function hazardPoints(p: Profile): HTMLElement {
  const km = num(p.hazard_points.radius_m / 1000, 1);
  const items = p.hazard_points.features.map(({ properties: hp }) =>
    h(
      "li",
      {},
      h("b", {}, hp.name),
      ` ${t(`kind.${hp.kind}`)} · ${t("profile.threatened", { n: hp.threatened_people })} · ${t("profile.distance", { km: num(hp.distance_m / 1000, 1) })}`,
      hp.monitor_name ? h("span", { class: "muted" }, ` · ${t("profile.monitor")} ${hp.monitor_name} `) : null,
      hp.monitor_phone ? h("a", { href: `tel:${hp.monitor_phone}`, class: "phone" }, hp.monitor_phone) : null,
    ),
  );
  return h("section", {}, h("h3", {}, t("profile.hazard_points", { km })), items.length ? h("ul", { class: "plain" }, ...items) : h("p", { class: "muted" }, t("profile.none")));
}

function warningsList(w: VillageWarnings): HTMLElement {
  const items = w.warnings.slice(0, 12).map((x) =>
    h(
      "li",
      {},
      h("span", { class: "swatch dot", style: `background:${WARNING_COLOURS[x.colour] ?? "#888"}` }),
      `${lang() === "zh" ? x.headline_zh : x.headline_en || x.headline_zh} `,
      h("span", { class: "muted" }, `${t(`status.${x.status}`)} · ${formatShort(x.first_fired_at)}`),
    ),
  );
  return h("section", {}, h("h3", {}, t("profile.warnings")), items.length ? h("ul", { class: "plain" }, ...items) : h("p", { class: "muted" }, t("profile.none")));
}
