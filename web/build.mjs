// Bundle the console and the public page, with Leaflet, into the Python package's static folder.
// Run by the install step (`npm ci && npm run build` in this folder); the output is not committed.
import { build } from "esbuild";
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "airwarn", "web", "static", "dist");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

await build({
  entryPoints: { console: join(here, "src", "console.js"), public: join(here, "src", "public.js") },
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
