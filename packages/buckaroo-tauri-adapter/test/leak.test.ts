/**
 * A disposed mount is garbage: nothing of it stays reachable from the window. Each
 * toggle of a grid used to keep its whole mount (model and its state, the detached grid
 * element, its React root's listeners): about 0.2 MiB per mount/dispose in the app.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import { afterEach, expect, it } from "vitest";
import { type BuckarooHandle, mountBuckaroo } from "../src/index.js";
import { channelSend, fixture, type IpcArgs, rootWidget } from "./helpers.js";

afterEach(() => clearMocks());

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function callbacks(): Map<number, unknown> {
  return (window as unknown as { __TAURI_INTERNALS__: { callbacks: Map<number, unknown> } }).__TAURI_INTERNALS__.callbacks;
}

/** The plugin: answers status and attach; row requests stay unanswered (their replies would go to a newer Channel). */
function mockPlugin() {
  const box: { channel?: { id: number } } = {};
  mockIPC((cmd, payload) => {
    if (cmd.endsWith("buckaroo_status")) return { state: "ready", generation: 1, pid: 1, python: "p", buckarooVersion: "0.15.11" };
    if (cmd.endsWith("buckaroo_attach")) {
      box.channel = (payload as IpcArgs).onEvent;
      return { sessionId: "s", connected: true, autoload: null };
    }
    if (cmd.endsWith("buckaroo_send")) return null;
    throw new Error(`unexpected ${cmd}`);
  }, { shouldMockEvents: true });
  return box;
}

/** Mount a grid like buckaroo 0.15.11's, show a state, leave a row request unanswered, and dispose it. */
async function mountAndDispose(box: { channel?: { id: number } }): Promise<{ model: WeakRef<object>; channelId: number }> {
  const el = document.body.appendChild(document.createElement("div"));
  let handle: BuckarooHandle | null = await mountBuckaroo(el, { widget: rootWidget({ live: 0 }) });
  const channelId = box.channel?.id ?? -1;
  channelSend(box.channel, fixture("initial_state_buckaroo"), 0);
  await handle.rendered;
  handle.model.send({ type: "infinite_request", payload_args: { start: 0, end: 100 } });
  const model = new WeakRef<object>(handle.model);
  handle.dispose();
  el.remove();
  handle = null;
  return { model, channelId };
}

it("a disposed mount unregisters its Channel and is garbage collected, a row request still unanswered", async () => {
  const box = mockPlugin();
  const before = callbacks().size;
  const { model, channelId } = await mountAndDispose(box);
  // The Channel's callback stayed in window.__TAURI_INTERNALS__ (the plugin never ends a
  // window's older Channel), and with it the handler that closed over the whole mount.
  expect(callbacks().has(channelId)).toBe(false);
  expect(callbacks().size).toBe(before);
  // Up to 1 s: jsdom and React let go of a disposed tree over a few of their own turns
  // (~100 ms here, more on a busy machine); a leak never does.
  for (let i = 0; i < 100 && model.deref(); i++) {
    await new Promise((r) => setTimeout(r, 10));
    gc();
  }
  // Kept alive before by the Channel's callback, and by the rows-waiting timer of the
  // unanswered request (which ticked every second forever).
  expect(model.deref()).toBeUndefined();
});
