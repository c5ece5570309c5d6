// Bundle the console and the public page, with Leaflet, into the Python package's static folder,
// with everything the pages need to work with no internet: the base map (coastlines, borders
// and country names from Natural Earth, via npm's world-atlas) and the API docs page (Swagger
// UI from npm's swagger-ui-dist). Run by the install step (`npm ci && npm run build` in this
// folder); the output is not committed.
import { build } from "esbuild";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { feature, mesh } from "topojson-client";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "airwarn", "web", "static", "dist");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

await build({
  entryPoints: { console: join(here, "src", "console.js"), public: join(here, "src", "public.js"),
                 docs: join(here, "src", "docs.js") },
  bundle: true,
  minify: true,
  sourcemap: true,
  format: "iife",
  target: ["chrome110", "firefox110", "safari16"],
  outdir: out,
  loader: { ".png": "file", ".svg": "file" },
  logLevel: "info",
});
cpSync(join(here, "node_modules", "leaflet", "dist", "leaflet.css"), join(out, "leaflet.css"));
cpSync(join(here, "node_modules", "leaflet", "dist", "images"), join(out, "images"), { recursive: true });
const swagger = join(here, "node_modules", "swagger-ui-dist");
mkdirSync(join(out, "swagger"));
for (const name of ["swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE"]) {
  cpSync(join(swagger, name), join(out, "swagger", name));
}
writeBasemap(join(out, "basemap.json"));
cpSync(join(here, "node_modules", "world-atlas", "LICENSE"), join(out, "basemap-LICENSE.txt"));

/** Coastlines, borders and country names around the shipped zone layers (Israel and Ukraine
 *  and their neighbours), from Natural Earth 1:10m (public domain), rounded to 0.001°. */
function writeBasemap(path) {
  const BOX = [20, 27, 48, 56]; // lon, lat: from the Levant to the north of Ukraine
  const inBox = ([x, y]) => x >= BOX[0] && x <= BOX[2] && y >= BOX[1] && y <= BOX[3];
  const round = (v) => Math.round(v * 1000) / 1000;
  const clip = (multiline) => {
    const lines = [];
    for (const line of multiline.coordinates) {
      let run = [];
      for (const point of line) {
        if (!inBox(point)) {
          if (run.length > 1) lines.push(run);
          run = [];
          continue;
        }
        const rounded = [round(point[0]), round(point[1])];
        const last = run[run.length - 1];
        if (!last || last[0] !== rounded[0] || last[1] !== rounded[1]) run.push(rounded);
      }
      if (run.length > 1) lines.push(run);
    }
    return lines;
  };
  const topology = JSON.parse(readFileSync(join(here, "node_modules", "world-atlas", "countries-10m.json")));
  const countries = topology.objects.countries;
  const names = [];
  for (const country of feature(topology, countries).features) {
    const polygons = country.geometry?.type === "MultiPolygon" ? country.geometry.coordinates
      : country.geometry?.type === "Polygon" ? [country.geometry.coordinates] : [];
    const largest = polygons.map((p) => p[0]).sort((a, b) => b.length - a.length)[0];
    if (!largest) continue;
    const xs = largest.map((p) => p[0]), ys = largest.map((p) => p[1]);
    const at = [(Math.min(...xs) + Math.max(...xs)) / 2, (Math.min(...ys) + Math.max(...ys)) / 2];
    if (inBox(at)) names.push({ name: country.properties.name, lon: round(at[0]), lat: round(at[1]) });
  }
  writeFileSync(path, JSON.stringify({
    source: "Natural Earth 1:10m (public domain), via world-atlas 2 (ISC)",
    borders: clip(mesh(topology, countries, (a, b) => a !== b)),
    coast: clip(mesh(topology, countries, (a, b) => a === b)),
    countries: names,
  }));
}

