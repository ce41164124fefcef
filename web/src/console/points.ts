// Point layers from the OGC API as GeoJSON (stations need their latest level, which the vector
// tiles do not carry; warehouses and teams have no tiles), and the stations' state: how close
// each level is to its warning / guarantee / flood-limit level.

import { api } from "../shared/api";

export type Collection = "stations" | "warehouses" | "rescue-teams";

/** A display choice, not a standard: a level within this many metres below its warning or
 * flood-limit level is shown as "near". */
export const NEAR_LEVEL_M = 1.0;

export const STATION_STATES = [
  "above_guarantee",
  "above_design_flood",
  "above_warning",
  "above_flood_limit",
  "near",
  "normal",
  "rain",
] as const;
export type StationState = (typeof STATION_STATES)[number];

export const STATION_COLOURS: Record<StationState, string> = {
  above_guarantee: "#b30000",
  above_design_flood: "#b30000",
  above_warning: "#ff7f00",
  above_flood_limit: "#ff7f00",
  near: "#f2c500",
  normal: "#1a9850",
  rain: "#7a7a7a",
};

interface StationProps {
  level_m: number | null;
  level_status: string | null;
  above_warning_m: number | null;
  above_flood_limit_m: number | null;
}

export function stationState(p: StationProps): StationState {
  if (p.level_m === null || p.level_status === null) return "rain";
  if (p.level_status !== "normal") return p.level_status as StationState;
  const gaps = [p.above_warning_m, p.above_flood_limit_m].filter((g): g is number => g !== null);
  return gaps.some((g) => g >= -NEAR_LEVEL_M) ? "near" : "normal";
}

/** Every feature of a collection (one page: these are county-sized). */
export async function loadCollection(name: Collection): Promise<GeoJSON.FeatureCollection> {
  const fc = await api<GeoJSON.FeatureCollection>(`/ogc/collections/${name}/items?f=json&limit=5000`);
  if (name === "stations") {
    for (const f of fc.features) {
      const p = f.properties as unknown as StationProps & { state?: StationState };
      p.state = stationState(p);
    }
  }
  return fc;
}
