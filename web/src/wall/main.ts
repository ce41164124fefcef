// The command-centre wall map (/wall): counts of warnings in force by level, the map fitted to
// the highest-level warning areas, a ticker of the newest warnings and field reports, all kept
// current from /api/events. Signed in, the ticker also says how far each warning's messages got
// and a red strip shows messages given up on (delivery.ts). Over a city (several counties), a
// table of the counties' totals (counties.ts). No interaction needed; see params.ts for the
// kiosk link.

import "../shared/base.css";
import "./wall.css";
import "./words";
import type { PaddingOptions } from "maplibre-gl";
import { getToken } from "../shared/api";
import { addLabels, createMap, DEFAULT_BOUNDS } from "../shared/basemap";
import { applyI18n, lang, onLang, setLang, t } from "../shared/i18n";
import { LiveStream, type LiveEvent } from "../shared/live";
import { initShell } from "../shared/shell";
import { loadSites } from "../shared/sites_layer";
import { CountyTable, rowsOf } from "./counties";
import { buildCounts, renderCounts } from "./counts";
import {
  activeResponses,
  countySummary,
  pendingCount,
  recentReports,
  recentWarnings,
  resolveRegion,
  warningsInForce,
  type Region,
  type ReportProps,
  type WarningFeature,
} from "./data";
import { CoverageBook, coverageOf, OperatorAlerts, patchTicker } from "./delivery";
import { addWallLayers, countyBoundsFromTiles, fitHighest, reloadRain, setWarnings } from "./layers";
import { readParams, regionPrefix } from "./params";
import { renderResponses } from "./response";
import { serial } from "./serial";
import { WallStatus } from "./status";
import { renderTicker } from "./ticker";
import { buildWall } from "./view";

const TICKER_ITEMS = 12;
const POLL_MS = 60_000; // expiry passes without an event: look again every minute anyway
const SITES_MS = 60_000; // work-safety sites: readings come every few minutes
const RAIN_RELOAD_MS = 60_000;
const FIRST_RETRY_MS = 5_000; // until the first data arrives (the banner says the server is away)

const params = readParams();
if (params.lang && params.lang !== lang()) setLang(params.lang);
// every role may read; a kiosk's token comes from the link's fragment, with no user record
const signedIn = (): boolean => getToken() !== null;
initShell({ page: "wall", header: false, onSession: () => showAudience() });
const view = buildWall(document.getElementById("app")!);
const status = new WallStatus(view, params.staleSeconds * 1000);
buildCounts(view.counts);
function showAudience(): void {
  view.pending.hidden = !signedIn();
  view.publicNote.hidden = signedIn();
}
showAudience();

// the wall's root font follows the screen (wall.css); map lines and labels follow it too
const scale = Math.max(1, parseFloat(getComputedStyle(document.documentElement).fontSize) / 16);
const map = createMap({ container: view.map, interactive: false });

let region: Region = { code: params.region, name: null, bounds: null, counties: new Map() };
const coverage = new CoverageBook();
const alerts = new OperatorAlerts(view.alerts, coverage, () => region.code);
let regionResolved = false;
let fittedTo = "";
let lastRain = 0;

// what changed since the last read: a warning event needs no field reports read again, and the
// other way round (walls are many, events come in bursts); the county totals are read again on
// events only while the table is on screen (a county's wall reads them at the minute's poll)
type Part = "warnings" | "reports" | "summary" | "responses";
const ALL_PARTS: Part[] = ["warnings", "reports", "summary", "responses"];
const unread = new Set<Part>(ALL_PARTS);
const counties = new CountyTable(view.counties, (code) => fitCounty(code));
let shown: { inForce: WarningFeature[]; recent: WarningFeature[]; reports: ReportProps[] } = {
  inForce: [],
  recent: [],
  reports: [],
};

