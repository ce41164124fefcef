// What the resource map reads from the API: the resources as GeoJSON (OGC API – Features and the
// expert pool), the nearest of each kind to a point or a warning's area, the township totals and
// the warnings to choose from. Every one of them needs a token.

import type { Feature, FeatureCollection, Point } from "geojson";
import { api } from "../shared/api";

export const KINDS = ["shelter", "warehouse", "team", "expert"] as const;
export type Kind = (typeof KINDS)[number];

export interface StockRow {
  item: string;
  item_name: string;
  unit: string;
  quantity: number;
}

export type ResourceFeature = Feature<Point | null, Record<string, unknown> & { id: string; name: string }>;
export type Resources = Record<Kind, FeatureCollection<Point | null, ResourceFeature["properties"]>>;

const COLLECTION: Record<Exclude<Kind, "expert">, string> = {
  shelter: "shelters",
  warehouse: "warehouses",
  team: "rescue-teams",
};

export async function loadResources(): Promise<Resources> {
  const ogc = (kind: Exclude<Kind, "expert">) =>
    api<Resources[typeof kind]>(`/ogc/collections/${COLLECTION[kind]}/items?f=json&limit=1000`);
  const [shelter, warehouse, team, expert] = await Promise.all([
    ogc("shelter"),
    ogc("warehouse"),
    ogc("team"),
    api<Resources["expert"]>("/api/resources/experts"),
  ]);
  return { shelter, warehouse, team, expert };
}

/** Does the item search match this stock row (the API's rule: the code, or part of the zh-CN
 * name, with stock on hand)? */
export function stockMatches(row: StockRow, query: string): boolean {
  const q = query.trim();
  return row.quantity > 0 && (row.item === q || row.item_name.includes(q));
}

/** Ids of the warehouses holding a matching item. */
export function warehousesHolding(resources: Resources, query: string): string[] {
  return resources.warehouse.features
    .filter((f) => ((f.properties.stock as StockRow[] | undefined) ?? []).some((s) => stockMatches(s, query)))
    .map((f) => f.properties.id);
}

/** Every stock item named in the warehouses, by code, with its zh-CN name. */
export function stockItems(resources: Resources): Map<string, string> {
  const items = new Map<string, string>();
  for (const f of resources.warehouse.features) {
    for (const s of (f.properties.stock as StockRow[] | undefined) ?? []) items.set(s.item, s.item_name);
  }
  return new Map([...items].sort((a, b) => a[0].localeCompare(b[0])));
}

export type Origin = { lon: number; lat: number } | { warningId: number };

export interface Filters {
  item: string;
  minFree: number;
  specialty: string;
  expertise: string;
}

export interface NearestReply {
  kind: Kind;
  features: Array<Feature<Point | null, Record<string, unknown> & { id: string; name: string; distance_m: number }>>;
}

const FILTER: Record<Kind, (f: Filters) => [string, string] | null> = {
  shelter: (f) => (f.minFree > 0 ? ["min_free", String(f.minFree)] : null),
  warehouse: (f) => (f.item.trim() ? ["item", f.item.trim()] : null),
  team: (f) => (f.specialty ? ["specialty", f.specialty] : null),
  expert: (f) => (f.expertise ? ["expertise", f.expertise] : null),
};

export function nearest(kind: Kind, origin: Origin, filters: Filters, k = 5, signal?: AbortSignal): Promise<NearestReply> {
  const q = new URLSearchParams({ kind, k: String(k) });
  if ("warningId" in origin) q.set("warning_id", String(origin.warningId));
  else {
    q.set("lon", String(origin.lon));
    q.set("lat", String(origin.lat));
  }
  const filter = FILTER[kind](filters);
  if (filter) q.set(...filter);
  return api<NearestReply>(`/api/resources/nearest?${q}`, { signal });
}

export interface SummaryGroup {
  code: string;
  level: "county" | "township";
  name: string;
  warehouses: number;
  stock: Array<StockRow & { warehouses: number }>;
  shelters: number;
  capacity: number;
  occupied: number;
  free: number;
  teams: Record<string, number>;
  experts?: number;
}

export interface Summary {
  groups: SummaryGroup[];
  totals: Omit<SummaryGroup, "code" | "level" | "name">;
}

export function summary(): Promise<Summary> {
  return api<Summary>("/api/resources/summary?by=township");
}

export interface WarningChoice {
  id: number;
  geometry: import("geojson").Geometry;
  properties: { id: number; status: string; colour: string; headline_zh: string | null; headline_en: string | null; village_count: number };
}

/** Warnings in force and candidates (a resource plan may start before the issue). */
export async function warningChoices(): Promise<WarningChoice[]> {
  const page = await api<{ features: WarningChoice[] }>("/api/warnings?status=issued,candidate&limit=100");
  return page.features;
}
