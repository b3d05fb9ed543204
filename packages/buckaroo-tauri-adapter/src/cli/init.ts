/**
 * `init`: turn a create-tauri-app project (any Vite template) into a buckaroo viewer.
 * Reads the whole layout first and refuses before writing anything when it does not
 * recognise it; every edit is skipped when already done, so a second run changes nothing.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative, resolve, sep } from "node:path";
import { parseOptions, UsageError } from "./args.js";
import { CSP, devCsp, INDEX_HTML, MAIN_TS, MARKER, STYLES_CSS } from "./templates.js";
import { APP_TSX, BUCKAROO_CSS } from "./templates-react.js";

const ADAPTER = "buckaroo-tauri-adapter";
const CRATE = "buckaroo-tauri";
const PERMISSION = "buckaroo-tauri:default";

/** A layout `init` does not know how to edit. */
export class Refused extends Error {
  readonly refused = true;
}

interface Project {
  root: string;
  files: Map<string, string>; // relative path → current text
  viteConfig: string;
}

/** One planned edit: the new text of a file and what it does. */
interface Edit {
  file: string;
  text: string;
  what: string;
}

const REQUIRED = ["package.json", "src-tauri/Cargo.toml", "src-tauri/tauri.conf.json", "src-tauri/src/lib.rs", "src-tauri/capabilities/default.json"];

