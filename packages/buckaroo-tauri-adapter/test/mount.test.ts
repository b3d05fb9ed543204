import { afterEach, describe, expect, it, vi } from "vitest";
import { emit } from "@tauri-apps/api/event";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { EVENTS, formatError, type IModel, type LoadCompareArgs, mountBuckaroo, type WidgetModule } from "../src/index.js";
import { channelSend, fixture, type IpcArgs, rowsReply, fromGrid } from "./helpers.js";

afterEach(() => clearMocks());

/** The element the current grid renders into. */
function grid(doc: Document): HTMLElement {
  const el = doc.querySelector<HTMLElement>(".buckaroo-tauri-grid");
  if (!el) throw new Error("no grid mounted");
  return el;
}

/** Stands in for widget.js: records what the real widget does with the model. */
function fakeWidget() {
  const log: string[] = [];
  const rows: Array<[Record<string, unknown>, DataView[]]> = [];
  const mod: WidgetModule = {
    default: async () => ({
      initialize: (ctx) => {
        const model = ctx.model as IModel;
        log.push("initialize");
        model.on("msg:custom", (m: Record<string, unknown>, b: DataView[]) => rows.push([m, b]));
      },
      render: (ctx) => {
        const { el } = ctx;
        const model = ctx.model as IModel;
        log.push(`render:${model.get("render_func_name")}`);
        el.textContent = String(model.get("render_func_name"));
      },
    }),
  };
  return { mod, log, rows };
}

describe("mountBuckaroo", () => {
  it("attaches a Channel, renders on the first initial_state, relays rows, remounts on a mode change", async () => {
    let channel: { id: number } | undefined;
    const sent: unknown[] = [];
    mockIPC((cmd, payload) => {
      const args = payload as IpcArgs;
      if (cmd.endsWith("buckaroo_status")) return { state: "ready", generation: 1, pid: 1, python: "p", buckarooVersion: null };
      if (cmd.endsWith("buckaroo_attach")) {
        channel = args.onEvent;
        return { sessionId: "sess-1", connected: true, autoload: null };
      }
      if (cmd.endsWith("buckaroo_load_path")) return { sessionId: "sess-1", path: args.args.path, mode: "buckaroo", rows: 50, backend: "pandas", columns: [] };
      if (cmd.endsWith("buckaroo_send")) {
        sent.push(args.msg);
        return null;
      }
      throw new Error(`unexpected ${cmd}`);
    }, { shouldMockEvents: true });

    const el = document.createElement("div");
    document.body.append(el);
    const { mod, log, rows } = fakeWidget();
    const handle = await mountBuckaroo(el, { widget: mod, warmUp: false });
    expect(handle.sessionId).toBe("sess-1");
    expect(handle.model.get("df_id")).toBe("sess-1");
    expect(log).toEqual([]);

    const result = await handle.loadPath("/data/tiny.parquet");
    expect(result.rows).toBe(50);
    channelSend(channel, fixture("initial_state_buckaroo"), 0);
    await handle.rendered;
    expect(log).toEqual(["initialize", "render:BuckarooInfiniteWidget"]);
    expect(el.textContent).toBe("BuckarooInfiniteWidget");

    handle.model.send({ type: "infinite_request", payload_args: { start: 0, end: 20 } });
    await vi.waitFor(() => expect(fromGrid(sent)).toHaveLength(1));
    channelSend(channel, rowsReply(), 1);
    channelSend(channel, fixture("infinite_resp_error"), 2);
    expect(rows.map(([m, b]) => [m.type, b.length])).toEqual([
      ["infinite_resp", 1],
      ["infinite_resp", 0],
    ]);

    // Viewer-mode file in the same window: a fresh grid; the old one's handlers are dropped.
    channelSend(channel, fixture("initial_state_viewer"), 3);
    await vi.waitFor(() => expect(log).toEqual(["initialize", "render:BuckarooInfiniteWidget", "initialize", "render:DFViewerInfinite"]));
    channelSend(channel, fixture("infinite_resp_error"), 4);
    expect(rows).toHaveLength(3); // one new handler, not two

    // New data in the same mode (another file, a restart replay): a fresh grid, so the
    // old file's cached rows cannot show. A reply to our own state change keeps the grid.
    channelSend(channel, fixture("initial_state_viewer"), 5);
    await vi.waitFor(() => expect(log).toHaveLength(6));
    channelSend(channel, { ...fixture<Record<string, unknown>>("initial_state_viewer"), reply_seq: 0 }, 6);
    await new Promise((r) => setTimeout(r, 20));
    expect(log).toHaveLength(6);
    handle.dispose();
    expect(el.childElementCount).toBe(0);
  });
});

