//! "Check for Updates…": tauri-plugin-updater, asked only when the user asks.
//! The public key and the endpoints come from tauri.conf.json (`plugins.updater`);
//! `BUCKAROO_UPDATE_ENDPOINT` replaces the endpoints (a staging or test server:
//! the key still decides what installs).

use crate::error::AppError;
use serde::Serialize;
use std::sync::Mutex;
use tauri::{AppHandle, Emitter, Runtime, Url, WebviewWindow};
use tauri_plugin_updater::{Error as UpdaterError, Update, UpdaterExt};

/// The environment variable that points the check at another manifest.
pub const ENDPOINT_ENV: &str = "BUCKAROO_UPDATE_ENDPOINT";
/// Set by a launcher whose package manager updates this copy (the Python wheel's:
/// `pip install -U buckaroo-desktop`); the check then says so instead of asking.
pub const UPDATED_BY_ENV: &str = "BUCKAROO_UPDATED_BY";
/// Download progress, to the window that asked: `{downloaded, total}`.
pub const PROGRESS_EVENT: &str = "app:update-progress";

/// The update found by the last check, kept for "Install".
#[derive(Default)]
pub struct Pending(Mutex<Option<Update>>);

/// What a check found.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateInfo {
    /// The running version.
    pub current: String,
    /// The newer version, when there is one.
    pub available: Option<String>,
    /// Its release notes.
    pub notes: Option<String>,
}

#[derive(Clone, Serialize)]
struct Progress {
    downloaded: u64,
    total: Option<u64>,
}

/// Ask the manifest whether a newer version exists (one request).
pub async fn check<R: Runtime>(app: &AppHandle<R>, pending: &Pending) -> Result<UpdateInfo, AppError> {
    if let Some(how) = std::env::var(UPDATED_BY_ENV).ok().filter(|v| !v.is_empty()) {
        return Err(AppError::update(
            "update_by_package_manager",
            format!("This copy is updated with `{how}`."),
        ));
    }
    let mut builder = app.updater_builder();
    if let Some(url) = std::env::var(ENDPOINT_ENV).ok().filter(|v| !v.is_empty()) {
        let url = Url::parse(&url).map_err(|e| AppError::update("update_not_configured", format!("{ENDPOINT_ENV}: {e}")))?;
        builder = builder.endpoints(vec![url]).map_err(coded)?;
    }
    let update = builder.build().map_err(coded)?.check().await.map_err(coded)?;
    let info = UpdateInfo {
        current: app.package_info().version.to_string(),
        available: update.as_ref().map(|u| u.version.clone()),
        notes: update.as_ref().and_then(|u| u.body.clone()),
    };
    *pending.0.lock().unwrap_or_else(|e| e.into_inner()) = update;
    Ok(info)
}

/// Download, verify and install the update the last check found, then relaunch.
pub async fn install<R: Runtime>(app: &AppHandle<R>, window: &WebviewWindow<R>, pending: &Pending) -> Result<(), AppError> {
    let update = pending.0.lock().unwrap_or_else(|e| e.into_inner()).take();
    let update = update.ok_or_else(|| AppError::update("update_none_pending", "Check for updates first."))?;
    let mut downloaded = 0u64;
    let started = std::time::Instant::now();
    update
        .download_and_install(
            |chunk, total| {
                downloaded += chunk as u64;
                let _ = window.emit_to(window.label(), PROGRESS_EVENT, Progress { downloaded, total });
            },
            || {},
        )
        .await
        .map_err(coded)?;
    log::info!(
        "update {} installed in {} ms; relaunching",
        update.version,
        started.elapsed().as_millis()
    );
    app.restart()
}

/// The updater's error as a code the page can act on.
fn coded(e: UpdaterError) -> AppError {
    let code = match &e {
        UpdaterError::EmptyEndpoints | UpdaterError::InsecureTransportProtocol | UpdaterError::UrlParse(_) => "update_not_configured",
        UpdaterError::Reqwest(_) | UpdaterError::Network(_) | UpdaterError::ReleaseNotFound => "update_unreachable",
        UpdaterError::Minisign(_)
        | UpdaterError::Base64(_)
        | UpdaterError::SignatureUtf8(_)
        | UpdaterError::SignedVersionMismatch { .. }
        | UpdaterError::MissingSignedVersion => "update_signature_invalid",
        UpdaterError::TargetNotFound(_) | UpdaterError::TargetsNotFound(_) => "update_no_package",
        _ => "update_install_failed",
    };
    AppError::update(code, e.to_string())
}
