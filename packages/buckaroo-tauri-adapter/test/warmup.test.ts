import { afterEach, describe, expect, it, vi } from "vitest";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { createElement, useLayoutEffect } from "react";
import { createRoot } from "react-dom/client";
import { type BuckarooError, type IModel, mountBuckaroo, type WidgetModule } from "../src/index.js";
import { placeholderState, WARMUP_LIMIT_MS } from "../src/warmup.js";
import { channelSend, fixture, type IpcArgs, fromGrid } from "./helpers.js";

afterEach(() => clearMocks());

interface Seen {
  live: number;
  renders: Array<{ func: unknown; df_id: unknown; warm: boolean }>;
  sent: unknown[];
}

/** A grid row as AG Grid paints it: what the warm-up waits for. */
function Rows({ text, seen, paint }: { text: string; seen: Seen; paint: boolean }) {
  useLayoutEffect(() => {
    seen.live += 1;
    return () => {
      seen.live -= 1;
    };
  }, [seen]);
  return paint ? createElement("div", { className: "ag-row" }, createElement("div", { className: "ag-cell" }, text)) : createElement("span", null, text);
}

/**
 * Like buckaroo 0.15.11's widget.js: a React root per render, its cleanup dropped, and a
 * row request sent when the view's data key is "main" (AG Grid's infinite model asks).
 * `paint: false` never paints a row (the warm-up then waits out its limit).
 */
function reactWidget(seen: Seen, paint = true): WidgetModule {
  return {
    default: async () => ({
      render: ({ el, model }) => {
        const m = model as IModel;
        const view = (m.get("df_display_args") as { main: { data_key: string } }).main;
        seen.renders.push({ func: m.get("render_func_name"), df_id: m.get("df_id"), warm: el.closest(".buckaroo-tauri-warmup") !== null });
        if (view.data_key === "main") m.send({ type: "infinite_request", payload_args: { start: 0, end: 100 } });
        createRoot(el).render(createElement(Rows, { text: `rows of ${String(m.get("df_id"))}`, seen, paint }));
      },
    }),
  };
}

function plugin(seen: Seen, state: string) {
  const attach: { channel?: { id: number } } = {};
  mockIPC((cmd, payload) => {
    const args = payload as IpcArgs;
    if (cmd.endsWith("buckaroo_status")) return state === "ready" ? { state, generation: 1, pid: 1, python: "p", buckarooVersion: null } : { state, attempt: 1 };
    if (cmd.endsWith("buckaroo_attach")) {
      attach.channel = args.onEvent;
      return { sessionId: "sess-1", connected: false, autoload: null };
    }
    if (cmd.endsWith("buckaroo_send")) {
      seen.sent.push(args.msg);
      return null;
    }
    if (cmd.startsWith("plugin:event")) return null;
    throw new Error(`unexpected ${cmd}`);
  }, { shouldMockEvents: true });
  return attach;
}

function setup(paint = true, state = "starting") {
  const seen: Seen = { live: 0, renders: [], sent: [] };
  const el = document.createElement("div");
  document.body.append(el);
  const errors: BuckarooError[] = [];
  return { seen, el, errors, attach: plugin(seen, state), opts: { widget: reactWidget(seen, paint), onError: (e: BuckarooError) => errors.push(e) } };
}

const warmEl = (el: HTMLElement) => el.querySelector(".buckaroo-tauri-warmup");

