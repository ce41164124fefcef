// The forecaster console (/): the risk map with its layers and rain slider, the review queue of
// candidate warnings with their evidence, impact and actions, and village profiles.
// Contracts (tests, benchmark): window.riskmapMap, body[data-ready="true"] once the first data
// is in, the layer ids of layers.ts and rain.ts, #review-queue .candidate[data-warning-id],
// #action-dialog, #village-profile with #village-rain-chart, an issued warning's delivery
// section .coverage#coverage-<id> (coverage.ts), the emergency-response panel #responses
// (responses.ts; signed in only), the work-safety site layer "sites" and #site-dialog (sites.ts).

import "../shared/base.css";
import "./console.css";
import "./words";
import type { GeoJSONSource, Map as MapLibreMap, MapSourceDataEvent, VectorTileSource } from "maplibre-gl";
import { api, getToken, getUser, may, setSession, whoAmI, type Me, type User } from "../shared/api";
import { addLabels, createMap, DEFAULT_BOUNDS } from "../shared/basemap";
import { applyI18n, onLang, t } from "../shared/i18n";
import { LiveStream } from "../shared/live";
import { initShell } from "../shared/shell";
import { initActions, setArea } from "./actions";
import type { CardContext } from "./candidate";
import { CoverageWatch } from "./coverage";
import { Panels } from "./layout";
import { addLayers, buildLayerPanel, loadPoints, refreshWarnings, selectVillage } from "./layers";
import { wireClicks } from "./popup";
import { VillageProfile } from "./profile";
import { ReviewQueue } from "./queue";
import { setupRain } from "./rain";
import { initDutyReport } from "./duty_report";
import { ResponsePanel } from "./responses";
import { loadSites, SiteDialog, watchSites } from "./sites";
import type { WarningFeature } from "./types";

function toast(text: string): void {
  const box = document.getElementById("console-toast")!;
  box.textContent = text;
  box.classList.add("shown");
  window.setTimeout(() => box.classList.remove("shown"), 4000);
}

/** A token handed over without its user (a kiosk link): ask the API who it is. */
async function knownUser(): Promise<User | null> {
  const token = getToken();
  if (!token) return null;
  const stored = getUser();
  if (stored) return stored;
  try {
    const me = await whoAmI();
    setSession(token, me);
    return me;
  } catch {
    return null;
  }
}

function boundsOf(geometry: GeoJSON.Geometry): [number, number, number, number] {
  const b: [number, number, number, number] = [180, 90, -180, -90];
  const walk = (c: unknown): void => {
    if (Array.isArray(c) && typeof c[0] === "number") {
      b[0] = Math.min(b[0], c[0] as number);
      b[1] = Math.min(b[1], c[1] as number);
      b[2] = Math.max(b[2], c[0] as number);
      b[3] = Math.max(b[3], c[1] as number);
    } else if (Array.isArray(c)) c.forEach(walk);
  };
  if ("coordinates" in geometry) walk(geometry.coordinates);
  return b;
}

/** Frame the county: the villages' extent (a public visitor: the warnings' or the demo
 * county's), clear of the floating layer panel and rain bar on a laptop. */
function fitToData(map: MapLibreMap): void {
  const wide = window.matchMedia("(min-width: 801px)").matches;
  const padding = wide ? { top: 20, bottom: 100, left: 270, right: 20 } : { top: 50, bottom: 10, left: 10, right: 10 };
  const fit = (bounds: [number, number, number, number]) => map.fitBounds(bounds, { padding, animate: false });
  const villages = (map.getSource("villages") as VectorTileSource | undefined)?.bounds;
  if (villages) {
    fit(villages as [number, number, number, number]);
    return;
  }
  fit(DEFAULT_BOUNDS);
  // a public visitor: where the warnings are, once their TileJSON has arrived
  const onData = (ev: MapSourceDataEvent) => {
    if (ev.sourceId !== "warnings" || ev.sourceDataType !== "metadata") return;
    map.off("sourcedata", onData);
    const b = (map.getSource("warnings") as VectorTileSource).bounds;
    if (b && b[2] - b[0] < 5 && b[3] - b[1] < 5) fit(b as [number, number, number, number]);
  };
  map.on("sourcedata", onData);
}

