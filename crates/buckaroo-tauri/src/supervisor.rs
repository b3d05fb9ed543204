//! Keeps one sidecar running: resolve + probe + spawn, restart it by the rule in
//! [`crate::restart`], publish lifecycle status, shut down on request. No Tauri types here.

use crate::config::{BuckarooConfig, Launcher};

#[path = "supervisor_env.rs"]
mod env;
use crate::error::{Error, Result};
use crate::launcher;
use crate::models::Status;
use crate::probe::{self, ProbeReport};
use crate::probe_cache;
use crate::restart::{CrashLoop, Decision, Life};
use crate::sidecar::{self, SpawnSpec};
use crate::tasks;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Where the running sidecar listens. Never leaves Rust.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The loopback port.
    pub port: u16,
    /// Which sidecar start it belongs to ([`Status::Ready`]'s `generation`).
    pub generation: u64,
    /// The sidecar's pid.
    pub pid: u32,
    /// The per-launch secret (secure launcher); sent as `X-Buckaroo-Token`.
    pub token: Option<String>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the token.
        f.debug_struct("Endpoint")
            .field("port", &self.port)
            .field("generation", &self.generation)
            .field("pid", &self.pid)
            .finish()
    }
}

/// Keeps one sidecar running and publishes its [`Status`]; `hub.supervisor()` in the app.
pub struct Supervisor {
    cfg: BuckarooConfig,
    status: watch::Sender<Status>,
    endpoint: watch::Sender<Option<Endpoint>>,
    shutdown: watch::Sender<bool>,
    done: watch::Sender<bool>,
    pid: AtomicU32,
    /// Sidecar starts over the supervisor's life, retries included: sockets compare it.
    generation: AtomicU64,
    /// The last probe and the interpreter it was for.
    probe: Mutex<Option<(PathBuf, ProbeReport)>>,
    /// (generation, page requests it answered, when it last answered one), for the
    /// restart rule and the liveness check.
    served: Mutex<(u64, u64, Option<Instant>)>,
    /// Bumped to cancel a managed environment's set-up.
    cancel: watch::Sender<u64>,
    /// The `ready` status an `unresponsive` one replaced, restored when it answers.
    last_ready: Mutex<Option<Status>>,
    /// How long (ms) the sidecar Retry killed had been silent; 0 when none was.
    killed_silent: AtomicU64,
    /// The generation the kernel killed for memory (0: none).
    oom_killed: AtomicU64,
    /// A warm sidecar parked for the next restart, when configured ([`standby`]).
    standby: Option<standby::Standby>,
}

mod liveness;
mod standby;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

