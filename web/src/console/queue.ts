// The review queue #review-queue (candidates and issued warnings with an update awaiting
// review, most severe first) and, below it, the warnings in force. Refreshed after an action
// and on live `warning` events; open cards and loaded details survive a refresh.

import { api, may } from "../shared/api";
import { applyI18n, t } from "../shared/i18n";
import { errorText } from "./actions";
import { card, type CardContext } from "./candidate";
import { h } from "./dom";
import type { WarningFeature } from "./types";

const RANK: Record<string, number> = { red: 4, orange: 3, yellow: 2, blue: 1 };

interface Page {
  features: WarningFeature[];
}

function severityThenRecent(a: WarningFeature, b: WarningFeature): number {
  const pa = a.properties;
  const pb = b.properties;
  return RANK[pb.colour] - RANK[pa.colour] || Date.parse(pb.last_fired_at ?? "0") - Date.parse(pa.last_fired_at ?? "0") || pb.id - pa.id;
}

export class ReviewQueue {
  private features: WarningFeature[] = [];
  private loaded = false;
  private error: string | null = null;
  private running: Promise<void> | null = null;
  private again = false;

  /** `publicView`: no token, so issued warnings only and no review queue */
  constructor(
    private readonly pane: HTMLElement,
    private readonly ctx: CardContext,
    private readonly publicView = false,
  ) {}

  /** Reload from the API (calls made while one runs are folded into one more). */
  refresh(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.load().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        void this.refresh();
      }
    });
    return this.running;
  }

  private async load(): Promise<void> {
    try {
      const path = this.publicView ? "/api/warnings?status=issued&limit=500" : "/api/warnings?status=candidate,issued&limit=500";
      const page = await api<Page>(path);
      this.features = page.features;
      this.error = null;
    } catch (err) {
      this.error = errorText(err);
    }
    this.loaded = true;
    this.render();
  }

  render(): void {
    const queue = this.pane.querySelector<HTMLOListElement>("#review-queue");
    const inForce = this.pane.querySelector<HTMLOListElement>("#in-force")!;
    const status = this.pane.querySelector<HTMLElement>("#queue-status")!;
    const count = this.pane.querySelector<HTMLElement>("#queue-count");
    const waiting = this.features.filter((f) => f.properties.status === "candidate" || f.properties.pending_review).sort(severityThenRecent);
    const issued = this.features.filter((f) => f.properties.status === "issued" && !f.properties.pending_review).sort(severityThenRecent);
    queue?.replaceChildren(...waiting.map((f) => card(f, this.ctx, "candidate")));
    inForce.replaceChildren(...issued.map((f) => card(f, this.ctx, "in-force")));
    if (count) count.textContent = this.loaded && queue && !this.error ? t("queue.count", { n: waiting.length }) : "";
    const notes: HTMLElement[] = [];
    if (queue && !may("review") && !may("cancel")) notes.push(h("p", { class: "note" }, t("queue.readonly")));
    if (this.error) notes.push(h("p", { class: "error", role: "alert" }, t("queue.failed", { detail: this.error })));
    else if (!this.loaded) notes.push(h("p", { class: "muted" }, t("queue.loading")));
    else if (queue && waiting.length === 0) notes.push(h("p", { class: "muted" }, t("queue.empty")));
    status.replaceChildren(...notes);
    const none = this.pane.querySelector<HTMLElement>("#in-force-empty")!;
    none.hidden = !this.loaded || issued.length > 0 || this.error !== null;
    applyI18n(this.pane);
  }
}
