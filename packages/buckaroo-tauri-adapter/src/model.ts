/**
 * TauriIPCModel: buckaroo's IModel / anywidget model surface over the plugin's
 * commands and the window's Channel. The real grid (the wheel's widget.js) reads
 * and subscribes to it exactly as it does to a Jupyter widget model.
 */
import { Channel } from "@tauri-apps/api/core";
import { send as sendCommand } from "./commands.js";
import { gridHeight, withDisplayHeight } from "./layout.js";
import { SUPPORTED_PROTOCOL_VERSIONS, toBuckarooError, type BuckarooError, type LoadMode } from "./protocol.js";
import { mark } from "./marks.js";
import { decodeRowsFrame, isArrayBuffer, rowWindowError } from "./frames.js";
import { FirstWindowPrefetch } from "./prefetch.js";
import { planReplay, REPLAY_FRAME, RestartHold, type ReplayPlan } from "./restart.js";
import { StatsChannel, statsOf } from "./stats.js";
import { SummaryHold } from "./summary.js";
import { WaitingRows } from "./waiting.js";

// biome-ignore lint/suspicious/noExplicitAny: anywidget's handler type. Handlers declare their own argument types per event, which `unknown[]` would reject.
export type Handler = (...args: any[]) => void;

/** The model surface buckaroo's widget uses (buckaroo-js-core's IModel, anywidget's AnyModel subset). */
export interface IModel {
  get(key: string): unknown;
  set(key: string, value: unknown): void;
  save_changes(): void;
  send(msg: Record<string, unknown>): void;
  on(event: string, handler: Handler): void;
  off(event?: string, handler?: Handler): void;
}

export interface TauriIPCModelOptions {
  /** How page messages reach the plugin; defaults to the `buckaroo_send` command. */
  sendMessage?: (msg: Record<string, unknown>) => Promise<unknown>;
  /** Every error: server `error` frames, failed commands, protocol mismatches. */
  onError?: (err: BuckarooError) => void;
  sessionId?: string;
}

type Frame = Record<string, unknown> & { type?: string };

export { decodeRowsFrame, rowWindowError };

/** A released Channel's handler. Module-level: a closure made in a mount would keep that whole mount alive. */
const IGNORE_FRAME = (): void => {};

/**
 * Stop a Channel for good: its handler becomes a no-op and its callback leaves
 * `window.__TAURI_INTERNALS__`, where the Channel (and its handler, and whatever that
 * closes over) otherwise stays until the plugin ends it, which it never does for a window's
 * older Channel. A frame still sent to it is dropped with Tauri's "couldn't find callback
 * id" warning.
 */
export function releaseChannel(channel: Channel<unknown>): void {
  channel.onmessage = IGNORE_FRAME;
  try {
    // What the Channel itself calls on the plugin's `end` (typed private in @tauri-apps/api).
    (channel as unknown as { cleanupCallback(): void }).cleanupCallback();
  } catch {
    // No Tauri IPC left in this window (a test's clearMocks, a page being unloaded): nothing holds it.
  }
}

/** Held row requests of data a newer load replaced: answered, not reported. */
const SUPERSEDED: BuckarooError = { code: "rows_failed", serverCode: "rows_superseded", message: "the window shows newer data" };

/** Keys of an initial_state that are envelope, not model state. */
const NOT_STATE = new Set(["type", "reply_seq"]);
// Constant objects: `get` must return the same reference every time (useSyncExternalStore).
const MESSAGE_LOG: readonly unknown[] = Object.freeze([]);
const MESSAGE_BOX = Object.freeze({ enabled: false });

export const RENDER_FUNC: Record<LoadMode, string> = {
  buckaroo: "BuckarooInfiniteWidget",
  viewer: "DFViewerInfinite",
  lazy: "DFViewerInfinite",
};

/** Sent to `row_window` handlers after every row reply reached the grid. */
export interface RowWindowEvent {
  ok: boolean;
  key: unknown;
  /** Rows in the (filtered) table, as the server counted them. */
  rows?: number;
  error?: BuckarooError;
}

