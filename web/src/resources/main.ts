// The emergency-resource one map (/resources, 应急资源一张图): shelters, warehouses, rescue teams
// and experts on the map; the nearest of each kind to a clicked point or a warning's area; stock
// search; totals by township with a CSV export.

import "../shared/base.css";
import "./resources.css";
import "./words";
import type { Point } from "geojson";
import type { MapMouseEvent } from "maplibre-gl";
import { getToken } from "../shared/api";
import { addLabels, createMap } from "../shared/basemap";
import { WARNING_COLOURS } from "../shared/colours";
import { applyI18n, lang, onLang, t } from "../shared/i18n";
import { initShell } from "../shared/shell";
import { boundsOf } from "../shared/bounds";
import { downloadCsv } from "./csv";
import {
  KINDS,
  loadResources,
  stockItems,
  summary as loadSummary,
  warehousesHolding,
  warningChoices,
  type Filters,
  type Kind,
  type Resources,
  type Summary,
  type WarningChoice,
} from "./data";
import { Finder } from "./finder";
import { el } from "./format";
import { addResourceLayers, filterWarehouses, LAYER_OF, setVisible, showOrigin, showWarning } from "./layers";
import { showPopup } from "./popup";
import { renderTable } from "./table";
import { buildView, fillOptions } from "./view";

const RETRY_MS = 10_000;

initShell({ page: "resources", onSession: () => location.reload() });
const view = buildView(document.getElementById("app")!);
const map = createMap({ container: view.map });
// the shell's boundary note goes on the map (not over the panel and table)
const note = document.querySelector(".boundary-note");
if (note) view.map.append(note);
map.on("error", (e) => console.warn("map:", e.error?.message ?? e));

let resources: Resources | null = null;
let township: Summary | null = null;
let warnings: WarningChoice[] = [];
let picking = false;

function filters(): Filters {
  return {
    item: view.item.value,
    minFree: Math.max(0, Number(view.minFree.value) || 0),
    specialty: view.specialty.value,
    expertise: view.expertise.value,
  };
}

const finder = new Finder(map, view.nearest, filters, (kind, f) => {
  if (!f.geometry) return;
  const [lon, lat] = f.geometry.coordinates as [number, number];
  map.flyTo({ center: [lon, lat], zoom: Math.max(map.getZoom(), 12) });
  showPopup(map, kind, [lon, lat], f.properties, view.item.value);
});

function pickAt(lon: number, lat: number): void {
  setPicking(false);
  view.warningSelect.value = "";
  showWarning(map, null, null);
  showOrigin(map, { lon, lat });
  void finder.find({ lon, lat });
  if (matchMedia("(max-width: 700px)").matches) view.nearest.scrollIntoView({ behavior: "smooth", block: "start" });
}

function setPicking(on: boolean): void {
  picking = on;
  view.pick.setAttribute("aria-pressed", String(on));
  view.pickHint.dataset.i18n = on ? "res.pick.active" : "res.pick.hint";
  view.pickHint.textContent = t(view.pickHint.dataset.i18n);
  map.getCanvas().style.cursor = on ? "crosshair" : "";
  if (on) map.getCanvas().focus();
}

// ---- the item search: the map shows the warehouses holding it, the nearest answers follow
let itemTimer: number | undefined;
function applyItem(): void {
  if (!resources) return;
  const q = view.item.value.trim();
  const ids = q ? warehousesHolding(resources, q) : null;
  filterWarehouses(map, ids);
  view.itemCount.textContent = ids === null ? "" : ids.length ? t("res.item.count", { n: ids.length }) : t("res.item.none");
  view.itemCount.dataset.count = ids === null ? "" : String(ids.length);
  finder.again();
}

function fillItems(): void {
  if (!resources) return;
  view.itemList.replaceChildren(...[...stockItems(resources)].map(([code, name]) => el("option", { value: name, label: code })));
}

function fillWarnings(): void {
  const chosen = view.warningSelect.value;
  const options = warnings.map((w) => {
    const p = w.properties;
    const head = (lang() === "en" ? p.headline_en : p.headline_zh) ?? p.headline_zh ?? "";
    const cand = p.status === "candidate" ? ` (${t("res.warning.candidate")})` : "";
    return el("option", { value: String(w.id) }, `#${w.id} ${t(`colour.${p.colour}`)} ${head}${cand}`);
  });
  view.warningSelect.replaceChildren(el("option", { value: "" }, t("res.warning.none")), ...options);
  view.warningSelect.value = chosen;
}

