/**
 * Node-side: find buckaroo's grid (widget.js + compiled.css) in a Python's buckaroo
 * install and check it is a bundle this adapter can drive. buckaroo's JS is not on
 * npm; the wheel is the only source. Shared by the Vite plugin and the CLI.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { pathToFileURL } from "node:url";

/** buckaroo versions the adapter is tested against (the first is the one to install). */
export const TESTED_BUCKAROO: readonly string[] = ["0.15.11"];
/** Versions accepted without `force` (same minor as the tested ones). */
export const SUPPORTED_BUCKAROO = /^0\.15\.\d+$/;
/** The pip command that gives a Python everything the sidecar and the grid need. */
export const PIP_INSTALL = `python -m pip install "buckaroo[server,polars]==${TESTED_BUCKAROO[0]}" six "pandas<3"`;
/** The files of the grid, as they sit in buckaroo's `static/` folder. */
export const ASSET_FILES = ["widget.js", "compiled.css"] as const;
/** Written next to the copied files: which buckaroo they came from. */
export const VERSION_FILE = "buckaroo-version.json";
const RENDER_FUNCS = ["BuckarooInfiniteWidget", "DFViewerInfinite"];

/** A failure the user can act on: `message` says what, `hint` says how to fix it. */
export class AssetError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(hint ? `${message}\n  fix: ${hint}` : message);
    this.name = "AssetError";
  }
}

export interface BuckarooInstall {
  python: string;
  version: string;
  staticDir: string;
}

/** The interpreter of a `#!` script, if it names one by path. */
function shebangInterpreter(script: string): string | undefined {
  try {
    const first = readFileSync(script, "utf8").split("\n", 1)[0];
    const m = /^#!\s*(\S+)/.exec(first);
    return m?.[1].startsWith("/") && !m[1].endsWith("/env") && existsSync(m[1]) ? m[1] : undefined;
  } catch {
    return undefined;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    const p = join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

/**
 * Which Python to ask, in the plugin's own order (docs/embedding-guide.md): the given
 * one, then `BUCKAROO_PYTHON`, then the interpreter behind `buckaroo-server` on PATH,
 * then `python3`.
 */
export function resolvePython(given?: string): string {
  if (given) return given;
  if (process.env.BUCKAROO_PYTHON) return process.env.BUCKAROO_PYTHON;
  // Through symlinks (pipx, uv tool shims) to the script that names its interpreter.
  const script = onPath("buckaroo-server");
  const viaScript = script && shebangInterpreter(realpathSync(script));
  return viaScript ?? (onPath("python3") ? "python3" : "python");
}

// Find the package without importing it (importing buckaroo takes ~0.5 s and prints).
const LOCATE = `
import importlib.metadata as md, importlib.util as u, json, os
spec = u.find_spec("buckaroo")
print(json.dumps({"version": md.version("buckaroo") if spec else None,
                  "static": os.path.join(os.path.dirname(spec.origin), "static") if spec else None}))
`;

/** Ask `python` where its buckaroo is; throws an AssetError with the fix when it cannot. */
export function locateBuckaroo(python: string, force = false): BuckarooInstall {
  let found: { version: string | null; static: string | null };
  try {
    const out = execFileSync(python, ["-c", LOCATE], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    found = JSON.parse(out.trim().split("\n").pop() ?? "{}");
  } catch (e) {
    throw new AssetError(
      `cannot run ${python}: ${String((e as Error).message).split("\n")[0]}`,
      "set BUCKAROO_PYTHON (or the `python` option) to the Python that has buckaroo",
    );
  }
  if (!found.version || !found.static) {
    throw new AssetError(`buckaroo is not installed in ${python}`, PIP_INSTALL.replace(/^python/, python));
  }
  if (!SUPPORTED_BUCKAROO.test(found.version) && !force) {
    throw new AssetError(
      `buckaroo ${found.version} is not supported (in ${python}; tested: ${TESTED_BUCKAROO.join(", ")}): its widget.js may not match this adapter`,
      `install buckaroo ${TESTED_BUCKAROO[0]}, or pass force to use it anyway`,
    );
  }
  for (const f of ASSET_FILES) {
    if (!existsSync(join(found.static, f))) throw new AssetError(`${join(found.static, f)} is missing from buckaroo ${found.version}`);
  }
  return { python, version: found.version, staticDir: found.static };
}

/** Untested but supported versions get a warning, not a failure. */
export function untestedWarning(install: BuckarooInstall): string | undefined {
  return TESTED_BUCKAROO.includes(install.version)
    ? undefined
    : `buckaroo ${install.version} is untested (tested: ${TESTED_BUCKAROO.join(", ")})`;
}

/**
 * The contract the adapter relies on: an ES module whose async default export returns
 * {initialize, render} and dispatches on buckaroo's render function names.
 */
export async function checkWidget(install: BuckarooInstall): Promise<void> {
  const widgetPath = join(install.staticDir, "widget.js");
  const source = readFileSync(widgetPath, "utf8");
  const missing = RENDER_FUNCS.filter((n) => !source.includes(`"${n}"`));
  if (missing.length) throw new AssetError(`widget.js of buckaroo ${install.version} has no render function ${missing.join(", ")}`);
  // Imported as a .mjs copy: Node would otherwise guess the module type (and warn).
  const dir = mkdtempSync(join(tmpdir(), "buckaroo-widget-"));
  let mod: { default?: unknown };
  try {
    copyFileSync(widgetPath, join(dir, "widget.mjs"));
    mod = await import(pathToFileURL(join(dir, "widget.mjs")).href);
  } catch (e) {
    throw new AssetError(`widget.js of buckaroo ${install.version} does not load as an ES module: ${(e as Error).message}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (typeof mod.default !== "function") throw new AssetError("widget.js has no default export factory");
  const widget = (await (mod.default as () => Promise<Record<string, unknown>>)()) ?? {};
  if (typeof widget.initialize !== "function" || typeof widget.render !== "function") {
    throw new AssetError("widget.js default() does not return {initialize, render}");
  }
}

/** The files to serve or emit, keyed by their name under the asset base. */
export function assetSources(install: BuckarooInstall): Map<string, string | Buffer> {
  const files = new Map<string, string | Buffer>();
  for (const f of ASSET_FILES) files.set(f, readFileSync(join(install.staticDir, f)));
  files.set(VERSION_FILE, `${JSON.stringify({ buckaroo: install.version, files: ASSET_FILES }, null, 1)}\n`);
  return files;
}