export class TauriIPCModel implements IModel {
  sessionId: string;
  mode: LoadMode | null = null;
  protocolVersion: number | null = null;
  /**
   * For diagnostics and tests: row requests sent, and replies delivered to the grid
   * (parquet or failed); deferred stats applied, aborted for the owed generation, and
   * dropped because they were for another one; first windows asked for early that the
   * grid took, and that it never asked for (prefetch.ts).
   */
  readonly counters = {
    requests: 0,
    parquet: 0,
    errors: 0,
    staleDropped: 0,
    orphanBinary: 0,
    statsUpdates: 0,
    statsAborted: 0,
    statsStale: 0,
    firstWindowUsed: 0,
    firstWindowUnused: 0,
    summaryHeld: 0,
    summaryLate: 0,
  };
  /**
   * New data's summary stats (the grid's pinned rows) shown only after its first rows are
   * painted (summary.ts): the mount turns it on, since it watches the paint
   * (`releaseSummary`); a model used without it shows them with the data.
   */
  holdSummaryUntilPainted = false;
  /**
   * Deferred summary stats. The grid reads `stats.expectedGen` into every row request
   * (`stats_gen`), which is what makes the server send them.
   */
  readonly stats: StatsChannel;
  /** Row requests still unanswered: `rows_waiting` events (a RowsWaiting, then null). */
  private readonly waiting = new WaitingRows((w) => this.emit("rows_waiting", w));
  /** Row requests lost to a sidecar restart or refused by a silence, asked again after its replay (restart.ts). */
  private readonly restart = new RestartHold({
    resend: (key, told) => {
      // A refusal the page was told of was its answer: asking again is a new request.
      if (told) this.countRequest(key);
      this.post({ type: "infinite_request", payload_args: key });
    },
    fail: (reply, cause, told) => this.deliverRow(reply, [], cause, { final: true, told }),
  });
  /** New data's first row window, asked for before the grid is mounted (prefetch.ts). */
  private readonly firstWindow = new FirstWindowPrefetch({
    post: (args, statsGen) =>
      this.post({ type: "infinite_request", payload_args: args, ...(statsGen === undefined ? {} : { stats_gen: statsGen }) }),
    deliver: (reply) => this.deliverRow(reply.frame, reply.buffers),
    forward: (msg) => this.relayRowRequest(msg),
    counters: this.counters,
  });

  /** New data's summary stats, held until its first rows are painted (summary.ts). */
  private readonly summary = new SummaryHold({
    get: (key) => this.state.get(key),
    put: (key, value) => this.putState(key, value),
    counters: this.counters,
  });

  private readonly state = new Map<string, unknown>();
  private readonly handlers = new Map<string, Set<Handler>>();
  private readonly pendingKeys = new Set<string>();
  private stateSeq = 0;
  /** Row traffic since the last initial_state: its first request and reply are marked. */
  private sinceState = { requested: false, arrived: false };
  /**
   * The grid was given a failed row window since its data came: AG Grid never asks again
   * for that block, so a restart's replay mounts a fresh grid rather than keep this one.
   */
  private failedShown = false;
  private dfvHeight: number | null = null;
  private readonly sendMessage: (msg: Record<string, unknown>) => Promise<unknown>;
  private readonly onError?: (err: BuckarooError) => void;

  constructor(opts: TauriIPCModelOptions = {}) {
    this.sendMessage = opts.sendMessage ?? sendCommand;
    this.onError = opts.onError;
    this.sessionId = opts.sessionId ?? "";
    this.stats = new StatsChannel({
      get: (key) => this.state.get(key),
      put: (key, value) => this.putState(key, value),
      failed: (err) => this.reportError(err),
      counters: this.counters,
    });
  }

  // -- IModel --------------------------------------------------------------

  get(key: string): unknown {
    switch (key) {
      case "render_func_name":
        return this.mode ? RENDER_FUNC[this.mode] : undefined;
      case "record_transcript":
        return false;
      case "df_id":
        return this.sessionId;
      case "message_log":
        return MESSAGE_LOG;
      case "show_message_box":
        return MESSAGE_BOX;
      default:
        return this.state.get(key);
    }
  }

  set(key: string, value: unknown): void {
    this.state.set(key, value);
    this.pendingKeys.add(key);
    this.emit(`change:${key}`, value);
  }

  /** Only `buckaroo_state` has a server message; `operations` stay local, as upstream. */
  save_changes(): void {
    if (this.pendingKeys.has("buckaroo_state")) {
      this.stateSeq += 1;
      this.send({ type: "buckaroo_state_change", new_state: this.state.get("buckaroo_state"), state_seq: this.stateSeq });
    }
    this.pendingKeys.clear();
  }

