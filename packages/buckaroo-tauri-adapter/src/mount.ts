/**
 * mountBuckaroo: the real buckaroo grid (the wheel's widget.js) in an element,
 * fed by TauriIPCModel over this window's Channel. The steps live next to their
 * job: grid.ts (widget, mounting), layout.ts (height), rows.ts (row windows),
 * loads.ts (loads in progress, load calls).
 */
import type { UnlistenFn } from "@tauri-apps/api/event";
import * as commands from "./commands.js";
import { createHost, DEFAULT_WIDGET_URL, type Grid, loadWidget, mountGrid, type WidgetModule } from "./grid.js";
import { pollFrames } from "./poll.js";
import { attachInTurn, begin, cancelled, type Life } from "./lifecycle.js";
import { type LoadApi, type LoadInProgress, LoadTracker, loadApi } from "./loads.js";
import { type Handler, releaseChannel, RENDER_FUNC, TauriIPCModel } from "./model.js";
import { type AttachInfo, type BuckarooError, type BuckarooErrorCode, type ExportArgs, type ExportProgress,
  type CopyResult, type ExportResult, type FileChange, type LoadCompareArgs, type LoadExprArgs, type LoadPathArgs, type LoadResult, type OpenTableArgs, type SidecarStatus, toBuckarooError } from "./protocol.js";
import { failedRows, watchRows } from "./rows.js";
import { type CellBlock, CellSelection } from "./selection.js";
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
  /**
   * Mount the widget once, unseen, over a placeholder while the sidecar starts (when this
   * mounts before it is ready), and end it before the first data (warmup.ts): the first
   * grid then renders without paying React's and AG Grid's first mount. Default `true`.
   */
  warmUp?: boolean;
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
  /**
   * The file this window shows changed on disk (rewritten, replaced, deleted). The
   * grid keeps what it shows; say so and offer `handle.reload()` (unless
   * `change.reloading`: the app reloads by itself).
   */
  onFileChanged?: (change: FileChange) => void;
  /** An export of this window is writing (every 0.25 s): show rows, percent and time left, with Cancel. */
  onExportProgress?: (progress: ExportProgress) => void;
  /**
   * Cell selection and Ctrl+C (selection.ts): `true` (the default) copies through the
   * plugin (`buckaroo-tauri:allow-copy`); `false` leaves the grid's clicks alone.
   */
  copy?: boolean;
  /** A block was copied (Ctrl+C): say so. A refused copy goes to `onError`. */
  onCopied?: (copied: CopyResult & { block: CellBlock }) => void;
  /**
   * Aborting it disposes the grid, even before `mountBuckaroo` resolved (which then
   * rejects with `mount_cancelled`): what a component's unmount does.
   */
  signal?: AbortSignal;
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
  /** Load again what this window shows (after `onFileChanged`). Rejections also go to `onError`. */
  reload(): Promise<LoadResult>;
  /**
   * Show a table of a database (a `connectionId` from `listTables`), or one read-only query on
   * it, paged by that database; needs the opt-in `allow-database`. Rejections also go to `onError`.
   */
  openTable(args: OpenTableArgs): Promise<LoadResult>;
  /**
   * Write what the grid shows (its sort, search and cleaning; columns in grid order) to
   * a path `pickExportPath` returned (`buckaroo-tauri:allow-export`). Rejections also go to `onError`.
   */
  exportView(args: ExportArgs): Promise<ExportResult>;
  /** The save dialog, then `exportView`; null when the user cancelled. Rejections also go to `onError`. */
  pickAndExport(options?: { defaultName?: string; wholeFile?: boolean }): Promise<ExportResult | null>;
  /** Cancel the running export (its promise rejects with `export_failed` / `export_cancelled`). */
  cancelExport(): Promise<boolean>;
  /** The block of cells selected in the grid (drag, Shift+click, index cells for rows), or null. */
  selection(): CellBlock | null;
  /** Copy the selected block (what Ctrl+C does); null when nothing is selected. */
  copySelection(): Promise<CopyResult | null>;
  /**
   * Unmount the grid (its React tree too) and stop its subscriptions; removes only what
   * this mount added to the element, so a late dispose never touches a newer grid.
   */
  dispose(): void;
}

type Report = (e: unknown, fallbackCode?: BuckarooErrorCode) => BuckarooError;

/** The sidecar's states in which the widget is warmed up before the data: it is on its way. */
const WARM_WHILE = new Set<SidecarStatus["state"] | undefined>(["starting", "provisioning", "restarting"]);

