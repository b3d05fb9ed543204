import { invoke } from "@tauri-apps/api/core";
import { getCurrentWebview } from "@tauri-apps/api/webview";
import { getCurrentWebviewWindow } from "@tauri-apps/api/webviewWindow";
import {
  cancelSetup,
  copyText,
  mountBuckaroo,
  pickExportPath,
  resetEnvironment,
  retry,
  type BuckarooError,
  type BuckarooErrorCode,
  type BuckarooHandle,
  type ExportProgress,
  type LoadExprArgs,
  type LoadPathArgs,
  type SidecarStatus,
} from "buckaroo-tauri-adapter";
import "./app.css";
import { databaseFileKind, openDatabase, wireDatabaseDialog } from "./database";
import { askCompare, checkForUpdates, showAbout } from "./dialogs";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const grid = $("grid");
const sidecar = $("sidecar");
const progress = $("progress");
const errorEl = $("error");

const STAGES = {
  waiting: "waiting for another window",
  preparing: "preparing",
  installing: "installing packages",
  checking: "checking",
} as const;

/** "Setting up the viewer (first run only) · installing packages · 40 % · about 5 s left". */
function provisioningText(s: Extract<SidecarStatus, { state: "provisioning" }>): string {
  const parts = ["Setting up the viewer (first run only)", STAGES[s.stage] ?? s.stage];
  if (s.source === "index") parts.push("downloading");
  if (s.percent !== null) parts.push(`${s.percent} %`);
  if (s.etaMs !== null && s.etaMs >= 1000) parts.push(`about ${Math.ceil(s.etaMs / 1000)} s left`);
  return parts.join(" · ");
}

/** Something was loaded or asked for: the empty-window hint is gone for good. */
let used = false;

/** The empty-window hint, unless a file is (being) shown or an overlay covers the grid. */
function showEmptyHint(): void {
  $("empty").hidden = used || !$("provisioning").hidden || !$("failure").hidden;
}

/** The first-run set-up over the grid, with its bar and Cancel; hidden otherwise. */
function showProvisioning(s: SidecarStatus): void {
  const on = s.state === "provisioning";
  $("provisioning").hidden = !on;
  if (on) {
    $("provisioning-text").textContent = provisioningText(s);
    const bar = $<HTMLProgressElement>("provisioning-bar");
    if (s.percent === null) bar.removeAttribute("value");
    else bar.value = s.percent;
  }
}

/**
 * A failed sidecar, over the grid: the cause and its fix whole (a status bar line cuts
 * them off), the fix selectable and copyable, and Retry.
 */
function showFailure(e: BuckarooError | null): void {
  const panel = $("failure");
  panel.hidden = !e;
  if (!e) return;
  panel.dataset.code = e.code;
  $("failure-message").textContent = e.message;
  $("failure-fix").hidden = !e.hint;
  $("failure-hint").textContent = e.hint ?? "";
  $("failure-copied").textContent = "";
}

/** Copy the fix; where the clipboard is refused, select it for Ctrl+C instead. */
async function copyFix(): Promise<void> {
  const hint = $("failure-hint");
  try {
    await navigator.clipboard.writeText(hint.textContent ?? "");
    $("failure-copied").textContent = "Copied.";
  } catch {
    getSelection()?.selectAllChildren(hint);
    $("failure-copied").textContent = "Selected: press Ctrl+C.";
  }
}

/** Error codes about the sidecar being away (stopped, silent, restarting), not about a file. */
const SIDECAR_AWAY: ReadonlySet<string> = new Set<BuckarooErrorCode>(["sidecar_not_ready", "sidecar_not_responding", "connection_closed", "sidecar_exited", "sidecar_failed"]);

function showStatus(s: SidecarStatus): void {
  sidecar.dataset.state = s.state;
  sidecar.textContent =
    s.state === "starting"
      ? `Starting Python${s.attempt > 1 ? ` (attempt ${s.attempt})` : ""}…`
      : s.state === "provisioning"
        ? provisioningText(s)
        : s.state === "ready"
          ? `Ready · buckaroo ${s.buckarooVersion ?? ""}`
          : s.state === "unresponsive"
            ? `Not responding for ${Math.round(s.silentMs / 1000)} s`
            : s.state === "restarting"
            ? `Sidecar restarting (attempt ${s.attempt})…`
            : s.state === "failed"
              ? "Sidecar failed"
              : "Sidecar stopped";
  showProvisioning(s);
  // Retry after a failure; Restart for a sidecar that runs but stopped answering.
  $("retry").hidden = s.state !== "failed" && s.state !== "unresponsive";
  $("retry").textContent = s.state === "unresponsive" ? "Restart" : "Retry";
  showFailure(s.state === "failed" ? s.error : null);
  // A failure shows in the panel, whole; a new state ends what was said of the sidecar
  // being away. Not what a restart was for (out of memory, whose status may come after it).
  if (s.state === "failed" || (s.state !== "restarting" && SIDECAR_AWAY.has(errorEl.dataset.code ?? ""))) showError(null);
  showEmptyHint();
  if (s.state === "restarting") showProgress("Reconnecting…");
}

