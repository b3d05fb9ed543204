import { afterEach, describe, expect, it, vi } from "vitest";
import { TauriIPCModel, type BuckarooError } from "../src/index.js";
import { HOLD_LIMIT_MS, planReplay } from "../src/restart.js";
import { fixture, fromGrid, rowsReply } from "./helpers.js";

afterEach(() => vi.useRealTimers());

function model() {
  const sent: Record<string, unknown>[] = [];
  const send = vi.fn(async (msg: Record<string, unknown>) => {
    sent.push(msg);
    return null;
  });
  const errors: BuckarooError[] = [];
  const m = new TauriIPCModel({ sendMessage: send, onError: (e) => errors.push(e), sessionId: "s1" });
  const grid: Array<Record<string, unknown>> = [];
  m.on("msg:custom", (msg: Record<string, unknown>) => grid.push(msg));
  const states: Array<{ replay?: boolean } | undefined> = [];
  m.on("initial_state", (_s: unknown, how?: { replay?: boolean }) => states.push(how));
  return { m, sent, errors, grid, states };
}

const key = (start: number) => ({ sourceName: "x", start, end: start + 100 });
const lost = (start: number) => ({
  type: "infinite_resp",
  key: key(start),
  length: 0,
  error_info: "buckaroo-tauri: the connection to the sidecar was lost (it is restarting); request failed",
  error_code: "connection_closed",
});
const rowRequests = (sent: Record<string, unknown>[]) => fromGrid(sent).filter((s) => s.type === "infinite_request").map((s) => s.payload_args);

