//! The Python launcher's contract and its package: the names both sides agree on
//! (python/tests/test_drift.py ties each to `buckaroo_tauri_sidecar/contract.py`), and
//! the package itself, embedded in the crate and unpacked to a content-keyed cache
//! folder so it runs as `python -m buckaroo_tauri_sidecar` (no script in argv, `.pyc`
//! reused across starts). The bottom floor: it uses no other module of the crate.

use std::ffi::OsString;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// buckaroo versions the launcher and the adapter were tested against.
pub const TESTED_BUCKAROO: &str = "0.15.11";

/// Header carrying the per-launch secret on every request to the secure launcher.
pub const TOKEN_HEADER: &str = "X-Buckaroo-Token";
/// Environment variable the launcher reads the secret from (never argv: argv is public).
pub const TOKEN_ENV: &str = "BUCKAROO_TAURI_TOKEN";

/// The launcher's exit code for "buckaroo internals not recognised".
pub(crate) const EXIT_UNSUPPORTED: i32 = 3;

/// The package's import name: `python -m PACKAGE`.
pub(crate) const PACKAGE: &str = "buckaroo_tauri_sidecar";

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/launcher_package.rs"));
}

/// A launcher package: its files and the hash that names its cache folder.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Package {
    pub files: &'static [(&'static str, &'static str)],
    pub hash: &'static str,
}

/// The package built into this crate.
pub(crate) const EMBEDDED: Package = Package {
    files: embedded::FILES,
    hash: embedded::HASH,
};

/// Where a package was unpacked: put [`Self::path_entry`] on `PYTHONPATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unpacked {
    /// `<cache>/<hash>`, the folder holding `buckaroo_tauri_sidecar/`.
    pub path_entry: PathBuf,
}

/// Why a package could not be unpacked: the folder, and what the OS said.
#[derive(Debug)]
pub(crate) struct UnpackError {
    pub dir: PathBuf,
    pub source: io::Error,
}

/// Leftover temporary folders (a writer killed mid-copy) older than this are removed.
const STALE_TEMP: Duration = Duration::from_secs(3600);

impl Package {
    /// Unpack into `<cache>/<hash>/buckaroo_tauri_sidecar/` unless a complete, identical
    /// copy is there. A copy is written whole under a temporary name and renamed into
    /// place, so a reader never sees half a package and concurrent first starts (two
    /// apps, two versions) each end with a complete copy; a copy whose files differ
    /// from ours (edited, damaged) is replaced the same way.
    pub fn unpack(&self, cache: &Path) -> Result<Unpacked, UnpackError> {
        let path_entry = cache.join(self.hash);
        if self.matches(&path_entry) {
            return Ok(Unpacked { path_entry });
        }
        std::fs::create_dir_all(cache).map_err(|e| fail(cache, e))?;
        remove_stale_temps(cache);
        for _ in 0..3 {
            let temp = self.write_temp(cache).map_err(|e| fail(cache, e))?;
            match std::fs::rename(&temp, &path_entry) {
                Ok(()) => return Ok(Unpacked { path_entry }),
                // Another process renamed its copy first (rename onto a non-empty folder fails).
                Err(e) if already_there(&e) => {
                    let _ = std::fs::remove_dir_all(&temp);
                    if self.matches(&path_entry) {
                        return Ok(Unpacked { path_entry });
                    }
                    // A damaged copy: move it aside (atomic), then try again.
                    let aside = temp_name(cache, self.hash, "stale");
                    if std::fs::rename(&path_entry, &aside).is_ok() {
                        let _ = std::fs::remove_dir_all(&aside);
                    }
                }
                Err(e) => {
                    let _ = std::fs::remove_dir_all(&temp);
                    return Err(fail(cache, e));
                }
            }
        }
        Err(fail(&path_entry, io::Error::other("another process keeps replacing this folder")))
    }

    /// Every file present with our exact contents (the hash names the folder, but a
    /// folder can be edited or damaged: ~100 KB read per start is cheaper than trust).
    fn matches(&self, path_entry: &Path) -> bool {
        let dir = path_entry.join(PACKAGE);
        self.files
            .iter()
            .all(|(name, text)| std::fs::read(dir.join(name)).is_ok_and(|on_disk| on_disk == text.as_bytes()))
    }

