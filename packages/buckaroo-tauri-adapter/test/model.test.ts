import { afterEach, describe, expect, it, vi } from "vitest";
import { clearMocks } from "@tauri-apps/api/mocks";
import { TauriIPCModel, SUPPORTED_PROTOCOL_VERSIONS, decodeRowsFrame, type BuckarooError } from "../src/index.js";
import { fixture, fromGrid, parquetFixture, rowsReply } from "./helpers.js";

afterEach(() => clearMocks());

function model(send = vi.fn(async (_msg: Record<string, unknown>) => null)) {
  const errors: BuckarooError[] = [];
  const m = new TauriIPCModel({ sendMessage: send, onError: (e) => errors.push(e), sessionId: "s1" });
  return { m, send, errors };
}

describe("initial_state", () => {
  it("sets every key, emits change:<key> after all are set, and picks the render function", () => {
    const { m } = model();
    const state = fixture("initial_state_buckaroo");
    const seen: string[] = [];
    for (const k of Object.keys(state)) m.on(`change:${k}`, () => seen.push(k));
    let consistent = true;
    m.on("change:df_meta", () => (consistent &&= m.get("df_display_args") !== undefined));
    m.handleFrame(state);
    const keys = Object.keys(state).filter((k) => k !== "type");
    expect(seen.sort()).toEqual(keys.sort());
    expect(consistent).toBe(true);
    expect(m.get("render_func_name")).toBe("BuckarooInfiniteWidget");
    expect(m.get("df_meta")).toEqual(state.df_meta);
    expect(m.protocolVersion).toBe(1);

    m.handleFrame(fixture("initial_state_viewer"));
    expect(m.get("render_func_name")).toBe("DFViewerInfinite");
  });

  it("get returns referentially stable values, including synthetic keys", () => {
    const { m } = model();
    m.handleFrame(fixture("initial_state_buckaroo"));
    for (const k of ["df_data_dict", "df_display_args", "buckaroo_state", "message_log", "show_message_box"]) {
      expect(m.get(k)).toBe(m.get(k));
    }
    expect(m.get("record_transcript")).toBe(false);
    expect(m.get("df_id")).toBe("s1");
    expect(m.get("message_log")).toEqual([]);
    expect(m.get("show_message_box")).toEqual({ enabled: false });
  });

  it("reports a protocol mismatch and does not apply the state", () => {
    const { m, errors } = model();
    m.handleFrame({ ...fixture<Record<string, unknown>>("initial_state_viewer"), protocol_version: 99 });
    expect(errors.map((e) => e.code)).toEqual(["protocol_mismatch"]);
    expect(errors[0].message).toContain("99");
    expect(m.get("df_meta")).toBeUndefined();
    expect(SUPPORTED_PROTOCOL_VERSIONS).toContain(fixture<{ protocol_version: number }>("initial_state_viewer").protocol_version);
  });

  it("patches the grid height into every df_viewer_config", () => {
    const { m } = model();
    m.setDisplayHeight(640);
    m.handleFrame(fixture("initial_state_buckaroo"));
    const args = m.get("df_display_args") as Record<string, { df_viewer_config: { component_config: { dfvHeight: number } } }>;
    expect(Object.values(args).every((a) => a.df_viewer_config.component_config.dfvHeight === 640)).toBe(true);
    const changed = vi.fn();
    m.on("change:df_display_args", changed);
    m.setDisplayHeight(500);
    expect(changed).toHaveBeenCalledOnce();
  });
});

