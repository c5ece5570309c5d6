// The zones at alert or pre-alert, by region, each one tap from the map: choosing one frames it
// (and, on a phone, switches to the map). Kept current from the zone state, at most a few
// times a second however fast decisions come.

import { el } from "./dom.js";

const SHOWN_MAX = 400; // beyond this the list says how many more (the map shows them all)
const LEVEL_TEXT = { alert: "ALERT", pre_alert: "PRE-ALERT" };

export class AlertedList {
  constructor(zones, { onShow }) {
    this.zones = zones;
    this.onShow = onShow;
    this.list = document.getElementById("alerted");
    this.count = document.getElementById("alerted-count");
    this.timer = null;
    zones.listeners.push(() => this.renderSoon());
    this.render();
  }

  /** Zone ids at a level, alerts first, then by region and name. */
  warned() {
    const ids = [...this.zones.level].filter(([, level]) => level === "alert" || level === "pre_alert")
      .map(([id]) => id);
    const rank = (id) => (this.zones.level.get(id) === "alert" ? 0 : 1);
    return ids.sort((a, b) => rank(a) - rank(b)
      || this.zones.info.get(a).region.localeCompare(this.zones.info.get(b).region)
      || this.zones.name(a).localeCompare(this.zones.name(b)));
  }

  renderSoon() {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.render();
    }, 200);
  }

  render() {
    const ids = this.warned();
    this.count.textContent = `(${ids.length})`;
    if (!ids.length) {
      this.list.replaceChildren(el("li", { class: "aw-muted", text: "No zone is warned." }));
      return;
    }
    const items = ids.slice(0, SHOWN_MAX).map((id) => {
      const level = this.zones.level.get(id);
      const info = this.zones.info.get(id);
      return el("li", { "data-zone": id, "data-level": level },
        el("button", { type: "button", class: "aw-alerted-zone",
                       onclick: () => this.onShow([id]) },
          el("span", { class: `aw-badge aw-b-${level}`, text: LEVEL_TEXT[level] }), " ",
          el("strong", { text: info.name }), " ",
          el("span", { class: "aw-muted" }, `${info.shelter_s} s · `,
             el("bdi", { text: info.region }))));
    });
    if (ids.length > SHOWN_MAX) {
      items.push(el("li", { class: "aw-muted", text: `and ${ids.length - SHOWN_MAX} more` }));
    }
    this.list.replaceChildren(...items);
  }
}
