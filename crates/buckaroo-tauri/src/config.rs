//! `BuckarooConfig`: everything the host app decides, built with `with_*` methods.

use crate::managed_env::{EnvLock, ManagedEnv};
use crate::saved_dbs::SavedDbsConfig;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What the app mainly shows. The sidecar is the same buckaroo server for every
/// kind, and `load_expr` is granted by a permission, not by `Xorq`:
///
/// | | files (`load_path`) | expressions (`load_expr`) | start-up |
/// |---|---|---|---|
/// | `Xorq` | by size: from [`with_engine_min_bytes`](BuckarooConfig::with_engine_min_bytes) (32 MiB) on, xorq's embedded engine (stats deferred); smaller ones pandas | paged through the expression's engine, stats deferred | imports xorq in the background; warns when it is missing |
/// | `Pandas` | pandas backend | the same | – |
/// | `Polars` | polars backend | the same | – |
///
/// Whatever the kind, a page may ask for a backend per load (`backend: "xorq"` is the
/// engine). An expression (or an engine file) loaded where xorq does not import is
/// refused with `xorq_not_installed` and the pip command; by size, files then load
/// through pandas.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// Loads as with `Pandas` (buckaroo's default backend).
    Xorq,
    /// buckaroo's default backend (pandas).
    Pandas,
    /// The polars backend.
    Polars,
}

/// How a file is shown: `buckaroo` is the full UI (stats, search, histograms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoadMode {
    /// The full UI.
    Buckaroo,
    /// The grid alone.
    Viewer,
    /// The grid, rows read on demand.
    Lazy,
}

impl LoadMode {
    /// The wire name (`"buckaroo"`, `"viewer"`, `"lazy"`).
    pub fn as_str(self) -> &'static str {
        match self {
            LoadMode::Buckaroo => "buckaroo",
            LoadMode::Viewer => "viewer",
            LoadMode::Lazy => "lazy",
        }
    }

    /// The mode of a wire name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "buckaroo" => Some(LoadMode::Buckaroo),
            "viewer" => Some(LoadMode::Viewer),
            "lazy" => Some(LoadMode::Lazy),
            _ => None,
        }
    }
}

/// When a sidecar that died is started again.
///
/// A sidecar that was *healthy* (it became ready, then answered a page's request or
/// stayed up `healthy_uptime`) and then died is restarted at once, and its death
/// uses none of the budget. Only a crash loop (dies before ready, or soon after it
/// with nothing served) waits `initial_backoff`, doubling up to `max_backoff`, and
/// after `max_restarts` such crashes in a row the supervisor goes to `failed`.
#[derive(Debug, Clone, PartialEq)]
pub struct RestartPolicy {
    /// Crash-loop restarts before `failed`; a healthy life resets the count.
    pub max_restarts: u32,
    /// The first crash-loop delay; it doubles with each crash in a row.
    pub initial_backoff: Duration,
    /// The longest crash-loop delay.
    pub max_backoff: Duration,
    /// Uptime after ready that makes a sidecar healthy even if it served nothing.
    pub healthy_uptime: Duration,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        Self {
            max_restarts: 5,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(10),
            healthy_uptime: Duration::from_secs(5),
        }
    }
}

impl RestartPolicy {
    /// Delay before restart number `n` (1-based).
    pub fn backoff(&self, n: u32) -> Duration {
        let factor = 1u32 << n.saturating_sub(1).min(16);
        self.initial_backoff.saturating_mul(factor).min(self.max_backoff)
    }
}

#[derive(Debug, Clone, PartialEq)]
/// A file loaded into the first window that attaches ([`BuckarooConfig::with_autoload`]).
pub struct Autoload {
    /// The file.
    pub path: PathBuf,
    /// How to show it.
    pub mode: LoadMode,
}

/// What runs in the user's Python.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launcher {
    /// The crate's launcher around buckaroo's app: per-launch token on every request,
    /// TCP_NODELAY, no tracebacks to clients, stderr logs.
    Secure,
    /// `python -m buckaroo.server` as shipped: any local process can use it. For
    /// buckaroo versions the launcher does not support.
    Plain,
}

