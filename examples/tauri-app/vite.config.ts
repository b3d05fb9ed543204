import { defineConfig } from "vite";

export default defineConfig({
  clearScreen: false,
  build: { target: "es2022", outDir: "dist", emptyOutDir: true },
  server: { port: 1420, strictPort: true },
});
