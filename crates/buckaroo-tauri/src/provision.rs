//! Installing a managed environment from an OS interpreter ([`crate::base_python`]): the plan (the
//! bundle's wheels offline, else the package index), the install in a staging folder
//! with progress, and the rename into place. The caller probes the result and stamps
//! it ([`crate::managed_env`]). No Tauri types here.

use crate::base_python::BasePython;
use crate::error::{Error, Result};
use crate::managed_env::{python_in, BundleManifest, EnvDir, EnvLock, ManagedEnv, UV_CACHE};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;
use tokio::process::Command;
use tokio::sync::watch;

/// Headroom over the manifest's bytes before an install starts (uv's cache, bytecode).
const SPACE_HEADROOM: u64 = 64 << 20;

/// Where the packages come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The env bundle's wheels, no network.
    Bundle,
    /// The package index (the bundle's wheels first, when some fit).
    Index,
}

impl Source {
    /// `bundle` or `index` (the status's `source`).
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Bundle => "bundle",
            Source::Index => "index",
        }
    }
}

/// What an install reports while it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// `preparing`, `installing`.
    pub stage: &'static str,
    /// 0–100 when the total is known (a bundle's manifest says it).
    pub percent: Option<u8>,
    /// Time left, estimated from the rate so far.
    pub eta: Option<Duration>,
}

/// How one environment is installed.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Where from.
    pub source: Source,
    /// `uv` (bundled or on PATH), or `None`: the venv module and pip.
    pub uv: Option<PathBuf>,
    /// The bundle's wheels, when they serve (all of them, or some first).
    pub wheels: Option<PathBuf>,
    /// Files under `lib/` when done (the bundle's manifest), for the percent.
    pub expected_files: Option<u64>,
    /// Bytes the environment takes (the bundle's manifest), checked before starting.
    pub needed_bytes: Option<u64>,
}

/// How to install `lock` for `base`: offline from the bundle when its manifest serves
/// this lock and Python; else from the index unless `managed` is offline-only.
pub fn plan(managed: &ManagedEnv, lock: EnvLock, base: &BasePython, path_var: Option<&std::ffi::OsStr>) -> Result<Plan> {
    let bundle = managed.bundle.as_deref().filter(|b| b.is_dir());
    let bundled_uv = bundle
        .map(|b| b.join(if cfg!(windows) { "uv.exe" } else { "uv" }))
        .filter(|p| p.is_file());
    let manifest = bundle.and_then(BundleManifest::read);
    if let (Some(b), Some(uv), Some(m)) = (bundle, &bundled_uv, &manifest) {
        if m.serves(lock, &base.version) {
            return Ok(Plan {
                source: Source::Bundle,
                uv: Some(uv.clone()),
                wheels: Some(b.join("wheels")),
                expected_files: Some(m.files),
                needed_bytes: Some(m.bytes),
            });
        }
        log::warn!(
            "[buckaroo-tauri] the env bundle in {} is for {} lock {} and Python {}, not {} and {}",
            b.display(),
            m.lock,
            &m.lock_sha256[..m.lock_sha256.len().min(12)],
            m.python,
            lock.name(),
            base.version
        );
    }
    if managed.offline_only {
        return Err(Error::EnvOffline {
            reason: match bundle {
                None => "the app carries no env bundle and may not use the network".into(),
                Some(b) => format!("the env bundle in {} does not serve Python {}", b.display(), base.version),
            },
        });
    }
    Ok(Plan {
        source: Source::Index,
        uv: bundled_uv.or_else(|| crate::discovery::which("uv".as_ref(), path_var)),
        wheels: bundle.map(|b| b.join("wheels")).filter(|w| w.is_dir()),
        expected_files: None,
        needed_bytes: None,
    })
}

/// Fail with `env_disk_full` when the folder's disk has less room than the plan needs.
pub fn check_space(root: &Path, plan: &Plan) -> Result<()> {
    let Some(needed) = plan.needed_bytes.map(|b| b + SPACE_HEADROOM) else {
        return Ok(());
    };
    #[cfg(unix)]
    if let Ok(st) = nix::sys::statvfs::statvfs(root) {
        // Both are 32-bit on some targets.
        #[allow(clippy::unnecessary_cast)]
        let available = st.blocks_available() as u64 * st.fragment_size() as u64;
        if available < needed {
            return Err(Error::EnvDiskFull {
                dir: root.to_path_buf(),
                needed,
                available: Some(available),
            });
        }
    }
    Ok(())
}

