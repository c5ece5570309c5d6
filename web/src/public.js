// The public page: the warning level of each place a person watches, live, in five languages.
// A frightened person must know in one second whether to run: one big banner per place, a
// countdown during an alert, and a plain "no connection" whenever the feed falls silent.
import "./public.css";
import { Feed } from "./public/feed.js";
import {
  clockTime, kindWords, LANGS, lang, num, pickLanguage, secondsWord, seconds, setLanguage,
  STRINGS, t, zoneName,
} from "./public/i18n.js";
import { ZoneMap } from "./public/map.js";
import { LABELS, loadPlaces, newPlace, savePlaces } from "./public/places.js";
import { RelayWatch } from "./public/relays.js";
import { ZoneSearch } from "./public/search.js";
import { playAlertTone, unlockOnFirstTouch } from "./public/sound.js";
import { severity, ZoneStatus } from "./public/status.js";

const $ = (id) => document.getElementById(id);
const status = new ZoneStatus();
const zoneInfo = new Map(); // id -> {id, name, region, shelter_s, ...layer properties}
let places = loadPlaces();
let search = null;
let map = null;
let feed = null;
let candidate = null; // {zone, lat, lon} waiting for "watch this place"
let pending = null; // decisions heard while a refresh is in flight, re-applied after it
let synced = false;
const announced = new Map(); // place key -> the state last announced for it
let rendered = ""; // what the cards showed, to redraw only when something changed

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value == null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) if (child != null) node.append(child);
  return node;
}

async function getJSON(url) {
  const answer = await fetch(url, { cache: "no-store" });
  if (!answer.ok) {
    const error = new Error(`${url}: ${answer.status}`);
    error.status = answer.status;
    throw error;
  }
  return answer.json();
}

// ---- what a place shows ----------------------------------------------------------------

function nameOf(id) {
  return zoneName(zoneInfo.get(id) || { id });
}

function placeLabel(place) {
  return place.fromLink ? t("place.link") : t(`place.${place.label}`);
}

/** The state a place shows now, with the feed's health folded in: silence is never "clear". */
function placeView(place) {
  const now = feed ? feed.now() : Date.now();
  const view = status.view(place.zone, now);
  const shelter = zoneInfo.get(place.zone)?.shelter_s ?? 0;
  const live = feed && (feed.state === "live" || feed.state === "reconnecting");
  const calm = view.state === "clear" || view.state === "ended";
  if (!live && calm) return { ...view, state: "unknown", shelter };
  let remaining = null;
  if (view.state === "alert" || ((view.state === "exercise" || view.state === "test") &&
                                 view.drillLevel === "alert")) {
    const start = view.t ?? now;
    remaining = Math.min(shelter, Math.max(0, Math.ceil((start + shelter * 1000 - now) / 1000)));
  }
  return { ...view, shelter, remaining, outdated: !live };
}

const WORD = { clear: "state.clear", pre_alert: "state.pre_alert", alert: "state.alert",
               ended: "state.ended", exercise: "state.exercise", test: "state.test",
               unknown: "state.unknown" };
const DETAIL = { clear: "state.clear.detail", pre_alert: "state.pre_alert.detail",
                 alert: "state.alert.detail", ended: "state.ended.detail",
                 exercise: "state.drill.detail", test: "state.drill.detail",
                 unknown: "state.unknown.detail" };

function countdown(remaining, labelKey) {
  return [
    el("p", { class: "countdown", role: "timer", "aria-live": "off" },
       el("span", { class: "count-n", "data-remaining": remaining, text: num(remaining) }),
       el("span", { class: "count-unit", text: secondsWord(remaining) })),
    el("p", { class: "count-label", text: t(labelKey) }),
  ];
}

function banner(view, { sample = false } = {}) {
  const drill = view.state === "exercise" || view.state === "test";
  const word = t(WORD[view.state]);
  const parts = [el("p", { class: "state-word",
                           text: sample ? `${t("selftest.stamp")}: ${word}` : word })];
  let detail = t(DETAIL[view.state]);
  if (drill && view.drillLevel === "pre_alert") detail = t("state.drill.pre");
  parts.push(el("p", { class: "instruction", text: detail }));
  if (view.remaining != null) {
    if (view.remaining > 0) {
      parts.push(...countdown(view.remaining, "state.alert.countdown"));
    } else {
      parts.push(el("p", { class: "stay", text: t("state.alert.stay") }));
    }
  }
  if (["alert", "pre_alert", "exercise", "test"].includes(view.state)) {
    parts.push(el("p", { class: "threat", text: t("threat", { kind: kindWords(view.kind) }) }));
  }
  if (view.source && !sample) {
    parts.push(el("p", { class: "relayed", "data-source": view.source,
                         text: t("relayed", { source: view.source }) }));
  }
  if (view.t != null && view.state !== "clear" && !sample) {
    parts.push(el("p", { class: "since", text: t("state.since", { time: clockTime(view.t) }) }));
  }
  if (view.outdated && view.state !== "unknown") {
    parts.push(el("p", { class: "outdated", text: t("state.outdated") }));
  }
  return el("div", { class: "banner" }, ...parts);
}