function showError(e: BuckarooError | null): void {
  // Out of memory: the file it was loading again, read in place by the engine instead.
  $("engine-open").hidden = e?.code !== "sidecar_out_of_memory" || !lastAsked;
  errorEl.hidden = !e;
  errorEl.replaceChildren();
  if (!e) return;
  errorEl.dataset.code = e.serverCode ?? e.code;
  errorEl.append(e.message);
  if (e.hint) {
    const hint = document.createElement("span");
    hint.className = "hint";
    hint.textContent = e.hint;
    errorEl.append(hint);
  }
  errorEl.title = e.hint ? `${e.message}\n${e.hint}` : e.message;
}

/** The status bar's progress; `spinning` unless nothing moves until the user acts. */
function showProgress(text: string | null, spinning = true): void {
  progress.hidden = !text;
  $("progress-spinner").hidden = !spinning;
  $("progress-text").textContent = text ?? "";
}

let handle: BuckarooHandle;
/** The file this window shows (a compare shows its first file), and its columns. */
let shown: { path: string; columns: string[] } | null = null;
/** The file of the newest load started, whatever became of it (the one that ran out of memory). */
let lastAsked: string | null = null;
/** The last file this window told the app about (`app_opened`). */
let reported: string | undefined;
/** The title the app gave that file's window (a `--title`, or the file's name). */
let titled: { path: string; title: string } | undefined;

// Not toLocaleString: WebKitGTK without ICU locale data prints no separators at all.
const groupDigits = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");

const baseName = (path: string) => path.split(/[\\/]/).pop() ?? path;

/** Progress comes from onLoading, errors from onError: both cover every load path. */
async function load(target: string | LoadPathArgs): Promise<void> {
  showError(null);
  await handle.loadPath(target).catch(() => {});
}

/** A xorq build directory: rows page through its engine, stats follow the first rows. */
async function loadExpr(target: string | LoadExprArgs): Promise<void> {
  showError(null);
  await handle.loadExpr(target).catch(() => {});
}

