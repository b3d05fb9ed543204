/** Typed wrappers for every plugin command, plus a status subscription that cannot miss "ready". */
import { type Channel, invoke } from "@tauri-apps/api/core";
import { listen, type UnlistenFn } from "@tauri-apps/api/event";
import type { CellBlock } from "./selection.js";
import {
  toBuckarooError,
  EVENTS,
  PLUGIN,
  type AttachInfo,
  type CommandName,
  type CopyResult,
  type DbTarget,
  type DbTablesResult,
  type SaveConnectionResult,
  type SavedConnection,
  type ExportArgs,
  type ExportResult,
  type HealthInfo,
  type LoadCompareArgs,
  type LoadExprArgs,
  type LoadPathArgs,
  type LoadResult,
  type OpenTableArgs,
  type ReloadResult,
  type SidecarStatus,
} from "./protocol.js";

/** Every rejection as a BuckarooError: the few Tauri refuses before the plugin sees them arrive as plain strings. */
const call = <T>(cmd: CommandName, args?: Record<string, unknown>) =>
  invoke<T>(`${PLUGIN}|${cmd}`, args).catch((e: unknown) => Promise.reject(toBuckarooError(e, "invalid_request")));

export const status = () => call<SidecarStatus>("buckaroo_status");
/** After `failed` (the user fixed their Python): start over with a fresh restart budget. */
export const retry = () => call<SidecarStatus>("buckaroo_retry");
/** Stop a first-run set-up (`provisioning`); the status becomes `failed` with `setup_cancelled`. */
export const cancelSetup = () => call<SidecarStatus>("buckaroo_cancel_setup");
/** Remove the managed environment and set it up again (for `env_broken`); the grid reconnects when it is ready. */
export const resetEnvironment = () => call<SidecarStatus>("buckaroo_reset_environment");
export const health = () => call<HealthInfo>("buckaroo_health");
export const diagnostics = () => call<Record<string, unknown>>("buckaroo_diagnostics");
/**
 * Attach this window. With `poll`, the frames wait for `poll` (the reply's `pollId`
 * names them; a plugin without it uses the Channel); else they go to the Channel:
 * JSON frames arrive as objects, parquet as ArrayBuffer.
 */
export const attach = (onEvent: Channel<unknown>, poll = false) =>
  call<AttachInfo>("buckaroo_attach", poll ? { onEvent, poll } : { onEvent });
/**
 * The frames queued for attach `id` since the last poll, as one batch (decodeBatch);
 * empty after a wait with none. Rejects with `not_attached` once a newer attach replaced it.
 */
export const poll = (id: number) => call<ArrayBuffer>("buckaroo_poll", { id });
export const loadPath = (args: LoadPathArgs) => call<LoadResult>("buckaroo_load_path", { args });
/** Load again what this window shows (a file that changed on disk). */
export const reload = () => call<LoadResult>("buckaroo_reload");
/** A xorq expression's build directory; needs the opt-in `allow-buckaroo-load-expr` permission. */
export const loadExpr = (args: LoadExprArgs) => call<LoadResult>("buckaroo_load_expr", { args });
/** Re-read the project root's classes for the window's expression; needs `allow-buckaroo-reload-expr`. */
export const reloadExpr = () => call<ReloadResult>("buckaroo_reload_expr");
export const loadCompare = (args: LoadCompareArgs) => call<LoadResult>("buckaroo_load_compare", { args });
export const send = (msg: Record<string, unknown>) => call<null>("buckaroo_send", { msg });
/** Native open dialog; the picked file becomes loadable. Resolves null when cancelled. */
export const pickFile = () => call<string | null>("buckaroo_pick_file");
/** Native folder dialog for a xorq build directory; the folder becomes loadable. Resolves null when cancelled. */
export const pickBuild = () => call<string | null>("buckaroo_pick_build");
/**
 * Native save dialog for an export (CSV, TSV, Parquet, JSON lines, Excel); this window may then
 * export to the path once. Resolves null when cancelled. Needs `buckaroo-tauri:allow-export`.
 */
