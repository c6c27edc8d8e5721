// Vite builds the UI into one hashed JS and one CSS file under assets/, which the server
// embeds (crates/server/build.rs). `npm run dev` serves it from disk with reload, proxying the
// API to a Sightline on :8080 (or SIGHTLINE_URL).
import { defineConfig } from "vite";

const backend = process.env.SIGHTLINE_URL ?? "http://127.0.0.1:8080";
const proxied = ["/api", "/render", "/metrics", "/tags", "/functions", "/events", "/version"];

export default defineConfig({
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    target: "es2022",
    sourcemap: false,
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 400,
  },
  server: {
    port: 5173,
    proxy: Object.fromEntries(proxied.map((p) => [p, { target: backend, changeOrigin: false }])),
  },
  test: { include: ["test/**/*.test.{ts,mjs}"] },
});
