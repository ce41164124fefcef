// "The numbers that fired it": each village of a warning's evidence with the clauses of the
// rule's condition that held (e.g. 6小时雨量 91.5 ≥ 6小时准备转移 86) and its other values.

import { t } from "../shared/i18n";
import { WARNING_COLOURS } from "../shared/colours";
import { h, num } from "./dom";
import type { Evidence, VillageNumbers } from "./types";

const RANK: Record<string, number> = { red: 4, orange: 3, yellow: 2, blue: 1 };
const OPS: Record<string, string> = { ">=": "≥", "<=": "≤", "==": "=", ">": ">", "<": "<" };
/** the sign shown when a clause did not hold (5.1 < 38) */
const NOT: Record<string, string> = { ">=": "<", "<=": ">", "==": "≠", ">": "≤", "<": "≥" };
const CLAUSE = /^\(*\s*([A-Za-z_][\w]*|-?\d+(?:\.\d+)?)\s*(>=|<=|==|>|<)\s*([A-Za-z_][\w]*|-?\d+(?:\.\d+)?)\s*\)*$/;

export interface Clause {
  left: string;
  op: string;
  right: string;
  lv: number | null;
  rv: number | null;
  held: boolean;
  ratio: number;
}

function value(term: string, vars: VillageNumbers): number | null {
  if (/^-?\d/.test(term)) return Number(term);
  const v = vars[term];
  return typeof v === "number" ? v : null;
}

export function clauses(vars: VillageNumbers): Clause[] {
  const condition = typeof vars.condition === "string" ? vars.condition : "";
  return condition
    .split(/\s+(?:or|and)\s+/)
    .map((part) => CLAUSE.exec(part.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map(([, left, op, right]) => {
      const lv = value(left, vars);
      const rv = value(right, vars);
      let held = false;
      let ratio = 0;
      if (lv !== null && rv !== null) {
        held = op === ">=" ? lv >= rv : op === "<=" ? lv <= rv : op === ">" ? lv > rv : op === "<" ? lv < rv : lv === rv;
        ratio = op.startsWith(">") ? (rv ? lv / rv : 0) : op.startsWith("<") ? (lv ? rv / lv : 99) : held ? 1 : 0;
      }
      return { left, op, right, lv, rv, held, ratio };
    });
}

/** Villages of the evidence, most severe first (level, then how far over its threshold). */
export function rankedVillages(evidence: Evidence): Array<[string, VillageNumbers]> {
  const score = (v: VillageNumbers) => Math.max(0, ...clauses(v).filter((c) => c.held).map((c) => c.ratio));
  return Object.entries(evidence.villages ?? {}).sort(
    ([, a], [, b]) => (RANK[String(b.level)] ?? 0) - (RANK[String(a.level)] ?? 0) || score(b) - score(a),
  );
}

function term(name: string, v: number | null): HTMLElement {
  const label = /^-?\d/.test(name) ? "" : label_(name);
  return h("span", { class: "term" }, label ? h("span", { class: "var" }, label) : null, h("b", {}, num(v, 1)));
}

function label_(name: string): string {
  const key = `var.${name}`;
  const text = t(key);
  return text === key ? name : text;
}

/** The evidence as a table; `names` maps village codes to names; `onVillage` opens a profile. */
export function numbersTable(evidence: Evidence, names: Map<string, string>, onVillage: (code: string) => void, limit = 6): HTMLElement {
  const ranked = rankedVillages(evidence);
  const body = h("tbody");
  for (const [code, vars] of ranked.slice(0, limit)) {
    const level = String(vars.level ?? "");
    const all = clauses(vars);
    const used = new Set(all.flatMap((c) => [c.left, c.right]));
    const others = Object.entries(vars)
      .filter(([k, v]) => !used.has(k) && !["level", "condition"].includes(k) && !k.endsWith("_en") && v !== null && typeof v !== "object")
      .map(([k, v]) => `${label_(k)} ${typeof v === "number" ? num(v, 2) : v}`);
    const open = h("button", { type: "button", class: "link", "data-village": code }, names.get(code) ?? code);
    open.addEventListener("click", () => onVillage(code));
    body.append(
      h(
        "tr",
        {},
        h("th", { scope: "row" }, h("span", { class: "swatch dot", style: `background:${WARNING_COLOURS[level] ?? "#888"}`, title: t(`colour.${level}`) }), open),
        h(
          "td",
          {},
          ...all.map((c) =>
            h("span", { class: c.held ? "clause held" : "clause" }, term(c.left, c.lv), ` ${c.held ? OPS[c.op] : NOT[c.op]} `, term(c.right, c.rv)),
          ),
          others.length ? h("div", { class: "others muted" }, others.join(" · ")) : null,
        ),
      ),
    );
  }
  const table = h("table", { class: "numbers" }, body);
  const wrap = h("div", {}, table);
  if (ranked.length > limit) wrap.append(h("p", { class: "muted" }, t("cand.more_villages", { n: ranked.length - limit })));
  return wrap;
}
