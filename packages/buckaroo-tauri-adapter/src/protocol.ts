/**
 * The plugin's IPC contract (docs/protocol.md), typed. Wire names are camelCase;
 * server frames relayed on the Channel keep buckaroo's own snake_case.
 */

/** buckaroo server `initial_state.protocol_version` values this adapter understands. */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly number[] = [1];

/** Row-window and state messages the plugin accepts from a page. */
export type PageMessageType = "infinite_request" | "buckaroo_state_change" | "stats_request";

export type LoadMode = "buckaroo" | "viewer" | "lazy";

/** Every rejected command carries one of these. */
export interface BuckarooError {
  code: string;
  message: string;
  hint?: string;
  /** For `load_failed`: the buckaroo server's own error_code (file_not_found, invalid_file, …). */
  serverCode?: string;
}

export interface ErrorInfo {
  code: string;
  message: string;
  hint?: string;
}

export type SidecarStatus =
  | { state: "starting"; attempt: number }
  | { state: "ready"; generation: number; pid: number; python: string; buckarooVersion: string | null }
  | { state: "restarting"; attempt: number; retryInMs: number; error: ErrorInfo }
  | { state: "failed"; error: ErrorInfo }
  | { state: "stopped" };

export interface HealthInfo {
  pluginVersion: string;
  state: SidecarStatus["state"];
  ready: boolean;
  sessionId: string | null;
  connected: boolean;
  server: Record<string, unknown> | null;
}

export interface AttachInfo {
  sessionId: string;
  connected: boolean;
  autoload: string | null;
}

export interface LoadPathArgs {
  path: string;
  mode?: LoadMode;
  backend?: "pandas" | "polars";
  prompt?: string;
  componentConfig?: Record<string, unknown>;
  columnConfigOverrides?: Record<string, unknown>;
  extraGridConfig?: Record<string, unknown>;
  initSd?: Record<string, unknown>;
}

export interface LoadExprArgs {
  buildDir: string;
  projectRoot?: string;
  prompt?: string;
  componentConfig?: Record<string, unknown>;
}

export interface LoadCompareArgs {
  path1: string;
  path2: string;
  joinColumns: string[];
  how?: "inner" | "outer" | "left" | "right";
}

export interface LoadResult {
  sessionId: string;
  path: string;
  mode: LoadMode;
  rows: number | null;
  columns: Array<{ name: string; dtype: string }> | null;
}

/** Events the plugin emits (status to every window, `buckaroo:msg` to the owning window). */
export const EVENTS = {
  status: "buckaroo:status",
  ready: "buckaroo:sidecar_ready",
  restarting: "buckaroo:sidecar_restarting",
  failed: "buckaroo:sidecar_failed",
  msg: "buckaroo:msg",
} as const;

export const PLUGIN = "plugin:buckaroo-tauri";

/** Normalise anything a rejected invoke or a thrown error can be into a BuckarooError. */
export function toBuckarooError(err: unknown, fallbackCode = "invoke_failed"): BuckarooError {
  if (err && typeof err === "object" && "code" in err && "message" in err) {
    const e = err as BuckarooError;
    return { code: String(e.code), message: String(e.message), hint: e.hint, serverCode: e.serverCode };
  }
  if (err instanceof Error) return { code: fallbackCode, message: err.message };
  return { code: fallbackCode, message: String(err) };
}

/** One line a page can show as is: the message, then the fix when there is one. */
export function formatError(err: BuckarooError | ErrorInfo): string {
  return err.hint ? `${err.message} — ${err.hint}` : err.message;
}
