/**
 * A sidecar restart, or a silence, the user does not notice. When the sidecar dies, the
 * plugin answers the row requests it left unanswered with `connection_closed`, and the
 * requests sent before a new sidecar is ready fail the same way or with `sidecar_not_ready`.
 * AG Grid never asks again for a block that failed, so those replies are held here instead
 * of reaching the grid. A sidecar that stops answering (`sidecar_not_responding`) may stay
 * so for long: its refusals are told to the page at once, and only kept from the grid.
 * The plugin sends `buckaroo_tauri_replay` just before it replays the window's load (to a
 * new sidecar, or to the same one answering again). The model then applies the replayed
 * state as the same data: the grid is kept, with its scroll and sort. It sends the page's
 * search again, and asks again for what it held.
 */
import type { BuckarooError } from "./protocol.js";
import { requestKey } from "./waiting.js";

type Frame = Record<string, unknown>;

/** Reply codes of a request lost to a restart: held, and asked again after the replay. */
export const RESTART_CODES: ReadonlySet<string> = new Set(["connection_closed", "sidecar_not_ready"]);

/** The reply code of a request refused by a silent sidecar: told to the page, kept from the grid. */
export const SILENCE_CODE = "sidecar_not_responding";

/** How a failed reply is held: lost to a restart (unsaid), or refused by a silence (said already). */
export type HoldKind = "restart" | "silence";

/** The plugin's frame before a restart's replay. */
export const REPLAY_FRAME = "buckaroo_tauri_replay";

/** What a request held until a replay says if it is failed after all. */
const DEFERRED = "buckaroo-tauri: sent while the sidecar restarted, and its replay did not come";

/** Held requests give up after this long (a crash loop's back-off, a slow respawn): failed, not hung. */
export const HOLD_LIMIT_MS = 90_000;

/**
 * A key's value as far as "the same data" goes: buckaroo computes the summary stats
 * (`df_data_dict.all_stats`) of a big enough frame on a random sample, so each session's
 * differ. The page keeps the ones it shows.
 */
function dataOf(key: string, value: unknown): string {
  if (key === "df_data_dict" && value && typeof value === "object") {
    const { all_stats: _sampled, ...rest } = value as Record<string, unknown>;
    return requestKey(rest);
  }
  return requestKey(value);
}

/** Keys the server sets on a state that are not the data: the page's own view of it. */
const VIEW_KEYS = new Set(["buckaroo_state"]);
/** Keys derived from the view (a search's filtered counts): they follow `buckaroo_state`. */
const VIEW_DERIVED = new Set(["df_meta"]);

/** How a replayed initial_state is applied. */
export interface ReplayPlan {
  /** False: not the data the grid shows (the file changed meanwhile): a fresh grid, as for a load. */
  sameData: boolean;
  /** Keys whose value differs from the model's, to set and announce (none when `restore`). */
  changed: string[];
  /** The page's own view state, when it differs from the replayed one: sent again. */
  restore?: unknown;
}

/**
 * Compare a replayed state with what the model holds (`current`); `incoming` is a key's
 * value as the model would store it (the grid height patched in). The data keys must be
 * equal for the grid to stay. When the page's `buckaroo_state` (its search) differs, the
 * replayed view is not applied at all: the reply to the page's state sent again brings it.
 */
export function planReplay(keys: string[], incoming: (key: string) => unknown, current: (key: string) => unknown): ReplayPlan {
  const same = (k: string) => dataOf(k, incoming(k)) === dataOf(k, current(k));
  const sameData = keys.every((k) => VIEW_KEYS.has(k) || VIEW_DERIVED.has(k) || same(k));
  const viewSame = keys.every((k) => !VIEW_KEYS.has(k) || same(k));
  if (!sameData) return { sameData, changed: keys };
  if (!viewSame) return { sameData, changed: [], restore: current("buckaroo_state") };
  return { sameData, changed: keys.filter((k) => !same(k)) };
}

