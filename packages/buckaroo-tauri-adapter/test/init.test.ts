// @vitest-environment node
/** `init` on create-tauri-app 4.7.4's vanilla-ts files (test/fixtures/create-tauri-app-vanilla-ts). */
import { cpSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { main } from "../src/cli/main.js";
import { CSP, MAIN_TS } from "../src/cli/templates.js";
import { APP_TSX } from "../src/cli/templates-react.js";

const TEMPLATE = join(__dirname, "fixtures", "create-tauri-app-vanilla-ts");
const CRATE = join(__dirname, "..", "..", "..", "crates", "buckaroo-tauri");
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  vi.restoreAllMocks();
});

function project(template = TEMPLATE): string {
  const dir = mkdtempSync(join(tmpdir(), "init-test-"));
  dirs.push(dir);
  cpSync(template, dir, { recursive: true });
  return dir;
}

/** Every file's text, to compare a tree before and after. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[p.slice(dir.length + 1)] = readFileSync(p, "utf8");
    }
  };
  walk(dir);
  return out;
}

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  vi.spyOn(console, "log").mockImplementation((...a) => void out.push(a.join(" ")));
  vi.spyOn(console, "warn").mockImplementation((...a) => void err.push(a.join(" ")));
  vi.spyOn(console, "error").mockImplementation((...a) => void err.push(a.join(" ")));
  const code = await main(argv);
  vi.restoreAllMocks();
  return { code, out: out.join("\n"), err: err.join("\n") };
}

const read = (dir: string, f: string) => readFileSync(join(dir, f), "utf8");

describe("init", () => {
  it("wires every part, says what it changed, and a second run changes nothing", async () => {
    const dir = project();
    const first = await run("init", "--dir", dir, "--crate-path", CRATE);
    expect(first.code).toBe(0);
    for (const f of ["src-tauri/Cargo.toml", "src-tauri/src/lib.rs", "src-tauri/capabilities/default.json", "src-tauri/tauri.conf.json", "vite.config.ts", "package.json", "index.html", "src/main.ts"]) {
      expect(first.out).toContain(`changed ${f}:`);
    }
    expect(read(dir, "src-tauri/Cargo.toml")).toMatch(/^buckaroo-tauri = \{ path = ".+crates\/buckaroo-tauri" \}$/m);
    const lib = read(dir, "src-tauri/src/lib.rs");
    expect(lib).toContain("tauri::Builder::default()\n        .plugin(buckaroo_tauri::init(buckaroo_config()))\n        .plugin(tauri_plugin_opener::init())");
    expect(lib).toContain("fn buckaroo_config() -> buckaroo_tauri::BuckarooConfig");
    expect(JSON.parse(read(dir, "src-tauri/capabilities/default.json")).permissions).toEqual(["core:default", "opener:default", "buckaroo-tauri:default"]);
    const conf = JSON.parse(read(dir, "src-tauri/tauri.conf.json"));
    expect(conf.app.security.csp).toEqual(CSP);
    expect(conf.app.security.devCsp["connect-src"]).toBe("ipc: http://ipc.localhost http://localhost:1420 ws://localhost:1420");
    expect(read(dir, "vite.config.ts")).toContain('import { buckarooAssets } from "buckaroo-tauri-adapter/vite";');
    expect(read(dir, "vite.config.ts")).toContain("plugins: [buckarooAssets()],");
    expect(JSON.parse(read(dir, "package.json")).dependencies["buckaroo-tauri-adapter"]).toBe("^0.1.0");
    expect(read(dir, "src/main.ts")).toBe(MAIN_TS);

    const before = snapshot(dir);
    const second = await run("init", "--dir", dir, "--crate-path", CRATE);
    expect(second.code).toBe(0);
    expect(second.out).toContain("nothing to change");
    expect(snapshot(dir)).toEqual(before);
  });

  it("refuses a layout it does not recognise and writes nothing", async () => {
    const dir = project();
    rmSync(join(dir, "vite.config.ts"));
    const before = snapshot(dir);
    const r = await run("init", "--dir", dir);
    expect(r.code).toBe(1);
    expect(r.err).toContain("no vite.config.(ts|js)");
    expect(snapshot(dir)).toEqual(before);

    const empty = mkdtempSync(join(tmpdir(), "init-empty-"));
    dirs.push(empty);
    const r2 = await run("init", "--dir", empty);
    expect(r2.code).toBe(1);
    expect(r2.err).toContain("is not a create-tauri-app project: missing package.json, src-tauri/Cargo.toml");
    expect(readdirSync(empty)).toEqual([]);
  });

  it("a lib.rs without tauri::Builder::default() is refused before any file changes", async () => {
    const dir = project();
    writeFileSync(join(dir, "src-tauri/src/lib.rs"), "pub fn run() { my_builder().run() }\n");
    const before = snapshot(dir);
    const r = await run("init", "--dir", dir);
    expect(r.code).toBe(1);
    expect(r.err).toContain("no tauri::Builder::default()");
    expect(snapshot(dir)).toEqual(before);
  });

  it("keeps an app's own CSP and page, adding only what the grid needs", async () => {
    const dir = project();
    const conf = JSON.parse(read(dir, "src-tauri/tauri.conf.json"));
    conf.app.security.csp = { "default-src": "'self'", "connect-src": "ipc: https://api.example.org" };
    writeFileSync(join(dir, "src-tauri/tauri.conf.json"), JSON.stringify(conf));
    writeFileSync(join(dir, "index.html"), "<!doctype html><div id=app></div>");
    const r = await run("init", "--dir", dir, "--crate-version", "0.1");
    expect(r.code).toBe(0);
    const csp = JSON.parse(read(dir, "src-tauri/tauri.conf.json")).app.security.csp;
    expect(csp["connect-src"]).toBe("ipc: https://api.example.org http://ipc.localhost");
    expect(csp["worker-src"]).toBe("'self' blob:");
    expect(read(dir, "index.html")).toBe("<!doctype html><div id=app></div>");
    expect(r.err).toContain("index.html is your own page; left alone");
    expect(read(dir, "src-tauri/Cargo.toml")).toContain('buckaroo-tauri = "0.1"');
  });

  it("the example app ships the same CSP init writes", () => {
    const example = JSON.parse(readFileSync(join(__dirname, "..", "..", "..", "examples", "tauri-app", "src-tauri", "tauri.conf.json"), "utf8"));
    expect(example.app.security.csp).toEqual(CSP);
  });

  it("a wrong command line is a usage error", async () => {
    expect((await run("init", "--nope")).code).toBe(2);
    expect((await run("frobnicate")).code).toBe(2);
  });
});

describe("init after the user edited the page", () => {
  it("leaves a page an earlier init wrote alone", async () => {
    const dir = project();
    expect((await run("init", "--dir", dir)).code).toBe(0);
    writeFileSync(join(dir, "src/main.ts"), `${read(dir, "src/main.ts")}\nconsole.log('mine');\n`);
    const before = snapshot(dir);
    const r = await run("init", "--dir", dir);
    expect(r.out).toContain("nothing to change");
    expect(snapshot(dir)).toEqual(before);
  });
});

describe("the main.ts init writes", () => {
  // The scaffold E2E builds it with tsc too, but only after a 15-minute build; a status the
  // template does not handle should fail here, in seconds.
  it("type-checks against this package's own types, as create-tauri-app's tsconfig compiles it", async () => {
    const ts = (await import("typescript")).default;
    const dir = mkdtempSync(join(tmpdir(), "init-typecheck-"));
    dirs.push(dir);
    const file = join(dir, "main.ts");
    writeFileSync(file, MAIN_TS);
    const program = ts.createProgram([file], {
      target: ts.ScriptTarget.ES2020,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: ["lib.es2020.d.ts", "lib.dom.d.ts", "lib.dom.iterable.d.ts"],
      strict: true,
      noUnusedLocals: true,
      noUnusedParameters: true,
      noFallthroughCasesInSwitch: true,
      noEmit: true,
      skipLibCheck: true,
      types: [],
      baseUrl: dir,
      paths: { "buckaroo-tauri-adapter": [join(__dirname, "..", "src", "index.ts")] },
    });
    const diagnostics = ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file === undefined || d.file.fileName === file)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    expect(diagnostics).toEqual([]);
  }, 60_000);
});

/**
 * create-tauri-app 4.7.4's react-ts: vanilla-ts's src-tauri/ and styles (App.css), its
 * vite.config.ts with the React plugin, and the files in the fixture (page, package.json).
 */