describe("the widget warmed up before the data", () => {
  it("renders once over the placeholder, unseen, sends nothing, and ends once rows are painted", async () => {
    const { seen, el, errors, opts } = setup();
    const handle = await mountBuckaroo(el, opts);
    await vi.waitFor(() => expect(seen.renders).toHaveLength(1));
    expect(seen.renders[0]).toEqual({ func: "BuckarooInfiniteWidget", df_id: "warmup", warm: true });
    const style = (warmEl(el) as HTMLElement).style;
    expect([style.opacity, style.pointerEvents]).toEqual(["0", "none"]);
    expect(warmEl(el)?.getAttribute("aria-hidden")).toBe("true");
    await vi.waitFor(() => expect([seen.live, warmEl(el)]).toEqual([0, null]));
    expect(seen.sent).toEqual([]);
    expect(handle.model.counters.requests).toBe(0);
    expect(errors).toEqual([]);
    handle.dispose();
  });

  it("the first data ends the warm-up before its real grid mounts: one live tree, the real one, asking for rows", async () => {
    const { seen, el, errors, attach, opts } = setup(false); // never painted: still warming when the data comes
    const handle = await mountBuckaroo(el, opts);
    await vi.waitFor(() => expect(seen.live).toBe(1));
    expect(warmEl(el)).not.toBeNull();
    channelSend(attach.channel, fixture("initial_state_buckaroo"), 0);
    await handle.rendered;
    await vi.waitFor(() => expect(seen.live).toBe(1));
    expect(warmEl(el)).toBeNull();
    expect(seen.renders.map((r) => [r.df_id, r.warm])).toEqual([["warmup", true], ["sess-1", false]]);
    expect(el.querySelector(".buckaroo-tauri-grid")?.textContent).toBe("rows of sess-1");
    await vi.waitFor(() => expect(fromGrid(seen.sent)).toHaveLength(1));
    expect(errors).toEqual([]);
    handle.dispose();
    await vi.waitFor(() => expect(seen.live).toBe(0));
  });

  it("a dispose during the warm-up ends its tree and removes its element", async () => {
    const { seen, el, opts } = setup(false);
    const handle = await mountBuckaroo(el, opts);
    await vi.waitFor(() => expect(seen.live).toBe(1));
    handle.dispose();
    await vi.waitFor(() => expect(seen.live).toBe(0));
    expect(el.childNodes).toHaveLength(0);
  });

  it("gives up after its limit when no row is ever painted", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "Date", "requestAnimationFrame"] });
    try {
      const { seen, el, opts } = setup(false);
      const pending = mountBuckaroo(el, opts);
      await vi.advanceTimersByTimeAsync(50);
      const handle = await pending;
      await vi.waitFor(() => expect(seen.live).toBe(1));
      await vi.advanceTimersByTimeAsync(WARMUP_LIMIT_MS + 100);
      expect([seen.live, warmEl(el)]).toEqual([0, null]);
      handle.dispose();
    } finally {
      vi.useRealTimers();
    }
  });

  it("warmUp: false mounts nothing before the data", async () => {
    const { seen, el, opts } = setup();
    const handle = await mountBuckaroo(el, { ...opts, warmUp: false });
    await new Promise((r) => setTimeout(r, 50));
    expect(seen.renders).toEqual([]);
    handle.dispose();
  });

  it("a window mounted with the sidecar up warms nothing: its data comes within a warm-up's own time", async () => {
    const { seen, el, opts } = setup(true, "ready");
    const handle = await mountBuckaroo(el, opts);
    await new Promise((r) => setTimeout(r, 50));
    expect(seen.renders).toEqual([]);
    handle.dispose();
  });

  it("the placeholder has the shape of a real initial_state and reads rows from a local source", () => {
    const real = fixture("initial_state_buckaroo");
    const warm = placeholderState("BuckarooInfiniteWidget");
    for (const key of ["df_meta", "df_data_dict", "df_display_args", "buckaroo_state", "buckaroo_options", "command_config", "operations", "operation_results"]) {
      expect(warm, key).toHaveProperty(key);
    }
    // The view state equal to a real load's: buckaroo keys its AG Grid by it.
    expect(warm.buckaroo_state).toEqual(real.buckaroo_state);
    const main = (warm.df_display_args as { main: { data_key: string } }).main;
    expect(main.data_key).not.toBe("main");
    expect(Array.isArray((warm.df_data_dict as Record<string, unknown>)[main.data_key])).toBe(true);
  });
});
