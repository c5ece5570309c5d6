// The map: no tiles, no internet. The base is Natural Earth's coastlines, borders and country
// names (built into the package) and the outline of the zone set; every zone is a polygon
// filled by its level (clear: outline only; pre-alert: amber; alert: red), a drill is hatched
// blue with a dashed blue outline and a DRILL label; threats in flight are magenta markers with
// their track and predicted impact region or corridor. A zone at alert too small to see at the
// current zoom also gets a marker, so that no alert is ever a speck. Labels (threats, alerted
// zones, regions, countries, zone names when zoomed in) are text laid out so that none
// overlaps another or the legend. Each zone's SVG path carries data-zone, data-level and
// data-drill, so tests (and screen readers' tooling) can read it.

import L from "leaflet";
import { addBasemap, BASEMAP_CREDIT } from "../map/basemap.js";
import { LabelLayer } from "../map/labels.js";

const COLOURS = {
  outline: "#5b6b86", alert: "#dc2626", pre: "#f59e0b", drill: "#60a5fa", selected: "#22d3ee",
  threat: "#e879f9",
};
const DRILL_LABELS_MAX = 80; // beyond this the hatching and the header count say it
const SPECK_PX = 14; // a warned zone smaller than this on screen gets a marker as well
const ZONE_NAMES_FROM_ZOOM = 11;

export class ZoneMap {
  constructor(element, zones, features, { onZoneClick, attribution }) {
    this.zones = zones;
    this.onZoneClick = onZoneClick;
    this.selected = new Set();
    this.layers = new Map();
    this.centres = new Map(); // zone id -> LatLng of its bounds' centre
    this.markers = new Map(); // zone id -> marker for a warned zone too small to see
    this.trails = new Map(); // threat id -> [[lat, lon], ...]
    this.map = L.map(element, { zoomSnap: 0.25, minZoom: 4, maxZoom: 14, boxZoom: false });
    this.map.attributionControl.setPrefix(false);
    this.map.attributionControl.addAttribution(BASEMAP_CREDIT);
    if (attribution) this.map.attributionControl.addAttribution(textOnly(attribution));
    for (const [name, z] of [["aw-base", 250], ["aw-outline", 260], ["aw-zones", 410],
                             ["aw-markers", 430], ["aw-threats", 440], ["aw-labels", 460]]) {
      this.map.createPane(name).style.zIndex = z;
    }
    this.map.getPane("aw-labels").style.pointerEvents = "none";
    this.zoneLayer = L.geoJSON(features, {
      pane: "aw-zones",
      style: (feature) => this.style(String(feature.properties.id)),
      onEachFeature: (feature, layer) => {
        const id = String(feature.properties.id);
        this.layers.set(id, layer);
        this.centres.set(id, layer.getBounds().getCenter());
        layer.on("click", (event) => onZoneClick(id, event.originalEvent.shiftKey));
      },
    }).addTo(this.map);
    this.markerLayer = L.layerGroup([], { pane: "aw-markers" }).addTo(this.map);
    this.threatLayer = L.layerGroup([], { pane: "aw-threats" }).addTo(this.map);
    this.fitAll();
    for (const id of this.layers.keys()) this.mark(id);
    this.addLegend();
    this.labels = new LabelLayer(this.map, { pane: "aw-labels" });
    this.labelRegions();
    this.labelZones();
    this.map.on("zoomend", () => this.markSpecks());
    zones.listeners.push((changed) => this.restyle(changed));
    addBasemap(this.map, {
      pane: "aw-base", coast: { color: "#7b8db0", weight: 1.2, opacity: 0.9 },
      border: { color: "#8b93a7", weight: 1, opacity: 0.8, dashArray: "5 4" },
    }).then((countries) => {
      this.offerTiles();
      for (const c of countries) {
        this.labels.set(`country:${c.name}`, [c.lat, c.lon], c.name.toUpperCase(),
                        { priority: 4, cls: "aw-label-country" });
      }
    }, (err) => console.warn(`base map: ${err.message}`));
  }

  /** When the server offers an online tile service (`airwarn serve --tiles`), a switch between
   *  it and the offline base map; offline stays the default, so nothing is fetched from
   *  outside unless an operator chooses it. */
  async offerTiles() {
    let settings;
    try {
      const response = await fetch("/v1/map", { cache: "no-store" });
      settings = await response.json();
    } catch {
      return;
    }
    if (!settings.tiles) return;
    this.map.createPane("aw-tiles").style.zIndex = 240;
    const tiles = L.tileLayer(settings.tiles, { pane: "aw-tiles", maxZoom: 19,
                                                attribution: textOnly(settings.tiles_attribution || "") });
    const offline = L.layerGroup();
    offline.addTo(this.map);
    L.control.layers({ "Offline map (Natural Earth)": offline, "Online tiles": tiles }, null,
                     { position: "bottomleft", collapsed: false }).addTo(this.map);
    this.labels.layoutSoon();
  }

