// The audit log, for admins: who did what, when and why, newest first.

import { call } from "./api.js";
import { el } from "./dom.js";

const SHOWN = 300;

export async function showAudit(onError) {
  const body = document.getElementById("audit");
  let rows = [];
  try {
    // the API pages oldest first from `after_id`: read forward to the end, keep the newest
    let after = 0;
    for (;;) {
      const page = await call(`/v1/audit?after_id=${after}&limit=5000`);
      rows = rows.concat(page).slice(-SHOWN);
      if (page.length < 5000) break;
      after = page[page.length - 1].id;
    }
  } catch (err) {
    onError(`Audit log: ${err.message}`);
    return;
  }
  rows.reverse();
  body.replaceChildren(...rows.map((row) => {
    const t = new Date(row.t_ms);
    const detail = row.detail || {};
    const brief = ["status", "zones", "held", "identifier"]
      .filter((k) => detail[k] !== undefined && detail[k] !== null)
      .map((k) => `${k}: ${detail[k]}`).join(", ");
    return el("tr", { "data-action": row.action },
      el("td", {}, el("time", { datetime: t.toISOString(), title: t.toISOString(),
                                text: t.toLocaleTimeString([], { hour12: false }) })),
      el("td", { text: `${row.who} (${row.role})` }),
      el("td", { text: row.action }),
      el("td", { text: row.reason || "" }),
      el("td", { text: brief, title: JSON.stringify(detail) }));
  }));
  if (!rows.length) body.append(el("tr", {}, el("td", { colspan: 5, class: "aw-muted", text: "Nothing yet." })));
}
