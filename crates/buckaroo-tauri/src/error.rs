//! One error type for the whole plugin. It reaches JS as `{code, message, hint?,
//! serverCode?}` ([`crate::ErrorInfo`]) with a stable `code`, so pages can branch on it
//! and show `hint` to the user.

use crate::models::ErrorInfo;
use serde::{Serialize, Serializer};
use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong, each with a stable [`code`](Error::code).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No interpreter found, or the one found cannot be run.
    #[error("no usable Python interpreter: {0}")]
    PythonNotFound(String),
    /// The interpreter lacks buckaroo or one of its dependencies.
    #[error("{} cannot run the buckaroo server: {problems}", .install.python)]
    BuckarooMissing {
        /// What the probe found missing or wrong.
        problems: String,
        /// What to install, into which interpreter.
        install: PipInstall,
    },
    /// A xorq expression was loaded, and xorq does not import in the sidecar's Python.
    #[error("xorq is not installed in {}: xorq expressions cannot be opened (files still can)", .install.python)]
    XorqNotInstalled {
        /// What adds xorq, into which interpreter.
        install: PipInstall,
    },
    /// The launcher package could not be written to its cache folder (read-only, full,
    /// or not a folder).
    #[error("cannot write the sidecar launcher to {}: {reason}", .dir.display())]
    LauncherCacheUnwritable {
        /// The folder that could not be written.
        dir: PathBuf,
        /// What the OS said.
        reason: String,
    },
    /// No Python 3.11+ to make the managed environment from.
    #[error("no Python 3.11 or newer to set up the viewer with ({found})")]
    PythonMissing {
        /// What was found instead.
        found: String,
        /// How to install one on this system (the hint).
        install: String,
    },
    /// The managed environment needs the package index, which cannot (or may not) be reached.
    #[error("the viewer's first-run set-up cannot get its packages: {reason}")]
    EnvOffline {
        /// Why (the installer's last line, or that nothing is bundled).
        reason: String,
    },
    /// Too little disk space for the managed environment.
    #[error("not enough disk space in {} to set up the viewer{}", .dir.display(), space_suffix(*.needed, *.available))]
    EnvDiskFull {
        /// The folder environments live in.
        dir: PathBuf,
        /// Bytes needed (0 when only the installer's failure says so).
        needed: u64,
        /// Bytes free, when measured.
        available: Option<u64>,
    },
    /// The managed environment is there and does not work.
    #[error("the viewer's environment in {} does not work: {reason}", .dir.display())]
    EnvBroken {
        /// The environment.
        dir: PathBuf,
        /// What its probe said.
        reason: String,
    },
    /// A set-up step failed for another reason.
    #[error("setting up the viewer's environment failed to {step}: {detail}")]
    EnvInstallFailed {
        /// Which step.
        step: &'static str,
        /// How it ended, and the installer's last line.
        detail: String,
    },
    /// The user cancelled the set-up.
    #[error("the viewer's set-up was cancelled")]
    SetupCancelled,
    /// The sidecar said nothing on stdout in time.
    #[error("the sidecar printed no BUCKAROO_PORT line within {0:?}")]
    HandshakeTimeout(Duration),
    /// The sidecar printed something else first.
    #[error("the sidecar printed {line:?} before its BUCKAROO_PORT handshake")]
    HandshakeInvalid {
        /// The line it printed (cut to 200 characters).
        line: String,
    },
    /// The secure launcher does not recognise this buckaroo's internals.
    #[error("this buckaroo is not supported by the secure launcher: {0}")]
    LauncherUnsupported(String),
    /// The sidecar process ended.
    #[error("the sidecar {status}{}", cause_suffix(.cause))]
    SidecarExited {
        /// How it ended ("exited with code 1", "was killed by signal 9 (SIGKILL)").
        status: String,
        /// The stderr line that explains it (a traceback's last line), or empty when no
        /// line does. The whole stderr tail is in the log.
        cause: String,
    },
    /// Not ready (yet); the state's name says which.
    #[error("the buckaroo sidecar is not ready ({0})")]
    SidecarNotReady(String),
    /// The supervisor gave up (or its task panicked).
    #[error("the buckaroo sidecar failed and will not be restarted: {0}")]
    SidecarFailed(String),
    /// The kernel killed the sidecar for using more memory than its cgroup allows.
    #[error("the sidecar was killed by the kernel: out of memory")]
    SidecarOutOfMemory,
    /// The sidecar runs but has not answered for a while (stopped, frozen in a C
    /// extension that holds the GIL, swapping): row requests waiting on it are failed.
    #[error("the sidecar has not answered for {} s", .silent.as_secs())]
    SidecarNotResponding {
        /// How long it has been silent.
        silent: Duration,
    },
    /// The server refused a load.
    #[error("loading failed ({server_code}): {message}")]
    LoadFailed {
        /// The server's `error_code` (`file_not_found`, `load_timeout`, ...).
        server_code: String,
        /// The HTTP status.
        status: u16,
        /// The server's message.
        message: String,
        /// The limit in force, quoted by the `load_timeout` hint.
        load_timeout: Duration,
    },
    /// An export to a path the user did not pick in this window's save dialog (nor in a
    /// folder the host granted).
    #[error("export path not allowed: {}", .0.display())]
    ExportPathRefused(PathBuf),
    /// The launcher refused or ended an export (nothing was written).
    #[error("export failed ({server_code}): {message}")]
    ExportFailed {
        /// The launcher's `error_code` (`export_cancelled`, `disk_full`, ...).
        server_code: String,
        /// The launcher's message.
        message: String,
    },
    /// The launcher refused a copy of cells.
    #[error("copy failed ({server_code}): {message}")]
    CopyFailed {
        /// The launcher's `error_code` (`copy_too_big`, `invalid_copy`, ...).
        server_code: String,
        /// The launcher's message.
        message: String,
    },
    /// The system clipboard could not be written.
    #[error("the clipboard could not be written: {0}")]
    Clipboard(String),
    /// Outside the scope: not configured, picked or dropped.
    #[error("path not allowed: {}", .0.display())]
    PathNotAllowed(PathBuf),
    /// A FIFO, device or socket: reading it can block the sidecar forever.
    #[error("path not allowed: {} is a {kind}, not a regular file", .path.display())]
    NotARegularFile {
        /// The path.
        path: PathBuf,
        /// What it is instead ("FIFO (named pipe)", ...).
        kind: &'static str,
    },
    /// A page message of a type pages may not send.
    #[error("message type {0:?} may not be sent to the sidecar")]
    MessageNotAllowed(String),
    /// The window has not called `buckaroo_attach`.
    #[error("this window has no buckaroo channel; call buckaroo_attach first")]
    NotAttached,
    /// The window already has its maximum of unanswered row requests.
    #[error("too many row requests in flight for this window ({0}); request failed")]
    Backpressure(usize),
    /// A page message of the wrong shape.
    #[error("invalid message: {0}")]
    InvalidMessage(String),
    /// A `buckaroo_state_change` buckaroo would accept and then show nothing for.
    #[error("invalid message: {problem}")]
    InvalidStateChange {
        /// What is wrong with it.
        problem: String,
        /// What the session accepts.
        hint: String,
    },
    /// A command's arguments could not be read (missing, or the wrong shape).
    #[error("invalid arguments for {command}: {problem}")]
    InvalidArgs {
        /// The command.
        command: &'static str,
        /// Which argument, and what is wrong with it.
        problem: String,
    },
    /// A saved connection's password is not at hand: not in the OS keyring (gone,
    /// locked, no keyring), or never saved (`secret: "ask"`) and not given.
    #[error("{problem}")]
    DbSecret {
        /// Which connection, and why.
        problem: String,
    },
    /// The window's internal socket closed (the sidecar is restarting).
    #[error("the internal connection to the sidecar is closed")]
    ConnectionClosed,
    /// The native file dialog failed.
    #[error("file dialog failed: {0}")]
    Dialog(String),
    /// An I/O error.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// An HTTP request to the sidecar failed.
    #[error("HTTP to the sidecar failed: {0}")]
    Http(#[from] reqwest::Error),
    /// The internal WebSocket failed.
    #[error("WebSocket to the sidecar failed: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    /// Tauri itself failed.
    #[error(transparent)]
    Tauri(#[from] tauri::Error),
}

fn space_suffix(needed: u64, available: Option<u64>) -> String {
    match (needed, available) {
        (0, _) => String::new(),
        (n, Some(a)) => format!(": it needs {} MB, {} MB are free", n >> 20, a >> 20),
        (n, None) => format!(": it needs {} MB", n >> 20),
    }
}

fn cause_suffix(cause: &str) -> String {
    if cause.is_empty() {
        String::new()
    } else {
        format!(": {cause}")
    }
}

/// Packages missing from an interpreter, and how to get them there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipInstall {
    /// The interpreter probed.
    pub python: String,
    /// The `pip install` arguments.
    pub pip: String,
    /// The OS owns its packages (PEP 668, Debian's python3): pip refuses to install
    /// into it, so the fix is a venv.
    pub externally_managed: bool,
    /// `python -m venv` works there (Debian ships ensurepip apart, in python3-venv).
    pub venv_available: bool,
}

