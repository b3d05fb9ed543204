//! Every type that crosses the IPC boundary: what commands take (camelCase on the
//! wire), what they return, the lifecycle status, and the `{code, message, hint}`
//! shape every error has. The contract is docs/protocol.md.

use crate::config::LoadMode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `buckaroo_load_path`'s `args`: a file or parquet folder to show in the calling window.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct LoadPathArgs {
    /// The file or folder; it must be in the scope (configured, picked or dropped).
    pub path: String,
    /// How to show it; the config's default mode when absent.
    pub mode: Option<LoadMode>,
    /// The load backend: `"pandas"`, `"polars"`, or `"xorq"` (the embedded engine);
    /// the config's default when absent (with `xorq()`: the engine from a size on).
    pub backend: Option<String>,
    /// Passed to the server unchanged.
    pub prompt: Option<String>,
    /// Passed to the server unchanged.
    pub component_config: Option<Value>,
    /// Passed to the server unchanged.
    pub column_config_overrides: Option<Value>,
    /// Passed to the server unchanged.
    pub extra_grid_config: Option<Value>,
    /// Passed to the server unchanged.
    pub init_sd: Option<Value>,
}

/// `buckaroo_load_expr`'s `args`: a built xorq expression.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct LoadExprArgs {
    /// The expression's build directory (`xorq build` prints it); it must be in the scope.
    pub build_dir: String,
    /// The xorq project root; it must be in the scope. The server executes the stat,
    /// post-processing and display classes it finds there.
    pub project_root: Option<String>,
    /// When the summary stats arrive (`deferred` when absent: rows first).
    pub stats_delivery: Option<StatsDelivery>,
    /// Passed to the server unchanged.
    pub prompt: Option<String>,
    /// Passed to the server unchanged.
    pub component_config: Option<Value>,
}

/// When an expression's summary stats are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StatsDelivery {
    /// After the first rows: the load answers at once, a `stats_update` follows.
    #[default]
    Deferred,
    /// Before the load answers (every stat is in the first `initial_state`).
    Inline,
}

impl StatsDelivery {
    /// The server's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            StatsDelivery::Deferred => "deferred",
            StatsDelivery::Inline => "inline",
        }
    }
}

/// What `buckaroo_reload_expr` returns.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReloadResult {
    /// The window's session.
    pub session_id: String,
    /// How many classes the server loaded from the project root.
    pub klasses_loaded: u64,
}

/// `buckaroo_load_compare`'s `args`: two files joined for a diff view.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct LoadCompareArgs {
    /// The first file; it must be in the scope.
    pub path1: String,
    /// The second file; it must be in the scope.
    pub path2: String,
    /// Columns the two files are joined on.
    pub join_columns: Vec<String>,
    /// The join (`"outer"` when absent).
    pub how: Option<String>,
}

/// `buckaroo_pick_export`'s `args` (all optional): the save dialog's suggestion.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct PickExportArgs {
    /// The file name it proposes (`sales.csv`).
    pub default_name: Option<String>,
}

/// `buckaroo_export`'s `args`: where to write what the window's grid shows.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportArgs {
    /// The target: a path `buckaroo_pick_export` returned to this window (once), or a
    /// file directly in a folder of [`crate::BuckarooConfig::with_export_dir`].
    pub path: String,
    /// `csv`, `tsv`, `parquet` or `jsonl`; by the path's extension when absent.
    pub format: Option<String>,
    /// The loaded data as it came in (unsorted, unsearched), not the grid's view.
    #[serde(default)]
    pub whole_file: bool,
}

/// What `buckaroo_export` returns once the file is written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportResult {
    /// The file written.
    pub path: String,
    /// Rows written (the header not counted).
    pub rows: u64,
    /// The file's size.
    pub bytes: u64,
    /// How long it took, in the sidecar.
    pub seconds: f64,
    /// How the rows were read: `pandas`, `file`, `sorted copy` or `engine query`.
    pub how: String,
}

/// `buckaroo_copy_cells`'s `args`: a block of the window's grid as it shows it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CopyArgs {
    /// The first row (the grid's row index, in its current sort and search).
    pub start: u64,
    /// One past the last row.
    pub end: u64,
    /// The grid's column ids (`a`, `b`, …), in the order to copy them.
    pub columns: Vec<String>,
}

/// What `buckaroo_copy_cells` put on the clipboard.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CopyResult {
    /// Rows copied (the header row not counted).
    pub rows: u64,
    /// Columns copied.
    pub columns: u64,
}

/// What a load command returns.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadResult {
    /// The window's session.
    pub session_id: String,
    /// The path as the server resolved it.
    pub path: String,
    /// The mode the load used.
    pub mode: String,
    /// Row count, when the server knows it.
    pub rows: Option<u64>,
    /// What served it: `"xorq"` (an expression, or a file on the embedded engine:
    /// rows are queries, stats may follow), else `"pandas"` or `"polars"`.
    pub backend: String,
    /// Column summary, as the server sent it.
    pub columns: Value,
}

