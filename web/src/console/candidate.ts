// One warning of the review queue as a card: colour and level, headline, rule and version,
// times; on opening, for a published warning how far its messages got (coverage.ts), then the
// numbers that fired it, the chart of a village's rain against its critical rainfall, the
// impact summary and the text; the action buttons the role allows.

import { api } from "../shared/api";
import { lang, t } from "../shared/i18n";
import { formatShort } from "../shared/time";
import { allowedActions, errorText, openAction } from "./actions";
import { coverageSection } from "./coverage";
import { h, last } from "./dom";
import { numbersTable, rankedVillages } from "./evidence";
import { impactSummary } from "./impact";
import { villageRainChart } from "./village_rain";
import type { WarningDetail, WarningFeature, WarningProps, WarningVersion } from "./types";

export interface CardContext {
  /** details already loaded, by warning id (kept across queue refreshes) */
  details: Map<number, { stamp: string; detail: WarningDetail }>;
  /** ids whose details are open */
  open: Set<number>;
  onVillage: (code: string) => void;
  onShowArea: (feature: WarningFeature) => void;
  /** no token: the public detail has no impact, and village pages need a token */
  publicView: boolean;
}

function hazardName(hazard: string, w: WarningProps): string {
  const key = `hazard.${hazard}`;
  const word = t(key);
  return word === key ? (lang() === "zh" ? w.event_zh : w.event_en || w.event_zh) : word;
}

/** 一级 … 四级 in the page's language. */
export function grade(level: string): string {
  const key = `grade.${level}`;
  const word = t(key);
  return word === key ? level : word;
}

function stateLabel(w: WarningProps): string {
  if (w.status === "issued") return w.pending_review ? t("cand.update") : t("cand.issued");
  return t(`status.${w.status}`);
}

export function card(feature: WarningFeature, ctx: CardContext, cls: "candidate" | "in-force"): HTMLElement {
  const w = feature.properties;
  const titleId = `w-${w.id}-title`;
  const headline = lang() === "zh" ? w.headline_zh : w.headline_en || w.headline_zh;
  const head = h(
    "header",
    {},
    h(
      "p",
      { class: "badges" },
      h("span", { class: `badge colour-${w.colour}` }, `${t(`colour.${w.colour}`)} · ${grade(w.level)}`),
      h("span", { class: "state" }, stateLabel(w)),
      w.action ? h("span", { class: "state action" }, t(`action.${w.action}`)) : null,
    ),
    h("h3", { id: titleId }, headline),
    h(
      "p",
      { class: "meta" },
      `${hazardName(w.hazard, w)} · ${t("cand.rule")} `,
      h("code", {}, w.rule),
      ` ${t("cand.version")} ${w.rule_version} · ${t("cand.id", { id: w.id, v: w.current_version })} · ${t("cand.villages", { n: w.village_count })}`,
    ),
    h(
      "p",
      { class: "meta" },
      t("cand.fired", { first: formatShort(w.first_fired_at), last: formatShort(w.last_fired_at) }),
      w.expires ? ` · ${t("cand.expires", { t: formatShort(w.expires) })}` : "",
    ),
  );
  const published = w.published_version !== null && w.published_version !== undefined;
  const summary = ctx.publicView ? "cand.text" : published ? "cand.details_issued" : "cand.details";
  const details = h("details", {}, h("summary", {}, t(summary)));
  const body = h("div", { class: "detail-body" });
  details.append(body);
  details.open = ctx.open.has(w.id);
  const load = () => void fillDetails(body, feature, ctx);
  details.addEventListener("toggle", () => {
    if (details.open) {
      ctx.open.add(w.id);
      if (!body.hasChildNodes()) load();
    } else ctx.open.delete(w.id);
  });
  if (details.open) load();

  const where = h("button", { type: "button", class: "show-area" }, t("cand.show_map"));
  where.addEventListener("click", () => ctx.onShowArea(feature));
  const buttons = h("div", { class: "actions" }, where);
  for (const action of allowedActions(w)) {
    const button = h("button", { type: "button", "data-action": action, class: action === "issue" ? "primary" : action === "cancel" || action === "reject" ? "danger" : "" }, t(`action.${action}`));
    button.addEventListener("click", () => void openAction(action, w, ctx.details.get(w.id)?.detail ?? null, button));
    buttons.append(button);
  }
  return h(
    "li",
    { class: `${cls} colour-${w.colour}`, "data-warning-id": String(w.id), "data-status": w.status },
    h("article", { "aria-labelledby": titleId }, head, details, buttons),
  );
}

async function fillDetails(body: HTMLElement, feature: WarningFeature, ctx: CardContext): Promise<void> {
  const w = feature.properties;
  body.replaceChildren(h("p", { class: "muted" }, t("queue.loading")));
  let detail: WarningDetail;
  try {
    const cached = ctx.details.get(w.id);
    detail = cached && cached.stamp === w.updated_at ? cached.detail : await api<WarningDetail>(`/api/warnings/${w.id}`);
    ctx.details.set(w.id, { stamp: w.updated_at, detail });
  } catch (err) {
    body.replaceChildren(h("p", { class: "error" }, t("cand.load_failed", { detail: errorText(err) })));
    return;
  }
  const names = new Map((detail.impact?.villages ?? []).map((v) => [v.code, v.name]));
  const ranked = rankedVillages(detail.evidence);
  const shown = detail.properties.shown_version ?? detail.properties.current_version;
  const version = detail.versions.find((v) => v.version === shown) ?? last(detail.versions);
  const zh = lang() === "zh";
  if (ctx.publicView) {
    body.replaceChildren(textBlock(version, zh, true) ?? "");
    return;
  }
  const published = w.published_version !== null && w.published_version !== undefined;
  body.replaceChildren(
    published ? coverageSection(detail.coverage, w.id) : "",
    h("h4", {}, t("cand.numbers"), detail.evidence.at ? h("span", { class: "muted" }, ` (${formatShort(detail.evidence.at)})`) : null),
    numbersTable(detail.evidence, names, ctx.onVillage),
    h("h4", {}, t("cand.chart")),
    chartBlock(ranked.map(([code]) => code), names, w.id),
    h("h4", {}, t("cand.impact")),
    impactSummary(detail.impact),
    textBlock(version, zh, false) ?? "",
  );
}

function textBlock(version: WarningVersion | undefined, zh: boolean, open: boolean): HTMLElement | null {
  if (!version) return null;
  const block = h(
    "details",
    { class: "text" },
    h("summary", {}, t("cand.text")),
    h("p", {}, (zh ? version.description_zh : version.description_en || version.description_zh) ?? ""),
    h("p", { class: "muted" }, (zh ? version.instruction_zh : version.instruction_en || version.instruction_zh) ?? ""),
  );
  block.open = open;
  return block;
}

function chartBlock(codes: string[], names: Map<string, string>, id: number): HTMLElement {
  const chart = h("div", { class: "chart" });
  if (codes.length === 0) return chart;
  const select = h("select", { id: `w-${id}-village` });
  for (const code of codes.slice(0, 200)) select.append(h("option", { value: code }, names.get(code) ?? code));
  const label = h("label", { class: "inline", for: select.id }, t("cand.chart_village"));
  const draw = () => void villageRainChart(chart, select.value);
  select.addEventListener("change", draw);
  queueMicrotask(draw);
  return h("div", { class: "chart-block" }, h("p", {}, label, " ", select), chart);
}
