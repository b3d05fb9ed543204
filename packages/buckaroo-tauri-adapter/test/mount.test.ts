import { afterEach, describe, expect, it, vi } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { mountBuckaroo, type WidgetModule } from "../src/index.js";
import { channelSend, fixture, parquetFixture } from "./helpers.js";

afterEach(() => clearMocks());

/** Stands in for widget.js: records what the real widget does with the model. */
function fakeWidget() {
  const log: string[] = [];
  const rows: Array<[Record<string, unknown>, DataView[]]> = [];
  const mod: WidgetModule = {
    default: async () => ({
      initialize: ({ model }: { model: any }) => {
        log.push("initialize");
        model.on("msg:custom", (m: Record<string, unknown>, b: DataView[]) => rows.push([m, b]));
      },
      render: ({ model, el }: { model: any; el: HTMLElement }) => {
        log.push(`render:${model.get("render_func_name")}`);
        el.textContent = String(model.get("render_func_name"));
      },
    }),
  };
  return { mod, log, rows };
}

describe("mountBuckaroo", () => {
  it("attaches a Channel, renders on the first initial_state, relays rows, remounts on a mode change", async () => {
    let channel: any;
    const sent: unknown[] = [];
    mockIPC((cmd, args: any) => {
      if (cmd.endsWith("buckaroo_status")) return { state: "ready", generation: 1, pid: 1, python: "p", buckarooVersion: null };
      if (cmd.endsWith("buckaroo_attach")) {
        channel = args.onEvent;
        return { sessionId: "sess-1", connected: true, autoload: null };
      }
      if (cmd.endsWith("buckaroo_load_path")) return { sessionId: "sess-1", path: args.args.path, mode: "buckaroo", rows: 50, columns: [] };
      if (cmd.endsWith("buckaroo_send")) return sent.push(args.msg), null;
      throw new Error(`unexpected ${cmd}`);
    }, { shouldMockEvents: true });

    const el = document.createElement("div");
    document.body.append(el);
    const { mod, log, rows } = fakeWidget();
    const handle = await mountBuckaroo(el, { widget: mod });
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
    await vi.waitFor(() => expect(sent).toHaveLength(1));
    channelSend(channel, fixture("infinite_resp_parquet"), 1);
    channelSend(channel, parquetFixture(), 2);
    channelSend(channel, fixture("infinite_resp_error"), 3);
    expect(rows.map(([m, b]) => [m.type, b.length])).toEqual([
      ["infinite_resp", 1],
      ["infinite_resp", 0],
    ]);

    // Viewer-mode file in the same window: a fresh grid; the old one's handlers are dropped.
    channelSend(channel, fixture("initial_state_viewer"), 4);
    await vi.waitFor(() => expect(log).toEqual(["initialize", "render:BuckarooInfiniteWidget", "initialize", "render:DFViewerInfinite"]));
    channelSend(channel, fixture("infinite_resp_error"), 5);
    expect(rows).toHaveLength(3); // one new handler, not two

    // New data in the same mode (another file, a restart replay): a fresh grid, so the
    // old file's cached rows cannot show. A reply to our own state change keeps the grid.
    channelSend(channel, fixture("initial_state_viewer"), 6);
    await vi.waitFor(() => expect(log).toHaveLength(6));
    channelSend(channel, { ...fixture<Record<string, unknown>>("initial_state_viewer"), reply_seq: 0 }, 7);
    await new Promise((r) => setTimeout(r, 20));
    expect(log).toHaveLength(6);
    handle.dispose();
    expect(el.childElementCount).toBe(0);
  });
});
