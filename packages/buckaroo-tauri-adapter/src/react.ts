/**
 * `<BuckarooGrid>`: buckaroo's grid as a React component (`buckaroo-tauri-adapter/react`;
 * React 18 or newer, an optional peer). Safe under StrictMode, hot reload and remounts:
 * each mount has its own container and is disposed through an AbortSignal, even before
 * it attached (mountBuckaroo keeps one grid live per window). The container fills its
 * parent; give the parent a height. The host's element rules for input, button, select
 * and textarea are reset inside the grid (grid.ts, FORM_RESET_CSS).
 */
import { type CSSProperties, createElement, type ReactElement, useEffect, useRef } from "react";
import { type BuckarooHandle, type MountOptions, mountBuckaroo } from "./mount.js";

export interface BuckarooGridProps extends Omit<MountOptions, "signal"> {
  /**
   * The live grid's handle (`loadPath`, `pickAndLoad`, …) once it attached; `null` when
   * it is disposed. Keep it in state to wire an "Open…" button.
   */
  onHandle?: (handle: BuckarooHandle | null) => void;
  className?: string;
  /** Merged over the container's own `height: 100%`. */
  style?: CSSProperties;
}

const keyOf = (load: MountOptions["load"]) => JSON.stringify(load ?? null);

/** The mount's options: the latest props' callbacks, so new inline functions do not remount. */
function delegating(latest: { current: BuckarooGridProps }, assets: Pick<MountOptions, "widget" | "css">, signal: AbortSignal): MountOptions {
  const p = latest.current;
  return {
    ...assets,
    load: p.load,
    signal,
    onError: (e) => latest.current.onError?.(e),
    onStatus: (s) => latest.current.onStatus?.(s),
    onState: (s) => latest.current.onState?.(s),
    onLoading: (l) => latest.current.onLoading?.(l),
    onFileChanged: (c) => latest.current.onFileChanged?.(c),
    // Subscribed only when given at mount: they start work in the model.
    onStats: p.onStats && ((s) => latest.current.onStats?.(s)),
    onRowsWaiting: p.onRowsWaiting && ((w) => latest.current.onRowsWaiting?.(w)),
  };
}

export function BuckarooGrid(props: BuckarooGridProps): ReactElement {
  const container = useRef<HTMLDivElement>(null);
  const latest = useRef(props);
  latest.current = props;
  const handle = useRef<BuckarooHandle | null>(null);
  const loaded = useRef(keyOf(props.load));
  const { widget, css } = props;

  useEffect(() => {
    const el = container.current;
    if (!el) return;
    const abort = new AbortController();
    loaded.current = keyOf(latest.current.load);
    mountBuckaroo(el, delegating(latest, { widget, css }, abort.signal)).then(
      (h) => {
        if (abort.signal.aborted) return h.dispose();
        handle.current = h;
        latest.current.onHandle?.(h);
        // The load prop changed while this mount attached.
        const load = latest.current.load;
        if (load && keyOf(load) !== loaded.current) h.loadPath(load).catch(() => {});
        loaded.current = keyOf(load);
      },
      () => {}, // mount_cancelled after an abort; any other failure already went to onError
    );
    return () => {
      abort.abort();
      if (handle.current) latest.current.onHandle?.(null);
      handle.current = null;
    };
  }, [widget, css]);

  // A new `load` after mounting: load it into the live grid (its failure goes to onError).
  const loadKey = keyOf(props.load);
  useEffect(() => {
    const load = latest.current.load;
    if (!handle.current || loadKey === loaded.current) return;
    loaded.current = loadKey;
    if (load) handle.current.loadPath(load).catch(() => {});
  }, [loadKey]);

  return createElement("div", {
    ref: container,
    className: props.className,
    "data-buckaroo-grid": "",
    style: { height: "100%", minHeight: 0, ...props.style },
  });
}
