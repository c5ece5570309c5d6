// The operator console: sign in with a token, then a live map of every zone by level, threats
// in flight, active alerts and a timeline, manual alerts with confirmation, and (for admins)
// the audit log. Everything comes from the service's own API; nothing from the internet.

import "./console.css";
import { call, currentSession, signIn, signOut } from "./console/api.js";
import { AlertedList } from "./console/alerted.js";
import { AlertsPanel } from "./console/alerts.js";
import { showAudit } from "./console/audit.js";
import { clock } from "./console/dom.js";
import { Feed } from "./console/feed.js";
import { HeldCap } from "./console/held.js";
import { ZoneMap } from "./console/map.js";
import { SendForm } from "./console/send.js";
import { RelayPanel } from "./console/relays.js";
import { ZoneCard } from "./console/zonecard.js";
import { ZoneState } from "./console/zones.js";

const THREATS_EVERY_MS = 1000;
const ACTIVE_EVERY_MS = 5000;
const $ = (id) => document.getElementById(id);

async function login() {
  $("console").hidden = true;
  $("login").hidden = false;
  $("login-token").focus();
  return new Promise((resolve) => {
    $("login-form").onsubmit = async (event) => {
      event.preventDefault();
      const token = $("login-token").value.trim();
      $("login-error").textContent = "";
      if (!token) {
        $("login-error").textContent = "Paste your token.";
        return;
      }
      try {
        const session = await signIn(token);
        $("login-token").value = "";
        resolve(session);
      } catch (err) {
        $("login-error").textContent = err.message;
        $("login-token").select();
      }
    };
  });
}

function report(message) {
  const result = $("send-result");
  console.warn(message);
  if (result) result.textContent = message;
}

async function start({ name, role }) {
  $("login").hidden = true;
  $("console").hidden = false;
  $("who").textContent = `${name} (${role})`;
  document.body.dataset.role = role;
  $("logout").onclick = async () => {
    try { await signOut(); } finally { location.reload(); }
  };

  // where the feed starts, then the zones and their levels: the feed replays what came between
  const health = await call("/healthz");
  const outline = call("/v1/outline.geojson"); // may take the server a while the first time
  const [features, summaries, history] = await Promise.all([
    call("/v1/zones.geojson"), call("/v1/zones"), call("/v1/history?limit=300"),
  ]);
  const zones = new ZoneState(features.features);
  const card = new ZoneCard(zones, { onSelectRegion: (region) => {
    map.select(zones.regions.get(region));
    $("send-region").value = region;
    document.querySelector("input[name=target][value=region]").checked = true;
    form.describe();
  } });
  const map = new ZoneMap($("map"), zones, features.features, {
    attribution: features.attribution,
    onZoneClick: (id, add) => {
      map.select([id], { add });
      form.describe();
      card.show(id);
    },
  });
  const alerts = new AlertsPanel(zones, { onError: report, onChanged: () => refreshSoon() });
  const view = setUpViews(map);
  new AlertedList(zones, { onShow: (ids) => {
    view("map");
    map.frame(ids);
  } });
  $("show-alerted").onclick = () => {
    const alerted = [...zones.level].filter(([, level]) => level === "alert").map(([id]) => id);
    view("map");
    if (alerted.length) map.frame(alerted);
    else map.fitAll();
  };
  const form = new SendForm(zones, map, { onError: report, onSent: () => refreshSoon() });
  outline.then((shape) => map.showOutline(shape), (err) => report(`Country outline: ${err.message}`));
  zones.load(summaries);
  alerts.addDecisions(history.decisions.slice().reverse());
  setUpTabs(role);

  const counts = () => {
    const c = zones.counts();
    $("count-alert").textContent = c.alert;
    $("count-pre").textContent = c.pre;
    $("count-drill").textContent = c.drill;
    $("view-alerts-count").textContent = c.alert + c.pre;
    document.body.dataset.alerts = c.alert;
  };
  zones.listeners.push(counts);
  counts();

  let refreshTimer = null;
  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => {
      alerts.refreshActive();
      if (role === "admin" && !$("panel-audit").hidden) showAudit(report);
    }, 150);
  }

  const received = [];
  const feed = new Feed({
    since: health.last_seq,
    onDecision: (decision) => {
      zones.apply(decision);
      received.push(decision);
    },
    onBatch: () => {
      zones.flush();
      alerts.addDecisions(received.splice(0));
    },
    onCap: () => refreshSoon(),
    onHeartbeat: (beat) => { $("server-time").textContent = `server ${clock(beat.t)}`; },
    onState: (state) => {
      const el = $("feed");
      el.className = `aw-feed aw-feed-${state}`;
      el.textContent = { live: "LIVE", connecting: "CONNECTING", stale: "STALE: NO HEARTBEAT, LEVELS MAY BE OUT OF DATE" }[state];
      document.body.dataset.feed = state;
    },
  });
  feed.start();
  new RelayPanel($("relays")).start();
  new HeldCap({ list: $("held"), count: $("held-count"), tab: $("tab-held"),
                zoneName: (id) => zones.name(id), onDecided: () => refreshSoon() }).start();
  alerts.refreshActive();
  setInterval(() => alerts.refreshActive(), ACTIVE_EVERY_MS);

  const pollThreats = async () => {
    try {
      const threats = await call("/v1/threats");
      map.showThreats(threats);
      $("count-threats").textContent = threats.length;
    } catch (err) {
      if (err.status === 401 || err.status === 403) {
        location.reload(); // the session ended (signed out elsewhere, expired, or revoked)
        return;
      }
    }
    setTimeout(pollThreats, THREATS_EVERY_MS);
  };
  pollThreats();
  document.body.dataset.ready = "1";
}