async function refresh(): Promise<void> {
  if (!regionResolved) {
    region = await resolveRegion(params.region);
    regionResolved = true;
    setTitle();
  }
  const parts = new Set(unread);
  unread.clear();
  try {
    await read(parts);
  } catch (err) {
    parts.forEach((p) => unread.add(p)); // ask again next time
    throw err;
  }
}

/** The county totals could not be read: the rest of the wall goes on (the poll asks again). */
function noSummary(err: unknown): null {
  console.warn("county totals:", err);
  return null;
}

/** The responses could not be read: the strip stays as it was (the poll asks again). */
function noResponses(err: unknown): null {
  console.warn("responses:", err);
  return null;
}

async function read(parts: Set<Part>): Promise<void> {
  const code = region.code;
  const [warnings, reports, summary, responses] = await Promise.all([
    parts.has("warnings")
      ? Promise.all([warningsInForce(code), recentWarnings(code, TICKER_ITEMS), pendingCount(code)])
      : null,
    parts.has("reports") ? recentReports(code, TICKER_ITEMS) : null,
    parts.has("summary") ? countySummary().catch(noSummary) : null,
    parts.has("responses") ? activeResponses(code).catch(noResponses) : null,
  ]);
  if (responses) renderResponses(view.response, responses);
  if (summary) {
    const wasShown = counties.shown;
    const { rows, total } = rowsOf(summary, code);
    counties.render(rows, total, summary.hours);
    if (counties.shown !== wasShown) fittedTo = ""; // the map's free room changed: fit again
  }
  if (warnings) {
    const [inForce, recent, pending] = warnings;
    shown = { ...shown, inForce, recent };
    renderCounts(view.counts, inForce);
    view.none.hidden = inForce.length > 0;
    setWarnings(map, inForce);
    if (pending !== null) view.pending.textContent = t("wall.pending", { n: pending });
    view.pending.classList.toggle("zero", !pending);
  }
  if (warnings || fittedTo === "") fitMap();
  if (reports) shown = { ...shown, reports };
  renderTicker(view.ticker, shown.recent, shown.reports, TICKER_ITEMS, (id) => coverage.get(id));
  if (signedIn()) {
    // what the messages of the warnings shown reached so far (once each; events keep it current)
    const ids = shown.recent.filter((w) => w.properties.status === "issued").map((w) => w.properties.id);
    void coverage.load(ids, (c) => patchTicker(view.ticker, c));
  }
  showAudience();
  status.updated();
  if (!document.body.dataset.ready) {
    map.once("idle", () => {
      document.body.dataset.ready = "true";
    });
    map.triggerRepaint();
  }
}

/** The room the map has for what it shows: the table of counties covers its top left corner,
 * so the map keeps clear of it on the left or at the top, whichever costs less of the map. */
function mapPadding(): PaddingOptions {
  const pad = Math.round(2 * parseFloat(getComputedStyle(document.documentElement).fontSize));
  const padding = { top: pad, bottom: pad, left: pad, right: pad };
  if (!counties.shown) return padding;
  const box = view.counties.getBoundingClientRect();
  const room = view.map.getBoundingClientRect();
  if (box.right <= room.left || box.left >= room.right || box.bottom <= room.top || box.top >= room.bottom) {
    return padding; // beside the map (a phone)
  }
  const left = box.right - room.left + pad;
  const top = box.bottom - room.top + pad;
  const byLeft = left + pad < 0.7 * room.width ? (room.width - left) * room.height : 0;
  const byTop = top + pad < 0.7 * room.height ? room.width * (room.height - top) : 0;
  if (byLeft > byTop) padding.left = left;
  else if (byTop > 0) padding.top = top;
  return padding;
}

/** Fit the map to the highest-level warnings when they changed (fitHighest), or again when
 * `fittedTo` was cleared. */
function fitMap(): void {
  const key = fitHighest(map, shown.inForce, region.bounds ?? DEFAULT_BOUNDS, fittedTo, {
    padding: mapPadding(),
    animate: document.body.dataset.ready === "true",
  });
  if (key !== fittedTo) counties.focus(null); // the picture changed: the county clicked yields
  fittedTo = key;
}