/** The grid, with progress, errors and the file name wired to the page. */
function mount(): Promise<BuckarooHandle> {
  return mountBuckaroo(grid, {
    widget: "/buckaroo/widget.js",
    onStatus: showStatus,
    // A failed sidecar's error is the panel's (showStatus), not the status bar's too.
    onError: (e) => {
      // A DuckDB/SQLite file with several tables (opened, dropped, or from the command line): choose one.
      const kind = lastAsked ? databaseFileKind(lastAsked) : null;
      if (e.serverCode === "db_choose_table" && lastAsked && kind) return void openDatabase(handle, { path: lastAsked, kind });
      if (!(sidecar.dataset.state === "failed" && e.code === $("failure").dataset.code)) showError(e);
    },
    // From the first moment of every load (autoload, Open…, drop, CLI) until rows are painted.
    onLoading: (l) => {
      if (l) {
        lastAsked = l.path;
        used = true;
        showEmptyHint();
        document.title = `${baseName(l.path)} — buckaroo`; // as the native title: the file, even if it fails
      }
      // Paused: the sidecar failed; the plugin sends the load once Retry brought one up.
      if (l?.paused) showProgress(`${baseName(l.path)} opens after Retry`, false);
      else showProgress(l ? `Loading ${baseName(l.path)}…` : null);
    },
    // Expressions defer their stats: rows first, then this goes from pending to complete.
    onStats: (s) => {
      const el = $("stats");
      el.hidden = s.status === "complete" || s.status === "not_computed";
      el.dataset.status = s.status;
      el.textContent = s.status === "error" ? "Summary stats failed" : "Computing stats…";
    },
    // A window still coming after 400 ms: a big file's first sort takes seconds.
    onRowsWaiting: (w) => {
      const el = $("waiting");
      el.hidden = w === null;
      if (w) el.textContent = `${w.sorted ? "Sorting" : "Reading rows"}… ${Math.round(w.waitingMs / 1000)} s`;
    },
    // Ctrl+C on a selected block (or Edit › Copy Selected Cells).
    onCopied: (c) => showProgress(`Copied ${groupDigits(c.rows)} × ${c.columns} cells`, false),
    onExportProgress: (p) => {
      if (exportingName !== null) showExport(exportingName, p);
    },
    // The file changed on disk: the grid keeps what it shows until Reload.
    onFileChanged: (c) => {
      $("changed").hidden = false;
      $("changed").dataset.change = c.change;
      $("changed").textContent = `${baseName(c.path)} ${c.change === "deleted" ? "was deleted" : "changed on disk"}${c.reloading ? " · reloading" : ""}`;
      $("reload").hidden = c.reloading;
    },
    onState: (state) => {
      if (!handle?.loading) showProgress(null); // a restart replay: "Reconnecting…" is over
      if (state.reply_seq === undefined) $("changed").hidden = $("reload").hidden = true; // new data: a load or reload
      used = true;
      showEmptyHint();
      // Also covers loads the page did not start itself: autoload, restart replays.
      const meta = state.metadata as
        | { path?: string; path2?: string; rows?: number; backend?: string; columns?: { name: string }[] }
        | undefined;
      if (meta?.path) {
        if (!meta.path2) shown = { path: meta.path, columns: (meta.columns ?? []).map((c) => c.name) };
        const name = baseName(meta.path);
        // A file the sidecar opened on xorq's engine (big files): rows are queries.
        const engine = meta.backend === "xorq" ? " · engine" : "";
        const vs = meta.path2 ? ` ↔ ${baseName(meta.path2)}` : "";
        $("file").textContent = `${name}${vs} · ${meta.rows === undefined ? "?" : groupDigits(meta.rows)} rows${engine}`;
        $("file").title = meta.path;
        document.title = titled?.path === meta.path ? titled.title : `${name} — buckaroo`;
        // A database's table ("postgres://user@host:5432/db · big", "/d/shop.duckdb · orders"):
        // not a file for Open Recent.
        const table = meta.path.includes(" · ");
        if (table) document.title = `${meta.path.split(/[\\/]/).pop()} — buckaroo`;
        // The window's title, Open Recent: once per file, not per state (sorts, searches).
        if (meta.path !== reported && !table) {
          const path = meta.path;
          invoke<string>("app_opened", { path })
            .then((title) => {
              titled = { path, title };
              document.title = title;
            })
            .catch(() => {});
        }
        reported = meta.path;
      }
    },
  });
}

/** "Exporting sales.csv · 1,250,000 of 20,000,000 rows · 6 % · about 20 s left". */
function showExport(name: string | null, p?: ExportProgress): void {
  $("exporting").hidden = $("export-cancel").hidden = name === null;
  if (name === null) return;
  const parts = [`Exporting ${name}`];
  if (p) parts.push(`${groupDigits(p.rows)}${p.total === null ? "" : ` of ${groupDigits(p.total)}`} rows`);
  if (p?.percent != null) parts.push(`${Math.floor(p.percent)} %`);
  if (p?.etaS != null && p.etaS >= 1) parts.push(`about ${Math.ceil(p.etaS)} s left`);
  $("exporting").textContent = parts.join(" · ");
}

let exportingName: string | null = null;

/** File › Export…: the save dialog, then what the grid shows (its sort, search and columns). */
async function exportView(path?: string): Promise<void> {
  if (!shown) return showError({ code: "export_nothing_open", message: "Open a file first, then export it." });
  const stem = baseName(shown.path).replace(/\.[^.]*$/, "");
  const target = path ?? (await pickExportPath(`${stem}.csv`));
  if (!target) return;
  showError(null);
  exportingName = baseName(target);
  showExport(exportingName);
  try {
    const r = await handle.exportView({ path: target });
    const took = r.seconds < 1 ? `${Math.round(r.seconds * 1000)} ms` : `${r.seconds.toFixed(1)} s`;
    showProgress(`Exported ${groupDigits(r.rows)} rows to ${baseName(r.path)} in ${took}`, false);
  } catch {
    // onError shows it (a cancel too: export_cancelled, nothing written)
  } finally {
    exportingName = null;
    showExport(null);
  }
}