describe("errors never vanish", () => {
  const ready = { state: "ready", generation: 1, pid: 1, python: "p", buckarooVersion: "0.15.11" };

  it("a rejected loadPath and pickAndLoad reach onError and still reject", async () => {
    mockIPC((cmd) => {
      if (cmd.endsWith("buckaroo_status")) return ready;
      if (cmd.endsWith("buckaroo_attach")) return { sessionId: "s", connected: true, autoload: null };
      if (cmd.endsWith("buckaroo_load_path")) throw { code: "path_not_allowed", message: "path not allowed: /x.parquet", hint: "Open it with pickAndLoad()." };
      if (cmd.endsWith("buckaroo_pick_file")) throw { code: "dialog_failed", message: "no dialog" };
      throw new Error(`unexpected ${cmd}`);
    }, { shouldMockEvents: true });
    const errors: string[] = [];
    const handle = await mountBuckaroo(document.createElement("div"), { widget: fakeWidget().mod, onError: (e) => errors.push(e.code) });
    await expect(handle.loadPath("/x.parquet")).rejects.toMatchObject({ code: "path_not_allowed" });
    await expect(handle.pickAndLoad()).rejects.toMatchObject({ code: "dialog_failed" });
    expect(errors).toEqual(["path_not_allowed", "dialog_failed"]);
  });

  it("the load given to mount reports its failure without an unhandled rejection", async () => {
    mockIPC((cmd) => {
      if (cmd.endsWith("buckaroo_status")) return ready;
      if (cmd.endsWith("buckaroo_attach")) return { sessionId: "s", connected: true, autoload: null };
      throw { code: "load_failed", message: "Not a parquet file", serverCode: "invalid_file" };
    }, { shouldMockEvents: true });
    const errors: unknown[] = [];
    await mountBuckaroo(document.createElement("div"), { widget: fakeWidget().mod, load: "/d/bad.parquet", onError: (e) => errors.push(e) });
    await vi.waitFor(() => expect(errors).toEqual([{ code: "load_failed", message: "Not a parquet file", hint: undefined, serverCode: "invalid_file" }]));
  });

  it("a failed sidecar reaches onError once, with its fix", async () => {
    const failed = { state: "failed", error: { code: "buckaroo_missing", message: "buckaroo is not installed", hint: "python -m pip install buckaroo" } };
    mockIPC((cmd) => {
      if (cmd.endsWith("buckaroo_status")) return failed;
      if (cmd.endsWith("buckaroo_attach")) return { sessionId: "s", connected: false, autoload: null };
      throw new Error(`unexpected ${cmd}`);
    }, { shouldMockEvents: true });
    const errors: string[] = [];
    const states: string[] = [];
    await mountBuckaroo(document.createElement("div"), {
      widget: fakeWidget().mod,
      onStatus: (s) => states.push(s.state),
      onError: (e) => errors.push(formatError(e)),
    });
    expect(states).toEqual(["failed"]);
    expect(errors).toEqual(["buckaroo is not installed — python -m pip install buckaroo"]);
  });

  it("a load waiting for a failed sidecar is paused, not spinning, and goes on after Retry", async () => {
    const failed = { state: "failed", error: { code: "buckaroo_missing", message: "buckaroo is not installed", hint: "pip" } };
    mockIPC((cmd) => {
      if (cmd.endsWith("buckaroo_status")) return { state: "starting", attempt: 1 };
      if (cmd.endsWith("buckaroo_attach")) return { sessionId: "s", connected: false, autoload: "/d/auto.parquet" };
      if (cmd.endsWith("buckaroo_load_path")) throw { code: "sidecar_failed", message: "buckaroo is not installed" };
      throw new Error(`unexpected ${cmd}`);
    }, { shouldMockEvents: true });
    const seen: string[] = [];
    const errors: string[] = [];
    const handle = await mountBuckaroo(document.createElement("div"), {
      widget: fakeWidget().mod,
      onLoading: (l) => seen.push(l ? `${l.path}${l.paused ? " paused" : ""}` : "idle"),
      onError: (e) => errors.push(e.code),
    });
    await emit(EVENTS.status, failed); // the autoload's sidecar fails: the plugin keeps the load
    await emit(EVENTS.status, { state: "starting", attempt: 1 });
    await emit(EVENTS.status, failed);
    await emit(EVENTS.status, { state: "starting", attempt: 1 }); // Retry
    expect(seen).toEqual(["/d/auto.parquet", "/d/auto.parquet paused", "/d/auto.parquet", "/d/auto.parquet paused", "/d/auto.parquet"]);
    await emit(EVENTS.status, failed);
    // A page load refused for the same reason is kept too (the plugin sends it after Retry).
    await expect(handle.loadPath("/d/next.csv")).rejects.toMatchObject({ code: "sidecar_failed" });
    expect(seen.slice(5)).toEqual(["/d/auto.parquet paused", "/d/next.csv", "/d/next.csv paused"]);
    expect(handle.loading).toEqual({ path: "/d/next.csv", source: "page", paused: true });
    expect(errors).toEqual(["buckaroo_missing", "buckaroo_missing", "buckaroo_missing"]); // each failure, not the refused load
  });

  it("an autoload whose sidecar failed before the window attached is paused from the start", async () => {
    mockIPC((cmd) => {
      if (cmd.endsWith("buckaroo_status")) return { state: "failed", error: { code: "python_not_found", message: "no python" } };
      if (cmd.endsWith("buckaroo_attach")) return { sessionId: "s", connected: false, autoload: "/d/auto.parquet" };
      throw new Error(`unexpected ${cmd}`);
    }, { shouldMockEvents: true });
    const handle = await mountBuckaroo(document.createElement("div"), { widget: fakeWidget().mod });
    expect(handle.loading).toEqual({ path: "/d/auto.parquet", source: "autoload", paused: true });
  });

  it("a file changed on disk reaches onFileChanged, and reload() loads it again with progress under its name", async () => {
    let channel: { id: number } | undefined;
    const reloads: string[] = [];
    mockIPC((cmd, payload) => {
      const args = payload as IpcArgs;
      if (cmd.endsWith("buckaroo_status")) return ready;
      if (cmd.endsWith("buckaroo_attach")) {
        channel = args.onEvent;
        return { sessionId: "s", connected: true, autoload: null };
      }
      if (cmd.endsWith("buckaroo_reload")) {
        reloads.push(cmd);
        return { sessionId: "s", path: "/d/sales.parquet", mode: "buckaroo", rows: 70, backend: "pandas", columns: [] };
      }
      if (cmd.endsWith("buckaroo_send")) return null;
      throw new Error(`unexpected ${cmd}`);
    }, { shouldMockEvents: true });
    const changes: unknown[] = [];
    const seen: Array<string | null> = [];
    const handle = await mountBuckaroo(document.createElement("div"), {
      widget: fakeWidget().mod,
      onFileChanged: (c) => changes.push(c),
      onLoading: (l) => seen.push(l ? l.path : null),
    });
    channelSend(channel, { ...fixture<Record<string, unknown>>("initial_state_buckaroo"), metadata: { path: "/d/sales.parquet", rows: 50 } }, 0);
    await handle.rendered;
    channelSend(channel, { type: "buckaroo_tauri_file_changed", path: "/d/sales.parquet", change: "modified", reloading: false }, 1);
    expect(changes).toEqual([{ path: "/d/sales.parquet", change: "modified", reloading: false }]);
    await expect(handle.reload()).resolves.toMatchObject({ rows: 70 });
    expect(reloads).toHaveLength(1);
    expect(seen).toEqual(["/d/sales.parquet"]);
  });

  it("a widget URL that does not load is a coded error with the fix, and the CSS is linked once", async () => {
    let channel: { id: number } | undefined;
    mockIPC((cmd, payload) => {
      const args = payload as IpcArgs;
      if (cmd.endsWith("buckaroo_status")) return ready;
      if (cmd.endsWith("buckaroo_attach")) {
        channel = args.onEvent;
        return { sessionId: "s", connected: true, autoload: null };
      }
      throw new Error(`unexpected ${cmd}`);
    }, { shouldMockEvents: true });
    const errors: Array<{ code: string; hint?: string }> = [];
    (await mountBuckaroo(document.createElement("div"), { widget: "/nowhere/widget.js" })).dispose();
    await mountBuckaroo(document.createElement("div"), { widget: "/nowhere/widget.js", onError: (e) => errors.push(e) });
    expect([...document.querySelectorAll('link[href="/nowhere/compiled.css"]')]).toHaveLength(1);
    // The reset of the host's element rules sits right before buckaroo's stylesheet (grid.ts).
    expect(document.getElementById("buckaroo-tauri-form-reset")?.nextElementSibling?.getAttribute("href")).toBe("/nowhere/compiled.css");
    channelSend(channel, fixture("initial_state_buckaroo"), 0);
    await vi.waitFor(() => expect(errors.map((e) => e.code)).toEqual(["widget_failed"]));
    expect(errors[0].hint).toContain("buckarooAssets()");
  });

  it("a failed attach rejects mountBuckaroo and reaches onError", async () => {
    mockIPC((cmd) => {
      if (cmd.endsWith("buckaroo_status")) return ready;
      throw { code: "not_ready", message: "sidecar not ready" };
    }, { shouldMockEvents: true });
    const errors: string[] = [];
    await expect(mountBuckaroo(document.createElement("div"), { widget: fakeWidget().mod, onError: (e) => errors.push(e.code) })).rejects.toMatchObject({
      code: "not_ready",
    });
    expect(errors).toEqual(["not_ready"]);
  });
});