#[derive(Debug, Clone)]
/// Everything the host app decides; start from [`xorq`](Self::xorq),
/// [`pandas`](Self::pandas) or [`polars`](Self::polars) and add `with_*` calls.
pub struct BuckarooConfig {
    /// What runs in the user's Python.
    pub launcher: Launcher,
    /// The default `/load` backend.
    pub backend: BackendKind,
    /// The interpreter, when the host names one ([`with_python`](Self::with_python)).
    pub python: Option<PathBuf>,
    /// A virtualenv whose interpreter to use ([`with_venv`](Self::with_venv)).
    pub venv: Option<PathBuf>,
    /// Extra environment for the sidecar.
    pub env: Vec<(String, String)>,
    /// The sidecar's working directory.
    pub working_dir: Option<PathBuf>,
    /// How long the sidecar (and the probe) may take to answer.
    pub handshake_timeout: Duration,
    /// When a sidecar that died is started again.
    pub restart: RestartPolicy,
    /// Folders pages may load from without a dialog or a drop.
    pub scope: Vec<PathBuf>,
    /// Folders exports may write to without a save dialog ([`with_export_dir`](Self::with_export_dir)).
    pub export_dirs: Vec<PathBuf>,
    /// A file for the first window that attaches.
    pub autoload: Option<Autoload>,
    /// Extra arguments for the server.
    pub server_args: Vec<String>,
    /// The mode of a load that names none.
    pub default_mode: LoadMode,
    /// Row requests a window may have unanswered before new ones are failed.
    pub max_in_flight: usize,
    /// How long the launcher lets one load read its file before answering `load_timeout`.
    pub load_timeout: Duration,
    /// With `Xorq`, files of at least this many bytes open on the engine.
    pub engine_min_bytes: u64,
    /// Where the launcher package is unpacked ([`with_launcher_cache`](Self::with_launcher_cache)).
    pub launcher_cache: Option<PathBuf>,
    /// The private environment made when no configured Python works ([`with_managed_env`](Self::with_managed_env)).
    pub managed_env: Option<ManagedEnv>,
    /// A window whose file changed on disk reloads by itself ([`with_reload_on_change`](Self::with_reload_on_change)).
    pub reload_on_change: bool,
    /// Where saved database connections live ([`with_saved_connections`](Self::with_saved_connections)).
    pub saved_connections: Option<SavedDbsConfig>,
    /// A warm second sidecar parked for restarts ([`with_standby`](Self::with_standby)).
    pub standby: bool,
}

/// The launcher reads its load timeout (seconds) from this variable.
pub const LOAD_TIMEOUT_ENV: &str = "BUCKAROO_TAURI_LOAD_TIMEOUT";
/// The launcher opens files of at least this many bytes on the engine (when no backend is asked for).
pub const ENGINE_MIN_BYTES_ENV: &str = "BUCKAROO_TAURI_ENGINE_MIN_BYTES";
/// `1`: the launcher imports xorq in the background once it is idle (the first rows written, no request
/// for 2 s): the first engine load then skips ~1 s, and the first file load is not slowed by it.
pub const WARM_XORQ_ENV: &str = "BUCKAROO_TAURI_WARM_XORQ";
/// The default of [`BuckarooConfig::with_engine_min_bytes`] (the launcher's own default too).
pub const DEFAULT_ENGINE_MIN_BYTES: u64 = 32 << 20;

impl BuckarooConfig {
    fn new(backend: BackendKind) -> Self {
        Self {
            launcher: Launcher::Secure,
            backend,
            python: None,
            venv: None,
            env: Vec::new(),
            working_dir: None,
            handshake_timeout: Duration::from_secs(30),
            restart: RestartPolicy::default(),
            scope: Vec::new(),
            export_dirs: Vec::new(),
            autoload: None,
            server_args: Vec::new(),
            default_mode: LoadMode::Buckaroo,
            max_in_flight: 64,
            load_timeout: Duration::from_secs(120),
            engine_min_bytes: DEFAULT_ENGINE_MIN_BYTES,
            launcher_cache: None,
            managed_env: None,
            reload_on_change: false,
            saved_connections: None,
            standby: false,
        }
    }

    /// For apps that open big files and xorq expressions (`load_expr`, an opt-in
    /// permission): files from [`with_engine_min_bytes`](Self::with_engine_min_bytes)
    /// on open on xorq's embedded engine (rows first, memory bounded), smaller ones
    /// through pandas; the sidecar imports xorq in the background; the probe reports
    /// its version and start-up warns (in the log and `buckaroo_diagnostics`) when it
    /// is missing.
    pub fn xorq() -> Self {
        Self::new(BackendKind::Xorq)
    }

    /// Files load through pandas (buckaroo's default backend), full UI.
    pub fn pandas() -> Self {
        Self::new(BackendKind::Pandas)
    }

    /// Files load through polars unless the page asks for another backend.
    pub fn polars() -> Self {
        Self::new(BackendKind::Polars)
    }