    /// The whole package under a fresh temporary name beside its final place.
    fn write_temp(&self, cache: &Path) -> io::Result<PathBuf> {
        let temp = temp_name(cache, self.hash, "tmp");
        let dir = temp.join(PACKAGE);
        let written = std::fs::create_dir_all(&dir)
            .and_then(|()| self.files.iter().try_for_each(|(name, text)| std::fs::write(dir.join(name), text)));
        if let Err(e) = written {
            let _ = std::fs::remove_dir_all(&temp);
            return Err(e);
        }
        Ok(temp)
    }
}

fn fail(dir: &Path, source: io::Error) -> UnpackError {
    UnpackError {
        dir: dir.to_path_buf(),
        source,
    }
}

fn already_there(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::DirectoryNotEmpty | io::ErrorKind::AlreadyExists)
}

/// `.<kind>-<hash>-<pid>-<nanos>`: unique per process and call, hidden from listings.
fn temp_name(cache: &Path, hash: &str, kind: &str) -> PathBuf {
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    cache.join(format!(".{kind}-{hash}-{}-{nanos}", std::process::id()))
}

/// Temporary folders left by a writer that died mid-copy (old enough that no live
/// writer can still own them).
fn remove_stale_temps(cache: &Path) {
    let Ok(entries) = std::fs::read_dir(cache) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let temp = name.to_str().is_some_and(|n| n.starts_with(".tmp-") || n.starts_with(".stale-"));
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().unwrap_or_default() > STALE_TEMP);
        if temp && old {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The per-user cache folder when the host gave none (`BuckarooConfig::with_launcher_cache`):
/// `$XDG_CACHE_HOME/buckaroo-tauri/launcher`, else `~/.cache/…` (`%LOCALAPPDATA%` on
/// Windows). Never a shared temp folder: code is run from there.
pub(crate) fn default_cache() -> Option<PathBuf> {
    let base = if cfg!(windows) {
        std::env::var_os("LOCALAPPDATA").map(PathBuf::from)
    } else {
        std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| Path::new(v).is_absolute())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
    };
    base.map(|b| b.join("buckaroo-tauri").join("launcher"))
}

/// `env` plus what makes `python -m buckaroo_tauri_sidecar` run our package, unpacked
/// (or found complete) in `cache` (else [`default_cache`]) first. The user's
/// `PYTHONPATH` (from `env`, else this process's) stays on the path, after ours.
pub(crate) fn prepared_env(cache: Option<&Path>, env: &[(String, String)]) -> Result<Vec<(String, String)>, UnpackError> {
    let cache = match cache {
        Some(dir) => dir.to_path_buf(),
        None => default_cache().ok_or_else(|| {
            let why = "neither XDG_CACHE_HOME nor HOME is set; give a folder with BuckarooConfig::with_launcher_cache";
            fail(Path::new("$HOME/.cache"), io::Error::other(why))
        })?,
    };
    let unpacked = EMBEDDED.unpack(&cache)?;
    let user = env
        .iter()
        .rev()
        .find(|(k, _)| k == "PYTHONPATH")
        .map(|(_, v)| v.into())
        .or_else(|| std::env::var_os("PYTHONPATH"));
    let mut out = env.to_vec();
    out.extend(python_env(&unpacked, user));
    Ok(out)
}

