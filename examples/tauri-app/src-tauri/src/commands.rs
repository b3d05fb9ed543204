//! The app's own commands (the plugin's are `plugin:buckaroo-tauri|…`).

use crate::error::AppError;
use crate::updates::{self, Pending, UpdateInfo};
use crate::{menu, recent, windows};
use buckaroo_tauri::{BuckarooExt, Status};
use serde::Serialize;
use std::path::PathBuf;
use tauri::{AppHandle, Runtime, State, WebviewWindow};

/// Help › About: what this app is made of.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct About {
    pub name: String,
    pub version: String,
    pub plugin: &'static str,
    pub tauri: &'static str,
    /// Unknown until the sidecar's probe ran; `None` with a probe: not installed.
    pub buckaroo: Option<String>,
    pub python: Option<String>,
    pub python_path: Option<String>,
    /// Whether the interpreter was probed yet (else the fields above are unknown).
    pub probed: bool,
    /// Why the sidecar failed (`code: message`), while it is failed.
    pub problem: Option<String>,
}

#[tauri::command]
pub fn app_about<R: Runtime>(app: AppHandle<R>) -> About {
    let sup = app.buckaroo().supervisor().clone();
    let probe = sup.probe_report();
    let (ready_version, problem) = match sup.status() {
        Status::Ready { buckaroo_version, .. } => (buckaroo_version, None),
        Status::Failed { error } => (None, Some(format!("{}: {}", error.code, error.message))),
        _ => (None, None),
    };
    About {
        name: app.package_info().name.clone(),
        version: app.package_info().version.to_string(),
        plugin: buckaroo_tauri::VERSION,
        tauri: tauri::VERSION,
        buckaroo: ready_version.or_else(|| probe.as_ref().and_then(|p| p.buckaroo.clone())),
        python: probe.as_ref().map(|p| p.python_version.clone()),
        probed: probe.is_some(),
        python_path: probe.map(|p| p.python),
        problem,
    }
}

/// The toolbar's New window (the menu's goes straight to `windows::open`).
#[tauri::command]
pub fn app_new_window<R: Runtime>(app: AppHandle<R>) -> Result<String, AppError> {
    Ok(windows::open(&app, None, &Default::default())?.label().to_string())
}

/// A file is showing in this window: its title names it (the title, for the page's
/// `document.title`), Open Recent lists it (unless it is a temporary copy, gone when
/// the window closes).
#[tauri::command]
pub fn app_opened<R: Runtime>(app: AppHandle<R>, window: WebviewWindow<R>, path: PathBuf) -> Result<String, AppError> {
    let title = windows::title_for(&app, window.label(), &path);
    window.set_title(&title)?;
    if !windows::shows_temporary(&app, window.label(), &path) {
        menu::refresh_recent(&app, &recent::add(&app, &path));
    }
    Ok(title)
}

/// The page saved or forgot a database connection: every window's File › Saved
/// Connections lists them again.
#[tauri::command]
pub fn app_saved_connections_changed<R: Runtime>(app: AppHandle<R>) {
    menu::refresh_saved(&app);
}

/// Help › Check for Updates…
#[tauri::command]
pub async fn app_check_update<R: Runtime>(app: AppHandle<R>, pending: State<'_, Pending>) -> Result<UpdateInfo, AppError> {
    updates::check(&app, &pending).await
}

/// Cancel the update check or download under way (an install that dpkg runs goes on).
#[tauri::command]
pub fn app_cancel_update(pending: State<'_, Pending>) {
    pending.cancel();
}

/// "Install and relaunch" after a check found one.
#[tauri::command]
pub async fn app_install_update<R: Runtime>(
    app: AppHandle<R>,
    window: WebviewWindow<R>,
    pending: State<'_, Pending>,
) -> Result<(), AppError> {
    updates::install(&app, &window, &pending).await
}