/** On a phone the map and the lists take the whole screen in turn; the header's two buttons
 *  switch between them (wider screens show both, and the buttons are hidden). */
function setUpViews(map) {
  const show = (name) => {
    document.body.dataset.view = name;
    $("view-map").setAttribute("aria-pressed", String(name === "map"));
    $("view-alerts").setAttribute("aria-pressed", String(name === "alerts"));
    if (name === "map") requestAnimationFrame(() => map.resize());
  };
  $("view-map").onclick = () => show("map");
  $("view-alerts").onclick = () => show("alerts");
  show("map");
  return show;
}

function setUpTabs(role) {
  const tabs = [...document.querySelectorAll("[role=tab]")];
  $("tab-audit").hidden = role !== "admin";
  const choose = (tab) => {
    for (const other of tabs) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.tabIndex = selected ? 0 : -1;
      $(other.getAttribute("aria-controls")).hidden = !selected;
    }
    if (tab.id === "tab-audit") showAudit(report);
  };
  tabs.forEach((tab, i) => {
    tab.addEventListener("click", () => choose(tab));
    tab.addEventListener("keydown", (event) => {
      const visible = tabs.filter((t) => !t.hidden);
      const at = visible.indexOf(tab);
      const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
      if (!step) return;
      const next = visible[(at + step + visible.length) % visible.length];
      next.focus();
      choose(next);
    });
    tab.tabIndex = i === 0 ? 0 : -1;
  });
  $("audit-refresh").addEventListener("click", () => showAudit(report));
}

/** A sign-in link (`/console#token=...`, as `airwarn demo` prints): take the token from the
 *  fragment, which never reaches the server or its logs, and wipe it from the address bar. */
function tokenFromLink() {
  const match = /^#token=([A-Za-z0-9_\-]+)$/.exec(location.hash);
  if (!match) return null;
  history.replaceState(null, "", location.pathname + location.search);
  return match[1];
}

async function main() {
  let session = null;
  const linked = tokenFromLink();
  if (linked) {
    try {
      session = await signIn(linked);
    } catch (err) {
      $("login-error").textContent = `The sign-in link did not work: ${err.message}`;
    }
  }
  session = session || (await currentSession()) || (await login());
  await start(session);
}

main().catch((err) => {
  document.body.prepend(Object.assign(document.createElement("p"), {
    className: "aw-error", role: "alert", textContent: `The console could not start: ${err.message}`,
  }));
});
