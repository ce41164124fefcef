// uPlot charts of the console: a village's rainfall (hourly, rolling 3 h and 6 h sums) against
// its critical rainfall, and a station's level against its warning / guarantee / flood-limit
// levels. Time axes in Beijing time whatever the browser's zone.

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { t } from "../shared/i18n";

const ZONE = "Asia/Shanghai";
const HEIGHT = 190;
/** one colour per accumulation window; its thresholds are drawn in the same colour, dashed */
const WINDOW_COLOURS: Record<number, string> = { 1: "#3b7dd8", 3: "#1a9850", 6: "#7b3294" };
export const SUM_HOURS = [1, 3, 6] as const;

export interface RainStep {
  step_end: string;
  rain_mm: number | null;
}

export interface Threshold {
  duration_h: number;
  soil_state?: string;
  prepare_mm: number | null;
  immediate_mm: number | null;
}

export interface LevelStation {
  stnm: string;
  warning_z: number | null;
  guarantee_z: number | null;
  flood_limit_z: number | null;
  series: Array<{ tm: string; level_m: number | null }>;
}

/** Rolling sums over `hours` of an evenly stepped series (null where nothing was measured). */
export function rollingSums(values: Array<number | null>, stepMinutes: number, hours: number): Array<number | null> {
  const n = Math.max(1, Math.round((hours * 60) / stepMinutes));
  return values.map((_, i) => {
    if (i + 1 < n) return null; // the window reaches before the data
    let sum = 0;
    let seen = false;
    for (let j = i - n + 1; j <= i; j++) {
      const v = values[j];
      if (v !== null && v !== undefined) {
        sum += v;
        seen = true;
      }
    }
    return seen ? Math.round(sum * 10) / 10 : null;
  });
}

function tzDate(ts: number): Date {
  return uPlot.tzDate(new Date(ts * 1e3), ZONE);
}

const hourMinute = new Intl.DateTimeFormat("zh-CN", { timeZone: ZONE, hour: "2-digit", minute: "2-digit", hour12: false });
const monthDay = new Intl.DateTimeFormat("zh-CN", { timeZone: ZONE, month: "2-digit", day: "2-digit" });

/** Time ticks as 08:00, with the date under the first tick and at midnight (Beijing time). */
const timeAxis: uPlot.Axis = {
  values: (_u, splits) =>
    splits.map((ts, i) => {
      const d = new Date(ts * 1000);
      const hm = hourMinute.format(d);
      return i === 0 || hm === "00:00" ? `${hm}\n${monthDay.format(d).replace("/", "-")}` : hm;
    }),
  size: 44,
};

function readout(el: HTMLElement): { line: HTMLElement; hook: (u: uPlot) => void } {
  const line = document.createElement("p");
  line.className = "chart-readout";
  const hook = (u: uPlot) => {
    const i = u.cursor.idx;
    if (i === null || i === undefined) {
      line.textContent = "\u00a0";
      return;
    }
    const when = `${monthDay.format(new Date(u.data[0][i] * 1000)).replace("/", "-")} ${hourMinute.format(new Date(u.data[0][i] * 1000))}`;
    const parts = u.series.slice(1).map((s, k) => {
      const v = u.data[k + 1][i];
      return v === null || v === undefined || s.show === false ? null : `${s.label} ${Math.round(v * 100) / 100}`;
    });
    line.textContent = [when, ...parts.filter((p) => p !== null)].slice(0, 4).join(" · ");
  };
  void el;
  return { line, hook };
}

function mount(el: HTMLElement, opts: Omit<uPlot.Options, "width" | "height">, data: uPlot.AlignedData): uPlot {
  el.replaceChildren();
  const width = Math.max(260, el.clientWidth || 360);
  const { line, hook } = readout(el);
  const plot = new uPlot(
    { ...opts, width, height: HEIGHT, tzDate, legend: { show: false }, hooks: { setCursor: [hook] } } as uPlot.Options,
    data,
    el,
  );
  line.textContent = "\u00a0";
  el.append(line, keyOf(opts.series));
  const observer = new ResizeObserver(() => {
    if (!el.isConnected) {
      observer.disconnect();
      plot.destroy();
      return;
    }
    const w = Math.max(260, el.clientWidth);
    if (w !== plot.width) plot.setSize({ width: w, height: HEIGHT });
  });
  observer.observe(el);
  return plot;
}

