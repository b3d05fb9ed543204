//! The supervisor's choice of interpreter, and its part in a managed environment's
//! set-up: the `provisioning` statuses, the root's lock, the probe, the stamp,
//! cancel and reset. How to install is [`crate::provision`]'s.

use super::Supervisor;
use crate::base_python::{self, BasePython};
use crate::config::BuckarooConfig;
use crate::discovery::{self, Inputs, Source};
use crate::error::{Error, Result};
use crate::managed_env::{self, EnvDir, EnvLock, ManagedEnv, RootLock, Stamp};
use crate::models::Status;
use crate::provision::{self, Plan, Progress};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

impl Source {
    /// Chosen by the app or the user: used as given, never replaced by a managed env.
    fn is_explicit(&self) -> bool {
        matches!(self, Source::Configured | Source::Venv | Source::EnvVar)
    }
}

impl Supervisor {
    /// The interpreter for the next start, probed: an explicit one as given; else, with a
    /// managed environment, the complete one, then `python3` on PATH if it runs
    /// buckaroo, then a new environment set up now.
    pub(super) async fn interpreter(&self, reuse: bool) -> Result<PathBuf> {
        let venv_python = self.cfg.venv.as_deref().map(BuckarooConfig::venv_python);
        let inputs = Inputs::from_env(self.cfg.python.clone(), venv_python);
        let resolved = discovery::resolve(&inputs);
        // An explicit choice that does not exist is an error, never a reason to set up another Python.
        let explicit = inputs.configured.is_some() || inputs.venv_python.is_some() || inputs.env_python.is_some();
        let managed = match (&self.cfg.managed_env, &resolved) {
            (Some(managed), Ok((_, source))) if !source.is_explicit() => managed.clone(),
            (Some(managed), Err(_)) if !explicit => managed.clone(),
            _ => {
                let (python, source) = resolved.map_err(Error::PythonNotFound)?;
                log::info!("[buckaroo-tauri] resolve_python: {} (via {source})", python.display());
                self.probe_for(&python, reuse).await?;
                return Ok(python);
            }
        };
        let root = self.env_root(&managed)?;
        let lock = self.cfg.env_lock();
        let path_var = inputs.path_var.as_deref();
        if let Some(env) = managed_env::find_ready(&root, lock) {
            log::info!(
                "[buckaroo-tauri] resolve_python: {} (the managed environment)",
                env.python().display()
            );
            return match self.probe_for(&env.python(), reuse).await {
                Ok(_) => Ok(env.python()),
                Err(e) => self.replace_broken(&managed, &root, lock, env, e, path_var).await,
            };
        }
        if let Ok((python, source)) = resolved {
            match self.probe_for(&python, reuse).await {
                Ok(_) => return Ok(python),
                Err(e) => log::info!(
                    "[buckaroo-tauri] {} (via {source}) will not do ({e}): setting up the managed environment",
                    python.display()
                ),
            }
        }
        let base = base_python::find(path_var).await?;
        self.provision(&managed, &root, lock, &base, path_var).await
    }

    fn env_root(&self, managed: &ManagedEnv) -> Result<PathBuf> {
        managed
            .root
            .clone()
            .or_else(managed_env::default_root)
            .ok_or_else(|| Error::EnvInstallFailed {
                step: "find a folder for it",
                detail: "no HOME or XDG_DATA_HOME; give one with ManagedEnv::with_root".into(),
            })
    }

    /// A complete environment whose probe failed: made for a Python the system no longer
    /// has (an OS upgrade), a new one is set up for the current Python; otherwise it is
    /// broken, and the user may reset it.
    async fn replace_broken(
        &self,
        managed: &ManagedEnv,
        root: &Path,
        lock: EnvLock,
        env: EnvDir,
        probe_error: Error,
        path_var: Option<&std::ffi::OsStr>,
    ) -> Result<PathBuf> {
        let base = base_python::find(path_var).await?;
        if env.stamp().is_some_and(|s| s.python_version == base.version) {
            return Err(Error::EnvBroken {
                dir: env.dir,
                reason: probe_error.to_string(),
            });
        }
        log::warn!(
            "[buckaroo-tauri] {} was made for another Python; setting up one for {}",
            env.dir.display(),
            base.version
        );
        self.provision(managed, root, lock, &base, path_var).await
    }

    fn set_progress(&self, p: &Progress, source: provision::Source) {
        self.set(Status::Provisioning {
            stage: p.stage.into(),
            percent: p.percent,
            eta_ms: p.eta.map(|d| d.as_millis() as u64),
            source: source.as_str().into(),
        });
    }

