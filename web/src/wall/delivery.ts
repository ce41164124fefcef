// Warning delivery on the wall (a token is needed): how far each warning's loudspeakers (村村响)
// and text messages got, from the `coverage` live events (the newest per warning is the truth),
// seeded once per warning from GET /api/warnings/{id}; and the operator alerts raised when a
// message was given up on (`operator_alert`, alert "delivery_dead"), which the command centre
// must notice.
// Contracts: `#ticker li[data-kind=warning] .coverage[data-reached][data-villages]
// [data-acknowledged]` (the loudspeakers' villages); `#operator-alerts li[data-warning-id]
// [data-village-code]`, newest first, at most five.

import { api } from "../shared/api";
import { t } from "../shared/i18n";
import { formatClock } from "../shared/time";
import { inRegion } from "./params";

export interface ChannelCounts {
  total: number;
  delivered: number;
  acknowledged: number;
  failed: number;
  pending: number;
  villages: number;
  villages_reached: number;
  villages_acknowledged: number;
}

export interface Coverage {
  warning_id: number;
  version: number;
  channels: { broadcast?: ChannelCounts; sms?: ChannelCounts };
}

/** What GET /api/warnings/{id} says of delivery (only the fields read here). */
interface DetailDelivery {
  delivery?: { by_version: Array<{ version: number; channel: string; status: string; n: number }> };
  coverage?: {
    version: number;
    villages: Array<{
      code: string;
      name: string;
      terminals: number;
      delivered: number;
      acknowledged: number;
      phones: number;
    }>;
  } | null;
}

const int = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : Number(v) || 0);

function channelOf(raw: unknown): ChannelCounts | undefined {
  if (!raw || typeof raw !== "object") return undefined;
  const r = raw as Record<string, unknown>;
  return {
    total: int(r.total),
    delivered: int(r.delivered),
    acknowledged: int(r.acknowledged),
    failed: int(r.failed),
    pending: int(r.pending),
    villages: int(r.villages),
    villages_reached: int(r.villages_reached),
    villages_acknowledged: int(r.villages_acknowledged),
  };
}

/** A `coverage` event's payload, checked; null when it is not one. */
export function coverageOf(payload: Record<string, unknown>): Coverage | null {
  const id = payload.warning_id;
  const channels = payload.channels as Record<string, unknown> | undefined;
  if (typeof id !== "number" || !channels || typeof channels !== "object") return null;
  return {
    warning_id: id,
    version: int(payload.version),
    channels: { broadcast: channelOf(channels.broadcast), sms: channelOf(channels.sms) },
  };
}

/** The same counts as the dispatcher's event, from the warning's detail: outbox rows of the
 * newest announced version by status, villages from the coverage summary. */
function fromDetail(id: number, d: DetailDelivery): Coverage | null {
  const cov = d.coverage;
  if (!cov) return null;
  const rows = (d.delivery?.by_version ?? []).filter((r) => r.version === cov.version);
  const counts = (channel: string): ChannelCounts | undefined => {
    const mine = rows.filter((r) => r.channel === channel);
    if (mine.length === 0) return undefined;
    const n = (...statuses: string[]) => mine.filter((r) => statuses.includes(r.status)).reduce((s, r) => s + r.n, 0);
    return {
      total: mine.reduce((s, r) => s + r.n, 0),
      delivered: n("sent", "acked"),
      acknowledged: n("acked"),
      failed: n("failed", "dead"),
      pending: n("pending"),
      villages: 0,
      villages_reached: 0,
      villages_acknowledged: 0,
    };
  };
  const broadcast = counts("broadcast");
  if (broadcast) {
    broadcast.villages = cov.villages.filter((v) => v.terminals > 0).length;
    broadcast.villages_reached = cov.villages.filter((v) => v.delivered > 0).length;
    broadcast.villages_acknowledged = cov.villages.filter((v) => v.acknowledged > 0).length;
  }
  return { warning_id: id, version: cov.version, channels: { broadcast, sms: counts("sms") } };
}

