/**
 * A polled attach's frames: one `buckaroo_poll` always in flight, each batch fed to the
 * model frame by frame, in order. An invoke's reply reaches the page in one turn of the
 * main thread, a Channel's large message in two; under a scroll's load that was most of
 * what a row reply lost against a direct socket (docs/benchmarks.md).
 */
import { poll } from "./commands.js";
import { decodeBatch } from "./frames.js";
import type { BuckarooError } from "./protocol.js";

/** Where a poll loop's frames go while it runs; emptied by `stop`. */
interface Feed {
  onFrame: ((frame: unknown) => void) | null;
  onError: ((err: BuckarooError) => void) | null;
}

/** The hint for a poll Tauri refused before the plugin saw it (most likely: not granted). */
const NOT_GRANTED_HINT =
  "Grant buckaroo-tauri:allow-buckaroo-poll (it is in buckaroo-tauri:default): the grid's rows come back through it.";

/**
 * Pull attach `id`'s frames until `stop()` or the plugin ends them (`not_attached`: a
 * newer attach, the window closed). Any other refusal, or a batch that cannot be read,
 * is reported and ends the loop: polling again would only repeat it. `stop()` lets go of the handlers at
 * once: a poll still in flight holds only the emptied feed.
 */
export function pollFrames(id: number, onFrame: (frame: unknown) => void, onError: (err: BuckarooError) => void): { stop(): void } {
  const feed: Feed = { onFrame, onError };
  void run(id, feed);
  return {
    stop() {
      feed.onFrame = null;
      feed.onError = null;
    },
  };
}

async function run(id: number, feed: Feed): Promise<void> {
  while (feed.onFrame) {
    let batch: ArrayBuffer;
    try {
      batch = await poll(id);
    } catch (e) {
      const err = e as BuckarooError;
      if (err.code === "not_attached") return;
      // Tauri's own refusals (the capability, say) come as plain strings, without a code of ours.
      feed.onError?.(err.code === "invalid_request" && !err.hint ? { ...err, hint: NOT_GRANTED_HINT } : err);
      return;
    }
    let frames: unknown[];
    try {
      frames = decodeBatch(batch);
    } catch (e) {
      // Its frames are lost, row replies among them: say so rather than leave the grid waiting.
      feed.onError?.({ code: "protocol_mismatch", message: `buckaroo-tauri: a poll's frames could not be read (${String(e)})` });
      return;
    }
    for (const frame of frames) {
      if (!feed.onFrame) return;
      try {
        feed.onFrame(frame);
      } catch (e) {
        // As a Channel's handler: one frame's failure does not lose the frames after it.
        console.error("[buckaroo-tauri] a frame's handler failed", e);
      }
    }
  }
}
