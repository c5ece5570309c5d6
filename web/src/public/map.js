// The map: the country outline and the zones, coloured by level, with no tile service (the page
// works with the server alone). A tap asks which zone covers the point.
import L from "leaflet";
import { addBasemap, BASEMAP_CREDIT } from "../map/basemap.js";

const FILL = { alert: "#c62828", pre_alert: "#f9a825", drill: "#6a1b9a", clear: "#e9efe6" };

export class ZoneMap {
  constructor(element, { onPick }) {
    this.map = L.map(element, { preferCanvas: true, zoomSnap: 0.25, minZoom: 5 });
    this.map.attributionControl.setPrefix(false);
    this.map.attributionControl.addAttribution(BASEMAP_CREDIT);
    this.map.setView([31.5, 34.9], 7);
    this.map.createPane("aw-base").style.zIndex = 250;
    addBasemap(this.map, {
      pane: "aw-base", coast: { color: "#4a7fa7", weight: 1.2, opacity: 0.9 },
      border: { color: "#6b7280", weight: 1, opacity: 0.8, dashArray: "5 4" },
    }).catch((err) => console.warn(`base map: ${err.message}`));
    this.layers = new Map(); // zone id -> polygon layer
    this.watched = new Set();
    this.levelOf = () => "clear";
    this.map.on("click", (event) => onPick(event.latlng.lat, event.latlng.lng));
  }

  /** The country's outline, under the zones (it may come after them: a server computes it
   *  once, which takes seconds for a large zone set). */
  setOutline(outline) {
    const layer = L.geoJSON(outline, { interactive: false,
      style: { color: "#5f6b73", weight: 1.5, fillColor: "#fbfaf7", fillOpacity: 1 } });
    layer.addTo(this.map);
    layer.bringToBack();
  }

  setZones(collection, levelOf) {
    this.levelOf = levelOf;
    if (collection.attribution) {
      const span = document.createElement("span");
      span.textContent = collection.attribution; // Leaflet takes HTML: keep the data's text text
      this.map.attributionControl.addAttribution(span.innerHTML);
    }
    const layer = L.geoJSON(collection, {
      interactive: false,
      style: (feature) => this.style(feature.properties.id),
      onEachFeature: (feature, polygon) => this.layers.set(feature.properties.id, polygon),
    });
    layer.addTo(this.map);
    const bounds = layer.getBounds();
    if (bounds.isValid()) this.map.fitBounds(bounds, { padding: [8, 8] });
  }

  style(id) {
    const level = this.levelOf(id);
    const watched = this.watched.has(id);
    return { color: watched ? "#111" : "#8a969c", weight: watched ? 3 : 0.5,
             fillColor: FILL[level] || FILL.clear, fillOpacity: level === "clear" ? 0.55 : 0.85 };
  }

  refresh(id) {
    const layer = this.layers.get(id);
    if (layer) {
      layer.setStyle(this.style(id));
      if (this.watched.has(id)) layer.bringToFront();
    }
  }

  refreshAll() {
    for (const id of this.layers.keys()) this.refresh(id);
  }

  setWatched(ids) {
    const before = this.watched;
    this.watched = new Set(ids);
    for (const id of new Set([...before, ...this.watched])) this.refresh(id);
  }

  /** Frame the watched zones (with their surroundings), or leave the whole country in view. */
  showWatched() {
    const bounds = L.latLngBounds([]);
    for (const id of this.watched) {
      const layer = this.layers.get(id);
      if (layer) bounds.extend(layer.getBounds());
    }
    if (bounds.isValid()) this.map.fitBounds(bounds.pad(2), { maxZoom: 10 });
  }

  resize() { this.map.invalidateSize(); }
}