/** The newest coverage per warning, and the village names learnt on the way. */
export class CoverageBook {
  private readonly byId = new Map<number, Coverage>();
  private readonly asked = new Set<number>();
  private readonly names = new Map<string, string>();
  private readonly naming = new Map<string, Promise<string | null>>();

  get(id: number): Coverage | undefined {
    return this.byId.get(id);
  }

  /** An event: kept unless it speaks of an older version than the one known. */
  apply(c: Coverage): boolean {
    const known = this.byId.get(c.warning_id);
    if (known && known.version > c.version) return false;
    this.byId.set(c.warning_id, c);
    return true;
  }

  /** A new version of the warning was published: what is known is of the old one. */
  forget(id: number): void {
    this.byId.delete(id);
    this.asked.delete(id);
  }

  /** Everything may be stale (more was missed than the server replays). */
  reset(): void {
    this.byId.clear();
    this.asked.clear();
  }

  /** Read, once each, the coverage of these warnings; calls `onLoaded` with those learnt.
   * An event that arrived meanwhile wins over the read (it is newer). */
  async load(ids: number[], onLoaded: (c: Coverage) => void): Promise<void> {
    const fresh = ids.filter((id) => !this.asked.has(id));
    fresh.forEach((id) => this.asked.add(id));
    await Promise.all(
      fresh.map(async (id) => {
        try {
          const detail = await api<DetailDelivery>(`/api/warnings/${id}`);
          for (const v of detail.coverage?.villages ?? []) this.names.set(v.code, v.name);
          const c = fromDetail(id, detail);
          if (c && !this.byId.has(id)) {
            this.byId.set(id, c);
            onLoaded(c);
          }
        } catch (err) {
          this.asked.delete(id); // ask again on the next read
          console.warn(`coverage of warning ${id}:`, err);
        }
      }),
    );
  }

  /** A village's name if already known. */
  nameOf(code: string): string | null {
    return this.names.get(code) ?? null;
  }

  /** A village's name, asking the API once when it is not known yet. */
  lookUp(code: string): Promise<string | null> {
    const known = this.names.get(code);
    if (known) return Promise.resolve(known);
    let asking = this.naming.get(code);
    if (!asking) {
      asking = api<{ village: { name: string } }>(`/api/villages/${encodeURIComponent(code)}`)
        .then((p) => {
          this.names.set(code, p.village.name);
          return p.village.name;
        })
        .catch(() => {
          this.naming.delete(code);
          return null;
        });
      this.naming.set(code, asking);
    }
    return asking;
  }
}

/** The ticker line: "村村响 送达 182/222 村 · 确认 150 · 短信 送达 310/380". */
export function coverageLine(c: Coverage): HTMLElement {
  const el = document.createElement("span");
  el.className = "coverage";
  const b = c.channels.broadcast;
  const sms = c.channels.sms;
  el.dataset.version = String(c.version);
  el.dataset.reached = String(b?.villages_reached ?? 0);
  el.dataset.villages = String(b?.villages ?? 0);
  el.dataset.acknowledged = String(b?.villages_acknowledged ?? 0);
  const parts: HTMLElement[] = [];
  if (b && b.total > 0) {
    const part = document.createElement("span");
    part.className = "channel broadcast";
    part.textContent = t("wall.coverage.broadcast", {
      reached: b.villages_reached,
      villages: b.villages,
      acked: b.villages_acknowledged,
    });
    if (b.failed > 0) part.append(" · ", failedSpan(b.failed));
    parts.push(part);
  }
  if (sms && sms.total > 0) {
    el.dataset.smsDelivered = String(sms.delivered);
    el.dataset.smsTotal = String(sms.total);
    const part = document.createElement("span");
    part.className = "channel sms";
    part.textContent = t("wall.coverage.sms", { delivered: sms.delivered, total: sms.total });
    if (sms.failed > 0) part.append(" · ", failedSpan(sms.failed));
    parts.push(part);
  }
  if (parts.length === 0) el.textContent = t("wall.coverage.none");
  else el.append(...parts);
  const all = (b?.total ?? 0) + (sms?.total ?? 0);
  const done = (b?.delivered ?? 0) + (sms?.delivered ?? 0);
  el.classList.toggle("complete", all > 0 && done === all);
  return el;
}

