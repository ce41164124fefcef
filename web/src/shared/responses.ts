// Emergency responses (应急响应 Ⅳ–Ⅰ, GET /api/responses): their shapes, the level's colour and
// words, the same on the console and the wall. A response level is not a warning level: it is
// always written with 响应 (Ⅲ级应急响应), never as a colour (红色/黄色 belong to warnings), though
// the conventional colours are used (Ⅰ red, Ⅱ orange, Ⅲ yellow, Ⅳ blue).

import { register, t } from "./i18n";
import { WARNING_COLOURS } from "./colours";

export interface Proposal {
  id: number;
  kind: "start" | "raise";
  level: number;
  at: string;
  condition?: string | null;
  status?: string;
  decided_by?: string | null;
  decided_at?: string | null;
  reason?: string | null;
}

export interface ResponseSummary {
  id: number;
  plan_id: string;
  plan_title_zh: string;
  plan_title_en: string;
  county_code: string;
  county_name: string | null;
  status: "proposed" | "active" | "ended" | "dismissed";
  /** 1 = Ⅰ (highest) … 4 = Ⅳ; null until started */
  level: number | null;
  level_roman: string | null;
  started_at: string | null;
  started_by: string | null;
  ended_at: string | null;
  created_at: string;
  tasks: number;
  tasks_acknowledged: number;
  tasks_done: number;
  tasks_overdue: number;
  pending_proposal: Proposal | null;
}

export interface ResponseTask {
  id: number;
  level: number;
  who: string;
  office_code: string | null;
  office_name: string | null;
  text_zh: string;
  text_en: string;
  person_id: string | null;
  person_name: string | null;
  phone: string | null;
  assigned_how: string;
  due_at: string;
  status: "open" | "acknowledged" | "done" | "cancelled";
  overdue: boolean;
  acked_at: string | null;
  acked_by: string | null;
  done_at: string | null;
  done_by: string | null;
  note: string | null;
  sms_status: string | null;
}

export interface TimelineEntry {
  id: number;
  at: string;
  kind: string;
  actor: string;
  level_from: number | null;
  level_to: number | null;
  task_id: number | null;
  proposal_id: number | null;
  reason: string | null;
  details: Record<string, unknown>;
}

export interface ResponseDetail extends ResponseSummary {
  proposals: Proposal[];
  task_list: ResponseTask[];
  timeline: TimelineEntry[];
}

const ROMAN = ["", "Ⅰ", "Ⅱ", "Ⅲ", "Ⅳ"];
const LEVEL_COLOUR = ["", "red", "orange", "yellow", "blue"] as const;

/** Ⅰ … Ⅳ */
export function roman(level: number | null | undefined): string {
  return level ? (ROMAN[level] ?? String(level)) : "—";
}

/** The conventional colour of a response level (a name of WARNING_COLOURS: red … blue). */
export function levelColourName(level: number | null | undefined): string {
  return level ? (LEVEL_COLOUR[level] ?? "blue") : "none";
}

export function levelColour(level: number | null | undefined): string {
  return WARNING_COLOURS[levelColourName(level)] ?? "#6c8db0";
}

/** Ⅲ级应急响应 / Level Ⅲ emergency response */
export function levelLabel(level: number | null | undefined): string {
  return t("response.level", { r: roman(level) });
}

/** 防汛抗旱 (the plan's title less 应急预案), or the English title. */
export function planShort(r: Pick<ResponseSummary, "plan_title_zh" | "plan_title_en">, zh: boolean): string {
  if (!zh && r.plan_title_en) return r.plan_title_en.replace(/\s*(emergency\s+)?plan$/i, "");
  return r.plan_title_zh.replace(/(专项)?应急预案$/, "") || r.plan_title_zh;
}

/** Active first, the highest level (Ⅰ) first, then the newest. */
export function byLevel(a: ResponseSummary, b: ResponseSummary): number {
  const rank = (r: ResponseSummary) => (r.status === "active" ? 0 : 1);
  return rank(a) - rank(b) || (a.level ?? 9) - (b.level ?? 9) || Date.parse(b.created_at) - Date.parse(a.created_at) || b.id - a.id;
}

register({
  "response.level": ["{r}级应急响应", "Level {r} emergency response"],
  "response.level.short": ["{r}级响应", "Level {r} response"],
});