    /// Set up the environment for `lock` and `base` in `root`; its interpreter, probed.
    async fn provision(
        &self,
        managed: &ManagedEnv,
        root: &Path,
        lock: EnvLock,
        base: &BasePython,
        path_var: Option<&std::ffi::OsStr>,
    ) -> Result<PathBuf> {
        let mut cancel = self.cancel.subscribe();
        cancel.mark_unchanged();
        let plan = provision::plan(managed, lock, base, path_var)?;
        let guard = tokio::select! {
            guard = self.lock_root(root, &plan) => guard?,
            _ = cancel.changed() => return Err(Error::SetupCancelled),
        };
        // Another process may have finished it while this one waited.
        if let Some(env) = managed_env::find_ready(root, lock) {
            self.probe_for(&env.python(), false).await?;
            return Ok(env.python());
        }
        managed_env::sweep(root, &guard, None);
        provision::check_space(root, &plan)?;
        let env = EnvDir::new(root, lock, &base.version);
        let t0 = Instant::now();
        let report = |p: Progress| self.set_progress(&p, plan.source);
        if let Err(e) = provision::install(&plan, lock, base, &env, &report, &mut cancel).await {
            let _ = std::fs::remove_dir_all(env.staging());
            return Err(e);
        }
        self.checked(&env, &plan, base, t0.elapsed()).await?;
        managed_env::sweep(root, &guard, Some(&env));
        log::info!(
            "[buckaroo-tauri] managed environment {} ready in {:.1} s (from the {})",
            env.dir.display(),
            t0.elapsed().as_secs_f64(),
            plan.source.as_str()
        );
        Ok(env.python())
    }

    /// The root's lock; `waiting` while another process holds it.
    async fn lock_root(&self, root: &Path, plan: &Plan) -> Result<RootLock> {
        if let Some(guard) = RootLock::try_acquire(root)? {
            return Ok(guard);
        }
        let waiting = Progress {
            stage: "waiting",
            percent: None,
            eta: None,
        };
        self.set_progress(&waiting, plan.source);
        let root = root.to_path_buf();
        Ok(tokio::task::spawn_blocking(move || RootLock::acquire(&root))
            .await
            .map_err(|e| Error::EnvInstallFailed {
                step: "wait for another set-up",
                detail: e.to_string(),
            })??)
    }

    /// Probe the installed environment, then stamp it complete.
    async fn checked(&self, env: &EnvDir, plan: &Plan, base: &BasePython, took: Duration) -> Result<()> {
        let checking = Progress {
            stage: "checking",
            percent: plan.expected_files.map(|_| 97),
            eta: None,
        };
        self.set_progress(&checking, plan.source);
        if let Err(e) = self.probe_for(&env.python(), false).await {
            let _ = std::fs::remove_dir_all(&env.dir);
            return Err(Error::EnvInstallFailed {
                step: "check the new environment",
                detail: e.to_string(),
            });
        }
        let stamp = Stamp {
            key: env.dir.file_name().unwrap_or_default().to_string_lossy().into(),
            lock_sha256: self.cfg.env_lock().sha256().into(),
            base_python: base.path.display().to_string(),
            python_version: base.version.clone(),
            source: plan.source.as_str().into(),
            seconds: took.as_secs_f64(),
        };
        let text = serde_json::to_string_pretty(&stamp).unwrap_or_default();
        std::fs::write(env.dir.join(managed_env::STAMP), text)?;
        Ok(())
    }

    /// Stop a set-up in progress; true when one was running.
    pub fn cancel_setup(&self) -> bool {
        if !matches!(self.status(), Status::Provisioning { .. }) {
            return false;
        }
        self.cancel.send_modify(|n| *n += 1);
        true
    }

    /// Remove the managed environment (a set-up in progress is cancelled, a sidecar
    /// running from it stopped) and start over: it is set up again. False without one.
    pub async fn reset_environment(self: &Arc<Self>) -> Result<bool> {
        let Some(managed) = &self.cfg.managed_env else {
            return Ok(false);
        };
        let root = self.env_root(managed)?;
        self.cancel.send_modify(|n| *n += 1);
        self.shutdown().await;
        let removed = tokio::task::spawn_blocking(move || managed_env::remove_all(&root))
            .await
            .map_err(|e| Error::EnvInstallFailed {
                step: "remove the environment",
                detail: e.to_string(),
            })??;
        log::info!("[buckaroo-tauri] reset environment: removed {removed:?}");
        self.shutdown.send_replace(false);
        self.done.send_replace(false);
        self.set(Status::Starting { attempt: 0 });
        self.start();
        Ok(true)
    }
}