/** The chart's key: a sample of each series' stroke (solid, dashed or dotted) and its name. */
function keyOf(series: uPlot.Series[]): HTMLElement {
  const list = document.createElement("ul");
  list.className = "chart-key";
  for (const s of series.slice(1)) {
    const item = document.createElement("li");
    const sample = document.createElement("span");
    const dash = s.dash ? (s.dash[0] > 3 ? "dashed" : "dotted") : "solid";
    sample.className = `key-line ${dash}`;
    sample.style.borderTopColor = String(s.stroke);
    if (s.paths) sample.className = "key-bar";
    if (s.paths) sample.style.background = String(s.stroke);
    item.append(sample, String(s.label ?? ""));
    list.append(item);
  }
  return list;
}

function flat(value: number | null, length: number): Array<number | null> {
  return new Array(length).fill(value);
}

/**
 * The village's hourly rain (bars) and rolling 3 h / 6 h sums (lines) over the last `show`
 * steps, with its 准备转移 (dashed) and 立即转移 (dotted) thresholds for 1, 3 and 6 h.
 * `steps` may start earlier than the part shown, so the first sums are whole.
 */
export function rainChart(el: HTMLElement, steps: RainStep[], stepMinutes: number, thresholds: Threshold[], show = 24): void {
  const values = steps.map((s) => s.rain_mm);
  const sums = Object.fromEntries(SUM_HOURS.map((h) => [h, rollingSums(values, stepMinutes, h)])) as Record<number, Array<number | null>>;
  const from = Math.max(0, steps.length - show);
  const xs = steps.slice(from).map((s) => Date.parse(s.step_end) / 1000);
  const series: uPlot.Series[] = [{}];
  const data: Array<Array<number | null>> = [];
  for (const h of SUM_HOURS) {
    const colour = WINDOW_COLOURS[h];
    series.push(
      h === 1
        ? { label: t("chart.rain", { h }), stroke: colour, fill: colour + "88", paths: uPlot.paths.bars!({ size: [0.7, 24] }), points: { show: false } }
        : { label: t("chart.rain", { h }), stroke: colour, width: 2, points: { show: false } },
    );
    data.push(sums[h].slice(from));
  }
  // the "any soil state" row, else the first, per duration
  for (const h of SUM_HOURS) {
    const rows = thresholds.filter((r) => r.duration_h === h);
    const row = rows.find((r) => r.soil_state === "any") ?? rows[0];
    if (!row) continue;
    const colour = WINDOW_COLOURS[h];
    if (row.prepare_mm !== null) {
      series.push({ label: t("chart.prepare", { h }), stroke: colour, width: 1.5, dash: [6, 4], points: { show: false } });
      data.push(flat(row.prepare_mm, xs.length));
    }
    if (row.immediate_mm !== null) {
      series.push({ label: t("chart.immediate", { h }), stroke: colour, width: 1.5, dash: [2, 3], points: { show: false } });
      data.push(flat(row.immediate_mm, xs.length));
    }
  }
  summarise(el, sums, thresholds);
  if (xs.length === 0) {
    el.replaceChildren(t("chart.empty"));
    return;
  }
  mount(
    el,
    {
      series,
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(10, (max ?? 0) * 1.08)] } },
      axes: [timeAxis, { label: t("chart.mm"), size: 48 }],
      cursor: { drag: { x: false, y: false } },
    },
    [xs, ...data] as uPlot.AlignedData,
  );
  if (data[0].every((v) => v === null)) el.append(Object.assign(document.createElement("p"), { className: "muted", textContent: t("chart.empty") }));
}

