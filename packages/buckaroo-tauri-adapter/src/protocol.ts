/**
 * The plugin's IPC contract (docs/protocol.md), typed. Wire names are camelCase;
 * server frames relayed on the Channel keep buckaroo's own snake_case.
 */

/** buckaroo server `initial_state.protocol_version` values this adapter understands. */
export const SUPPORTED_PROTOCOL_VERSIONS: readonly number[] = [1];

/** Row-window and state messages the plugin accepts from a page. */
export type PageMessageType = "infinite_request" | "buckaroo_state_change" | "stats_request";

export type LoadMode = "buckaroo" | "viewer" | "lazy";

/**
 * The plugin's command names, in the order of crates/buckaroo-tauri/build.rs (which
 * generates their permissions). commands.ts wraps exactly these.
 */
export const COMMANDS = [
  "buckaroo_status",
  "buckaroo_retry",
  "buckaroo_health",
  "buckaroo_diagnostics",
  "buckaroo_attach",
  "buckaroo_load_path",
  "buckaroo_reload",
  "buckaroo_load_expr",
  "buckaroo_reload_expr",
  "buckaroo_load_compare",
  "buckaroo_send",
  "buckaroo_poll",
  "buckaroo_pick_file",
  "buckaroo_pick_build",
  "buckaroo_cancel_setup",
  "buckaroo_reset_environment",
  "buckaroo_pick_export",
  "buckaroo_export",
  "buckaroo_export_cancel",
  "buckaroo_copy_cells",
  "buckaroo_copy_text",
  "buckaroo_db_tables",
  "buckaroo_open_table",
  "buckaroo_db_save",
  "buckaroo_db_saved",
  "buckaroo_db_forget",
] as const;

export type CommandName = (typeof COMMANDS)[number];

/** The sidecar could not be started or kept running (`SidecarStatus` "failed"/"restarting", or a command refused meanwhile). */
export type SidecarErrorCode =
  | "python_not_found"
  | "buckaroo_missing"
  | "launcher_cache_unwritable"
  | "python_missing"
  | "env_offline"
  | "env_disk_full"
  | "env_broken"
  | "env_install_failed"
  | "setup_cancelled"
  | "handshake_timeout"
  | "handshake_invalid"
  | "launcher_unsupported"
  | "sidecar_exited"
  | "sidecar_not_ready"
  | "sidecar_not_responding"
  | "sidecar_out_of_memory"
  | "sidecar_failed";

/**
 * A load or a file pick was refused or failed; `load_failed` carries the server's reason in
 * `serverCode`. `db_secret_unavailable`: a saved connection's password is not in the OS
 * keyring (or was saved without it): ask the user and pass it to `listTables`.
 */
export type LoadErrorCode = "load_failed" | "path_not_allowed" | "dialog_failed" | "xorq_not_installed" | "db_secret_unavailable";

/** A page message or the window's attachment was refused by the plugin. */
export type MessageErrorCode =
  | "message_not_allowed"
  | "not_attached"
  | "backpressure"
  | "invalid_message"
  | "invalid_args"
  | "connection_closed";

/**
 * An export was refused or ended without a file: `export_path_refused` (a path the
 * save dialog did not return to this window), `export_failed` (the launcher's reason
 * in `serverCode`: `export_cancelled`, `disk_full`, ...); a copy of cells refused
 * (`copy_failed`, `serverCode` `copy_too_big`, ...) or a clipboard that could not be written.
 */
export type ExportErrorCode = "export_path_refused" | "export_failed" | "copy_failed" | "clipboard_failed";

/** The plugin's own plumbing failed (file system, HTTP or WebSocket to the sidecar, Tauri). */
export type TransportErrorCode = "io" | "http" | "websocket" | "tauri";

/** Every code the plugin sends (crates/buckaroo-tauri/src/error.rs `Error::code`; stable, docs/protocol.md). */
export type PluginErrorCode = SidecarErrorCode | LoadErrorCode | ExportErrorCode | MessageErrorCode | TransportErrorCode;

