//! The system clipboard, through tauri-plugin-clipboard-manager (registered on first
//! use, as the dialog plugin is: see picker.rs). The plugin writes it, not the page:
//! WebKitGTK lets a page write the clipboard only inside the key press, and a copied
//! block's text comes from the sidecar after it.

use crate::error::{Error, Result};
use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_clipboard_manager::{Clipboard, ClipboardExt};

/// Put `text` on the clipboard.
pub(crate) fn write_text<R: Runtime>(app: &AppHandle<R>, text: String) -> Result<()> {
    if app.try_state::<Clipboard<R>>().is_none() {
        app.plugin(tauri_plugin_clipboard_manager::init())?;
    }
    app.clipboard().write_text(text).map_err(|e| Error::Clipboard(e.to_string()))
}
