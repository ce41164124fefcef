// The page: a side panel (search, layers, nearest answers), the map and the township table.

import { applyI18n, t } from "../shared/i18n";
import { KINDS } from "./data";
import { el } from "./format";
import { iconUrl } from "./icons";
import { EXPERTISE, SPECIALTIES } from "./words";

const TEMPLATE = `
  <aside class="res-side" aria-labelledby="find-title">
    <section class="find">
      <h2 id="find-title" data-i18n="res.find"></h2>
      <label><span data-i18n="res.warning"></span><select id="warning-select"></select></label>
      <div class="pick-row">
        <button type="button" id="pick-point" aria-pressed="false" data-i18n="res.pick"></button>
      </div>
      <p class="hint" id="pick-hint" data-i18n="res.pick.hint"></p>
      <label><span data-i18n="res.item"></span>
        <input id="item-search" type="search" list="item-list" autocomplete="off" data-i18n-placeholder="res.item.placeholder" />
      </label>
      <datalist id="item-list"></datalist>
      <p class="hint" id="item-count" aria-live="polite"></p>
      <div class="filters">
        <label><span data-i18n="res.min_free"></span><input id="min-free" type="number" min="0" step="50" value="0" inputmode="numeric" /></label>
        <label><span data-i18n="res.specialty"></span><select id="specialty-select"></select></label>
        <label><span data-i18n="res.expertise"></span><select id="expertise-select"></select></label>
      </div>
    </section>
    <fieldset class="layer-toggles" id="layer-toggles"><legend data-i18n="res.layers"></legend></fieldset>
    <section class="nearest-box" aria-labelledby="nearest-title">
      <h2 id="nearest-title" data-i18n="res.nearest"></h2>
      <div id="nearest" aria-live="polite"></div>
    </section>
  </aside>
  <div class="res-map" id="res-map"></div>
  <section class="res-table" aria-labelledby="table-title">
    <div class="table-head">
      <h2 id="table-title" data-i18n="res.townships"></h2>
      <button type="button" id="export-csv" disabled data-i18n="res.export"></button>
    </div>
    <div class="table-wrap" tabindex="0" aria-labelledby="table-title"><table id="township-table"></table></div>
  </section>`;

export interface ResourcesView {
  map: HTMLElement;
  warningSelect: HTMLSelectElement;
  pick: HTMLButtonElement;
  pickHint: HTMLElement;
  item: HTMLInputElement;
  itemList: HTMLDataListElement;
  itemCount: HTMLElement;
  minFree: HTMLInputElement;
  specialty: HTMLSelectElement;
  expertise: HTMLSelectElement;
  toggles: HTMLFieldSetElement;
  nearest: HTMLElement;
  table: HTMLTableElement;
  exportCsv: HTMLButtonElement;
}

export function buildView(root: HTMLElement): ResourcesView {
  root.classList.add("res");
  root.innerHTML = TEMPLATE;
  const q = <T extends HTMLElement>(id: string) => root.querySelector<T>(`#${id}`)!;
  const view: ResourcesView = {
    map: q("res-map"),
    warningSelect: q("warning-select"),
    pick: q("pick-point"),
    pickHint: q("pick-hint"),
    item: q("item-search"),
    itemList: q("item-list"),
    itemCount: q("item-count"),
    minFree: q("min-free"),
    specialty: q("specialty-select"),
    expertise: q("expertise-select"),
    toggles: q("layer-toggles"),
    nearest: q("nearest"),
    table: q("township-table"),
    exportCsv: q("export-csv"),
  };
  for (const kind of KINDS) {
    const box = el("input", { type: "checkbox", id: `toggle-${kind}`, "data-kind": kind, checked: "" });
    view.toggles.append(el("label", {}, box, el("img", { src: iconUrl(kind), alt: "", class: "icon" }), el("span", { "data-i18n": `res.kind.${kind}` })));
  }
  fillOptions(view);
  applyI18n(root);
  return view;
}

/** The specialty pickers' options in the current language (their values stay). */
export function fillOptions(view: ResourcesView): void {
  const fill = (select: HTMLSelectElement, values: readonly string[], prefix: string) => {
    const chosen = select.value;
    select.replaceChildren(
      el("option", { value: "" }, t("res.any")),
      ...values.map((v) => el("option", { value: v }, t(`${prefix}.${v}`))),
    );
    select.value = chosen;
  };
  fill(view.specialty, SPECIALTIES, "specialty");
  fill(view.expertise, EXPERTISE, "expertise");
}