function card(place, view) {
  const label = placeLabel(place);
  const shelter = view.shelter === 0 ? t("place.shelter_now")
    : t("place.shelter", { n: seconds(view.shelter) });
  return el("article", { class: `card s-${view.state}`, "data-zone": place.zone,
                         "data-state": view.state, "data-place": place.key,
                         "aria-label": `${label}: ${nameOf(place.zone)}` },
    el("div", { class: "card-head" },
       el("h3", {}, el("span", { class: "place-label", text: label }),
          el("span", { class: "zone-name", text: nameOf(place.zone) })),
       el("button", { type: "button", class: "remove", text: "×",
                      "aria-label": t("place.remove", { place: label }),
                      onclick: () => removePlace(place) })),
    banner(view),
    el("p", { class: "meta", text: shelter }),
    place.fromLink ? el("button", { type: "button", class: "action save", text: t("place.save"),
                                    onclick: () => keepLinkPlace(place) }) : null);
}

function orderedPlaces() {
  return places.map((place, i) => ({ place, view: placeView(place), i }))
    .sort((a, b) => severity(b.view.state) - severity(a.view.state) || a.i - b.i);
}

function render(force = false) {
  const rows = orderedPlaces();
  const signature = JSON.stringify([lang(), rows.map(({ place, view }) => [
    place.key, view.state, view.t, view.kind, view.remaining === 0, view.outdated,
    view.drillLevel, view.source])]);
  if (force || signature !== rendered) {
    rendered = signature;
    $("cards").replaceChildren(...rows.map(({ place, view }) => card(place, view)));
    $("empty").hidden = places.length > 0;
    document.body.dataset.worst = rows.length ? rows[0].view.state : "none";
  } else {
    for (const { place, view } of rows) {
      if (view.remaining == null) continue;
      const node = document.querySelector(`[data-place="${place.key}"] .count-n`);
      if (node && node.dataset.remaining !== String(view.remaining)) {
        node.dataset.remaining = view.remaining;
        node.textContent = num(view.remaining);
        node.parentElement.querySelector(".count-unit").textContent = secondsWord(view.remaining);
      }
    }
  }
  announceChanges(rows);
}

// ---- announcements and sound ---------------------------------------------------------------

function announce(text) {
  const region = $("announcer");
  region.textContent = "";
  // a short pause makes screen readers read the same words again
  setTimeout(() => { region.textContent = text; }, 60);
}

function announceChanges(rows) {
  if (!synced) return;
  const lines = [];
  let alarm = false;
  for (const { place, view } of rows) {
    const before = announced.get(place.key);
    announced.set(place.key, view.state);
    if (before === view.state) continue;
    const vars = { place: placeLabel(place), zone: nameOf(place.zone),
                   kind: kindWords(view.kind), n: view.remaining ?? 0 };
    if (view.state === "alert") { lines.push(t("announce.alert", vars)); alarm = true; }
    else if (view.state === "pre_alert") lines.push(t("announce.pre_alert", vars));
    else if (view.state === "ended") lines.push(t("announce.ended", vars));
    else if (view.state === "exercise" || view.state === "test") {
      lines.push(t("announce.drill", vars));
    }
  }
  if (lines.length) announce(lines.join(" "));
  if (alarm) playAlertTone(4);
}

// ---- feed ----------------------------------------------------------------------------------

function onDecision(decision) {
  status.apply(decision);
  if (pending) pending.push(decision);
  if (map) map.refresh(decision.zone);
  render();
}

function onFeedState(state) {
  const pill = $("feed");
  pill.className = `feed ${state}`;
  pill.dataset.state = state;
  $("feed-text").textContent = t(`feed.${state}`);
  $("stale").hidden = state !== "stale";
  document.body.classList.toggle("is-stale", state === "stale");
  if (state === "stale") announce(t("announce.stale"));
  else if (state === "live" && synced) announce(t("announce.live"));
  tick();
  render();
}

/** After each (re)connection: levels of every zone, and for watched zones when their level
 *  began and its kind; decisions heard meanwhile are applied again on top. */
