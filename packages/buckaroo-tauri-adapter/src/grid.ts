/**
 * buckaroo's grid in the page: load the wheel's widget.js (and its CSS), mount it
 * over the model, and mount a fresh one when the data or the render function changes.
 */
import { keepFitting } from "./layout.js";
import { mark } from "./marks.js";
import type { Handler, TauriIPCModel } from "./model.js";
import type { BuckarooError } from "./protocol.js";

/** What `await import("widget.js")` gives: an anywidget ESM module with an async factory. */
export interface WidgetModule {
  default: () => Promise<{
    initialize?: (ctx: { model: unknown }) => unknown;
    render: (ctx: { model: unknown; el: HTMLElement; experimental?: unknown }) => unknown;
  }>;
}

/** Where `buckarooAssets()` (Vite) and `copy-assets` put the grid's files. */
export const DEFAULT_WIDGET_URL = "/buckaroo/widget.js";

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

/** The element every grid is mounted in: fills `el` (now emptied), clips, anchors overlays. */
export function createHost(el: HTMLElement): HTMLElement {
  const host = el.ownerDocument.createElement("div");
  host.className = "buckaroo-tauri-host";
  host.style.cssText = "width:100%;height:100%;overflow:hidden;position:relative;";
  el.replaceChildren(host);
  return host;
}

export interface Grid {
  /** The element the current grid renders into; undefined before the first grid. */
  readonly element: HTMLElement | undefined;
  /** Resolves after the first grid rendered. */
  readonly rendered: Promise<void>;
  /**
   * Mount a fresh grid when the render function changes, or when new data arrived (an
   * unnumbered initial_state: a load, a reload, a restart replay). The widget's row cache
   * is keyed by the view's parameters, not by the data, so reusing it would show the
   * previous file's rows. Replies to our own state changes (numbered) keep the grid.
   * Then measure the layout again.
   */
  update(freshData: boolean): Promise<void>;
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

  async function remount(): Promise<void> {
    for (const [e, h] of widgetHandlers) model.off(e, h);
    widgetHandlers = [];
    const mod = await widget;
    inner = el.ownerDocument.createElement("div");
    inner.className = "buckaroo-tauri-grid";
    host.replaceChildren(inner);
    replaced();
    const instance = await mod.default();
    model.on = capture;
    try {
      instance.initialize?.({ model });
      instance.render({ model, el: inner, experimental: {} });
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
      layout.settle();
    },
    dispose() {
      disposed = true;
      layout.dispose();
    },
  };
}