/// Install `lock` into `env`'s staging folder and rename it into place. `progress` is
/// called as it goes; a change of `cancel` stops it (the folder is removed).
pub async fn install(
    plan: &Plan,
    lock: EnvLock,
    base: &BasePython,
    env: &EnvDir,
    progress: &(dyn Fn(Progress) + Sync),
    cancel: &mut watch::Receiver<u64>,
) -> Result<()> {
    let staging = env.staging();
    let root = env.dir.parent().unwrap_or(Path::new(".")).to_path_buf();
    progress(Progress {
        stage: "preparing",
        percent: plan.expected_files.map(|_| 1),
        eta: None,
    });
    let steps = Steps {
        plan,
        root: &root,
        staging: &staging,
    };
    run_step(steps.venv(base), "create the environment", plan, &root, cancel, None).await?;
    let lock_file = staging.join("requirements.lock");
    std::fs::write(&lock_file, lock.text())?;
    let counter = plan.expected_files.map(|total| Counter {
        dir: staging.join("lib"),
        total,
        report: progress,
    });
    run_step(steps.install(&lock_file), "install the packages", plan, &root, cancel, counter).await?;
    let _ = std::fs::remove_dir_all(root.join(UV_CACHE));
    if env.dir.exists() {
        std::fs::remove_dir_all(&env.dir)?;
    }
    std::fs::rename(&staging, &env.dir)?;
    Ok(())
}

/// Seconds without data after which the installer's download gives up (uv's and pip's
/// read timeout).
const NETWORK_STALL_SECS: &str = "30";

/// The two commands of an install.
struct Steps<'a> {
    plan: &'a Plan,
    root: &'a Path,
    staging: &'a Path,
}

impl Steps<'_> {
    fn uv(&self, uv: &Path) -> Command {
        let mut cmd = Command::new(uv);
        cmd.env("UV_CACHE_DIR", self.root.join(UV_CACHE))
            .env("UV_PYTHON_DOWNLOADS", "never")
            .env("UV_NO_PROGRESS", "1")
            // A stalled download ends (uv retries, then fails: env_install_failed)
            // instead of holding the set-up forever, whatever the user's environment says.
            .env("UV_HTTP_TIMEOUT", NETWORK_STALL_SECS)
            .env_remove("VIRTUAL_ENV");
        cmd
    }

    fn venv(&self, base: &BasePython) -> Command {
        match &self.plan.uv {
            Some(uv) => {
                let mut cmd = self.uv(uv);
                cmd.args(["venv", "--no-config", "--quiet", "--python"])
                    .arg(&base.path)
                    .arg(self.staging);
                cmd
            }
            None => {
                let mut cmd = Command::new(&base.path);
                cmd.args(["-m", "venv"]).arg(self.staging);
                cmd
            }
        }
    }

    fn install(&self, lock_file: &Path) -> Command {
        let python = python_in(self.staging);
        let mut cmd = match &self.plan.uv {
            Some(uv) => {
                let mut cmd = self.uv(uv);
                cmd.args(["pip", "install", "--no-config", "--compile-bytecode", "--python"])
                    .arg(&python);
                cmd
            }
            None => {
                let mut cmd = Command::new(&python);
                cmd.args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--timeout"])
                    .arg(NETWORK_STALL_SECS);
                cmd
            }
        };
        cmd.args(["--require-hashes", "-r"]).arg(lock_file);
        if self.plan.source == Source::Bundle {
            // A bundle plan always has uv (the bundle's own).
            cmd.args(["--offline", "--no-index"]);
        }
        if let Some(wheels) = &self.plan.wheels {
            cmd.arg("--find-links").arg(wheels);
        }
        cmd
    }
}

/// Files expected under `dir`, counted while a step runs, and where to report them.
struct Counter<'a> {
    dir: PathBuf,
    total: u64,
    report: &'a (dyn Fn(Progress) + Sync),
}

/// Run one step in its own process group, killed if the app dies, the step is
/// cancelled or this future is dropped; with `counter`, report progress meanwhile.
async fn run_step(
    mut cmd: Command,
    what: &'static str,
    plan: &Plan,
    root: &Path,
    cancel: &mut watch::Receiver<u64>,
    counter: Option<Counter<'_>>,
) -> Result<()> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    #[cfg(unix)]
    {
        cmd.process_group(0);
        // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
        #[cfg(target_os = "linux")]
        unsafe {
            cmd.pre_exec(|| nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL).map_err(std::io::Error::from));
        }
    }
    log::info!("[buckaroo-tauri] managed env: {what}: {:?}", cmd.as_std());
    let mut child = cmd.spawn().map_err(|e| Error::EnvInstallFailed {
        step: what,
        detail: format!("cannot start {:?}: {e}", cmd.as_std().get_program()),
    })?;
    let pgid = child.id().unwrap_or_default();
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let reader = tokio::spawn(async move {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text).await;
        text
    });
    let status = tokio::select! {
        status = wait_reporting(&mut child, counter) => status?,
        _ = cancel.changed() => {
            crate::sidecar::kill_group(pgid);
            return Err(Error::SetupCancelled);
        }
    };
    let stderr = reader.await.unwrap_or_default();
    if status.success() {
        return Ok(());
    }
    crate::sidecar::kill_group(pgid);
    log::warn!("[buckaroo-tauri] managed env: {what} failed ({status}):\n{stderr}");
    Err(classify(what, plan.source, &status.to_string(), &stderr).in_dir(root))
}

