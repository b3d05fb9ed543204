//! Which files the page may ask the sidecar to read: the configured folders, plus
//! files the user picked or dropped, plus the autoload file.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct Scope {
    dirs: Vec<PathBuf>,
    files: Mutex<HashSet<PathBuf>>,
}

impl Scope {
    pub fn new(dirs: &[PathBuf]) -> Self {
        Self {
            dirs: dirs.iter().map(|d| normalize(d)).collect(),
            files: Mutex::default(),
        }
    }

    pub fn allow_file(&self, path: &Path) {
        self.files.lock().unwrap_or_else(|e| e.into_inner()).insert(normalize(path));
    }

    /// The normalised path if it may be read.
    pub fn check(&self, path: &Path) -> Option<PathBuf> {
        let p = normalize(path);
        let picked = self.files.lock().unwrap_or_else(|e| e.into_inner()).contains(&p);
        (picked || self.dirs.iter().any(|d| p.starts_with(d))).then_some(p)
    }
}

/// Absolute, symlinks resolved where the file exists, `..` removed where it does
/// not, so `scope/../secret` can never pass as being inside `scope`.
pub fn normalize(path: &Path) -> PathBuf {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir().unwrap_or_default().join(path)
    };
    if let Ok(real) = std::fs::canonicalize(&abs) {
        return real;
    }
    let mut out = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    // A missing file in an existing folder: resolve the folder's symlinks too.
    match (out.parent().and_then(|p| std::fs::canonicalize(p).ok()), out.file_name()) {
        (Some(parent), Some(name)) => parent.join(name),
        _ => out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirs_files_and_escapes() {
        let root = std::env::temp_dir().join(format!("bt-scope-{}", std::process::id()));
        let data = root.join("data");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::write(data.join("a.parquet"), b"x").unwrap();
        std::fs::write(root.join("secret.csv"), b"x").unwrap();
        let scope = Scope::new(std::slice::from_ref(&data));
        assert!(scope.check(&data.join("a.parquet")).is_some());
        assert!(
            scope.check(&data.join("missing.parquet")).is_some(),
            "missing files inside scope reach the server's file_not_found"
        );
        assert!(scope.check(&data.join("../secret.csv")).is_none());
        assert!(scope.check(&data.join("nope/../../secret.csv")).is_none());
        assert!(scope.check(&root.join("secret.csv")).is_none());
        scope.allow_file(&root.join("secret.csv"));
        assert!(scope.check(&root.join("secret.csv")).is_some());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.join("secret.csv"), data.join("link.csv")).unwrap();
            assert!(
                scope.check(&data.join("link.csv")).is_some(),
                "picked target stays allowed through a link"
            );
            let strict = Scope::new(std::slice::from_ref(&data));
            assert!(
                strict.check(&data.join("link.csv")).is_none(),
                "a symlink out of scope is out of scope"
            );
        }
        std::fs::remove_dir_all(&root).unwrap();
    }
}
