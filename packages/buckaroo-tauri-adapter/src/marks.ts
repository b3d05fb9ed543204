/**
 * User Timing marks for a load's way to the screen, readable in the webview's
 * inspector and by benchmarks (`performance.getEntriesByName("buckaroo-tauri:state")`).
 * Each name holds its latest mark only, so 10,000 row requests leave no trail.
 */

/**
 * The steps of a load, in order; `stats-shown`: its summary stats, held until its first
 * rows were painted (summary.ts); `replayed`: a restart's replay applied to the kept grid.
 */
export type LoadMark = "widget-ready" | "state" | "rows-requested" | "rows-arrived" | "rows-painted" | "stats-shown" | "replayed";

export const MARK_PREFIX = "buckaroo-tauri:";

/** Mark `step` now, replacing its previous mark. */
export function mark(step: LoadMark): void {
  const perf = globalThis.performance;
  if (typeof perf?.mark !== "function") return;
  const name = MARK_PREFIX + step;
  perf.clearMarks?.(name);
  perf.mark(name);
}
