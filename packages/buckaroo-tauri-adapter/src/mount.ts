/**
 * mountBuckaroo: the real buckaroo grid (the wheel's widget.js) in an element,
 * fed by TauriIPCModel over this window's Channel.
 */
import { Channel } from "@tauri-apps/api/core";
import type { UnlistenFn } from "@tauri-apps/api/event";
import * as commands from "./commands.js";
import { TauriIPCModel, type RowWindowEvent } from "./model.js";
import { formatError, toBuckarooError, type AttachInfo, type BuckarooError, type LoadPathArgs, type LoadResult, type SidecarStatus } from "./protocol.js";

/** What `await import("widget.js")` gives: an anywidget ESM module with an async factory. */
export interface WidgetModule {
  default: () => Promise<{
    initialize?: (ctx: { model: unknown }) => unknown;
    render: (ctx: { model: unknown; el: HTMLElement; experimental?: unknown }) => unknown;
  }>;
}

/** Where `buckarooAssets()` (Vite) and `copy-assets` put the grid's files. */
export const DEFAULT_WIDGET_URL = "/buckaroo/widget.js";

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
}

/** The load a window is waiting for. */
export interface LoadInProgress {
  path: string;
  /** `autoload`: the plugin started it (BuckarooConfig::with_autoload, a file on the command line). */
  source: "autoload" | "page";
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
  dispose(): void;
}

/** Link buckaroo's stylesheet once per document. */
function linkStylesheet(doc: Document, href: string): void {
  const present = [...doc.querySelectorAll<HTMLLinkElement>('link[rel="stylesheet"]')].some((l) => l.getAttribute("href") === href);
  if (present) return;
  const link = doc.createElement("link");
  link.rel = "stylesheet";
  link.href = href;
  doc.head.append(link);
}

function importWidget(url: string): Promise<WidgetModule> {
  return import(/* @vite-ignore */ url).catch((e: unknown) => {
    throw {
      code: "widget_failed",
      message: `buckaroo's grid (${url}) could not be loaded: ${e instanceof Error ? e.message : String(e)}`,
      hint: 'Serve buckaroo\'s widget.js there: add buckarooAssets() from "buckaroo-tauri-adapter/vite" to vite.config, or run `npx buckaroo-tauri-adapter copy-assets --out <static folder>/buckaroo`.',
    } satisfies BuckarooError;
  });
}

/**
 * The window's load in progress: begins with the request, ends with its first painted
 * row window (or a failure). Only the newest load counts.
 */
class LoadTracker {
  current: LoadInProgress | null = null;
  private seq = 0;
  private rowsAwaited = -1;

  constructor(private readonly notify: (load: LoadInProgress | null) => void) {}

  begin(path: string, source: LoadInProgress["source"]): number {
    this.current = { path, source };
    this.notify(this.current);
    return ++this.seq;
  }

  /** New data arrived: the next row window, if it is this load's, ends it. */
  dataArrived(path: unknown): void {
    if (this.current && (path === undefined || path === this.current.path)) this.rowsAwaited = this.seq;
  }

  get awaitingRows(): boolean {
    return this.current !== null && this.rowsAwaited === this.seq;
  }

  /** The awaited row window reached the grid; it ends the load once the grid painted it. */
  rowsArrived(painted: Promise<void>): void {
    if (!this.awaitingRows) return;
    const seq = this.seq;
    void painted.then(() => this.end(seq));
  }

  end(seq = this.seq): void {
    if (seq !== this.seq || !this.current) return;
    this.current = null;
    this.rowsAwaited = -1;
    this.notify(null);
  }
}

/** buckaroo's data grid (the AG Grid with the pinned index column; its status bar is an AG Grid too) shows a row with text. */
function showsDataRows(el: HTMLElement): boolean {
  return [...el.querySelectorAll(".ag-root-wrapper")].some(
    (root) =>
      root.querySelector('.ag-header-cell[col-id="index"]') &&
      [...root.querySelectorAll(".ag-center-cols-container .ag-row:not(.ag-row-loading) .ag-cell")].some((c) => c.textContent?.trim()),
  );
}

/**
 * Resolves once the grid in `el` shows data rows (the widget decodes parquet
 * asynchronously, then AG Grid renders), or after `limitMs` whatever happened.
 */
function rowsPainted(el: () => HTMLElement | undefined, limitMs = 3000): Promise<void> {
  const win = el()?.ownerDocument.defaultView;
  if (!win) return Promise.resolve();
  const until = Date.now() + limitMs;
  return new Promise((resolve) => {
    const look = () => {
      const node = el();
      if (!node || showsDataRows(node) || Date.now() > until) resolve();
      else win.requestAnimationFrame(look);
    };
    look();
  });
}