  send(msg: Record<string, unknown>): void {
    if (msg.type === "infinite_request") {
      this.countRequest(msg.payload_args);
      if (!this.sinceState.requested) mark("rows-requested");
      this.sinceState.requested = true;
      if (!this.firstWindow.claim(msg)) this.relayRowRequest(msg);
      return;
    }
    // A state change (or anything else the server may act on): the early window may not be the grid's now.
    this.firstWindow.drop();
    this.post(msg);
  }

  /** A row request to the plugin, unless a restart's replay is on its way: the new session has no data yet (restart.ts). */
  private relayRowRequest(msg: Record<string, unknown>): void {
    if (!this.restart.defer(msg.payload_args)) this.post(msg);
  }

  private countRequest(key: unknown): void {
    this.counters.requests += 1;
    this.waiting.requested(key);
  }

  /** Send `msg` to the plugin; a row request that fails is answered to the grid as failed. */
  private post(msg: Record<string, unknown>): void {
    this.sendMessage(msg).catch((err: unknown) => {
      const e = toBuckarooError(err, "send_failed");
      // The grid waits for a reply to every row request: give it a failed one.
      if (msg.type === "infinite_request") {
        // error_code as a server reply carries it: a page (or a soak) counts refusals by code.
        this.deliverRow(
          { type: "infinite_resp", key: msg.payload_args, length: 0, error_info: `${e.code}: ${e.message}`, error_code: e.code },
          [],
          e,
        );
      } else this.reportError(e);
    });
  }

  on(event: string, handler: Handler): void {
    let set = this.handlers.get(event);
    if (!set) {
      set = new Set();
      this.handlers.set(event, set);
    }
    set.add(handler);
  }

  off(event?: string, handler?: Handler): void {
    if (event === undefined) this.handlers.clear();
    else if (handler === undefined) this.handlers.delete(event);
    else this.handlers.get(event)?.delete(handler);
  }

  /**
   * The model's mount ended: drop every handler and stop the rows-waiting timer, whose
   * requests will never be answered (their replies go to the window's newer Channel).
   */
  dispose(): void {
    this.firstWindow.drop();
    this.summary.drop();
    this.handlers.clear();
    this.waiting.clear();
    this.restart.dispose();
  }

  /** The sidecar failed for good: requests held for a restart's replay fail now. */
  sidecarFailed(): void {
    this.restart.failAll();
  }

  // -- Channel -------------------------------------------------------------

  /**
   * A new Channel that feeds this model (give it to the plugin with `attach`). Stop
   * feeding with `releaseChannel`.
   */
  channel(): Channel<unknown> {
    return new Channel<unknown>((m) => this.handleFrame(m));
  }

  /** Feed one Channel message: a JSON frame (object) or a parquet row reply (ArrayBuffer, see decodeRowsFrame). */
  handleFrame(data: unknown): void {
    if (isArrayBuffer(data) || ArrayBuffer.isView(data)) {
      const rows = decodeRowsFrame(data);
      if (rows) this.deliverRow(rows.header, [rows.parquet]);
      else this.counters.orphanBinary += 1;
      return;
    }
    if (!data || typeof data !== "object") return;
    const msg = data as Frame;
    switch (msg.type) {
      case "initial_state":
        this.applyInitialState(msg);
        break;
      case "infinite_resp":
        // A JSON reply carries no rows (an error, an empty window): parquet ones come as bytes.
        this.deliverRow(msg, []);
        break;
      case "error":
        this.reportError({ code: String(msg.error_code ?? "server_error"), message: String(msg.message ?? "buckaroo server error") });
        break;
      case "buckaroo_tauri_error":
        // A restart that ended in an error (its replay refused) brings no rows back.
        this.restart.failAll();
        this.reportError(toBuckarooError(msg.error, "plugin_error"));
        break;
      case REPLAY_FRAME:
        this.firstWindow.drop();
        this.restart.replayAnnounced();
        break;
      case "buckaroo_tauri_file_changed":
        this.emit("file_changed", { path: String(msg.path), change: msg.change, reloading: msg.reloading === true });
        break;
      case "buckaroo_tauri_export_progress":
        this.emit("export_progress", {
          rows: Number(msg.rows),
          total: typeof msg.total === "number" ? msg.total : null,
          percent: typeof msg.percent === "number" ? msg.percent : null,
          elapsedS: Number(msg.elapsed_s),
          etaS: typeof msg.eta_s === "number" ? msg.eta_s : null,
        });
        break;
      case "stats_update":
      case "stats_aborted":
        // Merged into the stats as sent, not into the held-back empty list.
        this.summary.release();
        this.stats.handle(msg);
        break;
      default:
        // Anything newer: hand to the widget as anywidget would.
        this.emit("msg:custom", msg, []);
    }
  }