/** A sentence for screen readers: the latest sums and the thresholds. */
function summarise(el: HTMLElement, sums: Record<number, Array<number | null>>, thresholds: Threshold[]): void {
  const parts = SUM_HOURS.map((h) => {
    const last = sums[h][sums[h].length - 1];
    const row = thresholds.find((r) => r.duration_h === h);
    const limit = row ? ` / ${row.prepare_mm ?? "—"} / ${row.immediate_mm ?? "—"}` : "";
    return `${t("chart.rain", { h })} ${last ?? "—"}${limit} ${t("chart.mm")}`;
  });
  el.setAttribute("role", "img");
  el.setAttribute("aria-label", parts.join("; "));
}

/** A station's level with its warning, guarantee and flood-limit levels as flat lines. */
export function levelChart(el: HTMLElement, station: LevelStation): void {
  const xs = station.series.map((o) => Date.parse(o.tm) / 1000);
  const series: uPlot.Series[] = [{}, { label: `${station.stnm} ${t("station.level")}`, stroke: "#1f5fd6", width: 2, points: { show: false } }];
  const data: Array<Array<number | null>> = [station.series.map((o) => o.level_m)];
  const lines: Array<[string, number | null, string]> = [
    ["station.warning", station.warning_z, "#ff7f00"],
    ["station.guarantee", station.guarantee_z, "#e00000"],
    ["station.flood_limit", station.flood_limit_z, "#ff7f00"],
  ];
  for (const [key, z, colour] of lines) {
    if (z === null) continue;
    series.push({ label: t(key), stroke: colour, width: 1.5, dash: [6, 4], points: { show: false } });
    data.push(flat(z, xs.length));
  }
  const last = station.series[station.series.length - 1]?.level_m ?? null;
  el.setAttribute("role", "img");
  el.setAttribute("aria-label", `${station.stnm} ${t("station.level")} ${last ?? "—"} ${t("chart.m")}`);
  if (xs.length === 0) {
    el.replaceChildren(t("chart.empty"));
    return;
  }
  mount(
    el,
    { series, scales: { x: { time: true } }, axes: [timeAxis, { label: t("chart.m"), size: 56 }], cursor: { drag: { x: false, y: false } } },
    [xs, ...data] as uPlot.AlignedData,
  );
}

/** Threshold lines' colours by level (高报 with yellow, 高高报 with red). */
const THRESHOLD_COLOURS: Record<string, string> = {
  blue: "#1f5fd6",
  high: "#d4a900",
  yellow: "#d4a900",
  orange: "#ff7f00",
  high_high: "#e00000",
  red: "#e00000",
};

/** A monitoring point's readings (line) against its graded thresholds (dashed lines). */
export function thresholdChart(
  el: HTMLElement,
  name: string,
  unit: string,
  thresholds: Record<string, number>,
  readings: Array<[string, number, string]>,
): void {
  const xs = readings.map((r) => Date.parse(r[0]) / 1000);
  // a reading the device flagged (fault, maintenance, …) is left out of the line
  const series: uPlot.Series[] = [{}, { label: name, stroke: "#12324f", width: 2, points: { show: false } }];
  const data: Array<Array<number | null>> = [readings.map((r) => (r[2] === "N" ? r[1] : null))];
  for (const level of ["blue", "high", "yellow", "orange", "high_high", "red"]) {
    if (!(level in thresholds)) continue;
    series.push({ label: t(`site.level.${level}`), stroke: THRESHOLD_COLOURS[level], width: 1.5, dash: [6, 4], points: { show: false } });
    data.push(flat(thresholds[level], xs.length));
  }
  const last = readings[readings.length - 1];
  el.setAttribute("role", "img");
  el.setAttribute("aria-label", `${name} ${last ? `${last[1]} ${unit}` : "—"}`);
  if (xs.length === 0) {
    el.replaceChildren(t("chart.empty"));
    return;
  }
  mount(
    el,
    { series, scales: { x: { time: true } }, axes: [timeAxis, { label: unit, size: 56 }], cursor: { drag: { x: false, y: false } } },
    [xs, ...data] as uPlot.AlignedData,
  );
}