type Range = { start: number; end: number };
const rangeOf = (key: unknown): Range => {
  const k = (key ?? {}) as Partial<Range>;
  return { start: typeof k.start === "number" ? k.start : 0, end: typeof k.end === "number" ? k.end : Number.MAX_SAFE_INTEGER };
};

// buckaroo's grid fills a failed block with placeholder rows ("None"): hide them, the overlay says why.
const FAILED_ROWS_CSS = ".buckaroo-tauri-rows-failed .ag-body .ag-row { visibility: hidden; }";

/**
 * A failed row window is said over the grid, and its placeholder rows are hidden, so
 * nothing is taken for data. It lasts until a window over the same rows succeeds.
 */
function failedRows(host: HTMLElement): { failed(key: unknown, err: BuckarooError): void; ok(key: unknown): void; clear(): void } {
  const doc = host.ownerDocument;
  if (!doc.getElementById("buckaroo-tauri-rows-failed-css")) {
    const style = Object.assign(doc.createElement("style"), { id: "buckaroo-tauri-rows-failed-css", textContent: FAILED_ROWS_CSS });
    doc.head.append(style);
  }
  const el = doc.createElement("div");
  el.className = "buckaroo-tauri-rows-error";
  el.setAttribute("role", "alert");
  el.style.cssText = "position:absolute;inset:40px 0 auto 0;margin:auto;max-width:80%;padding:8px 12px;text-align:center;" +
    "background:Canvas;color:#c62828;border:1px solid #c62828;border-radius:4px;z-index:10;";
  let ranges: Range[] = [];
  const render = () => {
    host.classList.toggle("buckaroo-tauri-rows-failed", ranges.length > 0);
    if (!ranges.length) el.remove();
    else if (!el.isConnected) host.append(el);
  };
  return {
    failed(key, err) {
      ranges.push(rangeOf(key));
      el.textContent = formatError(err);
      render();
    },
    ok(key) {
      const r = rangeOf(key);
      ranges = ranges.filter((f) => !(r.start < f.end && r.end > f.start));
      render();
    },
    clear() {
      ranges = [];
      render();
    },
  };
}

/**
 * Mount buckaroo's grid in `el` for this window: attach to the plugin, load the
 * widget (and its CSS), keep the grid filling `el`. One per window.
 */
