//! The managed environment's layout on disk: what the app asks for
//! ([`ManagedEnv`]), the pinned locks, and the folder of environments, each keyed by
//! its lock's hash and its interpreter's version. A complete environment carries a
//! stamp; anything else in the folder is a leftover of an interrupted install and is
//! removed under the folder's lock. Installing is [`crate::provision`]'s job. No
//! Tauri types here.

use std::fs::File;
use std::path::{Path, PathBuf};

mod locks {
    include!(concat!(env!("OUT_DIR"), "/env_locks.rs"));
}

/// The file that marks an environment complete (written last, before it is used).
pub const STAMP: &str = "buckaroo-env.json";
/// The env bundle's description of itself (`manifest.json` beside `uv` and `wheels/`).
pub const BUNDLE_MANIFEST: &str = "manifest.json";
const LOCK_FILE: &str = ".lock";
const PARTIAL: &str = ".partial";
/// uv's cache while installing; removed after (the environment keeps hard links).
pub const UV_CACHE: &str = ".uv-cache";

/// Which pinned set of packages the environment holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvLock {
    /// buckaroo with its server, pandas and polars: files open (big ones through pandas).
    Base,
    /// `Base` plus xorq and DuckDB: big files open on the engine, expressions load.
    Engine,
}

impl EnvLock {
    /// The lock's name (`base`, `engine`), the first part of an environment's key.
    pub fn name(self) -> &'static str {
        match self {
            EnvLock::Base => "base",
            EnvLock::Engine => "engine",
        }
    }

    /// The lock's text (requirements with hashes).
    pub fn text(self) -> &'static str {
        match self {
            EnvLock::Base => locks::BASE,
            EnvLock::Engine => locks::ENGINE,
        }
    }

    /// SHA-256 (hex) of the lock's bytes.
    pub fn sha256(self) -> &'static str {
        match self {
            EnvLock::Base => locks::BASE_SHA256,
            EnvLock::Engine => locks::ENGINE_SHA256,
        }
    }
}

/// A private Python environment the plugin makes when no configured Python works
/// ([`BuckarooConfig::with_managed_env`](crate::BuckarooConfig::with_managed_env)).
/// In an app, the folders default to `<app data>/buckaroo-env` and, when it exists,
/// `<resources>/buckaroo-env` (the env bundle: `uv`, `wheels/`, `manifest.json`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ManagedEnv {
    /// Where environments live ([`with_root`](Self::with_root)).
    pub root: Option<PathBuf>,
    /// The env bundle that makes the first run work offline ([`with_bundle`](Self::with_bundle)).
    pub bundle: Option<PathBuf>,
    /// Which lock; by default `Engine` for `BuckarooConfig::xorq()`, else `Base`.
    pub lock: Option<EnvLock>,
    /// Never install from the package index (only from the bundle).
    pub offline_only: bool,
}

impl ManagedEnv {
    /// Defaults everywhere: the app's folders, the lock for the config's backend, the
    /// package index as the fallback when the bundle cannot serve.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keep environments in `dir` instead of `<app data>/buckaroo-env`.
    pub fn with_root(mut self, dir: impl Into<PathBuf>) -> Self {
        self.root = Some(dir.into());
        self
    }

    /// Install from this env bundle (`uv`, `wheels/`, `manifest.json`).
    pub fn with_bundle(mut self, dir: impl Into<PathBuf>) -> Self {
        self.bundle = Some(dir.into());
        self
    }

    /// Pin this lock instead of the backend's default.
    pub fn with_lock(mut self, lock: EnvLock) -> Self {
        self.lock = Some(lock);
        self
    }

    /// Never reach the package index: without a usable bundle, set-up fails with `env_offline`.
    pub fn offline_only(mut self) -> Self {
        self.offline_only = true;
        self
    }
}

/// Where environments live outside an app (an app uses `<app data>/buckaroo-env`):
/// `$XDG_DATA_HOME/buckaroo-tauri/env`, else `~/.local/share/buckaroo-tauri/env`.
pub fn default_root() -> Option<PathBuf> {
    let base = if cfg!(windows) {
        std::env::var_os("LOCALAPPDATA").map(PathBuf::from)
    } else {
        std::env::var_os("XDG_DATA_HOME")
            .filter(|v| Path::new(v).is_absolute())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".local").join("share")))
    };
    base.map(|b| b.join("buckaroo-tauri").join("env"))
}

