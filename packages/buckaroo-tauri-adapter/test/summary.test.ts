import { afterEach, describe, expect, it, vi } from "vitest";
import { TauriIPCModel } from "../src/index.js";
import { LoadTracker } from "../src/loads.js";
import { failedRows, watchRows } from "../src/rows.js";
import { HOLD_LIMIT_MS, heldKey } from "../src/summary.js";
import { fixture } from "./helpers.js";

type Msg = Record<string, unknown>;
type State = Msg & { df_data_dict: Msg; df_display_args: Msg; buckaroo_state: Msg };

function model(hold = true) {
  const m = new TauriIPCModel({ sendMessage: async () => null, sessionId: "s1" });
  m.holdSummaryUntilPainted = hold;
  const changes: Msg[] = [];
  m.on("change:df_data_dict", (v: Msg) => changes.push(v));
  return { m, changes };
}

const stats = (m: TauriIPCModel) => (m.get("df_data_dict") as Msg).all_stats;

afterEach(() => {
  vi.useRealTimers();
});

describe("which summary stats are held", () => {
  const state = fixture<State>("initial_state_buckaroo");

  it("the stats the shown display pins, when there are any", () => {
    expect(heldKey(state.df_data_dict, state.df_display_args, state.buckaroo_state)).toBe("all_stats");
  });

  it("not the summary display's (the stats are its rows), nor a display without pinned rows, nor no stats", () => {
    const { df_data_dict: dict, df_display_args: args, buckaroo_state: bs } = state;
    expect(heldKey(dict, args, { ...bs, df_display: "summary" })).toBeUndefined();
    const main = args.main as Msg & { df_viewer_config: Msg };
    const unpinned = { ...args, main: { ...main, df_viewer_config: { ...main.df_viewer_config, pinned_rows: [] } } };
    expect(heldKey(dict, unpinned, bs)).toBeUndefined();
    expect(heldKey({ ...dict, all_stats: [] }, args, bs)).toBeUndefined();
    expect(heldKey(dict, undefined, bs)).toBeUndefined();
  });
});

