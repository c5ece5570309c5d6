// The live feed: Server-Sent Events with a heartbeat watchdog, reconnection with catch-up from
// the last sequence number seen, and the server's clock (so countdowns survive a wrong phone
// clock). Silence is never taken for safety: no heartbeat for a while means "stale".

const DEFAULT_STALE_MS = 15000; // three missed heartbeats at the server's default 5 s
const MIN_STALE_MS = 3000;
const MAX_BACKOFF_MS = 10000;

export class Feed {
  /** `onDecision(d)` for each new decision (in order, never twice), `onSynced()` after each
   *  (re)connection's first heartbeat (time to refresh levels), `onState(state)` with one of
   *  connecting, live, reconnecting, stale. */
  constructor({ onDecision, onSynced, onState }) {
    Object.assign(this, { onDecision, onSynced, onState });
    this.lastSeq = null;
    this.state = null;
    this.source = null;
    this.lastBeat = 0; // performance.now() of the newest heartbeat
    this.everBeat = false;
    this.intervalMs = null; // the shortest gap seen between heartbeats of one connection
    this.offsetMs = 0; // server clock minus this device's clock
    this.backoffMs = 1000;
    this.openedAt = 0;
    this.retry = null;
  }

  start() {
    this.open();
    setInterval(() => this.watch(), 500);
  }

  /** The server's time now, in ms since the epoch. */
  now() { return Date.now() + this.offsetMs; }

  staleAfterMs() {
    if (this.intervalMs == null) return DEFAULT_STALE_MS;
    return Math.min(DEFAULT_STALE_MS, Math.max(MIN_STALE_MS, 3 * this.intervalMs));
  }

  silentMs() {
    return performance.now() - (this.everBeat ? this.lastBeat : this.firstOpen);
  }

  open() {
    clearTimeout(this.retry);
    if (this.source) this.source.close();
    const url = this.lastSeq == null ? "/v1/stream" : `/v1/stream?since=${this.lastSeq}`;
    const source = new EventSource(url);
    this.source = source;
    this.openedAt = performance.now();
    this.firstOpen ??= this.openedAt;
    let previousBeat = null;
    source.addEventListener("heartbeat", (event) => {
      if (source !== this.source) return;
      const beat = JSON.parse(event.data);
      const now = performance.now();
      if (previousBeat != null) {
        const gap = now - previousBeat;
        this.intervalMs = this.intervalMs == null ? gap : Math.min(this.intervalMs, gap);
      }
      const first = previousBeat == null;
      previousBeat = now;
      this.lastBeat = now;
      this.everBeat = true;
      this.backoffMs = 1000;
      // a beat is a little old when it arrives, so a skew under a second is noise, not a
      // wrong clock
      const serverMs = Date.parse(beat.t);
      const skew = serverMs - Date.now();
      if (!Number.isNaN(skew)) this.offsetMs = Math.abs(skew) < 1000 ? 0 : skew;
      // a fresh start hears only what is new: take the server's newest seq as the point
      // to resume from, and the levels as they are now
      if (this.lastSeq == null) this.lastSeq = beat.seq;
      this.setState("live");
      if (first) this.onSynced();
    });
    source.addEventListener("decision", (event) => {
      if (source !== this.source) return;
      const decision = JSON.parse(event.data);
      if (this.lastSeq != null && decision.seq <= this.lastSeq) return;
      this.lastSeq = decision.seq;
      this.onDecision(decision);
    });
    source.onerror = () => {
      if (source !== this.source) return;
      // reconnect ourselves, always with ?since=, so nothing is missed even before the first
      // decision id (the browser's own retry would resume only from an id it has seen)
      source.close();
      this.setState(this.silentMs() > this.staleAfterMs() ? "stale" : "reconnecting");
      this.retry = setTimeout(() => this.open(), this.backoffMs);
      this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
    };
  }

  watch() {
    const silent = this.silentMs();
    if (silent > this.staleAfterMs()) {
      this.setState("stale");
      // a connection can die without an error (a phone changing network): open a new one
      if (performance.now() - this.openedAt > Math.max(this.staleAfterMs(), this.backoffMs)) {
        this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
        this.open();
      }
    } else if (!this.everBeat) {
      this.setState("connecting");
    }
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.onState(state);
  }
}
