//! Recent files, newest first, kept across launches in the app's data folder
//! (tauri-plugin-store, `recent.json`).

use std::path::{Path, PathBuf};
use tauri::{AppHandle, Runtime};
use tauri_plugin_store::StoreExt;

const STORE: &str = "recent.json";
const KEY: &str = "files";
/// How many the Open Recent menu lists.
pub const MAX: usize = 10;

/// The list, newest first.
pub fn list<R: Runtime>(app: &AppHandle<R>) -> Vec<PathBuf> {
    let Ok(store) = app.store(STORE) else { return Vec::new() };
    store
        .get(KEY)
        .and_then(|v| serde_json::from_value::<Vec<PathBuf>>(v).ok())
        .unwrap_or_default()
}

/// `path` was opened: it goes first; the list is saved.
pub fn add<R: Runtime>(app: &AppHandle<R>, path: &Path) -> Vec<PathBuf> {
    save(app, pushed(list(app), path))
}

/// Forget them all.
pub fn clear<R: Runtime>(app: &AppHandle<R>) -> Vec<PathBuf> {
    save(app, Vec::new())
}

fn save<R: Runtime>(app: &AppHandle<R>, files: Vec<PathBuf>) -> Vec<PathBuf> {
    match app.store(STORE) {
        Ok(store) => {
            store.set(KEY, serde_json::json!(files));
            if let Err(e) = store.save() {
                log::warn!("recent files not saved: {e}");
            }
        }
        Err(e) => log::warn!("recent files store unavailable: {e}"),
    }
    files
}

/// `path` first, no duplicates, at most [`MAX`].
fn pushed(mut files: Vec<PathBuf>, path: &Path) -> Vec<PathBuf> {
    files.retain(|f| f != path);
    files.insert(0, path.to_path_buf());
    files.truncate(MAX);
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_first_without_duplicates_and_bounded() {
        let mut files = Vec::new();
        for i in 0..12 {
            files = pushed(files, Path::new(&format!("/d/{i}.csv")));
        }
        files = pushed(files, Path::new("/d/5.csv"));
        assert_eq!(files.len(), MAX);
        assert_eq!(files[0], PathBuf::from("/d/5.csv"));
        assert_eq!(files[1], PathBuf::from("/d/11.csv"));
        assert_eq!(files.iter().filter(|f| f.ends_with("5.csv")).count(), 1);
    }
}
