// 发布情况 — an issued warning's delivery, in its card's details: villages by state (each village
// counted once, by its best state: confirmed > delivered > pending > failed; no loudspeaker
// apart), a table by township, and the villages still not reached N minutes after issue.
// Read from GET /api/warnings/{id} (`coverage`); read again when a `coverage` live event for the
// warning arrives (the dispatcher sends one after each batch, the acknowledgement endpoint too).
// Contract: `section.coverage#coverage-<id>[data-warning-id]`, `.coverage-totals
// [data-state] dd`, `tr[data-township] td[data-field]`, `li[data-not-reached]`.

import { api } from "../shared/api";
import { t } from "../shared/i18n";
import { formatShort } from "../shared/time";
import type { CardContext } from "./candidate";
import { h, num } from "./dom";
import type { Coverage, WarningDetail } from "./types";

const STATES = ["acknowledged", "delivered", "pending", "failed", "no_terminal"] as const;
const RELOAD_MS = 500; // a burst of batches costs one read

export function coverageSection(cov: Coverage | null | undefined, id: number): HTMLElement {
  const section = h("section", { class: "coverage", id: `coverage-${id}`, "data-warning-id": String(id) });
  const title = h("h4", {}, t("coverage.title"));
  if (!cov) {
    section.append(title, h("p", { class: "muted" }, t("coverage.none")));
    return section;
  }
  section.dataset.version = String(cov.version);
  title.append(
    h(
      "span",
      { class: "muted" },
      ` ${t("coverage.version", { v: cov.version })}${cov.published_at ? ` · ${t("coverage.published", { t: formatShort(cov.published_at) })}` : ""}`,
    ),
  );
  const totals = h(
    "dl",
    { class: "stats coverage-totals" },
    ...STATES.map((s) =>
      h(
        "div",
        { class: `stat state-${s}`, "data-state": s },
        h("dt", {}, t(`coverage.state.${s}`)),
        h("dd", {}, num(cov.villages_by_state[s])),
      ),
    ),
    h("div", { class: "stat", "data-state": "total" }, h("dt", {}, t("coverage.villages_total")), h("dd", {}, num(cov.villages_total))),
  );
  const m = cov.messages;
  const messages = h(
    "p",
    { class: "meta coverage-messages" },
    t("coverage.messages", { terminals: num(m.terminals), phones: num(m.phones), sent: num(m.sms_sent), delivered: num(m.sms_delivered) }),
    m.sms_failed > 0 ? h("span", { class: "bad" }, ` · ${t("coverage.sms_failed", { n: num(m.sms_failed) })}`) : null,
  );
  const head = h(
    "tr",
    {},
    h("th", { scope: "col" }, t("coverage.township")),
    h("th", { scope: "col", class: "n" }, t("coverage.villages")),
    ...STATES.map((s) => h("th", { scope: "col", class: "n" }, t(`coverage.col.${s}`))),
  );
  const rows = cov.by_township.map((town) =>
    h(
      "tr",
      { "data-township": town.code },
      h("th", { scope: "row" }, town.name ?? town.code),
      h("td", { class: "n", "data-field": "villages" }, num(town.villages)),
      ...STATES.map((s) => h("td", { class: `n ${s === "failed" && town.failed > 0 ? "bad" : ""}`, "data-field": s }, num(town[s]))),
    ),
  );
  const table = h("table", { class: "grid coverage-towns" }, h("thead", {}, head), h("tbody", {}, ...rows));
  section.append(
    title,
    totals,
    h("p", { class: "meta" }, t("coverage.best_state")),
    messages,
    h("div", { class: "table-wrap" }, table),
    notReached(cov),
  );
  return section;
}

function notReached(cov: Coverage): HTMLElement {
  const minutes = cov.not_reached_minutes;
  const age = cov.published_at ? (Date.now() - Date.parse(cov.published_at)) / 60000 : null;
  const block = h("div", { class: "not-reached" });
  if (cov.not_reached.length === 0) {
    const young = age !== null && age < minutes;
    block.append(h("p", { class: "muted" }, t(young ? "coverage.too_early" : "coverage.all_reached", { n: minutes })));
    return block;
  }
  block.append(
    h("h5", {}, t("coverage.not_reached", { n: minutes, count: cov.not_reached.length })),
    h(
      "ul",
      { class: "not-reached-list" },
      ...cov.not_reached.map((v) =>
        h(
          "li",
          { "data-not-reached": v.code, "data-state": v.state, title: `${v.township ?? ""} · ${t(`coverage.state.${v.state}`)}` },
          v.name,
        ),
      ),
    ),
  );
  return block;
}

/** Reads a warning's coverage again when its `coverage` event arrives, if its section is open;
 * otherwise forgets the loaded details so the next opening reads them. */
export class CoverageWatch {
  private readonly timers = new Map<number, number>();

  constructor(private readonly ctx: CardContext) {}

  changed(id: number): void {
    window.clearTimeout(this.timers.get(id));
    this.timers.set(
      id,
      window.setTimeout(() => {
        this.timers.delete(id);
        void this.reload(id);
      }, RELOAD_MS),
    );
  }

  private async reload(id: number): Promise<void> {
    if (!document.getElementById(`coverage-${id}`)) {
      this.ctx.details.delete(id);
      return;
    }
    let detail: WarningDetail;
    try {
      detail = await api<WarningDetail>(`/api/warnings/${id}`);
    } catch (err) {
      console.warn(`coverage of warning ${id}:`, err);
      return;
    }
    const cached = this.ctx.details.get(id);
    this.ctx.details.set(id, { stamp: cached?.stamp ?? detail.properties.updated_at, detail });
    document.getElementById(`coverage-${id}`)?.replaceWith(coverageSection(detail.coverage, id));
  }
}
