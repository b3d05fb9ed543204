/**
 * buckaroo's grid in the page: load the wheel's widget.js (and its CSS), mount it
 * over the model, and mount a fresh one when the data or the render function changes.
 */
import { keepFitting } from "./layout.js";
import { mark } from "./marks.js";
import type { Handler, TauriIPCModel } from "./model.js";
import type { BuckarooError } from "./protocol.js";
import { type RenderOnce, type WarmUp, warmUp } from "./warmup.js";

/**
 * What `await import("widget.js")` gives: an anywidget ESM module with an async factory.
 * `initialize` and `render` may return their cleanup (or a promise of it), as anywidget's do:
 * buckaroo's render returns the unmount of its React tree.
 */
export interface WidgetModule {
  default: () => Promise<{
    initialize?: (ctx: { model: unknown }) => unknown;
    render: (ctx: { model: unknown; el: HTMLElement; experimental?: unknown }) => unknown;
  }>;
}

/** Where `buckarooAssets()` (Vite) and `copy-assets` put the grid's files. */
export const DEFAULT_WIDGET_URL = "/buckaroo/widget.js";

/**
 * The host page's element rules (`input, button { padding: … }`, as create-tauri-app's
 * templates have) would restyle the grid's search box and dropdowns: inside the grid
 * they fall back to the browser's defaults. `:where()` keeps this at an element
 * selector's specificity, and it sits right before buckaroo's stylesheet, so the host's
 * rules (earlier) lose to it and buckaroo's own (later, or more specific) win over it.
 * A host rule with a class or pseudo-class (`button:hover`) still applies.
 */
export const FORM_RESET_CSS = ":where(.buckaroo-tauri-host) :is(input, button, select, textarea) { all: revert; }";
/** Cells of the adapter's selection (selection.ts), over AG Grid's own cell colours. */
export const SELECTION_CSS =
  ":where(.buckaroo-tauri-host) .ag-cell.buckaroo-selected { background-color: rgba(33, 150, 243, 0.28) !important; }";
const RESET_ID = "buckaroo-tauri-form-reset";

