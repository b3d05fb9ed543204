//! Files that change under an open window. Each file a window shows is watched through
//! its folder (`notify`: inotify on Linux), since writers replace a file by renaming a
//! new one over it (pandas, polars, pyarrow) and a watch on the old inode would hear
//! nothing. A change is reported once it has settled ([`SETTLE`]): rewritten, truncated,
//! replaced or deleted. No Tauri types here.

use notify::{RecommendedWatcher, RecursiveMode, Watcher};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::mpsc;

/// Quiet this long after the last event before the file is looked at: a writer's
/// many writes are one change, and a half-written file is not reported mid-write.
pub(crate) const SETTLE: Duration = Duration::from_millis(300);

/// What a window is told (`buckaroo_tauri_file_changed` on its Channel).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileChange {
    /// The file (or folder) as the window loaded it.
    pub path: String,
    /// `modified` (rewritten, truncated or replaced) or `deleted`.
    pub change: &'static str,
}

/// A file's identity: size, mtime and inode (`None`: gone). A folder (a Parquet
/// dataset) is the identities of its files.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Stamp {
    Gone,
    File(u64, i128, u64),
    Folder(Vec<(PathBuf, u64, i128)>),
}

fn stamp(path: &Path) -> Stamp {
    let Ok(meta) = std::fs::metadata(path) else { return Stamp::Gone };
    let mtime = |m: &std::fs::Metadata| {
        m.modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i128)
    };
    if meta.is_dir() {
        let mut files: Vec<_> = std::fs::read_dir(path)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| Some((e.path(), e.metadata().ok()?)))
            .map(|(p, m)| (p, m.len(), mtime(&m)))
            .collect();
        files.sort();
        return Stamp::Folder(files);
    }
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let ino = 0;
    Stamp::File(meta.len(), mtime(&meta), ino)
}

struct Watched {
    /// What the windows loaded (or were last told about).
    stamp: Stamp,
    windows: HashSet<String>,
}

/// The watched files of every window, and the watcher on their folders.
pub(crate) struct FileWatch {
    watcher: Mutex<Option<RecommendedWatcher>>,
    files: Mutex<HashMap<PathBuf, Watched>>,
    /// Each window's files (a compare shows two).
    by_window: Mutex<HashMap<String, Vec<PathBuf>>>,
    events: mpsc::UnboundedSender<PathBuf>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl FileWatch {
    /// A watch whose raw events (paths touched) come out of the returned receiver, for
    /// [`settle`](Self::settle).
    pub fn new() -> (Self, mpsc::UnboundedReceiver<PathBuf>) {
        let (events, rx) = mpsc::unbounded_channel();
        let watch = Self {
            watcher: Mutex::new(None),
            files: Mutex::default(),
            by_window: Mutex::default(),
            events,
        };
        (watch, rx)
    }

    /// Window `label` now shows `paths` (as loaded): watch them instead of what it showed.
    pub fn show(&self, label: &str, paths: &[PathBuf]) {
        self.forget(label);
        for path in paths {
            let path = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            let mut files = lock(&self.files);
            let watched = files.entry(path.clone()).or_insert_with(|| Watched {
                stamp: stamp(&path),
                windows: HashSet::new(),
            });
            watched.stamp = stamp(&path); // a reload: what it shows now
            watched.windows.insert(label.to_string());
            drop(files);
            self.watch_folder(&path);
            lock(&self.by_window).entry(label.to_string()).or_default().push(path);
        }
    }

    /// Window `label` closed (or shows something else).
    pub fn forget(&self, label: &str) {
        let Some(paths) = lock(&self.by_window).remove(label) else { return };
        let mut files = lock(&self.files);
        for path in paths {
            if let Some(w) = files.get_mut(&path) {
                w.windows.remove(label);
                if w.windows.is_empty() {
                    files.remove(&path);
                    if let Some(watcher) = lock(&self.watcher).as_mut() {
                        let _ = watcher.unwatch(&watched_folder(&path));
                    }
                }
            }
        }
    }

    fn watch_folder(&self, path: &Path) {
        let mut slot = lock(&self.watcher);
        if slot.is_none() {
            let events = self.events.clone();
            let made = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
                if let Ok(event) = res {
                    for p in event.paths {
                        let _ = events.send(p);
                    }
                }
            });
            match made {
                Ok(w) => *slot = Some(w),
                Err(e) => return log::warn!("[buckaroo-tauri] files cannot be watched for changes: {e}"),
            }
        }
        let folder = watched_folder(path);
        if let Some(Err(e)) = slot.as_mut().map(|w| w.watch(&folder, RecursiveMode::NonRecursive)) {
            log::warn!("[buckaroo-tauri] {} cannot be watched for changes: {e}", folder.display());
        }
    }

    /// The watched file (or dataset folder) an event path belongs to.
    fn owner(&self, touched: &Path) -> Option<PathBuf> {
        let files = lock(&self.files);
        files
            .keys()
            .find(|f| touched == f.as_path() || touched.parent() == Some(f.as_path()))
            .cloned()
    }

    /// Turn raw events into settled changes: `report(label, change)` for each window of
    /// a file whose identity differs from what it loaded, [`SETTLE`] after its last
    /// event. Runs until the watch is dropped.
    pub async fn settle(&self, mut rx: mpsc::UnboundedReceiver<PathBuf>, report: impl Fn(&str, &FileChange)) {
        let mut touched: HashSet<PathBuf> = HashSet::new();
        loop {
            let next = if touched.is_empty() {
                rx.recv().await
            } else {
                match tokio::time::timeout(SETTLE, rx.recv()).await {
                    Ok(p) => p,
                    Err(_) => {
                        for path in touched.drain() {
                            self.look_at(&path, &report);
                        }
                        continue;
                    }
                }
            };
            let Some(p) = next else { return };
            if let Some(owner) = self.owner(&p) {
                touched.insert(owner);
            }
        }
    }

    fn look_at(&self, path: &Path, report: &impl Fn(&str, &FileChange)) {
        let now = stamp(path);
        let windows = {
            let mut files = lock(&self.files);
            let Some(w) = files.get_mut(path) else { return };
            if w.stamp == now {
                return; // touched, not changed (read, or written back the same)
            }
            w.stamp = now.clone();
            w.windows.iter().cloned().collect::<Vec<_>>()
        };
        let change = FileChange {
            path: path.display().to_string(),
            change: if now == Stamp::Gone { "deleted" } else { "modified" },
        };
        log::info!("[buckaroo-tauri] {} {} on disk", change.path, change.change);
        for label in windows {
            report(&label, &change);
        }
    }
}

