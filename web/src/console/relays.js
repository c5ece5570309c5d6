// The relayed official feeds in the header: each source with its health (LIVE, STALE, FAILED,
// STARTING) and how many zones it holds; anything but LIVE stands out, with its reason on
// hover, because what a silent source last said may be out of date.

import { el } from "./dom.js";

const EVERY_MS = 2000;

export class RelayPanel {
  constructor(node) {
    this.node = node;
  }

  start() {
    const poll = async () => {
      try {
        const answer = await fetch("/v1/relays", { cache: "no-store" });
        if (answer.ok) this.show((await answer.json()).sources || []);
      } catch { /* the feed's own state says when the server is away */ }
      setTimeout(poll, EVERY_MS);
    };
    poll();
  }

  show(sources) {
    this.node.dataset.sources = sources.map((s) => `${s.name}:${s.state}`).join(" ");
    this.node.replaceChildren(...sources.filter((s) => s.state !== "stopped").map((s) =>
      el("span", { class: `aw-relay aw-relay-${s.state}`, "data-source": s.name,
                   title: s.why || `${s.name} answers` },
         `${s.name}: ${s.state.toUpperCase()}`, s.zones ? ` (${s.zones} zones)` : "")));
  }
}
