import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";
import { buckarooAssets } from "buckaroo-tauri-adapter/vite";

export default defineConfig({
  clearScreen: false,
  // The grid's files come from the repo venv's buckaroo (the one the tests run).
  plugins: [buckarooAssets({ python: process.env.BUCKAROO_PYTHON ?? fileURLToPath(new URL("../../python/.venv/bin/python", import.meta.url)) })],
  build: { target: "es2022", outDir: "dist", emptyOutDir: true },
  server: { port: 1420, strictPort: true },
});
