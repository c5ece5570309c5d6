// The base map, with no tile service: coastlines, country borders and country names from
// Natural Earth (built into /static/dist/basemap.json by web/build.mjs), drawn on a canvas
// under the zones. Online tiles are an option a deployment can add; nothing here needs one.
import L from "leaflet";

export const BASEMAP_URL = "/static/dist/basemap.json";
export const BASEMAP_CREDIT = "Base map: Natural Earth";

/** Draw the base map on `map` in `pane`; resolves with its country names ({name, lon, lat}). */
export async function addBasemap(map, { pane, coast, border }) {
  const response = await fetch(BASEMAP_URL, { cache: "force-cache" });
  if (!response.ok) throw new Error(`the base map is missing (HTTP ${response.status})`);
  const base = await response.json();
  const renderer = L.canvas({ pane, padding: 0.2 });
  const asLatLngs = (lines) => lines.map((line) => line.map(([lon, lat]) => [lat, lon]));
  L.polyline(asLatLngs(base.coast), { renderer, pane, interactive: false, ...coast }).addTo(map);
  L.polyline(asLatLngs(base.borders), { renderer, pane, interactive: false, ...border }).addTo(map);
  return base.countries;
}