function reactProject(): string {
  const dir = project();
  cpSync(join(__dirname, "fixtures", "create-tauri-app-react-ts"), dir, { recursive: true });
  renameSync(join(dir, "src/styles.css"), join(dir, "src/App.css"));
  rmSync(join(dir, "src/main.ts"));
  const vite = read(dir, "vite.config.ts")
    .replace('import { defineConfig } from "vite";\n', '$&import react from "@vitejs/plugin-react";\n')
    .replace("defineConfig(() => ({\n", "$&  plugins: [react()],\n");
  writeFileSync(join(dir, "vite.config.ts"), vite);
  return dir;
}

describe("init in a React project (create-tauri-app 4.7.4's react-ts)", () => {
  it("renders <BuckarooGrid> from App.tsx, keeps the template's entry and styles, and says so", async () => {
    const dir = reactProject();
    const kept = { main: read(dir, "src/main.tsx"), css: read(dir, "src/App.css"), html: read(dir, "index.html") };
    const first = await run("init", "--dir", dir, "--crate-path", CRATE);
    expect(first.code).toBe(0);
    expect(first.out).toContain("changed src/App.tsx: page: <BuckarooGrid> (buckaroo-tauri-adapter/react)");
    expect(first.out).toContain("changed src/buckaroo.css:");
    expect(first.out).toContain("Next: npm install / pnpm install / yarn, then npm run tauri dev / pnpm tauri dev / yarn tauri dev");
    expect(read(dir, "src/App.tsx")).toBe(APP_TSX);
    expect(read(dir, "src/buckaroo.css")).toMatch(/#root \{\n {2}height: 100%;/);
    expect(read(dir, "vite.config.ts")).toContain("plugins: [buckarooAssets(), react()],");
    // StrictMode stays on, and the template's global input/button rules stay: the grid copes with both.
    expect({ main: read(dir, "src/main.tsx"), css: read(dir, "src/App.css"), html: read(dir, "index.html") }).toEqual(kept);

    const before = snapshot(dir);
    expect((await run("init", "--dir", dir)).out).toContain("nothing to change");
    expect(snapshot(dir)).toEqual(before);
  });

  it("leaves an App.tsx of the user's own alone, with a pointer to the component", async () => {
    const dir = reactProject();
    writeFileSync(join(dir, "src/App.tsx"), "export default function App() { return null; }\n");
    const r = await run("init", "--dir", dir);
    expect(r.err).toContain("src/App.tsx is your own component; left alone. Render <BuckarooGrid>");
    expect(read(dir, "src/App.tsx")).toBe("export default function App() { return null; }\n");
  });
});
