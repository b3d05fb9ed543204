/** What `init` writes into a React project (create-tauri-app's react-ts or react): the page as a component. */
import { CHROME_CSS, MARKER } from "./templates.js";

export const APP_TSX = `// ${MARKER}: buckaroo's grid in this window, with status and errors. Edit freely.
import { useState } from "react";
import { formatError, retry, type BuckarooError, type BuckarooHandle, type SidecarStatus } from "buckaroo-tauri-adapter";
import { BuckarooGrid } from "buckaroo-tauri-adapter/react";
import "./App.css";
import "./buckaroo.css";

const STATE_TEXT = {
  starting: "Starting Python…",
  unresponsive: "Python not responding",
  restarting: "Python restarting…",
  failed: "Python failed",
  stopped: "Stopped",
};
const fileName = (path: string) => path.split(/[\\\\/]/).pop() ?? path;

function App() {
  const [grid, setGrid] = useState<BuckarooHandle | null>(null);
  const [status, setStatus] = useState<SidecarStatus | null>(null);
  const [error, setError] = useState<BuckarooError | null>(null);
  const [file, setFile] = useState("");
  const state = status?.state ?? "starting";

  return (
    <div className="buckaroo-app">
      <header id="toolbar">
        <button
          id="open"
          type="button"
          disabled={!grid}
          onClick={() => {
            setError(null);
            grid?.pickAndLoad().catch(() => {}); // a failure is already shown by onError
          }}
        >
          Open…
        </button>
        <span id="file">{file}</span>
      </header>
      <main id="grid">
        <BuckarooGrid
          onHandle={setGrid}
          // Every failure lands here: loads, row windows, the sidecar (its fix is in the hint).
          onError={setError}
          onStatus={(s) => {
            setStatus(s);
            if (s.state === "ready") setError(null);
          }}
          // From the first moment of a load (Open…, a file on the command line) until rows are painted.
          onLoading={(load) => load && setFile(\`Loading \${fileName(load.path)}…\`)}
          onState={(s) => {
            const meta = s.metadata as { path?: string; rows?: number } | undefined;
            if (!meta?.path) return;
            setFile(\`\${fileName(meta.path)} · \${meta.rows ?? "?"} rows\`);
            document.title = \`\${fileName(meta.path)} — buckaroo\`;
          }}
        />
      </main>
      <footer id="statusbar">
        <span id="sidecar" data-state={state}>
          {status?.state === "ready" ? \`Ready · buckaroo \${status.buckarooVersion ?? ""}\` : STATE_TEXT[state as keyof typeof STATE_TEXT]}
        </span>
        {(state === "failed" || state === "unresponsive") && (
          <button id="retry" type="button" onClick={() => retry().catch((e: BuckarooError) => setError(e))}>
            Retry
          </button>
        )}
        <span id="error" role="alert" hidden={!error} data-code={error?.code ?? ""}>
          {error ? formatError(error) : ""}
        </span>
      </footer>
    </div>
  );
}

export default App;
`;

/** The layout: create-tauri-app's `#root` has no height, and the grid fills its parent. */
export const BUCKAROO_CSS = `/* ${MARKER}: the grid takes the window; toolbar and status bar around it. */
html,
body,
#root {
  height: 100%;
  margin: 0;
}
.buckaroo-app {
  height: 100%;
  display: flex;
  flex-direction: column;
}
${CHROME_CSS}`;