/**
 * Codes the adapter gives itself: a failed row window (`rows_failed`), a grid that
 * could not be imported or rendered (`widget_failed`), a server speaking another
 * protocol (`protocol_mismatch`), a page message that could not be sent (`send_failed`),
 * a rejection Tauri made before the plugin saw the call (`invalid_request`), a grid
 * disposed or replaced before it attached (`mount_cancelled`), and the
 * fallbacks for errors without a code of their own (`plugin_error`, `server_error`,
 * `invoke_failed`).
 */
export type AdapterErrorCode =
  | "rows_failed"
  | "mount_cancelled"
  | "stats_failed"
  | "widget_failed"
  | "invalid_request"
  | "protocol_mismatch"
  | "send_failed"
  | "plugin_error"
  | "server_error"
  | "invoke_failed";

/** Every code a BuckarooError is known to carry. */
export type BuckarooErrorCode = PluginErrorCode | AdapterErrorCode;

/**
 * The buckaroo server's own `error_code` (`BuckarooError.serverCode` of `load_failed`
 * and `rows_failed`). Server `error` frames pass theirs through as `code`.
 */
export type ServerErrorCode =
  // buckaroo's own refusals of a load (the launcher sends file_not_found, invalid_file
  // and load_error too)
  | "file_not_found"
  | "invalid_file"
  | "invalid_backend"
  | "load_error"
  | "bad_request"
  // the plugin's launcher (buckaroo_tauri_sidecar/contract.py `CODES`, docs/protocol.md
  // "Launcher error codes"): a refused request or load
  | "forbidden"
  | "load_cancelled"
  | "load_timeout"
  | "load_expr_error"
  | "xorq_not_installed"
  | "expr_unreadable"
  | "invalid_session"
  | "engine_unsupported"
  | "not_xorq_session"
  // the launcher: a WebSocket message that is not an object (an `error` frame's code)
  | "invalid_message"
  // the launcher: a row window the server could not answer
  | "serialization_failed"
  | "row_request_failed"
  | "rows_superseded"
  | "row_request_timeout"
  | "disk_full"
  | "file_changed"
  // the launcher: an export refused or ended (`buckaroo_export`)
  | "invalid_export"
  | "export_busy"
  | "export_cancelled"
  | "export_unsupported"
  | "export_too_many_rows"
  | "export_failed"
  // the launcher: a copy of cells refused (`buckaroo_copy_cells`)
  | "invalid_copy"
  | "copy_too_big"
  | "copy_failed"
  // the launcher: a database refused (`buckaroo_db_tables`, `buckaroo_open_table`); a row
  // window of a table dropped meanwhile fails with `db_table_missing`
  | "invalid_connection"
  | "db_auth_failed"
  | "db_unreachable"
  | "db_table_missing"
  | "db_query_invalid"
  | "db_driver_missing"
  | "db_choose_table"
  | "db_failed";

/**
 * A known code, or any other string: a newer plugin or server may send codes this
 * adapter does not list, and pages compare codes as strings.
 */
type OrString<T extends string> = T | (string & {});

/** A failure a page can show: what happened, and how to fix it when there is a fix. */
export interface ErrorInfo {
  code: OrString<BuckarooErrorCode>;
  message: string;
  hint?: string;
}

/** Every rejected command, failed row window and reported failure carries one of these. */
export interface BuckarooError extends ErrorInfo {
  /** For `load_failed` and `rows_failed`: the buckaroo server's own error_code. */
  serverCode?: OrString<ServerErrorCode>;
}