impl PipInstall {
    /// Where the hint's venv goes (shell syntax: the user pastes it).
    const VENV: &'static str = "~/.venvs/buckaroo";

    /// The command that fixes it, pasteable into a shell.
    pub fn hint(&self) -> String {
        let Self { python, pip, .. } = self;
        if !self.externally_managed {
            return format!("{python} -m pip install {pip}");
        }
        let venv = Self::VENV;
        let apt = if self.venv_available {
            ""
        } else {
            "sudo apt install python3-venv && "
        };
        format!(
            "{python} belongs to the system, whose pip refuses to install packages (externally-managed-environment). \
             Make a venv for the viewer: {apt}{python} -m venv {venv} && {venv}/bin/python -m pip install {pip} \
             — then start the app with BUCKAROO_PYTHON={venv}/bin/python"
        )
    }
}

/// The plugin's `Result`.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Stable, documented in docs/protocol.md; never reuse or rename one.
    pub fn code(&self) -> &'static str {
        match self {
            Error::PythonNotFound(_) => "python_not_found",
            Error::BuckarooMissing { .. } => "buckaroo_missing",
            Error::XorqNotInstalled { .. } => "xorq_not_installed",
            Error::LauncherCacheUnwritable { .. } => "launcher_cache_unwritable",
            Error::PythonMissing { .. } => "python_missing",
            Error::EnvOffline { .. } => "env_offline",
            Error::EnvDiskFull { .. } => "env_disk_full",
            Error::EnvBroken { .. } => "env_broken",
            Error::EnvInstallFailed { .. } => "env_install_failed",
            Error::SetupCancelled => "setup_cancelled",
            Error::HandshakeTimeout(_) => "handshake_timeout",
            Error::HandshakeInvalid { .. } => "handshake_invalid",
            Error::LauncherUnsupported(_) => "launcher_unsupported",
            Error::SidecarExited { .. } => "sidecar_exited",
            Error::SidecarNotReady(_) => "sidecar_not_ready",
            Error::SidecarFailed(_) => "sidecar_failed",
            Error::SidecarNotResponding { .. } => "sidecar_not_responding",
            Error::SidecarOutOfMemory => "sidecar_out_of_memory",
            Error::LoadFailed { .. } => "load_failed",
            Error::PathNotAllowed(_) | Error::NotARegularFile { .. } => "path_not_allowed",
            Error::ExportPathRefused(_) => "export_path_refused",
            Error::ExportFailed { .. } => "export_failed",
            Error::CopyFailed { .. } => "copy_failed",
            Error::Clipboard(_) => "clipboard_failed",
            Error::MessageNotAllowed(_) => "message_not_allowed",
            Error::NotAttached => "not_attached",
            Error::Backpressure(_) => "backpressure",
            Error::InvalidMessage(_) | Error::InvalidStateChange { .. } => "invalid_message",
            Error::InvalidArgs { .. } => "invalid_args",
            Error::DbSecret { .. } => "db_secret_unavailable",
            Error::ConnectionClosed => "connection_closed",
            Error::Dialog(_) => "dialog_failed",
            Error::Io(_) => "io",
            Error::Http(_) => "http",
            Error::WebSocket(_) => "websocket",
            Error::Tauri(_) => "tauri",
        }
    }

    /// What the user can do about it, when there is something.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::PythonNotFound(_) => Some(
                "Install Python 3.11+ with buckaroo, or point BUCKAROO_PYTHON at it (or BuckarooConfig::with_python / with_venv).".into(),
            ),
            Error::BuckarooMissing { install, .. } | Error::XorqNotInstalled { install } => Some(install.hint()),
            Error::LauncherCacheUnwritable { dir, .. } => Some(format!(
                "Make {} writable (or free space on its disk), or give the plugin another folder with BuckarooConfig::with_launcher_cache.",
                dir.display()
            )),
            Error::PythonMissing { install, .. } => Some(install.clone()),
            Error::EnvOffline { .. } => Some(
                "Connect to the network and Retry (only the first run downloads), or install a build of the app that carries its packages."
                    .into(),
            ),
            Error::EnvDiskFull { dir, .. } => Some(format!("Free space on the disk holding {}, then Retry.", dir.display())),
            Error::EnvBroken { .. } | Error::EnvInstallFailed { .. } => Some(
                "Reset the environment (resetEnvironment() in the adapter; Help › Reset environment in the example app): it is set up again. The app's log has the details."
                    .into(),
            ),
            Error::SetupCancelled => Some("Retry sets the viewer up again.".into()),
            Error::HandshakeTimeout(_) | Error::HandshakeInvalid { .. } => Some(
                "Check that `python -m buckaroo.server --port 0 --no-browser --stdio-control` prints only BUCKAROO_PORT=<n> on stdout."
                    .into(),
            ),
            Error::LauncherUnsupported(_) => Some(format!(
                "Install a supported buckaroo ({}), or run the plain server with BuckarooConfig::with_plain_server() (no per-launch token).",
                crate::launcher::TESTED_BUCKAROO
            )),
            Error::LoadFailed {
                server_code, load_timeout, ..
            } => load_hint(server_code, *load_timeout),
            Error::PathNotAllowed(_) => Some(
                "Let the user pick it (pickAndLoad() in the adapter) or drop it on the window, or add its folder with BuckarooConfig::with_scope.".into(),
            ),
            Error::NotARegularFile { .. } => Some(
                "Only regular files, and folders (parquet datasets), can be loaded; a pipe, device or socket could block the reader forever."
                    .into(),
            ),
            Error::InvalidStateChange { hint, .. } => Some(hint.clone()),
            Error::InvalidArgs { .. } => Some(
                "Call it with the arguments docs/protocol.md lists (the adapter does), e.g. invoke('plugin:buckaroo-tauri|buckaroo_send', { msg })."
                    .into(),
            ),
            Error::SidecarOutOfMemory => Some(
                "The file it was reading needed more memory than the app may use. Open it on the engine (backend \"xorq\": it reads the file in place), or give the app more memory. The restarted sidecar did not load it again.".into(),
            ),
            Error::SidecarNotResponding { .. } => Some(
                "It may answer again by itself; Retry ends it and starts a new one, and each window gets its file back.".into(),
            ),
            Error::ExportPathRefused(_) => Some(
                "Ask the user for the file with pickExportPath() (the save dialog) and export to the path it returns, or grant a folder with BuckarooConfig::with_export_dir.".into(),
            ),
            Error::ExportFailed { server_code, .. } | Error::CopyFailed { server_code, .. } => export_hint(server_code),
            Error::DbSecret { .. } => Some(
                "Type the password (Open Database… with the saved connection); saving it again keeps it in the OS keyring when one runs (on Linux, a Secret Service such as gnome-keyring), or set passwordEnv to an environment variable that holds it.".into(),
            ),
            Error::NotAttached => Some("Mount the grid (mountBuckaroo) before loading or sending; it attaches this window.".into()),
            _ => None,
        }
    }
}

