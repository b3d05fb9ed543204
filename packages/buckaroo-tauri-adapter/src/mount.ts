/**
 * mountBuckaroo: the real buckaroo grid (the wheel's widget.js) in an element,
 * fed by TauriIPCModel over this window's Channel. The steps live next to their
 * job: grid.ts (widget, mounting), layout.ts (height), rows.ts (row windows),
 * loads.ts (loads in progress, load calls).
 */
import type { UnlistenFn } from "@tauri-apps/api/event";
import * as commands from "./commands.js";
import { createHost, DEFAULT_WIDGET_URL, type Grid, loadWidget, mountGrid, type WidgetModule } from "./grid.js";
import { type LoadInProgress, LoadTracker, loadApi } from "./loads.js";
import { type Handler, TauriIPCModel } from "./model.js";
import { type AttachInfo, type BuckarooError, type BuckarooErrorCode, type LoadCompareArgs,
  type LoadExprArgs, type LoadPathArgs, type LoadResult, type SidecarStatus, toBuckarooError } from "./protocol.js";
import { failedRows, watchRows } from "./rows.js";
import type { StatsState } from "./stats.js";
import type { RowsWaiting } from "./waiting.js";

export { DEFAULT_WIDGET_URL, type LoadInProgress, type WidgetModule };

export interface MountOptions {
  /**
   * URL of buckaroo's widget.js, or the imported module. Default "/buckaroo/widget.js",
   * where the Vite plugin (`buckaroo-tauri-adapter/vite`) and `copy-assets` put it.
   */
  widget?: string | WidgetModule;
  /**
   * URL of buckaroo's compiled.css, linked into the document unless already there.
   * Default: next to a widget URL; `false` when the page links it itself.
   */
  css?: string | false;
  /** Load this right after attaching. */
  load?: string | LoadPathArgs;
  /**
   * Every failure the user should see: a rejected handle call (it also rejects), a
   * failed sidecar (with its fix in `hint`), a load the plugin started, a grid that
   * could not render. Show `formatError(err)` as is.
   */
  onError?: (err: BuckarooError) => void;
  onStatus?: (status: SidecarStatus) => void;
  /** Called after each initial_state (a load, a reload, a restart replay, a search). */
  onState?: (state: Record<string, unknown>) => void;
  /**
   * A load started (autoload, `loadPath`, `pickAndLoad`) or ended (its first rows are
   * painted, or it failed): `null` then. Show progress from the first moment.
   */
  onLoading?: (load: LoadInProgress | null) => void;
  /**
   * The summary stats' state, for loads that defer them (xorq expressions): `pending`
   * right after the first rows, then `complete` (or `error`). Show "computing stats…"
   * meanwhile; the grid fills the stats in by itself.
   */
  onStats?: (stats: StatsState) => void;
  /**
   * Row requests unanswered for 400 ms or more (`sorted` when one is a sorted window: a
   * big file's first sort takes seconds), repeated every second; `null` once all are
   * answered. Show "Sorting…" / "Reading rows…" meanwhile.
   */
  onRowsWaiting?: (waiting: RowsWaiting | null) => void;
}

export interface BuckarooHandle {
  model: TauriIPCModel;
  sessionId: string;
  /** Resolves after the grid first rendered. */
  rendered: Promise<void>;
  /** The load in progress, until its first rows are painted or it fails; null when idle. */
  readonly loading: LoadInProgress | null;
  /** Load a file inside the scope. A rejection is also passed to `onError`. */
  loadPath(path: string | LoadPathArgs): Promise<LoadResult>;
  /** Native open dialog, then load; null when the user cancelled. A rejection is also passed to `onError`. */
  pickAndLoad(args?: Omit<LoadPathArgs, "path">): Promise<LoadResult | null>;
  /** Show a xorq expression (its build directory); needs the opt-in `allow-buckaroo-load-expr`. Rejections also go to `onError`. */
  loadExpr(build: string | LoadExprArgs): Promise<LoadResult>;
  /** Native folder dialog for a build directory, then `loadExpr`; null when the user cancelled. */
  pickAndLoadBuild(args?: Omit<LoadExprArgs, "buildDir">): Promise<LoadResult | null>;
  /**
   * Two files joined on `joinColumns`, shown with buckaroo's diff styling; needs the
   * opt-in `allow-buckaroo-load-compare`. Rejections also go to `onError`.
   */
  loadCompare(args: LoadCompareArgs): Promise<LoadResult>;
  dispose(): void;
}

