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
    #[error("the sidecar exited ({status}){}", stderr_suffix(.stderr_tail))]
    SidecarExited { status: String, stderr_tail: String },
    #[error("the buckaroo sidecar is not ready ({0})")]
    SidecarNotReady(String),
    #[error("the buckaroo sidecar failed and will not be restarted: {0}")]
    SidecarFailed(String),
    #[error("loading failed ({server_code}): {message}")]
    LoadFailed { server_code: String, status: u16, message: String },
    #[error("path not allowed: {}", .0.display())]
    PathNotAllowed(PathBuf),
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

fn stderr_suffix(tail: &str) -> String {
    if tail.is_empty() {
        String::new()
    } else {
        format!("; last stderr: {tail}")
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
            Error::PathNotAllowed(_) => "path_not_allowed",
            Error::MessageNotAllowed(_) => "message_not_allowed",
            Error::NotAttached => "not_attached",
            Error::ProtocolMismatch { .. } => "protocol_mismatch",
            Error::Backpressure(_) => "backpressure",
            Error::InvalidMessage(_) => "invalid_message",
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
            Error::LoadFailed { server_code, .. } => match server_code.as_str() {
                "file_not_found" => Some("Check the path; the file does not exist.".into()),
                "invalid_file" => Some("Supported files: .parquet, .csv, .tsv, .json.".into()),
                _ => None,
            },
            Error::PathNotAllowed(_) => Some(
                "Let the user pick it (pickAndLoad() in the adapter) or drop it on the window, or add its folder with BuckarooConfig::with_scope.".into(),
            ),
            Error::NotAttached => Some("Mount the grid (mountBuckaroo) before loading or sending; it attaches this window.".into()),
            _ => None,
        }
    }
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
        };
        let v = serde_json::to_value(&err).unwrap();
        assert_eq!(v["code"], "load_failed");
        assert_eq!(v["serverCode"], "file_not_found");
        assert!(v["message"].as_str().unwrap().contains("/x"));
        assert!(v["hint"].is_string());
        let v = serde_json::to_value(Error::ConnectionClosed).unwrap();
        assert!(v.get("hint").is_none());
    }
}
