// The city wall's table of counties (分县统计): per county of the caller's area, the warnings in
// force by colour, villages and people to move, and (signed in) how many of the warned villages
// the messages reached and field reports; a total row; shown only when the area holds more than
// one county (a county's wall looks as before). A click on a row fits the map to the county.
// Contract: `table.county-summary tbody tr[data-county]` and `tfoot tr.total`, each with
// data-red|orange|yellow|blue, data-villages-warned, data-villages-to-move,
// data-people-to-move and, when the API gives them, data-candidates, data-field-reports,
// data-villages-targeted|reached|acknowledged; the row clicked has data-focused="true".

import { WARNING_COLOURS, WARNING_ORDER } from "../shared/colours";
import { t } from "../shared/i18n";
import type { CountySummary, CountyTotals } from "./data";
import { regionPrefix } from "./params";

type Cell = HTMLTableCellElement;

function cell(tag: "td" | "th", text: string | number, attrs: Record<string, string> = {}): Cell {
  const c = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) c.setAttribute(k, v);
  c.textContent = String(text);
  return c;
}

/** 12,345 (zh and en alike). */
const num = (n: number): string => n.toLocaleString("en-US");

/** The rows of the region's counties (all of the summary's without a region); the total is
 * the API's when every row is shown, else the sum of those shown. */
export function rowsOf(summary: CountySummary, region: string | null): { rows: CountyTotals[]; total: CountyTotals } {
  if (!region) return { rows: summary.counties, total: summary.total };
  const prefix = regionPrefix(region);
  const rows = summary.counties.filter((c) => c.code !== null && (c.code.startsWith(prefix) || prefix.startsWith(c.code)));
  return { rows, total: rows.length === summary.counties.length ? summary.total : addUp(rows, summary.total) };
}

function addUp(rows: CountyTotals[], like: CountyTotals): CountyTotals {
  const sum = (f: (r: CountyTotals) => number | null | undefined): number => rows.reduce((s, r) => s + (f(r) ?? 0), 0);
  const warnings = { red: 0, orange: 0, yellow: 0, blue: 0 };
  for (const colour of WARNING_ORDER) warnings[colour] = sum((r) => r.warnings[colour]);
  return {
    code: null,
    name: like.name,
    warnings,
    villages_warned: sum((r) => r.villages_warned),
    villages_to_move: sum((r) => r.villages_to_move),
    people_to_move: sum((r) => r.people_to_move),
    candidates: like.candidates === null ? null : sum((r) => r.candidates),
    field_reports: like.field_reports === null ? null : sum((r) => r.field_reports),
    delivery: like.delivery && {
      villages_targeted: sum((r) => r.delivery?.villages_targeted),
      villages_reached: sum((r) => r.delivery?.villages_reached),
      villages_acknowledged: sum((r) => r.delivery?.villages_acknowledged),
    },
  };
}

export class CountyTable {
  private focused: string | null = null;

  /** `onPick(code)`: a county row was clicked (null: the total row, or the focused row again). */
  constructor(
    private readonly box: HTMLElement,
    private readonly onPick: (code: string | null) => void,
  ) {
    const pick = (ev: Event) => {
      const row = (ev.target as HTMLElement).closest<HTMLTableRowElement>("tr[data-county], tr.total");
      if (!row) return;
      const code = row.dataset.county ?? null;
      this.focus(code === this.focused ? null : code);
      this.onPick(this.focused);
    };
    box.addEventListener("click", pick);
    box.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" || ev.key === " ") {
        ev.preventDefault();
        pick(ev);
      }
    });
  }

  /** Whether the table is on screen (more than one county). */
  get shown(): boolean {
    return !this.box.hidden;
  }

  /** Mark the county the map is fitted to (null: none). */
  focus(code: string | null): void {
    this.focused = code;
    this.box.querySelectorAll<HTMLTableRowElement>("tbody tr[data-county]").forEach((tr) => {
      if (tr.dataset.county === code) tr.dataset.focused = "true";
      else delete tr.dataset.focused;
    });
  }

  /** Draw the rows; the table hides itself with fewer than two. */
  render(rows: CountyTotals[], total: CountyTotals, hours: number): void {
    this.box.hidden = rows.length < 2;
    if (this.box.hidden) {
      this.box.querySelector("table")?.remove();
      return;
    }
    if (this.focused && !rows.some((r) => r.code === this.focused)) this.focused = null;
    const internal = total.delivery !== null;
    const table = document.createElement("table");
    table.className = "county-summary";
    table.append(head(internal, hours));
    const body = document.createElement("tbody");
    body.append(...rows.map((r) => row(r, internal)));
    const foot = document.createElement("tfoot");
    foot.append(row(total, internal));
    table.append(body, foot);
    const old = this.box.querySelector("table");
    if (old) old.replaceWith(table);
    else this.box.append(table);
    this.focus(this.focused);
  }
}

