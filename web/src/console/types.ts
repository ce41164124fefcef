// Shapes of the API answers the console reads (only the fields it uses).

export interface WarningProps {
  id: number;
  status: "candidate" | "issued" | "rejected" | "cancelled" | "expired";
  colour: "blue" | "yellow" | "orange" | "red";
  level: string;
  hazard: string;
  rule: string;
  rule_version: string;
  action: string | null;
  version: number;
  current_version: number;
  published_version: number | null;
  pending_review: boolean;
  event_zh: string;
  event_en: string;
  headline_zh: string;
  headline_en: string;
  effective: string | null;
  expires: string | null;
  first_fired_at: string | null;
  last_fired_at: string | null;
  updated_at: string;
  village_count: number;
  village_codes: string[];
  /** GB/T 2260 code of the issuing bureau (a city or a county); null or absent: the villages'
   * county */
  issuer_code?: string | null;
}

export interface WarningFeature {
  type: "Feature";
  id: number;
  geometry: GeoJSON.Geometry;
  properties: WarningProps;
}

export type VillageNumbers = Record<string, number | string | null>;

export interface Evidence {
  at?: string;
  rule_id?: string;
  rule_version?: string;
  villages?: Record<string, VillageNumbers>;
}

export interface WarningVersion {
  version: number;
  state: string;
  colour: string;
  headline_zh: string;
  headline_en: string | null;
  description_zh: string | null;
  description_en: string | null;
  instruction_zh: string | null;
  instruction_en: string | null;
  event_zh: string;
  event_en: string | null;
  reason: string | null;
  created_by: string | null;
}

export interface Contact {
  role: string;
  name: string;
  phone: string | null;
  title: string | null;
  org: string | null;
  concerns_name?: string;
  role_zh?: string;
}

export interface Impact {
  error?: string;
  villages?: Array<{ code: string; name: string; township_name: string; population: number }>;
  totals?: {
    villages: number;
    population: number;
    households: number;
    people: number;
    schools: number;
    kindergartens: number;
    clinics: number;
  };
  evacuation?: { people_to_move: number; placed: number; gap: number; reach_km: number; free_within_reach: number };
  shelters?: Array<{ id: string; name: string; free: number; takes?: number }>;
  rescue_teams?: { needed: number; short: number; teams: Array<{ id: string; name: string; specialty_zh?: string; members: number; within_reach: boolean }> };
  hazard_points?: { count: number; threatened_people: number };
  contacts?: Contact[];
}

export interface WarningDetail {
  id: number;
  geometry: GeoJSON.Geometry;
  properties: WarningProps & { shown_version: number; expires_at: string | null };
  evidence: Evidence;
  versions: WarningVersion[];
  impact?: Impact | null;
  coverage?: Coverage | null;
}

/** GET /api/warnings/{id} with a token: which villages the newest announced version reached. */
export interface CoverageCounts {
  acknowledged: number;
  delivered: number;
  pending: number;
  failed: number;
  no_terminal: number;
}

export interface Coverage {
  version: number;
  msg_type: string;
  published_at: string | null;
  villages_total: number;
  villages_by_state: CoverageCounts;
  messages: { terminals: number; phones: number; sms_sent: number; sms_delivered: number; sms_failed: number };
  by_township: Array<CoverageCounts & { code: string; name: string | null; villages: number }>;
  villages: Array<{ code: string; name: string; township_code: string; township_name: string | null; state: string }>;
  not_reached_minutes: number;
  not_reached: Array<{ code: string; name: string; township: string | null; state: string }>;
}
