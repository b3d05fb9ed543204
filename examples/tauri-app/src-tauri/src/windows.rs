//! Windows: one per file, each with its own menu and buckaroo session.

use crate::{cli, menu};
use buckaroo_tauri::{BuckarooExt, LoadMode};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use tauri::{AppHandle, Manager, Runtime, WebviewWindow, WebviewWindowBuilder};

/// The window tauri.conf.json describes; every window is built from it.
const TEMPLATE: &str = "main";
static NEXT: AtomicU32 = AtomicU32::new(1);

/// `main` first, then `w2`, `w3`… Labels are never reused: the window-state plugin
/// keys sizes and positions by label.
fn next_label() -> String {
    match NEXT.fetch_add(1, Ordering::SeqCst) {
        1 => TEMPLATE.into(),
        n => format!("w{n}"),
    }
}

/// The file joins the loads' scope: it was named on the command line or chosen in a menu.
pub fn allow<R: Runtime>(app: &AppHandle<R>, path: &Path) {
    app.buckaroo().allow_file(path);
}

fn title(file: Option<&Path>) -> String {
    match file.and_then(Path::file_name) {
        Some(name) => format!("{} — buckaroo", name.to_string_lossy()),
        None => "buckaroo".into(),
    }
}

/// A new window; with `file`, it loads that file as soon as its page attaches.
pub fn open<R: Runtime>(app: &AppHandle<R>, file: Option<&Path>) -> tauri::Result<WebviewWindow<R>> {
    let label = next_label();
    let mut config = app
        .config()
        .app
        .windows
        .iter()
        .find(|w| w.label == TEMPLATE)
        .cloned()
        .ok_or_else(|| tauri::Error::WindowNotFound)?;
    config.label = label.clone();
    config.title = title(file);
    if let Some(f) = file {
        app.buckaroo().load_on_attach(&label, f, LoadMode::Buckaroo);
    }
    WebviewWindowBuilder::from_config(app, &config)?
        .menu(menu::for_window(app, &label)?)
        .build()
}

/// Each file in its own window; no files: one empty window.
pub fn open_all<R: Runtime>(app: &AppHandle<R>, files: &[impl AsRef<Path>]) -> tauri::Result<()> {
    if files.is_empty() {
        open(app, None)?;
    }
    for f in files {
        open(app, Some(f.as_ref()))?;
    }
    Ok(())
}

/// Another launch handed over its command line: its files open here; without
/// files, a window of this app comes to the front.
pub fn second_launch<R: Runtime>(app: &AppHandle<R>, argv: Vec<String>, cwd: String) {
    let version = app.package_info().version.to_string();
    let files = match cli::parse(&argv, &version) {
        Ok(cli) => cli.files_from(Path::new(&cwd)),
        Err(e) => return log::warn!("second launch: {e}"),
    };
    log::info!("second launch: {} file(s) from {cwd}", files.len());
    let result = match (files.is_empty(), app.webview_windows().into_values().next()) {
        (true, Some(w)) => w.set_focus(),
        _ => open_all(app, &files),
    };
    if let Err(e) = result {
        log::error!("second launch: {e}");
    }
}