export type SidecarStatus =
  | { state: "starting"; attempt: number }
  | {
      /** Setting up the managed environment (first run only; `BuckarooConfig::with_managed_env`). */
      state: "provisioning";
      /** `waiting` (another process is setting up), `preparing`, `installing`, `checking`. */
      stage: "waiting" | "preparing" | "installing" | "checking";
      /** 0–100 when the total is known (the app's bundle says it), else null. */
      percent: number | null;
      /** Estimated milliseconds left, from the rate so far. */
      etaMs: number | null;
      /** `bundle`: the app's own packages, no network; `index`: downloading. */
      source: "bundle" | "index";
    }
  | { state: "ready"; generation: number; pid: number; python: string; buckarooVersion: string | null }
  | {
      /**
       * Running, but it stopped answering (stopped, frozen in a C extension, swapping):
       * row requests are failed with `sidecar_not_responding` meanwhile. Back to `ready`
       * by itself when it answers; `retry()` ends it and starts a new one.
       */
      state: "unresponsive";
      generation: number;
      pid: number;
      /** How long it has been silent. */
      silentMs: number;
    }
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
  /** Set when attached with `poll`: the id `buckaroo_poll` pulls this attach's frames with. */
  pollId?: number;
}

export interface LoadPathArgs {
  path: string;
  mode?: LoadMode;
  /**
   * `xorq`: xorq's embedded engine (Parquet, CSV/TSV, JSON lines; rows are queries,
   * stats follow the first rows, memory stays bounded). Absent: the config's default
   * (with `BuckarooConfig::xorq()`, the engine for files from 32 MiB on).
   */
  backend?: "pandas" | "polars" | "xorq";
  prompt?: string;
  componentConfig?: Record<string, unknown>;
  columnConfigOverrides?: Record<string, unknown>;
  extraGridConfig?: Record<string, unknown>;
  initSd?: Record<string, unknown>;
}

/** `loadExpr`'s argument: a xorq build directory (what `xorq build` printed). */
export interface LoadExprArgs {
  buildDir: string;
  /** The xorq project root: the server executes the stat, post-processing and display classes it finds there. */
  projectRoot?: string;
  /** `deferred` (the default): rows first, summary stats after; `inline`: stats before the load answers. */
  statsDelivery?: "deferred" | "inline";
  prompt?: string;
  componentConfig?: Record<string, unknown>;
}

/** What `reloadExpr` returns. */
export interface ReloadResult {
  sessionId: string;
  /** How many classes the server loaded from the project root. */
  klassesLoaded: number;
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
  /** What served it: `xorq` (an expression, or a file on the embedded engine), `pandas` or `polars`. */
  backend: "pandas" | "polars" | "xorq";
  columns: Array<{ name: string; dtype: string }> | null;
}

/**
 * A database to connect to. The password is sent once, to `listTables`: the plugin keeps
 * it and answers a `connectionId`; it never comes back to the page. `passwordEnv` names an
 * environment variable of the app instead, so nothing secret crosses the page.
 */
export interface DbConnection {
  /** `url`: any other xorq backend, by its URL. */
  kind: "postgres" | "duckdb" | "sqlite" | "url";
  host?: string;
  port?: number;
  database?: string;
  user?: string;
  password?: string;
  passwordEnv?: string;
  schema?: string;
  /** A DuckDB or SQLite file (absolute, inside the scope: picked, dropped or configured). */
  path?: string;
  url?: string;
}

/** A table or view, with the catalog's row estimate (`null`: unknown; never a `COUNT(*)`). */
export interface DbTable {
  schema: string | null;
  name: string;
  kind: "table" | "view";
  rows: number | null;
}

/** What `listTables` resolves to. `name` is the connection without its password. */
export interface DbTablesResult {
  connectionId: string;
  engine: string;
  name: string;
  tables: DbTable[];
}

/**
 * A saved connection (`savedConnections`): everything but its password, which is where
 * `secret` says: `keyring` (the OS keyring), `env` (the variable `passwordEnv` names),
 * `ask` (nowhere: no keyring answered when it was saved; pass it to `listTables`), `none`.
 */