/// What an env bundle says of itself.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct BundleManifest {
    /// The lock's name.
    pub lock: String,
    /// The SHA-256 of the lock its wheels were downloaded for.
    pub lock_sha256: String,
    /// The `major.minor` of the Python its wheels are for.
    pub python: String,
    /// Files under the environment's `lib/` after an install (progress's 100 %).
    pub files: u64,
    /// Their bytes (the space an install needs).
    pub bytes: u64,
}

impl BundleManifest {
    /// The manifest in `dir`, when it is there and readable.
    pub fn read(dir: &Path) -> Option<Self> {
        let text = std::fs::read_to_string(dir.join(BUNDLE_MANIFEST)).ok()?;
        serde_json::from_str(&text)
            .map_err(|e| log::warn!("[buckaroo-tauri] {}: {e}", dir.join(BUNDLE_MANIFEST).display()))
            .ok()
    }

    /// Its wheels serve `lock` for Python `version` (`3.11`).
    pub fn serves(&self, lock: EnvLock, version: &str) -> bool {
        self.lock == lock.name() && self.lock_sha256 == lock.sha256() && self.python == version
    }
}

/// The record written into a complete environment.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Stamp {
    /// The environment's key (its folder's name).
    pub key: String,
    /// The lock's SHA-256.
    pub lock_sha256: String,
    /// The interpreter it was made from.
    pub base_python: String,
    /// Its `major.minor`.
    pub python_version: String,
    /// `bundle` or `index`.
    pub source: String,
    /// How long the install took.
    pub seconds: f64,
}

/// One environment folder: `<root>/<lock>-py<version>-<hash>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvDir {
    /// The folder.
    pub dir: PathBuf,
}

impl EnvDir {
    /// The environment for `lock` and Python `version` under `root`.
    pub fn new(root: &Path, lock: EnvLock, version: &str) -> Self {
        Self {
            dir: root.join(format!("{}-py{version}-{}", lock.name(), &lock.sha256()[..12])),
        }
    }

    /// Where it is built before it is renamed into place.
    pub fn staging(&self) -> PathBuf {
        let mut name = self.dir.file_name().unwrap_or_default().to_os_string();
        name.push(PARTIAL);
        self.dir.with_file_name(name)
    }

    /// Its interpreter.
    pub fn python(&self) -> PathBuf {
        python_in(&self.dir)
    }

    /// Its stamp, when it is complete.
    pub fn stamp(&self) -> Option<Stamp> {
        let text = std::fs::read_to_string(self.dir.join(STAMP)).ok()?;
        serde_json::from_str(&text).ok()
    }
}

/// The interpreter inside a venv folder.
pub fn python_in(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

/// A complete environment for `lock` under `root`, whatever its Python: what a second
/// launch uses without running any other interpreter first.
pub fn find_ready(root: &Path, lock: EnvLock) -> Option<EnvDir> {
    let suffix = format!("-{}", &lock.sha256()[..12]);
    let prefix = format!("{}-py", lock.name());
    let mut found: Vec<EnvDir> = std::fs::read_dir(root)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.starts_with(&prefix) && name.ends_with(&suffix)
        })
        .map(|e| EnvDir { dir: e.path() })
        .filter(|env| env.stamp().is_some_and(|s| s.lock_sha256 == lock.sha256()))
        .collect();
    found.sort_by(|a, b| a.dir.cmp(&b.dir));
    found.pop()
}