/// What `buckaroo_attach` returns.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AttachInfo {
    /// The window's session (kept across page reloads and sidecar restarts).
    pub session_id: String,
    /// Whether the window's internal socket is open (false until the sidecar is ready).
    pub connected: bool,
    /// The path the plugin started loading into this window by itself, if any.
    pub autoload: Option<String>,
    /// With `poll`: the id `buckaroo_poll` takes to pull this attach's frames.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub poll_id: Option<u64>,
}

/// `buckaroo_health`: the plugin's view plus the server's own `/health` when it is up.
/// Never contains the port.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthInfo {
    /// This crate's version.
    pub plugin_version: &'static str,
    /// The lifecycle state's name ([`Status::name`]).
    pub state: &'static str,
    /// `state == "ready"`.
    pub ready: bool,
    /// The calling window's session, if it attached.
    pub session_id: Option<String>,
    /// Whether the calling window's internal socket is open.
    pub connected: bool,
    /// The server's `/health` answer, when it is ready.
    pub server: Option<Value>,
}

/// The `{code, message, hint?, serverCode?}` shape of every error that reaches a page,
/// from a rejected command or inside a [`Status`].
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ErrorInfo {
    /// Stable, documented in docs/protocol.md ([`crate::Error::code`]).
    pub code: String,
    /// For people; may change.
    pub message: String,
    /// What the user can do about it ([`crate::Error::hint`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// The server's own `error_code`, for `load_failed`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_code: Option<String>,
}

/// The sidecar's lifecycle, as `buckaroo_status` returns it and the `buckaroo:status`
/// event carries it (tagged by `state`).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "state", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Status {
    /// Resolving, probing or spawning the interpreter.
    Starting {
        /// Start attempts so far in this supervision run (0 before the first).
        attempt: u32,
    },
    /// The server is listening; windows are connected.
    Ready {
        /// Sidecar starts over the supervisor's life; a new one means a new process.
        generation: u64,
        /// The sidecar's pid (the leader of its process group).
        pid: u32,
        /// The interpreter it runs.
        python: String,
        /// The buckaroo version the probe found.
        buckaroo_version: Option<String>,
    },
    /// Setting up the managed environment (first run, or after an app update that
    /// changed its lock): once, then every start is like a user venv's.
    Provisioning {
        /// `waiting` (another process is setting up), `preparing`, `installing`, `checking`.
        stage: String,
        /// 0–100 when the total is known (a bundle says it); `None` from the index.
        percent: Option<u8>,
        /// Estimated time left, from the rate so far.
        eta_ms: Option<u64>,
        /// `bundle` (the app's own wheels, no network) or `index` (the package index).
        source: String,
    },
    /// The sidecar runs but stopped answering (its health check went unanswered): row
    /// requests are failed with `sidecar_not_responding` meanwhile. Back to `ready` by
    /// itself when it answers again; `buckaroo_retry` ends it and starts a new one.
    Unresponsive {
        /// The generation that stopped answering.
        generation: u64,
        /// Its pid.
        pid: u32,
        /// How long it has been silent.
        silent_ms: u64,
    },
    /// The sidecar ended and will be started again.
    Restarting {
        /// The restart number within the current crash loop.
        attempt: u32,
        /// How long until the next start.
        retry_in_ms: u64,
        /// Why it ended.
        error: ErrorInfo,
    },
    /// Given up; `buckaroo_retry` starts over.
    Failed {
        /// Why.
        error: ErrorInfo,
    },
    /// Shut down on request.
    Stopped,
}

impl Status {
    /// `"starting" | "provisioning" | "ready" | "unresponsive" | "restarting" | "failed" | "stopped"`.
    pub fn name(&self) -> &'static str {
        match self {
            Status::Starting { .. } => "starting",
            Status::Provisioning { .. } => "provisioning",
            Status::Ready { .. } => "ready",
            Status::Unresponsive { .. } => "unresponsive",
            Status::Restarting { .. } => "restarting",
            Status::Failed { .. } => "failed",
            Status::Stopped => "stopped",
        }
    }
}

/// A database to connect to (`buckaroo_db_tables`'s `args.connection`). The password
/// is sent once: the plugin keeps it and hands out a `connectionId`; it never goes back
/// to the page.
#[derive(Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DbConnection {
    /// `"postgres"`, `"duckdb"`, `"sqlite"`, or `"url"` (any other xorq backend).
    pub kind: String,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub database: Option<String>,
    pub user: Option<String>,
    /// Typed by the user; kept by the plugin only, in memory.
    pub password: Option<String>,
    /// The name of an environment variable of the app's process holding the password
    /// (`PGPASSWORD`-style): nothing secret crosses the page at all.
    pub password_env: Option<String>,
    pub schema: Option<String>,
    /// A DuckDB or SQLite file; it must be in the scope (configured, picked or dropped).
    pub path: Option<String>,
    pub url: Option<String>,
}

