// A village's rain over the last 24 h (and the 6 h before, so the first sums are whole) against
// its flash-flood critical rainfall, from /api/villages/{code}/rain and the village profile.

import { api } from "../shared/api";
import { t } from "../shared/i18n";
import { rainChart, type RainStep, type Threshold } from "./charts";
import { errorText } from "./actions";

const HOUR = 3600 * 1000;
const SHOWN_HOURS = 24;
const LEAD_HOURS = 6;

export interface RainReply {
  step_minutes: number;
  series: RainStep[];
  /** accumulations over 1/3/6/12/24 h up to `to` (the API's, with the rules' semantics) */
  windows: Array<{ hours: number; rain_mm: number | null; source: string | null }>;
}

const thresholdCache = new Map<string, Promise<Threshold[]>>();

export function thresholds(code: string): Promise<Threshold[]> {
  let found = thresholdCache.get(code);
  if (!found) {
    found = api<{ flash_flood_thresholds: Threshold[] }>(`/api/villages/${code}`).then((p) => p.flash_flood_thresholds);
    found.catch(() => thresholdCache.delete(code));
    thresholdCache.set(code, found);
  }
  return found;
}

/** The hourly series up to the last whole hour (never later observations stored for the future). */
export function rainSeries(code: string): Promise<RainReply> {
  const to = new Date(Math.floor(Date.now() / HOUR) * HOUR);
  const from = new Date(to.getTime() - (SHOWN_HOURS + LEAD_HOURS) * HOUR);
  const q = new URLSearchParams({ from: from.toISOString(), to: to.toISOString(), step: "1h" });
  return api<RainReply>(`/api/villages/${code}/rain?${q}`);
}

export async function villageRainChart(el: HTMLElement, code: string, known?: Threshold[]): Promise<void> {
  el.replaceChildren(t("queue.loading"));
  try {
    const [rain, limits] = await Promise.all([rainSeries(code), known ? Promise.resolve(known) : thresholds(code)]);
    rainChart(el, rain.series, rain.step_minutes, limits, SHOWN_HOURS);
  } catch (err) {
    el.replaceChildren(errorText(err));
  }
}
