//! Which files the page may ask the sidecar to read: the configured folders, plus
//! files the user picked or dropped, plus the autoload file; and of those only
//! regular files and folders (parquet datasets), never a FIFO, device or socket.

use crate::error::{Error, Result};
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

    /// The normalised path if it is in scope (whatever kind of file it is; see [`admit`](Self::admit)).
    pub fn check(&self, path: &Path) -> Option<PathBuf> {
        let p = normalize(path);
        let picked = self.files.lock().unwrap_or_else(|e| e.into_inner()).contains(&p);
        (picked || self.dirs.iter().any(|d| p.starts_with(d))).then_some(p)
    }

    /// The normalised path if the sidecar may read it: in scope, and a regular file,
    /// a folder, or missing (the server answers `file_not_found`).
    pub fn admit(&self, path: &Path) -> Result<PathBuf> {
        let p = self.check(path).ok_or_else(|| Error::PathNotAllowed(path.to_path_buf()))?;
        match special_kind(&p) {
            Some(kind) => Err(Error::NotARegularFile { path: p, kind }),
            None => Ok(p),
        }
    }
}

/// What `path` is when it is neither a regular file nor a folder. Opening a FIFO
/// blocks until a writer appears, which would freeze the sidecar's event loop;
/// a device or a socket never ends. (Symlinks are already resolved.)
pub fn special_kind(path: &Path) -> Option<&'static str> {
    let ft = std::fs::metadata(path).ok()?.file_type();
    if ft.is_file() || ft.is_dir() {
        return None;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return Some("FIFO (named pipe)");
        }
        if ft.is_char_device() {
            return Some("character device");
        }
        if ft.is_block_device() {
            return Some("block device");
        }
        if ft.is_socket() {
            return Some("socket");
        }
    }
    Some("special file")
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

    #[cfg(unix)]
    #[test]
    fn only_regular_files_and_folders_are_admitted() {
        let root = std::env::temp_dir().join(format!("bt-scope-kinds-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("dataset.parquet")).unwrap();
        std::fs::write(root.join("a.csv"), b"x").unwrap();
        let fifo = root.join("x.parquet");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        let sock = root.join("s.csv");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        std::os::unix::fs::symlink(&fifo, root.join("link.parquet")).unwrap();

        let scope = Scope::new(std::slice::from_ref(&root));
        assert!(scope.admit(&root.join("a.csv")).is_ok());
        assert!(scope.admit(&root.join("dataset.parquet")).is_ok(), "a folder is a parquet dataset");
        assert!(scope.admit(&root.join("missing.csv")).is_ok());
        for (path, kind) in [
            (&fifo, "FIFO (named pipe)"),
            (&sock, "socket"),
            (&root.join("link.parquet"), "FIFO (named pipe)"),
        ] {
            let e = scope.admit(path).unwrap_err();
            assert_eq!(e.code(), "path_not_allowed", "{}", path.display());
            assert!(e.to_string().contains(&format!("is a {kind}, not a regular file")), "{e}");
            assert!(e.hint().unwrap().contains("Only regular files"), "{e}");
        }
        // A device the user picked is still a device.
        scope.allow_file(Path::new("/dev/null"));
        let e = scope.admit(Path::new("/dev/null")).unwrap_err();
        assert!(e.to_string().contains("character device"), "{e}");
        assert_eq!(
            scope.admit(Path::new("/etc/passwd")).unwrap_err().to_string(),
            "path not allowed: /etc/passwd"
        );
        std::fs::remove_dir_all(&root).unwrap();
    }
}