describe("new data's summary stats, shown after its first rows", () => {
  it("are an empty row list until the mount says the rows are painted, then exactly what the server sent", () => {
    const { m, changes } = model();
    const state = fixture<State>("initial_state_buckaroo");
    m.handleFrame(state);
    expect(stats(m)).toEqual([]);
    expect((m.get("df_data_dict") as Msg).main).toEqual(state.df_data_dict.main);
    expect(m.summaryHeld).toBe(true);
    expect(m.counters).toMatchObject({ summaryHeld: 1, summaryLate: 0 });

    m.releaseSummary();
    expect(stats(m)).toEqual(state.df_data_dict.all_stats);
    expect(changes.at(-1)).toEqual(state.df_data_dict);
    expect(m.summaryHeld).toBe(false);
    m.releaseSummary(); // once only
    expect(changes).toHaveLength(2);
  });

  it("are shown with the data by a model no mount watches", () => {
    const { m } = model(false);
    const state = fixture<State>("initial_state_buckaroo");
    m.handleFrame(state);
    expect(stats(m)).toEqual(state.df_data_dict.all_stats);
    expect(m.counters.summaryHeld).toBe(0);
  });

  it("are shown when the limit passes without a paint", () => {
    vi.useFakeTimers();
    const { m } = model();
    const state = fixture<State>("initial_state_buckaroo");
    m.handleFrame(state);
    vi.advanceTimersByTime(HOLD_LIMIT_MS - 1);
    expect(stats(m)).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(stats(m)).toEqual(state.df_data_dict.all_stats);
    expect(m.counters.summaryLate).toBe(1);
  });

  it("are shown before a reply to a state change applies, which then sets its own", () => {
    const { m, changes } = model();
    const state = fixture<State>("initial_state_buckaroo");
    m.handleFrame(state);
    const reply = { ...state, reply_seq: 0, df_data_dict: { ...state.df_data_dict, all_stats: [{ index: "dtype", a: "int64" }] } };
    m.handleFrame(reply);
    expect(changes.map((c) => c.all_stats)).toEqual([[], state.df_data_dict.all_stats, reply.df_data_dict.all_stats]);
    expect(m.summaryHeld).toBe(false);
  });

  it("are shown before a stats update merges into them", async () => {
    const { m } = model();
    const state = fixture<State>("initial_state_deferred_stats");
    m.handleFrame(state);
    expect(stats(m)).toEqual([]);
    m.handleFrame(fixture("stats_update_parquet"));
    await m.stats.whenIdle();
    expect(m.summaryHeld).toBe(false);
    expect(m.counters.statsUpdates).toBe(1);
    // Merged into what the server sent first (its schema tier), never into the empty list.
    const plain = model(false).m;
    plain.handleFrame(state);
    plain.handleFrame(fixture("stats_update_parquet"));
    await plain.stats.whenIdle();
    expect(stats(m)).toEqual(stats(plain));
    expect((stats(m) as unknown[]).length).toBeGreaterThan(0);
  });

  it("of older data are dropped, never shown over newer data", () => {
    vi.useFakeTimers();
    const { m, changes } = model();
    const state = fixture<State>("initial_state_buckaroo");
    m.handleFrame(state);
    const newer = { ...state, df_data_dict: { ...state.df_data_dict, all_stats: [{ index: "dtype", a: "bool" }] } };
    m.handleFrame(newer);
    m.releaseSummary();
    vi.advanceTimersByTime(HOLD_LIMIT_MS * 2);
    expect(changes.map((c) => c.all_stats)).toEqual([[], [], newer.df_data_dict.all_stats]);
  });

  it("are not put back over stats set since", () => {
    const { m } = model();
    m.handleFrame(fixture("initial_state_buckaroo"));
    const mine = { main: [], all_stats: [{ index: "dtype", a: "x" }] };
    m.set("df_data_dict", mine);
    m.releaseSummary();
    expect(m.get("df_data_dict")).toBe(mine);
  });

  it("are dropped with the mount", () => {
    vi.useFakeTimers();
    const { m } = model();
    m.handleFrame(fixture("initial_state_buckaroo"));
    m.dispose();
    vi.advanceTimersByTime(HOLD_LIMIT_MS * 2);
    m.releaseSummary();
    expect(stats(m)).toEqual([]);
  });
});

describe("the mount's watch of the first rows (rows.ts)", () => {
  /** A grid element as buckaroo's shows data rows: the index header and a cell with text. */
  function gridWithRows(rows: boolean): HTMLElement {
    const el = document.createElement("div");
    el.innerHTML = `<div class="ag-root-wrapper"><div class="ag-header-cell" col-id="index"></div>
      <div class="ag-center-cols-container"><div class="ag-row"><div class="ag-cell">${rows ? "0" : ""}</div></div></div></div>`;
    return el;
  }

  async function watched(ev: Msg, rows: boolean) {
    const { m } = model();
    const state = fixture<State>("initial_state_buckaroo");
    m.handleFrame(state);
    const el = gridWithRows(false);
    watchRows(m, failedRows(document.body), new LoadTracker(() => {}), () => el);
    (m as unknown as { emit(event: string, ...args: unknown[]): void }).emit("row_window", ev);
    await new Promise((r) => setTimeout(r, 50));
    const before = stats(m);
    if (rows) el.replaceChildren(gridWithRows(true));
    return { m, state, before };
  }

  it("shows the held stats once the grid shows the rows, not before", async () => {
    const { m, state, before } = await watched({ ok: true, key: {}, rows: 50 }, true);
    expect(before).toEqual([]);
    await vi.waitFor(() => expect(stats(m)).toEqual(state.df_data_dict.all_stats));
  });

  it("shows them at once when the first window failed or has no rows", async () => {
    for (const ev of [{ ok: false, key: {}, error: { code: "rows_failed", message: "x" } }, { ok: true, key: {}, rows: 0 }]) {
      const { state, before } = await watched(ev, false);
      expect(before).toEqual(state.df_data_dict.all_stats);
    }
  });
});
