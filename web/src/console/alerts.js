// The right panel's first tab: the warnings in force (`GET /v1/alerts/active`), each with a
// one-click "cancel as sent in error" that asks for a reason, and a timeline of recent decisions
// (from `/v1/history`, then live), consecutive decisions of one step grouped on one line.

import { call } from "./api.js";
import { el, timeElement } from "./dom.js";

const TIMELINE_MAX = 200;
const LEVEL_TEXT = { alert: "ALERT", pre_alert: "PRE-ALERT", clear: "CLEAR" };

export class AlertsPanel {
  constructor(zones, { onError, onChanged }) {
    this.zones = zones;
    this.onError = onError;
    this.onChanged = onChanged;
    this.list = document.getElementById("active");
    this.count = document.getElementById("active-count");
    this.timeline = document.getElementById("timeline");
    this.groups = []; // newest first: {t, level, status, kind, zones: [], first, last}
    this.setUpCancelDialog();
  }

  async refreshActive() {
    let active;
    try {
      active = await call("/v1/alerts/active");
    } catch (err) {
      this.onError(`Active alerts: ${err.message}`);
      return;
    }
    active.sort((a, b) => (b.sent || "").localeCompare(a.sent || ""));
    this.count.textContent = `(${active.length})`;
    this.list.replaceChildren(...active.map((alert) => this.activeItem(alert)));
    if (!active.length) this.list.append(el("li", { class: "aw-muted", text: "No warning in force." }));
  }

  activeItem(alert) {
    const drill = alert.status !== "actual";
    const names = alert.zones.map((id) => this.zones.name(id));
    const levels = Object.values(alert.levels || {});
    const level = levels.includes("alert") ? "alert" : levels[0] || "alert";
    const shown = names.slice(0, 8).join(", ") + (names.length > 8 ? ` and ${names.length - 8} more` : "");
    return el("li", { class: drill ? "aw-is-drill" : "", "data-identifier": alert.identifier,
                      "data-status": alert.status },
      el("div", {},
        el("span", { class: `aw-badge aw-b-${alert.status}`,
                     text: drill ? `${alert.status.toUpperCase()} · DRILL` : "ACTUAL" }), " ",
        // a relayed feed's alert: not this server's decision, said so first
        alert.source ? el("span", { class: "aw-badge aw-b-relayed", "data-source": alert.source,
                                    text: `RELAYED · ${alert.source}` }) : null,
        alert.source ? " " : null,
        // a drill's level is blue too: red on the console always means real
        el("span", { class: `aw-badge aw-b-${drill ? "drill" : level}`, text: LEVEL_TEXT[level] || level }), " ",
        el("strong", { text: `${alert.zones.length} zone${alert.zones.length === 1 ? "" : "s"}` }),
        " ", timeElement(alert.sent)),
      el("div", { class: "aw-zones", text: shown }),
      el("button", { type: "button", class: "aw-cancel-alert",
                     "aria-label": `Cancel alert ${alert.identifier} as sent in error`,
                     onclick: () => this.askCancel(alert) },
         alert.source ? "Clear here (override)…" : "Cancel as sent in error…"));
  }

  setUpCancelDialog() {
    this.dialog = document.getElementById("cancel-dialog");
    const reason = document.getElementById("cancel-reason");
    const error = document.getElementById("cancel-error");
    document.getElementById("cancel-form").addEventListener("submit", (e) => e.preventDefault());
    document.getElementById("cancel-back").addEventListener("click", () => this.dialog.close());
    document.getElementById("cancel-send").addEventListener("click", async () => {
      if (reason.value.trim().length < 3) {
        error.textContent = "Say why (at least 3 characters): it goes to the audit log.";
        reason.focus();
        return;
      }
      try {
        await call(`/v1/alerts/${encodeURIComponent(this.cancelling)}/cancel`,
                   { method: "POST", body: { reason: reason.value.trim() } });
        this.dialog.close();
        this.onChanged();
      } catch (err) {
        error.textContent = err.message;
      }
    });
  }

  askCancel(alert) {
    this.cancelling = alert.identifier;
    const what = alert.status === "actual" ? "ACTUAL alert" : `${alert.status.toUpperCase()} (drill)`;
    document.getElementById("cancel-what").textContent = alert.source
      ? `${what} relayed from ${alert.source} (${alert.identifier}), ${alert.zones.length} ` +
        `zone(s). Its zones are cleared here until ${alert.source} clears them itself; every ` +
        "channel gets a CAP Cancel that references it."
      : `${what} ${alert.identifier}, ${alert.zones.length} zone(s). Its zones are cleared and every ` +
        "channel gets a CAP Cancel that references it.";
    document.getElementById("cancel-reason").value = "";
    document.getElementById("cancel-error").textContent = "";
    this.dialog.showModal();
  }

  /** Decisions, oldest first, into the timeline (newest shown on top). */
  addDecisions(decisions) {
    for (const d of decisions) {
      const status = d.status || "actual";
      const source = d.source ? d.source.name : null;
      const head = this.groups[0];
      if (head && head.t === d.t && head.level === d.level && head.status === status &&
          head.kind === d.kind && head.source === source && d.seq > head.last) {
        head.zones.push(d.zone);
        head.last = d.seq;
      } else {
        this.groups.unshift({ t: d.t, level: d.level, status, kind: d.kind, zones: [d.zone],
                              first: d.seq, last: d.seq, threats: d.threats || [], source });
      }
    }
    this.groups.length = Math.min(this.groups.length, TIMELINE_MAX);
    this.renderTimeline();
  }

  renderTimeline() {
    this.timeline.replaceChildren(...this.groups.map((g) => {
      const drill = g.status !== "actual";
      const names = g.zones.map((id) => this.zones.name(id));
      const text = names.slice(0, 6).join(", ") + (names.length > 6 ? ` +${names.length - 6}` : "");
      const cause = g.kind === "manual" ? "manual" : [g.kind, ...g.threats.slice(0, 3)].filter(Boolean).join(" ");
      return el("li", { "data-status": g.status, "data-level": g.level },
        timeElement(g.t), " ",
        drill ? el("span", { class: "aw-badge aw-b-drill", text: `${g.status.toUpperCase()} DRILL` }) : null,
        drill ? " " : null,
        g.source ? el("span", { class: "aw-badge aw-b-relayed", text: `RELAYED · ${g.source}` }) : null,
        g.source ? " " : null,
        el("span", { class: `aw-badge aw-b-${drill ? "drill" : g.level}`, text: LEVEL_TEXT[g.level] || g.level }), " ",
        el("strong", { text: g.zones.length > 1 ? `${g.zones.length} zones: ` : "" }), text,
        cause ? el("span", { class: "aw-muted", text: ` (${cause})` }) : null);
    }));
  }
}
