/**
 * Mount/dispose interleavings (issue 28): whatever the order and timing, the newest
 * mount is the one live and showing rows, the window attaches in call order, and a
 * late dispose touches nothing of a newer grid.
 */
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { type BuckarooError, type BuckarooHandle, mountBuckaroo } from "../src/index.js";
import { channelSend, countingWidget, fixture, type IpcArgs, rootWidget } from "./helpers.js";

const live: BuckarooHandle[] = [];
afterEach(() => {
  for (const h of live.splice(0)) h.dispose();
  clearMocks();
});

/** The plugin: every attach's Channel, in the order the attaches arrived. */
function mockPlugin() {
  const attaches: Array<{ id: number }> = [];
  mockIPC((cmd, payload) => {
    if (cmd.endsWith("buckaroo_status")) return { state: "ready", generation: 1, pid: 1, python: "p", buckarooVersion: null };
    if (cmd.endsWith("buckaroo_attach")) {
      attaches.push((payload as IpcArgs).onEvent);
      return { sessionId: "s", connected: true, autoload: null };
    }
    throw new Error(`unexpected ${cmd}`);
  }, { shouldMockEvents: true });
  return attaches;
}

// A widget that returns its cleanup, and one like buckaroo 0.15.11's that drops it:
// the adapter unmounts the React root that one made.
let widgetOf = countingWidget;

function setup() {
  const el = document.createElement("div");
  document.body.append(el);
  const trees = { live: 0 };
  const errors: BuckarooError[] = [];
  // The real grids' lives; the warm-up's placeholder tree has its own tests (warmup.test.ts).
  const opts = { widget: widgetOf(trees), onError: (e: BuckarooError) => errors.push(e), warmUp: false };
  return { el, trees, errors, opts, attaches: mockPlugin() };
}

function keep(h: BuckarooHandle): BuckarooHandle {
  live.push(h);
  return h;
}
const settle = () => new Promise((r) => setTimeout(r, 20));

describe.each([
  ["returns its cleanup", countingWidget],
  ["drops its cleanup (buckaroo 0.15.11)", rootWidget],
])("mount and dispose in any order; the widget %s", (_, widget) => {
  beforeEach(() => {
    widgetOf = widget;
  });
  it("mount A, mount B, dispose A late: B shows rows, A's frames go nowhere", async () => {
    const { el, trees, errors, opts, attaches } = setup();
    const a = await mountBuckaroo(el, opts);
    const pb = mountBuckaroo(el, opts);
    a.dispose(); // late: B has already begun
    const b = keep(await pb);
    expect(attaches).toHaveLength(2);
    channelSend(attaches[0], fixture("initial_state_buckaroo"), 0);
    await settle();
    expect(trees.live).toBe(0);
    channelSend(attaches[1], fixture("initial_state_buckaroo"), 0);
    await b.rendered;
    expect(el.textContent).toBe("rows of s");
    expect(el.querySelectorAll(".buckaroo-tauri-host")).toHaveLength(1);
    expect(trees.live).toBe(1);
    // A was live when B replaced it: its page hears why, once.
    expect(errors.map((e) => e.code)).toEqual(["mount_cancelled"]);
    await expect(a.loadPath("/x.parquet")).rejects.toMatchObject({ code: "mount_cancelled" });
  });

  it("StrictMode's mount, abort, mount: one attach, the second mount live, no error", async () => {
    const { el, trees, errors, opts, attaches } = setup();
    const first = new AbortController();
    const pa = mountBuckaroo(el, { ...opts, signal: first.signal });
    first.abort(); // the effect's cleanup runs before its handle exists
    const pb = mountBuckaroo(el, { ...opts, signal: new AbortController().signal });
    await expect(pa).rejects.toMatchObject({ code: "mount_cancelled" });
    const b = keep(await pb);
    expect(attaches).toHaveLength(1);
    channelSend(attaches[0], fixture("initial_state_buckaroo"), 0);
    await b.rendered;
    expect([trees.live, el.textContent, errors]).toEqual([1, "rows of s", []]);
  });

  it("two mounts in one tick: the first is cancelled before it attaches", async () => {
    const { el, errors, opts, attaches } = setup();
    const pa = mountBuckaroo(el, opts);
    const pb = mountBuckaroo(el, opts);
    await expect(pa).rejects.toMatchObject({ code: "mount_cancelled", hint: expect.stringContaining("BuckarooGrid") });
    const b = keep(await pb);
    expect(attaches).toHaveLength(1);
    channelSend(attaches[0], fixture("initial_state_buckaroo"), 0);
    await b.rendered;
    expect(el.textContent).toBe("rows of s");
    expect(errors.map((e) => e.code)).toEqual(["mount_cancelled"]);
  });

  it("dispose before the first frame: nothing renders, nothing is reported, the element is left empty", async () => {
    const { el, trees, errors, opts, attaches } = setup();
    const statuses: string[] = [];
    const a = await mountBuckaroo(el, { ...opts, onStatus: (s) => statuses.push(s.state) });
    a.dispose();
    channelSend(attaches[0], fixture("initial_state_buckaroo"), 0);
    channelSend(attaches[0], fixture("error_invalid_json"), 1);
    await settle();
    expect([trees.live, el.childNodes.length, errors, statuses]).toEqual([0, 0, [], ["ready"]]);
  });

  it("dispose unmounts the grid's tree, and each new file unmounts the previous one's", async () => {
    const { el, trees, opts, attaches } = setup();
    const a = await mountBuckaroo(el, opts);
    channelSend(attaches[0], fixture("initial_state_buckaroo"), 0);
    await a.rendered;
    channelSend(attaches[0], fixture("initial_state_viewer"), 1);
    channelSend(attaches[0], fixture("initial_state_buckaroo"), 2);
    await vi.waitFor(() => expect(el.textContent).toBe("rows of s"));
    await settle();
    expect(trees.live).toBe(1);
    a.dispose();
    expect([trees.live, el.childNodes.length]).toEqual([0, 0]);
  });

  it("a mount in another element of the window replaces the live one there, and only its own host goes", async () => {
    const { el, trees, opts, attaches } = setup();
    const other = document.createElement("div");
    document.body.append(other);
    const a = await mountBuckaroo(el, opts);
    channelSend(attaches[0], fixture("initial_state_buckaroo"), 0);
    await a.rendered;
    const b = keep(await mountBuckaroo(other, opts));
    expect([trees.live, el.childNodes.length, other.childNodes.length]).toEqual([0, 0, 1]);
    channelSend(attaches[1], fixture("initial_state_buckaroo"), 0);
    await b.rendered;
    expect(other.textContent).toBe("rows of s");
  });
});
