/**
 * File › Open Database…, and database files (DuckDB, SQLite) opened like any file: the
 * connection form, "Test connection" (which lists the tables with the catalog's row
 * estimates), the tables chooser and a read-only query box; saved connections (File ›
 * Saved Connections, and the dialog's Saved list). The password is sent once, to
 * `listTables`; the plugin keeps it (and a save puts it in the OS keyring), and the page
 * keeps only the `connectionId`.
 */
import { invoke } from "@tauri-apps/api/core";
import {
  type BuckarooError,
  type BuckarooHandle,
  type DbConnection,
  type DbTablesResult,
  type DbTarget,
  type SavedConnection,
  forgetConnection,
  listTables,
  pickFile,
  saveConnection,
  savedConnections,
} from "buckaroo-tauri-adapter";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
// Not toLocaleString: WebKitGTK without ICU locale data prints no separators at all.
const groupDigits = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");

/** The database kind of a file, by its extension (the launcher checks its first bytes). */
export function databaseFileKind(path: string): "duckdb" | "sqlite" | null {
  const ext = path.toLowerCase().split(".").pop() ?? "";
  if (ext === "duckdb" || ext === "ddb") return "duckdb";
  if (ext === "sqlite" || ext === "sqlite3" || ext === "db") return "sqlite";
  return null;
}

function formConnection(): DbConnection {
  const kind = $<HTMLSelectElement>("db-kind").value as DbConnection["kind"];
  if (kind === "postgres") {
    const password = $<HTMLInputElement>("db-password").value;
    return {
      kind,
      host: $<HTMLInputElement>("db-host").value.trim(),
      port: Number($<HTMLInputElement>("db-port").value) || 5432,
      database: $<HTMLInputElement>("db-database").value.trim(),
      user: $<HTMLInputElement>("db-user").value.trim(),
      ...(password ? { password } : {}),
    };
  }
  if (kind === "url") return { kind, url: $<HTMLInputElement>("db-url").value.trim() };
  return { kind, path: $<HTMLInputElement>("db-path").value.trim() };
}

function showKind(): void {
  const kind = $<HTMLSelectElement>("db-kind").value;
  for (const el of document.querySelectorAll<HTMLElement>("#database .db-fields")) {
    el.hidden = !(el.dataset.kind ?? "").split(" ").includes(kind);
  }
}

function showDbError(e: BuckarooError | null): void {
  const el = $("db-error");
  el.hidden = !e;
  el.dataset.code = e ? (e.serverCode ?? e.code) : "";
  el.textContent = e ? `${e.message}${e.hint ? `\n${e.hint}` : ""}` : "";
}

/** The tables of a listed connection in the chooser, the first one selected. */
function showTables(listed: DbTablesResult): void {
  const select = $<HTMLSelectElement>("db-tables");
  select.replaceChildren();
  for (const t of listed.tables) {
    const option = document.createElement("option");
    option.value = JSON.stringify({ schema: t.schema, name: t.name });
    const name = t.schema && t.schema !== "main" && t.schema !== "public" ? `${t.schema}.${t.name}` : t.name;
    option.textContent = `${name} · ${t.rows === null ? "? rows" : `~${groupDigits(t.rows)} rows`}${t.kind === "view" ? " · view" : ""}`;
    select.append(option);
  }
  select.hidden = listed.tables.length === 0;
  select.selectedIndex = listed.tables.length ? 0 : -1;
  $("db-name").textContent = `${listed.name} · ${listed.tables.length} table${listed.tables.length === 1 ? "" : "s"}`;
  $("db-sql-box").hidden = false;
  $<HTMLButtonElement>("db-open").disabled = false;
}

let listed: DbTablesResult | null = null;
let saved: SavedConnection[] = [];

/** The saved connection the Saved list has selected. */
const chosenSaved = () => saved.find((c) => c.id === $<HTMLSelectElement>("db-saved").value) ?? null;

/** What "Test connection" lists: the selected saved connection (a typed password only where it was not kept), or the form. */
function target(): DbTarget {
  const record = chosenSaved();
  if (!record) return { connection: formConnection() };
  const password = $<HTMLInputElement>("db-password").value;
  return { savedId: record.id, ...(password ? { password } : {}) };
}

/** The Saved list, as the plugin has it now; `select`: the id to select. */
async function refreshSaved(select?: string): Promise<void> {
  saved = await savedConnections().catch(() => []);
  const list = $<HTMLSelectElement>("db-saved");
  const keep = select ?? list.value;
  list.replaceChildren(new Option("New connection", ""), ...saved.map((c) => new Option(c.name, c.id)));
  list.value = saved.some((c) => c.id === keep) ? keep : "";
  $("db-forget").hidden = !list.value;
}

