// Manual alerts and clears. No status is preselected: the operator picks ACTUAL, EXERCISE or
// TEST every time, so neither a real alert nor a drill is ever sent by default. An ACTUAL alert
// goes in two steps: the server proposes it and answers with exactly the zones it reaches; the
// dialog lists them and is confirmed only by typing their number; when the blast-radius guard
// holds it, a second explicit check is required too. Drills go at once, labelled as drills.

import { call } from "./api.js";
import { el } from "./dom.js";

export class SendForm {
  constructor(zones, map, { onSent, onError }) {
    this.zones = zones;
    this.map = map;
    this.onSent = onSent;
    this.onError = onError;
    this.form = document.getElementById("send-form");
    this.submit = document.getElementById("send-submit");
    this.error = document.getElementById("send-error");
    this.result = document.getElementById("send-result");
    this.region = document.getElementById("send-region");
    const regions = [...zones.regions.keys()].sort((a, b) => a.localeCompare(b));
    this.region.replaceChildren(el("option", { value: "", text: "– pick a region –" }),
      ...regions.map((r) => el("option", { value: r, text: `${r} (${zones.regions.get(r).length} zones)` })));
    this.region.addEventListener("change", () => {
      this.form.elements.target.value = "region";
      if (this.region.value) this.map.select(zones.regions.get(this.region.value));
      this.describe();
    });
    document.getElementById("clear-selection").addEventListener("click", () => {
      this.map.select([]);
      this.describe();
    });
    this.form.addEventListener("change", () => this.describe());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send().catch((err) => { this.error.textContent = err.message; });
    });
    this.dialog = new ConfirmDialog(zones, map);
    this.describe();
  }

  /** The zones the form would act on, as the operator sees them. */
  target() {
    const kind = this.form.elements.target.value;
    if (kind === "region") {
      const region = this.region.value;
      return { kind, region, ids: region ? this.zones.regions.get(region) : [] };
    }
    return { kind, ids: [...this.map.selected] };
  }

  describe() {
    const selected = [...this.map.selected];
    const names = selected.map((id) => this.zones.name(id));
    document.getElementById("selection").textContent = selected.length
      ? `${selected.length} zone${selected.length === 1 ? "" : "s"}: ${names.slice(0, 12).join(", ")}` +
        (names.length > 12 ? ` and ${names.length - 12} more` : "")
      : "None: click a zone, shift-click to add more.";
    const status = this.form.elements.status.value;
    const action = this.form.elements.action.value;
    const n = this.target().ids.length;
    this.submit.classList.toggle("aw-go-actual", status === "actual");
    this.submit.classList.toggle("aw-go-drill", status === "exercise" || status === "test");
    if (!status) this.submit.textContent = "Choose a status first";
    else if (status === "actual") {
      const word = { alert: "alert", pre_alert: "pre-alert", clear: "clear" }[action];
      this.submit.textContent = `Review ACTUAL ${word} for ${n} zone${n === 1 ? "" : "s"}…`;
    } else {
      this.submit.textContent = `Send ${status.toUpperCase()} (drill) ${action} to ${n} zone${n === 1 ? "" : "s"}`;
    }
  }

  async send() {
    this.error.textContent = "";
    this.result.textContent = "";
    const f = this.form.elements;
    const status = f.status.value;
    const action = f.action.value;
    const reason = f.reason.value.trim();
    const target = this.target();
    if (!target.ids.length) {
      this.error.textContent = target.kind === "region" ? "Pick a region." : "Select zones on the map first.";
      return;
    }
    if (!status) {
      this.error.textContent = "Choose ACTUAL, EXERCISE or TEST: there is no default.";
      f.status[0].focus();
      return;
    }
    if (reason.length < 3) {
      this.error.textContent = "Give a reason (at least 3 characters): it goes to the audit log.";
      f.reason.focus();
      return;
    }
    const body = { action, status, reason, expect_zones: target.ids.length };
    if (f.category.value) body.category = f.category.value;
    if (target.kind === "region") body.region = target.region;
    else body.zones = target.ids;

    if (status === "actual" && action === "clear") {
      // the server clears at once; ask here first, listing exactly what the form would clear
      const reach = { zones: target.ids, zone_count: target.ids.length, regions: [], area_km2: null };
      const ok = await this.dialog.ask({ status, action, reach, typed: false });
      if (!ok) return;
    }
    let answer = await call("/v1/actions", { method: "POST", body });
    if (answer.state === "pending") {
      const typed = status === "actual" && action !== "clear";
      const confirmation = await this.dialog.ask({ status, action, reach: answer.reach, typed,
                                                   held: answer.reach.held, why: answer.reach.why });
      if (!confirmation) {
        this.result.textContent = "Not sent.";
        return;
      }
      answer = await call(answer.confirm, { method: "POST",
                                            body: { confirm_blast_radius: Boolean(answer.reach.held) } });
    }
    const label = status === "actual" ? "ACTUAL" : `${status.toUpperCase()} (drill)`;
    this.result.textContent = `${label} ${action} sent to ${answer.reach.zone_count} zone(s).`;
    for (const input of f.status) input.checked = false; // choose again next time
    f.reason.value = "";
    this.describe();
    this.onSent(answer);
  }
}