  fitAll() {
    this.map.fitBounds(this.zoneLayer.getBounds(), { padding: [10, 10] });
  }

  /** Frame these zones (an alert's, the alerted ones), not closer than a town's scale. */
  frame(ids) {
    const bounds = L.latLngBounds([]);
    for (const id of ids) {
      const layer = this.layers.get(id);
      if (layer) bounds.extend(layer.getBounds());
    }
    if (bounds.isValid()) this.map.fitBounds(bounds, { padding: [30, 30], maxZoom: 12 });
  }

  /** The country outline, under the zones: the land the zones cover. */
  showOutline(outline) {
    L.geoJSON(outline, {
      interactive: false, pane: "aw-outline",
      style: { color: "#64748b", weight: 1.5, fillColor: "#172235", fillOpacity: 1 },
    }).addTo(this.map);
  }

  style(id) {
    const level = this.zones.level.get(id);
    const drill = this.zones.drill.get(id);
    const s = { color: COLOURS.outline, weight: 0.7, opacity: 0.9, fillColor: "#000",
                fillOpacity: 0, dashArray: null };
    if (level === "alert") Object.assign(s, { fillColor: COLOURS.alert, fillOpacity: 0.78,
                                               color: "#fecaca", weight: 1 });
    else if (level === "pre_alert") Object.assign(s, { fillColor: COLOURS.pre, fillOpacity: 0.7,
                                                        color: "#fde68a", weight: 1 });
    // a relayed feed's level: a paler fill with a dotted white edge, never this server's own
    const relayed = this.zones.relayedLevel(id);
    if (relayed !== "clear") {
      Object.assign(s, { color: "#f8fafc", weight: 1.5, dashArray: "1 3" });
      if (level === "clear" || (level === "pre_alert" && relayed === "alert")) {
        Object.assign(s, { fillColor: relayed === "alert" ? COLOURS.alert : COLOURS.pre,
                           fillOpacity: 0.4 });
      }
    }
    if (drill) {
      Object.assign(s, { color: COLOURS.drill, weight: 2.5, dashArray: "6 4" });
      if (level === "clear") Object.assign(s, { fillColor: "url(#aw-drill-hatch)", fillOpacity: 1 });
    }
    if (this.selected.has(id)) Object.assign(s, { color: COLOURS.selected, weight: 3.5 });
    return s;
  }

  /** Put the zone's state on its SVG path, where a test or a tool can read it. */
  mark(id) {
    const path = this.layers.get(id)?.getElement();
    if (!path) return;
    path.dataset.zone = id;
    path.dataset.level = this.zones.level.get(id);
    path.dataset.drill = this.zones.drill.get(id) || "";
    path.dataset.relayed = this.zones.relayedLevel(id);
    path.dataset.selected = this.selected.has(id) ? "1" : "";
  }

  restyle(ids) {
    for (const id of ids) {
      const layer = this.layers.get(id);
      if (!layer) continue;
      layer.setStyle(this.style(id));
      this.mark(id);
    }
    this.labelDrills(ids);
    this.labelWarned(ids);
    this.markSpecks(ids);
  }

  /** Warned zones too small to see at this zoom get a marker of their level's colour. */
  markSpecks(ids = this.layers.keys()) {
    for (const id of ids) {
      const level = this.zones.level.get(id);
      const drill = this.zones.drill.get(id);
      const warned = level === "alert" || level === "pre_alert" || drill;
      const marker = this.markers.get(id);
      if (!warned || this.screenSize(id) >= SPECK_PX) {
        if (marker) {
          this.markerLayer.removeLayer(marker);
          this.markers.delete(id);
        }
        continue;
      }
      const colour = level === "alert" ? COLOURS.alert : level === "pre_alert" ? COLOURS.pre
        : COLOURS.drill;
      if (marker) {
        marker.setStyle({ fillColor: colour });
        continue;
      }
      const made = L.circleMarker(this.centres.get(id), {
        pane: "aw-markers", radius: 6, color: "#fff", weight: 1.5, fillColor: colour,
        fillOpacity: 1,
      }).on("click", (event) => this.onZoneClick(id, event.originalEvent.shiftKey));
      made.addTo(this.markerLayer);
      made.getElement()?.setAttribute("data-speck", id);
      this.markers.set(id, made);
    }
  }

  screenSize(id) {
    const bounds = this.layers.get(id).getBounds();
    const a = this.map.latLngToContainerPoint(bounds.getNorthWest());
    const b = this.map.latLngToContainerPoint(bounds.getSouthEast());
    return Math.max(Math.abs(b.x - a.x), Math.abs(b.y - a.y));
  }

  labelDrills(ids) {
    const labelled = this.zones.drill.size <= DRILL_LABELS_MAX;
    const all = labelled ? ids : [...this.layers.keys()];
    for (const id of all) {
      const drill = labelled && this.zones.drill.get(id);
      if (drill) {
        this.labels.set(`drill:${id}`, this.centres.get(id), drill === "test" ? "TEST" : "DRILL",
                        { priority: 1, cls: "aw-drill-label" });
      } else {
        this.labels.delete(`drill:${id}`);
      }
    }
  }