/// The folder watched for `path`: its parent (a file is replaced by a rename there), or
/// itself for a dataset folder.
fn watched_folder(path: &Path) -> PathBuf {
    if path.is_dir() {
        return path.to_path_buf();
    }
    path.parent().map_or_else(|| path.to_path_buf(), Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    async fn next_change(rx: &mut mpsc::UnboundedReceiver<(String, FileChange)>) -> (String, FileChange) {
        tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("a change within 5 s")
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_rename_over_the_file_an_in_place_rewrite_and_a_delete_are_each_one_change() {
        let dir = std::env::temp_dir().join(format!("buckaroo-tauri-watch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("sales.csv");
        std::fs::write(&file, "a\n1\n").unwrap();
        let (watch, raw) = FileWatch::new();
        let watch = Arc::new(watch);
        let (tx, mut changes) = mpsc::unbounded_channel();
        let w = watch.clone();
        tokio::spawn(async move { w.settle(raw, move |label, c| drop(tx.send((label.to_string(), c.clone())))).await });
        watch.show("main", std::slice::from_ref(&file));
        std::fs::write(dir.join("other.csv"), "x").unwrap(); // a neighbour: nothing
        let tmp = dir.join(".sales.csv.tmp");
        std::fs::write(&tmp, "a\n1\n2\n").unwrap();
        std::fs::rename(&tmp, &file).unwrap(); // what pandas/pyarrow writers do
        let (label, change) = next_change(&mut changes).await;
        assert_eq!((label.as_str(), change.change), ("main", "modified"));
        for n in 0..20 {
            std::fs::write(&file, format!("a\n{n}\n")).unwrap(); // many writes, one change
        }
        assert_eq!(next_change(&mut changes).await.1.change, "modified");
        std::fs::remove_file(&file).unwrap();
        assert_eq!(next_change(&mut changes).await.1.change, "deleted");
        assert!(tokio::time::timeout(SETTLE * 3, changes.recv()).await.is_err(), "nothing more");
        watch.forget("main");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