    /// The `backend` field sent with `/load` when the page does not choose one (none:
    /// the launcher decides by size).
    pub fn default_backend(&self) -> Option<&'static str> {
        match self.backend {
            BackendKind::Polars => Some("polars"),
            BackendKind::Pandas => Some("pandas"),
            BackendKind::Xorq => None,
        }
    }

    /// With [`xorq()`](Self::xorq), files of at least `bytes` (a folder: all its files)
    /// open on the engine; `0`: every file the engine reads (Parquet, CSV/TSV, JSON
    /// lines). Default 32 MiB: below it a pandas load takes under 2 s here, stats included, and keeps
    /// what only pandas reads (mixed-type columns, any JSON value).
    pub fn with_engine_min_bytes(mut self, bytes: u64) -> Self {
        self.engine_min_bytes = bytes;
        self
    }

    /// Run this interpreter (before `with_venv`, `BUCKAROO_PYTHON` and `PATH`).
    pub fn with_python(mut self, python: impl Into<PathBuf>) -> Self {
        self.python = Some(python.into());
        self
    }

    /// Use `<venv>/bin/python` (`Scripts\python.exe` on Windows).
    pub fn with_venv(mut self, venv: impl Into<PathBuf>) -> Self {
        self.venv = Some(venv.into());
        self
    }

    /// Set `key=value` in the sidecar's environment (wins over the plugin's own settings).
    pub fn with_env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// The folder the Python launcher package is unpacked into, one subfolder per
    /// launcher version (keyed by its content hash), and run from with `python -m`.
    /// Default: the app's cache folder (`<app cache>/buckaroo-launcher`); outside an app,
    /// `$XDG_CACHE_HOME/buckaroo-tauri/launcher`. Give a folder only this user can write:
    /// code is run from it.
    pub fn with_launcher_cache(mut self, dir: impl Into<PathBuf>) -> Self {
        self.launcher_cache = Some(dir.into());
        self
    }

    /// Save database connections to `file` (a JSON list, never a password) and their
    /// passwords to the OS keyring under `keyring_service`. The plugin defaults to the
    /// app's config dir and identifier; without either, saving is refused.
    pub fn with_saved_connections(mut self, file: impl Into<PathBuf>, keyring_service: impl Into<String>) -> Self {
        self.saved_connections = Some(SavedDbsConfig {
            file: file.into(),
            keyring_service: keyring_service.into(),
        });
        self
    }

    /// When no configured Python can run buckaroo (no [`with_python`](Self::with_python),
    /// [`with_venv`](Self::with_venv) or `BUCKAROO_PYTHON`, and `python3` on PATH lacks
    /// it), make a private environment pinned to the tested buckaroo and run the sidecar
    /// from it: from the app's env bundle without network, else from the package index.
    /// The status is `provisioning` meanwhile; later starts use it like a user venv.
    ///
    /// ```no_run
    /// # use buckaroo_tauri::{BuckarooConfig, ManagedEnv};
    /// let cfg = BuckarooConfig::xorq().with_managed_env(ManagedEnv::new());
    /// ```
    pub fn with_managed_env(mut self, env: ManagedEnv) -> Self {
        self.managed_env = Some(env);
        self
    }

    /// Reload a window by itself when the file it shows changes on disk (rewritten or
    /// replaced). Without it the window is told (`buckaroo_tauri_file_changed`, the
    /// adapter's `onFileChanged`) and keeps what it shows until the page calls `reload()`.
    pub fn with_reload_on_change(mut self, on: bool) -> Self {
        self.reload_on_change = on;
        self
    }

    /// Keep a warm standby sidecar: once the running one has been ready 5 s and idle 2 s, a
    /// second one is started and parked (imports done, no session); when the running one
    /// dies it takes over at once, so a restart skips the respawn. It costs a second
    /// sidecar's memory (its RSS before any load: docs/benchmarks.md) for the app's life.
    pub fn with_standby(mut self, on: bool) -> Self {
        self.standby = on;
        self
    }

    /// The lock the managed environment installs: the configured one, else `Engine`
    /// for [`xorq`](Self::xorq) and `Base` for the others.
    pub fn env_lock(&self) -> EnvLock {
        let default = if self.backend == BackendKind::Xorq {
            EnvLock::Engine
        } else {
            EnvLock::Base
        };
        self.managed_env.as_ref().and_then(|m| m.lock).unwrap_or(default)
    }

    /// The sidecar's working directory.
    pub fn with_working_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.working_dir = Some(dir.into());
        self
    }

    /// How long the probe and the port handshake may take (default 30 s).
    pub fn with_handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// How a sidecar that died is restarted; see [`RestartPolicy`].
    pub fn with_restart_policy(mut self, policy: RestartPolicy) -> Self {
        self.restart = policy;
        self
    }

    /// Crash-loop restarts before `failed` (default 5). With 0 the first crash fails;
    /// a sidecar that was healthy and then died is restarted whatever `n` is.
    pub fn with_max_restarts(mut self, n: u32) -> Self {
        self.restart.max_restarts = n;
        self
    }

    /// Allow `load_path` for any file under `dir` (in addition to picked and dropped files).
    pub fn with_scope(mut self, dir: impl Into<PathBuf>) -> Self {
        self.scope.push(dir.into());
        self
    }

    /// Let `buckaroo_export` write files directly in `dir` without the save dialog (a
    /// host's own export folder). Not its subfolders; exports need `allow-export`.
    pub fn with_export_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.export_dirs.push(dir.into());
        self
    }

    /// Load `path` into the first window that attaches.
    pub fn with_autoload(mut self, path: impl Into<PathBuf>, mode: LoadMode) -> Self {
        self.autoload = Some(Autoload { path: path.into(), mode });
        self
    }

    /// `with_autoload(path, the default mode)`.
    pub fn with_autoload_path(self, path: impl Into<PathBuf>) -> Self {
        let mode = self.default_mode;
        self.with_autoload(path, mode)
    }

    /// Run `python -m buckaroo.server` itself instead of the secure launcher (logged as insecure).
    pub fn with_plain_server(mut self) -> Self {
        self.launcher = Launcher::Plain;
        self
    }

    /// Pass one more argument to the server.
    pub fn with_server_arg(mut self, arg: impl Into<String>) -> Self {
        self.server_args.push(arg.into());
        self
    }

    /// The mode of a load that names none (default `Buckaroo`).
    pub fn with_default_mode(mut self, mode: LoadMode) -> Self {
        self.default_mode = mode;
        self
    }

    /// Row requests a window may have unanswered (default 64; at least 1).
    pub fn with_max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n.max(1);
        self
    }

    /// How long one load may read its file before the launcher gives up with
    /// `load_timeout` (default 120 s). The plugin itself waits a little longer, so the
    /// launcher's coded answer arrives first.
    pub fn with_load_timeout(mut self, timeout: Duration) -> Self {
        self.load_timeout = timeout;
        self
    }

    /// The environment the launcher reads its settings from (before `with_env`'s, which win).
    pub(crate) fn launcher_env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            (LOAD_TIMEOUT_ENV.to_string(), self.load_timeout.as_secs_f64().to_string()),
            (ENGINE_MIN_BYTES_ENV.to_string(), self.engine_min_bytes.to_string()),
        ];
        if self.backend == BackendKind::Xorq {
            env.push((WARM_XORQ_ENV.to_string(), "1".to_string()));
        }
        env
    }

    pub(crate) fn venv_python(venv: &Path) -> PathBuf {
        if cfg!(windows) {
            venv.join("Scripts").join("python.exe")
        } else {
            venv.join("bin").join("python")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let p = RestartPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            ..Default::default()
        };
        assert_eq!(p.backoff(1), Duration::from_millis(100));
        assert_eq!(p.backoff(2), Duration::from_millis(200));
        assert_eq!(p.backoff(4), Duration::from_millis(800));
        assert_eq!(p.backoff(5), Duration::from_secs(1));
        assert_eq!(p.backoff(100), Duration::from_secs(1));
    }

    #[test]
    fn load_timeout_reaches_the_launcher_env() {
        let env = BuckarooConfig::pandas().launcher_env();
        assert_eq!(env[0], (LOAD_TIMEOUT_ENV.to_string(), "120".to_string()));
        let env = BuckarooConfig::pandas()
            .with_load_timeout(Duration::from_millis(2500))
            .launcher_env();
        assert_eq!(env[0].1, "2.5");
    }

    #[test]
    fn engine_settings_reach_the_launcher_env() {
        let env = BuckarooConfig::xorq().with_engine_min_bytes(0).launcher_env();
        assert!(env.contains(&(ENGINE_MIN_BYTES_ENV.to_string(), "0".to_string())));
        assert!(env.contains(&(WARM_XORQ_ENV.to_string(), "1".to_string())));
        let env = BuckarooConfig::pandas().launcher_env();
        assert!(env.contains(&(ENGINE_MIN_BYTES_ENV.to_string(), DEFAULT_ENGINE_MIN_BYTES.to_string())));
        assert!(!env.iter().any(|(k, _)| k == WARM_XORQ_ENV));
        assert_eq!(BuckarooConfig::pandas().default_backend(), Some("pandas"));
        assert_eq!(BuckarooConfig::xorq().default_backend(), None);
    }
}
