"""What the web bench puts in the browser besides our pages: the floor page (MapLibre with one
background layer, built by web/'s own vite: the floor of any MapLibre page) and the scripts
it runs in every page (the timing marks, the pan)."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WEB = ROOT / "web"

FLOOR_HTML = """<!doctype html>
<html lang="zh-CN">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>floor: MapLibre alone</title>
    <style>html, body, #map { margin: 0; height: 100%; }</style>
  </head>
  <body>
    <div id="map"></div>
    <script type="module" src="/main.ts"></script>
  </body>
</html>
"""
FLOOR_MAIN = """import maplibregl from "maplibre-gl";
import "maplibre-gl/dist/maplibre-gl.css";

const map = new maplibregl.Map({
  container: "map",
  style: {
    version: 8,
    sources: {},
    layers: [{ id: "background", type: "background", paint: { "background-color": "#f3f1ea" } }],
  },
  bounds: [109.45, 27.6, 110.2, 28.15],
  canvasContextAttributes: { preserveDrawingBuffer: true },
});
(window as unknown as { riskmapMap: maplibregl.Map }).riskmapMap = map;
map.once("idle", () => {
  document.body.dataset.ready = "true";
});
"""
FLOOR_CONFIG = """export default {
  base: "/",
  logLevel: "warn",
  build: { outDir: "dist", emptyOutDir: true, target: "es2021", chunkSizeWarningLimit: 5000 },
};
"""

# Runs before any page script: note when the map loads and first idles, and when the page says
# it is ready, in ms since navigation start (performance.now()).
TIMING_HOOK = """(() => {
  const marks = (window.__bench = {});
  let map;
  Object.defineProperty(window, "riskmapMap", {
    configurable: true,
    get() { return map; },
    set(value) {
      map = value;
      if (marks.created === undefined) {
        marks.created = performance.now();
        value.once("load", () => { marks.load = performance.now(); });
        value.once("idle", () => { marks.idle = performance.now(); });
      }
    },
  });
  new MutationObserver(() => {
    if (marks.ready === undefined && document.body && document.body.dataset.ready === "true") {
      marks.ready = performance.now();
    }
  }).observe(document, { attributes: true, subtree: true, childList: true });
})();"""

PAN = """async (ms) => {
  const map = window.riskmapMap;
  let frames = 0;
  let renders = 0;
  const onRender = () => { renders += 1; };
  map.on("render", onRender);
  const start = performance.now();
  let dir = 1;
  const pan = () => {
    if (performance.now() - start >= ms) return;
    dir = -dir;
    map.panBy([dir * 300, dir * 120], { duration: 700 });
    map.once("moveend", pan);
  };
  pan();
  await new Promise((resolve) => {
    const tick = (t) => {
      frames += 1;
      if (t - start < ms) requestAnimationFrame(tick);
      else resolve();
    };
    requestAnimationFrame(tick);
  });
  const seconds = (performance.now() - start) / 1000;
  map.off("render", onRender);
  map.stop();
  return { fps: frames / seconds, renders: renders / seconds };
}"""


def build_floor(out: Path) -> Path:
    """The floor page built by web/'s own vite (same version, same target) into ``out``/dist."""
    vite = WEB / "node_modules" / "vite" / "bin" / "vite.js"
    if not vite.exists():
        raise RuntimeError(f"{vite} missing: run `make setup` (npm ci in web/)")
    out.mkdir(parents=True, exist_ok=True)
    (out / "index.html").write_text(FLOOR_HTML, encoding="utf-8")
    (out / "main.ts").write_text(FLOOR_MAIN, encoding="utf-8")
    (out / "vite.config.mjs").write_text(FLOOR_CONFIG, encoding="utf-8")
    (out / "node_modules").symlink_to(WEB / "node_modules")
    subprocess.run(
        ["node", str(vite), "build", "--config", "vite.config.mjs"],
        cwd=out,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return out / "dist"
