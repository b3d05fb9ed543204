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
    let mut got = Received::default();
    let started = std::time::Instant::now();
    let bytes = update
        .download(
            |chunk, total| {
                got.bytes += chunk as u64;
                got.total = total;
                let _ = window.emit_to(
                    window.label(),
                    PROGRESS_EVENT,
                    Progress {
                        downloaded: got.bytes,
                        total,
                    },
                );
            },
            || {},
        )
        .await
        .map_err(|e| got.explain(e))?;
    check_package(&bytes)?;
    // dpkg through pkexec or sudo: blocking, and the runtime's threads serve the windows.
    let installing = update.clone();
    tauri::async_runtime::spawn_blocking(move || installing.install(&bytes))
        .await
        .map_err(|e| AppError::update("update_install_failed", e.to_string()))?
        .map_err(coded)?;
    log::info!(
        "update {} installed in {} ms; relaunching",
        update.version,
        started.elapsed().as_millis()
    );
    app.restart()
}

/// How much of the package arrived: a signature check fails on a short or empty
/// download too, and that is the server's or the network's fault, not a forgery.
#[derive(Default, Clone, Copy)]
struct Received {
    bytes: u64,
    total: Option<u64>,
}

impl Received {
    fn explain(self, e: UpdaterError) -> AppError {
        let verified = matches!(
            e,
            UpdaterError::Minisign(_) | UpdaterError::SignedVersionMismatch { .. } | UpdaterError::MissingSignedVersion
        );
        let short = self.total.is_some_and(|t| self.bytes < t);
        match e {
            _ if verified && self.bytes == 0 => AppError::update(
                "update_download_empty",
                "The update server sent an empty file instead of the package.",
            ),
            UpdaterError::Reqwest(_) | UpdaterError::Minisign(_) if short => AppError::update(
                "update_download_incomplete",
                format!(
                    "The download stopped after {} of {} bytes: {e}",
                    self.bytes,
                    self.total.unwrap_or_default()
                ),
            ),
            e => coded(e),
        }
    }
}

/// A signed package can still be damaged (the publisher built or uploaded it wrong):
/// `dpkg-deb --contents` reads all of a .deb, so dpkg is never handed a broken one
/// (which would end as "Failed to install package", like a refused password).
#[cfg(target_os = "linux")]
fn check_package(bytes: &[u8]) -> Result<(), AppError> {
    const DEB_MAGIC: &[u8] = b"!<arch>\ndebian-binary";
    if !bytes.starts_with(DEB_MAGIC) {
        return Ok(()); // not a .deb: the updater checks its own formats
    }
    let broken = |why: String| AppError::update("update_package_broken", why);
    let file = tempfile::NamedTempFile::new().and_then(|mut f| std::io::Write::write_all(&mut f, bytes).map(|()| f));
    let file = file.map_err(|e| {
        AppError::update(
            "update_install_failed",
            format!("cannot write the package to a temporary file: {e}"),
        )
    })?;
    match std::process::Command::new("dpkg-deb").arg("--contents").arg(file.path()).output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(broken(format!(
            "The package is signed but damaged: dpkg-deb says {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))),
        Err(_) => Ok(()), // no dpkg-deb: nothing to check with (dpkg itself would be missing too)
    }
}

#[cfg(not(target_os = "linux"))]
fn check_package(_bytes: &[u8]) -> Result<(), AppError> {
    Ok(()) // the updater checks its own formats (.msi, .app.tar.gz)
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
        UpdaterError::InvalidUpdaterFormat | UpdaterError::BinaryNotFoundInArchive => "update_package_broken",
        UpdaterError::AuthenticationFailed => "update_not_authorized",
        _ => "update_install_failed",
    };
    AppError::update(code, e.to_string())
}
