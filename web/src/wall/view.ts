// The wall's screen: the map on the left, with the table of counties over its top left corner
// when the area holds several (counties.ts); on the right the title, the clock, the emergency
// response in progress (response.ts; hidden while there is none), the level counts, the operator alerts (hidden while there are none), the ticker and, at the foot, the
// stream state and the time of the last update.

import { applyI18n, lang, setLang } from "../shared/i18n";

export interface WallView {
  map: HTMLElement;
  counties: HTMLElement;
  region: HTMLElement;
  clock: HTMLElement;
  date: HTMLElement;
  response: HTMLElement;
  counts: HTMLElement;
  none: HTMLElement;
  pending: HTMLElement;
  publicNote: HTMLElement;
  alerts: HTMLElement;
  ticker: HTMLElement;
  stream: HTMLElement;
  updated: HTMLElement;
}

const TEMPLATE = `
  <div class="wall-map" id="wall-map" role="img" data-i18n-aria="wall.title"></div>
  <section id="county-summary" class="county-box" aria-labelledby="county-title" hidden>
    <h2 id="county-title"><span data-i18n="wall.county.title"></span> <small data-i18n="wall.county.note"></small></h2>
  </section>
  <aside class="wall-side">
    <div class="wall-head">
      <div class="titles">
        <div class="region" id="region"></div>
        <h1 data-i18n="wall.title"></h1>
      </div>
      <div class="clock-box">
        <div class="clock-label"><span data-i18n="wall.clock"></span> <span id="date"></span></div>
        <div class="clock" id="clock" role="timer" aria-live="off"></div>
      </div>
    </div>
    <section id="response-box" class="response-box" role="status" hidden></section>
    <section class="counts-box" aria-labelledby="counts-title">
      <h2 id="counts-title"><span data-i18n="wall.counts"></span> <small data-i18n="wall.counts.note"></small></h2>
      <div id="counts" class="counts"></div>
      <p class="none" id="no-warnings" data-i18n="wall.no.warnings" hidden></p>
      <p class="pending" id="pending" hidden></p>
      <p class="public-note" id="public-note" data-i18n="wall.public" hidden></p>
    </section>
    <ul id="operator-alerts" class="operator-alerts" role="alert" data-i18n-aria="wall.alerts" hidden></ul>
    <section class="ticker-box" aria-labelledby="ticker-title">
      <h2 id="ticker-title" data-i18n="wall.ticker"></h2>
      <ul id="ticker" class="ticker" aria-live="polite"></ul>
    </section>
    <footer class="wall-foot">
      <span id="stream-state" class="stream" role="status"></span>
      <span class="updated-box"><span data-i18n="wall.updated"></span> <time id="last-update">—</time></span>
      <button type="button" id="lang-switch" class="lang" data-i18n="lang.switch" data-i18n-aria="lang.switch.aria"></button>
    </footer>
  </aside>`;

export function buildWall(root: HTMLElement): WallView {
  root.classList.add("wall");
  root.innerHTML = TEMPLATE;
  const byId = (id: string) => root.querySelector<HTMLElement>(`#${id}`)!;
  byId("lang-switch").addEventListener("click", () => setLang(lang() === "zh" ? "en" : "zh"));
  applyI18n(root);
  return {
    map: byId("wall-map"),
    counties: byId("county-summary"),
    region: byId("region"),
    clock: byId("clock"),
    date: byId("date"),
    response: byId("response-box"),
    counts: byId("counts"),
    none: byId("no-warnings"),
    pending: byId("pending"),
    publicNote: byId("public-note"),
    alerts: byId("operator-alerts"),
    ticker: byId("ticker"),
    stream: byId("stream-state"),
    updated: byId("last-update"),
  };
}