impl Supervisor {
    /// A supervisor for `cfg`; nothing runs until [`start`](Self::start).
    pub fn new(cfg: BuckarooConfig) -> Arc<Self> {
        let standby = cfg.standby.then(standby::Standby::default);
        Arc::new(Self {
            cfg,
            status: watch::channel(Status::Starting { attempt: 0 }).0,
            endpoint: watch::channel(None).0,
            shutdown: watch::channel(false).0,
            done: watch::channel(false).0,
            pid: AtomicU32::new(0),
            generation: AtomicU64::new(0),
            probe: Mutex::new(None),
            served: Mutex::new((0, 0, None)),
            cancel: watch::channel(0).0,
            last_ready: Mutex::new(None),
            killed_silent: AtomicU64::new(0),
            oom_killed: AtomicU64::new(0),
            standby,
        })
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &BuckarooConfig {
        &self.cfg
    }

    /// The current status.
    pub fn status(&self) -> Status {
        self.status.borrow().clone()
    }

    /// Every status change, current one first.
    pub fn subscribe(&self) -> watch::Receiver<Status> {
        self.status.subscribe()
    }

    /// Every endpoint change (`None` while no sidecar listens).
    pub fn endpoints(&self) -> watch::Receiver<Option<Endpoint>> {
        self.endpoint.subscribe()
    }

    /// Where the sidecar listens, while it is ready.
    pub fn endpoint(&self) -> Option<Endpoint> {
        self.endpoint.borrow().clone()
    }

    /// What the last probe of the interpreter found.
    pub fn probe_report(&self) -> Option<ProbeReport> {
        lock(&self.probe).as_ref().map(|(_, report)| report.clone())
    }

    /// Wait until the sidecar is ready, failed, or `timeout` passed.
    pub async fn ready(&self, timeout: Duration) -> Result<Endpoint> {
        let mut rx = self.status.subscribe();
        let mut deadline = tokio::time::Instant::now() + timeout;
        loop {
            let state = rx.borrow_and_update().clone();
            match state {
                // A first-run set-up ends on its own (done, failed or cancelled): the
                // timeout is for starting a sidecar, and counts from after it.
                Status::Provisioning { .. } => {
                    if rx.changed().await.is_err() {
                        return Err(Error::SidecarNotReady("supervisor gone".into()));
                    }
                    deadline = tokio::time::Instant::now() + timeout;
                    continue;
                }
                Status::Ready { .. } => {
                    if let Some(ep) = self.endpoint() {
                        return Ok(ep);
                    }
                }
                Status::Failed { error } => return Err(Error::SidecarFailed(error.message)),
                Status::Stopped => return Err(Error::SidecarNotReady("stopped".into())),
                _ => {}
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => continue,
                Ok(Err(_)) => return Err(Error::SidecarNotReady("supervisor gone".into())),
                Err(_) => return Err(Error::SidecarNotReady(self.status().name().into())),
            }
        }
    }

    fn set(&self, s: Status) {
        self.status.send_replace(s);
    }

    /// The sidecar before `generation` was killed for memory: the hub then does not load
    /// its windows' files again (one of them is likely what killed it).
    pub(crate) fn followed_an_oom_kill(&self, generation: u64) -> bool {
        generation > 1 && self.oom_killed.load(Ordering::SeqCst) == generation - 1
    }

    /// Whether sidecar `generation` turns out to have been killed for memory, waiting up
    /// to `within` for its death to be explained (a load's connection breaks first).
    pub(crate) async fn killed_for_memory(&self, generation: u64, within: Duration) -> bool {
        let started = Instant::now();
        while started.elapsed() < within {
            if self.oom_killed.load(Ordering::SeqCst) == generation {
                return true;
            }
            let alive = matches!(self.status(), Status::Ready { generation: g, .. } if g == generation);
            if alive && started.elapsed() > Duration::from_millis(500) {
                return false; // a dead sidecar's status changes within ms: this one lives
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    /// The hub reports `requests` page requests the sidecar of `generation` answered:
    /// its death will then be a healthy one ([`crate::restart`]).
    pub(crate) fn note_served(&self, generation: u64, requests: u64) {
        let mut served = lock(&self.served);
        if served.0 == generation {
            served.1 += requests;
            served.2 = Some(Instant::now());
        }
    }

    /// When the sidecar of `generation` last answered a page request: a sign of life
    /// as good as a `/health` answer ([`crate::hub`]'s liveness check).
    pub(crate) fn last_served(&self, generation: u64) -> Option<Instant> {
        let served = lock(&self.served);
        if served.0 == generation {
            served.2
        } else {
            None
        }
    }

    fn served_by(&self, generation: u64) -> u64 {
        let served = lock(&self.served);
        if served.0 == generation {
            served.1
        } else {
            0
        }
    }

    /// The probe's report for `python`. After a healthy life the same interpreter
    /// was just proven, so its report is reused (saves ~0.1 s and a process per
    /// restart); after a crash, or for another interpreter, it runs again, since
    /// the environment may have changed under it.
    async fn probe_for(&self, python: &Path, reuse: bool) -> Result<ProbeReport> {
        if reuse {
            if let Some((probed, report)) = lock(&self.probe).clone() {
                if probed == python && report.ok {
                    log::info!("[buckaroo-tauri] probe skipped: {} served before", python.display());
                    return Ok(report);
                }
            }
        }
        // The first probe of this run: an earlier launch's, while nothing it read changed
        // (probe_cache). After that, a failed start probes for real (the environment may
        // have changed under a kept report).
        let cache = self.cfg.launcher_cache.clone().or_else(launcher::default_cache);
        let key = probe_cache::key(launcher::EMBEDDED.hash, &self.cfg.env);
        let first = lock(&self.probe).is_none();
        if let Some(report) = cache
            .as_deref()
            .filter(|_| first)
            .and_then(|c| probe_cache::lookup(c, python, &key))
        {
            log::info!(
                "[buckaroo-tauri] probe skipped: {} unchanged since its last probe",
                python.display()
            );
            for (level, line) in report.log_lines(self.cfg.backend) {
                log::log!(level, "[buckaroo-tauri] {line}");
            }
            *lock(&self.probe) = Some((python.to_path_buf(), report.clone()));
            return Ok(report);
        }
        let env = launcher::prepared_env(self.cfg.launcher_cache.as_deref(), &self.cfg.env)?;
        let report = probe::probe(python, &env, self.cfg.handshake_timeout).await?;
        for (level, line) in report.log_lines(self.cfg.backend) {
            log::log!(level, "[buckaroo-tauri] {line}");
        }
        if let Some(c) = &cache {
            probe_cache::store(c, python, &key, &report);
        }
        // Kept when it failed too: About and diagnostics show what the interpreter lacks.
        *lock(&self.probe) = Some((python.to_path_buf(), report.clone()));
        report.usable()
    }

    async fn start_once(&self, reuse_probe: bool) -> Result<(sidecar::Sidecar, Option<String>)> {
        let python = self.interpreter(reuse_probe).await?;
        self.spawn_on(python).await
    }

    /// Spawn the server on `python` (resolved and probed) and wait for its handshake.
    async fn spawn_on(&self, python: PathBuf) -> Result<(sidecar::Sidecar, Option<String>)> {
        let (mut spec, token) = match self.cfg.launcher {
            Launcher::Secure => {
                let token = sidecar::new_token();
                (SpawnSpec::secure_launcher(python, &self.cfg.server_args, &token), Some(token))
            }
            Launcher::Plain => {
                log::warn!("[buckaroo-tauri] running the plain buckaroo server: no token, any local process can read through it");
                (SpawnSpec::buckaroo_server(python, &self.cfg.server_args), None)
            }
        };
        spec.env.extend(self.cfg.launcher_env());
        spec.env.extend(self.cfg.env.iter().cloned());
        if self.cfg.launcher == Launcher::Secure {
            spec.env = launcher::prepared_env(self.cfg.launcher_cache.as_deref(), &spec.env)?;
        }
        spec.working_dir = self.cfg.working_dir.clone();
        spec.handshake_timeout = self.cfg.handshake_timeout;
        Ok((sidecar::spawn(&spec).await?, token))
    }

    /// Publish a freshly started sidecar as ready; returns its generation.
    fn publish_ready(&self, sc: &sidecar::Sidecar, token: Option<String>, t0: Instant) -> u64 {
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        self.pid.store(sc.pid, Ordering::SeqCst);
        *lock(&self.served) = (generation, 0, None);
        lock(&self.last_ready).take();
        log::info!(
            "[buckaroo-tauri] sidecar listening on 127.0.0.1:{} pid={} generation={generation} ({} ms)",
            sc.port,
            sc.pid,
            t0.elapsed().as_millis()
        );
        let report = self.probe_report();
        self.endpoint.send_replace(Some(Endpoint {
            port: sc.port,
            generation,
            pid: sc.pid,
            token,
        }));
        self.set(Status::Ready {
            generation,
            pid: sc.pid,
            python: report.as_ref().map(|r| r.python.clone()).unwrap_or_default(),
            buckaroo_version: report.and_then(|r| r.buckaroo),
        });
        generation
    }

    /// Start one sidecar and keep it until it ends: how its life went and why it
    /// ended, or `None` once shutdown was requested (the sidecar is then stopped).
    async fn one_life(&self, reuse_probe: bool, shutdown: &mut watch::Receiver<bool>) -> Option<(Life, Error)> {
        let t0 = Instant::now();
        let parked = self.standby.as_ref().and_then(standby::Standby::take);
        let started = match parked {
            Some(p) => {
                log::info!("[buckaroo-tauri] standby sidecar pid={} promoted", p.sc.pid);
                Ok((p.sc, p.token))
            }
            None => tokio::select! {
                r = self.start_once(reuse_probe) => r,
                _ = shutdown.changed() => return None,
            },
        };
        let (mut sc, token) = match started {
            Ok(started) => started,
            Err(e) => {
                // Retrying cannot fix a missing interpreter or package, or a folder the
                // user must make writable (Retry starts over once they have).
                let permanent = matches!(
                    e,
                    Error::PythonNotFound(_)
                        | Error::BuckarooMissing { .. }
                        | Error::LauncherUnsupported(_)
                        | Error::LauncherCacheUnwritable { .. }
                        | Error::PythonMissing { .. }
                        | Error::EnvOffline { .. }
                        | Error::EnvDiskFull { .. }
                        | Error::EnvBroken { .. }
                        | Error::EnvInstallFailed { .. }
                        | Error::SetupCancelled
                );
                return Some((Life::before_ready(permanent), e));
            }
        };
        let generation = self.publish_ready(&sc, token, t0);
        let ready_at = Instant::now();
        let standby = self.prepare_standby(generation, ready_at);
        tokio::pin!(standby);
        let mut parking = self.standby.is_some();
        let exit = loop {
            tokio::select! {
                st = sc.wait() => break Some(st),
                _ = shutdown.changed() => break None,
                _ = &mut standby, if parking => parking = false,
            }
        };
        self.endpoint.send_replace(None);
        let Some(status) = exit else {
            log::info!("[buckaroo-tauri] shutting down sidecar pid={}", sc.pid);
            sc.shutdown(SHUTDOWN_GRACE).await;
            return None;
        };
        let life = Life {
            reached_ready: true,
            up_after_ready: ready_at.elapsed(),
            served: self.served_by(generation),
            permanent: false,
        };
        let error = match self.take_killed_silent() {
            Some(silent) => Error::SidecarNotResponding { silent },
            None => sc.exit_error(status).await,
        };
        if matches!(error, Error::SidecarOutOfMemory) {
            self.oom_killed.store(generation, Ordering::SeqCst);
        }
        Some((life, error))
    }

    /// Run [`run`](Self::run) as a supervised task: if it panics, the status becomes
    /// `failed` (code `sidecar_failed`) and the sidecar, dropped with the task, is killed.
    pub fn start(self: &Arc<Self>) {
        let sup = self.clone();
        tasks::spawn("supervisor", self.clone().run(), move |message| sup.task_panicked(message));
    }

    fn task_panicked(&self, message: &str) {
        let err = Error::SidecarFailed(format!("the supervisor task panicked: {message}"));
        self.endpoint.send_replace(None);
        self.set(Status::Failed { error: (&err).into() });
        self.done.send_replace(true);
    }

    /// The supervision loop, until shutdown or `failed`; [`start`](Self::start) runs it.
    /// The restart rule is [`RestartPolicy`](crate::RestartPolicy)'s.
    pub async fn run(self: Arc<Self>) {
        let stopped = self.supervise().await;
        if let Some(standby) = &self.standby {
            standby.shutdown(SHUTDOWN_GRACE).await;
        }
        if stopped {
            self.set(Status::Stopped);
        }
        self.done.send_replace(true);
    }

    /// Start sidecar after sidecar; true when stopped by request, false on giving up.
    async fn supervise(&self) -> bool {
        let mut shutdown = self.shutdown.subscribe();
        let mut crash_loop = CrashLoop::default();
        let (mut attempt, mut reuse_probe) = (0u32, false);
        loop {
            if *shutdown.borrow() {
                return true;
            }
            attempt += 1;
            self.set(Status::Starting { attempt });
            log::info!("[buckaroo-tauri] sidecar start attempt={attempt}");
            let Some((life, err)) = self.one_life(reuse_probe, &mut shutdown).await else {
                return true;
            };
            let Some(delay) = self.after_death(&mut crash_loop, &life, &err, attempt) else {
                return false;
            };
            reuse_probe = life.was_healthy(&self.cfg.restart);
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = shutdown.changed() => return true,
            }
        }
    }

    /// A sidecar ended with `err`: publish `restarting` and return the delay before the
    /// next start, or publish `failed` and return `None`.
    fn after_death(&self, crash_loop: &mut CrashLoop, life: &Life, err: &Error, attempt: u32) -> Option<Duration> {
        let policy = &self.cfg.restart;
        log::warn!(
            "[buckaroo-tauri] sidecar down: {err} (ready: {}, up {} ms after ready, served {}, healthy: {})",
            life.reached_ready,
            life.up_after_ready.as_millis(),
            life.served,
            life.was_healthy(policy)
        );
        match crash_loop.decide(policy, life) {
            Decision::Restart { delay, attempt: n } => {
                self.set(Status::Restarting {
                    attempt: n,
                    retry_in_ms: delay.as_millis() as u64,
                    error: err.into(),
                });
                Some(delay)
            }
            Decision::GiveUp => {
                log::error!("[buckaroo-tauri] sidecar failed after {attempt} attempts: {err}");
                self.set(Status::Failed { error: err.into() });
                None
            }
        }
    }

    /// After `failed` (say, the user installed what the hint said): start over with a
    /// fresh restart budget. While `unresponsive`: end the silent sidecar, and a new one
    /// starts. Returns false in any other state.
    pub fn retry(self: &Arc<Self>) -> bool {
        if *self.shutdown.borrow() {
            return false;
        }
        if self.restart_unresponsive() {
            return true;
        }
        if !matches!(self.status(), Status::Failed { .. }) {
            return false;
        }
        self.done.send_replace(false);
        self.set(Status::Starting { attempt: 0 });
        self.start();
        true
    }

    /// Stop the sidecar and wait for it (close stdin, SIGTERM, SIGKILL after a grace).
    pub async fn shutdown(&self) {
        self.shutdown.send_replace(true);
        let mut done = self.done.subscribe();
        let waited = tokio::time::timeout(SHUTDOWN_GRACE * 2, done.wait_for(|d| *d)).await;
        if waited.is_err() {
            self.kill_now();
        }
    }

    /// Last resort when no async runtime is available (drop, panic paths).
    pub fn kill_now(&self) {
        let pid = self.pid.load(Ordering::SeqCst);
        if pid != 0 {
            sidecar::kill_group(pid);
        }
        if let Some(standby) = &self.standby {
            standby.kill_now();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicked_supervisor_is_failed_with_a_code() {
        let sup = Supervisor::new(BuckarooConfig::pandas());
        sup.task_panicked("boom");
        let Status::Failed { error } = sup.status() else {
            panic!("{:?}", sup.status())
        };
        assert_eq!(error.code, "sidecar_failed");
        assert!(error.message.contains("the supervisor task panicked: boom"), "{}", error.message);
        assert!(*sup.done.borrow());
    }
}