interface Held {
  reply: Frame;
  cause?: BuckarooError;
  /** Told to the page already (a silence's refusal): asking again is a new request. */
  told: boolean;
}

export interface RestartHoldOptions {
  /** Ask again for the request whose `payload_args` is `key`; `told`: its failure was said. */
  resend: (key: unknown, told: boolean) => void;
  /** Give the grid the failed reply after all (`cause` overrides its error; `told`: said already). */
  fail: (reply: Frame, cause: BuckarooError | undefined, told: boolean) => void;
  limitMs?: number;
}

/** The requests held across a restart, and where the replay stands. */
export class RestartHold {
  private readonly held = new Map<string, Held>();
  private announced = false;
  /** The state change sent again after a replay: held requests wait for its reply. */
  private restoringSeq = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly opts: RestartHoldOptions) {}

  /** Requests held now. */
  get size(): number {
    return this.held.size;
  }

  /**
   * A failed reply: how it is held, or false when it is the grid's. Held: one lost to a
   * restart, one refused by a silence, and while a replay is announced every failure (a
   * request that reached the new session before its data did, sent before the page heard
   * of the replay, is answered "No data loaded").
   */
  hold(reply: Frame, cause?: BuckarooError): HoldKind | false {
    const code = cause?.code ?? reply.error_code;
    const lost = typeof code === "string" && RESTART_CODES.has(code);
    const kind: HoldKind | null = code === SILENCE_CODE ? "silence" : lost || this.announced ? "restart" : null;
    if (!kind) return false;
    this.held.set(requestKey(reply.key), { reply, cause, told: kind === "silence" });
    this.arm();
    return kind;
  }

  /**
   * A row request the page is sending: held (true) from `buckaroo_tauri_replay` until the
   * replayed state is applied, since the new session has no data before it.
   */
  defer(payloadArgs: unknown): boolean {
    if (!this.announced && this.restoringSeq === 0) return false;
    const reply = { type: "infinite_resp", key: payloadArgs, length: 0, error_info: DEFERRED, error_code: "connection_closed" };
    this.held.set(requestKey(payloadArgs), { reply, told: false });
    return true;
  }

  /** `buckaroo_tauri_replay` came: the next state without a `reply_seq` is the replay. */
  replayAnnounced(): void {
    this.announced = true;
    this.arm();
  }

  /** Whether the state arriving now (no `reply_seq`) is the announced replay; it is taken. */
  takeReplay(): boolean {
    const was = this.announced;
    this.announced = false;
    return was;
  }

  /** The page's view was sent again as state change `seq`: resume once it is answered. */
  restoring(seq: number): void {
    this.restoringSeq = seq;
  }

  /** Whether the reply to state change `seq` is the one restoring the page's view. */
  isRestoring(seq: number): boolean {
    return this.restoringSeq > 0 && seq >= this.restoringSeq;
  }

  /** A state change's reply arrived (`reply_seq`): the view is restored, ask again. */
  stateReplied(seq: number): void {
    if (this.isRestoring(seq)) this.resume();
  }

  /** The new session shows the window's data and view: ask again for every held request. */
  resume(): void {
    const held = [...this.held.values()];
    this.reset();
    for (const h of held) this.opts.resend(h.reply.key, h.told);
  }

  /** No replay will bring these back (a failed sidecar, a newer load, a plugin error): fail them, with `cause` if given. */
  failAll(cause?: BuckarooError): void {
    const held = [...this.held.values()];
    this.reset();
    for (const h of held) this.opts.fail(h.reply, cause ?? h.cause, h.told);
  }

  /** Forget everything, unanswered: the mount ended. */
  dispose(): void {
    this.reset();
  }

  private reset(): void {
    this.held.clear();
    this.announced = false;
    this.restoringSeq = 0;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.failAll();
    }, this.opts.limitMs ?? HOLD_LIMIT_MS);
  }
}