/// What to do about an export the launcher refused, by its `error_code`.
fn export_hint(server_code: &str) -> Option<String> {
    let hint = match server_code {
        "invalid_export" => "Export to a .csv, .tsv, .parquet, .jsonl or .xlsx file in a folder that exists.",
        "export_too_many_rows" => "An Excel sheet holds 1,048,575 rows under its header: export to CSV or Parquet, or search to fewer rows.",
        "export_busy" => "This window is exporting already: wait for it, or cancel it (cancelExport()).",
        "export_cancelled" => "Nothing was written; export again when you want the file.",
        "export_unsupported" => "Load the data in this window first (polars-backed and lazy windows cannot export: open the file with the default backend or on the engine); an .xlsx needs xlsxwriter in the sidecar's Python.",
        "export_failed" => "Nothing was written; the sidecar's log has the traceback.",
        "disk_full" => "Free space on that disk, or export to another folder; nothing was written.",
        "copy_too_big" => "Copy fewer cells, or export them (File › Export…): a copy takes up to 1,000,000 cells.",
        "invalid_copy" => "Copy a block of the grid's own rows and column ids (the adapter's cell selection sends them).",
        "copy_failed" => "The sidecar's log has the traceback; Export… writes the same rows to a file.",
        _ => return None,
    };
    Some(hint.into())
}

