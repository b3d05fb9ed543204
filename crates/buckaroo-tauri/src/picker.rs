//! The native open dialog, through tauri-plugin-dialog.
//!
//! The dialog plugin is registered on first use, not in this plugin's `setup`: Tauri
//! runs every plugin's `setup` (and `on_event`) while holding its plugin store's lock,
//! and `AppHandle::plugin` takes that same lock, so registering from there deadlocks.
//! A host that registers the dialog plugin itself keeps its own.

use crate::error::{Error, Result};
use std::path::PathBuf;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_dialog::{Dialog, DialogExt};

/// Ask the user for a table file, the dialog on top of window `label`; `None` if cancelled.
pub(crate) async fn pick_table_file<R: Runtime>(app: &AppHandle<R>, label: &str) -> Result<Option<PathBuf>> {
    ensure_dialog_plugin(app)?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let mut dialog = app.dialog().file().add_filter("Tables", &["parquet", "parq", "csv", "tsv", "json"]);
    if let Some(window) = app.get_webview_window(label) {
        dialog = dialog.set_parent(&window);
    }
    dialog.pick_file(move |p| {
        let _ = tx.send(p);
    });
    let picked = rx.await.map_err(|_| Error::Dialog("dialog closed without an answer".into()))?;
    picked.map(|p| p.into_path().map_err(|e| Error::Dialog(e.to_string()))).transpose()
}

/// Register tauri-plugin-dialog unless the host did.
fn ensure_dialog_plugin<R: Runtime>(app: &AppHandle<R>) -> Result<()> {
    if app.try_state::<Dialog<R>>().is_none() {
        app.plugin(tauri_plugin_dialog::init())?;
    }
    Ok(())
}
