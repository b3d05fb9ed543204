//! Windows: one per file, each with its own menu and buckaroo session.

use crate::{cli, menu, temporary};
use buckaroo_tauri::{BuckarooExt, LoadMode};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
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

/// How the command line asked for its files' windows.
#[derive(Debug, Default, Clone)]
pub struct Opening {
    /// Instead of the file's name.
    pub title: Option<String>,
    /// The files are `show()`'s temporary copies (see temporary.rs).
    pub temporary: bool,
}

impl From<&cli::Cli> for Opening {
    fn from(cli: &cli::Cli) -> Self {
        Self {
            title: cli.title.clone(),
            temporary: cli.temporary,
        }
    }
}

/// Window label → (the file it was opened with, the title asked for it).
#[derive(Default)]
pub struct Titles(Mutex<HashMap<String, (PathBuf, String)>>);

impl Titles {
    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, (PathBuf, String)>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn named(name: &str) -> String {
    format!("{name} — buckaroo")
}

fn title(file: Option<&Path>) -> String {
    match file.and_then(Path::file_name) {
        Some(name) => named(&name.to_string_lossy()),
        None => "buckaroo".into(),
    }
}

/// The title for `path` showing in the window `label`: the one asked for when the
/// window opened with it, else the file's name.
pub fn title_for<R: Runtime>(app: &AppHandle<R>, label: &str, path: &Path) -> String {
    match app.state::<Titles>().map().get(label) {
        Some((opened, asked)) if opened == path => named(asked),
        _ => title(Some(path)),
    }
}

/// The window `label` closed.
pub fn closed<R: Runtime>(app: &AppHandle<R>, label: &str) {
    app.state::<Titles>().map().remove(label);
    temporary::release(app, label);
}

/// A new window; with `file`, it loads that file as soon as its page attaches.
pub fn open<R: Runtime>(app: &AppHandle<R>, file: Option<&Path>, how: &Opening) -> tauri::Result<WebviewWindow<R>> {
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
        if let Some(asked) = &how.title {
            config.title = named(asked);
            app.state::<Titles>().map().insert(label.clone(), (f.to_path_buf(), asked.clone()));
        }
        if how.temporary {
            if let Err(why) = temporary::claim(app, &label, f) {
                log::warn!("--temporary {}: {why}; opened as an ordinary file", f.display());
            }
        }
        app.buckaroo().load_on_attach(&label, f, LoadMode::Buckaroo);
    }
    WebviewWindowBuilder::from_config(app, &config)?
        .menu(menu::for_window(app, &label)?)
        .build()
}

/// Each file in its own window; no files: one empty window.
pub fn open_all<R: Runtime>(app: &AppHandle<R>, files: &[impl AsRef<Path>], how: &Opening) -> tauri::Result<()> {
    if files.is_empty() {
        open(app, None, how)?;
    }
    for f in files {
        open(app, Some(f.as_ref()), how)?;
    }
    Ok(())
}

/// Another launch handed over its command line: its files open here; without
/// files, a window of this app comes to the front.
pub fn second_launch<R: Runtime>(app: &AppHandle<R>, argv: Vec<String>, cwd: String) {
    let version = app.package_info().version.to_string();
    let (files, how) = match cli::parse(&argv, &version) {
        Ok(cli) => (cli.files_from(Path::new(&cwd)), Opening::from(&cli)),
        Err(e) => return log::warn!("second launch: {e}"),
    };
    log::info!("second launch: {} file(s) from {cwd}", files.len());
    let result = match (files.is_empty(), app.webview_windows().into_values().next()) {
        (true, Some(w)) => w.set_focus(),
        _ => open_all(app, &files, &how),
    };
    if let Err(e) = result {
        log::error!("second launch: {e}");
    }
}
