// The clock (Beijing time), the time of the last update and the state of the live stream; the
// last-update time turns red when the stream has been silent longer than the stale threshold.

import { t } from "../shared/i18n";
import { formatClock, formatTime } from "../shared/time";

const HALF_DAY = 12 * 3600 * 1000;

export type StreamState = "connecting" | "connected" | "reconnecting";

export class WallStatus {
  private lastAlive = Date.now();
  private lastUpdate: number | null = null;
  private state: StreamState = "connecting";

  constructor(
    private readonly els: { clock: HTMLElement; date: HTMLElement; updated: HTMLElement; stream: HTMLElement },
    private readonly staleMs: number,
  ) {
    this.tick();
    setInterval(() => this.tick(), 1000);
  }

  /** bytes (an event or a keep-alive) came from the stream */
  alive(): void {
    this.lastAlive = Date.now();
    this.updated(this.lastAlive);
  }

  /** the data on screen is current as of this moment */
  updated(at: number = Date.now()): void {
    this.lastUpdate = Math.max(this.lastUpdate ?? 0, at);
    this.tick();
  }

  stream(state: StreamState): void {
    this.state = state;
    this.els.stream.dataset.state = state;
    this.els.stream.textContent = t(`wall.stream.${state}`);
  }

  /** redraw in the current language */
  refresh(): void {
    this.stream(this.state);
    this.tick();
  }

  private tick(): void {
    const now = Date.now();
    this.els.clock.textContent = formatClock(now);
    this.els.date.textContent = formatTime(now).slice(0, 10);
    const stale = now - this.lastAlive > this.staleMs;
    const el = this.els.updated;
    if (this.lastUpdate === null) el.textContent = "—";
    else el.textContent = now - this.lastUpdate > HALF_DAY ? formatTime(this.lastUpdate) : formatClock(this.lastUpdate);
    el.classList.toggle("stale", stale);
    el.title = stale ? t("wall.stale") : "";
    document.body.classList.toggle("stream-stale", stale);
  }
}
