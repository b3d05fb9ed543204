/**
 * Row requests the grid is still waiting for. A window of a big file sorted for the
 * first time waits seconds (the sidecar sorts it, or writes a sorted copy) while the
 * grid shows blank rows: this is what lets a page say so.
 */

/** What `rows_waiting` handlers (and `MountOptions.onRowsWaiting`) get; `null` once every request is answered. */
export interface RowsWaiting {
  /** Row requests sent and not answered yet. */
  count: number;
  /** Whether one of them is a sorted window. */
  sorted: boolean;
  /** Milliseconds since the oldest of them was sent. */
  waitingMs: number;
}

/**
 * A request's identity whatever the order of its fields: the plugin relays a request
 * re-serialized (serde_json sorts object keys), so the server's reply carries its
 * `payload_args` with the fields sorted, not in the order the grid wrote them.
 */
export function requestKey(payloadArgs: unknown): string {
  return JSON.stringify(payloadArgs, (_k, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** Report unanswered row requests once the oldest has waited `afterMs`, then every `everyMs`, and `null` when none is left. */
export class WaitingRows {
  private readonly sent = new Map<string, { at: number; sorted: boolean }>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private shown = false;

  constructor(
    private readonly notify: (waiting: RowsWaiting | null) => void,
    private readonly afterMs = 400,
    private readonly everyMs = 1000,
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** A row request went out (its `payload_args`; a `second_request` inside is a request too). */
  requested(payloadArgs: unknown): void {
    if (!payloadArgs || typeof payloadArgs !== "object") return;
    const args = payloadArgs as { sort?: unknown; second_request?: unknown };
    const at = this.now();
    this.sent.set(requestKey(payloadArgs), { at, sorted: Boolean(args.sort) });
    if (args.second_request && typeof args.second_request === "object") this.requested(args.second_request);
    if (!this.timer) this.schedule(this.afterMs);
  }

  /** A reply (rows or a failure) for the request whose `payload_args` is `key`. */
  answered(key: unknown): void {
    this.sent.delete(requestKey(key));
    if (this.sent.size > 0) return;
    this.stop();
    if (this.shown) {
      this.shown = false;
      this.notify(null);
    }
  }

  /** Forget every request, unreported: the timer stops (a live timer would keep its model, and the grid's state, alive). */
  clear(): void {
    this.sent.clear();
    this.stop();
    this.shown = false;
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => this.tick(), ms);
  }

  private stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private tick(): void {
    this.timer = null;
    if (this.sent.size === 0) return;
    const oldest = Math.min(...[...this.sent.values()].map((s) => s.at));
    const waitingMs = this.now() - oldest;
    if (waitingMs >= this.afterMs) {
      this.shown = true;
      this.notify({ count: this.sent.size, sorted: [...this.sent.values()].some((s) => s.sorted), waitingMs });
      this.schedule(this.everyMs);
    } else this.schedule(this.afterMs - waitingMs);
  }
}
