// Three pages, one shared bundle of modules; output goes where the API serves it from
// (api/webapp, package data of riskmap.api, so the wheel carries the pages).
import { resolve } from "node:path";
import { defineConfig } from "vite";

export default defineConfig({
  base: "/",
  build: {
    outDir: resolve(__dirname, "../api/webapp"),
    emptyOutDir: true,
    target: "es2021",
    chunkSizeWarningLimit: 1200, // MapLibre alone is ~800 kB minified
    rollupOptions: {
      input: {
        index: resolve(__dirname, "index.html"),
        wall: resolve(__dirname, "wall.html"),
        resources: resolve(__dirname, "resources.html"),
      },
    },
  },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8000",
      "/tiles": "http://127.0.0.1:8000",
      "/ogc": "http://127.0.0.1:8000",
      "/healthz": "http://127.0.0.1:8000",
    },
  },
});
