/**
 * New data's summary stats (the grid's pinned rows: dtype, histogram, …), shown right
 * after its first rows rather than with them (issue 33). Rendered in the same pass as
 * the first rows, the histograms' charts cost WebKitGTK ~150 ms before any row shows
 * (request → rows painted 285–338 ms with them, 113–183 ms without; docs/benchmarks.md).
 *
 * Held: the summary key of `df_data_dict` (buckaroo's `summary_stats_key`) is an empty
 * row list, so the pinned rows keep their place, labelled, with empty cells, and nothing
 * below them moves when the stats come. Released: the stats as the server sent them, the
 * next task after the frame that painted the first rows (the mount watches it), or when
 * a state change, a stats message or HOLD_LIMIT_MS comes first.
 */

import { mark } from "./marks.js";

type Frame = Record<string, unknown>;

/**
 * Longest the stats wait for the mount's word that the first rows are painted; then they
 * are shown anyway. The mount's own watch gives up after 3 s (rows.ts), so this is only
 * for a mount that never says.
 */
export const HOLD_LIMIT_MS = 5000;

export interface SummaryHost {
  get(key: string): unknown;
  /** Set a model key from the server side and announce it (`change:<key>`). */
  put(key: string, value: unknown): void;
  /** Counted here: loads whose stats were held, and held stats shown when the limit passed. */
  counters: { summaryHeld: number; summaryLate: number };
}

/** buckaroo's display of the data itself, its rows by row windows. */
const MAIN_DISPLAY = "main";

const asFrame = (v: unknown): Frame | undefined => (v && typeof v === "object" && !Array.isArray(v) ? (v as Frame) : undefined);

/**
 * The key of `dict` to hold: the summary stats the main display pins, when it is the one
 * shown. The summary display's rows are those stats (pinned, over no data): never held.
 */
export function heldKey(dict: unknown, args: unknown, state: unknown): string | undefined {
  const display = asFrame(state)?.df_display ?? MAIN_DISPLAY;
  const shown = display === MAIN_DISPLAY ? asFrame(asFrame(args)?.[MAIN_DISPLAY]) : undefined;
  const key = shown?.summary_stats_key;
  const pinned = asFrame(shown?.df_viewer_config)?.pinned_rows;
  if (typeof key !== "string" || key === shown?.data_key || !Array.isArray(pinned) || pinned.length === 0) return undefined;
  const stats = asFrame(dict)?.[key];
  const empty = stats == null || (Array.isArray(stats) && stats.length === 0);
  return empty ? undefined : key;
}

export class SummaryHold {
  private held: { shown: unknown; full: unknown } | null = null;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly host: SummaryHost,
    private readonly limitMs = HOLD_LIMIT_MS,
  ) {}

  /** Stats are held now, waiting for the first rows' paint. */
  get holding(): boolean {
    return this.held !== null;
  }

  /**
   * The `df_data_dict` to set for new data: `dict` without its summary stats when its
   * display shows them pinned (kept here until `release`), else `dict` itself.
   */
  hold(dict: unknown, args: unknown, state: unknown): unknown {
    this.drop();
    const key = heldKey(dict, args, state);
    if (key === undefined) return dict;
    const shown = { ...(dict as Frame), [key]: [] };
    this.held = { shown, full: dict };
    this.host.counters.summaryHeld += 1;
    this.timer = setTimeout(() => {
      if (this.held) this.host.counters.summaryLate += 1;
      this.release();
    }, this.limitMs);
    return shown;
  }

  /** Show the held stats, unless `df_data_dict` changed since (newer data, newer stats). */
  release(): void {
    const held = this.held;
    this.drop();
    if (!held || this.host.get("df_data_dict") !== held.shown) return;
    this.host.put("df_data_dict", held.full);
    mark("stats-shown");
  }

  /** Forget the held stats without showing them (newer data replaces them, the mount ended). */
  drop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.held = null;
  }
}
