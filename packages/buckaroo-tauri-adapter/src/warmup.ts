/**
 * The widget mounted once before the data (issue 33, lever 1): while the sidecar starts,
 * buckaroo's widget renders unseen over a placeholder model and is ended again, so the
 * page's first real grid finds React, AG Grid, their styles and fonts loaded and their
 * code compiled, and pays a render rather than a first mount.
 *
 * Not the real grid fed later: AG Grid fixes its layout, row cache and column sizing at
 * creation (from a placeholder's zero rows), and buckaroo keys its row cache by the view,
 * not the data, so a grid built before the data would have to be rebuilt anyway.
 */
import type { IModel } from "./model.js";
import type { WidgetInstance, WidgetModule } from "./grid.js";

/**
 * A buckaroo-mode state with a few columns of each displayer, rows from a local source: no
 * row request is sent. Its column ids are none a real grid has (those are a, b, …, index),
 * so nothing that reads the page's grid by column mistakes it for data.
 */
const COLUMNS = [
  { col_name: "warmup_a", header_name: "id", displayer_args: { displayer: "float", min_fraction_digits: 0, max_fraction_digits: 0 } },
  { col_name: "warmup_b", header_name: "amount", displayer_args: { displayer: "float", min_fraction_digits: 3, max_fraction_digits: 3 } },
  { col_name: "warmup_c", header_name: "name", displayer_args: { displayer: "obj" } },
  { col_name: "warmup_d", header_name: "flag", displayer_args: { displayer: "boolean" } },
];
const ROWS = Array.from({ length: 30 }, (_, i) => ({ warmup_index: i, warmup_a: i, warmup_b: i / 7, warmup_c: `row ${i}`, warmup_d: i % 2 === 0 }));

function viewerConfig() {
  return {
    column_config: COLUMNS.map((c) => ({ ...c, ag_grid_specs: { minWidth: 100 } })),
    left_col_configs: [{ col_name: "warmup_index", header_name: "index", displayer_args: { displayer: "obj" } }],
    pinned_rows: [],
    extra_grid_config: {},
    component_config: {},
  };
}

/** What the placeholder model answers: the shape of a real buckaroo initial_state. */
export function placeholderState(renderFunc: string): Record<string, unknown> {
  const config = viewerConfig();
  return {
    render_func_name: renderFunc,
    df_meta: { total_rows: ROWS.length, columns: COLUMNS.length, filtered_rows: ROWS.length, rows_shown: -1 },
    df_data_dict: { warmup: ROWS, all_stats: [], empty: [] },
    df_display_args: {
      main: { data_key: "warmup", summary_stats_key: "all_stats", df_viewer_config: config },
      summary: { data_key: "all_stats", summary_stats_key: "all_stats", df_viewer_config: { ...config, pinned_rows: [] } },
    },
    buckaroo_state: {
      cleaning_method: "",
      df_display: "main",
      post_processing: "",
      quick_command_args: {},
      sampled: false,
      search_string: "",
      show_commands: false,
    },
    buckaroo_options: { cleaning_method: ["", "default"], df_display: ["main", "summary"], post_processing: [""], sampled: ["random"], show_commands: ["on"], summary_stats: ["all"] },
    command_config: { argspecs: {}, defaultArgs: {} },
    operations: [],
    operation_results: { generated_py_code: "", transformed_df: { data: [], schema: { fields: [] } } },
    df_id: "warmup",
    record_transcript: false,
    message_log: [],
    show_message_box: { enabled: false },
  };
}

/** A model that never changes and never sends: the widget's subscriptions are kept only to be dropped. */
function placeholderModel(state: Record<string, unknown>): IModel {
  return {
    get: (key) => state[key],
    set: () => {},
    save_changes: () => {},
    send: () => {},
    on: () => {},
    off: () => {},
  };
}

export interface WarmUp {
  /** End it now (a real grid is about to mount, or the mount ended); it also ends by itself. */
  end(): void;
}

/** How the warm-up renders, given by the grid (grid.ts owns the React-root bookkeeping). */
export type RenderOnce = (instance: WidgetInstance, model: IModel, el: HTMLElement) => () => void;

/** Longest the placeholder grid stays mounted waiting for AG Grid's first rows. */
export const WARMUP_LIMIT_MS = 3000;

/**
 * Mount the widget over a placeholder in an unseen element of `host`, wait until AG Grid
 * painted rows (or WARMUP_LIMIT_MS), then end it. Best effort: a widget that fails here
 * is reported by the real mount, not by this.
 */
export function warmUp(host: HTMLElement, widget: Promise<WidgetModule>, renderFunc: string, render: RenderOnce): WarmUp {
  const doc = host.ownerDocument;
  const win = doc.defaultView;
  let ended = false;
  let cleanup: (() => void) | null = null;
  let el: HTMLElement | null = null;
  const end = () => {
    if (ended) return;
    ended = true;
    try {
      cleanup?.();
    } catch {
      // a widget that fails to end its placeholder: the real grid is unaffected
    }
    el?.remove();
  };
  const painted = () => el?.querySelector(".ag-row .ag-cell") != null;
  void (async () => {
    try {
      const instance = await (await widget).default();
      if (ended) return;
      el = doc.createElement("div");
      el.className = "buckaroo-tauri-warmup";
      el.setAttribute("aria-hidden", "true");
      // Laid out and painted at the host's size, unseen and untouchable.
      el.style.cssText = "position:absolute;inset:0;opacity:0;pointer-events:none;z-index:-1;";
      host.append(el);
      cleanup = render(instance, placeholderModel(placeholderState(renderFunc)), el);
      const start = Date.now();
      while (!ended && !painted() && Date.now() - start < WARMUP_LIMIT_MS) await nextFrame(win);
      if (!ended) await nextFrame(win); // the frame that paints them
    } catch {
      // best effort: see above
    } finally {
      end();
    }
  })();
  return { end };
}

function nextFrame(win: (Window & typeof globalThis) | null): Promise<void> {
  return new Promise((resolve) => {
    if (win?.requestAnimationFrame) win.requestAnimationFrame(() => resolve());
    else setTimeout(resolve, 16);
  });
}
