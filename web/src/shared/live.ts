// Live events from /api/events (Server-Sent Events) read with fetch, not EventSource: fetch can
// send the bearer header and Last-Event-ID itself, and we decide when to reconnect (EventSource
// gives up for good on an HTTP error, e.g. a proxy's 502 while the server restarts).

import { authHeaders } from "./api";

export interface LiveEvent {
  id: number;
  kind: string;
  at: string;
  payload: Record<string, unknown>;
}

export interface LiveOptions {
  kinds?: string[];
  onEvent: (event: LiveEvent) => void;
  /** more was missed than the server can replay: reload the full state */
  onReset?: () => void;
  /** connected (true) or lost (false) */
  onStatus?: (connected: boolean) => void;
  /** any bytes (events or keep-alive comments) arrived: the stream is alive */
  onAlive?: () => void;
}

export class LiveStream {
  private lastId: number | null = null;
  private controller: AbortController | null = null;
  private stopped = false;
  private retryMs = 3000;

  constructor(private readonly options: LiveOptions) {}

  start(): void {
    this.stopped = false;
    void this.loop();
  }

  stop(): void {
    this.stopped = true;
    this.controller?.abort();
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      try {
        await this.connect();
        failures = 0;
      } catch (err) {
        if (this.stopped) return;
        failures += 1;
        void err;
      }
      this.options.onStatus?.(false);
      if (this.stopped) return;
      // quick first retry, then back off to at most 15 s, with jitter so a room of walls
      // does not reconnect in step
      const wait = Math.min(15000, failures <= 1 ? 1000 : this.retryMs * failures) * (0.75 + Math.random() / 2);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  private async connect(): Promise<void> {
    this.controller = new AbortController();
    const url = new URL("/api/events", location.origin);
    if (this.options.kinds) url.searchParams.set("kinds", this.options.kinds.join(","));
    const headers: Record<string, string> = { Accept: "text/event-stream", ...authHeaders() };
    if (this.lastId !== null) headers["Last-Event-ID"] = String(this.lastId);
    const response = await fetch(url, { headers, signal: this.controller.signal, cache: "no-store" });
    if (!response.ok || !response.body) throw new Error(`events: HTTP ${response.status}`);
    this.options.onStatus?.(true);
    this.options.onAlive?.();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      this.options.onAlive?.();
      buffer += value.replace(/\r\n?/g, "\n");
      let cut: number;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        this.dispatch(buffer.slice(0, cut));
        buffer = buffer.slice(cut + 2);
      }
    }
  }

  private dispatch(block: string): void {
    let event = "message";
    let id: string | null = null;
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
      else if (field === "id") id = value;
      else if (field === "retry" && /^\d+$/.test(value)) this.retryMs = Number(value);
    }
    if (id !== null && /^\d+$/.test(id)) this.lastId = Number(id);
    if (event === "reset") {
      this.options.onReset?.();
      return;
    }
    if (data.length === 0) return;
    try {
      const parsed = JSON.parse(data.join("\n")) as LiveEvent;
      this.options.onEvent(parsed);
    } catch {
      /* a malformed event is skipped, the stream goes on */
    }
  }
}