export const pickExportPath = (defaultName?: string) =>
  call<string | null>("buckaroo_pick_export", { args: defaultName ? { defaultName } : null });
/**
 * Write what this window's grid shows (sort, search, cleaning; columns in grid order) to
 * `args.path`; resolves when the file is complete. Progress: `onExportProgress`.
 */
export const exportView = (args: ExportArgs) => call<ExportResult>("buckaroo_export", { args });
/** Cancel this window's running export (it rejects with `export_failed` / `export_cancelled`); whether there was one. */
export const cancelExport = () => call<boolean>("buckaroo_export_cancel");
/**
 * Copy a block of this window's grid to the clipboard as TSV with a header row: its rows
 * as the grid sorts and searches them (read by the sidecar, as held), the columns given.
 * Needs `buckaroo-tauri:allow-copy`. Refused over 1,000,000 cells (`copy_failed` / `copy_too_big`).
 */
export const copyCells = (block: CellBlock) => call<CopyResult>("buckaroo_copy_cells", { args: block });
/** Put `text` on the clipboard (a column's name, say); needs `buckaroo-tauri:allow-copy`. */
export const copyText = (text: string) => call<null>("buckaroo_copy_text", { text });

/**
 * A database's tables and views with row estimates. Given a `connection`, it is tested
 * (a wrong password rejects with `db_auth_failed`, a server down with `db_unreachable`)
 * and kept by the plugin, password included; later calls pass its `connectionId`.
 * Needs `buckaroo-tauri:allow-database`.
 */
export const listTables = (target: DbTarget) => call<DbTablesResult>("buckaroo_db_tables", { args: target });
/**
 * Open a table of a listed connection (or one read-only `SELECT` on it) in this window:
 * every row window, sort and search is a query on that database. Needs `allow-database`.
 */
export const openTable = (args: OpenTableArgs) => call<LoadResult>("buckaroo_open_table", { args });
/**
 * Save a listed connection (its `connectionId`) under `name`: the record, never the
 * password, in the app's config dir; the password in the OS keyring (Linux: the Secret
 * Service). Without a keyring it is saved as `secret: "ask"` and `keyringProblem` says why.
 * Saving the same database and user again replaces the record. Needs `allow-database`.
 */
export const saveConnection = (connectionId: string, name: string) =>
  call<SaveConnectionResult>("buckaroo_db_save", { args: { connectionId, name } });
/** The saved connections, in the order saved; open one with `listTables({ savedId })`. Needs `allow-database`. */
export const savedConnections = () => call<SavedConnection[]>("buckaroo_db_saved");
/** Forget a saved connection and its keyring entry; whether there was one. Needs `allow-database`. */
export const forgetConnection = (id: string) => call<boolean>("buckaroo_db_forget", { id });

/**
 * Call `cb` with the sidecar status now and on every change. Listens first, then
 * asks, and drops the answer if an event already arrived: a "ready" emitted before
 * the page subscribed is still seen, and a stale answer never overwrites a newer event.
 */
export async function onStatus(cb: (s: SidecarStatus) => void): Promise<UnlistenFn> {
  let sawEvent = false;
  const unlisten = await listen<SidecarStatus>(EVENTS.status, (e) => {
    sawEvent = true;
    cb(e.payload);
  });
  try {
    const now = await status();
    if (!sawEvent) cb(now);
  } catch (err) {
    unlisten();
    throw err;
  }
  return unlisten;
}

/** Resolve once the sidecar is ready; reject with its error if it failed. */
export function whenReady(): Promise<Extract<SidecarStatus, { state: "ready" }>> {
  return new Promise((resolve, reject) => {
    let stop: UnlistenFn | undefined;
    let done = false;
    onStatus((s) => {
      if (done) return;
      if (s.state === "ready") {
        done = true;
        stop?.();
        resolve(s);
      } else if (s.state === "failed") {
        done = true;
        stop?.();
        reject(s.error);
      }
    }).then((u) => {
      if (done) u();
      else stop = u;
    }, reject);
  });
}