export interface SavedConnection {
  id: string;
  name: string;
  kind: DbConnection["kind"];
  host?: string;
  port?: number;
  database?: string;
  user?: string;
  schema?: string;
  path?: string;
  passwordEnv?: string;
  secret: "none" | "keyring" | "env" | "ask";
}

/** What `saveConnection` resolves to; `keyringProblem` says why the password was not kept (`secret: "ask"`). */
export interface SaveConnectionResult {
  saved: SavedConnection;
  keyringProblem: string | null;
}

/** `listTables`'s target: a new connection, one listed before (`connectionId`), or a saved one. */
export type DbTarget =
  | { connection: DbConnection }
  | { connectionId: string }
  | { savedId: string; /** Only for a `secret: "ask"` record. */ password?: string };

/** `openTable`'s args: a table of a listed connection, or one read-only query on it. */
export interface OpenTableArgs {
  connectionId: string;
  table?: { schema?: string | null; name: string };
  query?: string;
  statsDelivery?: "deferred" | "inline";
}

/** The export formats (by the target's extension when `format` is absent). */
export type ExportFormat = "csv" | "tsv" | "parquet" | "jsonl" | "xlsx";

/** `exportView`'s arguments (needs the opt-in `buckaroo-tauri:allow-export`). */
export interface ExportArgs {
  /** A path `pickExportPath` returned to this window (usable once), or a file in a `with_export_dir` folder. */
  path: string;
  format?: ExportFormat;
  /** The loaded data as it came in, instead of the grid's sort, search and columns. */
  wholeFile?: boolean;
}

/** What `exportView` resolves to once the file is complete. */
export interface ExportResult {
  path: string;
  rows: number;
  bytes: number;
  seconds: number;
  /** How the rows were read: `pandas`, `file`, `sorted copy` or `engine query`. */
  how: string;
}

/** What `copyCells` put on the clipboard (TSV, a header row first). */
export interface CopyResult {
  rows: number;
  columns: number;
}

/** An export's progress (`buckaroo_tauri_export_progress` on the window's Channel), every 0.25 s. */
export interface ExportProgress {
  rows: number;
  /** Rows it will write, when known. */
  total: number | null;
  /** 0–100 when the total is known. */
  percent: number | null;
  elapsedS: number;
  /** Seconds left, from the rate so far. */
  etaS: number | null;
}

/**
 * Events the plugin emits: every sidecar status change, to every window (`state` says
 * which; `onStatus` listens). A window's frames come on its Channel only.
 */
export const EVENTS = {
  status: "buckaroo:status",
} as const;

export const PLUGIN = "plugin:buckaroo-tauri";

/** Normalise anything a rejected invoke or a thrown error can be into a BuckarooError. */
export function toBuckarooError(err: unknown, fallbackCode: BuckarooErrorCode = "invoke_failed"): BuckarooError {
  if (err && typeof err === "object" && "code" in err && "message" in err) {
    const e = err as BuckarooError;
    return { code: String(e.code), message: String(e.message), hint: e.hint, serverCode: e.serverCode };
  }
  if (err instanceof Error) return { code: fallbackCode, message: err.message };
  return { code: fallbackCode, message: String(err) };
}

/** One line a page can show as is: the message, then the fix when there is one. */
export function formatError(err: ErrorInfo): string {
  return err.hint ? `${err.message} — ${err.hint}` : err.message;
}

/**
 * The file a window shows changed on disk (`buckaroo_tauri_file_changed` on its
 * Channel): rewritten, truncated, replaced by a rename, or deleted. The window keeps
 * what it shows (an engine window of the changed file is refused with `file_changed`
 * rather than mixing old and new rows) until `reload()`, unless the app reloads by
 * itself (`BuckarooConfig::with_reload_on_change`: `reloading` is then true).
 */
export interface FileChange {
  path: string;
  change: "modified" | "deleted";
  reloading: boolean;
}