impl std::fmt::Debug for DbConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbConnection")
            .field("kind", &self.kind)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// `buckaroo_db_tables`'s `args`: a new connection, one the plugin holds already, or a
/// saved one (`savedId`; `password` only for a record saved without it, `secret: "ask"`).
#[derive(Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct DbTablesArgs {
    pub connection: Option<DbConnection>,
    pub connection_id: Option<String>,
    pub saved_id: Option<String>,
    pub password: Option<String>,
}

impl std::fmt::Debug for DbTablesArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DbTablesArgs")
            .field("connection", &self.connection)
            .field("connection_id", &self.connection_id)
            .field("saved_id", &self.saved_id)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

/// Where a saved connection's password is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SecretPlace {
    /// It needs none (a DuckDB or SQLite file, a trusted login).
    None,
    /// In the OS keyring, under the app's identifier and the record's id.
    Keyring,
    /// In the environment variable `passwordEnv` names.
    Env,
    /// Nowhere (no keyring answered when it was saved): the page asks for it.
    Ask,
}

/// A saved connection (`buckaroo_db_saved`): everything but its password, which is
/// where `secret` says. A `url` connection's whole URL is its secret (it may hold one).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedConnection {
    pub id: String,
    pub name: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    pub secret: SecretPlace,
}

impl SavedConnection {
    /// `conn` under `name`, with a new id and its secret's place still to be decided.
    pub fn of(conn: &DbConnection, name: &str) -> Self {
        let name = name.trim();
        Self {
            id: format!("s{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
            name: if name.is_empty() { conn.label() } else { name.to_string() },
            kind: conn.kind.clone(),
            host: conn.host.clone(),
            port: conn.port,
            database: conn.database.clone(),
            user: conn.user.clone(),
            schema: conn.schema.clone(),
            path: conn.path.clone(),
            password_env: conn.password_env.clone(),
            secret: SecretPlace::None,
        }
    }

    /// Whether `other` points at the same database as the same user (saving it again replaces it).
    pub fn same_target(&self, other: &SavedConnection) -> bool {
        (
            &self.kind,
            &self.host,
            self.port,
            &self.database,
            &self.user,
            &self.schema,
            &self.path,
        ) == (
            &other.kind,
            &other.host,
            other.port,
            &other.database,
            &other.user,
            &other.schema,
            &other.path,
        ) && self.kind != "url"
    }

    /// The connection, without its secret.
    pub fn connection(&self) -> DbConnection {
        DbConnection {
            kind: self.kind.clone(),
            host: self.host.clone(),
            port: self.port,
            database: self.database.clone(),
            user: self.user.clone(),
            password: None,
            password_env: self.password_env.clone(),
            schema: self.schema.clone(),
            path: self.path.clone(),
            url: None,
        }
    }
}

impl DbConnection {
    /// A name for it when the user gave none: `user@host:port/database`, or the file's name.
    pub fn label(&self) -> String {
        if let Some(path) = &self.path {
            return std::path::Path::new(path)
                .file_name()
                .map_or(path.clone(), |n| n.to_string_lossy().into());
        }
        let user = self.user.as_deref().map(|u| format!("{u}@")).unwrap_or_default();
        let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
        let db = self.database.as_deref().map(|d| format!("/{d}")).unwrap_or_default();
        format!("{user}{}{port}{db}", self.host.as_deref().unwrap_or(&self.kind))
    }
}

/// `buckaroo_db_save`'s `args`: a connection this run opened (its `connectionId`) and a name.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct SaveConnectionArgs {
    pub connection_id: String,
    #[serde(default)]
    pub name: String,
}

/// What `buckaroo_db_save` returns: the record, and why the keyring did not keep the
/// password when it did not (`secret: "ask"`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SaveConnectionResult {
    pub saved: SavedConnection,
    pub keyring_problem: Option<String>,
}

/// A table or view of a database, with the catalog's row estimate (never a `COUNT(*)`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DbTable {
    pub schema: Option<String>,
    pub name: String,
    /// `"table"` or `"view"`.
    pub kind: String,
    /// The estimate; `null` when the catalog does not know (a table never analyzed).
    pub rows: Option<u64>,
}

/// What `buckaroo_db_tables` returns: the connection's id (for `buckaroo_open_table`
/// and `buckaroo_db_save`), its name without the password, and its tables.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DbTablesResult {
    pub connection_id: String,
    pub engine: String,
    pub name: String,
    pub tables: Vec<DbTable>,
}

/// A table to open: `{schema?, name}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableRef {
    pub schema: Option<String>,
    pub name: String,
}

/// `buckaroo_open_table`'s `args`: a table of a connection, or a read-only query.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct OpenTableArgs {
    pub connection_id: String,
    pub table: Option<TableRef>,
    /// One `SELECT` (the session is read-only whatever it says).
    pub query: Option<String>,
    pub stats_delivery: Option<StatsDelivery>,
}
