/**
 * Row windows as the page sees them: when a load's first rows are painted, and an
 * overlay that says why rows could not be shown (never placeholder rows taken for data).
 */
import type { LoadTracker } from "./loads.js";
import type { RowWindowEvent, TauriIPCModel } from "./model.js";
import { type BuckarooError, formatError } from "./protocol.js";

/** buckaroo's data grid (the AG Grid with the pinned index column; its status bar is an AG Grid too) shows a row with text. */
function showsDataRows(el: HTMLElement): boolean {
  return [...el.querySelectorAll(".ag-root-wrapper")].some(
    (root) =>
      root.querySelector('.ag-header-cell[col-id="index"]') &&
      [...root.querySelectorAll(".ag-center-cols-container .ag-row:not(.ag-row-loading) .ag-cell")].some((c) => c.textContent?.trim()),
  );
}

/**
 * Resolves once the grid in `el` shows data rows (the widget decodes parquet
 * asynchronously, then AG Grid renders), or after `limitMs` whatever happened.
 */
function rowsPainted(el: () => HTMLElement | undefined, limitMs = 3000): Promise<void> {
  const win = el()?.ownerDocument.defaultView;
  if (!win) return Promise.resolve();
  const until = Date.now() + limitMs;
  return new Promise((resolve) => {
    const look = () => {
      const node = el();
      if (!node || showsDataRows(node) || Date.now() > until) resolve();
      else win.requestAnimationFrame(look);
    };
    look();
  });
}

type Range = { start: number; end: number };
const rangeOf = (key: unknown): Range => {
  const k = (key ?? {}) as Partial<Range>;
  return { start: typeof k.start === "number" ? k.start : 0, end: typeof k.end === "number" ? k.end : Number.MAX_SAFE_INTEGER };
};

// buckaroo's grid fills a failed block with placeholder rows ("None"): hide them, the overlay says why.
const FAILED_ROWS_CSS = ".buckaroo-tauri-rows-failed .ag-body .ag-row { visibility: hidden; }";

export interface FailedRows {
  failed(key: unknown, err: BuckarooError): void;
  ok(key: unknown): void;
  clear(): void;
}

/**
 * A failed row window is said over the grid, and its placeholder rows are hidden, so
 * nothing is taken for data. It lasts until a window over the same rows succeeds.
 */
export function failedRows(host: HTMLElement): FailedRows {
  const doc = host.ownerDocument;
  if (!doc.getElementById("buckaroo-tauri-rows-failed-css")) {
    const style = Object.assign(doc.createElement("style"), { id: "buckaroo-tauri-rows-failed-css", textContent: FAILED_ROWS_CSS });
    doc.head.append(style);
  }
  const el = doc.createElement("div");
  el.className = "buckaroo-tauri-rows-error";
  el.setAttribute("role", "alert");
  el.style.cssText =
    "position:absolute;inset:40px 0 auto 0;margin:auto;max-width:80%;padding:8px 12px;text-align:center;" +
    "background:Canvas;color:#c62828;border:1px solid #c62828;border-radius:4px;z-index:10;";
  let ranges: Range[] = [];
  const render = () => {
    host.classList.toggle("buckaroo-tauri-rows-failed", ranges.length > 0);
    if (!ranges.length) el.remove();
    else if (!el.isConnected) host.append(el);
  };
  return {
    failed(key, err) {
      ranges.push(rangeOf(key));
      el.textContent = formatError(err);
      render();
    },
    ok(key) {
      const r = rangeOf(key);
      ranges = ranges.filter((f) => !(r.start < f.end && r.end > f.start));
      render();
    },
    clear() {
      ranges = [];
      render();
    },
  };
}

/**
 * Follow every row window: a failed one goes on the overlay, a good one over the same
 * rows takes it off, and the load in progress ends once its rows are painted in `grid()`,
 * which is also when new data's held summary stats are shown (summary.ts).
 * A failed load (an `error` other than a row window's) ends it too.
 */
export function watchRows(model: TauriIPCModel, overlay: FailedRows, loads: LoadTracker, grid: () => HTMLElement | undefined): void {
  model.on("row_window", (ev: RowWindowEvent) => {
    if (ev.ok) overlay.ok(ev.key);
    else if (ev.error) overlay.failed(ev.key, ev.error);
    let painted: Promise<void> | undefined;
    const whenPainted = () => (painted ??= ev.ok && ev.rows !== 0 ? rowsPainted(grid) : Promise.resolve());
    // The held summary stats: the next task after the frame that shows the rows, so their charts never delay it.
    if (model.summaryHeld) void whenPainted().then(() => setTimeout(() => model.releaseSummary(), 0));
    loads.rowsArrived(whenPainted);
  });
  // A load the plugin started failed (buckaroo_tauri_error) or the server said no.
  model.on("error", (err: BuckarooError) => {
    if (err.code !== "rows_failed") loads.end();
  });
}
