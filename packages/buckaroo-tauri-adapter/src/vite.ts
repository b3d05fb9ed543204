/**
 * Vite plugin: ship buckaroo's grid (widget.js + compiled.css from the Python's
 * buckaroo) with the app. Under the dev server it serves them at `/buckaroo/…`
 * straight from the installed wheel (Vite refuses to let source code import files
 * from `public/`); in `vite build` (and so `tauri build`) it emits them into the
 * output, with buckaroo-version.json. Both check the version and the bundle first.
 *
 * ```ts
 * // vite.config.ts
 * import { buckarooAssets } from "buckaroo-tauri-adapter/vite";
 * export default defineConfig({ plugins: [buckarooAssets()] });
 * ```
 */
import type { Plugin } from "vite";
import { assetSources, checkWidget, locateBuckaroo, resolvePython, untestedWarning } from "./node/assets.js";

export interface BuckarooAssetsOptions {
  /** The Python whose buckaroo provides the files; default: BUCKAROO_PYTHON, the interpreter behind `buckaroo-server`, python3. */
  python?: string;
  /** URL folder the files are served and emitted under; default "buckaroo" (the adapter's default widget URL). */
  base?: string;
  /** Use a buckaroo version outside the supported range anyway. */
  force?: boolean;
}

const CONTENT_TYPES: Record<string, string> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  json: "application/json; charset=utf-8",
};

/** The plugin; see the module comment. */
export function buckarooAssets(options: BuckarooAssetsOptions = {}): Plugin {
  const base = (options.base ?? "buckaroo").replace(/^\/+|\/+$/g, "");
  let files: Promise<Map<string, string | Buffer>> | undefined;
  let warning: string | undefined;
  const load = () =>
    (files ??= (async () => {
      const install = locateBuckaroo(resolvePython(options.python), options.force);
      await checkWidget(install);
      warning = untestedWarning(install);
      return assetSources(install);
    })());

  return {
    name: "buckaroo-tauri-assets",
    async buildStart() {
      await load();
      if (warning) this.warn(warning);
    },
    configureServer(server) {
      // Added before Vite's own middlewares: these URLs never reach its transform step.
      server.middlewares.use((req, res, next) => {
        const url = (req.url ?? "").split("?")[0];
        if (!url.startsWith(`/${base}/`)) return next();
        const name = url.slice(base.length + 2);
        load().then((all) => {
          const body = all.get(name);
          if (body === undefined) return next();
          res.setHeader("Content-Type", CONTENT_TYPES[name.split(".").pop() ?? ""] ?? "application/octet-stream");
          res.setHeader("Cache-Control", "no-cache");
          res.end(body);
        }, next);
      });
    },
    async generateBundle() {
      for (const [name, source] of await load()) this.emitFile({ type: "asset", fileName: `${base}/${name}`, source });
    },
  };
}

export default buckarooAssets;
