// @vitest-environment node
// (hyparquet-writer checks `instanceof Uint8Array`, which jsdom's TextEncoder fails across realms.)
import { describe, expect, it, vi } from "vitest";
import { parquetWriteBuffer } from "hyparquet-writer";
import { TauriIPCModel, type BuckarooError } from "../src/index.js";
import { decodeStats, mergeStats, type StatsRow, type StatsState } from "../src/stats.js";
import { fixture } from "./helpers.js";

type Frame = Record<string, unknown>;

function model() {
  const errors: BuckarooError[] = [];
  const send = vi.fn(async (_msg: Frame) => null);
  const m = new TauriIPCModel({ sendMessage: send, onError: (e) => errors.push(e), sessionId: "s1" });
  const stats: StatsState[] = [];
  m.on("stats", (s: StatsState) => stats.push(s));
  return { m, errors, stats };
}

/** The recorded deferred-stats initial_state (a xorq build, stats owed for gen 1), optionally with another gen. */
function deferredState(gen = 1): Frame {
  const state = fixture("initial_state_deferred_stats");
  const meta = state.df_meta as Frame;
  return { ...state, df_meta: { ...meta, stats: { ...(meta.stats as Frame), gen } } };
}

function b64(buf: ArrayBuffer): string {
  return Buffer.from(buf).toString("base64");
}

function allStats(m: TauriIPCModel): StatsRow[] {
  return (m.get("df_data_dict") as { all_stats: StatsRow[] }).all_stats;
}

function metaStats(m: TauriIPCModel): StatsState | undefined {
  return (m.get("df_meta") as { stats?: StatsState }).stats;
}

/** An initial_state whose all_stats is a plain row array, stats owed for `gen`. */
function arrayState(rows: StatsRow[], gen = 3): Frame {
  return {
    ...fixture("initial_state_viewer"),
    df_meta: { total_rows: 2, stats: { status: "pending", tier: "schema", gen } },
    df_data_dict: { main: [], all_stats: rows, empty: [] },
  };
}

describe("mergeStats", () => {
  it("overwrites known stats, keeps a shown value over null, appends new stats, never touches index/level_0", () => {
    const current = [
      { index: "dtype", level_0: "dtype", a: "int64", b: "float64" },
      { index: "min", level_0: "min", a: 1, b: 2 },
    ];
    const merged = mergeStats(current, [
      { index: "min", level_0: "other", a: null, b: 5, c: null },
      { index: "max", level_0: "max", a: 9, b: null },
    ]);
    expect(merged).toEqual([
      { index: "dtype", level_0: "dtype", a: "int64", b: "float64" },
      { index: "min", level_0: "min", a: 1, b: 5, c: null },
      { index: "max", level_0: "max", a: 9, b: null },
    ]);
    // Inputs untouched: the model's old state stays what subscribers saw.
    expect(current[1]).toEqual({ index: "min", level_0: "min", a: 1, b: 2 });
  });
});

describe("decodeStats", () => {
  it("passes arrays and json envelopes through", async () => {
    const rows = [{ index: "mean", a: 1 }];
    expect(await decodeStats(rows)).toBe(rows);
    expect(await decodeStats({ format: "json", data: rows })).toBe(rows);
    expect(await decodeStats({ format: "json" })).toEqual([]);
    expect(await decodeStats(null)).toEqual([]);
  });

  it("reads parquet_b64 rows as buckaroo does: BigInt to number (or string past 2^53), JSON strings parsed", async () => {
    const file = parquetWriteBuffer({
      columnData: [
        { name: "index", data: ["distinct_count", "histogram_bins"], type: "STRING" },
        { name: "a", data: [42n, 2n ** 60n], type: "INT64" },
        { name: "b", data: ["[1, 2]", "not json"], type: "STRING" },
        { name: "c", data: [1.5, null], type: "DOUBLE" },
      ],
    });
    const rows = await decodeStats({ format: "parquet_b64", data: b64(file) });
    expect(rows).toEqual([
      { index: "distinct_count", a: 42, b: [1, 2], c: 1.5 },
      { index: "histogram_bins", a: String(2n ** 60n), b: "not json", c: null },
    ]);
    // json_columns names the only columns to parse.
    const only = await decodeStats({ format: "parquet_b64", data: b64(file), json_columns: ["index"] });
    expect(only[0].b).toBe("[1, 2]");
  });

  it("reads the recorded wide layout into one row per stat", async () => {
    const update = fixture<{ payload: { format: string; data: string; layout: string } }>("stats_update_parquet");
    expect(update.payload.layout).toBe("wide");
    const rows = await decodeStats(update.payload);
    const byStat = new Map(rows.map((r) => [r.index, r]));
    expect(byStat.get("dtype")).toMatchObject({ index: "dtype", level_0: "dtype", a: "int64", b: "int32" });
    expect(byStat.get("min")).toMatchObject({ a: 0, b: 315 });
    expect(byStat.get("distinct_count")).toMatchObject({ a: 50, c: null });
    expect(Array.isArray(byStat.get("histogram")?.a)).toBe(true);
    for (const r of rows) for (const v of Object.values(r)) expect(typeof v).not.toBe("bigint");
  });

  it("throws on what it cannot read", async () => {
    await expect(decodeStats({ format: "arrow", data: "" })).rejects.toThrow(/arrow/);
    await expect(decodeStats({ format: "parquet_b64", data: btoa("not parquet at all") })).rejects.toThrow();
    await expect(decodeStats({ format: "parquet_b64" })).rejects.toThrow();
  });
});