/// The root's lock, held while installing: a second app (or a second process of an app
/// without single-instance) waits instead of installing beside it. The OS releases it
/// when the holder dies, so a killed install never blocks the next.
pub struct RootLock(#[allow(dead_code)] File);

impl RootLock {
    fn open(root: &Path) -> std::io::Result<File> {
        std::fs::create_dir_all(root)?;
        File::options().create(true).truncate(false).write(true).open(root.join(LOCK_FILE))
    }

    /// Take the lock, waiting for another holder (blocking: call it off the runtime).
    pub fn acquire(root: &Path) -> std::io::Result<Self> {
        let file = Self::open(root)?;
        file.lock()?;
        Ok(Self(file))
    }

    /// Take the lock if nobody holds it.
    pub fn try_acquire(root: &Path) -> std::io::Result<Option<Self>> {
        let file = Self::open(root)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self(file))),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

/// Under the root's lock: remove what no install is writing any more (staging folders,
/// environments without a stamp, uv's cache) and, with `keep`, every other environment.
/// Returns what was removed.
pub fn sweep(root: &Path, _lock: &RootLock, keep: Option<&EnvDir>) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == LOCK_FILE || !path.is_dir() {
            continue;
        }
        let stale = name == UV_CACHE || name.ends_with(PARTIAL) || !path.join(STAMP).is_file() || keep.is_some_and(|k| k.dir != path);
        if stale {
            match std::fs::remove_dir_all(&path) {
                Ok(()) => removed.push(path),
                Err(e) => log::warn!("[buckaroo-tauri] could not remove {}: {e}", path.display()),
            }
        }
    }
    removed
}

/// Remove every environment under `root` (Reset environment), under its lock.
pub fn remove_all(root: &Path) -> std::io::Result<Vec<PathBuf>> {
    let lock = RootLock::acquire(root)?;
    let mut removed = Vec::new();
    for entry in std::fs::read_dir(root)?.filter_map(|e| e.ok()) {
        if entry.path().is_dir() {
            std::fs::remove_dir_all(entry.path())?;
            removed.push(entry.path());
        }
    }
    drop(lock);
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(env: &EnvDir, lock: EnvLock) {
        std::fs::create_dir_all(&env.dir).unwrap();
        let s = Stamp {
            key: env.dir.file_name().unwrap().to_string_lossy().into(),
            lock_sha256: lock.sha256().into(),
            base_python: "/usr/bin/python3".into(),
            python_version: "3.11".into(),
            source: "bundle".into(),
            seconds: 1.0,
        };
        std::fs::write(env.dir.join(STAMP), serde_json::to_string(&s).unwrap()).unwrap();
    }

    #[test]
    fn the_locks_pin_the_tested_buckaroo_with_hashes() {
        for lock in [EnvLock::Base, EnvLock::Engine] {
            let pin = format!("buckaroo=={} ", crate::launcher::TESTED_BUCKAROO);
            assert!(lock.text().lines().any(|l| l.starts_with(&pin)), "{}", lock.name());
            assert!(lock.text().contains("--hash=sha256:"));
            assert_eq!(lock.sha256().len(), 64);
        }
        assert!(EnvLock::Engine.text().lines().any(|l| l.starts_with("xorq==")));
        assert!(!EnvLock::Base.text().lines().any(|l| l.starts_with("xorq==")));
    }

    #[test]
    fn only_a_stamped_environment_is_ready() {
        let root = std::env::temp_dir().join(format!("buckaroo-env-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let env = EnvDir::new(&root, EnvLock::Engine, "3.11");
        assert!(env.dir.file_name().unwrap().to_string_lossy().starts_with("engine-py3.11-"));
        std::fs::create_dir_all(env.dir.join("bin")).unwrap();
        assert_eq!(find_ready(&root, EnvLock::Engine), None, "no stamp, not ready");
        stamp(&env, EnvLock::Engine);
        assert_eq!(find_ready(&root, EnvLock::Engine), Some(env.clone()));
        assert_eq!(find_ready(&root, EnvLock::Base), None, "another lock's key");

        // Leftovers of a killed install, and an older version's environment.
        std::fs::create_dir_all(env.staging().join("lib")).unwrap();
        let unstamped = root.join("engine-py3.12-000000000000");
        std::fs::create_dir_all(&unstamped).unwrap();
        let old = EnvDir::new(&root, EnvLock::Base, "3.11");
        stamp(&old, EnvLock::Base);
        let lock = RootLock::acquire(&root).unwrap();
        assert!(RootLock::try_acquire(&root).unwrap().is_none(), "held");
        let removed = sweep(&root, &lock, None);
        assert_eq!(removed.len(), 2, "{removed:?}");
        assert!(old.dir.is_dir(), "without `keep`, complete environments stay");
        sweep(&root, &lock, Some(&env));
        assert!(!old.dir.exists() && env.dir.is_dir());
        drop(lock);
        assert_eq!(remove_all(&root).unwrap(), vec![env.dir.clone()]);
        std::fs::remove_dir_all(&root).unwrap();
    }
}
