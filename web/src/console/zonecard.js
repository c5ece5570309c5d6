// Details of one zone, over the map: name (and its other names), region, time to shelter, its
// level and any drill now, and its recent history from `/v1/history`.

import { call } from "./api.js";
import { el, timeElement } from "./dom.js";

const LEVEL_TEXT = { alert: "ALERT", pre_alert: "PRE-ALERT", clear: "CLEAR" };

export class ZoneCard {
  constructor(zones, { onSelectRegion }) {
    this.zones = zones;
    this.onSelectRegion = onSelectRegion;
    this.card = document.getElementById("zone-card");
    this.current = null;
    zones.listeners.push((changed) => {
      if (this.current && changed.includes(this.current)) this.show(this.current);
    });
  }

  async show(id) {
    this.current = id;
    const info = this.zones.info.get(id);
    const p = info.properties;
    const level = this.zones.level.get(id);
    const drill = this.zones.drill.get(id);
    const others = [p.area_he, p.area_ar, p.area_ru].filter((n) => n && n !== info.name);
    const history = el("ol", { "aria-label": "Recent history" }, el("li", { class: "aw-muted", text: "loading…" }));
    this.card.replaceChildren(...[
      el("button", { type: "button", class: "aw-close", "aria-label": "Close zone details",
                     onclick: () => this.hide() }, "×"),
      el("h3", { text: info.name }),
      others.length ? el("div", { class: "aw-muted", text: others.join(" · ") }) : null,
      el("dl", {},
        el("dt", { text: "Region" }), el("dd", {}, info.region || "–", " ",
          info.region ? el("button", { type: "button", onclick: () => this.onSelectRegion(info.region) },
                           "select region") : null),
        el("dt", { text: "Shelter time" }), el("dd", { text: `${info.shelter_s} s` }),
        el("dt", { text: "Level" }), el("dd", {},
          el("span", { class: `aw-badge aw-b-${level}`, text: LEVEL_TEXT[level] || level }),
          drill ? " " : null,
          drill ? el("span", { class: "aw-badge aw-b-drill", text: `${drill.toUpperCase()} DRILL` }) : null),
        ...this.relayedRows(id),
        el("dt", { text: "Id" }), el("dd", { text: id })),
      el("strong", { text: "Recent history" }), history].filter(Boolean));
    this.card.hidden = false;
    try {
      const answer = await call(`/v1/history?zone=${encodeURIComponent(id)}&limit=15`);
      if (this.current !== id) return;
      history.replaceChildren(...answer.decisions.map((d) => el("li", {},
        timeElement(d.t), " ",
        d.status ? el("span", { class: "aw-badge aw-b-drill", text: d.status.toUpperCase() }) : null,
        d.status ? " " : null,
        el("span", { class: `aw-badge aw-b-${d.status ? "drill" : d.level}`, text: LEVEL_TEXT[d.level] || d.level }),
        ` ${d.kind || ""} ${(d.threats || []).join(" ")}`)));
      if (!answer.decisions.length) history.replaceChildren(el("li", { class: "aw-muted", text: "No decisions yet." }));
    } catch (err) {
      history.replaceChildren(el("li", { class: "aw-error", text: err.message }));
    }
  }

  /** One row per relayed feed holding the zone, with the operator's override: clear it here
   *  (until the feed itself clears it), or follow the feed again. */
  relayedRows(id) {
    const lanes = this.zones.relayed.get(id);
    if (!lanes || !lanes.size) return [];
    return [el("dt", { text: "Relayed" }), el("dd", {}, ...[...lanes].map(([source, level]) =>
      el("div", { class: "aw-relayed", "data-source": source },
         el("span", { class: `aw-badge aw-b-${level}`, text: `${LEVEL_TEXT[level] || level}` }),
         ` from ${source} `,
         el("button", { type: "button", onclick: () => this.override(source, id, "clear") },
            "clear here")))),
    ];
  }

  async override(source, id, action) {
    const reason = prompt(`Clear ${source}'s alert for ${this.zones.name(id)} here? It stays ` +
                          `cleared until ${source} clears it itself. Reason (kept in the audit log):`);
    if (!reason || reason.trim().length < 3) return;
    try {
      await call(`/v1/relays/${encodeURIComponent(source)}/override`,
                 { method: "POST", body: { action, zones: [id], reason: reason.trim() } });
    } catch (err) {
      alert(`Not done: ${err.message}`);
    }
  }

  hide() {
    this.current = null;
    this.card.hidden = true;
  }
}
