// What the wall shows, read from the API: the warnings in force (their published state, as the
// public has them), the newest warning changes and field reports, candidates awaiting review,
// the totals per county of a city (GET /api/summary?by=county) and, signed in, the emergency
// responses in progress (GET /api/responses).

import type { Geometry } from "geojson";
import { api, ApiError, getToken } from "../shared/api";
import { boundsOf } from "../shared/bounds";
import type { ResponseSummary } from "../shared/responses";
import { inRegion, regionPrefix } from "./params";

export interface WarningProps {
  id: number;
  status: "issued" | "cancelled" | "expired" | "candidate" | "rejected";
  colour: "red" | "orange" | "yellow" | "blue";
  level: string;
  hazard: string;
  action: string | null;
  headline_zh: string | null;
  headline_en: string | null;
  event_zh: string | null;
  event_en: string | null;
  updated_at: string;
  expires: string | null;
  village_count: number;
  village_codes: string[];
}

export interface WarningFeature {
  type: "Feature";
  id: number;
  geometry: Geometry;
  properties: WarningProps;
}

interface WarningPage {
  type: "FeatureCollection";
  numberMatched: number;
  numberReturned: number;
  features: WarningFeature[];
}

export interface ReportProps {
  id: number;
  kind: string;
  village_code: string | null;
  village_name: string | null;
  observed_at: string;
  reported_at: string;
  text: string;
  people_affected: number | null;
  status: "received" | "verified" | "false";
}

interface ReportFeature {
  type: "Feature";
  id: number;
  properties: ReportProps;
}

const PAGE = 500;

/** A token the server refuses (expired, revoked) makes the wall public, not broken. */
function publicOn401<T>(fallback: T): (err: unknown) => T {
  return (err) => {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return fallback;
    throw err;
  };
}

/** Every warning matching the query, page by page. The published state (no token sent): a
 * pending escalation is not in force until it is issued. */
async function allWarnings(query: string): Promise<WarningFeature[]> {
  const out: WarningFeature[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const page = await api<WarningPage>(`/api/warnings?${query}&limit=${PAGE}&offset=${offset}`, { auth: false });
    out.push(...page.features);
    if (page.features.length < PAGE || out.length >= page.numberMatched) return out;
  }
}

/** Warnings in force now: issued and not expired (the list's `status=issued`, expires_at > now()). */
export async function warningsInForce(region: string | null): Promise<WarningFeature[]> {
  const all = await allWarnings("status=issued");
  return all.filter((f) => inRegion(region, f.properties.village_codes));
}

/** The newest warning changes the public saw: issued, cancelled or expired, newest first. */
export async function recentWarnings(region: string | null, n: number): Promise<WarningFeature[]> {
  const limit = region ? 100 : n;
  const page = await api<WarningPage>(`/api/warnings?status=issued,cancelled,expired&limit=${limit}`, {
    auth: false,
  });
  return page.features.filter((f) => inRegion(region, f.properties.village_codes)).slice(0, n);
}

/** Candidates awaiting review (a token is needed); null for the public view. */
export function pendingCount(region: string | null): Promise<number | null> {
  if (!getToken()) return Promise.resolve(null);
  return pendingOf(region).catch(publicOn401(null));
}

async function pendingOf(region: string | null): Promise<number> {
  if (!region) {
    const page = await api<WarningPage>("/api/warnings?status=candidate&limit=1");
    return page.numberMatched;
  }
  const page = await api<WarningPage>(`/api/warnings?status=candidate&limit=${PAGE}`);
  return page.features.filter((f) => inRegion(region, f.properties.village_codes)).length;
}

/** The newest field reports (a token is needed; none for the public view). */
export function recentReports(region: string | null, n: number): Promise<ReportProps[]> {
  if (!getToken()) return Promise.resolve([]);
  return reportsOf(region, n).catch(publicOn401([] as ReportProps[]));
}