async function refresh() {
  pending = [];
  try {
    const rows = await getJSON("/v1/zones");
    for (const row of rows) zoneInfo.set(row.id, { ...zoneInfo.get(row.id), ...row });
    const ids = [...new Set(places.map((p) => p.zone))];
    const histories = await Promise.all(ids.map((id) =>
      getJSON(`/v1/history?zone=${encodeURIComponent(id)}&limit=20`).catch(() => null)));
    status.setLevels(rows);
    ids.forEach((id, i) => histories[i] && status.setHistory(id, histories[i].decisions));
    for (const decision of pending) status.apply(decision);
  } catch (error) {
    console.warn("airwarn: refresh failed", error);
  } finally {
    pending = null;
  }
  synced = true;
  if (map) map.refreshAll();
  render(true);
}

async function loadHistory(zone) {
  try {
    const history = await getJSON(`/v1/history?zone=${encodeURIComponent(zone)}&limit=20`);
    status.setHistory(zone, history.decisions);
  } catch { /* the live feed still updates it */ }
}

// ---- places --------------------------------------------------------------------------------

function watchedChanged() {
  savePlaces(places);
  if (map) map.setWatched(places.map((p) => p.zone));
  render(true);
}

function removePlace(place) {
  places = places.filter((p) => p.key !== place.key);
  announced.delete(place.key);
  watchedChanged();
}

function keepLinkPlace(place) {
  place.fromLink = false;
  watchedChanged();
}

function message(text) {
  $("add-message").textContent = text || "";
}

function propose(zone, lat, lon) {
  message("");
  if (places.some((p) => p.zone === zone && !p.fromLink)) {
    message(t("add.already", { zone: nameOf(zone) }));
    return;
  }
  candidate = { zone, lat, lon };
  $("candidate-text").textContent = t("add.found", { zone: nameOf(zone) });
  $("candidate").hidden = false;
  $("candidate-add").focus();
}

async function addPlace() {
  if (!candidate) return;
  const { zone, lat, lon } = candidate;
  places.push(newPlace(zone, $("label-pick").value, lat, lon));
  candidate = null;
  $("candidate").hidden = true;
  $("search").value = "";
  $("results").replaceChildren();
  await loadHistory(zone);
  watchedChanged();
  pickDefaultLabel();
}

async function zoneAt(lat, lon) {
  try {
    return (await getJSON(`/v1/zones/at?lat=${lat}&lon=${lon}`)).id;
  } catch (error) {
    if (error.status === 404) return null;
    throw error;
  }
}

async function pickPoint(lat, lon) {
  try {
    const zone = await zoneAt(lat, lon);
    if (zone == null) message(t("add.outside"));
    else propose(zone, lat, lon);
  } catch {
    message(t("feed.reconnecting"));
  }
}

function locate() {
  if (!navigator.geolocation) {
    message(t("add.geo_unsupported"));
    return;
  }
  message(t("add.locating"));
  navigator.geolocation.getCurrentPosition(
    (position) => pickPoint(position.coords.latitude, position.coords.longitude),
    (error) => message(t("add.geo_error", { reason: error.message || error.code })),
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
}

function showResults() {
  const query = $("search").value;
  const list = $("results");
  if (!search || !query.trim()) {
    list.replaceChildren();
    return;
  }
  const ids = search.find(query);
  if (!ids.length) {
    list.replaceChildren(el("li", { class: "none", text: t("add.none", { q: query }) }));
    return;
  }
  list.replaceChildren(...ids.map((id) => {
    const info = zoneInfo.get(id) || {};
    // the name in a second script helps tell places apart (and confirms a match)
    const other = lang() === "en" ? info.area_he || info.name_uk : info.name;
    const name = nameOf(id);
    return el("li", {}, el("button", { type: "button", class: "result", "data-zone": id,
                                       onclick: () => propose(id, info.lat, info.lon) },
                           el("span", { class: "result-name", text: name }),
                           other && other !== name
                             ? el("span", { class: "result-other", text: other }) : null));
  }));
}

function pickDefaultLabel() {
  const used = new Set(places.map((p) => p.label));
  $("label-pick").value = LABELS.find((label) => !used.has(label)) || "other";
}

// ---- self-test -----------------------------------------------------------------------------

let selftestTimer = null;

async function selfTest() {
  const dialog = $("selftest-dialog");
  const started = Date.now();
  const sampleShelter = 15;
  const draw = () => {
    const left = Math.max(0, sampleShelter - Math.floor((Date.now() - started) / 1000));
    const view = { state: "alert", kind: "rocket", t: started, shelter: sampleShelter,
                   remaining: left };
    $("selftest-sample").replaceChildren(banner(view, { sample: true }));
    if (Date.now() - started > 20000) closeSelfTest();
  };
  draw();
  clearInterval(selftestTimer);
  selftestTimer = setInterval(draw, 250);
  if (!dialog.open) dialog.showModal();
  announce(t("announce.selftest"));
  const played = await playAlertTone(3);
  dialog.dataset.tone = played ? "played" : "muted";
  $("selftest-muted").hidden = played;
}

function closeSelfTest() {
  clearInterval(selftestTimer);
  const dialog = $("selftest-dialog");
  if (dialog.open) dialog.close();
}

// ---- language ------------------------------------------------------------------------------

function translatePage() {
  document.title = t("title");
  for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of document.querySelectorAll("[data-i18n-placeholder]")) {
    node.placeholder = t(node.dataset.i18nPlaceholder);
  }
  const labelPick = $("label-pick");
  const chosen = labelPick.value;
  labelPick.replaceChildren(...LABELS.map((label) =>
    el("option", { value: label, text: t(`place.${label}`) })));
  if (chosen) labelPick.value = chosen;
  if (feed?.state) $("feed-text").textContent = t(`feed.${feed.state}`);
  if (candidate) $("candidate-text").textContent = t("add.found", { zone: nameOf(candidate.zone) });
  showResults();
  render(true);
}

