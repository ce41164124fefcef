// What a kiosk link asks for: /wall?region=431226&layers=warnings,rain,villages,sites&lang=zh&stale=40
// (the token travels in the fragment, #token=rm_…, adopted by shared/api.ts). A region is a city
// (431200: all its counties), a county or a township, as the API's areas (api/areas.py).

import type { Lang } from "../shared/i18n";

export const WALL_LAYERS = ["warnings", "rain", "villages", "sites"] as const;
export type WallLayer = (typeof WALL_LAYERS)[number];

/** The server sends a keep-alive comment after 15 s without events (api/routers/events.py,
 * FastAPI's EventSourceResponse): a stream silent for two of those and a margin is stale. */
export const PING_SECONDS = 15;
export const DEFAULT_STALE_SECONDS = 2 * PING_SECONDS + 10;

export interface WallParams {
  /** GB/T 2260 city or county (6 digits) or township (9 digits) code; null = everything */
  region: string | null;
  layers: Set<WallLayer>;
  lang: Lang | null;
  /** seconds without a byte from the event stream before the display counts as stale */
  staleSeconds: number;
}

export function readParams(search: string = location.search): WallParams {
  const q = new URLSearchParams(search);
  const region = q.get("region");
  const asked = (q.get("layers") ?? "warnings,villages")
    .split(",")
    .map((s) => s.trim())
    .filter((s): s is WallLayer => (WALL_LAYERS as readonly string[]).includes(s));
  const layers = new Set<WallLayer>(asked);
  layers.add("warnings"); // the wall is about warnings: never without them
  const lang = q.get("lang");
  const stale = Number(q.get("stale"));
  return {
    region: region && /^\d{6}(\d{3})?$/.test(region) ? region : null,
    layers,
    lang: lang === "en" || lang === "zh" ? lang : null,
    staleSeconds: Number.isFinite(stale) && stale >= 1 ? stale : DEFAULT_STALE_SECONDS,
  };
}

/** The code prefix of everything in a region: a city's four digits (431200 → 4312), else the
 * code itself (a county's or township's codes start with it). */
export function regionPrefix(region: string): string {
  return region.length === 6 && region.endsWith("00") ? region.slice(0, 4) : region;
}

/** Does a warning or report with these 12-digit village codes concern the region? */
export function inRegion(region: string | null, villageCodes: readonly string[] | null | undefined): boolean {
  if (!region) return true;
  const prefix = regionPrefix(region);
  return (villageCodes ?? []).some((code) => code.startsWith(prefix));
}
