/**
 * mountBuckaroo: the real buckaroo grid (the wheel's widget.js) in an element,
 * fed by TauriIPCModel over this window's Channel.
 */
import { Channel } from "@tauri-apps/api/core";
import type { UnlistenFn } from "@tauri-apps/api/event";
import * as commands from "./commands.js";
import { TauriIPCModel } from "./model.js";
import { toBuckarooError, type AttachInfo, type BuckarooError, type LoadPathArgs, type LoadResult, type SidecarStatus } from "./protocol.js";

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
}

export interface BuckarooHandle {
  model: TauriIPCModel;
  sessionId: string;
  /** Resolves after the grid first rendered. */
  rendered: Promise<void>;
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
  host.style.cssText = "width:100%;height:100%;overflow:hidden;";
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

  model.on("initial_state", (state: Record<string, unknown>) => {
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

  // Every rejection also reaches onError, so a page without try/catch still shows it.
  const reported = <T>(p: Promise<T>): Promise<T> => p.catch((e: unknown) => Promise.reject(report(e)));
  const loadPath = (p: string | LoadPathArgs) => reported(commands.loadPath(typeof p === "string" ? { path: p } : p));
  if (options.load) loadPath(options.load).catch(() => {});

  return {
    model,
    sessionId: info.sessionId,
    rendered,
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
