//! Where an export may write: only a path the save dialog returned to that window
//! (once), or a file directly in a folder the host granted
//! ([`crate::BuckarooConfig::with_export_dir`]). A page cannot make the plugin write
//! anywhere else. No Tauri types here.

use crate::error::{Error, Result};
use crate::scope::normalize;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// The formats the launcher writes, by the target's extension.
pub const FORMATS: &[(&str, &str)] = &[
    ("csv", "csv"),
    ("tsv", "tsv"),
    ("tab", "tsv"),
    ("parquet", "parquet"),
    ("pq", "parquet"),
    ("jsonl", "jsonl"),
    ("ndjson", "jsonl"),
    ("xlsx", "xlsx"),
];

/// The save dialog's filters: (name, extensions), the first the default.
pub const DIALOG_FILTERS: &[(&str, &[&str])] = &[
    ("CSV", &["csv"]),
    ("TSV", &["tsv"]),
    ("Parquet", &["parquet"]),
    ("JSON lines", &["jsonl"]),
    ("Excel", &["xlsx"]),
];

/// The export format of `path`, by its extension.
pub fn format_of(path: &Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    FORMATS.iter().find(|(e, _)| *e == ext).map(|(_, f)| *f)
}

/// The paths each window may write an export to.
#[derive(Debug, Default)]
pub struct ExportGrants {
    dirs: Vec<PathBuf>,
    picked: Mutex<HashMap<String, HashSet<PathBuf>>>,
}

impl ExportGrants {
    pub fn new(dirs: &[PathBuf]) -> Self {
        Self {
            dirs: dirs.iter().map(|d| normalize(d)).collect(),
            picked: Mutex::default(),
        }
    }

    /// The user picked `path` in window `label`'s save dialog.
    pub fn grant(&self, label: &str, path: &Path) {
        let mut picked = self.picked.lock().unwrap_or_else(|e| e.into_inner());
        picked.entry(label.to_string()).or_default().insert(normalize(path));
    }

    /// The normalised `path` if window `label` may write it: picked there (the grant is
    /// used up), or directly inside a granted folder. Otherwise `export_path_refused`.
    pub fn take(&self, label: &str, path: &Path) -> Result<PathBuf> {
        let refused = || Error::ExportPathRefused(path.to_path_buf());
        if !path.is_absolute() {
            return Err(refused());
        }
        let p = normalize(path);
        let mut picked = self.picked.lock().unwrap_or_else(|e| e.into_inner());
        if picked.get_mut(label).is_some_and(|set| set.remove(&p)) {
            return Ok(p);
        }
        // Directly inside: a subfolder would be a page choosing where to create files.
        let in_dir = p.parent().is_some_and(|parent| self.dirs.iter().any(|d| d == parent));
        in_dir.then_some(p).ok_or_else(refused)
    }

    /// Window `label` closed: its unused grants go.
    pub fn forget(&self, label: &str) {
        self.picked.lock().unwrap_or_else(|e| e.into_inner()).remove(label);
    }
}

/// A new name beside `target` for the export being written (renamed to `target` at
/// the end): hidden, and unique in this process.
pub fn part_path(target: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    target.with_file_name(format!(".{name}.{}-{n}.part", std::process::id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("buckaroo-export-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn only_a_picked_path_of_that_window_is_written_and_only_once() {
        let dir = scratch("picked");
        let grants = ExportGrants::new(&[]);
        let target = dir.join("out.csv");
        grants.grant("main", &target);
        let else_csv = dir.join("else.csv");
        for (label, path) in [("other", target.as_path()), ("main", &else_csv), ("main", Path::new("out.csv"))] {
            let e = grants.take(label, path).unwrap_err();
            assert_eq!(e.code(), "export_path_refused", "{label} {}", path.display());
        }
        assert_eq!(grants.take("main", &target).unwrap(), normalize(&target));
        assert_eq!(grants.take("main", &target).unwrap_err().code(), "export_path_refused");
        grants.grant("main", &target);
        grants.forget("main");
        assert!(grants.take("main", &target).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_granted_folder_admits_its_files_but_not_subfolders_or_escapes() {
        let dir = scratch("granted");
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let grants = ExportGrants::new(std::slice::from_ref(&dir));
        assert!(grants.take("any", &dir.join("a.parquet")).is_ok());
        assert!(
            grants.take("any", &dir.join("a.parquet")).is_ok(),
            "a folder's grant is not used up"
        );
        for p in [dir.join("sub/a.csv"), dir.join("../a.csv"), dir.join("sub/../../a.csv")] {
            assert_eq!(grants.take("any", &p).unwrap_err().code(), "export_path_refused", "{}", p.display());
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn formats_by_extension_and_part_files_beside_the_target() {
        assert_eq!(format_of(Path::new("/d/a.CSV")), Some("csv"));
        assert_eq!(format_of(Path::new("/d/a.ndjson")), Some("jsonl"));
        assert_eq!(format_of(Path::new("/d/a.xlsx")), Some("xlsx"));
        assert_eq!(format_of(Path::new("/d/a.xls")), None);
        let part = part_path(Path::new("/d/sales.parquet"));
        assert_eq!(part.parent(), Some(Path::new("/d")));
        let name = part.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with(".sales.parquet.") && name.ends_with(".part"), "{name}");
        assert_ne!(part, part_path(Path::new("/d/sales.parquet")));
    }
}
