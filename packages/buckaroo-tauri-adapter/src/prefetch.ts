/**
 * The first row window of new data, asked for as the data arrives. The grid asks for it
 * only once it is mounted (on a cold start ~150 ms later, the page's main thread busy
 * with AG Grid), and its reply then waits behind that same work. Asked at once, the
 * reply is usually here by the time the grid asks, and is handed to it straight away.
 *
 * The server's reply depends on the session's state and the window's start, end and
 * sort, never on the rest of the grid's key (`sourceName`, `origEnd`, `request_time`
 * are echoed back only). So the early reply is the grid's as long as no state change
 * went out in between, and it is given to the grid under the grid's own key.
 *
 * Only the first window: on a scroll the grid asks as soon as the page's main thread
 * draws the new rows (buckaroo's grid has no load debounce), so no earlier moment exists.
 */

/** Marks the early request's key, so its reply is told from the grid's. */
export const PREFETCH_KEY = "buckaroo_tauri_prefetch";

/**
 * buckaroo's grid asks for 1,000 rows from each block's start; its first is rows 0–1,000,
 * unsorted (0.15.11). The E2E test of the autoload checks the grid took it.
 */
export const FIRST_WINDOW = { start: 0, end: 1000 } as const;

type Frame = Record<string, unknown>;

/** A reply with its parquet buffers, as the model hands replies to the grid. */
export interface Reply {
  frame: Frame;
  buffers: DataView[];
}

export interface PrefetchOptions {
  /** Send the early request (its `payload_args`, the owed stats generation if any). */
  post: (payloadArgs: Frame, statsGen: number | undefined) => void;
  /** Give the grid a reply to its request (the early one's, under the grid's key). */
  deliver: (reply: Reply) => void;
  /** The early request failed after the grid asked: send the grid's own request (`msg`) after all. */
  forward: (msg: Frame) => void;
  /** Counted here: early windows the grid took, and ones it never asked for (dropped). */
  counters: { firstWindowUsed: number; firstWindowUnused: number };
}

/** The grid's request (`msg`) is for the first window, unsorted, alone. */
function isFirstWindow(msg: Frame): boolean {
  const a = msg.payload_args as Frame | undefined;
  if (!a || typeof a !== "object") return false;
  return a.start === FIRST_WINDOW.start && a.end === FIRST_WINDOW.end && !a.sort && a.second_request == null;
}

/** The id of the early request a reply's key names, if it is one. */
export function prefetchId(key: unknown): string | undefined {
  const id = key && typeof key === "object" ? (key as Frame)[PREFETCH_KEY] : undefined;
  return typeof id === "string" ? id : undefined;
}

/**
 * Unique to this page and load: a reply still on its way to an earlier mount of the
 * window (a remount, a reload) names another model's request, never this one's.
 */
function newId(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

/** At most one early request at a time: the newest data's. */
export class FirstWindowPrefetch {
  private current: { id: string; reply?: Reply; waiter?: Frame } | null = null;

  constructor(private readonly opts: PrefetchOptions) {}

  /** New data arrived: ask for its first window now. */
  start(statsGen: number | undefined): void {
    this.drop();
    this.current = { id: newId() };
    this.opts.post({ ...FIRST_WINDOW, [PREFETCH_KEY]: this.current.id }, statsGen);
  }

  /**
   * A state change went out (a search, a cleaning), or the data is gone: the early reply
   * may no longer be the grid's. A grid request already waiting for it keeps it: the server
   * answered it before the change, as it would have answered the grid's own.
   */
  drop(): void {
    if (this.current && this.current.waiter === undefined) {
      this.opts.counters.firstWindowUnused += 1;
      this.current = null;
    }
  }

  /**
   * The grid's row request (`msg`, an `infinite_request`): true when the early request
   * answers it (soon, or when its reply comes); false: send it as usual.
   */
  claim(msg: Frame): boolean {
    const c = this.current;
    if (!c || c.waiter !== undefined || !isFirstWindow(msg)) return false;
    c.waiter = msg;
    if (c.reply) this.hand(c.reply, msg);
    return true;
  }

  /**
   * A reply whose key names an early request: true when it was one (taken here, never the
   * grid's as it is). `ok`: it carries rows.
   */
  take(reply: Reply, ok: boolean): boolean {
    const id = prefetchId(reply.frame.key);
    if (id === undefined) return false;
    const c = this.current;
    if (!c || c.id !== id || c.reply) return true;
    if (!ok) {
      // Given up on: the grid's own request, if it came, goes out now.
      this.current = null;
      if (c.waiter !== undefined) this.opts.forward(c.waiter);
      else this.opts.counters.firstWindowUnused += 1;
      return true;
    }
    c.reply = reply;
    if (c.waiter !== undefined) this.hand(reply, c.waiter);
    return true;
  }

  private hand(reply: Reply, waiter: Frame): void {
    this.current = null;
    this.opts.counters.firstWindowUsed += 1;
    const frame = { ...reply.frame, key: waiter.payload_args };
    // Never inside the grid's own send: it may not be listening for the reply yet.
    queueMicrotask(() => this.opts.deliver({ frame, buffers: reply.buffers }));
  }
}
