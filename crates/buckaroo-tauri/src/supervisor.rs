//! Keeps one sidecar running: resolve + probe + spawn, restart with backoff,
//! publish lifecycle status, shut down on request. No Tauri types here.

use crate::config::{BuckarooConfig, Launcher};
use crate::discovery::{self, Inputs};
use crate::error::{Error, Result};
use crate::sidecar::{self, ProbeReport, SpawnSpec};
use serde::Serialize;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// A serialisable copy of an [`Error`] for status payloads.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ErrorInfo {
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl From<&Error> for ErrorInfo {
    fn from(e: &Error) -> Self {
        Self {
            code: e.code().into(),
            message: e.to_string(),
            hint: e.hint(),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "state", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Status {
    Starting {
        attempt: u32,
    },
    Ready {
        generation: u64,
        pid: u32,
        python: String,
        buckaroo_version: Option<String>,
    },
    Restarting {
        attempt: u32,
        retry_in_ms: u64,
        error: ErrorInfo,
    },
    Failed {
        error: ErrorInfo,
    },
    Stopped,
}

impl Status {
    pub fn name(&self) -> &'static str {
        match self {
            Status::Starting { .. } => "starting",
            Status::Ready { .. } => "ready",
            Status::Restarting { .. } => "restarting",
            Status::Failed { .. } => "failed",
            Status::Stopped => "stopped",
        }
    }
}

/// Where the running sidecar listens. Never leaves Rust.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub port: u16,
    pub generation: u64,
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

pub struct Supervisor {
    cfg: BuckarooConfig,
    status: watch::Sender<Status>,
    endpoint: watch::Sender<Option<Endpoint>>,
    shutdown: watch::Sender<bool>,
    done: watch::Sender<bool>,
    pid: AtomicU32,
    /// Sidecar starts over the supervisor's life, retries included: sockets compare it.
    generation: AtomicU64,
    probe: Mutex<Option<ProbeReport>>,
}

const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

impl Supervisor {
    pub fn new(cfg: BuckarooConfig) -> Arc<Self> {
        Arc::new(Self {
            cfg,
            status: watch::channel(Status::Starting { attempt: 0 }).0,
            endpoint: watch::channel(None).0,
            shutdown: watch::channel(false).0,
            done: watch::channel(false).0,
            pid: AtomicU32::new(0),
            generation: AtomicU64::new(0),
            probe: Mutex::new(None),
        })
    }

    pub fn config(&self) -> &BuckarooConfig {
        &self.cfg
    }

    pub fn status(&self) -> Status {
        self.status.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<Status> {
        self.status.subscribe()
    }

    pub fn endpoints(&self) -> watch::Receiver<Option<Endpoint>> {
        self.endpoint.subscribe()
    }

    pub fn endpoint(&self) -> Option<Endpoint> {
        self.endpoint.borrow().clone()
    }

    pub fn probe_report(&self) -> Option<ProbeReport> {
        self.probe.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Wait until the sidecar is ready, failed, or `timeout` passed.
    pub async fn ready(&self, timeout: Duration) -> Result<Endpoint> {
        let mut rx = self.status.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let state = rx.borrow_and_update().clone();
            match state {
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

    async fn start_once(&self) -> Result<(sidecar::Sidecar, Option<String>)> {
        let venv_python = self.cfg.venv.as_deref().map(BuckarooConfig::venv_python);
        let (python, source) =
            discovery::resolve(&Inputs::from_env(self.cfg.python.clone(), venv_python)).map_err(Error::PythonNotFound)?;
        log::info!("[buckaroo-tauri] resolve_python: {} (via {source})", python.display());
        let report = sidecar::probe(&python, &self.cfg.env, self.cfg.handshake_timeout).await?;
        for w in &report.warnings {
            log::warn!("[buckaroo-tauri] probe: {w}");
        }
        log::info!(
            "[buckaroo-tauri] probe ok: python {} buckaroo {} pandas {} tornado {}",
            report.python_version,
            report.buckaroo.as_deref().unwrap_or("?"),
            report.pandas.as_deref().unwrap_or("?"),
            report.tornado.as_deref().unwrap_or("?")
        );
        *self.probe.lock().unwrap_or_else(|e| e.into_inner()) = Some(report);
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
        spec.env.extend(self.cfg.env.iter().cloned());
        spec.working_dir = self.cfg.working_dir.clone();
        spec.handshake_timeout = self.cfg.handshake_timeout;
        Ok((sidecar::spawn(&spec).await?, token))
    }

    /// The supervision loop; spawn it once on the async runtime.
    pub async fn run(self: Arc<Self>) {
        let mut shutdown = self.shutdown.subscribe();
        let policy = self.cfg.restart.clone();
        let (mut attempt, mut failures) = (0u32, 0u32);
        let mut stopped_by_request = false;
        loop {
            if *shutdown.borrow() {
                stopped_by_request = true;
                break;
            }
            attempt += 1;
            self.set(Status::Starting { attempt });
            log::info!("[buckaroo-tauri] sidecar start attempt={attempt}");
            let t0 = Instant::now();
            let started = tokio::select! {
                r = self.start_once() => r,
                _ = shutdown.changed() => { stopped_by_request = true; break; }
            };
            let err = match started {
                Ok((mut sc, token)) => {
                    let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
                    self.pid.store(sc.pid, Ordering::SeqCst);
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
                    let exit = tokio::select! {
                        st = sc.wait() => Some(st),
                        _ = shutdown.changed() => None,
                    };
                    self.endpoint.send_replace(None);
                    match exit {
                        None => {
                            log::info!("[buckaroo-tauri] shutting down sidecar pid={}", sc.pid);
                            sc.shutdown(SHUTDOWN_GRACE).await;
                            stopped_by_request = true;
                            break;
                        }
                        Some(st) => {
                            sidecar::kill_group(sc.pid); // anything it left behind
                            if sc.started.elapsed() >= policy.healthy_uptime {
                                failures = 0;
                            }
                            let status = st.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                            tokio::time::sleep(Duration::from_millis(20)).await; // let stderr drain
                            Error::SidecarExited {
                                status,
                                stderr_tail: sc.stderr.text(),
                            }
                        }
                    }
                }
                Err(e) => e,
            };
            log::warn!("[buckaroo-tauri] sidecar down: {err}");
            // Retrying cannot fix a missing interpreter or package.
            let permanent = matches!(
                err,
                Error::PythonNotFound(_) | Error::BuckarooMissing { .. } | Error::LauncherUnsupported(_)
            );
            failures += 1;
            if permanent || failures > policy.max_restarts {
                log::error!("[buckaroo-tauri] sidecar failed after {attempt} attempts: {err}");
                self.set(Status::Failed { error: (&err).into() });
                break;
            }
            let delay = policy.backoff(failures);
            self.set(Status::Restarting {
                attempt: failures,
                retry_in_ms: delay.as_millis() as u64,
                error: (&err).into(),
            });
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = shutdown.changed() => { stopped_by_request = true; break; }
            }
        }
        if stopped_by_request {
            self.set(Status::Stopped);
        }
        self.done.send_replace(true);
    }

    /// After `failed` (say, the user installed what the hint said): start over with a
    /// fresh restart budget. Returns false when the supervisor is not in `failed`.
    pub fn retry(self: &Arc<Self>) -> bool {
        if !matches!(self.status(), Status::Failed { .. }) || *self.shutdown.borrow() {
            return false;
        }
        self.done.send_replace(false);
        self.set(Status::Starting { attempt: 0 });
        tokio::spawn(self.clone().run());
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
    }
}