describe("deferred stats in TauriIPCModel", () => {
  it("expectedGen follows df_meta.stats.gen; the stats event reports each initial_state's stats", () => {
    const { m, stats } = model();
    expect(m.stats.expectedGen).toBeUndefined();
    m.handleFrame(deferredState());
    expect(m.stats.expectedGen).toBe(1);
    m.handleFrame(deferredState(4));
    expect(m.stats.expectedGen).toBe(4);
    expect(stats).toEqual([
      { status: "pending", tier: "schema", gen: 1 },
      { status: "pending", tier: "schema", gen: 4 },
    ]);
    m.handleFrame(fixture("initial_state_buckaroo"));
    expect(m.stats.expectedGen).toBeUndefined();
    expect(stats).toHaveLength(2);
  });

  it("applies the recorded stats_update: rows merged into all_stats, status complete, counted", async () => {
    const { m, stats, errors } = model();
    const custom = vi.fn();
    m.on("msg:custom", custom);
    m.handleFrame(deferredState());
    const before = m.get("df_data_dict") as Frame;
    const changes: unknown[] = [];
    m.on("change:df_data_dict", (v: unknown) => changes.push(v));

    m.handleFrame(fixture("stats_update_parquet"));
    await m.stats.whenIdle();

    expect(errors).toEqual([]);
    expect(custom).not.toHaveBeenCalled();
    const rows = allStats(m);
    expect(rows.map((r) => r.index)).toEqual(expect.arrayContaining(["dtype", "min", "max", "mean", "histogram"]));
    expect(rows[0].index).toBe("dtype");
    expect(rows.find((r) => r.index === "max")).toMatchObject({ a: 49, b: 9765 });
    expect(changes).toEqual([m.get("df_data_dict")]);
    expect((m.get("df_data_dict") as Frame).main).toBe(before.main);
    expect(m.get("df_data_dict")).toBe(m.get("df_data_dict"));
    expect(metaStats(m)).toEqual({ status: "complete", tier: "full", gen: 1 });
    expect(stats.at(-1)).toEqual({ status: "complete", tier: "full", gen: 1 });
    expect(m.counters).toMatchObject({ statsUpdates: 1, statsAborted: 0, statsStale: 0 });
  });

  it("merges non-final updates one after another and completes only on final", async () => {
    const { m } = model();
    m.handleFrame(arrayState([{ index: "dtype", level_0: "dtype", a: "int64", b: "str" }]));
    m.handleFrame({ type: "stats_update", stats_gen: 3, final: false, payload: { format: "json", data: [{ index: "min", level_0: "min", a: 1, b: null }] } });
    m.handleFrame({
      type: "stats_update",
      stats_gen: 3,
      final: true,
      payload: [
        { index: "min", level_0: "min", a: null, b: "x" },
        { index: "max", level_0: "max", a: 7, b: "y" },
      ],
    });
    expect(metaStats(m)?.status).toBe("pending");
    await m.stats.whenIdle();
    expect(allStats(m)).toEqual([
      { index: "dtype", level_0: "dtype", a: "int64", b: "str" },
      { index: "min", level_0: "min", a: 1, b: "x" },
      { index: "max", level_0: "max", a: 7, b: "y" },
    ]);
    // No tier in the message: the old one stays.
    expect(metaStats(m)).toEqual({ status: "complete", tier: "schema", gen: 3 });
    expect(m.counters.statsUpdates).toBe(2);
  });

  it("patches the grid height into df_display_args an update brings", async () => {
    const { m } = model();
    m.setDisplayHeight(640);
    m.handleFrame(arrayState([]));
    const args = { main: { data_key: "main", df_viewer_config: { component_config: {} } } };
    m.handleFrame({ type: "stats_update", stats_gen: 3, final: true, payload: [], df_display_args: args });
    await m.stats.whenIdle();
    const got = m.get("df_display_args") as typeof args & { main: { df_viewer_config: { component_config: { dfvHeight?: number } } } };
    expect(got.main.df_viewer_config.component_config.dfvHeight).toBe(640);
  });

  it("drops an update or abort for another generation, also one that went stale while decoding", async () => {
    const { m, stats } = model();
    m.handleFrame(deferredState());
    const dict = m.get("df_data_dict");
    m.handleFrame({ ...fixture<Frame>("stats_update_parquet"), stats_gen: 0 });
    m.handleFrame({ type: "stats_aborted", stats_gen: 7, scope: "raw", reason: "error" });
    expect(m.counters.statsStale).toBe(2);

    m.handleFrame(fixture("stats_update_parquet"));
    m.handleFrame(deferredState(2)); // a new load while the payload decodes
    const dict2 = m.get("df_data_dict");
    await m.stats.whenIdle();
    expect(m.get("df_data_dict")).toBe(dict2);
    expect(dict2).not.toBe(dict);
    expect(metaStats(m)).toEqual({ status: "pending", tier: "schema", gen: 2 });
    expect(m.counters).toMatchObject({ statsUpdates: 0, statsAborted: 0, statsStale: 3 });
    expect(stats.map((s) => s.status)).toEqual(["pending", "pending"]);
  });

  it("stats_aborted: error marks stats failed, not_requestable not computed, other reasons change nothing", () => {
    const { m, stats } = model();
    m.handleFrame(deferredState());
    m.handleFrame({ type: "stats_aborted", stats_gen: 1, scope: "raw", reason: "no_data" });
    expect(metaStats(m)).toEqual({ status: "pending", tier: "schema", gen: 1 });
    m.handleFrame({ type: "stats_aborted", stats_gen: 1, scope: "raw", reason: "error" });
    expect(metaStats(m)).toEqual({ status: "error", tier: "schema", gen: 1, reason: "stats_failed" });
    m.handleFrame(deferredState(2));
    m.handleFrame({ type: "stats_aborted", stats_gen: 2, scope: "raw", reason: "not_requestable" });
    expect(metaStats(m)).toEqual({ status: "not_computed", tier: "schema", gen: 2 });
    expect(stats.map((s) => s.status)).toEqual(["pending", "error", "pending", "not_computed"]);
    expect(m.counters.statsAborted).toBe(3);
  });

  it("a payload that does not decode is reported as stats_failed and marks the stats failed", async () => {
    const { m, errors, stats } = model();
    const events: BuckarooError[] = [];
    m.on("error", (e: BuckarooError) => events.push(e));
    m.handleFrame(deferredState());
    const dict = m.get("df_data_dict");
    m.handleFrame({ type: "stats_update", stats_gen: 1, final: true, payload: { format: "parquet_b64", data: btoa("garbage") } });
    await m.stats.whenIdle();
    expect(errors.map((e) => e.code)).toEqual(["stats_failed"]);
    expect(events).toEqual(errors);
    expect(m.get("df_data_dict")).toBe(dict);
    expect(metaStats(m)).toEqual({ status: "error", tier: "schema", gen: 1, reason: "stats_failed" });
    expect(stats.at(-1)?.status).toBe("error");
    expect(m.counters.statsUpdates).toBe(0);
  });

  it("file loads are untouched: no stats event, no expectedGen, a stray update is dropped", async () => {
    const { m, stats } = model();
    m.handleFrame(fixture("initial_state_viewer"));
    const dict = m.get("df_data_dict");
    m.handleFrame({ type: "stats_update", payload: [{ index: "x" }], final: true });
    await m.stats.whenIdle();
    expect(m.stats.expectedGen).toBeUndefined();
    expect(m.get("df_data_dict")).toBe(dict);
    expect(stats).toEqual([]);
    expect(m.counters.statsStale).toBe(1);
  });
});