/** A saved connection chosen: its fields in the form; the password field says where it is. */
function showSaved(): void {
  const record = chosenSaved();
  $("db-forget").hidden = !record;
  const password = $<HTMLInputElement>("db-password");
  password.value = "";
  password.placeholder = !record ? "" : { keyring: "in the OS keyring", env: `from $${record.passwordEnv}`, none: "", ask: "not saved: type it" }[record.secret];
  if (!record) return;
  $<HTMLSelectElement>("db-kind").value = record.kind;
  const fields: Array<[string, string | number | undefined]> = [
    ["db-host", record.host],
    ["db-port", record.port],
    ["db-database", record.database],
    ["db-user", record.user],
    ["db-path", record.path],
  ];
  for (const [id, value] of fields) $<HTMLInputElement>(id).value = value === undefined ? "" : String(value);
  showKind();
}

async function save(): Promise<void> {
  if (!listed) return;
  const status = $("db-save-status");
  try {
    const { saved: record, keyringProblem } = await saveConnection(listed.connectionId, $<HTMLInputElement>("db-save-name").value);
    status.dataset.secret = record.secret;
    status.textContent = {
      keyring: `Saved as “${record.name}”; the password is in the OS keyring.`,
      env: `Saved as “${record.name}”; the password stays in $${record.passwordEnv}.`,
      none: `Saved as “${record.name}”.`,
      ask: `Saved as “${record.name}” without its password (${keyringProblem ?? "no OS keyring"}): it will be asked for.`,
    }[record.secret];
    await refreshSaved(record.id);
    await invoke("app_saved_connections_changed").catch(() => {});
  } catch (e) {
    showDbError(e as BuckarooError);
  }
}

async function forget(): Promise<void> {
  const record = chosenSaved();
  if (!record) return;
  await forgetConnection(record.id).catch((e) => showDbError(e as BuckarooError));
  await refreshSaved("");
  showSaved();
  await invoke("app_saved_connections_changed").catch(() => {});
}

async function connect(to: DbTarget): Promise<void> {
  showDbError(null);
  $<HTMLButtonElement>("db-connect").disabled = true;
  $("db-name").textContent = "Connecting…";
  $("db-save-status").textContent = "";
  try {
    listed = await listTables(to);
    $<HTMLInputElement>("db-password").value = ""; // the plugin holds it now
    showTables(listed);
    $<HTMLInputElement>("db-save-name").value = chosenSaved()?.name ?? listed.name;
    $("db-save-box").hidden = false;
  } catch (e) {
    listed = null;
    $("db-name").textContent = "";
    showDbError(e as BuckarooError);
  } finally {
    $<HTMLButtonElement>("db-connect").disabled = false;
  }
}

/**
 * The dialog; resolves once the user opened a table or query (the load's own progress and
 * errors show as any load's) or cancelled. With `file`, it starts listing that file's
 * tables; with `savedId` (File › Saved Connections), that saved connection's.
 */
export async function openDatabase(handle: BuckarooHandle, file?: { path: string; kind: "duckdb" | "sqlite" }, savedId?: string): Promise<void> {
  const dialog = $<HTMLDialogElement>("database");
  listed = null;
  showDbError(null);
  $("db-name").textContent = "";
  $("db-tables").hidden = $("db-sql-box").hidden = $("db-save-box").hidden = true;
  $("db-save-status").textContent = "";
  await refreshSaved(savedId ?? "");
  showSaved();
  $<HTMLTextAreaElement>("db-sql").value = "";
  $<HTMLButtonElement>("db-open").disabled = true;
  $("database-connect").hidden = !!file;
  if (file) {
    $<HTMLSelectElement>("db-kind").value = file.kind;
    $<HTMLInputElement>("db-path").value = file.path;
  }
  showKind();
  dialog.showModal();
  if (file) void connect({ connection: { kind: file.kind, path: file.path } });
  else if (savedId && chosenSaved()?.secret !== "ask") void connect(target());
  return new Promise((resolve) => {
    dialog.addEventListener(
      "close",
      () => {
        const chosen = $<HTMLSelectElement>("db-tables").value;
        const query = $<HTMLTextAreaElement>("db-sql").value.trim();
        if (dialog.returnValue === "open" && listed) {
          const connectionId = listed.connectionId;
          const args = query ? { connectionId, query } : chosen ? { connectionId, table: JSON.parse(chosen) } : null;
          if (args) void handle.openTable(args).catch(() => {}); // onLoading/onError show it
        }
        resolve();
      },
      { once: true },
    );
  });
}

/** The form's own controls; once, at start. */
export function wireDatabaseDialog(): void {
  $("db-kind").addEventListener("change", showKind);
  $("db-connect").addEventListener("click", () => void connect(target()));
  $("db-saved").addEventListener("change", showSaved);
  $("db-save").addEventListener("click", () => void save());
  $("db-forget").addEventListener("click", () => void forget());
  // Editing the form makes it a new connection (a saved one is opened as saved).
  for (const id of ["db-kind", "db-host", "db-port", "db-database", "db-user", "db-path", "db-url"]) {
    $(id).addEventListener("input", () => {
      $<HTMLSelectElement>("db-saved").value = "";
      $("db-forget").hidden = true;
    });
  }
  $("db-browse").addEventListener("click", async () => {
    const path = await pickFile().catch(() => null);
    if (path) $<HTMLInputElement>("db-path").value = path;
  });
  // A double click on a table opens it.
  $("db-tables").addEventListener("dblclick", () => $<HTMLButtonElement>("db-open").click());
}