  /**
   * Grid height in px (the widget sizes itself from component_config.dfvHeight; the
   * layout, layout.ts, decides it). Held here because every initial_state brings
   * display args that need it.
   */
  setDisplayHeight(px: number): void {
    const h = gridHeight(px);
    if (h === this.dfvHeight) return;
    this.dfvHeight = h;
    const args = this.state.get("df_display_args");
    if (args) {
      this.state.set("df_display_args", withDisplayHeight(args, h));
      this.emit("change:df_display_args", this.state.get("df_display_args"));
    }
  }

  get displayHeight(): number | null {
    return this.dfvHeight;
  }

  // -- internals -----------------------------------------------------------

  private applyInitialState(msg: Frame): void {
    // A reply to an older state change than the newest we sent: drop it, as buckaroo's WebSocketModel does.
    if (typeof msg.reply_seq === "number" && msg.reply_seq < this.stateSeq) {
      this.counters.staleDropped += 1;
      return;
    }
    const version = msg.protocol_version;
    if (typeof version !== "number" || !SUPPORTED_PROTOCOL_VERSIONS.includes(version)) {
      this.reportError({
        code: "protocol_mismatch",
        message: `the buckaroo server speaks protocol ${String(version)}; this adapter supports ${SUPPORTED_PROTOCOL_VERSIONS.join(", ")}`,
        hint: "Install the buckaroo version this app was built for, or upgrade buckaroo-tauri-adapter.",
      });
      return;
    }
    this.protocolVersion = version;
    const announced = msg.reply_seq === undefined && this.restart.takeReplay();
    // Held stats are shown before other state applies over them; new data's replace them.
    if (msg.reply_seq === undefined && !announced) this.summary.drop();
    else this.summary.release();
    const replay = announced && !this.failedShown ? this.planAgainst(msg) : null;
    if (replay?.sameData) {
      this.applyReplay(msg, replay);
      return;
    }
    if (typeof msg.reply_seq === "number" && this.restart.isRestoring(msg.reply_seq)) {
      // The page's view, restored after a replay: only what differs, so the grid keeps its rows.
      this.setState(msg, this.planAgainst(msg).changed);
      this.emit("initial_state", msg);
      this.restart.stateReplied(msg.reply_seq);
      return;
    }
    if (msg.reply_seq === undefined) {
      // New data (a load, or a replay of data that changed meanwhile): the grid is mounted afresh.
      this.restart.failAll(SUPERSEDED);
      mark("state");
      this.sinceState = { requested: false, arrived: false };
      this.failedShown = false;
    }
    if (typeof msg.mode === "string" && msg.mode in RENDER_FUNC) this.mode = msg.mode as LoadMode;
    this.setState(this.withSummaryHeld(msg), Object.keys(msg).filter((k) => !NOT_STATE.has(k)));
    // Asked before the grid mounts on it (the emit below), which keeps the page's main thread busy.
    if (msg.reply_seq === undefined) this.firstWindow.start(this.stats.expectedGen);
    this.emit("initial_state", msg);
    if (msg.metadata) this.emit("metadata", msg.metadata, msg.prompt);
    const stats = statsOf(msg.df_meta);
    if (stats) this.emit("stats", stats);
  }

  /** New data (`msg`) with its summary stats held back, when the mount asked for that. */
  private withSummaryHeld(msg: Frame): Frame {
    if (msg.reply_seq !== undefined || !this.holdSummaryUntilPainted || !("df_data_dict" in msg)) return msg;
    return { ...msg, df_data_dict: this.summary.hold(msg.df_data_dict, msg.df_display_args, msg.buckaroo_state) };
  }

  /** New data's summary stats are held, waiting for its first rows' paint. */
  get summaryHeld(): boolean {
    return this.summary.holding;
  }