describe("a sidecar restart", () => {
  it("holds the requests the dead sidecar lost and asks again after the replay, keeping the grid", async () => {
    const { m, sent, errors, grid, states } = model();
    const state = fixture<Record<string, unknown>>("initial_state_buckaroo");
    m.handleFrame(state);
    for (const start of [0, 100]) m.send({ type: "infinite_request", payload_args: key(start) });
    m.handleFrame(lost(0));
    m.handleFrame(lost(100));
    expect(grid).toEqual([]);
    expect(errors).toEqual([]);
    expect(m.counters.errors).toBe(0);

    const changed: string[] = [];
    for (const k of Object.keys(state)) m.on(`change:${k}`, () => changed.push(k));
    m.handleFrame({ type: "buckaroo_tauri_replay" });
    m.handleFrame(structuredClone(state));
    expect(states.at(-1)).toEqual({ replay: true });
    expect(changed).toEqual([]); // the same data: nothing for the grid to redo
    await vi.waitFor(() => expect(rowRequests(sent)).toHaveLength(4));
    expect(rowRequests(sent).slice(2)).toEqual([key(0), key(100)]);
    expect(m.counters.requests).toBe(2); // asked again, not counted twice

    m.handleFrame(rowsReply({ ...fixture<Record<string, unknown>>("infinite_resp_parquet"), key: key(0) }));
    m.handleFrame(rowsReply({ ...fixture<Record<string, unknown>>("infinite_resp_parquet"), key: key(100) }));
    expect(m.counters).toMatchObject({ requests: 2, parquet: 2, errors: 0 });
  });

  it("keeps the grid when the model holds the display args with the grid's height patched in", () => {
    const { m, states } = model();
    m.setDisplayHeight(640);
    const state = fixture<Record<string, unknown>>("initial_state_buckaroo");
    m.handleFrame(state);
    m.handleFrame({ type: "buckaroo_tauri_replay" });
    m.handleFrame(structuredClone(state));
    expect(states.at(-1)).toEqual({ replay: true });
  });

  it("holds requests the grid sends between the replay's notice and its state, and sends them after", async () => {
    const { m, sent, grid } = model();
    const state = fixture<Record<string, unknown>>("initial_state_buckaroo");
    m.handleFrame(state);
    m.handleFrame({ type: "buckaroo_tauri_replay" });
    m.send({ type: "infinite_request", payload_args: key(500) });
    await Promise.resolve();
    expect(rowRequests(sent)).toEqual([]);
    m.handleFrame(structuredClone(state));
    await vi.waitFor(() => expect(rowRequests(sent)).toEqual([key(500)]));
    expect(grid).toEqual([]);
    expect(m.counters.requests).toBe(1);
  });

  it("holds a failure from the new session before the replayed data came (a request sent before the notice reached the page)", async () => {
    const { m, sent, grid } = model();
    const state = fixture<Record<string, unknown>>("initial_state_buckaroo");
    m.handleFrame(state);
    m.send({ type: "infinite_request", payload_args: key(700) });
    m.handleFrame({ type: "buckaroo_tauri_replay" });
    m.handleFrame({ type: "infinite_resp", key: key(700), length: 0, error_info: "No data loaded for this session", error_code: "row_request_failed" });
    expect(grid).toEqual([]);
    m.handleFrame(structuredClone(state));
    await vi.waitFor(() => expect(rowRequests(sent)).toEqual([key(700), key(700)]));
    m.handleFrame({ type: "infinite_resp", key: key(900), length: 0, error_info: "bad", error_code: "row_request_failed" });
    expect(grid).toHaveLength(1); // after the replay, a failure is the grid's again
  });

  it("sends the page's search again when the replay lost it, and asks again once that is answered", async () => {
    const { m, sent, grid } = model();
    const state = fixture<Record<string, unknown>>("initial_state_buckaroo");
    m.handleFrame(state);
    const searched = { ...(state.buckaroo_state as Record<string, unknown>), quick_command_args: { search: ["Tokyo"] } };
    m.set("buckaroo_state", searched);
    m.save_changes();
    const filtered = { ...(state.df_meta as Record<string, unknown>), filtered_rows: 7 };
    m.handleFrame({ ...state, buckaroo_state: searched, df_meta: filtered, reply_seq: 1 });
    m.send({ type: "infinite_request", payload_args: key(0) });
    m.handleFrame(lost(0));

    m.handleFrame({ type: "buckaroo_tauri_replay" });
    m.handleFrame(structuredClone(state)); // the replay: no search
    expect(m.get("buckaroo_state")).toEqual(searched);
    expect(m.get("df_meta")).toEqual(filtered);
    await vi.waitFor(() => expect(sent.at(-1)).toMatchObject({ type: "buckaroo_state_change", new_state: searched, state_seq: 2 }));
    expect(rowRequests(sent)).toHaveLength(1); // not yet: the session is not searched yet

    m.handleFrame({ ...state, buckaroo_state: searched, df_meta: filtered, reply_seq: 2 });
    await vi.waitFor(() => expect(rowRequests(sent)).toEqual([key(0), key(0)]));
    expect(grid).toEqual([]);
  });

  it("mounts afresh when the replayed data is not what the grid shows, and fails what it held unreported", () => {
    const { m, grid, errors, states } = model();
    const state = fixture<Record<string, unknown>>("initial_state_buckaroo");
    m.handleFrame(state);
    m.send({ type: "infinite_request", payload_args: key(0) });
    m.handleFrame(lost(0));
    m.handleFrame({ type: "buckaroo_tauri_replay" });
    m.handleFrame({ ...state, metadata: { path: "/data/other.parquet" } });
    expect(states.at(-1)).toBeUndefined();
    expect(grid).toMatchObject([{ key: key(0), error_code: "connection_closed" }]);
    expect(errors).toEqual([]);
    expect(m.counters.errors).toBe(1);
  });

  it("mounts afresh when the grid shows a failed block, which only a fresh grid asks for again", () => {
    const { m, states } = model();
    const state = fixture<Record<string, unknown>>("initial_state_buckaroo");
    m.handleFrame(state);
    m.send({ type: "infinite_request", payload_args: key(0) });
    m.handleFrame({ ...lost(0), error_code: "row_request_failed" });
    m.handleFrame({ type: "buckaroo_tauri_replay" });
    m.handleFrame(structuredClone(state));
    expect(states.at(-1)).toBeUndefined();
    m.handleFrame({ type: "buckaroo_tauri_replay" });
    m.handleFrame(structuredClone(state));
    expect(states.at(-1)).toEqual({ replay: true }); // that fresh grid has no failed block
  });

  it("tells the page of a silent sidecar's refusals at once, keeps them from the grid, and asks again after the replay", async () => {
    let refuse = true;
    const sent: Record<string, unknown>[] = [];
    const send = vi.fn(async (msg: Record<string, unknown>) => {
      sent.push(msg);
      if (refuse && msg.type === "infinite_request") throw { code: "sidecar_not_responding", message: "silent for 3 s" };
      return null;
    });
    const errors: BuckarooError[] = [];
    const m = new TauriIPCModel({ sendMessage: send, onError: (e) => errors.push(e), sessionId: "s1" });
    const grid: Array<Record<string, unknown>> = [];
    m.on("msg:custom", (msg: Record<string, unknown>) => grid.push(msg));
    const windows: Array<{ ok: boolean }> = [];
    m.on("row_window", (w: { ok: boolean }) => windows.push(w));
    const states: Array<{ replay?: boolean } | undefined> = [];
    m.on("initial_state", (_s: unknown, how?: { replay?: boolean }) => states.push(how));
    const state = fixture<Record<string, unknown>>("initial_state_buckaroo");
    m.handleFrame(state);
    // One abandoned in flight by the plugin, one refused when sent.
    refuse = false;
    m.send({ type: "infinite_request", payload_args: key(0) });
    m.handleFrame({ ...lost(0), error_code: "sidecar_not_responding" });
    refuse = true;
    m.send({ type: "infinite_request", payload_args: key(100) });
    await vi.waitFor(() => expect(m.counters.errors).toBe(2));
    expect(grid).toEqual([]); // the grid keeps both blocks loading
    expect(windows.map((w) => w.ok)).toEqual([false, false]);
    expect(errors.map((e) => e.code)).toEqual(["rows_failed", "sidecar_not_responding"]);
    expect(m.counters).toMatchObject({ requests: 2, parquet: 0, errors: 2 }); // every request answered

    refuse = false;
    m.handleFrame({ type: "buckaroo_tauri_replay" });
    m.handleFrame(structuredClone(state));
    expect(states.at(-1)).toEqual({ replay: true });
    await vi.waitFor(() => expect(rowRequests(sent).slice(2)).toEqual([key(0), key(100)]));
    for (const start of [0, 100]) m.handleFrame(rowsReply({ ...fixture<Record<string, unknown>>("infinite_resp_parquet"), key: key(start) }));
    expect(grid.map((g) => g.key)).toEqual([key(0), key(100)]);
    expect(m.counters).toMatchObject({ requests: 4, parquet: 2, errors: 2 }); // asked again: new requests, each answered
    expect(errors).toHaveLength(2);
  });

  it("gives a silence's refusals to the grid after its limit, without telling the page twice", () => {
    vi.useFakeTimers();
    const { m, grid, errors } = model();
    m.handleFrame(fixture("initial_state_buckaroo"));
    m.send({ type: "infinite_request", payload_args: key(0) });
    m.handleFrame({ ...lost(0), error_code: "sidecar_not_responding" });
    expect(errors).toHaveLength(1);
    vi.advanceTimersByTime(HOLD_LIMIT_MS);
    expect(grid).toMatchObject([{ key: key(0), error_code: "sidecar_not_responding" }]);
    expect(errors).toHaveLength(1);
    expect(m.counters).toMatchObject({ requests: 1, errors: 1 });
  });

  it("fails what it held when the sidecar fails, when the plugin says the replay failed, or after its limit", () => {
    vi.useFakeTimers();
    for (const end of ["failed", "error", "limit"] as const) {
      const { m, grid, errors } = model();
      m.handleFrame(fixture("initial_state_buckaroo"));
      m.send({ type: "infinite_request", payload_args: key(0) });
      m.handleFrame(lost(0));
      expect(grid).toEqual([]);
      if (end === "failed") m.sidecarFailed();
      else if (end === "error") m.handleFrame({ type: "buckaroo_tauri_error", error: { code: "sidecar_out_of_memory", message: "oom" } });
      else vi.advanceTimersByTime(HOLD_LIMIT_MS);
      expect(grid).toMatchObject([{ key: key(0), error_code: "connection_closed" }]);
      expect(m.counters.errors).toBe(1);
      expect(errors.some((e) => e.code === "rows_failed")).toBe(true);
    }
  });

  it("holds a request refused while no sidecar is ready, and leaves other failures to the grid", async () => {
    let refuse: BuckarooError | null = { code: "sidecar_not_ready", message: "restarting" };
    const send = vi.fn(async () => {
      if (refuse) throw refuse;
      return null;
    });
    const m = new TauriIPCModel({ sendMessage: send, sessionId: "s1" });
    const grid: unknown[] = [];
    m.on("msg:custom", (msg: unknown) => grid.push(msg));
    m.send({ type: "infinite_request", payload_args: key(0) });
    await vi.waitFor(() => expect(send).toHaveBeenCalledTimes(1));
    await Promise.resolve();
    expect(grid).toEqual([]);
    refuse = { code: "backpressure", message: "too many" };
    m.send({ type: "infinite_request", payload_args: key(100) });
    await vi.waitFor(() => expect(grid).toHaveLength(1));
  });
});

