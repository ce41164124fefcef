// The rain layer (id `rain`, PNG tiles of one grid period) and its time slider #rain-slider over
// the observed periods of the last 24 h and the forecast hours after them, with the legend.
// Periods come from /tiles/rain/periods.json; without it (404) the slider is hidden and the
// layer shows the latest observed period up to now.

import type { Map as MapLibreMap, RasterTileSource } from "maplibre-gl";
import { api, ApiError, getToken } from "../shared/api";
import { lang, onLang, t } from "../shared/i18n";
import { formatShort } from "../shared/time";
import { h, last } from "./dom";

export interface Period {
  product: "qpe" | "qpf";
  valid_start: string;
  valid_end: string;
  issued_at: string | null;
  hours: number;
  max_mm: number | null;
}

interface LegendClass {
  min: number;
  max: number | null;
  colour: string;
  label_zh: string;
  label_en: string;
}

interface Legend {
  units: string;
  classes: LegendClass[];
}

const DAY_MS = 24 * 3600 * 1000;

function tileUrl(period: Pick<Period, "product" | "valid_end">): string {
  const q = new URLSearchParams({ product: period.product, period: period.valid_end });
  const token = getToken();
  if (token) q.set("token", token);
  return `${location.origin}/tiles/rain/{z}/{x}/{y}.png?${q}`;
}

/** One tile of the period first, alone: the server decodes a grid on its first tile, and
 * decoding the same NetCDF file in many threads at once has crashed it (see the report of
 * issue 13); the other tiles then come from its cache. The browser keeps the tile too. */
async function warm(map: MapLibreMap, period: Pick<Period, "product" | "valid_end">): Promise<void> {
  const z = Math.min(14, Math.max(0, Math.floor(map.getZoom())));
  const { lng, lat } = map.getCenter();
  const n = 2 ** z;
  const x = Math.floor(((lng + 180) / 360) * n);
  const rad = (lat * Math.PI) / 180;
  const y = Math.floor(((1 - Math.log(Math.tan(rad) + 1 / Math.cos(rad)) / Math.PI) / 2) * n);
  const url = tileUrl(period).replace("{z}", String(z)).replace("{x}", String(x)).replace("{y}", String(y));
  try {
    await fetch(url);
  } catch {
    /* the layer's own requests will report it */
  }
}

