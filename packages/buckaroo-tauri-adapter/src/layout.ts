/**
 * The grid's height. buckaroo's widget sizes itself from
 * `df_display_args[*].df_viewer_config.component_config.dfvHeight`, not from its
 * element: the model writes that height into every display args it holds
 * (`withDisplayHeight`), and `keepFitting` picks the height that makes the grid
 * fill its element, measuring the widget's own chrome (status bar, stats) rather
 * than guessing it.
 */

/** Smallest grid height in px; below it the grid shows no rows at all. */
export const MIN_GRID_HEIGHT = 120;

/** A height in px as the grid takes it: whole, and not below MIN_GRID_HEIGHT. */
export function gridHeight(px: number): number {
  return Math.max(MIN_GRID_HEIGHT, Math.floor(px));
}

/** `df_display_args` with `dfvHeight` set in every view's component_config; as is when there is no height yet. */
export function withDisplayHeight(args: unknown, height: number | null): unknown {
  if (height === null || !args || typeof args !== "object") return args;
  const out: Record<string, unknown> = {};
  for (const [k, entry] of Object.entries(args as Record<string, Record<string, unknown>>)) {
    const cfg = (entry?.df_viewer_config ?? {}) as Record<string, unknown>;
    const cc = (cfg.component_config ?? {}) as Record<string, unknown>;
    out[k] = { ...entry, df_viewer_config: { ...cfg, component_config: { ...cc, dfvHeight: height } } };
  }
  return out;
}

/** What the layout needs of the model: the grid height it holds, and a way to change it. */
export interface HeightSink {
  readonly displayHeight: number | null;
  setDisplayHeight(px: number): void;
}

export interface GridLayout {
  /** A grid was just mounted: fit it, and make AG Grid measure its width again. */
  mounted(): void;
  /** A new state reached the grid: measure again once React has laid it out. */
  settle(): void;
  dispose(): void;
}

/**
 * Keep the grid (`grid()`, inside `el`) filling `el`: an initial guess now, then a
 * measurement on every resize of `el` and after every render.
 */
export function keepFitting(el: HTMLElement, model: HeightSink, grid: () => HTMLElement | undefined): GridLayout {
  /** Measure now and resize the grid if it does not fill the element. */
  const fitGrid = (): void => {
    const current = model.displayHeight ?? 0;
    const inner = grid();
    // The grid element is as tall as its content (the host clips), so its height minus
    // the grid's own height is the chrome.
    const chrome = current && inner ? Math.max(0, inner.offsetHeight - current) : 0;
    const target = el.clientHeight - chrome - 4;
    if (target > 0 && Math.abs(target - current) > 2) model.setDisplayHeight(target);
  };
  model.setDisplayHeight(Math.max(200, el.clientHeight - 80));
  const resize = typeof ResizeObserver !== "undefined" ? new ResizeObserver(() => fitGrid()) : undefined;
  resize?.observe(el);
  const win = () => el.ownerDocument.defaultView;
  return {
    mounted() {
      fitGrid();
      // AG Grid measures its width once; a resize after the first layout makes it render
      // every column that fits instead of the ones that fit the initial measurement.
      requestAnimationFrame(() => win()?.dispatchEvent(new Event("resize")));
    },
    settle() {
      // React lays out asynchronously: measure again once it has.
      requestAnimationFrame(() => fitGrid());
      setTimeout(fitGrid, 250);
    },
    dispose() {
      resize?.disconnect();
    },
  };
}