describe("planReplay", () => {
  const state: Record<string, unknown> = { df_meta: { total_rows: 10 }, buckaroo_state: { search: null }, df_data_dict: { main: [] } };
  const plan = (incoming: Record<string, unknown>, held: Record<string, unknown>) =>
    planReplay(Object.keys(incoming), (k) => incoming[k], (k) => held[k]);

  it("same data, same view: nothing changed; keys compared whatever their order", () => {
    expect(plan(state, { ...state, df_data_dict: { main: [] } })).toEqual({ sameData: true, changed: [] });
    const reordered = { buckaroo_state: { search: null }, df_data_dict: { main: [] }, df_meta: { total_rows: 10 } };
    expect(plan(state, reordered).changed).toEqual([]);
  });

  it("summary stats sampled afresh by the new session are not new data: the page keeps its own", () => {
    const sampled = (data: string) => ({ ...state, df_data_dict: { main: [], all_stats: { format: "parquet_b64", data } } });
    expect(plan(sampled("a"), sampled("b"))).toEqual({ sameData: true, changed: [] });
    expect(plan(sampled("a"), { ...sampled("b"), df_data_dict: { main: [2], all_stats: {} } }).sameData).toBe(false);
  });

  it("another view: the page's is restored; other data: a fresh grid", () => {
    const searched = { ...state, buckaroo_state: { search: "a" }, df_meta: { total_rows: 10, filtered_rows: 2 } };
    expect(plan(state, searched)).toEqual({ sameData: true, changed: [], restore: { search: "a" } });
    expect(plan(state, { ...state, df_data_dict: { main: [1] } }).sameData).toBe(false);
  });
});
