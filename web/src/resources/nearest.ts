// The "nearest resources" panel: one section per kind, each a list in distance order whose items
// carry the resource id and the distance in metres (data-id, data-distance-m).

import { applyI18n, t } from "../shared/i18n";
import { KINDS, type Kind, type NearestReply, type Origin } from "./data";
import { details, phone } from "./describe";
import { distance, el } from "./format";
import { iconUrl } from "./icons";

export type Focus = (kind: Kind, feature: NearestReply["features"][number]) => void;

export function renderEmpty(root: HTMLElement): void {
  delete root.dataset.lon;
  delete root.dataset.lat;
  delete root.dataset.warningId;
  root.replaceChildren(el("p", { class: "hint", "data-i18n": "res.nearest.empty" }));
  applyI18n(root);
}

export function renderFailed(root: HTMLElement): void {
  root.querySelector(".error")?.remove();
  root.prepend(el("p", { class: "error", role: "alert" }, t("res.nearest.failed")));
}

export function renderLoading(root: HTMLElement): void {
  root.setAttribute("aria-busy", "true");
  root.querySelectorAll("section").forEach((s) => s.classList.add("loading"));
}

export function renderNearest(
  root: HTMLElement,
  origin: Origin,
  replies: NearestReply[],
  itemQuery: string,
  focus: Focus,
): void {
  root.removeAttribute("aria-busy");
  const head = el("p", { class: "origin" });
  if ("warningId" in origin) {
    root.dataset.warningId = String(origin.warningId);
    delete root.dataset.lon;
    delete root.dataset.lat;
    head.textContent = t("res.nearest.warning", { id: origin.warningId });
  } else {
    delete root.dataset.warningId;
    root.dataset.lon = String(origin.lon);
    root.dataset.lat = String(origin.lat);
    head.textContent = t("res.nearest.point", { lon: origin.lon.toFixed(5), lat: origin.lat.toFixed(5) });
  }
  const sections = KINDS.map((kind) => {
    const reply = replies.find((r) => r.kind === kind);
    const section = el(
      "section",
      { "data-kind": kind },
      el("h3", {}, el("img", { src: iconUrl(kind), alt: "", class: "icon" }), t(`res.kind.${kind}`)),
    );
    if (kind === "expert") section.append(el("p", { class: "note" }, t("res.expert.located")));
    const list = el("ol", {});
    for (const f of reply?.features ?? []) list.append(item(kind, f, itemQuery, focus));
    if (!reply || reply.features.length === 0) section.append(el("p", { class: "none" }, t("res.nearest.none")));
    else section.append(list);
    return section;
  });
  root.replaceChildren(head, ...sections);
}

function item(kind: Kind, f: NearestReply["features"][number], itemQuery: string, focus: Focus): HTMLLIElement {
  const p = f.properties;
  const metres = Number(p.distance_m);
  const far =
    kind === "expert" && metres === 0 ? t("res.expert.inside") : distance(metres);
  const button = el("button", { type: "button", class: "go" }, el("span", { class: "name" }, p.name), el("span", { class: "dist" }, far));
  button.addEventListener("click", () => focus(kind, f));
  const li = el("li", { "data-id": String(p.id), "data-distance-m": String(metres) }, button);
  const line = details(kind, p, itemQuery);
  const extra = kind === "expert" && p.serves_name ? ` · ${t("res.expert.serves", { name: String(p.serves_name) })}` : "";
  li.append(el("span", { class: "detail" }, line + extra));
  const tel = phone(kind, p);
  if (tel) li.append(el("a", { class: "tel", href: `tel:${tel}` }, `${t("res.phone")} ${tel}`));
  return li;
}
