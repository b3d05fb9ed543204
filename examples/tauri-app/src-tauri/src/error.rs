//! The app's own commands fail with a code, a message and a hint, like the plugin's.

use serde::Serialize;

/// An error a page shows as it shows the plugin's (`code`, `message`, `hint`).
#[derive(Debug, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct AppError {
    /// Stable, for the page and tests: `update_unreachable`, `update_signature_invalid`…
    pub code: &'static str,
    /// What happened.
    pub message: String,
    /// What to do about it.
    pub hint: Option<&'static str>,
}

impl AppError {
    /// An update step failed.
    pub fn update(code: &'static str, message: impl Into<String>) -> Self {
        let hint = match code {
            "update_unreachable" => Some("Check the network connection, or try again later."),
            "update_download_empty" => Some(
                "Nothing was installed. The update server is misconfigured: try again later, and tell the publisher if it lasts.",
            ),
            "update_download_incomplete" => Some("Nothing was installed. Check the network connection and try again."),
            "update_stalled" => Some(
                "Nothing was installed: the server or the network stopped sending. Install tries the download again.",
            ),
            "update_cancelled" => Some("Install (or Check for Updates…) starts again."),
            "update_signature_invalid" => Some(
                "Nothing was installed: the package does not match this app's publisher's signature (altered on the way, or signed with another key).",
            ),
            "update_package_broken" => Some(
                "Nothing was installed: the publisher's package is signed but not installable. Tell the publisher; this version keeps working.",
            ),
            "update_not_configured" => Some("This build has no update server (tauri.conf.json › plugins.updater)."),
            "update_no_package" => Some("The update server has no package for this platform."),
            "update_by_package_manager" => Some("Update it the way it was installed."),
            "update_not_authorized" => Some("Installing needs administrator rights: the password prompt was dismissed or failed. Try again."),
            "update_install_failed" => Some(
                "The installed version is unchanged: dpkg (through pkexec or sudo) could not install the package, or administrator rights were refused. The app's log has dpkg's output.",
            ),
            _ => None,
        };
        Self {
            code,
            message: message.into(),
            hint,
        }
    }
}

impl From<tauri::Error> for AppError {
    fn from(e: tauri::Error) -> Self {
        Self {
            code: "app_error",
            message: e.to_string(),
            hint: None,
        }
    }
}
