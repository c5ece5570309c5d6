// The live feed (`GET /v1/stream`, Server-Sent Events): decisions, CAP messages, heartbeats.
// The feed is "live" only while heartbeats arrive; after STALE_MS of silence it says STALE,
// because a quiet feed must never look like a quiet sky. The browser reconnects by itself and
// sends Last-Event-ID, so the server replays what was missed.

export const STALE_MS = 15000;

export class Feed {
  constructor({ since, onDecision, onCap, onBatch, onState, onHeartbeat }) {
    this.since = since;
    this.handlers = { onDecision, onCap, onBatch, onState, onHeartbeat };
    this.lastHeard = 0;
    this.state = "connecting";
    this.batchQueued = false;
  }

  start() {
    const url = this.since === null || this.since === undefined
      ? "/v1/stream" : `/v1/stream?since=${this.since}`;
    this.source = new EventSource(url);
    this.source.addEventListener("error", () => {
      if (this.source.readyState !== EventSource.OPEN) this.setState("connecting");
    });
    this.source.addEventListener("heartbeat", (event) => {
      this.heard();
      this.handlers.onHeartbeat?.(JSON.parse(event.data));
    });
    this.source.addEventListener("decision", (event) => {
      this.heard();
      this.handlers.onDecision(JSON.parse(event.data));
      this.batch();
    });
    this.source.addEventListener("cap", (event) => {
      this.heard();
      this.handlers.onCap?.(JSON.parse(event.data));
    });
    this.lastHeard = Date.now();
    this.timer = setInterval(() => this.check(), 1000);
  }

  stop() {
    this.source?.close();
    clearInterval(this.timer);
  }

  /** Decisions of one step arrive together: show them once, at the end of the current task. */
  batch() {
    if (this.batchQueued) return;
    this.batchQueued = true;
    queueMicrotask(() => setTimeout(() => {
      this.batchQueued = false;
      this.handlers.onBatch?.();
    }, 0));
  }

  heard() {
    this.lastHeard = Date.now();
    this.setState("live");
  }

  check() {
    if (this.state !== "stale" && Date.now() - this.lastHeard > STALE_MS) this.setState("stale");
  }

  setState(state) {
    if (state === this.state) return;
    // once stale, only a message from the server (not a reconnect attempt) makes it live again
    if (state === "connecting" && this.state === "stale") return;
    this.state = state;
    this.handlers.onState?.(state);
  }
}