function head(internal: boolean, hours: number): HTMLTableSectionElement {
  const thead = document.createElement("thead");
  const top = document.createElement("tr");
  const sub = document.createElement("tr");
  top.append(
    cell("th", t("wall.county.name"), { rowspan: "2", scope: "col", class: "name" }),
    cell("th", t("wall.county.warnings"), { colspan: "4", scope: "colgroup" }),
    cell("th", t("wall.county.move"), { colspan: "2", scope: "colgroup" }),
  );
  for (const colour of WARNING_ORDER) {
    const th = cell("th", t(`wall.county.${colour}`), { scope: "col", class: "level" });
    th.style.setProperty("--level", WARNING_COLOURS[colour]);
    sub.append(th);
  }
  sub.append(cell("th", t("wall.county.villages"), { scope: "col" }), cell("th", t("wall.county.people"), { scope: "col" }));
  if (internal) {
    top.append(
      cell("th", t("wall.county.delivery"), { colspan: "2", scope: "colgroup", title: t("wall.county.delivery.note") }),
      cell("th", t("wall.county.reports"), { rowspan: "2", scope: "col", title: t("wall.county.reports.note", { h: hours }) }),
    );
    sub.append(cell("th", t("wall.county.reached"), { scope: "col" }), cell("th", t("wall.county.acknowledged"), { scope: "col" }));
  }
  thead.append(top, sub);
  return thead;
}

function row(r: CountyTotals, internal: boolean): HTMLTableRowElement {
  const tr = document.createElement("tr");
  const data: Record<string, number | null | undefined> = {
    ...r.warnings,
    villagesWarned: r.villages_warned,
    villagesToMove: r.villages_to_move,
    peopleToMove: r.people_to_move,
    candidates: r.candidates,
    fieldReports: r.field_reports,
    villagesTargeted: r.delivery?.villages_targeted,
    villagesReached: r.delivery?.villages_reached,
    villagesAcknowledged: r.delivery?.villages_acknowledged,
  };
  for (const [k, v] of Object.entries(data)) if (v !== null && v !== undefined) tr.dataset[k] = String(v);
  if (r.code) tr.dataset.county = r.code;
  else tr.className = "total";
  tr.tabIndex = 0;
  const name = cell("th", r.code ? r.name : t("wall.county.total"), { scope: "row", class: "name" });
  if (r.code) name.title = t("wall.county.fit");
  tr.append(name);
  for (const colour of WARNING_ORDER) {
    const n = r.warnings[colour];
    const badge = document.createElement("span");
    badge.className = n ? "badge" : "badge zero";
    badge.dataset.colour = colour;
    badge.style.setProperty("--level", WARNING_COLOURS[colour]);
    badge.textContent = String(n);
    badge.setAttribute("aria-label", `${t(`wall.level.${colour}`)} ${n}`);
    const td = document.createElement("td");
    td.className = "level";
    td.append(badge);
    tr.append(td);
  }
  tr.append(cell("td", num(r.villages_to_move)), cell("td", num(r.people_to_move)));
  if (internal) {
    const d = r.delivery;
    const reached = d && d.villages_targeted ? `${num(d.villages_reached)}/${num(d.villages_targeted)}` : "–";
    const acked = d && d.villages_targeted ? num(d.villages_acknowledged) : "–";
    tr.append(cell("td", reached), cell("td", acked), cell("td", r.field_reports === null ? "–" : num(r.field_reports)));
  }
  for (const c of tr.querySelectorAll("td")) if (c.textContent === "0" || c.textContent === "–") c.classList.add("zero");
  return tr;
}