function readProject(root: string): Project {
  const missing = REQUIRED.filter((f) => !existsSync(join(root, f)));
  const viteConfig = ["vite.config.ts", "vite.config.js", "vite.config.mts", "vite.config.mjs"].find((f) => existsSync(join(root, f)));
  if (missing.length) {
    throw new Refused(`${root} is not a create-tauri-app project: missing ${missing.join(", ")}. Run init in the folder that holds package.json and src-tauri/.`);
  }
  if (!viteConfig) {
    throw new Refused(`no vite.config.(ts|js) in ${root}: init wires Vite apps. Without Vite, follow "Apps without Vite" in docs/embedding-guide.md (copy-assets).`);
  }
  const files = new Map<string, string>();
  for (const f of [...REQUIRED, viteConfig, "index.html", "src/main.ts", "src/styles.css", "src/App.tsx"]) {
    if (existsSync(join(root, f))) files.set(f, readFileSync(join(root, f), "utf8"));
  }
  return { root, files, viteConfig };
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

/** A file readProject read: every REQUIRED one and the Vite config are there. */
function readText(p: Project, file: string): string {
  const current = p.files.get(file);
  if (current === undefined) throw new Refused(`${file} is missing from ${p.root}`);
  return current;
}

function cargoEdit(p: Project, crateSpec: string): Edit | null {
  const text = readText(p, "src-tauri/Cargo.toml");
  if (/^\s*buckaroo-tauri\s*=/m.test(text)) return null;
  if (!/^\[dependencies\]\s*$/m.test(text)) throw new Refused("src-tauri/Cargo.toml has no [dependencies] table");
  const deps = [`${CRATE} = ${crateSpec}`];
  if (!/^\s*env_logger\s*=/m.test(text)) deps.push('env_logger = "0.11"');
  return {
    file: "src-tauri/Cargo.toml",
    text: text.replace(/^\[dependencies\]\s*$/m, (m) => `${m}\n${deps.join("\n")}`),
    what: `dependency ${CRATE} = ${crateSpec}${deps.length > 1 ? ", env_logger (RUST_LOG)" : ""}`,
  };
}

const CONFIG_FN = `
/// buckaroo-tauri: which Python runs buckaroo, and which files the page may load
/// without a dialog. A file named on the command line (\`app /data/sales.parquet\`)
/// opens in the first window. Every option: docs/embedding-guide.md.
fn buckaroo_config() -> buckaroo_tauri::BuckarooConfig {
    // Users without a Python that has buckaroo get the app's own environment, set up
    // on the first run (from the package index, or a bundled \`buckaroo-env\` resource).
    let config = buckaroo_tauri::BuckarooConfig::pandas().with_managed_env(buckaroo_tauri::ManagedEnv::new());
    // Folders the page may load from without asking: config.with_scope("/home/me/data")
    match std::env::args_os().skip(1).find(|a| !a.to_string_lossy().starts_with('-')) {
        Some(arg) => {
            let path = std::path::PathBuf::from(arg);
            config.with_autoload_path(std::fs::canonicalize(&path).unwrap_or(path))
        }
        None => config,
    }
}
`;

function libEdit(p: Project): Edit | null {
  let text = readText(p, "src-tauri/src/lib.rs");
  if (text.includes("buckaroo_tauri::init(")) return null;
  const builder = /tauri::Builder::default\(\)(\s*)/.exec(text);
  if (!builder) throw new Refused("src-tauri/src/lib.rs has no tauri::Builder::default(): add .plugin(buckaroo_tauri::init(...)) yourself");
  const indent = builder[1].includes("\n") ? builder[1] : "\n        ";
  text = text.replace(builder[0], `tauri::Builder::default()${indent}.plugin(buckaroo_tauri::init(buckaroo_config()))${builder[1]}`);
  const run = /pub fn run\(\) \{\n/.exec(text);
  if (run) {
    // try_init: an app that already set a logger keeps it.
    const logger = `    // RUST_LOG=debug for every relayed frame; the plugin logs through the \`log\` crate.\n    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).try_init();\n`;
    text = text.replace(run[0], run[0] + logger);
  }
  return { file: "src-tauri/src/lib.rs", text: `${text.trimEnd()}\n${CONFIG_FN}`, what: "plugin registered: buckaroo_tauri::init(buckaroo_config()), a logger" };
}

function capabilityEdit(p: Project): Edit | null {
  const cap = JSON.parse(readText(p, "src-tauri/capabilities/default.json"));
  if (!Array.isArray(cap.permissions)) throw new Refused("src-tauri/capabilities/default.json has no permissions list");
  if (cap.permissions.includes(PERMISSION)) return null;
  cap.permissions.push(PERMISSION);
  return { file: "src-tauri/capabilities/default.json", text: json(cap), what: `permission ${PERMISSION}` };
}

function confEdit(p: Project): Edit | null {
  const conf = JSON.parse(readText(p, "src-tauri/tauri.conf.json"));
  conf.app ??= {};
  conf.app.security ??= {};
  const security = conf.app.security;
  const what: string[] = [];
  for (const [key, policy] of [["csp", CSP], ["devCsp", conf.build?.devUrl ? devCsp(conf.build.devUrl) : null]] as const) {
    if (!policy) continue;
    const current = security[key];
    if (current === undefined || current === null) {
      security[key] = policy;
      what.push(`app.security.${key} set`);
    } else if (typeof current === "object") {
      // Keep the app's own sources; add what the grid and the IPC need.
      for (const [dir, sources] of Object.entries(policy)) {
        const have = String(current[dir] ?? "").split(/\s+/).filter(Boolean);
        const add = sources.split(" ").filter((s) => !have.includes(s));
        if (add.length) {
          current[dir] = [...have, ...add].join(" ");
          what.push(`app.security.${key}.${dir} += ${add.join(" ")}`);
        }
      }
    } else {
      console.warn(`warning: app.security.${key} is a string; left alone. It must allow: ${JSON.stringify(policy)}`);
    }
  }
  return what.length ? { file: "src-tauri/tauri.conf.json", text: json(conf), what: what.join("; ") } : null;
}

function viteEdit(p: Project): Edit | null {
  let text = readText(p, p.viteConfig);
  if (text.includes("buckarooAssets(")) return null;
  const imports = [...text.matchAll(/^import .*;?$/gm)];
  const importLine = `import { buckarooAssets } from "${ADAPTER}/vite";`;
  const last = imports.at(-1);
  const at = last ? (last.index ?? 0) + last[0].length : 0;
  text = `${text.slice(0, at)}${at ? "\n" : ""}${importLine}${at ? "" : "\n"}${text.slice(at)}`;
  if (/plugins:\s*\[/.test(text)) text = text.replace(/plugins:\s*\[/, (m) => `${m}buckarooAssets(), `);
  else if (/defineConfig\(\s*(\(\)\s*=>\s*\()?\{/.test(text)) {
    text = text.replace(/defineConfig\(\s*(\(\)\s*=>\s*\()?\{/, (m) => `${m}\n  // buckaroo's grid files: served by the dev server, emitted by the build.\n  plugins: [buckarooAssets()],`);
  } else throw new Refused(`${p.viteConfig} has no defineConfig({...}): add plugins: [buckarooAssets()] yourself`);
  return { file: p.viteConfig, text, what: "Vite plugin buckarooAssets() (widget.js + compiled.css in dev and build)" };
}

function packageEdit(p: Project, version: string): Edit | null {
  const pkg = JSON.parse(readText(p, "package.json"));
  if (pkg.dependencies?.[ADAPTER] || pkg.devDependencies?.[ADAPTER]) return null;
  pkg.dependencies ??= {};
  pkg.dependencies[ADAPTER] = `^${version}`;
  return { file: "package.json", text: json(pkg), what: `dependency ${ADAPTER} ^${version} (run ${INSTALL})` };
}

/** Every command spelled for npm, pnpm and yarn. */
const INSTALL = "npm install / pnpm install / yarn";
const DEV = "npm run tauri dev / pnpm tauri dev / yarn tauri dev";

/** create-tauri-app's React demo (react-ts): its App greets. */
function reactPageEdits(p: Project): Edit[] | null {
  const app = p.files.get("src/App.tsx");
  if (app === undefined) return null;
  if (app.includes(MARKER)) return [];
  if (!app.includes('invoke("greet"')) {
    console.warn("note: src/App.tsx is your own component; left alone. Render <BuckarooGrid> from buckaroo-tauri-adapter/react (docs/embedding-guide.md, 'React').");
    return [];
  }
  const what = "page: <BuckarooGrid> (buckaroo-tauri-adapter/react) with Open…, status bar, error banner with the fix";
  return [
    { file: "src/App.tsx", text: APP_TSX, what },
    { file: "src/buckaroo.css", text: BUCKAROO_CSS, what: "layout: #root and the grid fill the window" },
  ];
}

/** The page: only over create-tauri-app's own demo page. A page an earlier init wrote is the user's now. */
function pageEdits(p: Project): Edit[] {
  const react = reactPageEdits(p);
  if (react) return react;
  const html = p.files.get("index.html") ?? "";
  if (html.includes(MARKER)) return [];
  if (!html.includes('id="greet-form"')) {
    console.warn("note: index.html is your own page; left alone. Mount the grid with mountBuckaroo (docs/embedding-guide.md, 'The page').");
    return [];
  }
  const pages: Array<[string, string]> = [["index.html", INDEX_HTML], ["src/main.ts", MAIN_TS], ["src/styles.css", STYLES_CSS]];
  return pages.map(([file, text]) => ({ file, text, what: "page: the grid, Open…, status bar, error banner with the fix" }));
}

/** Relative to src-tauri/ when both share a folder below the root (the project moves with the checkout), else absolute. */
function cargoPath(from: string, to: string): string {
  const shared = from.split(sep)[1] === to.split(sep)[1];
  return (shared ? relative(from, to) : to).split(sep).join("/");
}

function adapterVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  return String(pkg.version);
}

export async function init(argv: string[]): Promise<number> {
  if (argv.includes("-h") || argv.includes("--help")) {
    console.log("usage: buckaroo-tauri-adapter init [--dir <project>] [--crate-path <path> | --crate-version <v>] [--dry-run]");
    return 0;
  }
  const opts = parseOptions(argv, ["dir", "crate-path", "crate-version"], ["dry-run"]);
  if (opts["crate-path"] && opts["crate-version"]) throw new UsageError("give --crate-path or --crate-version, not both");
  const root = resolve(typeof opts.dir === "string" ? opts.dir : ".");
  const project = readProject(root);
  const version = adapterVersion();
  const cratePath = typeof opts["crate-path"] === "string" ? resolve(opts["crate-path"]) : undefined;
  if (cratePath && !existsSync(join(cratePath, "Cargo.toml"))) throw new Refused(`--crate-path ${cratePath} has no Cargo.toml`);
  const crateSpec = cratePath
    ? `{ path = "${cargoPath(join(root, "src-tauri"), cratePath)}" }`
    : `"${typeof opts["crate-version"] === "string" ? opts["crate-version"] : version.split(".").slice(0, 2).join(".")}"`;

  // Plan every edit first: a refusal leaves the project untouched.
  const edits = [cargoEdit(project, crateSpec), libEdit(project), capabilityEdit(project), confEdit(project), viteEdit(project), packageEdit(project, version), ...pageEdits(project)].filter(
    (e): e is Edit => e !== null,
  );
  if (!edits.length) {
    console.log(`${ADAPTER} init: nothing to change in ${root} (already wired)`);
    return 0;
  }
  for (const e of edits) {
    if (!opts["dry-run"]) writeFileSync(join(root, e.file), e.text);
    console.log(`${opts["dry-run"] ? "would change" : "changed"} ${e.file}: ${e.what}`);
  }
  if (!opts["dry-run"]) console.log(`${ADAPTER} init: ${edits.length} files changed. Next: ${INSTALL}, then ${DEV}`);
  return 0;
}