function chooseWarning(): void {
  const w = warnings.find((x) => String(x.id) === view.warningSelect.value);
  if (!w) return;
  setPicking(false);
  showOrigin(map, null);
  showWarning(map, w.geometry, w.properties.colour in WARNING_COLOURS ? w.properties.colour : null);
  const b = boundsOf([w.geometry]);
  if (b) map.fitBounds(b, { padding: 40, maxZoom: 13 });
  void finder.find({ warningId: w.id });
}

function onMapClick(e: MapMouseEvent): void {
  const layers = KINDS.map((k) => LAYER_OF[k]).filter((id) => map.getLayoutProperty(id, "visibility") !== "none");
  const hit = map.queryRenderedFeatures(e.point, { layers })[0];
  pickAt(e.lngLat.lng, e.lngLat.lat);
  if (hit && resources) {
    const kind = KINDS.find((k) => LAYER_OF[k] === hit.layer.id)!;
    const [lon, lat] = (hit.geometry as Point).coordinates as [number, number];
    // the map's copy has nested values (stock lists) flattened to strings: use the source's own
    const own = kind === "expert" ? null : resources[kind].features.find((f) => f.properties.id === hit.properties.id);
    showPopup(map, kind, [lon, lat], own?.properties ?? hit.properties, view.item.value);
  }
}

function wire(): void {
  map.on("click", onMapClick);
  for (const id of Object.values(LAYER_OF)) {
    map.on("mouseenter", id, () => (map.getCanvas().style.cursor = "pointer"));
    map.on("mouseleave", id, () => (map.getCanvas().style.cursor = picking ? "crosshair" : ""));
  }
  // keyboard: Enter on the focused map picks its centre
  map.getCanvas().addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      const c = map.getCenter();
      pickAt(c.lng, c.lat);
    }
  });
  view.pick.addEventListener("click", () => setPicking(!picking));
  view.warningSelect.addEventListener("change", chooseWarning);
  view.item.addEventListener("input", () => {
    clearTimeout(itemTimer);
    itemTimer = window.setTimeout(applyItem, 250);
  });
  for (const input of [view.minFree, view.specialty, view.expertise]) input.addEventListener("change", () => finder.again());
  view.toggles.addEventListener("change", (e) => {
    const box = e.target as HTMLInputElement;
    setVisible(map, box.dataset.kind as Kind, box.checked);
  });
  view.exportCsv.addEventListener("click", () => township && downloadCsv(township));
}

async function load(): Promise<void> {
  try {
    [resources, township, warnings] = await Promise.all([loadResources(), loadSummary(), warningChoices()]);
  } catch (err) {
    console.warn("resources: load failed", err);
    view.nearest.replaceChildren(el("p", { class: "error", role: "alert" }, t("res.load.failed")));
    setTimeout(() => void load(), RETRY_MS);
    return;
  }
  addResourceLayers(map, resources);
  wire();
  fillItems();
  fillWarnings();
  renderTable(view.table, township, lang());
  view.exportCsv.disabled = false;
  finder.render();
  map.once("idle", () => {
    document.body.dataset.ready = "true";
  });
  map.triggerRepaint();
}

onLang(() => {
  applyI18n();
  fillOptions(view);
  fillWarnings();
  if (township) renderTable(view.table, township, lang());
  finder.render();
  if (resources) applyItem();
});

map.on("load", () => {
  addLabels(map);
  // on a phone the open attribution covers a third of the map: start it folded (ⓘ opens it)
  if (matchMedia("(max-width: 700px)").matches) {
    view.map.querySelector(".maplibregl-ctrl-attrib")?.classList.remove("maplibregl-compact-show");
  }
  if (!getToken()) {
    view.nearest.replaceChildren(el("p", { class: "hint", role: "status" }, t("res.signin.needed")));
    map.once("idle", () => {
      document.body.dataset.ready = "true";
    });
    return;
  }
  void load();
});