export async function mountBuckaroo(el: HTMLElement, options: MountOptions = {}): Promise<BuckarooHandle> {
  const report = (e: unknown, fallbackCode?: string): BuckarooError => {
    const err = toBuckarooError(e, fallbackCode);
    options.onError?.(err);
    return err;
  };
  const model = new TauriIPCModel({ onError: options.onError });
  const channel = new Channel<unknown>((m) => model.handleFrame(m));
  const widget = options.widget ?? DEFAULT_WIDGET_URL;
  const css = options.css ?? (typeof widget === "string" ? widget.replace(/[^/]*$/, "compiled.css") : false);
  if (css) linkStylesheet(el.ownerDocument, css);
  const modulePromise: Promise<WidgetModule> = typeof widget === "string" ? importWidget(widget) : Promise.resolve(widget);
  modulePromise.catch(() => {}); // reported when a grid is first needed

  const host = el.ownerDocument.createElement("div");
  host.className = "buckaroo-tauri-host";
  host.style.cssText = "width:100%;height:100%;overflow:hidden;position:relative;";
  el.replaceChildren(host);

  let renderedFunc: string | undefined;
  let inner: HTMLElement | undefined;
  let widgetHandlers: Array<[string, (...a: unknown[]) => void]> = [];
  let resolveRendered!: () => void;
  const rendered = new Promise<void>((r) => (resolveRendered = r));
  let disposed = false;

  // Track what the widget subscribes, so a remount (mode change) can drop the old grid's handlers.
  const on = model.on.bind(model);
  const capture = (event: string, h: (...a: unknown[]) => void) => {
    widgetHandlers.push([event, h]);
    on(event, h);
  };

  /**
   * Mount a fresh grid when the render function changes, or when new data arrived (an
   * unnumbered initial_state: a load, a reload, a restart replay). The widget's row cache
   * is keyed by the view's parameters, not by the data, so reusing it would show the
   * previous file's rows. Replies to our own state changes (numbered) keep the grid.
   */
  async function renderIfNeeded(freshData: boolean): Promise<void> {
    const func = model.get("render_func_name") as string | undefined;
    if (!func || disposed || (func === renderedFunc && !freshData)) return;
    renderedFunc = func;
    for (const [e, h] of widgetHandlers) model.off(e, h);
    widgetHandlers = [];
    const mod = await modulePromise;
    inner = el.ownerDocument.createElement("div");
    inner.className = "buckaroo-tauri-grid";
    host.replaceChildren(inner);
    rowsError.clear();
    const widget = await mod.default();
    model.on = capture;
    try {
      widget.initialize?.({ model });
      widget.render({ model, el: inner, experimental: {} });
    } finally {
      model.on = on;
    }
    fit();
    // AG Grid measures its width once; a resize after the first layout makes it render
    // every column that fits instead of the ones that fit the initial measurement.
    requestAnimationFrame(() => el.ownerDocument.defaultView?.dispatchEvent(new Event("resize")));
    resolveRendered();
  }

  // The grid sizes itself from dfvHeight; keep it filling `el`. The widget's own
  // chrome (status bar, stats) is measured, not guessed.
  function fit(): void {
    const current = model.displayHeight ?? 0;
    // The grid element is as tall as its content (the host clips), so its height minus
    // the grid's own height is the chrome.
    const chrome = current && inner ? Math.max(0, inner.offsetHeight - current) : 0;
    const target = el.clientHeight - chrome - 4;
    if (target > 0 && Math.abs(target - current) > 2) model.setDisplayHeight(target);
  }
  model.setDisplayHeight(Math.max(200, el.clientHeight - 80));
  const resize = typeof ResizeObserver !== "undefined" ? new ResizeObserver(() => fit()) : undefined;
  resize?.observe(el);

  const loads = new LoadTracker((l) => options.onLoading?.(l));
  const rowsError = failedRows(host);
  model.on("row_window", (ev: RowWindowEvent) => {
    if (ev.ok) rowsError.ok(ev.key);
    else if (ev.error) rowsError.failed(ev.key, ev.error);
    loads.rowsArrived(ev.ok && ev.rows !== 0 ? rowsPainted(() => inner) : Promise.resolve());
  });
  // A load the plugin started failed (buckaroo_tauri_error) or the server said no.
  model.on("error", (err: BuckarooError) => {
    if (err.code !== "rows_failed") loads.end();
  });

  model.on("initial_state", (state: Record<string, unknown>) => {
    if (state.reply_seq === undefined) loads.dataArrived((state.metadata as { path?: unknown } | undefined)?.path);
    options.onState?.(state);
    renderIfNeeded(state.reply_seq === undefined)
      .then(() => {
        // React lays out asynchronously: measure again once it has.
        requestAnimationFrame(() => fit());
        setTimeout(fit, 250);
      })
      .catch((e) => report(e, "widget_failed"));
  });

  let unlistenStatus: UnlistenFn | undefined;
  let lastState: SidecarStatus["state"] | undefined;
  try {
    // Nothing to reset on "restarting": the plugin delivers a parquet header only together
    // with its bytes, and answers every request the dead sidecar left unanswered.
    unlistenStatus = await commands.onStatus((s) => {
      options.onStatus?.(s);
      // The failed sidecar's cause and fix (the pip command) reach onError once.
      if (s.state === "failed" && lastState !== "failed") report(s.error);
      lastState = s.state;
    });
  } catch (e) {
    report(e);
  }

  let info: AttachInfo;
  try {
    info = await commands.attach(channel);
  } catch (e) {
    resize?.disconnect();
    unlistenStatus?.();
    throw report(e);
  }
  model.sessionId = info.sessionId;
  if (info.autoload) loads.begin(info.autoload, "autoload");

  // Every rejection also reaches onError, so a page without try/catch still shows it.
  const reported = <T>(p: Promise<T>): Promise<T> => p.catch((e: unknown) => Promise.reject(report(e)));
  const loadPath = (p: string | LoadPathArgs) => {
    const args = typeof p === "string" ? { path: p } : p;
    const seq = loads.begin(args.path, "page");
    return reported(commands.loadPath(args)).catch((e: unknown) => {
      loads.end(seq);
      throw e;
    });
  };
  if (options.load) loadPath(options.load).catch(() => {});

  return {
    model,
    sessionId: info.sessionId,
    rendered,
    get loading() {
      return loads.current;
    },
    loadPath,
    async pickAndLoad(args) {
      const path = await reported(commands.pickFile());
      return path ? loadPath({ ...args, path }) : null;
    },
    dispose() {
      disposed = true;
      unlistenStatus?.();
      resize?.disconnect();
      channel.onmessage = () => {};
      model.off();
      el.replaceChildren();
    },
  };
}
