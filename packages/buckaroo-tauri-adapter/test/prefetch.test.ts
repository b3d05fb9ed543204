import { describe, expect, it, vi } from "vitest";
import { TauriIPCModel, type BuckarooError } from "../src/index.js";
import { FIRST_WINDOW, PREFETCH_KEY, prefetchId } from "../src/prefetch.js";
import { fixture, fromGrid, rowsReply } from "./helpers.js";

type Msg = Record<string, unknown>;

function model(send: (msg: Msg) => Promise<unknown> = async () => null) {
  const sent: Msg[] = [];
  const errors: BuckarooError[] = [];
  const m = new TauriIPCModel({
    sendMessage: (msg) => {
      sent.push(msg);
      return send(msg);
    },
    onError: (e) => errors.push(e),
    sessionId: "s1",
  });
  const grid: Array<[Msg, DataView[]]> = [];
  m.on("msg:custom", (msg: Msg, buffers: DataView[]) => grid.push([msg, buffers]));
  const windows: Msg[] = [];
  m.on("row_window", (ev: Msg) => windows.push(ev));
  return { m, sent, errors, grid, windows };
}

/** The grid's first request as buckaroo 0.15.11 writes it. */
const gridFirst = (extra: Msg = {}) => ({ sourceName: "[[],\"\",\"\",{},\"main\",null]", ...FIRST_WINDOW, origEnd: 33, request_time: 5, ...extra });
const early = (sent: Msg[]) => sent.filter((s) => prefetchId(s.payload_args) !== undefined);
const reply = (key: unknown, length = 50) => rowsReply({ ...fixture<Msg>("infinite_resp_parquet"), key, length });
const lost = (key: unknown) => ({ type: "infinite_resp", key, length: 0, error_info: "lost", error_code: "connection_closed" });

