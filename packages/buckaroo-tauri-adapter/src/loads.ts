/** A window's loads: the one in progress (for `onLoading`), and the handle's load calls. */
import * as commands from "./commands.js";
import { mark } from "./marks.js";
import type { BuckarooError, LoadCompareArgs, LoadExprArgs, LoadPathArgs, LoadResult, OpenTableArgs } from "./protocol.js";

/** The load a window is waiting for. */
export interface LoadInProgress {
  path: string;
  /** `autoload`: the plugin started it (BuckarooConfig::with_autoload, a file on the command line). */
  source: "autoload" | "page";
  /**
   * The sidecar failed before the load could be sent. The plugin keeps it and sends it
   * once a sidecar is ready again (Retry), so it is not over; but nothing moves until
   * then: show "opens after Retry", not a spinner.
   */
  paused: boolean;
}

/**
 * The window's load in progress: begins with the request, ends with its first painted
 * row window (or a failure). Only the newest load counts.
 */
export class LoadTracker {
  current: LoadInProgress | null = null;
  private seq = 0;
  private rowsAwaited = -1;

  constructor(private readonly notify: (load: LoadInProgress | null) => void) {}

  begin(path: string, source: LoadInProgress["source"]): number {
    this.current = { path, source, paused: false };
    this.notify(this.current);
    return ++this.seq;
  }

  /** The sidecar failed: the load waits for the next one (the plugin replays it). */
  pause(seq = this.seq): void {
    this.setPaused(seq, true);
  }

  /** A sidecar is starting again: the paused load goes on. */
  resume(): void {
    this.setPaused(this.seq, false);
  }

  private setPaused(seq: number, paused: boolean): void {
    if (seq !== this.seq || !this.current || this.current.paused === paused) return;
    this.current = { ...this.current, paused };
    this.notify(this.current);
  }

  /** New data arrived: the next row window, if it is this load's, ends it. */
  dataArrived(path: unknown): void {
    if (this.current && (path === undefined || path === this.current.path)) this.rowsAwaited = this.seq;
  }

  get awaitingRows(): boolean {
    return this.current !== null && this.rowsAwaited === this.seq;
  }

  /**
   * A row window reached the grid: when it is the awaited one, the load ends once the grid
   * painted it (`painted`, only then called: it watches the grid's rows every frame).
   */
  rowsArrived(painted: () => Promise<void>): void {
    if (!this.awaitingRows) return;
    const seq = this.seq;
    void painted().then(() => {
      if (seq === this.seq) mark("rows-painted");
      this.end(seq);
    });
  }

  end(seq = this.seq): void {
    if (seq !== this.seq || !this.current) return;
    this.current = null;
    this.rowsAwaited = -1;
    this.notify(null);
  }
}

export interface LoadApi {
  loadPath(path: string | LoadPathArgs): Promise<LoadResult>;
  reload(): Promise<LoadResult>;
  pickAndLoad(args?: Omit<LoadPathArgs, "path">): Promise<LoadResult | null>;
  loadExpr(build: string | LoadExprArgs): Promise<LoadResult>;
  loadCompare(args: LoadCompareArgs): Promise<LoadResult>;
  pickAndLoadBuild(args?: Omit<LoadExprArgs, "buildDir">): Promise<LoadResult | null>;
  openTable(args: OpenTableArgs): Promise<LoadResult>;
}

/**
 * The handle's load calls: each begins a load on `loads` (a rejection ends it), and
 * every rejection also goes through `report`, so a page without try/catch still shows it.
 */
export function loadApi(loads: LoadTracker, report: (e: unknown) => BuckarooError, shown: () => string | null): LoadApi {
  const reported = <T>(p: Promise<T>): Promise<T> => p.catch((e: unknown) => Promise.reject(report(e)));
  const tracked = (path: string, call: () => Promise<LoadResult>) => {
    const seq = loads.begin(path, "page");
    return reported(call()).catch((e: BuckarooError) => {
      // Refused because the sidecar failed: the plugin sends it once one is ready.
      if (e.code === "sidecar_failed") loads.pause(seq);
      else loads.end(seq);
      throw e;
    });
  };
  const loadPath = (p: string | LoadPathArgs) => {
    const args = typeof p === "string" ? { path: p } : p;
    return tracked(args.path, () => commands.loadPath(args));
  };
  const loadExpr = (b: string | LoadExprArgs) => {
    const args = typeof b === "string" ? { buildDir: b } : b;
    return tracked(args.buildDir, () => commands.loadExpr(args));
  };
  return {
    loadPath,
    loadExpr,
    // What the window shows, again: progress under its own name.
    reload: () => tracked(shown() ?? "", () => commands.reload()),
    // The diff of two files: the window shows it under the first file's name.
    loadCompare: (args) => tracked(args.path1, () => commands.loadCompare(args)),
    // A database's table: progress under the table's (or the query's) name.
    openTable: (args) => tracked(args.table?.name ?? "query", () => commands.openTable(args)),
    async pickAndLoad(args) {
      const path = await reported(commands.pickFile());
      return path ? loadPath({ ...args, path }) : null;
    },
    async pickAndLoadBuild(args) {
      const buildDir = await reported(commands.pickBuild());
      return buildDir ? loadExpr({ ...args, buildDir }) : null;
    },
  };
}