function setupLanguages() {
  const select = $("lang");
  select.replaceChildren(...LANGS.map((code) =>
    el("option", { value: code, lang: code, text: STRINGS[code]["lang.name"] })));
  select.value = lang();
  select.addEventListener("change", () => {
    setLanguage(select.value, true);
    translatePage();
  });
}

// ---- clock ---------------------------------------------------------------------------------

function tick() {
  if (feed && feed.state === "stale") {
    $("stale-detail").textContent = t("stale.detail", { n: num(Math.round(feed.silentMs() / 1000)) });
  }
  render();
}

// ---- start ---------------------------------------------------------------------------------

async function loadMap() {
  map = new ZoneMap($("map"), { onPick: pickPoint });
  map.setWatched(places.map((p) => p.zone));
  getJSON("/v1/outline.geojson").then((outline) => {
    map.setOutline(outline);
    document.body.dataset.outlineLoaded = "yes";
  })
    .catch((error) => console.warn("airwarn: no outline", error));
  try {
    const zones = await getJSON("/v1/zones.geojson");
    for (const feature of zones.features) {
      const props = feature.properties;
      zoneInfo.set(props.id, { ...props, ...zoneInfo.get(props.id) });
    }
    map.setZones(zones, (id) => status.mapLevel(id));
    map.showWatched();
    search = new ZoneSearch(zones.features);
    document.body.dataset.zonesLoaded = "yes";
    translatePage();
  } catch (error) {
    console.warn("airwarn: the zones could not load", error);
  }
}

async function linkPlace() {
  const params = new URLSearchParams(location.search);
  let zone = params.get("zone");
  const lat = Number.parseFloat(params.get("lat"));
  const lon = Number.parseFloat(params.get("lon"));
  if (!zone && Number.isFinite(lat) && Number.isFinite(lon)) {
    try { zone = await zoneAt(lat, lon); } catch { zone = null; }
    if (zone == null) message(t("add.outside"));
  }
  if (zone && !places.some((p) => p.zone === zone)) {
    places.unshift({ ...newPlace(zone, "other", lat, lon), fromLink: true });
    await loadHistory(zone);
  }
}

function relayBanner() {
  let node = $("relay-stale");
  if (!node) {
    node = el("div", { id: "relay-stale", class: "stale relay-stale", role: "alert", hidden: true });
    $("stale").after(node);
  }
  new RelayWatch(node).start();
}

async function main() {
  setLanguage(pickLanguage(), false);
  setupLanguages();
  unlockOnFirstTouch();
  translatePage();
  pickDefaultLabel();
  $("locate").addEventListener("click", locate);
  $("search").addEventListener("input", showResults);
  $("candidate-add").addEventListener("click", addPlace);
  $("candidate-cancel").addEventListener("click", () => {
    candidate = null;
    $("candidate").hidden = true;
  });
  $("selftest").addEventListener("click", selfTest);
  $("selftest-close").addEventListener("click", closeSelfTest);
  await linkPlace();
  feed = new Feed({ onDecision, onSynced: refresh, onState: onFeedState });
  feed.start();
  relayBanner();
  render(true);
  setInterval(tick, 250);
  loadMap();
}

main();
