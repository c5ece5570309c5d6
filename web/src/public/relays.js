// Relayed official feeds (GET /v1/relays): when one the server relays is not live (stale,
// failed, starting), a banner says so, since its alerts shown here may be out of date and
// silence from it is never a quiet sky. Polled: the list is small and changes rarely.

import { clockTime, t } from "./i18n.js";

const EVERY_MS = 5000;
const NOT_LIVE = new Set(["starting", "stale", "failed"]);

export class RelayWatch {
  constructor(node, { onChange } = {}) {
    this.node = node;
    this.onChange = onChange;
    this.sources = [];
  }

  start() {
    const poll = async () => {
      try {
        const answer = await fetch("/v1/relays", { cache: "no-store" });
        if (answer.ok) this.show((await answer.json()).sources || []);
      } catch { /* the feed's own banner says when the server is away */ }
      setTimeout(poll, EVERY_MS);
    };
    poll();
  }

  show(sources) {
    this.sources = sources;
    this.render();
    if (this.onChange) this.onChange(sources);
  }

  /** The sources not live now: [{name, state, since, why}]. */
  notLive() {
    return this.sources.filter((s) => NOT_LIVE.has(s.state));
  }

  render() {
    const down = this.notLive();
    this.node.hidden = down.length === 0;
    this.node.dataset.sources = down.map((s) => `${s.name}:${s.state}`).join(" ");
    this.node.replaceChildren(...down.map((s) => {
      const line = document.createElement("p");
      line.textContent = t(`relays.${s.state}`, { source: s.name,
                                                   time: clockTime(Date.parse(s.since)) });
      return line;
    }));
  }
}