async function reportsOf(region: string | null, n: number): Promise<ReportProps[]> {
  const township = region && region.length === 9 ? `&township_code=${region}` : "";
  const limit = region && region.length === 6 ? 100 : n;
  const data = await api<{ features: ReportFeature[] }>(`/api/reports?limit=${limit}${township}`);
  return data.features
    .map((f) => f.properties)
    .filter((r) => inRegion(region, r.village_code ? [r.village_code] : []))
    .sort((a, b) => b.reported_at.localeCompare(a.reported_at))
    .slice(0, n);
}

type Bounds = [number, number, number, number];

export interface Region {
  code: string | null;
  name: string | null;
  bounds: Bounds | null;
  /** each county's extent (from its townships), by county code; empty for the public */
  counties: Map<string, Bounds>;
}

interface Township {
  id: string;
  geometry: Geometry;
  properties: { code: string; name: string; county_code: string };
}

/** The region's name and extent, from the townships (a token is needed; null otherwise). Without
 * a region asked for, the one county all townships lie in. */
export function resolveRegion(asked: string | null): Promise<Region> {
  const unknown: Region = { code: asked, name: null, bounds: null, counties: new Map() };
  if (!getToken()) return Promise.resolve(unknown);
  return regionOf(asked).catch(publicOn401(unknown));
}

async function regionOf(asked: string | null): Promise<Region> {
  const data = await api<{ features: Township[] }>("/ogc/collections/townships/items?f=json&limit=1000");
  const loaded = new Set(data.features.map((f) => f.properties.county_code));
  const code = asked ?? (loaded.size === 1 ? [...loaded][0] : null);
  const towns = data.features.filter((f) => code === null || f.properties.code.startsWith(regionPrefix(code)));
  const bounds = towns.length ? boundsOf(towns.map((f) => f.geometry)) : null;
  const counties = new Map<string, Bounds>();
  for (const county of new Set(towns.map((f) => f.properties.county_code))) {
    const b = boundsOf(towns.filter((f) => f.properties.county_code === county).map((f) => f.geometry));
    if (b) counties.set(county, b);
  }
  let name: string | null = null;
  if (code && code.length === 9) name = towns[0]?.properties.name ?? null;
  // a county's name from one of its villages; a city's is not known here (none)
  else if (code && code === regionPrefix(code) && towns.length) name = await countyName(towns[0].properties.code);
  return { code, name, bounds, counties };
}

async function countyName(townshipCode: string): Promise<string | null> {
  const villages = await api<{ features: Array<{ id: string }> }>(
    `/ogc/collections/villages/items?f=json&limit=1&township_code=${townshipCode}`,
  );
  const first = villages.features[0];
  if (!first) return null;
  const profile = await api<{ village: { county_name: string | null } }>(`/api/villages/${first.id}`);
  return profile.village.county_name;
}

export interface CountyTotals {
  /** null on the total row */
  code: string | null;
  name: string;
  warnings: { red: number; orange: number; yellow: number; blue: number };
  villages_warned: number;
  villages_to_move: number;
  people_to_move: number;
  /** null unless the caller may review */
  candidates: number | null;
  /** null for the public */
  field_reports: number | null;
  delivery: { villages_targeted: number; villages_reached: number; villages_acknowledged: number } | null;
}

export interface CountySummary {
  area: string | null;
  hours: number;
  counties: CountyTotals[];
  total: CountyTotals;
}

const SUMMARY = "/api/summary?by=county";

/** Totals per county of the caller's area; the public's (published warnings only) without a
 * token or with one the server refuses. */
export function countySummary(): Promise<CountySummary> {
  if (!getToken()) return api<CountySummary>(SUMMARY, { auth: false });
  return api<CountySummary>(SUMMARY).catch((err) => {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
      return api<CountySummary>(SUMMARY, { auth: false });
    }
    throw err;
  });
}

/** The emergency responses in progress in the region (a token is needed; none for the public). */
export function activeResponses(region: string | null): Promise<ResponseSummary[]> {
  if (!getToken()) return Promise.resolve([]);
  const prefix = region ? regionPrefix(region) : "";
  return api<ResponseSummary[]>("/api/responses?status=active&limit=1000")
    .then((list) => list.filter((r) => r.county_code.startsWith(prefix) || prefix.startsWith(r.county_code)))
    .catch(publicOn401([] as ResponseSummary[]));
}
