// The township totals table: one row per township (and one for county-level resources), a
// totals row from the API's own sums, and the same rows as CSV with Chinese headers.

import { applyI18n, t } from "../shared/i18n";
import type { Summary, SummaryGroup } from "./data";
import { el, number } from "./format";

type Row = Omit<SummaryGroup, "code" | "level" | "name"> & { code: string; level: string; name: string };

export interface Column {
  /** the header: a word key, or literal zh/en */
  head: { key: string } | { zh: string; en: string };
  value: (row: Row) => string | number;
  numeric: boolean;
}

function word(key: string): Column["head"] {
  return { key };
}

/** The columns for this summary: fixed ones, teams per specialty, then each stock item. */
export function columns(s: Summary): Column[] {
  const cols: Column[] = [
    { head: word("res.col.name"), value: (r) => r.name, numeric: false },
    { head: word("res.col.code"), value: (r) => r.code, numeric: false },
    { head: word("res.col.warehouses"), value: (r) => r.warehouses, numeric: true },
    { head: word("res.col.shelters"), value: (r) => r.shelters, numeric: true },
    { head: word("res.col.capacity"), value: (r) => r.capacity, numeric: true },
    { head: word("res.col.occupied"), value: (r) => r.occupied, numeric: true },
    { head: word("res.col.free"), value: (r) => r.free, numeric: true },
    {
      head: word("res.col.teams"),
      value: (r) => Object.values(r.teams).reduce((a, b) => a + b, 0),
      numeric: true,
    },
  ];
  for (const specialty of Object.keys(s.totals.teams)) {
    cols.push({
      head: { zh: `${t(`specialty.${specialty}`, undefined, "zh")}队伍（支）`, en: `Teams: ${t(`specialty.${specialty}`, undefined, "en")}` },
      value: (r) => r.teams[specialty] ?? 0,
      numeric: true,
    });
  }
  cols.push({ head: word("res.col.experts"), value: (r) => r.experts ?? 0, numeric: true });
  for (const item of s.totals.stock) {
    cols.push({
      head: { zh: `${item.item_name}（${item.unit}）`, en: `${item.item_name} (${item.item}, ${item.unit})` },
      value: (r) => r.stock.find((x) => x.item === item.item)?.quantity ?? 0,
      numeric: true,
    });
  }
  return cols;
}

export function rows(s: Summary, language: "zh" | "en"): Row[] {
  const out: Row[] = s.groups.map((g) => ({
    ...g,
    name: g.level === "county" ? t("res.county.level", { name: g.name }, language) : g.name,
  }));
  out.push({ ...s.totals, code: "", level: "total", name: t("res.total", undefined, language) });
  return out;
}

export function headText(c: Column, language: "zh" | "en"): string {
  return "key" in c.head ? t(c.head.key, undefined, language) : c.head[language];
}

export function renderTable(table: HTMLTableElement, s: Summary, language: "zh" | "en"): void {
  const cols = columns(s);
  const all = rows(s, language);
  const thead = el("thead", {}, el("tr", {}, ...cols.map((c) => el("th", { scope: "col", class: c.numeric ? "num" : "" }, headText(c, language)))));
  const body = el("tbody");
  const labels = cols.map((c) => headText(c, language));
  for (const r of all.slice(0, -1)) body.append(tr(cols, labels, r, "td"));
  const foot = el("tfoot", {}, tr(cols, labels, all[all.length - 1], "th"));
  table.replaceChildren(el("caption", { class: "sr-only", "data-i18n": "res.townships" }), thead, body, foot);
  applyI18n(table);
}

function tr(cols: Column[], labels: string[], r: Row, cell: "td" | "th"): HTMLTableRowElement {
  const row = el("tr", { "data-code": r.code || "total" });
  cols.forEach((c, i) => {
    const v = c.value(r);
    // data-label: the header again, shown beside the value where rows become cards (phones)
    const attrs: Record<string, string> = { class: c.numeric ? "num" : "", "data-label": labels[i] };
    if (i === 0) attrs.scope = "row";
    if (c.numeric) attrs["data-value"] = String(v);
    row.append(el(i === 0 ? "th" : cell, attrs, typeof v === "number" ? number(v) : v));
  });
  return row;
}
