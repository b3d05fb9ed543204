/**
 * File › Open Database…, and database files (DuckDB, SQLite) opened like any file: the
 * connection form, "Test connection" (which lists the tables with the catalog's row
 * estimates), the tables chooser and a read-only query box. The password is sent once,
 * to `listTables`; the plugin keeps it and the page keeps only the `connectionId`.
 */
import { type BuckarooError, type BuckarooHandle, type DbConnection, type DbTablesResult, listTables, pickFile } from "buckaroo-tauri-adapter";

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

async function connect(connection: DbConnection): Promise<void> {
  showDbError(null);
  $<HTMLButtonElement>("db-connect").disabled = true;
  $("db-name").textContent = "Connecting…";
  try {
    listed = await listTables({ connection });
    $<HTMLInputElement>("db-password").value = ""; // the plugin holds it now
    showTables(listed);
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
 * errors show as any load's) or cancelled. With `file`, it starts listing that file's tables.
 */
export function openDatabase(handle: BuckarooHandle, file?: { path: string; kind: "duckdb" | "sqlite" }): Promise<void> {
  const dialog = $<HTMLDialogElement>("database");
  listed = null;
  showDbError(null);
  $("db-name").textContent = "";
  $("db-tables").hidden = $("db-sql-box").hidden = true;
  $<HTMLTextAreaElement>("db-sql").value = "";
  $<HTMLButtonElement>("db-open").disabled = true;
  $("database-connect").hidden = !!file;
  if (file) {
    $<HTMLSelectElement>("db-kind").value = file.kind;
    $<HTMLInputElement>("db-path").value = file.path;
  }
  showKind();
  dialog.showModal();
  if (file) void connect({ kind: file.kind, path: file.path });
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
  $("db-connect").addEventListener("click", () => void connect(formConnection()));
  $("db-browse").addEventListener("click", async () => {
    const path = await pickFile().catch(() => null);
    if (path) $<HTMLInputElement>("db-path").value = path;
  });
  // A double click on a table opens it.
  $("db-tables").addEventListener("dblclick", () => $<HTMLButtonElement>("db-open").click());
}