  /** The first rows of new data are painted: show its summary stats now (the mount calls it). */
  releaseSummary(): void {
    this.summary.release();
  }

  /**
   * A restart's replay of the data the grid shows: keep the grid (initial_state with
   * `{ replay: true }`), set only what differs, send the page's search again if the
   * replay lost it, and ask again for the rows held meanwhile.
   */
  private applyReplay(msg: Frame, plan: ReplayPlan): void {
    mark("replayed");
    this.setState(msg, plan.changed);
    this.emit("initial_state", msg, { replay: true });
    if (plan.restore === undefined) {
      this.restart.resume();
      return;
    }
    this.stateSeq += 1;
    this.restart.restoring(this.stateSeq);
    this.post({ type: "buckaroo_state_change", new_state: plan.restore, state_seq: this.stateSeq });
  }

  /** How `msg` (a replay, or the reply restoring the page's view) compares with the state held. */
  private planAgainst(msg: Frame): ReplayPlan {
    const keys = Object.keys(msg).filter((k) => !NOT_STATE.has(k));
    return planReplay(keys, (k) => this.stored(k, msg[k]), (k) => this.state.get(k));
  }

  /** A key's value as the model keeps it: the grid's height patched into the display args. */
  private stored(key: string, value: unknown): unknown {
    return key === "df_display_args" ? withDisplayHeight(value, this.dfvHeight) : value;
  }

  /** Set `keys` of `msg`, then announce each: a handler reading two keys sees one consistent state. */
  private setState(msg: Frame, keys: string[]): void {
    for (const k of keys) this.state.set(k, this.stored(k, msg[k]));
    for (const k of keys) this.emit(`change:${k}`, this.state.get(k));
  }

  /** A key the server side changed (deferred stats): not a page change for save_changes. */
  private putState(key: string, value: unknown): void {
    this.state.set(key, this.stored(key, value));
    this.emit(`change:${key}`, this.state.get(key));
    if (key === "df_meta") {
      const stats = statsOf(value);
      if (stats) this.emit("stats", stats);
    }
  }

  /**
   * Hand a row reply to the grid, and tell the page how the window went: a failed
   * window is reported (onError, `row_window`), never shown as rows. `final`: a held
   * reply given up on; `told`: the page was told of it when it was held.
   */
  private deliverRow(msg: Frame, buffers: DataView[], cause?: BuckarooError, how: { final?: boolean; told?: boolean } = {}): void {
    const failed = msg.error_info !== undefined || buffers.length === 0;
    // The reply to an early first window is not the grid's until the grid asks for it.
    if (this.firstWindow.take({ frame: msg, buffers }, !failed)) return;
    // Lost to a sidecar restart or refused by a silence: held from the grid, and asked
    // again after the replay (restart.ts); a silence's refusal is the page's answer now.
    const held = failed && !how.final ? this.restart.hold(msg, cause) : false;
    const error = failed ? (cause ?? rowWindowError(msg)) : undefined;
    if (held) {
      if (held === "silence") this.tell(msg, error);
      return;
    }
    if (!this.sinceState.arrived) mark("rows-arrived");
    this.sinceState.arrived = true;
    this.emit("msg:custom", msg, buffers);
    if (error && error.serverCode !== "rows_superseded") this.failedShown = true;
    if (!how.told) this.tell(msg, error);
  }

  /** Tell the page how a row window went (`error`: it failed): counted, no longer waiting, `row_window`, and a failure reported. */
  private tell(msg: Frame, error: BuckarooError | undefined): void {
    if (error) this.counters.errors += 1;
    else this.counters.parquet += 1;
    this.waiting.answered(msg.key);
    this.emit("row_window", { ok: !error, key: msg.key, rows: typeof msg.length === "number" ? msg.length : undefined, error });
    // rows_superseded: rows of a load the window has replaced since; nothing to tell the user.
    if (error && error.serverCode !== "rows_superseded") this.reportError(error);
  }

  private reportError(err: BuckarooError): void {
    this.onError?.(err);
    this.emit("error", err);
  }

  private emit(event: string, ...args: unknown[]): void {
    const set = this.handlers.get(event);
    if (!set) return;
    for (const h of [...set]) {
      try {
        h(...args);
      } catch (e) {
        // One failing subscriber must not starve the others (or stall the Channel).
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }
}