describe("state_seq / reply_seq", () => {
  it("numbers state changes and drops replies to older ones", () => {
    const { m, send } = model();
    const first = fixture<Record<string, unknown> & { buckaroo_state: Record<string, unknown> }>("initial_state_buckaroo");
    m.handleFrame(first);
    m.set("buckaroo_state", { ...first.buckaroo_state, search_string: "a" });
    m.save_changes();
    m.set("buckaroo_state", { ...first.buckaroo_state, search_string: "ab" });
    m.save_changes();
    expect(fromGrid(send.mock.calls.map((c) => c[0])).map((c) => [c.type, c.state_seq])).toEqual([
      ["buckaroo_state_change", 1],
      ["buckaroo_state_change", 2],
    ]);
    // operations have no server message; nothing is sent for them.
    m.set("operations", []);
    m.save_changes();
    expect(send).toHaveBeenCalledTimes(3); // the two changes and the first window asked for early

    const reply = fixture<Record<string, unknown>>("initial_state_reply"); // recorded with reply_seq 1
    expect(reply.reply_seq).toBe(1);
    m.handleFrame(reply);
    expect(m.counters.staleDropped).toBe(1);
    m.handleFrame({ ...reply, reply_seq: 2 });
    expect(m.get("buckaroo_state")).toEqual(reply.buckaroo_state);
    // An unnumbered push (a /load or a restart replay) always applies.
    m.handleFrame(first);
    expect(m.get("buckaroo_state")).toEqual(first.buckaroo_state);
  });
});

describe("row replies", () => {
  it("parquet reply: one ArrayBuffer (header length, header, parquet), emitted as (msg, [DataView]) over the bytes in place", () => {
    const { m } = model();
    const got: Array<[Record<string, unknown>, DataView[]]> = [];
    m.on("msg:custom", (msg, bufs) => got.push([msg, bufs]));
    const header = fixture("infinite_resp_parquet");
    const bytes = parquetFixture();
    const frame = rowsReply(header, bytes);
    m.handleFrame(frame);
    expect(got).toHaveLength(1);
    expect(got[0][0]).toEqual(header);
    const view = got[0][1][0];
    expect(view).toBeInstanceOf(DataView);
    expect(view.buffer).toBe(frame); // no copy
    expect(view.byteLength).toBe(bytes.byteLength);
    expect(new TextDecoder().decode(new Uint8Array(view.buffer, view.byteOffset, 4))).toBe("PAR1");
    expect(m.counters.parquet).toBe(1);
  });

  it("bytes that are not a row reply are counted and dropped; a JSON reply is complete at once", () => {
    const { m } = model();
    const got: Array<[Record<string, unknown>, DataView[]]> = [];
    m.on("msg:custom", (msg, bufs) => got.push([msg, bufs]));
    m.handleFrame(fixture("infinite_resp_error"));
    expect(got).toHaveLength(1);
    expect(got[0][1]).toEqual([]);
    expect(got[0][0].error_info).toBeTypeOf("string");
    m.handleFrame(parquetFixture()); // bare parquet: no header
    m.handleFrame(new Uint8Array([1, 0]).buffer); // too short
    m.handleFrame(rowsReply({ type: "initial_state" })); // not a row reply
    expect(got).toHaveLength(1);
    expect(m.counters.orphanBinary).toBe(3);
    expect(decodeRowsFrame(new Uint8Array([255, 255, 255, 255, 1]).buffer)).toBeNull(); // length past the end
  });

  it("a failed send of a row request fails that request for the grid and reports the error", async () => {
    const send = vi.fn(async () => {
      throw { code: "backpressure", message: "too many row requests in flight" };
    });
    const { m, errors } = model(send);
    const got: Array<[Record<string, unknown>, DataView[]]> = [];
    m.on("msg:custom", (msg, bufs) => got.push([msg, bufs]));
    const payload_args = { sourceName: "x", start: 0, end: 1000 };
    m.send({ type: "infinite_request", payload_args });
    await vi.waitFor(() => expect(got).toHaveLength(1));
    expect(got[0][0]).toMatchObject({ type: "infinite_resp", key: payload_args, length: 0, error_code: "backpressure" });
    expect(String(got[0][0].error_info)).toContain("backpressure");
    expect(errors.map((e) => e.code)).toEqual(["backpressure"]);
  });

  it("server error frames and plugin notices reach the host", () => {
    const { m, errors } = model();
    const onErr = vi.fn();
    m.on("error", onErr);
    m.handleFrame(fixture("error_invalid_json"));
    m.handleFrame({ type: "buckaroo_tauri_error", error: { code: "load_failed", message: "nope", serverCode: "file_not_found" } });
    expect(errors.map((e) => e.code)).toEqual(["invalid_json", "load_failed"]);
    expect(errors[1].serverCode).toBe("file_not_found");
    expect(onErr).toHaveBeenCalledTimes(2);
  });
});

