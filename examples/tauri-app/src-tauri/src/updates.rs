//! "Check for Updates…": tauri-plugin-updater, asked only when the user asks.
//! The public key and the endpoints come from tauri.conf.json (`plugins.updater`);
//! `BUCKAROO_UPDATE_ENDPOINT` replaces the endpoints (a staging or test server:
//! the key still decides what installs).

use crate::error::AppError;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tauri::{AppHandle, Emitter, Runtime, Url, WebviewWindow};
use tauri_plugin_updater::{Error as UpdaterError, Update, UpdaterExt};
use tokio::sync::watch;

/// The environment variable that points the check at another manifest.
pub const ENDPOINT_ENV: &str = "BUCKAROO_UPDATE_ENDPOINT";
/// Set by a launcher whose package manager updates this copy (the Python wheel's:
/// `pip install -U buckaroo-desktop`); the check then says so instead of asking.
pub const UPDATED_BY_ENV: &str = "BUCKAROO_UPDATED_BY";
/// Download progress, to the window that asked: `{downloaded, total, installing}`.
pub const PROGRESS_EVENT: &str = "app:update-progress";
/// A download that gets no byte for this long has stalled (a server or a network that
/// hangs mid-body): it ends with `update_stalled` instead of waiting forever.
pub const STALL_TIMEOUT: Duration = Duration::from_secs(15);
/// The manifest is a few hundred bytes: a check that takes longer is not coming.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(30);

/// The update found by the last check, kept for "Install", and the Cancel of the
/// check or download under way.
pub struct Pending {
    update: Mutex<Option<Update>>,
    /// Bumped by Cancel, and by a new check (a download is never left running behind it).
    cancel: watch::Sender<u64>,
}

impl Default for Pending {
    fn default() -> Self {
        Self {
            update: Mutex::new(None),
            cancel: watch::channel(0).0,
        }
    }
}

impl Pending {
    /// End the check or download under way, if any (`update_cancelled`).
    pub fn cancel(&self) {
        self.cancel.send_modify(|n| *n += 1);
    }

