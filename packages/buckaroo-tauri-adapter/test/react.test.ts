/** `<BuckarooGrid>` under React's StrictMode (effects run, clean up and run again). */
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { createElement, StrictMode } from "react";
import { act } from "react";
import { createRoot } from "react-dom/client";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { BuckarooError, BuckarooHandle } from "../src/index.js";
import { BuckarooGrid, type BuckarooGridProps } from "../src/react.js";
import { channelSend, countingWidget, fixture, type IpcArgs } from "./helpers.js";

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;
afterEach(() => clearMocks());

function mockPlugin() {
  const calls = { attaches: [] as Array<{ id: number }>, loads: [] as string[] };
  mockIPC((cmd, payload) => {
    const args = payload as IpcArgs;
    if (cmd.endsWith("buckaroo_status")) return { state: "ready", generation: 1, pid: 1, python: "p", buckarooVersion: null };
    if (cmd.endsWith("buckaroo_attach")) {
      calls.attaches.push(args.onEvent);
      return { sessionId: "s", connected: true, autoload: null };
    }
    if (cmd.endsWith("buckaroo_load_path")) {
      calls.loads.push(args.args.path);
      return { sessionId: "s", path: args.args.path, mode: "buckaroo", rows: 50, backend: "pandas", columns: [] };
    }
    throw new Error(`unexpected ${cmd}`);
  }, { shouldMockEvents: true });
  return calls;
}

describe("<BuckarooGrid>", () => {
  it("under StrictMode: one attach, rows shown, a new load prop loads, unmount frees the grid's tree", async () => {
    const calls = mockPlugin();
    const trees = { live: 0 };
    const widget = countingWidget(trees);
    const errors: BuckarooError[] = [];
    const handles: Array<BuckarooHandle | null> = [];
    const parent = document.createElement("div");
    document.body.append(parent);
    const root = createRoot(parent);
    const render = (props: Partial<BuckarooGridProps>) =>
      act(() => root.render(createElement(StrictMode, null, createElement(BuckarooGrid, { widget, onError: (e) => errors.push(e), onHandle: (h) => handles.push(h), ...props }))));

    await render({ load: "/d/a.parquet" });
    await vi.waitFor(() => expect(handles.filter(Boolean)).toHaveLength(1));
    expect(calls.attaches).toHaveLength(1);
    await vi.waitFor(() => expect(calls.loads).toEqual(["/d/a.parquet"]));
    await act(async () => channelSend(calls.attaches[0], fixture("initial_state_buckaroo"), 0));
    await vi.waitFor(() => expect(parent.textContent).toBe("rows of s"));
    const container = parent.firstElementChild as HTMLElement;
    expect([container.dataset.buckarooGrid, container.style.height]).toEqual(["", "100%"]);

    await render({ load: "/d/b.parquet" });
    await vi.waitFor(() => expect(calls.loads).toEqual(["/d/a.parquet", "/d/b.parquet"]));
    expect(calls.attaches).toHaveLength(1);

    await act(async () => root.unmount());
    expect([trees.live, parent.childNodes.length, handles.at(-1), errors]).toEqual([0, 0, null, []]);
  });
});