/// What to do about a load the server refused, by its `error_code`.
fn load_hint(server_code: &str, load_timeout: Duration) -> Option<String> {
    let hint = match server_code {
        "file_not_found" => "Check the path; the file does not exist.".into(),
        "invalid_file" => "Supported: regular files (.parquet, .csv, .tsv, .json, .jsonl, .ndjson) and folders of parquet files.".into(),
        "load_timeout" => format!(
            "The file took longer than {} s to read; load a smaller file or a faster format (parquet), or raise the limit with BuckarooConfig::with_load_timeout.",
            load_timeout.as_secs_f64()
        ),
        "load_error" => {
            "The server could not read the file: the sidecar's log (stderr) has the traceback; check that the file opens elsewhere, or load it with backend \"xorq\".".into()
        }
        "engine_unsupported" => {
            "The engine reads Parquet (a file or a folder of them), CSV/TSV and JSON lines; load other files without backend \"xorq\".".into()
        }
        "load_cancelled" => "A newer load in this window replaced it; nothing to do.".into(),
        "build_dir_not_found" => "Open the directory `xorq build` printed (builds/<hash>); it does not exist.".into(),
        "expr_unreadable" => {
            "The build's data cannot be read (a file under reads/ is missing or damaged, or expr.yaml is): run `xorq build` again.".into()
        }
        "no_project_root" => "Load the expression with projectRoot (the folder holding stats/, post_processing/, display/) first.".into(),
        "not_xorq_session" => "This window shows a file, not a xorq expression: load one with loadExpr first.".into(),
        "invalid_connection" => "Fill in the connection: PostgreSQL needs host, database and user; DuckDB and SQLite an absolute file path.".into(),
        "db_auth_failed" => "Check the user and password (or the environment variable passwordEnv names); nothing was saved.".into(),
        "db_unreachable" => "Check that the server runs and the host and port are right (a firewall, a VPN?), or that the database file exists.".into(),
        "db_table_missing" => "The table is gone (dropped or renamed): list the tables again and pick one.".into(),
        "db_query_invalid" => "Give one read-only query (SELECT …, WITH … SELECT); the engine's message says what it rejected.".into(),
        "db_driver_missing" => "Install xorq's extra for that database in the sidecar's Python (pip install 'xorq[postgres]', say).".into(),
        "db_choose_table" => "The database file holds several tables: list them (listTables with its path) and open one (openTable).".into(),
        "db_failed" => "The database's own message says why; the sidecar's log has more.".into(),
        "load_expr_error" => "xorq could not build the expression: check it with `xorq run <build dir>`; the sidecar's log has the traceback.".into(),
        _ => return None,
    };
    Some(hint)
}

