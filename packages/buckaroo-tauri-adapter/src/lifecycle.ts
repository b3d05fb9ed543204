/**
 * One live grid per window, whatever the host's mount/dispose timing (React StrictMode,
 * hot reload, a page reload, Vue's onMounted/onUnmounted): a newer mount ends an older
 * one, attaches run one at a time in call order (so the plugin's newest attach is the
 * newest mount), and a mount's teardown undoes only what that mount made.
 */
import type { BuckarooError } from "./protocol.js";

/** Why a mount ended: its caller disposed it, a newer mount replaced it, or its attach failed. */
export type Ending = "disposed" | "superseded" | "failed";

/** A mount's lifetime: what to undo when it ends, run once, newest first. */
export class Life {
  over: Ending | null = null;
  private undo: Array<() => void> = [];

  /** Undo `fn` when this life ends; at once if it already has (a late subscription). */
  add(fn: () => void): void {
    if (this.over) run(fn);
    else this.undo.push(fn);
  }

  end(why: Ending): void {
    if (this.over) return;
    this.over = why;
    for (const fn of this.undo.splice(0).reverse()) run(fn);
  }
}

function run(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    // One failing teardown step must not keep the others from running.
    console.error("[buckaroo-tauri] teardown step failed", e);
  }
}

interface Slot {
  live: Life | null;
  /** The last attach asked for in this window; the next one waits for it. */
  attaching: Promise<unknown>;
}

const slots = new WeakMap<object, Slot>();

function slotOf(win: object): Slot {
  let slot = slots.get(win);
  if (!slot) {
    slot = { live: null, attaching: Promise.resolve() };
    slots.set(win, slot);
  }
  return slot;
}

/**
 * Begin a mount in window `win`: the one before it, if still live, is superseded. An
 * aborted `signal` disposes the mount, whenever that happens (before it attached too).
 */
export function begin(win: object, signal?: AbortSignal): Life {
  const slot = slotOf(win);
  slot.live?.end("superseded");
  const life = new Life();
  slot.live = life;
  life.add(() => {
    if (slot.live === life) slot.live = null;
  });
  if (signal?.aborted) life.end("disposed");
  else if (signal) {
    const abort = () => life.end("disposed");
    signal.addEventListener("abort", abort, { once: true });
    life.add(() => signal.removeEventListener("abort", abort));
  }
  return life;
}

/**
 * Run `attach` once every earlier attach of this window has settled; `null` without
 * calling it when `life` ended meanwhile. The plugin routes frames to a window's newest
 * attach, so attaches must reach it in the order the mounts began.
 */
export function attachInTurn<T>(win: object, life: Life, attach: () => Promise<T>): Promise<T | null> {
  const slot = slotOf(win);
  const turn = slot.attaching.then(() => (life.over ? null : attach()));
  slot.attaching = turn.catch(() => undefined);
  return turn;
}

/** What a mount that ended before it attached rejects with. */
export function cancelled(why: Ending): BuckarooError {
  return why === "superseded"
    ? {
        code: "mount_cancelled",
        message: "a newer mountBuckaroo in this window replaced this grid (one grid per window)",
        hint: "Dispose a grid before mounting the next one, or use <BuckarooGrid> from buckaroo-tauri-adapter/react, which does.",
      }
    : { code: "mount_cancelled", message: "the grid was disposed before it attached" };
}
