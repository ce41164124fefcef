// The ticker: the newest warning changes and field reports, newest first; a warning's item
// also says how far its messages got (delivery.ts), when known.

import { WARNING_COLOURS } from "../shared/colours";
import { lang, t } from "../shared/i18n";
import { formatShort } from "../shared/time";
import type { ReportProps, WarningFeature } from "./data";
import { coverageLine, type Coverage } from "./delivery";

interface Item {
  at: string;
  node: HTMLLIElement;
}

function span(cls: string, text: string): HTMLSpanElement {
  const s = document.createElement("span");
  s.className = cls;
  s.textContent = text;
  return s;
}

function warningItem(w: WarningFeature, coverage: Coverage | undefined): Item {
  const p = w.properties;
  const li = document.createElement("li");
  li.dataset.kind = "warning";
  li.dataset.warningId = String(p.id);
  li.dataset.status = p.status;
  li.style.setProperty("--level", WARNING_COLOURS[p.colour] ?? "#888");
  const headline = (lang() === "en" ? p.headline_en : p.headline_zh) ?? p.headline_zh ?? p.event_zh ?? "";
  const meta = `${t(`wall.status.${p.status}`)} · ${t("wall.villages", { n: p.village_count })}`;
  li.append(
    span("when", formatShort(p.updated_at)),
    span(`chip colour-${p.colour}`, t(`colour.${p.colour}`)),
    span("what", headline),
    span("meta", meta),
  );
  if (coverage) li.append(coverageLine(coverage));
  return { at: p.updated_at, node: li };
}

function reportItem(r: ReportProps): Item {
  const li = document.createElement("li");
  li.dataset.kind = "field_report";
  li.dataset.reportId = String(r.id);
  li.dataset.status = r.status;
  const where = r.village_name ?? "";
  const people = r.people_affected ? ` · ${t("wall.people", { n: r.people_affected })}` : "";
  li.append(
    span("when", formatShort(r.reported_at)),
    span("chip report", t("wall.report")),
    span("what", `${where} ${t(`report.${r.kind}`)}：${r.text}`),
    span("meta", `${t(`wall.report.${r.status}`)}${people}`),
  );
  return { at: r.reported_at, node: li };
}

/** `coverage`: what a warning's messages reached, when known (a signed-in wall). */
export function renderTicker(
  root: HTMLElement,
  warnings: WarningFeature[],
  reports: ReportProps[],
  n: number,
  coverage: (id: number) => Coverage | undefined = () => undefined,
): void {
  const items = [...warnings.map((w) => warningItem(w, coverage(w.properties.id))), ...reports.map(reportItem)]
    .sort((a, b) => Date.parse(b.at) - Date.parse(a.at))
    .slice(0, n);
  if (items.length === 0) {
    const li = document.createElement("li");
    li.className = "empty";
    li.textContent = t("wall.ticker.empty");
    root.replaceChildren(li);
    return;
  }
  root.replaceChildren(...items.map((i) => i.node));
}