impl From<crate::launcher::UnpackError> for Error {
    fn from(e: crate::launcher::UnpackError) -> Self {
        Error::LauncherCacheUnwritable {
            dir: e.dir,
            reason: e.source.to_string(),
        }
    }
}

impl From<&Error> for ErrorInfo {
    fn from(e: &Error) -> Self {
        Self {
            code: e.code().into(),
            message: e.to_string(),
            hint: e.hint(),
            server_code: match e {
                Error::LoadFailed { server_code, .. } => Some(server_code.clone()),
                _ => None,
            },
        }
    }
}

/// `{code, message, hint?, serverCode?}`: the [`ErrorInfo`] shape.
impl Serialize for Error {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        ErrorInfo::from(self).serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_code_message_hint() {
        let err = Error::LoadFailed {
            server_code: "file_not_found".into(),
            status: 404,
            message: "File not found: /x".into(),
            load_timeout: Duration::from_secs(120),
        };
        let v = serde_json::to_value(&err).unwrap();
        assert_eq!(v["code"], "load_failed");
        assert_eq!(v["serverCode"], "file_not_found");
        assert!(v["message"].as_str().unwrap().contains("/x"));
        assert!(v["hint"].is_string());
        let v = serde_json::to_value(Error::ConnectionClosed).unwrap();
        assert!(v.get("hint").is_none());
    }

    #[test]
    fn new_server_codes_have_hints() {
        let failed = |code: &str| Error::LoadFailed {
            server_code: code.into(),
            status: 504,
            message: "x".into(),
            load_timeout: Duration::from_secs(90),
        };
        let v = serde_json::to_value(failed("load_timeout")).unwrap();
        assert_eq!(
            (v["code"].as_str(), v["serverCode"].as_str()),
            (Some("load_failed"), Some("load_timeout"))
        );
        assert!(
            v["hint"].as_str().unwrap().starts_with("The file took longer than 90 s to read;"),
            "{v}"
        );
        assert!(failed("load_cancelled")
            .hint()
            .unwrap()
            .contains("A newer load in this window replaced it"));
        assert!(failed("invalid_file").hint().unwrap().contains("regular files"));
        let e = Error::NotARegularFile {
            path: "/d/x.parquet".into(),
            kind: "FIFO (named pipe)",
        };
        assert_eq!(e.code(), "path_not_allowed");
        assert!(e.to_string().contains("is a FIFO (named pipe), not a regular file"), "{e}");
        assert!(e.hint().unwrap().contains("regular files"));
        let e = Error::InvalidArgs {
            command: "buckaroo_send",
            problem: "missing argument `msg`".into(),
        };
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["code"], "invalid_args");
        assert!(v["message"].as_str().unwrap().contains("buckaroo_send"));
    }
}
