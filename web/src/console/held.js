// CAP from other agencies that the server held for an operator (unsigned, signed by a key it
// does not trust, or wider than the blast-radius guard allows): each with who sent it, what it
// says and why it was held; approve it (its zones are alerted, or for a Cancel cleared) or
// reject it, with a reason for the audit log. The tab counts what waits, and stands out.

import { call } from "./api.js";
import { el, timeElement } from "./dom.js";

const EVERY_MS = 5000;
const ZONES_SHOWN = 8;

export class HeldCap {
  constructor({ list, count, tab, zoneName, onDecided }) {
    this.list = list;
    this.count = count;
    this.tab = tab;
    this.zoneName = zoneName;
    this.onDecided = onDecided;
    this.shown = null;
  }

  start() {
    const poll = async () => {
      await this.refresh();
      setTimeout(poll, EVERY_MS);
    };
    poll();
  }

  async refresh() {
    let held;
    try {
      held = await call("/v1/inbound-cap?state=held&limit=100");
    } catch {
      return; // the feed's own state says when the server is away
    }
    this.count.textContent = held.length ? String(held.length) : "";
    this.tab.classList.toggle("aw-tab-waiting", held.length > 0);
    this.tab.dataset.held = String(held.length);
    // redraw only when the list changed, so that a reason being typed is not wiped
    const key = held.map((m) => m.id).join(",");
    if (key === this.shown) return;
    this.shown = key;
    this.list.replaceChildren(...held.map((m) => this.item(m)));
    if (!held.length) this.list.append(el("li", { class: "aw-muted", text: "Nothing waits for an operator." }));
  }

  item(message) {
    const names = message.zones.slice(0, ZONES_SHOWN).map((z) => this.zoneName(z));
    const more = message.zones.length - names.length;
    const reason = el("textarea", { rows: 2, minlength: 3, maxlength: 500, required: true,
                                    placeholder: "Why (kept in the audit log)",
                                    "aria-label": `Reason for ${message.identifier}` });
    const confirm = el("input", { type: "checkbox" });
    const error = el("p", { class: "aw-error", role: "alert" });
    const decide = async (verdict, button) => {
      error.textContent = "";
      const why = reason.value.trim();
      if (why.length < 3) {
        error.textContent = "Say why (at least 3 characters): it is kept in the audit log.";
        reason.focus();
        return;
      }
      const body = { reason: why };
      if (verdict === "approve" && confirm.checked) body.confirm_blast_radius = true;
      button.disabled = true;
      try {
        await call(`/v1/inbound-cap/${message.id}/${verdict}`, { method: "POST", body });
        this.shown = null;
        await this.refresh();
        this.onDecided();
      } catch (err) {
        error.textContent = err.message;
        button.disabled = false;
      }
    };
    const approve = el("button", { type: "button", class: "aw-primary", "data-verdict": "approve" },
                       message.msg_type === "Cancel" ? "Approve: clear its zones" : "Approve: alert its zones");
    const reject = el("button", { type: "button", "data-verdict": "reject" }, "Reject");
    approve.addEventListener("click", () => decide("approve", approve));
    reject.addEventListener("click", () => decide("reject", reject));
    return el("li", { class: "aw-held", "data-id": message.id, "data-identifier": message.identifier },
      el("p", {}, el("strong", { text: message.sender }), " ",
         el("span", { class: "aw-muted", text: `${message.status} ${message.msg_type}` }), " ",
         timeElement(message.received)),
      el("p", { class: "aw-muted", text: `${message.identifier} · posted by ${message.posted_by || "?"}` }),
      el("p", { class: "aw-held-why", text: `Held: ${message.why || message.trust || "unverified"}` }),
      el("p", { text: `${message.zones.length} zone(s): ${names.join(", ")}${more > 0 ? ` and ${more} more` : ""}` }),
      reason,
      el("label", {}, confirm, " It covers more zones than the blast-radius guard allows, and that is right"),
      error,
      el("p", { class: "aw-held-actions" }, approve, " ", reject));
  }
}