async function periods(product: "qpe" | "qpf"): Promise<Period[] | null> {
  try {
    const reply = await api<Period[] | { periods: Period[] }>(`/tiles/rain/periods.json?product=${product}`);
    return Array.isArray(reply) ? reply : reply.periods;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

/** Observed periods ending in the last 24 h up to `now` (one per end time, the shortest), then
 * the latest forecast's periods that end after them. */
export function sliderSteps(qpe: Period[], qpf: Period[], now: number): Period[] {
  const byEnd = new Map<string, Period>();
  for (const p of qpe) {
    const end = Date.parse(p.valid_end);
    if (end > now || end <= now - DAY_MS) continue;
    const key = new Date(end).toISOString();
    const had = byEnd.get(key);
    if (!had || p.hours < had.hours) byEnd.set(key, p);
  }
  const observed = [...byEnd.values()].sort((a, b) => Date.parse(a.valid_end) - Date.parse(b.valid_end));
  const lastObserved = observed.length ? Date.parse(observed[observed.length - 1].valid_end) : now;
  const issues = qpf.map((p) => (p.issued_at ? Date.parse(p.issued_at) : 0)).filter((x) => x <= now);
  const latestIssue = issues.length ? Math.max(...issues) : null;
  const forecast = qpf
    .filter((p) => (p.issued_at ? Date.parse(p.issued_at) : 0) === latestIssue && Date.parse(p.valid_end) > lastObserved)
    .sort((a, b) => Date.parse(a.valid_end) - Date.parse(b.valid_end));
  return [...observed, ...forecast];
}

export interface RainControl {
  /** the period shown, or null when there is no grid */
  current(): Period | null;
}

/** Add the rain layer below `before` and wire the slider in `bar` (#rain-bar). */
export async function setupRain(map: MapLibreMap, bar: HTMLElement, before: string): Promise<RainControl> {
  const slider = bar.querySelector<HTMLInputElement>("#rain-slider")!;
  const time = bar.querySelector<HTMLOutputElement>("#rain-time")!;
  const badge = bar.querySelector<HTMLElement>("#rain-product")!;
  const legendBox = bar.querySelector<HTMLElement>("#rain-legend")!;
  const now = Date.now();
  const [qpe, qpf] = await Promise.all([periods("qpe"), periods("qpf")]);
  let steps: Period[];
  if (qpe === null) {
    // no period list on this server: the latest observed grid ending by now
    steps = [{ product: "qpe", valid_start: "", valid_end: new Date(now).toISOString(), issued_at: null, hours: 1, max_mm: null }];
    slider.hidden = true;
  } else {
    steps = sliderSteps(qpe, qpf ?? [], now);
  }
  let legend: Legend;
  try {
    const chosen = last(steps.filter((s) => s.product === "qpe")) ?? steps[0];
    legend = await api<Legend>(`/tiles/rain/legend.json?product=${chosen?.product ?? "qpe"}${chosen ? `&period=${encodeURIComponent(chosen.valid_end)}` : ""}`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) steps = [];
    else throw err;
    legend = { units: "mm", classes: [] };
  }
  if (steps.length === 0) {
    bar.classList.add("no-rain");
    time.textContent = t("rain.none");
    slider.hidden = true;
    return { current: () => null };
  }
  let index = steps.length - 1;
  const lastObserved = steps.map((s) => s.product).lastIndexOf("qpe");
  if (lastObserved >= 0) index = lastObserved;
  slider.min = "0";
  slider.max = String(steps.length - 1);
  slider.step = "1";
  slider.value = String(index);
  await warm(map, steps[index]);
  map.addSource("rain", { type: "raster", tiles: [tileUrl(steps[index])], tileSize: 256, maxzoom: 14 });
  map.addLayer({ id: "rain", type: "raster", source: "rain", paint: { "raster-opacity": 0.7, "raster-fade-duration": 0 } }, before);

  const label = () => {
    const s = steps[index];
    const known = s.valid_start !== "";
    time.textContent = known ? `${formatShort(s.valid_start)}–${formatShort(s.valid_end).slice(-5)}` : t("rain.latest");
    time.dataset.product = s.product;
    time.dataset.validEnd = s.valid_end;
    badge.textContent = t(`rain.${s.product}`);
    badge.className = `product ${s.product}`;
    const max = s.max_mm !== null && s.max_mm !== undefined ? ` · ${t("rain.max", { mm: Math.round(s.max_mm * 10) / 10 })}` : "";
    slider.setAttribute("aria-valuetext", `${t(`rain.${s.product}`)} ${time.textContent}${max}`);
    badge.title = max.replace(" · ", "");
  };
  let timer: number | undefined;
  slider.addEventListener("input", () => {
    index = Number(slider.value);
    label();
    window.clearTimeout(timer);
    timer = window.setTimeout(async () => {
      const chosen = steps[index];
      await warm(map, chosen);
      if (chosen === steps[index]) (map.getSource("rain") as RasterTileSource).setTiles([tileUrl(chosen)]);
    }, 120);
  });
  renderLegend(legendBox, legend);
  label();
  onLang(() => {
    label();
    renderLegend(legendBox, legend);
  });
  return { current: () => steps[index] };
}

function renderLegend(box: HTMLElement, legend: Legend): void {
  box.replaceChildren(
    h("span", { class: "legend-title" }, t("rain.legend")),
    ...legend.classes.map((c) =>
      h(
        "span",
        { class: "rain-class", title: lang() === "zh" ? c.label_zh : c.label_en },
        h("span", { class: "swatch", style: `background:${c.colour}` }),
        c.max === null ? `≥${c.min}` : `${c.min}–${c.max}`,
      ),
    ),
  );
}