async function main(): Promise<void> {
  initShell({ page: "console", onSession: () => location.reload() });
  const user = await knownUser();
  const signedIn = user !== null;
  // the server's word on what the user may do and where (the buttons follow it)
  const me: Me | null = signedIn ? await whoAmI().catch(() => null) : null;
  setArea(me?.area ?? null);
  const allowed = (permission: string) => (me ? me.permissions.includes(permission) : may(permission));

  const map = createMap({ container: "map", private: signedIn });
  map.on("error", (ev) => console.warn("map:", (ev as { error?: Error }).error?.message ?? ev));

  const profileEl = document.getElementById("village-profile")!;
  const panels: Panels = new Panels(
    () => profile.close(),
    () => map.resize(),
  );
  const profile = new VillageProfile(
    profileEl,
    () => {
      panels.show("profile");
      selectVillage(map, profile.openCode);
    },
    () => {
      panels.show(panels.tab === "profile" ? "queue" : panels.tab);
      selectVillage(map, null);
    },
  );
  const ctx: CardContext = {
    details: new Map(),
    open: new Set(),
    publicView: !signedIn,
    onVillage: (code) => void profile.open(code),
    onShowArea: (feature: WarningFeature) => {
      (map.getSource("candidate-area") as GeoJSONSource | undefined)?.setData(feature);
      map.fitBounds(boundsOf(feature.geometry), { padding: 40, maxZoom: 12 });
    },
  };
  if (!signedIn) panels.publicMode();
  const queue = new ReviewQueue(document.getElementById("queue-pane")!, ctx, !signedIn);
  const responsesEl = document.getElementById("responses")!;
  const responses = signedIn ? new ResponsePanel(responsesEl, allowed, toast) : null;
  responsesEl.hidden = responses === null;
  initDutyReport(document.getElementById("duty-report")!, signedIn);
  const siteDialog = new SiteDialog();
  applyI18n();

  const refresh = () => {
    void queue.refresh();
    refreshWarnings(map);
  };
  let timer: number | undefined;
  const soon = () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 400);
  };
  initActions((action) => {
    toast(t(`action.done.${action}`));
    refresh();
  });
  onLang(() => {
    queue.render();
    responses?.render();
    profile.rerender();
    siteDialog.render();
  });
  let responseTimer: number | undefined;
  const responsesSoon = () => {
    window.clearTimeout(responseTimer);
    responseTimer = window.setTimeout(() => void responses?.refresh(), 300);
  };
  // a task falls overdue by the clock: look again every minute while a response is in progress
  window.setInterval(() => {
    if (responses?.active) void responses.refresh();
  }, 60_000);

  const queueLoaded = queue.refresh();
  const responsesLoaded = responses?.refresh() ?? Promise.resolve();
  await new Promise<void>((resolve) => map.on("load", () => resolve()));
  addLayers(map, signedIn);
  const bar = document.getElementById("rain-bar")!;
  if (signedIn) {
    try {
      await setupRain(map, bar, "village-line");
      bar.hidden = false;
    } catch (err) {
      console.warn("rain:", err);
      bar.hidden = true;
    }
  } else bar.hidden = true;
  addLabels(map);
  fitToData(map);
  // the attribution starts folded on a phone (it would cover a third of the map)
  if (!window.matchMedia("(min-width: 801px)").matches) {
    document.querySelector(".maplibregl-ctrl-attrib")?.classList.remove("maplibregl-compact-show");
  }
  buildLayerPanel(document.getElementById("layers")!, map, signedIn, (value, on) => {
    if (value === "rain") bar.classList.toggle("off", !on);
  });
  wireClicks(
    map,
    (code) => void profile.open(code),
    (id) => void siteDialog.open(id),
  );
  let lost = false;
  const coverage = new CoverageWatch(ctx);
  new LiveStream({
    // coverage: a delivery batch went out or was acknowledged (not public)
    kinds: signedIn ? ["warning", "coverage", "response"] : ["warning"],
    onEvent: (event) => {
      if (event.kind === "response") responsesSoon();
      else if (event.kind !== "coverage") soon();
      else if (typeof event.payload.warning_id === "number") coverage.changed(event.payload.warning_id);
    },
    onReset: () => {
      soon();
      responsesSoon();
    },
    onStatus: (connected) => {
      // a dropped stream may mean the server is gone: ask, so the banner says so; once back,
      // reload what may have changed meanwhile
      if (!connected) {
        lost = true;
        void api("/healthz", { auth: false }).catch(() => undefined);
      } else if (lost) {
        lost = false;
        soon();
        responsesSoon();
      }
    },
  }).start();

  const sitesLoaded = signedIn ? loadSites(map).then(() => watchSites(map)) : Promise.resolve();
  await Promise.allSettled([queueLoaded, responsesLoaded, sitesLoaded, signedIn ? loadPoints(map) : Promise.resolve()]);
  map.once("idle", () => {
    document.body.dataset.ready = "true";
  });
  map.triggerRepaint();
}

void main();