/** Edit › Copy Column Name: the name of the selection's first column. */
async function copyColumnName(): Promise<void> {
  const block = handle.selection();
  const names = (handle.model.get("df_display_args") as Record<string, { df_viewer_config?: { column_config?: { col_name: string; header_name?: string }[] } }> | undefined)
    ?.main?.df_viewer_config?.column_config;
  const name = block && names?.find((c) => c.col_name === block.columns[0])?.header_name;
  if (!name) return showError({ code: "copy_nothing_selected", message: "Select a cell of the column first, then copy its name." });
  await copyText(name);
  showProgress(`Copied the column name ${name}`, false);
}

/** File › Compare with…: a second file (picked, unless given) and the join column(s). */
async function compareWith(path2?: string): Promise<void> {
  if (!shown) return showError({ code: "compare_nothing_open", message: "Open a file first, then compare it with another." });
  const { pickFile } = await import("buckaroo-tauri-adapter");
  const second = path2 ?? (await pickFile().catch((e) => void showError(e as BuckarooError)));
  if (!second) return;
  const choice = await askCompare(second, shown.columns);
  if (!choice) return;
  showError(null);
  await handle.loadCompare({ path1: shown.path, ...choice }).catch(() => {}); // onError shows it
}

/** The toolbar, and the menu's page-side items (their shortcuts are the menu's). */
function wireControls(): void {
  const open = async () => {
    try {
      const path = await (await import("buckaroo-tauri-adapter")).pickFile();
      if (path) await load({ path });
    } catch (e) {
      showError(e as BuckarooError);
    }
  };
  $("open").addEventListener("click", open);
  const openBuild = async () => {
    showError(null);
    await handle.pickAndLoadBuild().catch(() => {}); // onError shows it
  };
  $("open-build").addEventListener("click", openBuild);
  const retryNow = () => retry().catch((e) => showError(e as BuckarooError));
  $("retry").addEventListener("click", retryNow);
  $("failure-retry").addEventListener("click", retryNow);
  $("failure-copy").addEventListener("click", () => void copyFix());
  $("engine-open").addEventListener("click", () => {
    if (lastAsked) void load({ path: lastAsked, backend: "xorq" });
  });
  $("reload").addEventListener("click", () => {
    showError(null);
    handle.reload().catch(() => {}); // onError shows it (a deleted file: file_not_found)
  });
  $("export-cancel").addEventListener("click", () => void handle.cancelExport().catch(() => {}));
  $("provisioning-cancel").addEventListener("click", () => cancelSetup().catch((e) => showError(e as BuckarooError)));
  $("new-window").addEventListener("click", () => invoke("app_new_window").catch((e) => showError(e as BuckarooError)));
  const actions: Record<string, () => Promise<void>> = {
    open,
    "open-build": openBuild,
    "open-database": () => openDatabase(handle),
    compare: () => compareWith(),
    export: () => exportView(),
    "copy-cells": async () => {
      if (!(await handle.copySelection())) showError({ code: "copy_nothing_selected", message: "Select cells in the grid first (drag, or click then Shift+click)." });
    },
    "copy-column-name": copyColumnName,
    "check-updates": () => checkForUpdates(showError),
    "reset-env": async () => {
      showError(null);
      await resetEnvironment();
    },
    about: showAbout,
  };
  const win = getCurrentWebviewWindow();
  void win.listen<string>("app:menu", ({ payload }) => void actions[payload]?.().catch((e) => showError(e as BuckarooError)));
  // Open Recent: the app let the file in already.
  void win.listen<string>("app:open", ({ payload }) => void load({ path: payload }));
  void win.listen<string>("app:open-saved", ({ payload }) => void openDatabase(handle, undefined, payload));
  // The UI's own actions (progress + error display), for tests and automation.
  Object.assign(window, {
    __buckarooApp: { load, loadExpr, openDatabase: (savedId?: string) => openDatabase(handle, undefined, savedId), compareWith, exportView, checkForUpdates: actions["check-updates"], resetEnvironment: actions["reset-env"], showAbout },
  });
}

async function main(): Promise<void> {
  handle = await mount();
  // For end-to-end tests and the curious: the live handle (model counters, session id).
  Object.assign(window, { __buckaroo: handle });
  wireControls();
  wireDatabaseDialog();
  // A file dropped on the window loads.
  await getCurrentWebview().onDragDropEvent((event) => {
    const p = event.payload;
    $("grid-wrap").classList.toggle("dragging", p.type === "enter" || p.type === "over");
    if (p.type === "drop" && p.paths.length) void load({ path: p.paths[0] });
  });
}

main().catch((e) => showError(e as BuckarooError));
