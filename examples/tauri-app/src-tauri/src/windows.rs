//! Windows: one per file, each with its own menu and buckaroo session.

use crate::{cli, menu, temporary};
use buckaroo_tauri::{BuckarooExt, LoadMode};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};
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

/// What a window was opened with: its file and how the command line asked for it
/// (`temporary` only once this app claimed the file, see temporary.rs).
#[derive(Debug, Clone)]
struct Record {
    path: PathBuf,
    how: Opening,
}

impl Record {
    /// The title for `path` showing in this window: the one asked for when it is still
    /// the file the window opened with, else the file's name.
    fn title_for(&self, path: &Path) -> String {
        match &self.how.title {
            Some(asked) if self.path == path => named(asked),
            _ => title(Some(path)),
        }
    }

    /// Whether `path` is the temporary copy this window owns.
    fn owns(&self, path: &Path) -> bool {
        self.how.temporary && self.path == path
    }

    /// The window is gone (or the app exits): its temporary copy goes with it.
    fn release(self) {
        if self.how.temporary {
            temporary::remove(&self.path);
        }
    }
}

/// Window label → what it was opened with, for windows opened with a file; removed
/// when the window closes ([`closed`]), the rest when the app exits ([`exiting`]).
#[derive(Default)]
pub struct Opened(Mutex<HashMap<String, Record>>);

impl Opened {
    fn map(&self) -> MutexGuard<'_, HashMap<String, Record>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(&self, label: &str) -> Option<Record> {
        self.map().get(label).cloned()
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
    match app.state::<Opened>().get(label) {
        Some(record) => record.title_for(path),
        None => title(Some(path)),
    }
}

/// Whether the window `label` shows `path` as its temporary copy.
pub fn shows_temporary<R: Runtime>(app: &AppHandle<R>, label: &str, path: &Path) -> bool {
    app.state::<Opened>().get(label).is_some_and(|r| r.owns(path))
}

/// The window `label` closed: its record goes, and its temporary copy.
pub fn closed<R: Runtime>(app: &AppHandle<R>, label: &str) {
    let record = app.state::<Opened>().map().remove(label);
    if let Some(r) = record {
        r.release();
    }
}

/// The app exits: every window's temporary copy goes.
pub fn exiting<R: Runtime>(app: &AppHandle<R>) {
    let records: Vec<Record> = app.state::<Opened>().map().drain().map(|(_, r)| r).collect();
    records.into_iter().for_each(Record::release);
}

/// What a window opened with `file` keeps: `how`, but temporary only when the file is
/// one `show()` made (it is claimed here).
fn record(file: &Path, how: &Opening) -> Record {
    let mut how = how.clone();
    if how.temporary {
        if let Err(why) = temporary::claim(file) {
            log::warn!("--temporary {}: {why}; opened as an ordinary file", file.display());
            how.temporary = false;
        }
    }
    Record {
        path: file.to_path_buf(),
        how,
    }
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
        let opened = record(f, how);
        config.title = opened.title_for(f);
        app.state::<Opened>().map().insert(label.clone(), opened);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::temporary::{tests::folder, DIR_PREFIX, OWNER_FILE};

    fn opened(path: &str, title: Option<&str>, temporary: bool) -> Record {
        let how = Opening {
            title: title.map(str::to_string),
            temporary,
        };
        Record { path: path.into(), how }
    }

    #[test]
    fn the_asked_title_names_only_the_file_the_window_opened_with() {
        let asked = opened("/d/a.parquet", Some("sales"), false);
        assert_eq!(asked.title_for(Path::new("/d/a.parquet")), "sales — buckaroo");
        assert_eq!(asked.title_for(Path::new("/d/b.csv")), "b.csv — buckaroo");
        let plain = opened("/d/a.parquet", None, false);
        assert_eq!(plain.title_for(Path::new("/d/a.parquet")), "a.parquet — buckaroo");
    }

    #[test]
    fn a_window_owns_only_the_temporary_copy_it_opened_with() {
        let temporary = opened("/t/frame.parquet", Some("df"), true);
        assert!(temporary.owns(Path::new("/t/frame.parquet")));
        assert!(!temporary.owns(Path::new("/d/other.parquet")));
        assert!(!opened("/t/frame.parquet", None, false).owns(Path::new("/t/frame.parquet")));
    }

    #[test]
    fn a_file_outside_a_private_folder_opens_as_an_ordinary_file_and_stays() {
        let file = std::env::temp_dir().join(format!("ordinary-{}.parquet", std::process::id()));
        std::fs::write(&file, b"PAR1").unwrap();
        let r = record(
            &file,
            &Opening {
                title: None,
                temporary: true,
            },
        );
        assert!(!r.how.temporary && !r.owns(&file));
        r.release();
        assert!(file.exists());
        std::fs::remove_file(&file).unwrap();
    }

    #[test]
    fn a_claimed_copy_goes_with_its_window_record_once() {
        let file = folder(&format!("{DIR_PREFIX}window-"), 0o700);
        let r = record(
            &file,
            &Opening {
                title: Some("df".into()),
                temporary: true,
            },
        );
        assert!(r.owns(&file) && file.with_file_name(OWNER_FILE).exists());
        let windows = Opened::default();
        windows.map().insert("w2".into(), r);
        assert_eq!(windows.get("w2").map(|r| r.title_for(&file)).as_deref(), Some("df — buckaroo"));
        windows.map().remove("w2").unwrap().release();
        assert!(!file.parent().unwrap().exists());
        assert!(windows.get("w2").is_none() && windows.map().remove("w2").is_none());
    }
}