function failedSpan(n: number): HTMLElement {
  const s = document.createElement("span");
  s.className = "failed";
  s.textContent = t("wall.coverage.failed", { n });
  return s;
}

/** Put a warning's coverage line into its ticker item (if the item is on screen). */
export function patchTicker(ticker: HTMLElement, c: Coverage): void {
  ticker.querySelectorAll<HTMLLIElement>(`li[data-kind="warning"][data-warning-id="${c.warning_id}"]`).forEach((li) => {
    const line = coverageLine(c);
    const old = li.querySelector(".coverage");
    if (old) old.replaceWith(line);
    else li.append(line);
  });
}

export interface OperatorAlert {
  eventId: number;
  at: string;
  warningId: number | null;
  channel: string | null;
  target: string | null;
  villageCode: string | null;
  attempts: number | null;
  error: string | null;
}

const MAX_ALERTS = 5;

/** The red strip #operator-alerts: messages given up on, newest first, at most five. */
export class OperatorAlerts {
  private alerts: OperatorAlert[] = [];

  constructor(
    private readonly root: HTMLElement,
    private readonly book: CoverageBook,
    private readonly region: () => string | null,
  ) {}

  add(eventId: number, at: string, payload: Record<string, unknown>): void {
    if (payload.alert !== undefined && payload.alert !== "delivery_dead") return;
    if (this.alerts.some((a) => a.eventId === eventId)) return;
    const villageCode = typeof payload.village_code === "string" ? payload.village_code : null;
    if (villageCode && !inRegion(this.region(), [villageCode])) return;
    const str = (v: unknown) => (typeof v === "string" && v ? v : null);
    this.alerts.unshift({
      eventId,
      at,
      warningId: typeof payload.warning_id === "number" ? payload.warning_id : null,
      channel: str(payload.channel),
      target: str(payload.target),
      villageCode,
      attempts: typeof payload.attempts === "number" ? payload.attempts : null,
      error: str(payload.error),
    });
    this.alerts.sort((a, b) => b.eventId - a.eventId);
    this.alerts = this.alerts.slice(0, MAX_ALERTS);
    this.render();
    if (villageCode && !this.book.nameOf(villageCode)) {
      void this.book.lookUp(villageCode).then((name) => {
        if (name) this.render();
      });
    }
  }

  /** Draw again (a name learnt, the language switched). */
  render(): void {
    this.root.hidden = this.alerts.length === 0;
    this.root.replaceChildren(...this.alerts.map((a) => this.item(a)));
  }

  private item(a: OperatorAlert): HTMLLIElement {
    const li = document.createElement("li");
    li.dataset.eventId = String(a.eventId);
    if (a.warningId !== null) li.dataset.warningId = String(a.warningId);
    if (a.villageCode) li.dataset.villageCode = a.villageCode;
    if (a.channel) li.dataset.channel = a.channel;
    const where = a.villageCode ? (this.book.nameOf(a.villageCode) ?? a.villageCode) : null;
    const channelKey = `wall.alert.channel.${a.channel}`;
    const channel = t(channelKey) === channelKey ? (a.channel ?? "") : t(channelKey);
    const bits = [
      where,
      [channel, a.target].filter(Boolean).join(" "),
      a.attempts !== null ? t("wall.alert.attempts", { n: a.attempts }) : null,
      a.warningId !== null ? t("wall.alert.warning", { id: a.warningId }) : null,
    ].filter((x): x is string => !!x);
    const when = document.createElement("span");
    when.className = "when";
    when.textContent = formatClock(a.at);
    const head = document.createElement("span");
    head.className = "head";
    head.textContent = t("wall.alert.dead");
    const what = document.createElement("span");
    what.className = "what";
    what.textContent = bits.join(" · ");
    li.append(when, head, what);
    if (a.error) li.title = a.error;
    return li;
  }
}