/** Link buckaroo's stylesheet once per document, with the reset for the host's element rules before it. */
function linkStylesheet(doc: Document, href: string): void {
  let link = [...doc.querySelectorAll<HTMLLinkElement>('link[rel="stylesheet"]')].find((l) => l.getAttribute("href") === href);
  if (!link) {
    link = doc.createElement("link");
    link.rel = "stylesheet";
    link.href = href;
    doc.head.append(link);
  }
  if (doc.getElementById(RESET_ID)) return;
  const reset = Object.assign(doc.createElement("style"), { id: RESET_ID, textContent: `${FORM_RESET_CSS}\n${SELECTION_CSS}` });
  link.before(reset);
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
 * Start loading the widget (a URL, or the module itself) and link its CSS (`css`;
 * default: compiled.css next to a widget URL). A failed import is reported when a
 * grid is first needed.
 */
export function loadWidget(doc: Document, widget: string | WidgetModule, css?: string | false): Promise<WidgetModule> {
  const href = css ?? (typeof widget === "string" ? widget.replace(/[^/]*$/, "compiled.css") : false);
  if (href) linkStylesheet(doc, href);
  const module = typeof widget === "string" ? importWidget(widget) : Promise.resolve(widget);
  module.then(() => mark("widget-ready"), () => {}); // a failure is reported when a grid is first needed
  return module;
}

/**
 * The element every grid of one mount renders in: fills `el` (now emptied), clips,
 * anchors overlays. Its mount removes it, and nothing else of `el`.
 */
export function createHost(el: HTMLElement): HTMLElement {
  const host = el.ownerDocument.createElement("div");
  host.className = "buckaroo-tauri-host";
  host.style.cssText = "width:100%;height:100%;overflow:hidden;position:relative;";
  el.replaceChildren(host);
  return host;
}

type Cleanup = () => void;

/** What React 18's `createRoot` returns: its public `unmount` ends the tree and its effects. */
interface ReactRoot {
  unmount(): void;
}

/**
 * Run `render` and return the React roots it created in `el`. buckaroo 0.15.11's render
 * creates one with `createRoot(el)` and drops the `unmount` its inner render returns, so
 * nothing could ever end that tree (its AG Grid, its window listeners): every grid leaked.
 * React's root constructor sets `this._internalRoot`, inherited from nowhere, so for the
 * length of this synchronous call a setter on `Object.prototype` sees the root being
 * made; one whose container is `el` is kept. Every other assignment becomes the plain
 * own property it would have been, and the setter is gone when `render` returns.
 */
export function capturingRoots(el: HTMLElement, render: () => unknown): { result: unknown; roots: ReactRoot[] } {
  const roots: ReactRoot[] = [];
  const key = "_internalRoot";
  const had = Object.getOwnPropertyDescriptor(Object.prototype, key);
  if (had) return { result: render(), roots }; // someone else's: leave it alone
  Object.defineProperty(Object.prototype, key, {
    configurable: true,
    set(this: object, value: unknown) {
      Object.defineProperty(this, key, { value, writable: true, enumerable: true, configurable: true });
      if ((value as { containerInfo?: unknown } | null)?.containerInfo === el && typeof (this as Partial<ReactRoot>).unmount === "function") {
        roots.push(this as ReactRoot);
      }
    },
  });
  try {
    return { result: render(), roots };
  } finally {
    delete (Object.prototype as Record<string, unknown>)[key];
  }
}

/** Whether the widget's initialize or render returned its cleanup (a function, or a promise of one). */
function gaveCleanup(results: unknown[]): boolean {
  return results.some((r) => typeof r === "function" || typeof (r as PromiseLike<unknown> | undefined)?.then === "function");
}

/** A widget's cleanups (functions, or promises of them) as one call. */
function cleanupOf(results: unknown[], roots: ReactRoot[]): Cleanup {
  const call = (c: unknown) => typeof c === "function" && (c as Cleanup)();
  const given = gaveCleanup(results);
  return () => {
    for (const r of results) {
      const then = (r as PromiseLike<unknown> | undefined)?.then;
      if (typeof then === "function") then.call(r, call, () => {});
      else call(r);
    }
    // A widget whose render gave its cleanup unmounts its own root; else we do.
    if (!given) for (const root of roots) root.unmount();
  };
}

/** What the widget module's factory gives: its initialize and render. */
export type WidgetInstance = Awaited<ReturnType<WidgetModule["default"]>>;

/**
 * Run the widget's initialize and render over `model` in `el`: its cleanup, and how it
 * ends the tree (the widget's own cleanup, else the React roots its render made). A render
 * that throws has what it made so far ended before it rethrows.
 */
function renderWidget(instance: WidgetInstance, model: unknown, el: HTMLElement): { cleanup: Cleanup; ends: "yes" | "root" | "none" } {
  const results: unknown[] = [];
  let roots: ReactRoot[] = [];
  let done = false;
  try {
    results.push(instance.initialize?.({ model }));
    const rendered = capturingRoots(el, () => instance.render({ model, el, experimental: {} }));
    results.push(rendered.result);
    roots = rendered.roots;
    done = true;
  } finally {
    if (!done) cleanupOf(results, roots)();
  }
  const given = gaveCleanup(results);
  return { cleanup: cleanupOf(results, roots), ends: given ? "yes" : roots.length ? "root" : "none" };
}

/** The warm-up's render (warmup.ts): the same bookkeeping, so its placeholder tree ends too. */
const renderOnce: RenderOnce = (instance, model, el) => renderWidget(instance, model, el).cleanup;

export interface Grid {
  /** The element the current grid renders into; undefined before the first grid. */
  readonly element: HTMLElement | undefined;
  /** Resolves after the first grid rendered. */
  readonly rendered: Promise<void>;
  /**
   * Mount a fresh grid when the render function changes, or when new data arrived (an
   * unnumbered initial_state: a load, a reload, a restart replay of changed data). The widget's row cache
   * is keyed by the view's parameters, not by the data, so reusing it would show the
   * previous file's rows. Replies to our own state changes (numbered) keep the grid.
   * Then measure the layout again.
   */
  update(freshData: boolean): Promise<void>;
  /**
   * Before the first data: mount the widget (`renderFunc`) unseen over a placeholder
   * and end it (warmup.ts), so the first real grid pays a render, not a first mount.
   */
  warm(renderFunc: string): void;
  dispose(): void;
}

/**
 * The grid in `host` (inside `el`, which it keeps filling), over `model`. `replaced`
 * runs when a fresh grid element took the old one's place, before the widget renders.
 */
export function mountGrid(el: HTMLElement, host: HTMLElement, model: TauriIPCModel, widget: Promise<WidgetModule>, replaced: () => void): Grid {
  let renderedFunc: string | undefined;
  let inner: HTMLElement | undefined;
  let disposed = false;
  let remounts = 0;
  let cleanup: Cleanup = () => {};
  let warming: WarmUp | null = null;
  let resolveRendered!: () => void;
  const rendered = new Promise<void>((r) => {
    resolveRendered = r;
  });
  const layout = keepFitting(el, model, () => inner);
  // Track what the widget subscribes, so a remount (mode change) can drop the old grid's handlers.
  let widgetHandlers: Array<[string, Handler]> = [];
  const on = model.on.bind(model);
  const capture = (event: string, h: Handler) => {
    widgetHandlers.push([event, h]);
    on(event, h);
  };
  /** The current grid off: its handlers, and its React tree unmounted (else each file leaks one). */
  const teardown = () => {
    for (const [e, h] of widgetHandlers) model.off(e, h);
    widgetHandlers = [];
    const done = cleanup;
    cleanup = () => {};
    done();
  };

  async function remount(): Promise<void> {
    const mine = ++remounts;
    const instance = await (await widget).default();
    // Disposed meanwhile, or a newer state is mounting its own grid.
    if (disposed || mine !== remounts) return;
    warming?.end();
    teardown();
    inner = el.ownerDocument.createElement("div");
    inner.className = "buckaroo-tauri-grid";
    host.replaceChildren(inner);
    replaced();
    model.on = capture;
    try {
      const rendered = renderWidget(instance, model, inner);
      cleanup = rendered.cleanup;
      inner.dataset.cleanup = rendered.ends;
    } finally {
      model.on = on;
    }
    layout.mounted();
    resolveRendered();
  }

  return {
    get element() {
      return inner;
    },
    rendered,
    async update(freshData) {
      const func = model.get("render_func_name") as string | undefined;
      if (func && !disposed && (func !== renderedFunc || freshData)) {
        renderedFunc = func;
        await remount();
      }
      if (!disposed) layout.settle();
    },
    warm(renderFunc) {
      if (warming || renderedFunc || disposed) return;
      warming = warmUp(host, widget, renderFunc, renderOnce);
    },
    dispose() {
      disposed = true;
      warming?.end();
      layout.dispose();
      teardown();
    },
  };
}