/** Normalise an error, pass it to `onError` while the mount is live, and return it (to reject with). */
function reporter(onError: MountOptions["onError"], life: Life): Report {
  return (e, fallbackCode) => {
    const err = toBuckarooError(e, fallbackCode);
    if (!life.over) onError?.(err);
    return err;
  };
}

/**
 * Every initial_state: note new data for the load in progress, tell the page, (re)mount
 * the grid. A restart's replay of the same data (`replay`) keeps the grid as it is.
 */
function followStates(model: TauriIPCModel, grid: Grid, loads: LoadTracker, onState: MountOptions["onState"], report: Report): void {
  model.on("initial_state", (state: Record<string, unknown>, how?: { replay?: boolean }) => {
    const fresh = state.reply_seq === undefined && !how?.replay;
    if (fresh) loads.dataArrived((state.metadata as { path?: unknown } | undefined)?.path);
    onState?.(state);
    grid.update(fresh).catch((e) => report(e, "widget_failed"));
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
  loads: LoadTracker,
  model: TauriIPCModel,
): Promise<UnlistenFn | undefined> {
  try {
    // Nothing to reset on "restarting": the plugin delivers a parquet header only together
    // with its bytes, and answers every request the dead sidecar left unanswered (the
    // model holds those until the replay, restart.ts).
    return await commands.onStatus((s) => {
      // A load waiting for a sidecar (an autoload, a refused one) waits for Retry.
      if (s.state === "failed") {
        loads.pause();
        model.sidecarFailed();
      }
      else if (s.state !== "stopped") loads.resume();
      onStatus?.(s);
      if (s.state === "failed" && seen.state !== "failed") report(s.error);
      seen.state = s.state;
    });
  } catch (e) {
    report(e);
    return undefined;
  }
}

/** The handle's load calls, refused once the mount ended (they would load into the window's newer grid). */
function guarded(api: LoadApi, life: Life): LoadApi {
  const refuse = () => Promise.reject(cancelled(life.over ?? "disposed"));
  return {
    loadPath: (p) => (life.over ? refuse() : api.loadPath(p)),
    pickAndLoad: (a) => (life.over ? refuse() : api.pickAndLoad(a)),
    loadExpr: (b) => (life.over ? refuse() : api.loadExpr(b)),
    loadCompare: (a) => (life.over ? refuse() : api.loadCompare(a)),
    pickAndLoadBuild: (a) => (life.over ? refuse() : api.pickAndLoadBuild(a)),
    reload: () => (life.over ? refuse() : api.reload()),
    openTable: (a) => (life.over ? refuse() : api.openTable(a)),
  };
}

/** The handle's export calls: reported, and refused once the mount ended. */
function exportApi(report: Report, life: Life): Pick<BuckarooHandle, "exportView" | "pickAndExport" | "cancelExport"> {
  const live = <T>(f: () => Promise<T>): Promise<T> =>
    life.over ? Promise.reject(cancelled(life.over)) : f().catch((e) => Promise.reject(report(e)));
  const exportView = (args: ExportArgs) => live(() => commands.exportView(args));
  return {
    exportView,
    pickAndExport: (o = {}) =>
      live(() => commands.pickExportPath(o.defaultName)).then((path) =>
        path === null ? null : exportView({ path, wholeFile: o.wholeFile }),
      ),
    cancelExport: () => live(() => commands.cancelExport()),
  };
}

/** The cell selection and its copy, unless `copy: false`. */
function copyApi(host: HTMLElement, opts: MountOptions, report: Report, life: Life): Pick<BuckarooHandle, "selection" | "copySelection"> {
  const copy = async (block: CellBlock) => {
    try {
      const copied = await commands.copyCells(block);
      opts.onCopied?.({ ...copied, block });
      return copied;
    } catch (e) {
      throw report(e);
    }
  };
  if (opts.copy === false) return { selection: () => null, copySelection: () => Promise.resolve(null) };
  const selection = new CellSelection(host, copy);
  life.add(() => selection.dispose());
  return {
    selection: () => selection.block(),
    copySelection: () => {
      const block = selection.block();
      return block ? copy(block) : Promise.resolve(null);
    },
  };
}

/** The options' callbacks, silent once the mount ended: a disposed grid says nothing more. */
function whileLive(options: MountOptions, life: Life): MountOptions {
  const live =
    <A extends unknown[]>(f?: (...a: A) => void) =>
    (...a: A) => {
      if (!life.over) f?.(...a);
    };
  return {
    ...options,
    onStatus: live(options.onStatus),
    onState: live(options.onState),
    onLoading: live(options.onLoading),
    onStats: options.onStats && live(options.onStats),
    onRowsWaiting: options.onRowsWaiting && live(options.onRowsWaiting),
    onFileChanged: options.onFileChanged && live(options.onFileChanged),
    onExportProgress: options.onExportProgress && live(options.onExportProgress),
    onCopied: options.onCopied && live(options.onCopied),
  };
}

/**
 * Mount buckaroo's grid in `el` for this window: attach to the plugin, load the
 * widget (and its CSS), keep the grid filling `el`. One per window: a newer mount
 * replaces this one (then rejects or reports `mount_cancelled`); any order and timing
 * of mounts and disposes ends with the newest mount live.
 */
export async function mountBuckaroo(el: HTMLElement, options: MountOptions = {}): Promise<BuckarooHandle> {
  const win = el.ownerDocument.defaultView ?? globalThis;
  const life = begin(win, options.signal);
  const report = reporter(options.onError, life);
  life.add(() => {
    if (life.over === "superseded") options.onError?.(cancelled("superseded"));
  });
  const opts = whileLive(options, life);
  const model = new TauriIPCModel({ onError: (e) => report(e) });
  // This mount watches the grid's paint (watchRows): new data's rows come before its stats' charts.
  model.holdSummaryUntilPainted = true;
  const channel = model.channel();
  // Not `channel.onmessage = () => {}`: an arrow made here closes over this whole mount
  // (model, grid, host element), and the Channel stays registered in the window.
  life.add(() => {
    releaseChannel(channel);
    model.dispose();
  });
  const widget = loadWidget(el.ownerDocument, opts.widget ?? DEFAULT_WIDGET_URL, opts.css);
  const host = createHost(el);
  life.add(() => host.remove());
  const overlay = failedRows(host);
  const grid = mountGrid(el, host, model, widget, () => overlay.clear());
  life.add(() => grid.dispose());
  const loads = new LoadTracker((l) => opts.onLoading?.(l));
  watchRows(model, overlay, loads, () => grid.element);
  followStates(model, grid, loads, opts.onState, report);
  if (opts.onStats) model.on("stats", opts.onStats);
  if (opts.onRowsWaiting) model.on("rows_waiting", opts.onRowsWaiting as Handler);
  if (opts.onFileChanged) model.on("file_changed", opts.onFileChanged as Handler);
  if (opts.onExportProgress) model.on("export_progress", opts.onExportProgress as Handler);
  const copier = copyApi(host, opts, report, life);
  const seen: { state?: SidecarStatus["state"] } = {};
  const unlistenStatus = await watchStatus(opts.onStatus, report, seen, loads, model);
  life.add(() => unlistenStatus?.());
  // Only while Python starts: with a sidecar up, a load's data comes within the warm-up's own time.
  if (opts.warmUp !== false && WARM_WHILE.has(seen.state)) grid.warm(RENDER_FUNC.buckaroo);
  // A load refused because the sidecar failed says less than the failure itself, which
  // was reported with its own code and fix: the load still rejects, unreported.
  const reportLoad: Report = (e, fallbackCode) => {
    const err = toBuckarooError(e, fallbackCode);
    return err.code === "sidecar_failed" && seen.state === "failed" ? err : report(err);
  };

  let info: AttachInfo | null;
  try {
    info = await attachInTurn(win, life, () => commands.attach(channel, true));
  } catch (e) {
    const err = report(e);
    life.end("failed");
    throw err;
  }
  if (!info || life.over) throw cancelled(life.over ?? "disposed");
  if (info.pollId !== undefined) {
    const poller = pollFrames(info.pollId, model.handleFrame.bind(model), report);
    life.add(() => poller.stop());
  }
  model.sessionId = info.sessionId;
  if (info.autoload) {
    loads.begin(info.autoload, "autoload");
    if (seen.state === "failed") loads.pause(); // it failed before this window attached
  }
  const shownPath = () => (model.get("metadata") as { path?: string } | undefined)?.path ?? null;
  const api = guarded(loadApi(loads, reportLoad, shownPath), life);
  if (opts.load) api.loadPath(opts.load).catch(() => {});
  return {
    model,
    sessionId: info.sessionId,
    rendered: grid.rendered,
    get loading() {
      return loads.current;
    },
    ...api,
    ...exportApi(report, life),
    ...copier,
    dispose: () => life.end("disposed"),
  };
}
