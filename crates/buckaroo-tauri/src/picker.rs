//! The native open dialogs, through tauri-plugin-dialog.
//!
//! The dialog plugin is registered on first use, not in this plugin's `setup`: Tauri
//! runs every plugin's `setup` (and `on_event`) while holding its plugin store's lock,
//! and `AppHandle::plugin` takes that same lock, so registering from there deadlocks.
//! A host that registers the dialog plugin itself keeps its own.

use crate::error::{Error, Result};
use std::path::PathBuf;
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_dialog::{Dialog, DialogExt, FileDialogBuilder, FilePath};
use tokio::sync::oneshot;

/// Ask the user for a table file, the dialog on top of window `label`; `None` if cancelled.
pub(crate) async fn pick_table_file<R: Runtime>(app: &AppHandle<R>, label: &str) -> Result<Option<PathBuf>> {
    ensure_dialog_plugin(app)?;
    let dialog = app
        .dialog()
        .file()
        .add_filter("Tables", &["parquet", "parq", "csv", "tsv", "json", "jsonl", "ndjson"])
        .add_filter("Databases (DuckDB, SQLite)", &["duckdb", "ddb", "sqlite", "sqlite3", "db"]);
    ask(app, label, dialog, |d, tx| {
        d.pick_file(move |p| {
            let _ = tx.send(p);
        })
    })
    .await
}

/// Ask the user for a xorq build directory (what `xorq build` printed); `None` if cancelled.
pub(crate) async fn pick_build_dir<R: Runtime>(app: &AppHandle<R>, label: &str) -> Result<Option<PathBuf>> {
    ensure_dialog_plugin(app)?;
    let mut dialog = app.dialog().file().set_title("Open xorq build");
    // GTK opens on "Recent", which lists files only: no folder could be chosen there.
    if let Ok(home) = app.path().home_dir() {
        dialog = dialog.set_directory(home);
    }
    ask(app, label, dialog, |d, tx| {
        d.pick_folder(move |p| {
            let _ = tx.send(p);
        })
    })
    .await
}

/// Ask the user where to save an export (CSV, TSV, Parquet, JSON lines); `None` if cancelled.
pub(crate) async fn pick_export_path<R: Runtime>(app: &AppHandle<R>, label: &str, default_name: Option<&str>) -> Result<Option<PathBuf>> {
    ensure_dialog_plugin(app)?;
    let mut dialog = app.dialog().file().set_title("Export");
    for (name, extensions) in crate::export::DIALOG_FILTERS {
        dialog = dialog.add_filter(*name, extensions);
    }
    if let Some(name) = default_name {
        dialog = dialog.set_file_name(name);
    }
    ask(app, label, dialog, |d, tx| {
        d.save_file(move |p| {
            let _ = tx.send(p);
        })
    })
    .await
}

/// Show `dialog` on top of window `label` (`show` opens it, handing the answer to the
/// sender) and wait for the user.
async fn ask<R: Runtime>(
    app: &AppHandle<R>,
    label: &str,
    mut dialog: FileDialogBuilder<R>,
    show: impl FnOnce(FileDialogBuilder<R>, oneshot::Sender<Option<FilePath>>),
) -> Result<Option<PathBuf>> {
    if let Some(window) = app.get_webview_window(label) {
        dialog = dialog.set_parent(&window);
    }
    let (tx, rx) = oneshot::channel();
    show(dialog, tx);
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