    /// Resolves at the next [`cancel`](Self::cancel) after this call.
    fn cancelled(&self) -> impl std::future::Future<Output = ()> {
        let mut rx = self.cancel.subscribe();
        async move {
            let _ = rx.changed().await;
        }
    }

    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Update>> {
        self.update.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn cancelled_error() -> AppError {
    AppError::update("update_cancelled", "The update was cancelled; nothing was installed.")
}

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
    /// Downloaded and verified: dpkg is installing it (no Cancel from here on).
    installing: bool,
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
    pending.cancel(); // a download still running ends: checking again never hides it
    let cancelled = pending.cancelled();
    let updater = builder.build().map_err(coded)?;
    let checking = tokio::time::timeout(CHECK_TIMEOUT, updater.check());
    let update = tokio::select! {
        r = checking => r.map_err(|_| AppError::update(
            "update_unreachable",
            format!("The update server did not answer within {} s.", CHECK_TIMEOUT.as_secs()),
        ))?.map_err(coded)?,
        () = cancelled => return Err(cancelled_error()),
    };
    let info = UpdateInfo {
        current: app.package_info().version.to_string(),
        available: update.as_ref().map(|u| u.version.clone()),
        notes: update.as_ref().and_then(|u| u.body.clone()),
    };
    *pending.slot() = update;
    Ok(info)
}

/// Download, verify and install the update the last check found, then relaunch. A
/// stalled or cancelled download keeps the update for another Install.
pub async fn install<R: Runtime>(app: &AppHandle<R>, window: &WebviewWindow<R>, pending: &Pending) -> Result<(), AppError> {
    let update = pending.slot().take();
    let update = update.ok_or_else(|| AppError::update("update_none_pending", "Check for updates first."))?;
    let started = Instant::now();
    let emit = |p: Progress| {
        let _ = window.emit_to(window.label(), PROGRESS_EVENT, p);
    };
    let bytes = match download(&update, pending, &emit).await {
        Ok(bytes) => bytes,
        Err(e) => {
            *pending.slot() = Some(update);
            return Err(e);
        }
    };
    check_package(&bytes)?;
    emit(Progress {
        downloaded: bytes.len() as u64,
        total: Some(bytes.len() as u64),
        installing: true,
    });
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

/// The verified package, unless the download stalls ([`STALL_TIMEOUT`] without a
/// byte), is cancelled, or fails.
async fn download(update: &Update, pending: &Pending, emit: &(dyn Fn(Progress) + Sync)) -> Result<Vec<u8>, AppError> {
    let cancelled = pending.cancelled();
    let got = Received::new();
    let downloading = update.download(
        |chunk, total| {
            let bytes = got.add(chunk as u64, total);
            emit(Progress {
                downloaded: bytes,
                total,
                installing: false,
            });
        },
        || {},
    );
    tokio::select! {
        r = downloading => r.map_err(|e| got.explain(e)),
        () = got.stalled() => Err(AppError::update(
            "update_stalled",
            format!(
                "The download of {} stopped: no data for {} s, after {}.",
                update.version,
                STALL_TIMEOUT.as_secs(),
                got.so_far()
            ),
        )),
        () = cancelled => Err(cancelled_error()),
    }
}

/// How much of the package arrived, and when the last of it did: a signature check
/// fails on a short or empty download too, and that is the server's or the network's
/// fault, not a forgery.
struct Received {
    start: Instant,
    bytes: AtomicU64,
    /// `u64::MAX` while the server has not said.
    total: AtomicU64,
    /// Milliseconds after `start`.
    last_byte_ms: AtomicU64,
}

impl Received {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            bytes: AtomicU64::new(0),
            total: AtomicU64::new(u64::MAX),
            last_byte_ms: AtomicU64::new(0),
        }
    }

    fn add(&self, chunk: u64, total: Option<u64>) -> u64 {
        self.total.store(total.unwrap_or(u64::MAX), Ordering::Relaxed);
        self.last_byte_ms.store(self.start.elapsed().as_millis() as u64, Ordering::Relaxed);
        self.bytes.fetch_add(chunk, Ordering::Relaxed) + chunk
    }

    fn total(&self) -> Option<u64> {
        Some(self.total.load(Ordering::Relaxed)).filter(|t| *t != u64::MAX)
    }

    fn so_far(&self) -> String {
        let bytes = self.bytes.load(Ordering::Relaxed);
        match self.total() {
            Some(t) => format!("{bytes} of {t} bytes"),
            None => format!("{bytes} bytes"),
        }
    }

    /// Resolves once no byte came for [`STALL_TIMEOUT`] (the first one included).
    async fn stalled(&self) {
        loop {
            let idle = self
                .start
                .elapsed()
                .saturating_sub(Duration::from_millis(self.last_byte_ms.load(Ordering::Relaxed)));
            if idle >= STALL_TIMEOUT {
                return;
            }
            tokio::time::sleep((STALL_TIMEOUT - idle).min(Duration::from_secs(1))).await;
        }
    }

    fn explain(&self, e: UpdaterError) -> AppError {
        let verified = matches!(
            e,
            UpdaterError::Minisign(_) | UpdaterError::SignedVersionMismatch { .. } | UpdaterError::MissingSignedVersion
        );
        let bytes = self.bytes.load(Ordering::Relaxed);
        let short = self.total().is_some_and(|t| bytes < t);
        match e {
            _ if verified && bytes == 0 => AppError::update(
                "update_download_empty",
                "The update server sent an empty file instead of the package.",
            ),
            UpdaterError::Reqwest(_) | UpdaterError::Minisign(_) if short => AppError::update(
                "update_download_incomplete",
                format!("The download stopped after {}: {e}", self.so_far()),
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