/// Wait for `child`; meanwhile, with `counter`, count its files every 300 ms and
/// report the share of the total, with the time left at the rate so far.
async fn wait_reporting(child: &mut tokio::process::Child, counter: Option<Counter<'_>>) -> std::io::Result<std::process::ExitStatus> {
    let Some(c) = counter else {
        return child.wait().await;
    };
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_millis(300));
    loop {
        tokio::select! {
            status = child.wait() => return status,
            _ = tick.tick() => {
                let dir = c.dir.clone();
                let done = tokio::task::spawn_blocking(move || count_files(&dir)).await.unwrap_or(0);
                let share = (done as f64 / c.total.max(1) as f64).min(1.0);
                (c.report)(Progress {
                    stage: "installing",
                    percent: Some(2 + (share * 93.0) as u8),
                    eta: (share > 0.02).then(|| started.elapsed().mul_f64((1.0 - share) / share)),
                });
            }
        }
    }
}

fn count_files(dir: &Path) -> u64 {
    let mut stack = vec![dir.to_path_buf()];
    let mut n = 0;
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(entry.path()),
                Ok(_) => n += 1,
                Err(_) => {}
            }
        }
    }
    n
}

/// The coded error for a failed step, from what it printed.
fn classify(step: &'static str, source: Source, status: &str, stderr: &str) -> Error {
    let lower = stderr.to_lowercase();
    if lower.contains("no space left on device") || lower.contains("os error 28") {
        return Error::EnvDiskFull {
            dir: PathBuf::new(),
            needed: 0,
            available: None,
        };
    }
    let network = [
        "failed to fetch",
        "dns",
        "error sending request",
        "connect",
        "network is unreachable",
        "offline",
    ];
    if source == Source::Index && network.iter().any(|w| lower.contains(w)) {
        return Error::EnvOffline { reason: last_line(stderr) };
    }
    Error::EnvInstallFailed {
        step,
        detail: format!("{status}: {}", last_line(stderr)),
    }
}

impl Error {
    /// A disk-full error from a step's output names the folder it was writing.
    fn in_dir(self, root: &Path) -> Self {
        match self {
            Error::EnvDiskFull { needed, available, .. } => Error::EnvDiskFull {
                dir: root.to_path_buf(),
                needed,
                available,
            },
            other => other,
        }
    }
}

fn last_line(text: &str) -> String {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .chars()
        .take(300)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_get_their_codes() {
        let full = classify(
            "install the packages",
            Source::Bundle,
            "exit status: 2",
            "error: No space left on device (os error 28)",
        );
        assert_eq!(full.code(), "env_disk_full");
        let offline = classify(
            "install the packages",
            Source::Index,
            "exit status: 2",
            "error: Failed to fetch: `https://example.invalid/simple/buckaroo/`\n  Caused by: dns error",
        );
        assert_eq!(offline.code(), "env_offline");
        let other = classify("install the packages", Source::Bundle, "exit status: 1", "error: hash mismatch\n");
        assert_eq!(other.code(), "env_install_failed");
        assert!(other.to_string().contains("hash mismatch"), "{other}");
    }

    #[test]
    fn a_bundle_for_another_lock_or_python_is_not_used_offline() {
        let dir = std::env::temp_dir().join(format!("buckaroo-bundle-test-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("wheels")).unwrap();
        std::fs::write(dir.join("uv"), "").unwrap();
        let manifest = serde_json::json!({"lock": "engine", "lock_sha256": EnvLock::Engine.sha256(), "python": "3.11",
            "files": 10, "bytes": 100});
        std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
        let base = |v: &str| BasePython {
            path: "/usr/bin/python3".into(),
            version: v.into(),
        };
        let managed = ManagedEnv::new().with_bundle(&dir);
        let p = plan(&managed, EnvLock::Engine, &base("3.11"), None).unwrap();
        assert_eq!((p.source, p.expected_files), (Source::Bundle, Some(10)));
        let p = plan(&managed, EnvLock::Engine, &base("3.12"), None).unwrap();
        assert_eq!(
            p.source,
            Source::Index,
            "3.12 wheels are not in it: the index, the bundle's wheels first"
        );
        assert!(p.wheels.is_some() && p.uv.is_some());
        let err = plan(&managed.clone().offline_only(), EnvLock::Base, &base("3.11"), None).unwrap_err();
        assert_eq!(err.code(), "env_offline");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