describe("the first window of new data, asked for before the grid asks", () => {
  it("is asked for with the data, and its reply answers the grid's first request under the grid's key", async () => {
    const { m, sent, grid, windows, errors } = model();
    m.handleFrame(fixture("initial_state_buckaroo"));
    const [req] = early(sent);
    expect(req.payload_args).toEqual({ ...FIRST_WINDOW, [PREFETCH_KEY]: expect.any(String) });

    // The reply comes before the grid asks: nothing reaches the grid yet.
    m.handleFrame(reply(req.payload_args));
    expect(grid).toEqual([]);
    m.send({ type: "infinite_request", payload_args: gridFirst() });
    expect(fromGrid(sent)).toEqual([]); // not sent: the early reply answers it
    await vi.waitFor(() => expect(grid).toHaveLength(1));
    expect(grid[0][0].key).toEqual(gridFirst());
    expect(grid[0][1]).toHaveLength(1);
    expect(windows).toEqual([{ ok: true, key: gridFirst(), rows: 50, error: undefined }]);
    expect(m.counters).toMatchObject({ requests: 1, parquet: 1, firstWindowUsed: 1, firstWindowUnused: 0 });
    expect(errors).toEqual([]);
  });

  it("answers a grid request that came first once the early reply comes, and carries the owed stats generation", async () => {
    const { m, sent, grid } = model();
    const state = fixture<Msg & { df_meta: Msg }>("initial_state_buckaroo");
    m.handleFrame({ ...state, df_meta: { ...state.df_meta, stats: { status: "pending", gen: 4 } } });
    const [req] = early(sent);
    expect(req.stats_gen).toBe(4);
    m.send({ type: "infinite_request", payload_args: gridFirst(), stats_gen: 4 });
    m.handleFrame(reply(req.payload_args));
    await vi.waitFor(() => expect(grid).toHaveLength(1));
    expect(grid[0][0].key).toEqual(gridFirst());
    expect(fromGrid(sent)).toEqual([]);
  });

  it("is not the grid's after a state change went out, nor for another window: those are sent as usual", async () => {
    const { m, sent, grid } = model();
    const state = fixture<Msg & { buckaroo_state: Msg }>("initial_state_buckaroo");
    m.handleFrame(state);
    const [req] = early(sent);
    m.send({ type: "infinite_request", payload_args: gridFirst({ sort: "a", sort_direction: "asc" }) });
    m.send({ type: "infinite_request", payload_args: gridFirst({ start: 1000, end: 2000 }) });
    m.set("buckaroo_state", { ...state.buckaroo_state, search_string: "x" });
    m.save_changes();
    m.send({ type: "infinite_request", payload_args: gridFirst() });
    expect(fromGrid(sent).map((s) => s.type)).toEqual(["infinite_request", "infinite_request", "buckaroo_state_change", "infinite_request"]);
    // Its reply, coming late, is dropped: the grid never sees it.
    m.handleFrame(reply(req.payload_args));
    await Promise.resolve();
    expect(grid).toEqual([]);
    expect(m.counters).toMatchObject({ firstWindowUsed: 0, firstWindowUnused: 1 });
  });

  it("a failed early request sends the grid's own, which then gets the one answer", async () => {
    const { m, sent, grid, errors } = model();
    m.handleFrame(fixture("initial_state_buckaroo"));
    const [req] = early(sent);
    m.send({ type: "infinite_request", payload_args: gridFirst(), stats_gen: 2 });
    m.handleFrame(lost(req.payload_args));
    expect(fromGrid(sent)).toEqual([{ type: "infinite_request", payload_args: gridFirst(), stats_gen: 2 }]);
    expect(grid).toEqual([]);
    expect(errors).toEqual([]);
    m.handleFrame(reply(gridFirst()));
    expect(grid.map(([msg]) => msg.key)).toEqual([gridFirst()]);
  });

  it("an early request the plugin refused says nothing; the grid's own request goes out", async () => {
    const { m, sent, errors, grid } = model(async (msg) => {
      if (prefetchId(msg.payload_args) !== undefined) throw { code: "sidecar_not_ready", message: "starting" };
      return null;
    });
    m.handleFrame(fixture("initial_state_buckaroo"));
    await Promise.resolve();
    await Promise.resolve();
    m.send({ type: "infinite_request", payload_args: gridFirst() });
    expect(fromGrid(sent)).toHaveLength(1);
    expect(errors).toEqual([]);
    expect(grid).toEqual([]);
  });

  it("the page's own state reply asks for nothing early; new data again does", () => {
    const { m, sent } = model();
    m.handleFrame(fixture("initial_state_buckaroo"));
    m.handleFrame({ ...fixture<Msg>("initial_state_reply"), reply_seq: 0 });
    expect(early(sent)).toHaveLength(1);
    m.handleFrame(fixture("initial_state_buckaroo"));
    const ids = early(sent).map((s) => prefetchId(s.payload_args));
    expect(ids).toHaveLength(2);
    expect(ids[0]).not.toBe(ids[1]);
    expect(m.counters.firstWindowUnused).toBe(1);
  });

  it("a reply to an earlier mount's early request (a remount of the window) is never taken for this one's", async () => {
    const old = model();
    old.m.handleFrame(fixture("initial_state_buckaroo"));
    const [oldReq] = early(old.sent);
    old.m.dispose();
    const { m, sent, grid } = model();
    m.handleFrame(fixture("initial_state_buckaroo"));
    m.send({ type: "infinite_request", payload_args: gridFirst() });
    // The older mount's reply reaches this model (the window's frames go to its newest attach).
    m.handleFrame(reply(oldReq.payload_args, 7));
    await Promise.resolve();
    expect(grid).toEqual([]);
    const [req] = early(sent);
    m.handleFrame(reply(req.payload_args));
    await vi.waitFor(() => expect(grid).toHaveLength(1));
    expect(grid[0][0]).toMatchObject({ key: gridFirst(), length: 50 });
  });
});
