#!/usr/bin/env node
// Copy buckaroo's grid (widget.js + compiled.css) from a Python's buckaroo install
// into an app's asset folder, and check the bundle still exposes what the adapter
// relies on. buckaroo's JS is not on npm; the wheel is the only source.
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const TESTED = ["0.15.11"];
const SUPPORTED = /^0\.15\.\d+$/;
const RENDER_FUNCS = ["BuckarooInfiniteWidget", "DFViewerInfinite"];
const FILES = ["widget.js", "compiled.css"];

function fail(msg) {
  console.error(`buckaroo-tauri-copy-assets: ${msg}`);
  process.exit(1);
}

function parseArgs(argv) {
  const args = { python: process.env.BUCKAROO_PYTHON || "python3", out: null, force: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--python") args.python = argv[++i];
    else if (a === "--out") args.out = argv[++i];
    else if (a === "--force") args.force = true;
    else if (a === "-h" || a === "--help") {
      console.log("usage: buckaroo-tauri-copy-assets --out <dir> [--python <python>] [--force]");
      process.exit(0);
    } else fail(`unknown argument ${a}`);
  }
  if (!args.out) fail("--out <dir> is required");
  return args;
}

// Find the installed package without importing it (importing buckaroo takes ~0.5 s and prints).
const LOCATE = `
import importlib.metadata as md, importlib.util as u, json, os
spec = u.find_spec("buckaroo")
print(json.dumps({"version": md.version("buckaroo") if spec else None,
                  "static": os.path.join(os.path.dirname(spec.origin), "static") if spec else None}))
`;

const args = parseArgs(process.argv.slice(2));
let found;
try {
  found = JSON.parse(execFileSync(args.python, ["-c", LOCATE], { encoding: "utf8" }).trim().split("\n").pop());
} catch (e) {
  fail(`cannot run ${args.python}: ${e.message.split("\n")[0]}`);
}
if (!found.version) fail(`buckaroo is not installed in ${args.python}; pip install "buckaroo[server,polars]==${TESTED[0]}"`);
if (!SUPPORTED.test(found.version) && !args.force) {
  fail(`buckaroo ${found.version} is not supported (tested: ${TESTED.join(", ")}); its widget.js may not match this adapter. Use --force to copy anyway.`);
}
if (!TESTED.includes(found.version)) console.warn(`buckaroo-tauri-copy-assets: warning: buckaroo ${found.version} is untested (tested: ${TESTED.join(", ")})`);

const out = resolve(args.out);
mkdirSync(out, { recursive: true });
for (const f of FILES) {
  const src = join(found.static, f);
  if (!existsSync(src)) fail(`${src} is missing from buckaroo ${found.version}`);
  copyFileSync(src, join(out, f));
}

// The contract: an async default export returning {initialize, render}, dispatching on these names.
const widgetPath = join(out, "widget.js");
const source = readFileSync(widgetPath, "utf8");
const missing = RENDER_FUNCS.filter((n) => !source.includes(`"${n}"`));
if (missing.length) fail(`widget.js of buckaroo ${found.version} has no render function ${missing.join(", ")}`);
let mod;
try {
  mod = await import(pathToFileURL(widgetPath).href);
} catch (e) {
  fail(`widget.js of buckaroo ${found.version} does not load as an ES module: ${e.message}`);
}
if (typeof mod.default !== "function") fail("widget.js has no default export factory");
const widget = await mod.default();
if (typeof widget?.initialize !== "function" || typeof widget?.render !== "function") {
  fail("widget.js default() does not return {initialize, render}");
}
writeFileSync(join(out, "buckaroo-version.json"), JSON.stringify({ buckaroo: found.version, files: FILES }, null, 1) + "\n");
console.log(`buckaroo-tauri-copy-assets: buckaroo ${found.version} widget.js + compiled.css -> ${out}`);
process.exit(0);
