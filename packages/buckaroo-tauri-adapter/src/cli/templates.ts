/** What `init` writes: the CSP the grid needs and a complete page. One home for each. */

/** Marks files `init` wrote, so a second run recognises them. */
export const MARKER = "buckaroo-tauri-adapter init";

/** The content security policy the grid and the plugin's IPC work under (`app.security.csp`). */
export const CSP: Record<string, string> = {
  "default-src": "'self'",
  "script-src": "'self'",
  "style-src": "'self' 'unsafe-inline'",
  "img-src": "'self' data: blob:",
  "font-src": "'self' data:",
  "worker-src": "'self' blob:",
  "connect-src": "ipc: http://ipc.localhost",
};

/** Under `tauri dev` the page also talks to the Vite dev server (HMR over a WebSocket). */
export function devCsp(devUrl: string): Record<string, string> {
  const u = new URL(devUrl);
  const ws = `${u.protocol === "https:" ? "wss" : "ws"}://${u.host}`;
  return { ...CSP, "connect-src": `${CSP["connect-src"]} ${u.origin} ${ws}` };
}

export const INDEX_HTML = `<!doctype html>
<!-- ${MARKER}: buckaroo's grid filling the window, a toolbar and a status bar. Edit freely. -->
<html lang="en">
  <head>
    <meta charset="UTF-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1.0" />
    <meta name="color-scheme" content="light dark" />
    <link rel="stylesheet" href="/src/styles.css" />
    <title>buckaroo</title>
    <script type="module" src="/src/main.ts" defer></script>
  </head>
  <body>
    <header id="toolbar">
      <button id="open" type="button" title="Open a Parquet, CSV, TSV or JSON file">Open…</button>
      <span id="file"></span>
    </header>
    <main id="grid"></main>
    <footer id="statusbar">
      <span id="sidecar" data-state="starting">Starting Python…</span>
      <button id="retry" type="button" hidden>Retry</button>
      <span id="error" role="alert" hidden></span>
    </footer>
  </body>
</html>
`;

export const MAIN_TS = `// ${MARKER}: buckaroo's grid in this window, with status and errors. Edit freely.
import { formatError, mountBuckaroo, retry, type BuckarooError, type SidecarStatus } from "buckaroo-tauri-adapter";

const byId = (id: string) => document.getElementById(id) as HTMLElement;
const sidecarEl = byId("sidecar");
const errorEl = byId("error");
const fileEl = byId("file");
const retryButton = byId("retry");

function showError(err: BuckarooError | null): void {
  errorEl.hidden = !err;
  errorEl.textContent = err ? formatError(err) : "";
  errorEl.dataset.code = err?.code ?? "";
}

// A switch, not a table: a state added to SidecarStatus later fails tsc here instead of showing "undefined".
function statusText(s: SidecarStatus): string {
  switch (s.state) {
    case "ready":
      return \`Ready · buckaroo \${s.buckarooVersion ?? ""}\`;
    case "provisioning": // first run: the plugin is setting up its own Python environment
      return s.percent === null ? "Setting up Python…" : \`Setting up Python… \${s.percent}%\`;
    case "starting":
      return "Starting Python…";
    case "unresponsive": // runs but stopped answering: Retry restarts it
      return \`Python not responding (\${Math.round(s.silentMs / 1000)} s)\`;
    case "restarting":
      return "Python restarting…";
    case "failed":
      return "Python failed";
    case "stopped":
      return "Stopped";
  }
}

function showStatus(s: SidecarStatus): void {
  sidecarEl.dataset.state = s.state;
  sidecarEl.textContent = statusText(s);
  retryButton.hidden = s.state !== "failed" && s.state !== "unresponsive";
  if (s.state === "ready") showError(null);
}

async function main(): Promise<void> {
  const grid = await mountBuckaroo(byId("grid"), {
    onStatus: showStatus,
    // Every failure lands here: loads, row windows, the sidecar (its fix is in the hint).
    onError: showError,
    // From the first moment of a load (Open…, a file on the command line) until rows are painted.
    onLoading: (load) => {
      if (load) fileEl.textContent = \`Loading \${load.path.split(/[\\\\/]/).pop()}…\`;
    },
    onState: (state) => {
      const meta = state.metadata as { path?: string; rows?: number } | undefined;
      if (!meta?.path) return;
      const name = meta.path.split(/[\\\\/]/).pop() ?? meta.path;
      fileEl.textContent = \`\${name} · \${meta.rows ?? "?"} rows\`;
      document.title = \`\${name} — buckaroo\`;
    },
  });
  byId("open").addEventListener("click", () => {
    showError(null);
    grid.pickAndLoad().catch(() => {}); // a failure is already shown by onError
  });
  retryButton.addEventListener("click", () => retry().catch((e: BuckarooError) => showError(e)));
}

main().catch((e: BuckarooError) => showError(e));
`;

/** The toolbar, status bar and grid element around the grid: both pages' layout ends with it. */
export const CHROME_CSS = `#toolbar,
#statusbar {
  display: flex;
  gap: 12px;
  align-items: center;
  padding: 4px 8px;
  flex: none;
}
/* The grid sizes itself to this element: it needs a real height. */
#grid {
  flex: 1;
  min-height: 0;
}
#sidecar[data-state="failed"],
#error {
  color: #c62828;
}
#error {
  white-space: pre-wrap;
}
`;

export const STYLES_CSS = `/* ${MARKER}: the grid takes the window; toolbar and status bar around it. */
html,
body {
  height: 100%;
  margin: 0;
}
body {
  display: flex;
  flex-direction: column;
  font: 13px system-ui, sans-serif;
  color-scheme: light dark;
}
${CHROME_CSS}`;
