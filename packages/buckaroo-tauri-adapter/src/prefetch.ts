/**
 * The first row window of every load, asked for as soon as its initial_state arrives.
 * The grid mounts and sends its own first request hundreds of ms later; by then the
 * rows are here, and that request is answered from memory instead of a round trip to
 * Python. Only the grid's very first window (rows from 0, unsorted) is taken from the
 * prefetch, once; anything else goes to the server as usual.
 */

type Frame = Record<string, unknown>;
type Args = Record<string, unknown>;

/** How many rows the grid asks for per request (buckaroo's datasource: `end = start + 1000`). */
export const FIRST_WINDOW_ROWS = 1000;

export interface FirstWindowHost {
  /** Send a row request to the plugin (not counted as the grid's); rejects if it could not be sent. */
  request(payloadArgs: Args, statsGen: unknown): Promise<unknown>;
  /** Hand a reply to the grid, as if the server had answered `key`. */
  answer(header: Frame, buffers: DataView[]): void;
  /** Send the grid's own request after all (the prefetch failed or went stale). */
  forward(msg: Frame): void;
}

export class FirstWindow {
  private tag: string | null = null;
  private reply: { header: Frame; buffers: DataView[] } | null = null;
  /** The grid's first request, when it came before the prefetched rows. */
  private waiting: Frame | null = null;
  private seq = 0;

  constructor(private readonly host: FirstWindowHost) {}

  /** New data (an unnumbered initial_state): ask for its first window now. */
  start(statsGen: unknown): void {
    this.drop();
    const tag = `first-${++this.seq}`;
    this.tag = tag;
    this.host.request({ start: 0, end: FIRST_WINDOW_ROWS, prefetch: tag }, statsGen).catch(() => {
      this.takes({ key: { prefetch: tag }, error_info: "not sent" }, []);
    });
  }

  /** The state changed otherwise (a reply to a state change): the prefetched rows may be stale. */
  drop(): void {
    this.tag = null;
    this.reply = null;
    const held = this.waiting;
    this.waiting = null;
    if (held) this.host.forward(held);
  }

  /** The grid's request: true when the prefetch answers it (now or when its rows arrive). */
  answers(msg: Frame): boolean {
    const args = (msg.payload_args ?? {}) as Args;
    const first = this.tag !== null && this.waiting === null && args.start === 0 && !args.sort &&
      typeof args.end === "number" && args.end <= FIRST_WINDOW_ROWS && args.second_request === undefined;
    if (!first) return false;
    if (this.reply) this.serve(msg);
    else this.waiting = msg;
    return true;
  }

  /** A row reply from the plugin: true when it is a prefetch's (kept or dropped, never the grid's). */
  takes(header: Frame, buffers: DataView[]): boolean {
    const tag = (header.key as Args | undefined)?.prefetch;
    if (typeof tag !== "string" || !tag.startsWith("first-")) return false;
    if (tag !== this.tag) return true; // an older load's
    if (header.error_info !== undefined || buffers.length === 0) {
      this.tag = null; // no rows to give: the grid asks the server itself
      const held = this.waiting;
      this.waiting = null;
      if (held) this.host.forward(held);
      return true;
    }
    this.reply = { header, buffers };
    if (this.waiting) {
      const held = this.waiting;
      this.waiting = null;
      this.serve(held);
    }
    return true;
  }

  private serve(msg: Frame): void {
    const reply = this.reply;
    this.tag = null;
    this.reply = null;
    if (reply) this.host.answer({ ...reply.header, key: msg.payload_args }, reply.buffers);
  }
}