/** A row of the table was clicked: show that county (null: back to the warnings). */
function fitCounty(code: string | null): void {
  const bounds = code === null ? null : (region.counties.get(code) ?? countyBoundsFromTiles(map, code));
  if (!bounds) {
    fittedTo = "";
    fitMap();
    return;
  }
  map.fitBounds(bounds, { padding: mapPadding(), maxZoom: 13, duration: 1000 });
}

const runRefresh = serial(refresh, (err) => {
  console.warn("wall refresh failed", err);
  if (!document.body.dataset.ready) setTimeout(runRefresh, FIRST_RETRY_MS);
});

/** Read again what these changes touch (default: everything). */
function scheduleRefresh(...parts: Part[]): void {
  (parts.length ? parts : ALL_PARTS).forEach((p) => unread.add(p));
  runRefresh();
}

/** The county totals, when the table is on screen. */
const totals = (): Part[] => (counties.shown ? ["summary"] : []);

function onEvent(event: LiveEvent): void {
  document.body.dataset.lastEventAt = String(Date.now());
  status.alive();
  if (event.kind === "warning") {
    // a new version published: what its messages reach starts again
    const id = event.payload.warning_id;
    const version = event.payload.version;
    if (typeof id === "number" && typeof version === "number" && version > (coverage.get(id)?.version ?? Infinity)) {
      coverage.forget(id);
    }
    scheduleRefresh("warnings", ...totals());
  } else if (event.kind === "coverage") {
    const c = coverageOf(event.payload);
    if (c && coverage.apply(c)) patchTicker(view.ticker, c);
    if (totals().length) scheduleRefresh(...totals());
  } else if (event.kind === "operator_alert") alerts.add(event.id, event.at, event.payload);
  else if (event.kind === "field_report") scheduleRefresh("reports", ...totals());
  else if (event.kind === "response") scheduleRefresh("responses");
  else if (event.kind === "observation" && Date.now() - lastRain > RAIN_RELOAD_MS) {
    lastRain = Date.now();
    reloadRain(map);
  }
}

function startStream(): void {
  const kinds = ["warning"];
  if (signedIn()) kinds.push("field_report", "coverage", "operator_alert", "response");
  if (params.layers.has("rain") && signedIn()) kinds.push("observation");
  let everConnected = false;
  const stream = new LiveStream({
    kinds,
    onEvent,
    onAlive: () => status.alive(),
    onReset: () => {
      coverage.reset();
      scheduleRefresh();
    },
    onStatus: (connected) => {
      if (connected) {
        status.stream("connected");
        // whatever happened while away (the replay covers events, a full read covers the rest)
        if (everConnected) scheduleRefresh();
        everConnected = true;
      } else status.stream("reconnecting");
    },
  });
  stream.start();
}

function setTitle(): void {
  view.region.textContent = region.name ?? "";
  document.title = `${region.name ? region.name + " · " : ""}${t("wall.title")} · ${t("nav.wall")}`;
}

onLang(() => {
  applyI18n();
  status.refresh();
  alerts.render();
  setTitle();
  scheduleRefresh();
});

map.on("load", () => {
  addLabels(map);
  addWallLayers(map, params.layers, scale, signedIn());
  status.stream("connecting");
  startStream();
  setInterval(() => scheduleRefresh(), POLL_MS);
  scheduleRefresh();
  if (map.getLayer("sites")) {
    const sites = () => void loadSites(map, params.region ? regionPrefix(params.region) : null).catch(() => undefined);
    sites();
    setInterval(sites, SITES_MS);
  }
});
// a tile the server cannot give (it is restarting, say) is not the page's error: the banner and
// the stream state say what is wrong
map.on("error", (e) => console.warn("map:", e.error?.message ?? e));
setTitle();
