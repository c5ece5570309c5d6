// The map: no tiles, no internet. The country outline is the base; every zone is a polygon
// filled by its level (clear: outline only; pre-alert: amber; alert: red), a drill is hatched
// blue with a dashed blue outline and a DRILL label; threats in flight are magenta markers with
// their track and predicted impact region or corridor. Each zone's SVG path carries
// data-zone, data-level and data-drill, so tests (and screen readers' tooling) can read it.

import L from "leaflet";

const COLOURS = {
  outline: "#5b6b86", alert: "#dc2626", pre: "#f59e0b", drill: "#60a5fa", selected: "#22d3ee",
  threat: "#e879f9",
};
const DRILL_LABELS_MAX = 80; // beyond this the hatching and the header count say it

export class ZoneMap {
  constructor(element, zones, features, { onZoneClick }) {
    this.zones = zones;
    this.selected = new Set();
    this.layers = new Map();
    this.trails = new Map(); // threat id -> [[lat, lon], ...]
    this.map = L.map(element, { attributionControl: false, zoomSnap: 0.25, minZoom: 5,
                                maxZoom: 14, boxZoom: false });
    this.map.createPane("aw-zones").style.zIndex = 410;
    this.map.createPane("aw-threats").style.zIndex = 440;
    this.zoneLayer = L.geoJSON(features, {
      pane: "aw-zones",
      style: (feature) => this.style(String(feature.properties.id)),
      onEachFeature: (feature, layer) => {
        const id = String(feature.properties.id);
        this.layers.set(id, layer);
        layer.on("click", (event) => onZoneClick(id, event.originalEvent.shiftKey));
      },
    }).addTo(this.map);
    this.threatLayer = L.layerGroup([], { pane: "aw-threats" }).addTo(this.map);
    this.map.fitBounds(this.zoneLayer.getBounds(), { padding: [10, 10] });
    for (const id of this.layers.keys()) this.mark(id);
    this.addLegend();
    zones.listeners.push((changed) => this.restyle(changed));
  }

  /** The country outline, under the zones: the map's only base layer. */
  showOutline(outline) {
    L.geoJSON(outline, {
      interactive: false,
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
  }

  labelDrills(ids) {
    const labelled = this.zones.drill.size <= DRILL_LABELS_MAX;
    const all = labelled ? ids : [...this.layers.keys()];
    for (const id of all) {
      const layer = this.layers.get(id);
      const drill = labelled && this.zones.drill.get(id);
      if (drill && !layer.getTooltip()) {
        layer.bindTooltip(drill === "test" ? "TEST" : "DRILL",
                          { permanent: true, direction: "center", className: "aw-drill-label" });
      } else if (!drill && layer.getTooltip()) {
        layer.unbindTooltip();
      }
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
      }).bindTooltip(`${threat.id} · ${threat.kind}`, { permanent: true, direction: "right",
                                                         offset: [8, 0], className: "aw-threat-label" });
      marker.addTo(this.threatLayer);
      marker.getElement()?.setAttribute("data-threat", threat.id);
    }
    for (const id of [...this.trails.keys()]) if (!seen.has(id)) this.trails.delete(id);
  }

  addLegend() {
    const legend = L.control({ position: "topright" });
    legend.onAdd = () => {
      const div = L.DomUtil.create("div", "aw-legend");
      div.setAttribute("role", "note");
      div.setAttribute("aria-label", "Legend");
      div.innerHTML = [
        ["aw-sw-alert", "Alert: take shelter"], ["aw-sw-pre", "Pre-alert"],
        ["aw-sw-clear", "Clear"], ["aw-sw-drill", "DRILL / TEST (not real)"],
        ["aw-sw-threat", "Threat, predicted impact"],
      ].map(([cls, text]) => `<div><span class="aw-swatch ${cls}"></span>${text}</div>`).join("");
      return div;
    };
    legend.addTo(this.map);
  }
}