describe("loading and failed row windows", () => {
  function mockPlugin(autoload: string | null) {
    const box: { channel: { id: number } } = { channel: { id: -1 } };
    mockIPC((cmd, payload) => {
      const args = payload as IpcArgs;
      if (cmd.endsWith("buckaroo_status")) return { state: "ready", generation: 1, pid: 1, python: "p", buckarooVersion: "0.15.11" };
      if (cmd.endsWith("buckaroo_attach")) {
        box.channel = args.onEvent;
        return { sessionId: "s", connected: true, autoload };
      }
      if (cmd.endsWith("buckaroo_load_path")) {
        if (args.args.path.endsWith("bad.csv")) throw { code: "load_failed", message: "nope", serverCode: "invalid_file" };
        return { sessionId: "s", path: args.args.path, mode: "buckaroo", rows: 3, columns: [] };
      }
      if (cmd.endsWith("buckaroo_load_compare")) {
        const compare = (payload as { args: LoadCompareArgs }).args;
        if (compare.joinColumns.includes("dup")) throw { code: "load_failed", message: "keys", serverCode: "compare_error" };
        return { sessionId: "s", path: compare.path1, mode: "viewer", rows: 5, columns: [] };
      }
      if (cmd.endsWith("buckaroo_send")) return null;
      throw new Error(`unexpected ${cmd}`);
    }, { shouldMockEvents: true });
    return box;
  }
  const state = (path: string) => ({ ...fixture<Record<string, unknown>>("initial_state_buckaroo"), metadata: { path, rows: 3 } });

  it("an autoload is in progress from the first moment until its first rows are painted", async () => {
    const box = mockPlugin("/d/big.parquet");
    const seen: Array<string | null> = [];
    const root = document.body.appendChild(document.createElement("div"));
    const handle = await mountBuckaroo(root, { widget: fakeWidget().mod, onLoading: (l) => seen.push(l && `${l.source}:${l.path}`) });
    expect(handle.loading).toEqual({ path: "/d/big.parquet", source: "autoload", paused: false });
    channelSend(box.channel, state("/d/big.parquet"), 0);
    await handle.rendered;
    expect(handle.loading).not.toBeNull(); // state, but no rows yet
    handle.model.send({ type: "infinite_request", payload_args: { start: 0, end: 20 } });
    channelSend(box.channel, rowsReply(), 1);
    expect(handle.loading).not.toBeNull(); // the rows reached the grid, not yet the screen
    // The grid paints its rows:
    grid(document).innerHTML =
      '<div class="ag-root-wrapper"><div class="ag-header-cell" col-id="index"></div><div class="ag-center-cols-container"><div class="ag-row"><div class="ag-cell">7</div></div></div></div>';
    await vi.waitFor(() => expect(handle.loading).toBeNull());
    expect(seen).toEqual(["autoload:/d/big.parquet", null]);
  });

  it("a page load that fails ends its progress; a failed row window is reported and said over the grid", async () => {
    const box = mockPlugin(null);
    const seen: Array<string | null> = [];
    const errors: Array<{ code: string; serverCode?: string; hint?: string }> = [];
    const el = document.createElement("div");
    const handle = await mountBuckaroo(el, { widget: fakeWidget().mod, onLoading: (l) => seen.push(l ? l.path : null), onError: (e) => errors.push(e) });
    await expect(handle.loadPath("/d/bad.csv")).rejects.toMatchObject({ code: "load_failed" });
    expect(seen).toEqual(["/d/bad.csv", null]);

    await handle.loadPath("/d/mixed.jsonl");
    channelSend(box.channel, state("/d/mixed.jsonl"), 0);
    await handle.rendered;
    channelSend(box.channel, { type: "infinite_resp", key: { start: 0, end: 20 }, length: 0, error_info: "column 'value': expected bytes", error_code: "serialization_failed", column: "value" }, 1);
    await vi.waitFor(() => expect(seen).toEqual(["/d/bad.csv", null, "/d/mixed.jsonl", null]));
    expect(errors.at(-1)).toMatchObject({ code: "rows_failed", serverCode: "serialization_failed" });
    expect(errors.at(-1)?.hint).toContain("Column 'value'");
    const overlay = el.querySelector(".buckaroo-tauri-rows-error");
    expect(overlay?.textContent).toContain("Rows 0–20 could not be shown: column 'value': expected bytes");
    expect(handle.model.counters.errors).toBe(1);

    channelSend(box.channel, rowsReply(), 2);
    expect(el.querySelector(".buckaroo-tauri-rows-error")).toBeNull();
  });

  it("a compare is a load of its first file: progress, and a refusal reported with the server's code", async () => {
    mockPlugin(null);
    const seen: Array<string | null> = [];
    const errors: Array<{ code: string; serverCode?: string }> = [];
    const handle = await mountBuckaroo(document.createElement("div"), {
      widget: fakeWidget().mod,
      onLoading: (l) => seen.push(l ? l.path : null),
      onError: (e) => errors.push(e),
    });
    await expect(handle.loadCompare({ path1: "/d/a.csv", path2: "/d/b.csv", joinColumns: ["dup"] })).rejects.toMatchObject({ serverCode: "compare_error" });
    expect(seen).toEqual(["/d/a.csv", null]);
    expect(errors.at(-1)).toMatchObject({ code: "load_failed", serverCode: "compare_error" });
    await expect(handle.loadCompare({ path1: "/d/a.csv", path2: "/d/b.csv", joinColumns: ["id"] })).resolves.toMatchObject({ rows: 5 });
    expect(handle.loading).toEqual({ path: "/d/a.csv", source: "page", paused: false });
  });
});