/** The confirmation dialog: exactly which zones, how many, where; a deliberate act to send. */
class ConfirmDialog {
  constructor(zones, map) {
    this.zones = zones;
    this.map = map;
    this.dialog = document.getElementById("confirm");
    this.send = document.getElementById("confirm-send");
    this.count = document.getElementById("confirm-count");
    this.blast = document.getElementById("confirm-blast");
    // Enter in the count field must not close (or send) the dialog: only the buttons act
    document.getElementById("confirm-form").addEventListener("submit", (e) => e.preventDefault());
    const update = () => this.update();
    this.count.addEventListener("input", update);
    this.blast.addEventListener("change", update);
    document.getElementById("confirm-cancel").addEventListener("click", () => this.dialog.close("cancel"));
    this.send.addEventListener("click", () => { if (!this.send.disabled) this.dialog.close("send"); });
    this.dialog.addEventListener("close", () => {
      const resolve = this.resolve;
      this.resolve = null;
      resolve?.(this.dialog.returnValue === "send");
    });
  }

  ask({ status, action, reach, typed, held = false, why = [] }) {
    const actual = status === "actual";
    const n = reach.zone_count ?? reach.zones.length;
    this.expected = String(n);
    this.typed = typed;
    this.held = held;
    this.dialog.className = `aw-dialog ${actual ? "aw-actual" : "aw-drill"}`;
    this.dialog.dataset.status = status;
    document.getElementById("confirm-title").textContent = actual
      ? ({ alert: `ACTUAL ALERT: the public in ${n} zone${n === 1 ? "" : "s"} will be told to take shelter`,
           pre_alert: `ACTUAL PRE-ALERT: the public in ${n} zone${n === 1 ? "" : "s"} will be told alerts are expected in the coming minutes`,
           clear: `ACTUAL CLEAR: ${n} zone${n === 1 ? "" : "s"} will be told the danger is over` }[action])
      : `${status.toUpperCase()} (DRILL) ${action}: ${n} zone${n === 1 ? "" : "s"}, marked as a drill everywhere`;
    const byRegion = new Map();
    for (const id of reach.zones) {
      const region = this.zones.info.get(id)?.region || "(no region)";
      if (!byRegion.has(region)) byRegion.set(region, []);
      byRegion.get(region).push(id);
    }
    const regions = reach.regions && reach.regions.length ? reach.regions : [...byRegion.keys()];
    document.getElementById("confirm-body").replaceChildren(
      el("p", {}, el("strong", { id: "confirm-zone-count", text: `${n} zone${n === 1 ? "" : "s"}` }),
         " (alert areas the public sees)",
         reach.area_km2 !== null && reach.area_km2 !== undefined ? `, ${formatKm2(reach.area_km2)} km²` : "",
         `, in ${regions.length} region${regions.length === 1 ? "" : "s"}: ${regions.join(", ")}.`),
      el("ul", { class: "aw-reach", id: "confirm-zones", "aria-label": "Zones this reaches" },
        ...reach.zones.map((id) => {
          const info = this.zones.info.get(id);
          return el("li", { "data-zone": id }, info?.name ?? id, " ",
                    el("span", { class: "aw-region", text: info?.region || "" }));
        })));
    document.getElementById("confirm-guard").hidden = !held;
    document.getElementById("confirm-why").textContent = (why || []).join("; ");
    document.getElementById("confirm-typed").hidden = !typed;
    document.getElementById("confirm-n").textContent = this.expected;
    document.getElementById("confirm-error").textContent = "";
    this.count.value = "";
    this.blast.checked = false;
    this.send.textContent = actual
      ? `Send ACTUAL ${action} to ${n} zone${n === 1 ? "" : "s"}`
      : `Send ${status.toUpperCase()} (drill) to ${n} zone${n === 1 ? "" : "s"}`;
    this.map.select(reach.zones);
    this.update();
    this.dialog.returnValue = "";
    this.dialog.showModal();
    return new Promise((resolve) => { this.resolve = resolve; });
  }

  update() {
    const typedOk = !this.typed || this.count.value.trim() === this.expected;
    const heldOk = !this.held || this.blast.checked;
    this.send.disabled = !(typedOk && heldOk);
  }
}

function formatKm2(value) {
  return value >= 100 ? Math.round(value).toLocaleString() : value.toFixed(1);
}
