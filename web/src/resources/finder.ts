// Asks for the nearest of each kind to the chosen origin with the current filters, draws the
// answers on the map and lists them; a newer question cancels the one still running.

import { LngLatBounds, type Map as MapLibreMap } from "maplibre-gl";
import { KINDS, nearest, type Filters, type NearestReply, type Origin } from "./data";
import { showNearest } from "./layers";
import { renderEmpty, renderFailed, renderLoading, renderNearest, type Focus } from "./nearest";

export class Finder {
  private origin: Origin | null = null;
  private replies: NearestReply[] = [];
  private controller: AbortController | null = null;

  constructor(
    private readonly map: MapLibreMap,
    private readonly panel: HTMLElement,
    private readonly filters: () => Filters,
    private readonly focus: Focus,
  ) {
    renderEmpty(panel);
  }

  async find(origin: Origin): Promise<void> {
    this.origin = origin;
    this.controller?.abort();
    const controller = (this.controller = new AbortController());
    renderLoading(this.panel);
    const filters = this.filters();
    try {
      const replies = await Promise.all(KINDS.map((kind) => nearest(kind, origin, filters, 5, controller.signal)));
      if (controller.signal.aborted) return;
      this.replies = replies;
      this.render();
      const from = "lon" in origin ? origin : null;
      showNearest(this.map, replies, from);
      if (from) this.reveal(from, replies);
    } catch (err) {
      if ((err as Error).name === "AbortError") return;
      this.panel.removeAttribute("aria-busy");
      renderFailed(this.panel);
      console.warn("nearest failed", err);
    }
  }

  /** Bring the point and the nearest of each kind on screen when they are not (never zooming in). */
  private reveal(from: { lon: number; lat: number }, replies: NearestReply[]): void {
    const points: Array<[number, number]> = [[from.lon, from.lat]];
    for (const r of replies) {
      const g = r.kind === "expert" ? null : r.features[0]?.geometry;
      if (g) points.push(g.coordinates as [number, number]);
    }
    const view = this.map.getBounds();
    if (points.every((p) => view.contains(p))) return;
    const bounds = new LngLatBounds(points[0], points[0]);
    points.forEach((p) => bounds.extend(p));
    this.map.fitBounds(bounds, { padding: 60, maxZoom: this.map.getZoom() });
  }

  /** the filters changed: ask again for the same origin */
  again(): void {
    if (this.origin) void this.find(this.origin);
  }

  /** redraw (the language changed) */
  render(): void {
    if (!this.origin) renderEmpty(this.panel);
    else renderNearest(this.panel, this.origin, this.replies, this.filters().item, this.focus);
  }
}