describe("rows_waiting", () => {
  it("reports row requests unanswered for 400 ms, sorted or not, then null once all are answered", () => {
    vi.useFakeTimers();
    try {
      const { m } = model();
      const seen: unknown[] = [];
      m.on("rows_waiting", (w) => seen.push(w));
      const plain = { start: 0, end: 100 };
      const sorted = { start: 0, end: 100, sort: "c", sort_direction: "asc" };
      m.send({ type: "infinite_request", payload_args: plain });
      vi.advanceTimersByTime(100);
      m.handleFrame({ type: "infinite_resp", key: plain, length: 5, error_info: "x" });
      vi.advanceTimersByTime(1000);
      expect(seen).toEqual([]); // answered before 400 ms: nothing to say
      m.send({ type: "infinite_request", payload_args: sorted });
      vi.advanceTimersByTime(450);
      expect(seen).toEqual([{ count: 1, sorted: true, waitingMs: 400 }]);
      vi.advanceTimersByTime(1000);
      expect(seen).toHaveLength(2);
      m.handleFrame({ type: "infinite_resp", key: { ...sorted }, length: 5, error_info: "rows_superseded", error_code: "rows_superseded" });
      expect(seen.at(-1)).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });

  it("takes a reply whose key has the request's fields in another order (the plugin relays requests re-serialized, keys sorted) as its answer", () => {
    vi.useFakeTimers();
    try {
      const { m } = model();
      const seen: unknown[] = [];
      m.on("rows_waiting", (w) => seen.push(w));
      // As buckaroo's grid writes it, then as it comes back through serde_json.
      const asSent = { sourceName: "s", start: 0, end: 100, origEnd: 100, second_request: { start: 100, end: 200, sourceName: "s" } };
      const asEchoed = { end: 100, origEnd: 100, second_request: { end: 200, sourceName: "s", start: 100 }, sourceName: "s", start: 0 };
      m.send({ type: "infinite_request", payload_args: asSent });
      vi.advanceTimersByTime(450);
      expect(seen).toEqual([{ count: 2, sorted: false, waitingMs: 400 }]);
      m.handleFrame({ type: "infinite_resp", key: asEchoed, length: 3, error_info: "x" });
      m.handleFrame({ type: "infinite_resp", key: asEchoed.second_request, length: 3, error_info: "x" });
      expect(seen.at(-1)).toBeNull();
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it("stops its timer when the model is disposed: the unanswered requests will never be answered", () => {
    vi.useFakeTimers();
    try {
      const { m } = model(vi.fn(() => new Promise<null>(() => {})));
      const seen: unknown[] = [];
      m.on("rows_waiting", (w) => seen.push(w));
      m.send({ type: "infinite_request", payload_args: { start: 0, end: 100 } });
      expect(vi.getTimerCount()).toBe(1);
      m.dispose();
      // A live timer would keep the model (and the grid's state) alive, ticking every second.
      expect(vi.getTimerCount()).toBe(0);
      vi.advanceTimersByTime(5000);
      expect(seen).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("does not report rows superseded by a newer load as an error", () => {
    const { m, errors } = model();
    m.handleFrame({ type: "infinite_resp", key: { start: 0, end: 10 }, length: 0, error_code: "rows_superseded", error_info: "a newer load replaced these rows" });
    m.handleFrame({ type: "infinite_resp", key: { start: 0, end: 10 }, length: 0, error_code: "row_request_failed", error_info: "boom" });
    expect(errors.map((e) => e.serverCode)).toEqual(["row_request_failed"]);
  });
});

