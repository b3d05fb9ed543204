/**
 * A polled attach: the frames come as the replies to `buckaroo_poll`, in batches, and
 * feed the model exactly as a Channel's messages did.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, describe, expect, it, vi } from "vitest";
import { type BuckarooError, type BuckarooHandle, decodeBatch, type IModel, mountBuckaroo, type WidgetModule } from "../src/index.js";
import { fixture, type IpcArgs, rootWidget, rowsReply, fromGrid } from "./helpers.js";

afterEach(() => clearMocks());

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** A batch as frame_queue.rs lays it out: [u32 LE length][u8 kind][payload] per frame. */
function batch(...frames: Array<Record<string, unknown> | ArrayBuffer>): ArrayBuffer {
  const parts = frames.map((f) =>
    f instanceof ArrayBuffer ? { kind: 1, bytes: new Uint8Array(f) } : { kind: 0, bytes: new TextEncoder().encode(JSON.stringify(f)) },
  );
  const out = new Uint8Array(parts.reduce((n, p) => n + 5 + p.bytes.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    new DataView(out.buffer).setUint32(at, p.bytes.byteLength, true);
    out[at + 4] = p.kind;
    out.set(p.bytes, at + 5);
    at += 5 + p.bytes.byteLength;
  }
  return out.buffer;
}

/** The plugin with a polled attach: each poll waits for the test's `push` (or `fail`). */
function mockPolledPlugin() {
  const polls: Array<{ id: number; answer: (b: ArrayBuffer) => void; refuse: (e: unknown) => void }> = [];
  const sent: Record<string, unknown>[] = [];
  const attached: Array<Record<string, unknown>> = [];
  mockIPC(
    (cmd, payload) => {
      const args = payload as IpcArgs & { id: number };
      if (cmd.endsWith("buckaroo_status")) return { state: "ready", generation: 1, pid: 1, python: "p", buckarooVersion: "0.15.11" };
      if (cmd.endsWith("buckaroo_attach")) {
        attached.push(payload as Record<string, unknown>);
        return { sessionId: "s", connected: true, autoload: null, pollId: 7 };
      }
      if (cmd.endsWith("buckaroo_poll")) return new Promise((answer, refuse) => polls.push({ id: args.id, answer, refuse }));
      if (cmd.endsWith("buckaroo_send")) {
        sent.push(args.msg);
        return null;
      }
      throw new Error(`unexpected ${cmd}`);
    },
    { shouldMockEvents: true },
  );
  return { polls, sent, attached };
}

/** Stands in for widget.js: the row replies it is given. */
function rowsWidget(rows: Array<[Record<string, unknown>, DataView[]]>): WidgetModule {
  return {
    default: async () => ({
      initialize: ({ model }) => (model as IModel).on("msg:custom", (m: Record<string, unknown>, b: DataView[]) => rows.push([m, b])),
      render: ({ el }) => {
        el.textContent = "grid";
      },
    }),
  };
}

describe("decodeBatch", () => {
  it("gives JSON frames as objects and row replies as views, in order", () => {
    const frames = decodeBatch(batch({ type: "a" }, rowsReply(), { type: "b" }));
    expect(frames).toHaveLength(3);
    expect(frames[0]).toEqual({ type: "a" });
    expect(new Uint8Array(frames[1] as Uint8Array)).toEqual(new Uint8Array(rowsReply()));
    expect(frames[2]).toEqual({ type: "b" });
    expect(decodeBatch(new ArrayBuffer(0))).toEqual([]);
  });

  it("reads the same batch given as a number array or as a view into a larger buffer", () => {
    const bytes = new Uint8Array(batch({ type: "a" }, rowsReply()));
    const want = decodeBatch(bytes.buffer);
    expect(decodeBatch(Array.from(bytes))).toEqual(want); // what an IPC without raw bytes gives
    const padded = new Uint8Array(bytes.byteLength + 8);
    padded.set(bytes, 3);
    expect(decodeBatch(padded.subarray(3, 3 + bytes.byteLength))).toEqual(want);
  });

  it("refuses a batch that ends inside a record", () => {
    expect(() => decodeBatch(batch({ type: "a" }).slice(0, 7))).toThrow(/ends inside a record/);
  });
});

describe("a polled mount", () => {
  it("asks to poll, feeds each batch's frames in order and polls again at once", async () => {
    const plugin = mockPolledPlugin();
    const rows: Array<[Record<string, unknown>, DataView[]]> = [];
    const el = document.body.appendChild(document.createElement("div"));
    const handle = await mountBuckaroo(el, { widget: rowsWidget(rows), warmUp: false });
    expect(plugin.attached[0].poll).toBe(true);
    await vi.waitFor(() => expect(plugin.polls).toHaveLength(1));
    expect(plugin.polls[0].id).toBe(7);

    plugin.polls[0].answer(batch(fixture("initial_state_buckaroo")));
    await handle.rendered;
    await vi.waitFor(() => expect(plugin.polls).toHaveLength(2));
    handle.model.send({ type: "infinite_request", payload_args: { start: 0, end: 20 } });
    await vi.waitFor(() => expect(fromGrid(plugin.sent)).toHaveLength(1));
    // Two replies in one batch: both reach the grid, in the order sent.
    plugin.polls[1].answer(batch(rowsReply(), fixture("infinite_resp_error")));
    await vi.waitFor(() => expect(rows).toHaveLength(2));
    expect(rows.map(([m, b]) => [m.type, b.length])).toEqual([
      ["infinite_resp", 1],
      ["infinite_resp", 0],
    ]);
    // An empty batch (the plugin's wait ended): poll again.
    await vi.waitFor(() => expect(plugin.polls).toHaveLength(3));
    plugin.polls[2].answer(new ArrayBuffer(0));
    await vi.waitFor(() => expect(plugin.polls).toHaveLength(4));

    // Disposed: a batch still in flight feeds nothing, and no poll follows.
    handle.dispose();
    plugin.polls[3].answer(batch(rowsReply()));
    await new Promise((r) => setTimeout(r, 20));
    expect(rows).toHaveLength(2);
    expect(plugin.polls).toHaveLength(4);
  });

  it("stops at not_attached without an error, and reports any other refusal or an unreadable batch once", async () => {
    const plugin = mockPolledPlugin();
    const errors: BuckarooError[] = [];
    const el = document.body.appendChild(document.createElement("div"));
    await mountBuckaroo(el, { widget: rowsWidget([]), warmUp: false, onError: (e) => errors.push(e) });
    await vi.waitFor(() => expect(plugin.polls).toHaveLength(1));
    plugin.polls[0].refuse({ code: "not_attached", message: "replaced" });
    await new Promise((r) => setTimeout(r, 20));
    expect(plugin.polls).toHaveLength(1);
    expect(errors).toEqual([]);

    const refused: BuckarooError[] = [];
    const again = await mountBuckaroo(el, { widget: rowsWidget([]), warmUp: false, onError: (e) => refused.push(e) });
    await vi.waitFor(() => expect(plugin.polls).toHaveLength(2));
    // Tauri refuses a command the capability lacks with a plain string.
    plugin.polls[1].refuse("buckaroo-tauri.buckaroo_poll not allowed. Permissions associated with this command: ...");
    await vi.waitFor(() => expect(refused).toHaveLength(1));
    expect(refused[0].code).toBe("invalid_request");
    expect(refused[0].hint).toMatch(/allow-buckaroo-poll/);
    await new Promise((r) => setTimeout(r, 20));
    expect(plugin.polls).toHaveLength(2);

    // A batch that cannot be read loses its frames: said, not left waiting.
    const third = await mountBuckaroo(el, { widget: rowsWidget([]), warmUp: false, onError: (e) => refused.push(e) });
    await vi.waitFor(() => expect(plugin.polls).toHaveLength(3));
    plugin.polls[2].answer(batch({ type: "a" }).slice(0, 7));
    await vi.waitFor(() => expect(refused.map((e) => e.code)).toContain("protocol_mismatch"));
    await new Promise((r) => setTimeout(r, 20));
    expect(plugin.polls).toHaveLength(3);
    again.dispose();
    third.dispose();
  });

  it("a disposed mount is garbage while its last poll is still in flight", async () => {
    const plugin = mockPolledPlugin();
    const el = document.body.appendChild(document.createElement("div"));
    let handle: BuckarooHandle | null = await mountBuckaroo(el, { widget: rootWidget({ live: 0 }), warmUp: false });
    await vi.waitFor(() => expect(plugin.polls).toHaveLength(1));
    plugin.polls[0].answer(batch(fixture("initial_state_buckaroo")));
    await handle.rendered;
    await vi.waitFor(() => expect(plugin.polls).toHaveLength(2));
    const model = new WeakRef<object>(handle.model);
    handle.dispose();
    el.remove();
    handle = null;
    // Up to 1 s: jsdom and React let go of a disposed tree over a few of their own turns
    // (~100 ms here, more on a busy machine); the poll stays in flight throughout.
    for (let i = 0; i < 100 && model.deref(); i++) {
      await new Promise((r) => setTimeout(r, 10));
      gc();
    }
    expect(model.deref()).toBeUndefined();
    plugin.polls[1].answer(new ArrayBuffer(0));
  });
});
