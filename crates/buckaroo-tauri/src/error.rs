//! One error type for the whole plugin. It reaches JS as `{code, message, hint?}`
//! with a stable `code`, so pages can branch on it and show `hint` to the user.

use serde::{ser::SerializeStruct, Serialize, Serializer};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("no usable Python interpreter: {0}")]
    PythonNotFound(String),
    #[error("{python} cannot run the buckaroo server: {problems}")]
    BuckarooMissing { python: String, problems: String, pip: String },
    #[error("the sidecar printed no BUCKAROO_PORT line within {0:?}")]
    HandshakeTimeout(Duration),
    #[error("the sidecar printed {line:?} before its BUCKAROO_PORT handshake")]
    HandshakeInvalid { line: String },
    #[error("this buckaroo is not supported by the secure launcher: {0}")]
    LauncherUnsupported(String),
    /// `status` says how it ended ("exited with code 1", "was killed by signal 9
    /// (SIGKILL)"); `cause` is the stderr line that explains it (a traceback's last
    /// line), or empty when no line does. The whole stderr tail is in the log.
    #[error("the sidecar {status}{}", cause_suffix(.cause))]
    SidecarExited { status: String, cause: String },
    #[error("the buckaroo sidecar is not ready ({0})")]
    SidecarNotReady(String),
    #[error("the buckaroo sidecar failed and will not be restarted: {0}")]
    SidecarFailed(String),
    /// `load_timeout` is the limit in force, quoted by the `load_timeout` hint.
    #[error("loading failed ({server_code}): {message}")]
    LoadFailed {
        server_code: String,
        status: u16,
        message: String,
        load_timeout: Duration,
    },
    #[error("path not allowed: {}", .0.display())]
    PathNotAllowed(PathBuf),
    /// A FIFO, device or socket: reading it can block the sidecar forever.
    #[error("path not allowed: {} is a {kind}, not a regular file", .path.display())]
    NotARegularFile { path: PathBuf, kind: &'static str },
    #[error("message type {0:?} may not be sent to the sidecar")]
    MessageNotAllowed(String),
    #[error("this window has no buckaroo channel; call buckaroo_attach first")]
    NotAttached,
    #[error("sidecar speaks protocol {got}, this plugin supports {supported}")]
    ProtocolMismatch { got: String, supported: String },
    #[error("too many row requests in flight for this window ({0}); request failed")]
    Backpressure(usize),
    #[error("invalid message: {0}")]
    InvalidMessage(String),
    /// A `buckaroo_state_change` buckaroo would accept and then show nothing for.
    #[error("invalid message: {problem}")]
    InvalidStateChange { problem: String, hint: String },
    /// A command's arguments could not be read (missing, or the wrong shape).
    #[error("invalid arguments for {command}: {problem}")]
    InvalidArgs { command: &'static str, problem: String },
    #[error("the internal connection to the sidecar is closed")]
    ConnectionClosed,
    #[error("file dialog failed: {0}")]
    Dialog(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("HTTP to the sidecar failed: {0}")]
    Http(#[from] reqwest::Error),
    #[error("WebSocket to the sidecar failed: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    #[error(transparent)]
    Tauri(#[from] tauri::Error),
}

fn cause_suffix(cause: &str) -> String {
    if cause.is_empty() {
        String::new()
    } else {
        format!(": {cause}")
    }
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Stable, documented in docs/protocol.md; never reuse or rename one.
    pub fn code(&self) -> &'static str {
        match self {
            Error::PythonNotFound(_) => "python_not_found",
            Error::BuckarooMissing { .. } => "buckaroo_missing",
            Error::HandshakeTimeout(_) => "handshake_timeout",
            Error::HandshakeInvalid { .. } => "handshake_invalid",
            Error::LauncherUnsupported(_) => "launcher_unsupported",
            Error::SidecarExited { .. } => "sidecar_exited",
            Error::SidecarNotReady(_) => "sidecar_not_ready",
            Error::SidecarFailed(_) => "sidecar_failed",
            Error::LoadFailed { .. } => "load_failed",
            Error::PathNotAllowed(_) | Error::NotARegularFile { .. } => "path_not_allowed",
            Error::MessageNotAllowed(_) => "message_not_allowed",
            Error::NotAttached => "not_attached",
            Error::ProtocolMismatch { .. } => "protocol_mismatch",
            Error::Backpressure(_) => "backpressure",
            Error::InvalidMessage(_) | Error::InvalidStateChange { .. } => "invalid_message",
            Error::InvalidArgs { .. } => "invalid_args",
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
            Error::BuckarooMissing { python, pip, .. } => Some(format!("{python} -m pip install {pip}")),
            Error::HandshakeTimeout(_) | Error::HandshakeInvalid { .. } => Some(
                "Check that `python -m buckaroo.server --port 0 --no-browser --stdio-control` prints only BUCKAROO_PORT=<n> on stdout."
                    .into(),
            ),
            Error::LauncherUnsupported(_) => Some(format!(
                "Install a supported buckaroo ({}), or run the plain server with BuckarooConfig::with_plain_server() (no per-launch token).",
                crate::sidecar::TESTED_BUCKAROO
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
            Error::NotAttached => Some("Mount the grid (mountBuckaroo) before loading or sending; it attaches this window.".into()),
            _ => None,
        }
    }
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
        "load_cancelled" => "A newer load in this window replaced it; nothing to do.".into(),
        _ => return None,
    };
    Some(hint)
}

impl Serialize for Error {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let hint = self.hint();
        let server_code = match self {
            Error::LoadFailed { server_code, .. } => Some(server_code.as_str()),
            _ => None,
        };
        let len = 2 + usize::from(hint.is_some()) + usize::from(server_code.is_some());
        let mut s = serializer.serialize_struct("Error", len)?;
        s.serialize_field("code", self.code())?;
        s.serialize_field("message", &self.to_string())?;
        if let Some(hint) = hint {
            s.serialize_field("hint", &hint)?;
        }
        if let Some(code) = server_code {
            s.serialize_field("serverCode", code)?;
        }
        s.end()
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
