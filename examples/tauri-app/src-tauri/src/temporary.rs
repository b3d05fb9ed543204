//! Temporary copies from `buckaroo_desktop.show()`: this app owns each once its window
//! opens, and removes it (with its private folder) when that window closes or the app
//! exits (the window's record, windows.rs, says which file it owns). Only a file in a
//! private `buckaroo-desktop-*` folder of this user is ever claimed, so `--temporary` on
//! the command line cannot delete anyone's own data.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The folder's name starts with this (the Python side's `tempfile.mkdtemp` prefix).
pub const DIR_PREFIX: &str = "buckaroo-desktop-";
/// Written into the folder once this app owns the file: `show()` waits for it, and a
/// later `show()` removes folders whose viewer died without cleaning up.
pub const OWNER_FILE: &str = "viewer.pid";

/// Take ownership of `path` (its window's record then says temporary); an error says
/// why it is not a temporary copy (it then opens as an ordinary file and is left alone).
pub fn claim(path: &Path) -> Result<(), String> {
    let dir = private_folder(path)?;
    std::fs::write(dir.join(OWNER_FILE), std::process::id().to_string()).map_err(|e| format!("{}: {e}", dir.display()))
}

/// The file's folder, when it is one `show()` made: named `buckaroo-desktop-*`, owned
/// by this process's user and closed to everyone else, like the file itself.
fn private_folder(path: &Path) -> Result<PathBuf, String> {
    let dir = path.parent().ok_or("no folder")?;
    let named = dir.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(DIR_PREFIX));
    if !named {
        return Err(format!("{} is not a {DIR_PREFIX}* folder", dir.display()));
    }
    let me = std::fs::metadata("/proc/self").map_err(|e| e.to_string())?.uid();
    for p in [dir, path] {
        let meta = std::fs::symlink_metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
        if meta.uid() != me || meta.mode() & 0o077 != 0 || meta.file_type().is_symlink() {
            return Err(format!("{} is not private to this user", p.display()));
        }
    }
    Ok(dir.to_path_buf())
}

/// The file, the owner note and the folder (only if nothing else is in it): a claimed
/// copy whose window closed.
pub fn remove(path: &Path) {
    let _ = std::fs::remove_file(path);
    if let Some(dir) = path.parent() {
        let _ = std::fs::remove_file(dir.join(OWNER_FILE));
        match std::fs::remove_dir(dir) {
            Ok(()) => log::info!("removed the temporary {}", path.display()),
            Err(e) => log::warn!("temporary folder {} left: {e}", dir.display()),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// `<tmp>/<name><pid>-<mode>/frame.parquet`, the file private to this user.
    pub(crate) fn folder(name: &str, mode: u32) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("{name}{}-{mode:o}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
        let file = dir.join("frame.parquet");
        std::fs::write(&file, b"PAR1").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        file
    }

    #[test]
    fn a_private_buckaroo_desktop_folder_is_claimed_and_removed_whole() {
        let file = folder(DIR_PREFIX, 0o700);
        assert_eq!(private_folder(&file).unwrap(), file.parent().unwrap());
        std::fs::write(file.with_file_name(OWNER_FILE), "1").unwrap();
        remove(&file);
        assert!(!file.parent().unwrap().exists());
    }

    #[test]
    fn other_folders_and_open_permissions_are_refused() {
        let elsewhere = folder("someone-elses-", 0o700);
        assert!(private_folder(&elsewhere)
            .unwrap_err()
            .contains("is not a buckaroo-desktop-* folder"));
        let open = folder(DIR_PREFIX, 0o755);
        assert!(private_folder(&open).unwrap_err().contains("not private"));
        for f in [elsewhere, open] {
            std::fs::remove_dir_all(f.parent().unwrap()).unwrap();
        }
    }

    #[test]
    fn a_folder_with_other_files_in_it_is_left() {
        let file = folder(&format!("{DIR_PREFIX}busy-"), 0o700);
        std::fs::write(file.with_file_name("notes.txt"), "mine").unwrap();
        remove(&file);
        assert!(!file.exists() && file.with_file_name("notes.txt").exists());
        std::fs::remove_dir_all(file.parent().unwrap()).unwrap();
    }
}