type Report = (e: unknown, fallbackCode?: BuckarooErrorCode) => BuckarooError;

/** Normalise an error, pass it to `onError`, and return it (to reject with). */
function reporter(onError: MountOptions["onError"]): Report {
  return (e, fallbackCode) => {
    const err = toBuckarooError(e, fallbackCode);
    onError?.(err);
    return err;
  };
}

/** Every initial_state: note new data for the load in progress, tell the page, (re)mount the grid. */
function followStates(model: TauriIPCModel, grid: Grid, loads: LoadTracker, onState: MountOptions["onState"], report: Report): void {
  model.on("initial_state", (state: Record<string, unknown>) => {
    if (state.reply_seq === undefined) loads.dataArrived((state.metadata as { path?: unknown } | undefined)?.path);
    onState?.(state);
    grid.update(state.reply_seq === undefined).catch((e) => report(e, "widget_failed"));
  });
}

/**
 * Pass every sidecar status to `onStatus`, and a failed sidecar's cause and fix (the
 * pip command) to onError once. A subscription that fails is reported, not thrown.
 */
async function watchStatus(
  onStatus: MountOptions["onStatus"],
  report: Report,
  seen: { state?: SidecarStatus["state"] },
): Promise<UnlistenFn | undefined> {
  try {
    // Nothing to reset on "restarting": the plugin delivers a parquet header only together
    // with its bytes, and answers every request the dead sidecar left unanswered.
    return await commands.onStatus((s) => {
      onStatus?.(s);
      if (s.state === "failed" && seen.state !== "failed") report(s.error);
      seen.state = s.state;
    });
  } catch (e) {
    report(e);
    return undefined;
  }
}

/**
 * Mount buckaroo's grid in `el` for this window: attach to the plugin, load the
 * widget (and its CSS), keep the grid filling `el`. One per window.
 */
export async function mountBuckaroo(el: HTMLElement, options: MountOptions = {}): Promise<BuckarooHandle> {
  const report = reporter(options.onError);
  const model = new TauriIPCModel({ onError: options.onError });
  const channel = model.channel();
  const widget = loadWidget(el.ownerDocument, options.widget ?? DEFAULT_WIDGET_URL, options.css);
  const host = createHost(el);
  const overlay = failedRows(host);
  const grid = mountGrid(el, host, model, widget, () => overlay.clear());
  const loads = new LoadTracker((l) => options.onLoading?.(l));
  watchRows(model, overlay, loads, () => grid.element);
  followStates(model, grid, loads, options.onState, report);
  if (options.onStats) model.on("stats", options.onStats);
  if (options.onRowsWaiting) model.on("rows_waiting", options.onRowsWaiting as Handler);
  const seen: { state?: SidecarStatus["state"] } = {};
  const unlistenStatus = await watchStatus(options.onStatus, report, seen);
  // A load refused because the sidecar failed says less than the failure itself, which
  // was reported with its own code and fix: the load still rejects, unreported.
  const reportLoad: Report = (e, fallbackCode) => {
    const err = toBuckarooError(e, fallbackCode);
    return err.code === "sidecar_failed" && seen.state === "failed" ? err : report(err);
  };

  let info: AttachInfo;
  try {
    info = await commands.attach(channel);
  } catch (e) {
    grid.dispose();
    unlistenStatus?.();
    throw report(e);
  }
  model.sessionId = info.sessionId;
  if (info.autoload) loads.begin(info.autoload, "autoload");
  const { loadPath, pickAndLoad, loadExpr, loadCompare, pickAndLoadBuild } = loadApi(loads, reportLoad);
  if (options.load) loadPath(options.load).catch(() => {});

  return {
    model,
    sessionId: info.sessionId,
    rendered: grid.rendered,
    get loading() {
      return loads.current;
    },
    loadPath,
    pickAndLoad,
    loadExpr,
    loadCompare,
    pickAndLoadBuild,
    dispose() {
      grid.dispose();
      unlistenStatus?.();
      channel.onmessage = () => {};
      model.off();
      el.replaceChildren();
    },
  };
}