/// What makes `python -m buckaroo_tauri_sidecar` find the unpacked package, and only it:
/// our folder first on `PYTHONPATH` (before the user's `user_pythonpath`, kept), and
/// `PYTHONSAFEPATH` so the working directory is not on `sys.path` (a `pandas.py` there
/// cannot shadow anything). The launcher takes both out of its environment again, so
/// what it starts inherits the user's.
fn python_env(unpacked: &Unpacked, user_pythonpath: Option<OsString>) -> Vec<(String, String)> {
    // An empty entry would mean the working directory: dropped.
    let user: Vec<PathBuf> = user_pythonpath
        .as_deref()
        .map(|p| std::env::split_paths(p).filter(|e| !e.as_os_str().is_empty()).collect())
        .unwrap_or_default();
    let joined = std::env::join_paths(std::iter::once(unpacked.path_entry.clone()).chain(user))
        .unwrap_or_else(|_| unpacked.path_entry.clone().into_os_string());
    vec![
        ("PYTHONPATH".into(), joined.to_string_lossy().into_owned()),
        ("PYTHONSAFEPATH".into(), "1".into()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("bt-launcher-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    const A: Package = Package {
        files: &[("__main__.py", "print('a')\n"), ("contract.py", "X = 1\n")],
        hash: "aaaa",
    };
    const B: Package = Package {
        files: &[("__main__.py", "print('b')\n"), ("contract.py", "X = 2\n")],
        hash: "bbbb",
    };

    fn contents(unpacked: &Unpacked, name: &str) -> String {
        std::fs::read_to_string(unpacked.path_entry.join(PACKAGE).join(name)).unwrap()
    }

    #[test]
    fn the_embedded_package_has_a_main_and_a_stable_hash() {
        assert!(EMBEDDED.files.iter().any(|(n, _)| *n == "__main__.py"));
        assert_eq!(EMBEDDED.hash.len(), 16);
        let names: Vec<_> = EMBEDDED.files.iter().map(|(n, _)| *n).collect();
        assert!(names.windows(2).all(|w| w[0] < w[1]), "{names:?}");
    }

    #[test]
    fn two_versions_unpacked_at_once_each_get_their_own_complete_copy() {
        let cache = scratch("race");
        let runs: Vec<_> = (0..8)
            .map(|i| {
                let cache = cache.clone();
                std::thread::spawn(move || if i % 2 == 0 { A } else { B }.unpack(&cache).unwrap())
            })
            .collect();
        for (i, run) in runs.into_iter().enumerate() {
            let unpacked = run.join().unwrap();
            let (pkg, want) = if i % 2 == 0 { (A, "print('a')\n") } else { (B, "print('b')\n") };
            assert_eq!(unpacked.path_entry, cache.join(pkg.hash));
            assert_eq!(contents(&unpacked, "__main__.py"), want);
        }
        let mut left: Vec<_> = std::fs::read_dir(&cache).unwrap().map(|e| e.unwrap().file_name()).collect();
        left.sort();
        assert_eq!(left, ["aaaa", "bbbb"], "temporary folders left behind");
        std::fs::remove_dir_all(&cache).unwrap();
    }

    #[test]
    fn a_complete_copy_is_kept_and_a_damaged_one_replaced() {
        let cache = scratch("damaged");
        let first = A.unpack(&cache).unwrap();
        let main = first.path_entry.join(PACKAGE).join("__main__.py");
        let written = std::fs::metadata(&main).unwrap().modified().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        A.unpack(&cache).unwrap();
        // Not rewritten: the `.pyc` next to it stays valid.
        assert_eq!(std::fs::metadata(&main).unwrap().modified().unwrap(), written);
        std::fs::write(&main, "import os; os.system('evil')\n").unwrap();
        std::fs::remove_file(first.path_entry.join(PACKAGE).join("contract.py")).unwrap();
        let again = A.unpack(&cache).unwrap();
        assert_eq!(contents(&again, "__main__.py"), "print('a')\n");
        assert_eq!(contents(&again, "contract.py"), "X = 1\n");
        std::fs::remove_dir_all(&cache).unwrap();
    }

    #[test]
    fn an_unwritable_cache_names_its_folder() {
        let base = scratch("unwritable");
        std::fs::create_dir_all(&base).unwrap();
        // A regular file where a folder should be: refused even for root.
        std::fs::write(base.join("file"), "").unwrap();
        let cache = base.join("file").join("launcher");
        let e = A.unpack(&cache).unwrap_err();
        assert_eq!(e.dir, cache);
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn the_prepared_env_keeps_the_callers_and_puts_the_package_first() {
        let cache = scratch("prepared");
        let env = vec![("PYTHONPATH".to_string(), "/u".to_string()), ("X".to_string(), "1".to_string())];
        let out = prepared_env(Some(&cache), &env).unwrap();
        assert_eq!(&out[..2], &env[..]);
        let entry = cache.join(EMBEDDED.hash);
        assert_eq!(out[2].1, format!("{}:/u", entry.display()));
        assert!(entry.join(PACKAGE).join("__main__.py").is_file());
        std::fs::remove_dir_all(&cache).unwrap();
    }

    #[test]
    fn our_folder_comes_first_and_the_users_pythonpath_is_kept() {
        let unpacked = Unpacked {
            path_entry: "/c/abcd".into(),
        };
        let env = python_env(&unpacked, Some("/u/one:/u/two".into()));
        assert_eq!(env[0], ("PYTHONPATH".into(), "/c/abcd:/u/one:/u/two".into()));
        assert_eq!(env[1], ("PYTHONSAFEPATH".into(), "1".into()));
        assert_eq!(python_env(&unpacked, None)[0].1, "/c/abcd");
        assert_eq!(python_env(&unpacked, Some("".into()))[0].1, "/c/abcd");
        assert_eq!(python_env(&unpacked, Some("/u::".into()))[0].1, "/c/abcd:/u");
    }
}
