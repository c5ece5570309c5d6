// Map labels that never overlap: each is a text node (never HTML) with a priority; after every
// move or zoom they are laid out greedily, highest priority first, and a label that would touch
// one already placed, or a control on the map (the legend, the zoom buttons), is hidden. Threat
// names come first, then alerted zones, regions, countries, and zone names when zoomed in.
import L from "leaflet";

const GAP_PX = 3;

export class LabelLayer {
  constructor(map, { pane, className = "aw-label" }) {
    this.map = map;
    this.className = className;
    this.labels = new Map(); // key -> {latlng, text, priority, minZoom, cls, node}
    this.layer = L.layerGroup([], { pane }).addTo(map);
    this.pane = map.getPane(pane);
    this.scheduled = false;
    map.on("moveend zoomend resize", () => this.layoutSoon());
  }

  /** Add or update a label; `priority` 0 is the most important. */
  set(key, latlng, text, { priority = 5, minZoom = 0, cls = "" } = {}) {
    const label = this.labels.get(key);
    if (label && label.text === text && label.cls === cls && label.latlng.equals(latlng)) {
      label.priority = priority;
      label.minZoom = minZoom;
      return;
    }
    if (label) label.node.remove();
    const node = document.createElement("div");
    node.className = `${this.className} ${cls}`.trim();
    node.textContent = text;
    node.dataset.label = key;
    node.hidden = true;
    this.pane.append(node);
    this.labels.set(key, { latlng: L.latLng(latlng), text, priority, minZoom, cls, node });
    this.layoutSoon();
  }

  delete(key) {
    const label = this.labels.get(key);
    if (!label) return;
    label.node.remove();
    this.labels.delete(key);
    this.layoutSoon();
  }

  /** Keep only the labels whose keys start with `prefix` and are in `keep`. */
  prune(prefix, keep) {
    for (const key of [...this.labels.keys()]) {
      if (key.startsWith(prefix) && !keep.has(key)) this.delete(key);
    }
  }

  layoutSoon() {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.layout();
    });
  }

  layout() {
    const zoom = this.map.getZoom();
    const size = this.map.getSize();
    const container = this.map.getContainer().getBoundingClientRect();
    const taken = [...this.map.getContainer().querySelectorAll(".leaflet-control")].map((c) => {
      const r = c.getBoundingClientRect();
      return { x0: r.left - container.left, y0: r.top - container.top,
               x1: r.right - container.left, y1: r.bottom - container.top };
    });
    const order = [...this.labels.values()].sort((a, b) => a.priority - b.priority);
    for (const label of order) {
      const node = label.node;
      const at = this.map.latLngToContainerPoint(label.latlng);
      if (zoom < label.minZoom || at.x < 0 || at.y < 0 || at.x > size.x || at.y > size.y) {
        node.hidden = true;
        continue;
      }
      node.hidden = false;
      const width = node.offsetWidth, height = node.offsetHeight;
      const box = { x0: at.x - width / 2 - GAP_PX, y0: at.y - height / 2 - GAP_PX,
                    x1: at.x + width / 2 + GAP_PX, y1: at.y + height / 2 + GAP_PX };
      const clash = box.x0 < 0 || box.y0 < 0 || box.x1 > size.x || box.y1 > size.y ||
        taken.some((t) => box.x0 < t.x1 && box.x1 > t.x0 && box.y0 < t.y1 && box.y1 > t.y0);
      if (clash) {
        node.hidden = true;
        continue;
      }
      taken.push(box);
      L.DomUtil.setPosition(node, this.map.containerPointToLayerPoint(
        [at.x - width / 2, at.y - height / 2]));
    }
  }
}