  labelWarned(ids) {
    for (const id of ids) {
      const level = this.zones.level.get(id);
      if (level === "alert" || level === "pre_alert") {
        this.labels.set(`warned:${id}`, this.centres.get(id), this.zones.name(id),
                        { priority: level === "alert" ? 2 : 3, cls: `aw-label-${level}` });
      } else {
        this.labels.delete(`warned:${id}`);
      }
    }
  }

  /** Each region's name at the middle of its zones. */
  labelRegions() {
    for (const [region, ids] of this.zones.regions) {
      if (region === "(no region)" || ids.length < 2) continue;
      let lat = 0, lng = 0;
      for (const id of ids) {
        const c = this.centres.get(id);
        lat += c.lat;
        lng += c.lng;
      }
      this.labels.set(`region:${region}`, [lat / ids.length, lng / ids.length], region,
                      { priority: 5, cls: "aw-label-region" });
    }
  }

  /** Every zone's name (its town, for Israel's areas) once zoomed in to a town's scale. */
  labelZones() {
    for (const id of this.layers.keys()) {
      this.labels.set(`zone:${id}`, this.centres.get(id), this.zones.name(id),
                      { priority: 6, minZoom: ZONE_NAMES_FROM_ZOOM, cls: "aw-label-zone" });
    }
  }

  select(ids, { add = false } = {}) {
    const before = [...this.selected];
    if (!add) this.selected.clear();
    for (const id of ids) {
      if (add && this.selected.has(id)) this.selected.delete(id);
      else this.selected.add(id);
    }
    this.restyle(new Set([...before, ...ids]));
  }

  showThreats(threats) {
    this.threatLayer.clearLayers();
    const seen = new Set();
    const labelled = new Set();
    for (const threat of threats) {
      seen.add(threat.id);
      if (threat.region) {
        L.geoJSON(threat.region, {
          pane: "aw-threats", interactive: false,
          style: { color: COLOURS.threat, weight: 2, dashArray: "4 4", fillColor: COLOURS.threat,
                   fillOpacity: 0.18 },
        }).addTo(this.threatLayer);
      }
      if (threat.lat === null || threat.lon === null) continue;
      const trail = this.trails.get(threat.id) || [];
      const last = trail[trail.length - 1];
      if (!last || last[0] !== threat.lat || last[1] !== threat.lon) trail.push([threat.lat, threat.lon]);
      this.trails.set(threat.id, trail.slice(-120));
      if (trail.length > 1) {
        L.polyline(trail, { pane: "aw-threats", color: COLOURS.threat, weight: 2, opacity: 0.8,
                            interactive: false }).addTo(this.threatLayer);
      }
      const marker = L.circleMarker([threat.lat, threat.lon], {
        pane: "aw-threats", radius: 7, color: "#fff", weight: 2, fillColor: COLOURS.threat,
        fillOpacity: 1,
      });
      marker.addTo(this.threatLayer);
      marker.getElement()?.setAttribute("data-threat", threat.id);
      // the label sits beside the marker (its text, never markup: ids come from sensors)
      const key = `threat:${threat.id}`;
      const at = this.map.containerPointToLatLng(
        this.map.latLngToContainerPoint([threat.lat, threat.lon]).add([0, -16]));
      this.labels.set(key, at, `${threat.id} · ${threat.kind}`,
                      { priority: 0, cls: "aw-threat-label" });
      labelled.add(key);
    }
    this.labels.prune("threat:", labelled);
    for (const id of [...this.trails.keys()]) if (!seen.has(id)) this.trails.delete(id);
  }

  addLegend() {
    const legend = L.control({ position: "topright" });
    legend.onAdd = () => {
      const div = L.DomUtil.create("details", "aw-legend");
      div.open = window.matchMedia("(min-width: 761px)").matches;
      div.setAttribute("aria-label", "Legend");
      const summary = L.DomUtil.create("summary", "", div);
      summary.textContent = "Legend";
      for (const [cls, text] of [
        ["aw-sw-alert", "Alert: take shelter"], ["aw-sw-pre", "Pre-alert"],
        ["aw-sw-clear", "Clear"], ["aw-sw-drill", "DRILL / TEST (not real)"],
        ["aw-sw-threat", "Threat, predicted impact"],
      ]) {
        const row = L.DomUtil.create("div", "", div);
        L.DomUtil.create("span", `aw-swatch ${cls}`, row);
        row.append(document.createTextNode(text));
      }
      L.DomEvent.disableClickPropagation(div);
      div.addEventListener("toggle", () => this.labels.layoutSoon());
      return div;
    };
    legend.addTo(this.map);
  }

  resize() {
    this.map.invalidateSize();
    this.labels.layoutSoon();
  }
}

/** Leaflet puts attributions in as HTML: escape the zone set's text so that it stays text. */
function textOnly(text) {
  const span = document.createElement("span");
  span.textContent = text;
  return span.innerHTML;
}
